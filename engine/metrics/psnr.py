"""PSNR on PU21 values and on μ-law tone-mapped values, optionally over a region mask.

PU21-PSNR follows the PU21 reference code (gfxdisp/pu21, pu21_metric.m): PU21 applied to each
absolute RGB channel, PSNR with a peak of 256. PSNR-μ follows Kalantari and Ramamoorthi, "Deep
High Dynamic Range Imaging of Dynamic Scenes", SIGGRAPH 2017: HDR values normalised to [0, 1]
and compressed with T(x) = log(1 + μx) / log(1 + μ), μ = 5000, then PSNR with a peak of 1.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from engine.metrics.pu21 import PU21_PEAK, pu21_encode

MU_LAW_MU = 5000.0


def masked_mse(test: Tensor, reference: Tensor, mask: Tensor | None = None) -> float:
    """Mean squared error of (C, H, W) images, weighted by a (1, H, W) mask; NaN for an empty mask."""
    err = (test.double() - reference.double()) ** 2
    if mask is None:
        return float(err.mean())
    weights = mask.double().expand_as(err)
    total = float(weights.sum())
    return float((err * weights).sum()) / total if total > 0 else math.nan


def psnr_from_mse(mse: float, peak: float) -> float:
    """10 log10(peak² / MSE): +inf for identical images, NaN when there is nothing to compare."""
    if math.isnan(mse):
        return math.nan
    return math.inf if mse == 0.0 else 10.0 * math.log10(peak * peak / mse)


def psnr(test: Tensor, reference: Tensor, peak: float, mask: Tensor | None = None) -> float:
    """Peak signal-to-noise ratio in dB of two (C, H, W) images, over the pixels of `mask`."""
    return psnr_from_mse(masked_mse(test, reference, mask), peak)


def pu21_psnr(test: Tensor, reference: Tensor, mask: Tensor | None = None) -> float:
    """PU21-PSNR of two (3, H, W) frames in cd/m², each channel PU21-encoded, peak 256."""
    return psnr(pu21_encode(test), pu21_encode(reference), PU21_PEAK, mask)


def mu_law(x: Tensor, mu: float = MU_LAW_MU) -> Tensor:
    """Kalantari and Ramamoorthi 2017 μ-law range compression of values in [0, 1]."""
    return torch.log1p(mu * x.clamp(0.0, 1.0)) / math.log1p(mu)


def psnr_mu(test: Tensor, reference: Tensor, peak: float | None = None, mask: Tensor | None = None,
            mu: float = MU_LAW_MU) -> float:
    """PSNR-μ of two linear HDR frames; both are divided by `peak` (default: the reference's maximum)."""
    norm = float(reference.max()) if peak is None else peak
    if not norm > 0.0:
        return math.nan
    return psnr(mu_law(test / norm, mu), mu_law(reference / norm, mu), 1.0, mask)
