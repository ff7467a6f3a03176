"""The brightness enhancement function of Kovaleski & Oliveira 2014."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from engine.color.luminance import luminance
from engine.color.transfer import bt1886_inverse_eotf
from engine.filters import GRID_CELLS_PER_SIGMA, _blur_grid, _slice
from engine.masks import clipped_map
from engine.operators import SpatialOperator, StageContext, param, register
from engine.tmo.color_correction import correct_color

REFERENCE_LINES = 1080.0


def cross_bilateral_grid(values: Tensor, guide: Tensor, sigma_spatial: float, sigma_range: float) -> Tensor:
    """(1, H, W) values filtered with edges taken from a (1, H, W) guide (a joint bilateral).

    Chen, Paris & Durand 2007: each pixel splats (value, 1) into the grid cell of its position
    and guide level; the grid is blurred and sliced at the guide, as engine.filters does for the
    self-guided filter, whose grid blur and slice are reused here.
    """
    _, h, w = guide.shape
    z = guide[0]
    z_min, z_max = (float(v) for v in torch.aminmax(z))
    cell_s = sigma_spatial / GRID_CELLS_PER_SIGMA
    cell_r = sigma_range / GRID_CELLS_PER_SIGMA
    gh, gw = int((h - 1) / cell_s) + 2, int((w - 1) / cell_s) + 2
    gd = int((z_max - z_min) / cell_r) + 2
    gy = torch.arange(h, device=z.device, dtype=z.dtype) / cell_s
    gx = torch.arange(w, device=z.device, dtype=z.dtype) / cell_s
    gz = (z - z_min) / cell_r
    nearest = ((gz.round().long() * gh + gy.round().long().view(h, 1)) * gw + gx.round().long()).view(-1)
    cells = gd * gh * gw
    sums = torch.zeros(cells, device=z.device, dtype=z.dtype).index_add_(
        0, nearest, values.reshape(-1).to(z.dtype)
    )
    weights = torch.bincount(nearest, minlength=cells).to(z.dtype)
    grid = _blur_grid(torch.stack([sums, weights]).view(2, gd, gh, gw), GRID_CELLS_PER_SIGMA)
    return _slice(grid, gy, gx, gz).unsqueeze(0)


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
    spread = cross_bilateral_grid(mask, guide, sigma_spatial, sigma_range).clamp(0.0, 1.0)
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


@register
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
