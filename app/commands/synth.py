"""`lumigrade synth HDR_STILL -o DIR`: a synthetic camera shot with ground truth, for evaluation."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from app.progress import ProgressReporter
from engine.device import default_device
from engine.errors import GradeError
from engine.synth.camera import INTERPOLATIONS, MOTIONS
from engine.synth.exposure import EXPOSURE_MODES
from engine.synth.families import FAMILIES, draw
from engine.synth.render import SynthSettings, synthesize
from engine.synth.response import RESPONSES


def _size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    try:
        size = (int(width), int(height))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT") from None
    if not sep or min(size) < 2 or size[0] % 2 or size[1] % 2:
        raise argparse.ArgumentTypeError(f"{text!r} must be WIDTHxHEIGHT with even sizes of at least 2")
    return size


def add_parser(sub: Any) -> None:
    p = sub.add_parser("synth", help="simulate a camera over an HDR still: ground truth, SDR clip, masks")
    p.add_argument("still", metavar="HDR_STILL", help="scene-linear OpenEXR still")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="new (or empty) output folder")
    p.add_argument("--frames", type=int, default=48, help="number of frames (default 48)")
    p.add_argument("--fps", type=float, default=24.0, help="frame rate (default 24)")
    p.add_argument("--motion", choices=MOTIONS, default="pan", help="camera motion (default pan)")
    p.add_argument("--exposure", choices=EXPOSURE_MODES, default="auto", help="exposure mode (default auto)")
    p.add_argument("--ev", type=float, default=2.0, help="alternating: ± stops (default 2)")
    p.add_argument("--size", type=_size, metavar="WxH", help="output size (default 0.6 x the still)")
    p.add_argument("--crf", choices=RESPONSES, default="srgb", help="camera response (default srgb)")
    p.add_argument("--interpolation", choices=INTERPOLATIONS, default="bilinear")
    p.add_argument("--pan-widths", type=float, metavar="N",
                   help="pan: travel N frame widths, ending on the brightest region")
    p.add_argument("--no-noise", action="store_true", help="leave out sensor noise")
    p.add_argument("--seed", type=int, default=0, help="random seed (motion, CRF, noise)")
    p.add_argument("--family", choices=tuple(FAMILIES),
                   help="draw the camera (transfer, AE, noise, codec, motion) from this family with --seed; "
                        "--frames, --fps and --size still apply")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.frames < 1:
        raise GradeError(f"--frames must be at least 1, got {args.frames}")
    if args.fps <= 0:
        raise GradeError(f"--fps must be positive, got {args.fps}")
    settings = SynthSettings(
        frames=args.frames, fps=args.fps, motion=args.motion, exposure=args.exposure, ev=args.ev,
        size=args.size, crf=args.crf, seed=args.seed, interpolation=args.interpolation,
        pan_widths=args.pan_widths, noise=None if args.no_noise else SynthSettings().noise,
    )
    if args.family is not None:
        drawn = draw(FAMILIES[args.family], args.seed, args.frames, args.size).settings
        settings = dataclasses.replace(drawn, fps=args.fps)
    reporter = ProgressReporter.for_terminal(json_lines=False)
    try:
        summary = synthesize(args.still, args.output, settings, device=default_device(),
                             progress=reporter.render_progress("synth"))
    finally:
        reporter.close()
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print(f"wrote {summary.output}: {summary.frames} frames {summary.width}x{summary.height}, "
              f"EV {summary.ev_min:+.2f} to {summary.ev_max:+.2f}, "
              f"{100 * summary.recoverable_fraction:.2f} % recoverable highlights, {summary.seconds:.1f} s")
    return 0
