"""Train the no-reference quality score (engine.models.quality) on TUNING shots and report its
Spearman rank correlation with the true PU21-PSNR on held-out TEST shots.

    .venv/bin/python -m bench.train_quality --data TUNING_DIR --test-data TEST_DIR --cache DIR
        [--families-per-still 2] [--test-families-per-still 1] [--frames 8] [--max-width 192]
        [--epochs 60] [--seed 0]
        [--out resources/models]

Pairs: every still of --data is shot by `--families-per-still` camera families of
engine.synth.families (drawn as bench/temporal.py draws them), each shot reconstructed through
the pipeline by the temporal mode and by single-frame operators; each output frame is an input,
its full-reference PU21-PSNR over the whole frame (engine.metrics, scale-aligned) the target.
The TEST stills make the same kind of pairs (`--test-families-per-still` families each), used only
for the printed correlation. The pairs
are cached in --cache (safetensors), and so is a checkpoint after every epoch: a rerun resumes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from bench.temporal import TEMPORAL, grade_for, make_shot, render
from engine.metrics import evaluate
from engine.metrics.rank import spearman
from engine.models.quality import QualityNet, quality_input, save_quality
from engine.synth.families import FAMILIES, draw, scaled_size
from engine.synth.render import load_still

METHODS = (TEMPORAL, "bt2408", "akyuz", "meylan", "huo", "kovaleski", "masia09", "bt2446c", "masked-cnn")
FALLBACK = "masked-cnn"


def make_pairs(folder: Path, families_per_still: int, frames: int, max_width: int, seed: int
               ) -> tuple[Tensor, Tensor, Tensor]:
    """Inputs (N, 3, 72, 128), targets (N,) in dB and the shot index of each pair (N,)."""
    inputs: list[Tensor] = []
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
                    report = evaluate(out, shot.truth, shot.sdr, shot.recoverable, fps=shot.fps,
                                      with_cvvdp=False)
                    for frame, score in zip(out, report.per_frame, strict=True):
                        value = score.values["frame"]["pu21_psnr"]
                        if value == value and abs(value) != float("inf"):
                            inputs.append(quality_input(frame).half())
                            targets.append(value)
                            shots.append(s * 100 + m)
                print(f"pairs: {still.stem}/{family.name} ({len(targets)} so far)", flush=True)
    return torch.stack(inputs), torch.tensor(targets), torch.tensor(shots)


def cached_pairs(cache: Path, name: str, args: argparse.Namespace, folder: Path, families_per_still: int
                 ) -> tuple[Tensor, Tensor, Tensor]:
    path = cache / f"{name}.safetensors"
    if path.is_file():
        t = load_file(path)
        return t["inputs"], t["targets"], t["shots"]
    inputs, targets, shots = make_pairs(folder, families_per_still, args.frames, args.max_width, args.seed)
    save_file({"inputs": inputs, "targets": targets, "shots": shots}, path)
    return inputs, targets, shots


def train(model: QualityNet, inputs: Tensor, targets: Tensor, args: argparse.Namespace, cache: Path
          ) -> list[float]:
    """Adam on the squared error in dB, horizontal flips; resumes from the cache's checkpoint."""
    checkpoint = cache / "checkpoint.safetensors"
    state = cache / "checkpoint.json"
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr)
    history: list[float] = []
    start = 0
    if checkpoint.is_file() and state.is_file():
        model.load_state_dict(load_file(checkpoint))
        saved = json.loads(state.read_text())
        start, history = saved["epoch"], saved["history"]
    generator = torch.Generator().manual_seed(args.seed)
    for _ in range(start):  # the same shuffles as an uninterrupted run
        torch.randperm(len(targets), generator=generator)
    for epoch in range(start, args.epochs):
        order = torch.randperm(len(targets), generator=generator)
        total = 0.0
        model.train()
        for first in range(0, len(order), args.batch):
            pick = order[first:first + args.batch]
            x = inputs[pick].float()
            x = torch.where(torch.rand(len(pick), 1, 1, 1, generator=generator) < 0.5, x.flip(-1), x)
            loss = torch.nn.functional.mse_loss(model(x), targets[pick])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss) * len(pick)
        history.append(total / len(order))
        save_file(model.state_dict(), checkpoint)
        state.write_text(json.dumps({"epoch": epoch + 1, "history": history}))
        if (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1}: rmse {history[-1] ** 0.5:.2f} dB", flush=True)
    model.eval()
    return history


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="TUNING stills (training pairs)")
    parser.add_argument("--test-data", type=Path, required=True,
                        help="held-out TEST stills (report only)")
    parser.add_argument("--cache", type=Path, required=True, help="pairs and checkpoints (resumable)")
    parser.add_argument("--families-per-still", type=int, default=2)
    parser.add_argument("--test-families-per-still", type=int, default=1)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--max-width", type=int, default=192)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--global-stats", action="store_true", help="QualityNet's global statistics input")
    parser.add_argument("--validate-stills", default="",
                        help="comma-separated TUNING stills left out of training and scored instead "
                             "(model selection without touching TEST)")
    parser.add_argument("--out", type=Path, help="write quality_net.safetensors/.json here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    shared = {p.stem for p in args.data.glob("*.exr")} & {p.stem for p in args.test_data.glob("*.exr")}
    if shared:
        parser.error(f"--data holds TEST stills ({', '.join(sorted(shared))}); give a TUNING-only folder")
    args.cache.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        x, y, shots = cached_pairs(args.cache, "tuning", args, args.data, args.families_per_still)
        tx, ty, tshots = cached_pairs(args.cache, "test", args, args.test_data, args.test_families_per_still)
    print(f"pairs: {len(y)} TUNING frames, {len(ty)} TEST frames")
    tuning = sorted(p.stem for p in args.data.glob("*.exr"))
    left_out = [tuning.index(name) for name in args.validate_stills.split(",") if name]
    validate = torch.isin(shots // 100, torch.tensor(left_out, dtype=shots.dtype))
    model = QualityNet(global_stats=args.global_stats)
    history = train(model, x[~validate], y[~validate], args, args.cache)
    if left_out:
        with torch.no_grad():
            guess = model(x[validate].float())
        print(f"validation on TUNING stills {args.validate_stills} ({int(validate.sum())} frames): "
              f"Spearman {spearman(guess.tolist(), y[validate].tolist()):.3f}")
    with torch.no_grad():
        predicted = torch.cat([model(tx[i:i + 256].float()) for i in range(0, len(ty), 256)])
    rho = spearman(predicted.tolist(), ty.tolist())
    rmse = float(((predicted - ty) ** 2).mean().sqrt())
    shot_ids = sorted(set(tshots.tolist()))
    per_shot = [spearman(predicted[tshots == s].tolist(), ty[tshots == s].tolist()) for s in shot_ids]
    within = [r for r in per_shot if r == r]
    print(f"held-out TEST frames: Spearman {rho:.3f}, RMSE {rmse:.2f} dB "
          f"(within a shot, mean over {len(within)} shots: {sum(within) / max(len(within), 1):.3f})")
    if args.out:
        save_quality(model, {
            "target": "PU21-PSNR over the whole frame (dB)", "seed": args.seed, "epochs": args.epochs,
            "train": sorted(p.stem for p in args.data.glob("*.exr")),
            "families_per_still": args.families_per_still,
            "test_families_per_still": args.test_families_per_still, "frames": args.frames,
            "max_width": args.max_width, "methods": list(METHODS), "pairs": int((~validate).sum()),
            "loss_history": history, "heldout_spearman": rho, "heldout_rmse_db": rmse}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
