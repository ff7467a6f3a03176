"""A camera's inverse response measured from a bracket of stills (`lumigrade calibrate` and the
source box's "Measure…" button).

The classical calibration a colorist can shoot on set: the same static scene, from a tripod, at
several exposures with the picture profile the footage uses. Debevec & Malik's gsolve (1997,
engine.temporal.crf.estimate_crf) recovers the inverse response from the stills and their
exposure steps, which come from the stills' Exif (engine.io.exif) or are given in stops.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.errors import GradeError, MediaError
from engine.io.exif import Exposure, read_exposure, relative_stops
from engine.io.open import open_clip
from engine.temporal.crf import estimate_crf

MIN_SPAN_STOPS = 1.0  # gsolve needs each code seen at different exposures to tell the curve apart
# gsolve samples a few pixels per code value: a 2-megapixel grid holds plenty, and a camera's
# 24-megapixel stills at full size would take gigabytes in the solver's code table.
MAX_PIXELS = 1 << 21


@dataclass(frozen=True)
class Calibration:
    """The measured inverse response ((N,), 1.0 at the clip) and each still's exposure in stops."""

    response: torch.Tensor
    stops: list[float]

    @property
    def title(self) -> str:
        return f"camera response from {len(self.stops)} stills, {min(self.stops):g} to {max(self.stops):g} EV"


def check_bracket(paths: Sequence[Path]) -> None:
    """GradeError unless `paths` holds two or more stills: gsolve compares exposures."""
    if len(paths) < 2:
        raise GradeError("a bracket needs two or more stills")


def check_stops(stops: Sequence[float], source: str) -> list[float]:
    """`stops` where they are finite, distinct and span a stop or more; else a GradeError naming
    `source`."""
    if not all(math.isfinite(s) for s in stops) or len(set(stops)) != len(stops):
        raise GradeError(f"{source} must be finite and different for every still")
    if max(stops) - min(stops) < MIN_SPAN_STOPS:
        raise GradeError(f"{source} spans {max(stops) - min(stops):g} stops; a bracket needs at least "
                         f"{MIN_SPAN_STOPS:g}")
    return list(stops)


def parse_stops(text: str, count: int, label: str) -> list[float]:
    """'-2,0,2' -> [-2.0, 0.0, 2.0]: one finite, distinct value per still, spanning a stop or more;
    errors name the text as `label` gives it ('--stops', the dialog's field)."""
    try:
        stops = [float(word) for word in text.split(",")]
    except ValueError:
        raise GradeError(f"{label} {text!r} is not a comma-separated list of numbers") from None
    if len(stops) != count:
        raise GradeError(f"{label} {text!r} gives {len(stops)} exposures for {count} stills")
    return check_stops(stops, f"{label} {text!r}")


def exif_stops(paths: Sequence[Path], exposures: Sequence[Exposure | None] | None = None) -> list[float]:
    """Each still's exposure in stops relative to the first, from its Exif metadata (`exposures`,
    as engine.io.exif.read_exposure read them, where the caller already has them)."""
    read = [read_exposure(p) for p in paths] if exposures is None else list(exposures)
    known: list[Exposure] = []
    for path, exposure in zip(paths, read, strict=True):
        if exposure is None:
            raise MediaError("records no Exif exposure time; give the bracket's exposures in stops", path)
        known.append(exposure)
    stops = relative_stops(known, list(paths))
    return check_stops(stops, f"the stills' Exif exposures ({listed_stops(paths, stops)})")


def listed_stops(paths: Sequence[Path], stops: Sequence[float]) -> str:
    """'a.jpg +0.00 EV, b.jpg +1.00 EV': each still with its exposure, for messages."""
    return ", ".join(f"{p.name} {s:+.2f} EV" for p, s in zip(paths, stops, strict=True))


def read_bracket(paths: Sequence[Path]) -> list[torch.Tensor]:
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


def calibrate(paths: Sequence[Path], stops: Sequence[float] | None = None) -> Calibration:
    """The camera's inverse response from a bracket: `stops` per still (checked), or from Exif.

    Every still opens before its metadata is read, so a missing or unreadable still is named as
    such rather than as one without Exif.
    """
    check_bracket(paths)
    if stops is not None and len(stops) != len(paths):
        raise GradeError(f"{len(stops)} exposures given for {len(paths)} stills")
    frames = read_bracket(paths)
    measured = check_stops(stops, "the exposures") if stops is not None else exif_stops(paths)
    # In order of exposure: gsolve samples the middle exposure's codes.
    order = sorted(range(len(measured)), key=measured.__getitem__)
    response = estimate_crf([frames[i] for i in order], [measured[i] * math.log(2.0) for i in order])
    return Calibration(response, measured)
