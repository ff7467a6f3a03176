"""Train the learned ITM networks and write their weights to resources/models.

    .venv/bin/python bench/train_itm.py --model unet --data DIR [--minutes 12] [--steps 3000] [--patches 2048]
    .venv/bin/python bench/train_itm.py --model refine --data DIR [--minutes 10] [--frames 16]
                                        [--size 224x128] [--cameras srgb|families] [--decode declared|exact]

unet: the single-frame masked-feature network (engine.models.unet.HighlightNet) on patches drawn
from the training stills with random exposure, camera response, noise and JPEG compression
(engine.models.data). refine: the temporal refinement network (engine.models.refine.RefineNet)
on every frame of engine.synth shots (a pan and a push-in per still) reconstructed by the
classical temporal stage with --fallback for the pixels no frame measured (default bt2446a, the
shipped weights' recipe; masked-cnn, the product's default, runs the shipped single-frame network
and measured more flicker, docs/evaluation.md item 21). `--cameras families` draws one camera of
each engine.synth.families family per still instead, records it with that camera's codec and grades
it as bench/temporal.py does (docs/evaluation.md item 15: it measured worse; the shipped weights
use the sRGB camera); with `--decode exact` it grades through each camera's own curve instead, as
a colorist's camera LUT does (item 33: no better).

Split: every EXR still in --data trains except GoldenGate and sunset, which are TEST stills
(bench/heldout_stills.py; bench/temporal.py scores the networks on TEST); a folder of
bench/heldout_stills.py's TEST stills is refused, and the JSON names the TUNING stills left out
of --data (a validation split). Training is seeded: --seed draws the data (the same examples
whatever the optimisation's seed), --train-seed (default --seed) the initial weights, batches,
crops and warps: two runs with the same seeds train the same network. It runs on one CPU thread
by default (the machine is shared), stops by itself after --steps or --minutes, and checkpoints
to --checkpoints (safetensors + JSON), from which a rerun resumes.
The weights, their SHA-256 in SHA256SUMS and a config JSON with the settings, the split and the
loss history land in --out.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from pathlib import Path

import torch

from bench.heldout_stills import LICENCES, TUNING
from bench.temporal import EXACT, TEMPORAL, exact_inverse, grade_for, make_shot
from engine.io.open import open_clip
from engine.models.data import (
    EVAL_STILLS,
    PatchSettings,
    TemporalExamples,
    load_stills,
    make_patch_bank,
    pipeline_examples,
    temporal_examples,
    training_stills,
)
from engine.models.refine import RefineNet
from engine.models.train import Examples, TrainSettings, train
from engine.models.unet import HighlightNet, UNetConfig, channel_widths, parameter_count
from engine.models.weights import (
    HIGHLIGHT_MODEL,
    MODELS_DIR,
    REFINE_MODEL,
    load_checked,
    save_network,
    save_tensors,
)
from engine.pipeline import Pipeline
from engine.synth import SynthSettings
from engine.synth.families import FAMILIES, draw

MOTIONS = ("pan", "push")
TEST_MARK = LICENCES.splitlines()[0]  # the first line of the TEST folder's LICENCES.md


def holds_test_stills(folder: Path) -> bool:
    """Whether `folder` is bench/heldout_stills.py's TEST folder, which must never train."""
    licences = folder / "LICENCES.md"
    return licences.is_file() and licences.read_text().splitlines()[:1] == [TEST_MARK]


def log(line: str) -> None:
    print(line, flush=True)


def unet_examples(paths: list[Path], args: argparse.Namespace) -> tuple[Examples, dict[str, object]]:
    settings = PatchSettings(size=args.crop, count=args.patches)
    bank = make_patch_bank(load_stills(paths), settings, args.seed)
    return Examples(bank.sdr, bank.sdr, bank.radiance), {"patches": asdict(settings)}


def cached_examples(cache: Path, make: Callable[[], Iterator[TemporalExamples]]) -> Examples:
    """The temporal examples an earlier run saved in `cache`, or else those `make` builds, saved
    there for a resumed run."""
    if cache.is_file():
        log(f"reusing the temporal examples in {cache}")
        tensors = load_checked(cache)
        return Examples(tensors["features"], tensors["linear"], tensors["radiance"])
    parts = list(make())
    examples = Examples(torch.cat([p.features for p in parts]), torch.cat([p.linear for p in parts]),
                        torch.cat([p.radiance for p in parts]))
    save_tensors(cache, {"features": examples.inputs, "linear": examples.linear,
                         "radiance": examples.radiance})
    return examples


def refine_examples(paths: list[Path], args: argparse.Namespace,
                    cache: Path) -> tuple[Examples, dict[str, object]]:
    width, height = (int(v) for v in args.size.lower().split("x"))
    shots = [SynthSettings(frames=args.frames, motion=m, size=(width, height), seed=args.seed + i)
             for i, m in enumerate(MOTIONS)]
    description: dict[str, object] = {"shots": [{"motion": s.motion, "frames": s.frames,
                                                 "size": [width, height], "crf": s.crf} for s in shots],
                                      "fallback": args.fallback}

    def make() -> Iterator[TemporalExamples]:
        for path, still in zip(paths, load_stills(paths), strict=True):
            for shot in shots:
                started = time.perf_counter()
                yield temporal_examples(still, shot, args.fallback)
                seconds = time.perf_counter() - started
                log(f"{path.stem}/{shot.motion}: {shot.frames} frames in {seconds:.0f} s")

    return cached_examples(cache, make), description


def family_examples(paths: list[Path], args: argparse.Namespace,
                    cache: Path) -> tuple[Examples, dict[str, object]]:
    """Every still through one camera of each engine.synth.families family (seeded), recorded
    with that camera's codec and graded as bench/temporal.py grades it: the declared transfer
    (`--decode declared`) or the camera's own curve (`--decode exact`, as `--source-transfer
    exact` decodes), the temporal mode with `--fallback`, its response rule included
    (engine.pipeline)."""
    width, height = (int(v) for v in args.size.lower().split("x"))
    cameras = {(p.stem, name): draw(family, args.seed * 1000 + i * len(FAMILIES) + f, args.frames,
                                    (width, height))
               for i, p in enumerate(paths) for f, (name, family) in enumerate(FAMILIES.items())}
    description: dict[str, object] = {
        "cameras": "families", "decode": args.decode, "fallback": args.fallback, "frames": args.frames,
        "size": [width, height],
        "shots": [f"{still}/{camera.describe()}" for (still, _), camera in cameras.items()]}

    def make() -> Iterator[TemporalExamples]:
        with tempfile.TemporaryDirectory(prefix="lumigrade-train-") as folder:
            for path in paths:
                for name in FAMILIES:
                    started = time.perf_counter()
                    camera = cameras[(path.stem, name)]
                    shot = make_shot(path, camera, Path(folder))
                    exact = args.decode == EXACT
                    grade = grade_for(TEMPORAL, args.fallback, camera, EXACT if exact else "")
                    with open_clip(shot.clip) as clip:
                        pipeline = Pipeline(grade, clip, device="cpu",
                                            response=exact_inverse(shot.response) if exact else None)
                        yield pipeline_examples(pipeline, shot.truth)
                    shot.clip.unlink()
                    log(f"{shot.name}: {args.frames} frames in {time.perf_counter() - started:.0f} s")

    return cached_examples(cache, make), description


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("unet", "refine"), required=True)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--minutes", type=float, default=12.0, help="wall-time cap of the optimisation")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=TrainSettings.learning_rate,
                        help="initial learning rate of the cosine schedule")
    parser.add_argument("--clip-norm", type=float, default=0.0, help="largest gradient norm (0: no clipping)")
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--patches", type=int, default=2048, help="unet: patches drawn from the stills")
    parser.add_argument("--frames", type=int, default=16, help="refine: frames per synthetic shot")
    parser.add_argument("--size", default="224x128", help="refine: WxH of the synthetic shots")
    parser.add_argument("--fallback", default="bt2446a", help="refine: the classical stage's fallback ITM")
    parser.add_argument("--cameras", choices=("srgb", "families"), default="srgb",
                        help="refine: an exact sRGB camera (a pan and a push per still), or one camera "
                        "of each engine.synth.families family per still")
    parser.add_argument("--decode", choices=("declared", EXACT), default="declared",
                        help="refine, family cameras: decode through the declared transfer, or through "
                        "the camera's own curve (a colorist's camera LUT; docs/evaluation.md item 33)")
    parser.add_argument("--widths", default="16,32,64,64", help="unet: channels per level")
    parser.add_argument("--seed", type=int, default=0, help="draws the shots (refine) or patches (unet)")
    parser.add_argument("--train-seed", type=int,
                        help="seeds the initial weights and the optimisation (batches, crops, warps) "
                        "apart from the data; default --seed")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", type=Path, required=True, help="folder of the HDR stills (EXR)")
    parser.add_argument("--out", type=Path, default=MODELS_DIR)
    parser.add_argument("--checkpoints", type=Path, help="default: /tmp/lumigrade-train-<model>")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if holds_test_stills(args.data):
        print(f"{args.data}: holds the held-out TEST stills (bench/heldout_stills.py); train on TUNING",
              file=sys.stderr)
        return 2
    paths = training_stills(args.data)
    if not paths:
        print(f"{args.data}: no training stills", file=sys.stderr)
        return 2
    checkpoints = args.checkpoints or Path(f"/tmp/lumigrade-train-{args.model}")
    checkpoints.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    train_seed = args.seed if args.train_seed is None else args.train_seed
    settings = TrainSettings(steps=args.steps, batch=args.batch, crop=args.crop, seed=train_seed,
                             max_minutes=args.minutes, learning_rate=args.learning_rate,
                             clip_norm=args.clip_norm)
    started = time.perf_counter()
    # The initial weights are drawn here, from torch's global generator, which is seeded afresh
    # from the OS at every start: unseeded, no two runs began from the same network.
    torch.manual_seed(train_seed)
    model: HighlightNet | RefineNet
    if args.model == "unet":
        model, name = HighlightNet(UNetConfig(widths=channel_widths(args.widths))), HIGHLIGHT_MODEL
        examples, data = unet_examples(paths, args)
    else:
        model, name = RefineNet(), REFINE_MODEL
        settings = replace(settings, stability_weight=0.5)
        build = family_examples if args.cameras == "families" else refine_examples
        examples, data = build(paths, args, checkpoints / "examples.safetensors")
    log(f"{name}: {parameter_count(model)} parameters, {examples.inputs.shape[0]} examples of "
        f"{tuple(examples.inputs.shape[1:])}, data ready in {time.perf_counter() - started:.0f} s")
    state = train(model, examples, settings, checkpoints, log)
    history = state.history or []
    save_network(model, {
        "training": asdict(settings),
        "data": {"seed": args.seed, "train_stills": [p.stem for p in paths],
                 "held_out_stills": list(EVAL_STILLS),
                 "tuning_not_trained": [n for n in TUNING if n not in {p.stem for p in paths}], **data},
        "result": {"steps": state.step, "minutes": round(state.seconds / 60.0, 2),
                   "parameters": parameter_count(model), "loss_history": history},
    }, name, args.out)
    final = history[-1][1] if history else float("nan")
    log(f"saved {args.out / name}.safetensors after {state.step} steps, final loss {final:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
