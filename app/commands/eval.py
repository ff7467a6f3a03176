"""`lumigrade eval --test OUT --reference GT --sdr CLIP`: score an HDR reconstruction."""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.progress import ProgressReporter
from engine.device import default_device
from engine.metrics.evaluate import evaluate_paths


def add_parser(sub: Any) -> None:
    p = sub.add_parser("eval", help="score an HDR reconstruction against ground truth (PU21, flicker)")
    p.add_argument("--test", required=True, metavar="OUT",
                   help="the reconstruction: EXR folder or pattern, or HDR video")
    p.add_argument("--reference", required=True, metavar="GT",
                   help="ground truth: EXR folder or pattern, or HDR video")
    p.add_argument("--sdr", required=True, metavar="CLIP",
                   help="the SDR clip the reconstruction started from")
    p.add_argument("--masks", metavar="DIR", help="recoverable-highlight masks (lumigrade synth's masks/)")
    p.add_argument("--no-vdp", action="store_true", help="skip ColorVideoVDP even when installed")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    reporter = ProgressReporter.for_terminal(json_lines=False)
    try:
        report = evaluate_paths(args.test, args.reference, args.sdr, args.masks, device=default_device(),
                                with_cvvdp=not args.no_vdp, progress=reporter.render_progress("eval"))
    finally:
        reporter.close()
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.table())
    return 0
