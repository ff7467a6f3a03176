"""Train the no-reference quality score (engine.models.quality) on TUNING shots and report its
Spearman rank correlation with the true PU21-PSNR on held-out TEST shots.

    .venv/bin/python -m bench.train_quality --data TUNING_DIR --test-data TEST_DIR --cache DIR
        [--val-data VAL_DIR] [--families-per-still 6] [--test-families-per-still 1] [--frames 8]
        [--max-width 192] [--epochs 800] [--seed 0] [--out resources/models]

Pairs: every still of --data is shot by `--families-per-still` camera families of
engine.synth.families (drawn as bench/temporal.py draws them), each shot reconstructed through
the pipeline by the temporal mode and by single-frame operators; each output frame, with the SDR
frame it was graded from, gives an input (engine.models.quality.quality_features), its
full-reference PU21-PSNR over the whole frame (engine.metrics, scale-aligned) the target.
--val-data (validation renders) and the TEST stills make the same kind of pairs, used only for the
printed correlations: the validation figure is the one to choose a recipe by, TEST is read once.
The pairs are cached in --cache (safetensors); training itself is full-batch and takes seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor

from bench.temporal import TEMPORAL, grade_for, make_shot, render
from engine.metrics import evaluate
from engine.metrics.rank import spearman
from engine.models.quality import INPUTS, QualityNet, quality_features, save_quality
from engine.synth.families import FAMILIES, draw, scaled_size
from engine.synth.render import load_still

METHODS = (TEMPORAL, "bt2408", "akyuz", "meylan", "huo", "kovaleski", "masia09", "bt2446c", "masked-cnn")
FALLBACK = "masked-cnn"


def make_pairs(folder: Path, families_per_still: int, frames: int, max_width: int, seed: int
               ) -> tuple[Tensor, Tensor, Tensor]:
    """Features (N, FEATURES), targets (N,) in dB and the shot index of each pair (N,)."""
    features: list[Tensor] = []
    targets: list[float] = []
    shots: list[int] = []
    families = list(FAMILIES.values())
    stills = sorted(folder.glob("*.exr"))
    with tempfile.TemporaryDirectory(prefix="lumigrade-quality-") as temp:
        for s, still in enumerate(stills):
            height, width = load_still(still).shape[1:]
            for m in range(families_per_still):
                family = families[(s * families_per_still + m) % len(families)]
                size = scaled_size(family.size, max_width, (width, height))
                camera = draw(family, seed * 1000 + s * 10 + m, frames, size)
                shot = make_shot(still, camera, Path(temp))
                for method in METHODS:
                    out, _ = render(shot.clip, grade_for(method, FALLBACK, camera))
                    scored = evaluate(out, shot.truth, shot.sdr, shot.recoverable, fps=shot.fps,
                                      with_cvvdp=False)
                    for frame, source, score in zip(out, shot.sdr, scored.per_frame, strict=True):
                        value = score.values["frame"]["pu21_psnr"]
                        if value == value and abs(value) != float("inf"):
                            features.append(quality_features(frame, source))
                            targets.append(value)
                            shots.append(s * 100 + m)
                print(f"pairs: {still.stem}/{family.name} ({len(targets)} so far)", flush=True)
    return torch.stack(features), torch.tensor(targets), torch.tensor(shots)


def cached_pairs(cache: Path, name: str, args: argparse.Namespace, folder: Path, families_per_still: int
                 ) -> tuple[Tensor, Tensor, Tensor]:
    path = cache / f"{name}.safetensors"
    if path.is_file():
        with safe_open(path, "pt") as f:
            inputs = (f.metadata() or {}).get("inputs")
        # Pairs of an older score (frames, or shares not yet logged) would train the wrong inputs.
        if inputs != INPUTS:
            sys.exit(f"{path}: pairs from an older version of this bench; delete the file to remake them")
        t = load_file(path)
        return t["features"], t["targets"], t["shots"]
    features, targets, shots = make_pairs(folder, families_per_still, args.frames, args.max_width, args.seed)
    save_file({"features": features, "targets": targets, "shots": shots}, path, metadata={"inputs": INPUTS})
    return features, targets, shots


def train(model: QualityNet, features: Tensor, targets: Tensor, args: argparse.Namespace) -> list[float]:
    """AdamW on the squared error in dB over the whole set at once, from the features' standardisation
    and the mean target; returns the RMSE every 100 epochs."""
    model.feature_mean.copy_(features.mean(dim=0))
    model.feature_std.copy_(features.std(dim=0).clamp_min(1e-6))
    torch.nn.init.constant_(model.head[2].bias, float(targets.mean()))
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    history: list[float] = []
    model.train()
    for epoch in range(args.epochs):
        loss = torch.nn.functional.mse_loss(model(features), targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if (epoch + 1) % 100 == 0:
            history.append(float(loss.detach()) ** 0.5)
            print(f"epoch {epoch + 1}: rmse {history[-1]:.2f} dB", flush=True)
    model.eval()
    return history


def report(model: QualityNet, features: Tensor, targets: Tensor, shots: Tensor, what: str
           ) -> tuple[float, float]:
    """Print and return Spearman's rho and the RMSE of the predictions on a set of pairs."""
    with torch.no_grad():
        predicted = model(features)
    rho = spearman(predicted.tolist(), targets.tolist())
    rmse = float(((predicted - targets) ** 2).mean().sqrt())
    per_shot = [spearman(predicted[shots == s].tolist(), targets[shots == s].tolist())
                for s in sorted(set(shots.tolist()))]
    within = [r for r in per_shot if r == r]
    print(f"{what} ({len(targets)} frames): Spearman {rho:.3f}, RMSE {rmse:.2f} dB "
          f"(within a shot, mean over {len(within)} shots: {sum(within) / max(len(within), 1):.3f})")
    return rho, rmse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="TUNING stills (training pairs)")
    parser.add_argument("--test-data", type=Path, required=True,
                        help="held-out TEST stills (report only)")
    parser.add_argument("--val-data", type=Path, help="validation stills or renders (report only)")
    parser.add_argument("--cache", type=Path, required=True, help="pairs (made once, then read)")
    parser.add_argument("--families-per-still", type=int, default=6)
    parser.add_argument("--val-families-per-still", type=int, default=6)
    parser.add_argument("--test-families-per-still", type=int, default=1)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--max-width", type=int, default=192)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=800)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--weight-decay", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, help="write quality_net.safetensors/.json here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    tuning = {p.stem for p in args.data.glob("*.exr")}
    for name, folder in (("--test-data", args.test_data), ("--val-data", args.val_data)):
        shared = tuning & {p.stem for p in folder.glob("*.exr")} if folder else set()
        if shared:
            parser.error(f"--data shares stills with {name} ({', '.join(sorted(shared))})")
    args.cache.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        x, y, _ = cached_pairs(args.cache, "tuning", args, args.data, args.families_per_still)
        val = (cached_pairs(args.cache, "validation", args, args.val_data, args.val_families_per_still)
               if args.val_data else None)
        tx, ty, tshots = cached_pairs(args.cache, "test", args, args.test_data, args.test_families_per_still)
    # Seeded here, not before the pairs: making them draws from torch's generator too, so a run
    # that reads them from the cache would otherwise start from other weights.
    torch.manual_seed(args.seed)
    model = QualityNet(args.hidden)
    history = train(model, x, y, args)
    config: dict[str, object] = {}
    if val is not None:
        rho, _ = report(model, *val, f"validation {args.val_data.name}")
        config["validation_spearman"] = rho
    rho, rmse = report(model, tx, ty, tshots, "held-out TEST")
    if args.out:
        save_quality(model, {
            "target": "PU21-PSNR over the whole frame (dB)", "seed": args.seed, "epochs": args.epochs,
            "lr": args.lr, "weight_decay": args.weight_decay, "train": sorted(tuning),
            "families_per_still": args.families_per_still,
            "test_families_per_still": args.test_families_per_still, "frames": args.frames,
            "max_width": args.max_width, "methods": list(METHODS), "pairs": len(y),
            "rmse_history_db": history, **config, "heldout_spearman": rho, "heldout_rmse_db": rmse}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
