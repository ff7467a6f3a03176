"""The brightness enhancement function of Kovaleski & Oliveira 2014."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from engine.color.correction import correct_color
from engine.color.luminance import luminance
from engine.color.transfer import bt1886_inverse_eotf
from engine.filters import bilateral_grid
from engine.masks import clipped_map
from engine.operators.base import SpatialOperator, StageContext
from engine.params import param

REFERENCE_LINES = 1080.0


def brightness_enhancement(
    frame: Tensor, threshold: float, sigma_spatial: float, sigma_range: float, boost: float
) -> Tensor:
    """Kovaleski & Oliveira 2014: the brightness enhancement function (1, H, W) in [1, boost].

    The clipped pixels (any channel's SDR code value at or above `threshold`) form a binary mask,
    which a cross-bilateral filter guided by the luma spreads into the bright regions around them
    without crossing strong edges: BEF = 1 + (boost - 1) * filtered mask.
    """
    mask = clipped_map(frame, threshold**2.4).to(frame.dtype)
    if not bool(mask.any()):
        return torch.ones_like(mask)
    guide = bt1886_inverse_eotf(luminance(frame))
    spread = bilateral_grid(guide, sigma_spatial, sigma_range, values=mask).clamp(0.0, 1.0)
    return 1.0 + (boost - 1.0) * spread


@dataclass(frozen=True)
class KovaleskiParams:
    threshold: float = param(
        230.0 / 255.0, 0.5, 1.0, "", "SDR code value that counts as clipped (254/255 for stills)"
    )
    sigma_spatial: float = param(
        150.0, 5.0, 600.0, "px", "spatial sigma of the filter, in pixels at 1080 lines"
    )
    sigma_range: float = param(25.0 / 255.0, 0.01, 0.5, "", "range sigma, in SDR code values")
    boost: float = param(4.0, 1.0, 16.0, "x", "brightness of clipped regions over the rest")
    black: float = param(0.0, 0.0, 1.0, "cd/m²", "display black the expansion starts from")


class Kovaleski(SpatialOperator):
    """Kovaleski & Oliveira 2014, "High-quality reverse tone mapping for a wide range of
    exposures" (SIBGRAPI 2014).

    The SDR luminance is stretched linearly to the display range and multiplied by a brightness
    enhancement function (Rempel et al. 2007) built with a cross-bilateral filter of the clipped
    pixels: out = (Y (peak - black) + black) * BEF / boost. Clipped regions reach the peak; the
    rest sits at peak / boost. The clip threshold is 230/255 for video, as the paper recommends
    for compressed footage. Spatial sigmas are given at 1080 lines and scale with the frame.
    """

    name = "kovaleski"
    kind = "itm"
    title = "Kovaleski & Oliveira 2014 brightness enhancement"
    Params = KovaleskiParams

    def apply(self, frame: Tensor, ctx: StageContext) -> Tensor:
        p = self.params
        frame = torch.nan_to_num(frame, nan=0.0, posinf=1.0, neginf=0.0)
        y = luminance(frame).clamp(0.0, 1.0)
        sigma_spatial = max(p.sigma_spatial * frame.shape[-2] / REFERENCE_LINES, 1.0)
        bef = brightness_enhancement(frame, p.threshold, sigma_spatial, p.sigma_range, p.boost)
        out = (y * (ctx.peak_nits - p.black) + p.black) * bef / p.boost
        return correct_color(frame, y, out)
