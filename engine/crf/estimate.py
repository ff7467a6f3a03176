"""The source transform `estimated`: a clip's camera response, estimated once and cached.

Two estimators, the better one the shot allows:
- the learned single-frame estimator (engine.crf.net) runs on a few frames spread over the clip
  and their coefficients are averaged (a response belongs to the camera, not to one frame);
- where the first ANALYSED_FRAMES frames hold exposures at least half a stop apart (auto
  exposure following a pan, an exposure bracket), the temporal analysis (engine.temporal.
  analysis) chains the exposure changes, measured on frames linearised by the learned
  estimate, and fits Debevec & Malik's response on its darkest and brightest aligned frames;
  that response, projected into the EMoR space (engine.crf.fit.fit_response_table), replaces
  the learned one. The exposure ratio is refined by the frames' sensor noise (engine.temporal.
  noise_ratio), which the learned curve's exponent error does not bias (bench/crf.py: the fit
  closes 0.69 of the PU21-PSNR gap between the tagged transfer and the true curve on held-out
  clips, 0.49 without the noise ratio; the learned estimate 0.26).
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

from engine.crf.fit import fit_response_table
from engine.crf.net import load_crf_net, predict
from engine.errors import FormatError
from engine.io.clip import Clip
from engine.temporal.analysis import analyse_clip
from engine.temporal.crf import linearise
from engine.temporal.params import TemporalParams

SAMPLED_FRAMES = 5  # frames of the clip the network looks at
ANALYSED_FRAMES = 96  # frames searched for an exposure change: 4 s at 24 fps, a bounded wait


@dataclass(frozen=True)
class ResponseEstimate:
    """An estimated inverse response (SAMPLES,) float64 over signal values in [0, 1], and its EMoR
    coefficients."""

    inverse: Tensor
    coefficients: Tensor
    frames: tuple[int, ...]  # the frames the learned estimator looked at
    method: str  # "learned" or "exposures"


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
    method = "learned"
    bracket = _exposure_response(clip, basis.curve(coefficients))
    if bracket is not None:
        coefficients, method = fit_response_table(bracket, basis), "exposures"
    estimate = ResponseEstimate(basis.curve(coefficients), coefficients, frames, method)
    with _lock:
        _cache[key] = estimate
    return estimate


def _exposure_response(clip: Clip, inverse: Tensor) -> Tensor | None:
    """Debevec–Malik's (256,) response from the clip's first frames, or None without an exposure change."""
    def decode(index: int) -> tuple[Tensor, Tensor]:
        signal = clip.frame(index).float().cpu().clamp(0.0, 1.0)
        return linearise(signal, inverse), signal

    count = min(clip.info.frame_count, ANALYSED_FRAMES)
    if count < 2:
        return None
    analysis = analyse_clip(decode, count, TemporalParams(response="estimated"), lambda _stage, _done: None)
    return analysis.response

