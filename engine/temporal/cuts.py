"""Shot-cut detection from log-luminance histograms with a robust threshold, confirmed by motion.

Each frame is summarised by the histogram of its log2 luminance centred on the frame's median,
so that a global exposure change (auto exposure, alternating brackets) only shifts the
distribution and leaves the centred histogram alone, while a cut changes its shape. A cut is a
frame-to-frame distance that stands out of the clip's own distances by a robust z-score
(median + k · 1.4826 · MAD, Hampel's outlier rule) and also exceeds an absolute floor, in the
spirit of the histogram-difference detectors surveyed by Cotsaces et al., "Video shot
detection and condensed representation" (IEEE Signal Processing Magazine, 2006).

A histogram alone cannot tell a cut from a camera move: a push into a highlight or a pan onto
a window changes the share of clipped and dark pixels, and the clipped spike hops a bin at a
time as the median moves, so neighbouring frames of one shot can differ as much as two shots.
A cut is therefore also a place where motion compensation fails: the frames stop matching,
which the alignment's mean confidence (forward-backward and photometric checks) measures.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor

from engine.color.luminance import luminance

HISTOGRAM_BINS = 48
HISTOGRAM_SPAN_EV = (-8.0, 4.0)  # stops around the median that the histogram covers
_MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution -> its standard deviation
# Neighbouring frames of one shot match over most of the view (0.85 to 0.99 on moving synthetic
# shots); unrelated frames match by chance only.
MAX_CUT_MATCH = 0.5


def centred_log_histogram(linear: Tensor) -> Tensor:
    """(3, H, W) linear frame -> (HISTOGRAM_BINS,) float64 histogram summing to 1."""
    y = luminance(linear).flatten().clamp_min(2.0**-16)
    log_y = torch.log2(y).to(torch.float64)
    centred = (log_y - log_y.median()).clamp(*HISTOGRAM_SPAN_EV)
    hist = torch.histc(centred, HISTOGRAM_BINS, *HISTOGRAM_SPAN_EV)
    return hist / hist.sum()


def histogram_distance(a: Tensor, b: Tensor) -> float:
    """Half the L1 distance of two normalised histograms: 0 (same) to 1 (disjoint)."""
    return 0.5 * float((a - b).abs().sum())


def detect_cuts(distances: Sequence[float], floor: float = 0.25, outlier_factor: float = 6.0,
                matches: Sequence[float] | None = None, max_match: float = MAX_CUT_MATCH) -> list[int]:
    """Frame indices that start a new shot, from the distances between frames i-1 and i.

    `distances[i - 1]` compares frames i - 1 and i. A distance is a cut when it exceeds both
    `floor` and median + outlier_factor · σ, σ estimated from the MAD of all distances, and,
    given `matches[i - 1]` (the share of frame i - 1 that motion compensation matched in frame
    i), when that share is below `max_match`.
    """
    if not distances:
        return []
    d = torch.tensor(list(distances), dtype=torch.float64)
    median = d.median()
    sigma = _MAD_TO_SIGMA * (d - median).abs().median()
    threshold = max(floor, float(median + outlier_factor * sigma))
    return [
        i + 1 for i, value in enumerate(distances)
        if value > threshold and (matches is None or matches[i] < max_match)
    ]


def shots_from_cuts(cuts: Sequence[int], frame_count: int) -> list[range]:
    """Split [0, frame_count) at the cut frames into consecutive shots."""
    bounds = [0, *sorted(c for c in cuts if 0 < c < frame_count), frame_count]
    return [range(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo]
