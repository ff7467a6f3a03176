"""SSIM and PU21-SSIM.

Z. Wang, A. C. Bovik, H. R. Sheikh and E. P. Simoncelli, "Image quality assessment: from error
visibility to structural similarity", IEEE TIP 13(4), 2004: an 11x11 Gaussian window with
σ = 1.5 (engine.filters), K1 = 0.01, K2 = 0.03. The window is applied with mirrored borders,
so the SSIM map has the frame's size and can be averaged over any region mask. PU21-SSIM runs SSIM on the PU21
encoding of luminance with a dynamic range of 256, as the PU21 reference code does.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from engine.color.luminance import luminance
from engine.filters import gaussian_blur
from engine.metrics.pu21 import PU21_PEAK, pu21_encode

SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def ssim_map(test: Tensor, reference: Tensor, data_range: float) -> Tensor:
    """Per-pixel SSIM of two (1, H, W) images (H and W above 5) -> (1, H, W)."""
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    x = test.double()
    y = reference.double()
    mx, my, xx, yy, xy = gaussian_blur(torch.cat([x, y, x * x, y * y, x * y]), SSIM_SIGMA).split(1)
    vx = xx - mx * mx
    vy = yy - my * my
    cov = xy - mx * my
    ssim = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return ssim.float()


def ssim(test: Tensor, reference: Tensor, data_range: float, mask: Tensor | None = None) -> float:
    """Mean SSIM of two (1, H, W) images over `mask` (a (1, H, W) weight); NaN for an empty mask."""
    values = ssim_map(test, reference, data_range).double()
    if mask is None:
        return float(values.mean())
    weights = mask.double()
    total = float(weights.sum())
    return float((values * weights).sum()) / total if total > 0 else math.nan


def pu21_ssim(test: Tensor, reference: Tensor, mask: Tensor | None = None) -> float:
    """PU21-SSIM of two (3, H, W) BT.2020 frames in cd/m², on the PU21 encoding of luminance."""
    return ssim(pu21_encode(luminance(test)), pu21_encode(luminance(reference)), PU21_PEAK, mask)
