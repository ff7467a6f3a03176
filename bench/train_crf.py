"""Train the single-frame CRF network and write it, with its EMoR basis, to resources/models.

    nice -n 5 .venv/bin/python bench/train_crf.py --data DIR [--minutes 6] [--batches 450] [--seed 20]
                                                  [--leave-out NAME,...] [--out DIR]

Builds the EMoR basis (engine.crf.emor) from the training curves of engine.crf.curves, then
trains engine.crf.net.CrfNet on synthetic crops of the training stills (engine.crf.train).
Split: every EXR still in --data trains except GoldenGate and sunset (engine.models.data.
EVAL_STILLS), and no held-out curve (engine.crf.curves.held_out_curves) is seen. One CPU thread,
seeded; checkpoints to --checkpoint, from which a rerun resumes. Writes crf_net.safetensors, its
SHA-256 in SHA256SUMS and crf_net.json (settings, split, curves, loss history) to --out.
--leave-out keeps more stills out, for a validation network (docs/evaluation.md item 11: six
TUNING stills train, StillLife and sunrise judge it; write it to an --out other than the
shipped models).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from engine.crf.curves import held_out_curves, training_curves
from engine.crf.emor import COMPONENTS, build_basis
from engine.crf.net import MODEL_NAME
from engine.crf.train import TrainSettings, save_model, train
from engine.models.data import EVAL_STILLS, load_stills, training_stills
from engine.models.weights import MODELS_DIR, write_json


def log(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of OpenEXR HDR stills")
    parser.add_argument("--out", type=Path, default=MODELS_DIR)
    parser.add_argument("--checkpoint", type=Path, default=Path("/tmp/crf_net_checkpoint.safetensors"))
    parser.add_argument("--minutes", type=float, default=6.0, help="budget of the data set")
    parser.add_argument("--batches", type=int, default=TrainSettings.batches)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--leave-out", default="", help="comma-separated still names kept out besides "
                        f"{', '.join(EVAL_STILLS)}")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    held_out_stills = (*EVAL_STILLS, *(s for s in args.leave_out.split(",") if s))
    paths = training_stills(args.data, held_out_stills)
    if not paths:
        print(f"{args.data}: no training stills (*.exr)", file=sys.stderr)
        return 2
    curves = training_curves()
    held = {c.name for c in held_out_curves()}
    assert not held & {c.name for c in curves}, "a held-out curve is in the training set"
    basis = build_basis(curves, COMPONENTS)
    settings = replace(TrainSettings(), batches=args.batches)
    log(f"training on {[p.stem for p in paths]} with {len(curves)} curves, {settings.batches} batches")
    start = time.perf_counter()
    net, history = train(load_stills(paths), curves, basis, settings, args.seed, args.checkpoint, log,
                         seconds=args.minutes * 60.0)
    save_model(args.out / f"{MODEL_NAME}.safetensors", net, basis)
    write_json(args.out / f"{MODEL_NAME}.json", {
        "model": "crf", "components": basis.size, "settings": asdict(settings), "seed": args.seed,
        "training_stills": [p.stem for p in paths], "held_out_stills": list(held_out_stills),
        "training_curves": [c.name for c in curves], "held_out_curves": sorted(held),
        "validation_rms_ln_per_500_steps": history, "seconds": round(time.perf_counter() - start),
    })
    log(f"wrote {args.out / MODEL_NAME}.safetensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
