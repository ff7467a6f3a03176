"""`lumigrade calibrate STILL... [--stops ...] -o camera.cube`: a camera's response from a bracket.

engine.crf.bracket measures the inverse response (Debevec & Malik's gsolve) from the stills and
their exposures, read from their Exif unless `--stops` gives them; the result is written as a 1-D
.cube (engine.crf.camera_lut) that the `camera-lut` source transfer decodes that camera's footage
through (`--camera-lut`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.overwrite import check_overwrite, policy_of
from engine.crf.bracket import calibrate, check_bracket, listed_stops, parse_stops
from engine.crf.camera_lut import check_cube_target, write_camera_lut


def add_parser(sub: Any) -> None:
    p = sub.add_parser("calibrate", help="measure a camera's response from a bracket of stills (.cube)")
    p.add_argument("stills", type=Path, nargs="+",
                   help="stills (or one-frame clips) of one static scene at different exposures")
    p.add_argument("--stops", metavar="EV,EV,...",
                   help="each still's exposure in stops, in the same order (--stops=-2,-1,0,1,2: with '=' "
                   "when the first is negative); default: from the stills' Exif (shutter, f-number, ISO)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .cube file to write")
    overwrite = p.add_mutually_exclusive_group()
    overwrite.add_argument("-y", "--overwrite", action="store_true", help="replace an existing file")
    overwrite.add_argument("-n", "--no-overwrite", action="store_true", help="refuse an existing file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_bracket(args.stills)
    check_cube_target(args.output)
    stops = parse_stops(args.stops, len(args.stills), "--stops") if args.stops is not None else None
    check_overwrite(args.output, policy_of(args.overwrite, args.no_overwrite))
    result = calibrate(args.stills, stops)
    if stops is None:
        print(f"exposures from Exif: {listed_stops(args.stills, result.stops)}")
    path = write_camera_lut(args.output, result.response, result.title)
    middle = result.response.numel() // 2
    print(f"wrote {path}: {result.response.numel()}-point camera response; code {middle}/"
          f"{result.response.numel() - 1} reads {float(result.response[middle]):.4f} of the clip's light")
    return 0
