"""`lumigrade eval --test OUT --reference GT --sdr CLIP`: score an HDR reconstruction."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app.progress import ProgressReporter
from engine.device import default_device
from engine.metrics.evaluate import evaluate_paths


def add_parser(sub: Any) -> None:
    p = sub.add_parser("eval", help="score an HDR reconstruction against ground truth (PU21, flicker)")
    p.add_argument("--test", required=True, metavar="OUT",
                   help="the reconstruction: EXR folder or pattern, or HDR video")
    p.add_argument("--reference", metavar="GT", help="ground truth: EXR folder or pattern, or HDR video")
    p.add_argument("--sdr", metavar="CLIP",
                   help="the SDR clip the reconstruction started from (needed with or without a reference)")
    p.add_argument("--no-reference", action="store_true",
                   help="no ground truth: print the learned quality estimate (predicted PU21-PSNR) instead")
    p.add_argument("--masks", metavar="DIR", help="recoverable-highlight masks (lumigrade synth's masks/)")
    p.add_argument("--no-vdp", action="store_true", help="skip ColorVideoVDP even when installed")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.sdr is None:
        print("lumigrade eval: --sdr is needed (the SDR clip the reconstruction was graded from)",
              file=sys.stderr)
        return 2
    if args.no_reference:
        return run_no_reference(args)
    if args.reference is None:
        print("lumigrade eval: --reference is needed unless --no-reference is given",
              file=sys.stderr)
        return 2
    reporter = ProgressReporter.for_terminal(json_lines=False)
    try:
        report = evaluate_paths(args.test, args.reference, args.sdr, args.masks, device=default_device(),
                                with_cvvdp=not args.no_vdp, progress=reporter.render_progress("eval"))
    finally:
        reporter.close()
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.table())
    return 0


def run_no_reference(args: argparse.Namespace) -> int:
    """The no-reference score (engine.models.quality) of every frame, its mean and its minimum,
    with the held-out figures that say how far to trust it."""
    from engine.models.quality import heldout_figures, load_quality, score_clip

    scores = score_clip(args.test, args.sdr, load_quality(), default_device())
    heldout = heldout_figures()
    summary = {"frames": len(scores), "predicted_pu21_psnr_mean": sum(scores) / len(scores),
               "predicted_pu21_psnr_min": min(scores), "per_frame": scores,
               "heldout_spearman": heldout.spearman, "heldout_rmse_db": heldout.rmse_db}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"no-reference quality estimate (predicted PU21-PSNR, whole frame): mean "
              f"{summary['predicted_pu21_psnr_mean']:.2f} dB, worst frame "
              f"{summary['predicted_pu21_psnr_min']:.2f} dB over {len(scores)} frames "
              f"(held out: {heldout.describe()})")
    return 0
