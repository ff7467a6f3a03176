"""Merging a still exposure bracket into one radiance map (Debevec & Malik 1997, eq. 6).

ln E = Σ_j w(Z_j) (g(Z_j) - ln Δt_j) / Σ_j w(Z_j): a weighted average in the log domain of each
exposure's radiance estimate, with the well-exposedness hat of engine.temporal.exposure as w.
"""

from __future__ import annotations

import torch
from torch import Tensor

from engine.temporal.crf import estimate_crf, linearise
from engine.temporal.exposure import well_exposedness

_TINY = 1e-6


def merge_bracket(
    signals: list[Tensor], log_exposures: list[float], response: Tensor | None = None
) -> Tensor:
    """Aligned code-value frames (C, H, W) in [0, 1] at exposures ln Δt -> radiance (C, H, W).

    `response` is the (256,) inverse camera response of engine.temporal.crf; without one it is
    estimated from the bracket itself. Radiance is relative: 1.0 is code 255 at Δt = 1. A pixel
    clipped in every exposure keeps the darkest exposure's estimate (a lower bound); one black
    in every exposure keeps the brightest's.
    """
    if response is None:
        response = estimate_crf(signals, log_exposures)
    order = sorted(range(len(signals)), key=lambda j: log_exposures[j])
    log_sum = torch.zeros_like(signals[0])
    weight_sum = torch.zeros_like(signals[0])
    for rank, j in enumerate(order):
        signal = signals[j]
        # Per channel: a bracket is merged channel by channel, as in the paper.
        weight = torch.cat([well_exposedness(c.unsqueeze(0)) for c in signal]).clamp_min(0.0)
        # A vanishing preference breaks all-zero ties: darkest where clipped, brightest where black.
        weight = weight + _TINY * torch.where(signal > 0.5, len(order) - rank, rank + 1)
        radiance = linearise(signal, response).clamp_min(_TINY)
        log_sum += weight * (torch.log(radiance) - log_exposures[j])
        weight_sum += weight
    return torch.exp(log_sum / weight_sum)
