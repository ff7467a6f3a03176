"""Frame statistics for operators that adapt to the picture, and their temporal stabiliser.

`measure` reduces one frame's luminance to a FrameStats (log average, percentile peak, maximum,
low percentile, clipped share). `StatsStabiliser` smooths a stream of them the way libplacebo's
peak detection does (src/shaders/colorspace.c, `pl_peak_detect_params`): an IIR low-pass filter
whose time constant is `smoothing_period` frames, and a smoothstep scene-cut test on the change
of the average that lets a cut through at once while fades and flicker stay filtered.

Values are in the units of the luminance given (relative for ITM input, cd/m² for TMO input).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from engine.constants import CLIPPED_RELATIVE_LUMINANCE
from engine.finite import all_finite

# In the units of the luminance measured: for SDR-relative input 1e-4 is BT.1886 code value
# 5.5/255, the darkest level worth averaging; for cd/m² it lies far below any display's black.
DEFAULT_BLACK_CUTOFF = 1e-4
_TINY = 1e-12
# Statistics read every STRIDE-th pixel of every STRIDE-th row of a frame whose sides both reach
# STRIDE * MIN_SAMPLED_SIDE: a 1080p frame gives 480x270 samples, plenty for a log average and
# a 99.9th percentile (libplacebo's peak detection also reads a reduced frame), at 1/16 of the
# cost. Preview, stage path and processor all measure through `measure`, so they agree.
STRIDE = 4
MIN_SAMPLED_SIDE = 64


@dataclass(frozen=True)
class FrameStats:
    """Statistics of one frame's luminance, stabilised over time by StatsStabiliser.

    Units follow the operator's input convention (relative for ITM, cd/m² for TMO).
    """

    log_average: float  # geometric mean exp(mean(log(eps + Y))) over non-black pixels
    peak: float  # high percentile of Y (libplacebo-style percentile peak)
    maximum: float  # largest Y
    minimum: float  # low percentile of Y above the black cutoff
    clipped_fraction: float = 0.0  # share of pixels at or above the clip threshold
    # How much this frame starts a new shot, for filters that follow the stabiliser (the learned
    # TMO's curves): 1 for a frame measured alone or the first after a reset or a cut, the
    # stabiliser's smoothstep cut weight within a sequence (0 in a steady shot).
    cut: float = 1.0


def _percentiles(values: Tensor, low: float, high: float) -> tuple[float, float]:
    """The `low` and `high` percentiles of a 1-D tensor, nearest rank: the k-th smallest value,
    k = ceil(p / 100 n). Both ranks lie near an end, so each is the extreme of a partial top-k
    (torch.topk over the few values beyond it), the same value torch.kthvalue selects, at well
    under half its cost (kthvalue partitions the whole array twice)."""
    n = values.numel()
    k_low, k_high = (min(max(1, math.ceil(p / 100.0 * n)), n) for p in (low, high))
    lowest = torch.topk(values, k_low, largest=False, sorted=False).values
    highest = torch.topk(values, n - k_high + 1, sorted=False).values
    return float(lowest.max()), float(highest.min())


def sampling_stride(height: int, width: int) -> int:
    """The step between the rows and columns `measure` reads of a height x width frame."""
    return STRIDE if min(height, width) >= STRIDE * MIN_SAMPLED_SIDE else 1


def sampled(lum: Tensor) -> Tensor:
    """The pixels `measure` reads from a (1, H, W) luminance map: every STRIDE-th of every
    STRIDE-th row when both sides reach STRIDE * MIN_SAMPLED_SIDE, else all of them."""
    step = sampling_stride(*lum.shape[-2:])
    return lum if step == 1 else lum[..., ::step, ::step]


def measure(
    lum: Tensor,
    *,
    peak_percentile: float = 99.9,
    min_percentile: float = 1.0,
    black_cutoff: float = DEFAULT_BLACK_CUTOFF,
    clip_threshold: float = CLIPPED_RELATIVE_LUMINANCE,
) -> FrameStats:
    """Statistics of a (1, H, W) luminance map.

    log_average: geometric mean exp(mean(log Y)) over pixels above `black_cutoff` (Reinhard et
    al. 2002, Eq. 1, with the black pixels left out as libplacebo's black cutoff does);
    peak: the `peak_percentile` of Y (libplacebo's percentile peak, robust to single hot pixels);
    maximum: max Y; minimum: the `min_percentile` of Y above the black cutoff;
    clipped_fraction: share of all pixels with Y >= `clip_threshold`.
    Non-finite values are ignored. A frame with nothing above the cutoff reports the cutoff.
    A large frame is measured on its sampling grid (`sampled`).
    """
    if lum.ndim != 3 or lum.shape[0] != 1:
        raise ValueError(f"measure expects a (1, H, W) luminance map, got {tuple(lum.shape)}")
    return measure_samples(sampled(lum.detach()), peak_percentile=peak_percentile,
                           min_percentile=min_percentile, black_cutoff=black_cutoff,
                           clip_threshold=clip_threshold)


def measure_samples(
    samples: Tensor,
    *,
    peak_percentile: float = 99.9,
    min_percentile: float = 1.0,
    black_cutoff: float = DEFAULT_BLACK_CUTOFF,
    clip_threshold: float = CLIPPED_RELATIVE_LUMINANCE,
) -> FrameStats:
    """`measure` of the luminance values it would read, computed elsewhere (the per-pixel
    processor evaluates its luminance on the sampling grid alone, `sampling_stride`)."""
    flat = samples.detach().reshape(-1).float()
    if not all_finite(flat):
        flat = flat[torch.isfinite(flat)]
    total = max(flat.numel(), 1)
    clipped = float((flat >= clip_threshold).sum()) / total
    lit = flat[flat > black_cutoff]
    if lit.numel() == 0:
        return FrameStats(black_cutoff, black_cutoff, black_cutoff, black_cutoff, clipped)
    minimum, peak = _percentiles(lit, min_percentile, peak_percentile)
    return FrameStats(
        log_average=float(torch.exp(torch.log(lit).mean())),
        peak=peak,
        maximum=float(lit.max()),
        minimum=minimum,
        clipped_fraction=clipped,
    )


def filter_weight(smoothing_period: float, cut: float) -> float:
    """The weight of the new frame in a first-order IIR low-pass with a time constant of
    `smoothing_period` frames, raised towards 1 by a scene-cut weight `cut` in [0, 1]
    (libplacebo's peak detection, src/shaders/colorspace.c); 1 when the period is 0."""
    if smoothing_period <= 0.0:
        return 1.0
    coeff = 1.0 - math.exp(-1.0 / smoothing_period)
    return coeff + (1.0 - coeff) * cut


def _smoothstep(edge0: float, edge1: float, x: float) -> float:
    """GLSL smoothstep: 0 below edge0, 1 above edge1, Hermite 3t² - 2t³ between."""
    t = min(max((x - edge0) / (edge1 - edge0), 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


@dataclass(frozen=True)
class StabiliserParams:
    """libplacebo's pl_peak_detect_params, in log2 (stop) units instead of PQ percent.

    smoothing_period: IIR time constant in frames (libplacebo default 20); 0 disables smoothing.
    scene_threshold_low/high: change of the log average, in stops, where the scene-cut weight
    starts to rise and where it reaches 1 (the filter then jumps to the new frame). libplacebo
    measures it in PQ percent (defaults 1 and 3); PQ moves 7 to 9 percent per stop around SDR
    white, so half a stop to a stop and a half keeps flicker and fades below the cut test.
    """

    smoothing_period: float = 20.0
    scene_threshold_low: float = 0.5
    scene_threshold_high: float = 1.5


class StatsStabiliser:
    """Temporal low-pass of FrameStats with scene-cut detection; `reset()` on every seek."""

    def __init__(self, params: StabiliserParams | None = None) -> None:
        self.params = params or StabiliserParams()
        if not self.params.scene_threshold_low < self.params.scene_threshold_high:
            raise ValueError("scene_threshold_low must be below scene_threshold_high")
        self._state: list[float] | None = None

    def reset(self) -> None:
        """Forget the history: the next frame is taken as it is (after a seek or a new clip)."""
        self._state = None

    def update(self, stats: FrameStats) -> FrameStats:
        """Feed one frame's measurement, get the stabilised statistics for that frame."""
        # The positive quantities are filtered as log2 so that a change of one stop weighs the
        # same in a dark scene as in a bright one.
        new = [
            math.log2(max(v, _TINY)) for v in (stats.log_average, stats.peak, stats.maximum, stats.minimum)
        ] + [stats.clipped_fraction]
        p = self.params
        cut = 1.0
        if self._state is not None and p.smoothing_period > 0.0:
            cut = _smoothstep(p.scene_threshold_low, p.scene_threshold_high, abs(new[0] - self._state[0]))
        if cut >= 1.0:
            self._state = new
        else:
            coeff = filter_weight(p.smoothing_period, cut)
            self._state = [s + coeff * (n - s) for s, n in zip(self._state, new, strict=True)]
        avg, peak, maximum, minimum, clipped = self._state
        return FrameStats(2.0**avg, 2.0**peak, 2.0**maximum, 2.0**minimum, clipped, cut)
