"""`lumigrade calibrate STILL... [--stops ...] -o camera.cube`: a camera's response from a bracket.

The classical calibration a colorist can shoot on set: the same static scene, from a tripod, at
several exposures with the picture profile the footage uses. Debevec & Malik's gsolve (1997,
engine.temporal.crf.estimate_crf) recovers the inverse response from the stills and their
exposure steps; the result is written as a 1-D .cube (engine.crf.camera_lut) that the
`camera-lut` source transfer decodes that camera's footage through (`--camera-lut`). The steps are
read from the stills' Exif metadata (shutter time, f-number, ISO: engine.io.exif) unless `--stops`
gives them.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import torch

from app.overwrite import check_overwrite, policy_of
from engine.crf.camera_lut import write_camera_lut
from engine.errors import GradeError, MediaError
from engine.io.exif import read_exposure, relative_stops
from engine.io.open import open_clip
from engine.temporal.crf import estimate_crf

MIN_SPAN_STOPS = 1.0  # gsolve needs each code seen at different exposures to tell the curve apart
# gsolve samples a few pixels per code value: a 2-megapixel grid holds plenty, and a camera's
# 24-megapixel stills at full size would take gigabytes in the solver's code table.
MAX_PIXELS = 1 << 21


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


def parse_stops(text: str, count: int) -> list[float]:
    """'-2,0,2' -> [-2.0, 0.0, 2.0]: one finite, distinct value per still, spanning a stop or more."""
    try:
        stops = [float(word) for word in text.split(",")]
    except ValueError:
        raise GradeError(f"--stops {text!r} is not a comma-separated list of numbers") from None
    if len(stops) != count:
        raise GradeError(f"--stops gives {len(stops)} exposures for {count} stills")
    return check_stops(stops, f"--stops {text!r}")


def exif_stops(paths: list[Path]) -> list[float]:
    """Each still's exposure in stops relative to the first, from its Exif metadata."""
    exposures = []
    for path in paths:
        exposure = read_exposure(path)
        if exposure is None:
            raise MediaError("records no Exif exposure time; give the bracket's exposures with --stops", path)
        exposures.append(exposure)
    stops = relative_stops(exposures, paths)
    listed = ", ".join(f"{p.name} {s:+.2f} EV" for p, s in zip(paths, stops, strict=True))
    check_stops(stops, f"the stills' Exif exposures ({listed})")
    print(f"exposures from Exif: {listed}")
    return stops


def check_stops(stops: list[float], source: str) -> list[float]:
    """`stops` where they are finite, distinct and span a stop or more; else a GradeError naming
    `source`."""
    if not all(math.isfinite(s) for s in stops) or len(set(stops)) != len(stops):
        raise GradeError(f"{source} must be finite and different for every still")
    if max(stops) - min(stops) < MIN_SPAN_STOPS:
        raise GradeError(f"{source} spans {max(stops) - min(stops):g} stops; a bracket needs at least "
                         f"{MIN_SPAN_STOPS:g}")
    return stops


def read_bracket(paths: list[Path]) -> list[torch.Tensor]:
    """Each still's code values (3, H, W); all the same size, all camera-encoded (not linear light).

    Stills above MAX_PIXELS keep every k-th pixel each way: a pixel's codes stay as recorded,
    where a resize would mix neighbours' codes through the unknown curve.
    """
    frames: list[torch.Tensor] = []
    first: torch.Size | None = None
    for path in paths:
        with open_clip(path) as clip:
            if clip.info.tags.is_hdr():
                raise MediaError(f"holds {clip.info.tags.transfer} data, not a camera's encoded "
                                 "code values", path)
            frame = clip.frame(0)
        if first is not None and frame.shape != first:
            raise MediaError(f"is {frame.shape[2]}x{frame.shape[1]}, the bracket's first still "
                             f"{first[2]}x{first[1]}", path)
        first = frame.shape
        step = math.ceil(math.sqrt(frame.shape[1] * frame.shape[2] / MAX_PIXELS))
        frames.append(frame[:, ::step, ::step].contiguous())
    return frames


def run(args: argparse.Namespace) -> int:
    if len(args.stills) < 2:
        raise GradeError("a bracket needs two or more stills")
    if args.output.suffix.lower() != ".cube":
        raise GradeError("the camera LUT is written as a .cube file", args.output)
    given = parse_stops(args.stops, len(args.stills)) if args.stops is not None else None
    check_overwrite(args.output, policy_of(args.overwrite, args.no_overwrite))
    frames = read_bracket(args.stills)  # every still opens before its metadata is read
    stops = given if given is not None else exif_stops(args.stills)
    order = sorted(range(len(stops)), key=stops.__getitem__)  # gsolve samples the middle exposure's codes
    response = estimate_crf([frames[i] for i in order], [stops[i] * math.log(2.0) for i in order])
    title = f"camera response from {len(frames)} stills, {min(stops):g} to {max(stops):g} EV"
    path = write_camera_lut(args.output, response, title)
    middle = response.numel() // 2
    print(f"wrote {path}: {response.numel()}-point camera response; code {middle}/{response.numel() - 1} "
          f"reads {float(response[middle]):.4f} of the clip's light")
    return 0
