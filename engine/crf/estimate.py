"""The source transform `estimated`: a clip's camera response, estimated once and cached.

The learned single-frame estimator (engine.crf.net) runs on a few frames spread over the clip and
their coefficients are averaged (a response belongs to the camera, not to one frame).
A Debevec–Malik fit on the clip's own exposure changes (engine.temporal.analysis, as the
temporal mode's `response=estimated` runs it) used to replace that estimate wherever the first
frames' exposure moved by half a stop. It closes 0.69 of the wrong-transfer gap on a clean static
bracket (bench/crf.py), but on moving, compressed footage with auto exposure it does not: on the
TUNING shots of bench/temporal.py its curves came out stops off the camera's (twice the exponent,
or flat) and it cost the temporal mode 6.5 dB of recoverable highlights against the learned
estimate alone, a figure that flatters the network, trained on those stills (docs/evaluation.md,
items 8 and 9). So the learned estimate is used on every clip.
The estimate is per clip, not per shot: a clip cut from several cameras gets one curve.
The EMoR curve (engine.crf.emor) is the inverse response the input transform applies, tabled
at engine.crf.curves.SAMPLES signal values. The estimate is cached per clip file (path, size,
modification time, frame count), so the preview, each new Pipeline of a grade edit and the
export all take the same curve and the network runs once per clip.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import Tensor

from engine.crf.net import load_crf_net, predict
from engine.errors import FormatError
from engine.io.clip import Clip

SAMPLED_FRAMES = 5  # frames of the clip the network looks at


@dataclass(frozen=True)
class ResponseEstimate:
    """An estimated inverse response (SAMPLES,) float64 over signal values in [0, 1], and its EMoR
    coefficients."""

    inverse: Tensor
    coefficients: Tensor
    frames: tuple[int, ...]  # the frames the learned estimator looked at


_cache: dict[tuple[str, int, int, int], ResponseEstimate] = {}
_lock = threading.Lock()


def _key(clip: Clip) -> tuple[str, int, int, int]:
    path = Path(clip.info.path)
    stat = path.stat() if path.is_file() else None
    return (str(path.resolve()), stat.st_size if stat else -1, stat.st_mtime_ns if stat else -1,
            clip.info.frame_count)


def cached_clip_response(clip: Clip) -> ResponseEstimate | None:
    """The clip's estimate if it was already made, without making it (an estimate takes seconds)."""
    key = _key(clip)
    with _lock:
        return _cache.get(key)


def estimate_clip_response(clip: Clip) -> ResponseEstimate:
    """The clip's estimated inverse response (computed on first use, then taken from the cache)."""
    cached = cached_clip_response(clip)
    if cached is not None:
        return cached
    key = _key(clip)
    count = clip.info.frame_count
    frames = tuple(sorted({int(i) for i in np.linspace(0, max(count - 1, 0), min(SAMPLED_FRAMES, count))}))
    net, basis = load_crf_net()
    try:
        coefficients = predict(net, basis, [clip.frame(i) for i in frames])
    except FormatError as exc:  # a frame too small for the crops: name the clip
        raise FormatError(exc.problem, clip.info.path) from None
    estimate = ResponseEstimate(basis.curve(coefficients), coefficients, frames)
    with _lock:
        _cache[key] = estimate
    return estimate

