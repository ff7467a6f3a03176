"""Scale alignment of scene-referred ground truth to a reconstruction's absolute scale.

A camera simulation's ground truth is scene-referred: its absolute level is a convention, and a
reconstruction may legitimately place the same scene a constant factor brighter or darker. Before
comparing, the ground truth is multiplied by one robust scale per frame, estimated in the log
domain over the pixels that were well exposed in the SDR input (where the reconstruction has
little to invent): the median of log-ratios, refined by least squares over the inliers within
`k` robust standard deviations (1.4826 x MAD, Rousseeuw and Croux 1993).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from engine.color.luminance import luminance

MAD_TO_SIGMA = 1.4826
# Below this many nits the log-ratio is dominated by noise and quantisation.
MIN_NITS = 1e-3


def robust_scale(test: Tensor, reference: Tensor, mask: Tensor | None = None, k: float = 3.0,
                 iterations: int = 3) -> float:
    """The factor s minimising the robust log error of test ≈ s x reference over `mask`.

    test, reference: (3, H, W) linear frames, the test in cd/m², the reference at any scale;
    mask: (1, H, W), pixels > 0.5 take part. Returns NaN when no pixel is usable.
    """
    yt = luminance(test).double()
    yr = luminance(reference).double()
    positive = (yt > 0) & (yr > 0) & torch.isfinite(yt) & torch.isfinite(yr)
    if mask is not None:
        positive &= mask > 0.5
    if not bool(positive.any()):
        return math.nan
    # The noise floor is MIN_NITS on the test's scale. The reference's own scale is a convention
    # (a still may keep its whole scene below 1e-3), so its floor is the same level after a first
    # alignment by the median ratio; an absolute floor on it left such frames with no usable
    # pixel, or only their highlights.
    first = float((yt[positive].log() - yr[positive].log()).median())
    usable = positive & (yt > MIN_NITS) & (yr * math.exp(first) > MIN_NITS)
    ratios = (yt[usable].log() - yr[usable].log())
    if ratios.numel() == 0:
        return math.nan
    centre = ratios.median()
    for _ in range(iterations):
        spread = MAD_TO_SIGMA * (ratios - centre).abs().median()
        inliers = ratios[(ratios - centre).abs() <= max(k * float(spread), 1e-12)]
        if inliers.numel() == 0:
            break
        centre = inliers.mean()
    return math.exp(float(centre))
