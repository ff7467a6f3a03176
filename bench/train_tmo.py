"""Train the learned tone mapper (operator `deep`) and write its weights to resources/models.

    .venv/bin/python -m bench.train_tmo --data DIR [--minutes 10] [--steps 800] [--batch 4]
                                        [--crop 192] [--shift 12] [--flicker 30] [--scene-flicker 0.5]
                                        [--seed 0]

engine.models.tone_net.ToneNet on pan pairs of crops of the tuning stills (engine.models.tone_train):
loss 1 - TMQI, plus --flicker x the mean signal change over the pixels both frames of a pan see,
plus --scene-flicker x engine.metrics.flicker between the two frames against the HDR's change.
The defaults are the settings of the shipped weights (resources/models/deep_tmo.json).
Split: every EXR still in --data trains except GoldenGate and sunset (engine.models.data.EVAL_STILLS),
held out for bench/tmo_quality.py. Seeded, one CPU thread by default, stops after --steps or
--minutes, checkpoints to --checkpoints (safetensors + JSON) and resumes from there. The weights,
their SHA-256 in SHA256SUMS and deep_tmo.json (settings, split, loss history) land in --out.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from engine.models.data import EVAL_STILLS, load_stills, training_stills
from engine.models.tone_net import TONE_MODEL, ToneNet, save_tone_net
from engine.models.tone_train import CROP_SCALES, CropSampler, ToneTrainSettings, train_tone_net
from engine.models.unet import parameter_count
from engine.models.weights import MODELS_DIR


def log(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of the HDR stills (EXR)")
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--minutes", type=float, default=10.0, help="wall-time cap of the optimisation")
    parser.add_argument("--batch", type=int, default=4, help="pan pairs per step")
    parser.add_argument("--crop", type=int, default=192, help="crop side (TMQI's 5 scales need 176)")
    parser.add_argument("--shift", type=int, default=12, help="largest pan step between the two frames, px")
    parser.add_argument("--flicker", type=float, default=30.0, help="weight of the aligned pan flicker term")
    parser.add_argument("--scene-flicker", type=float, default=0.5,
                        help="weight of the flicker against the HDR scene's change (engine.metrics.flicker)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=MODELS_DIR)
    parser.add_argument("--checkpoints", type=Path, default=Path("/tmp/lumigrade-train-tmo"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    paths = training_stills(args.data)
    if not paths:
        print(f"{args.data}: no training stills", file=sys.stderr)
        return 2
    args.checkpoints.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = ToneTrainSettings(steps=args.steps, batch=args.batch, crop=args.crop, seed=args.seed,
                                 max_minutes=args.minutes, stability_weight=args.flicker,
                                 warp_pixels=float(args.shift), learning_rate=3e-3, final_learning_rate=1e-4,
                                 checkpoint_every=100, log_every=25, scene_flicker_weight=args.scene_flicker)
    started = time.perf_counter()
    sampler = CropSampler(load_stills(paths), args.crop, args.shift)
    torch.manual_seed(args.seed)
    net = ToneNet()
    log(f"{TONE_MODEL}: {parameter_count(net)} parameters, {len(sampler.images)} images from "
        f"{len(paths)} stills, ready in {time.perf_counter() - started:.0f} s")
    state = train_tone_net(net, sampler, settings, args.checkpoints, log)
    history = state.history or []
    save_tone_net(net, {
        "training": {**asdict(settings), "loss": "1 - TMQI + stability_weight * pan flicker"
                                                 " + scene_flicker_weight * scene flicker",
                     "pan_shift_px": args.shift, "crop_scales": list(CROP_SCALES)},
        "data": {"train_stills": [p.stem for p in paths], "held_out_stills": list(EVAL_STILLS)},
        "result": {"steps": state.step, "minutes": round(state.seconds / 60.0, 2),
                   "parameters": parameter_count(net), "loss_history": history},
    }, args.out)
    final = history[-1][1] if history else float("nan")
    log(f"saved {args.out / TONE_MODEL}.safetensors after {state.step} steps, final loss {final:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
