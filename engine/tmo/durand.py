"""Durand & Dorsey 2002, "Fast bilateral filtering for the display of high-dynamic-range images"."""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor

from engine.color.correction import color_param, correct_color, saturation_param
from engine.color.luminance import luminance
from engine.filters import bilateral_grid
from engine.operators.base import SpatialOperator, StageContext
from engine.params import param

# Luminance floor before the log10 (cd/m²): far below any display black, so black pixels land
# in one bin of the bilateral grid instead of at -inf.
LOG_FLOOR_NITS = 1e-6


def compress_base(log_y: Tensor, sigma_spatial: float, sigma_range: float, contrast: float) -> Tensor:
    """Durand & Dorsey 2002 section 5: log10 luminance (1, H, W) -> log10 display luminance.

    base = bilateral(log Y); detail = log Y - base; the base is scaled by
    log10(contrast) / (max(base) - min(base)) and offset so that its maximum lands on 0
    (the display peak); the detail is kept unchanged.
    """
    base = bilateral_grid(log_y, sigma_spatial, sigma_range)
    lo, hi = float(base.min()), float(base.max())
    scale = math.log10(contrast) / max(hi - lo, 1e-6)
    return (base - hi) * scale + (log_y - base)


@dataclass(frozen=True)
class DurandParams:
    contrast: float = param(5.0, 1.5, 1000.0, ":1", "target contrast of the base layer")
    sigma_spatial: float = param(0.02, 0.002, 0.2, "", "spatial sigma as a share of the larger frame side")
    sigma_range: float = param(0.4, 0.05, 2.0, "log10", "range sigma in log10 luminance")
    color: str = color_param()
    saturation: float = saturation_param()


class Durand(SpatialOperator):
    """Durand & Dorsey 2002, "Fast bilateral filtering for the display of HDR images", base contrast 5.

    The base layer is the bilateral filter of log10 luminance (Chen, Paris & Durand 2007 grid);
    it is compressed to log10(contrast) with its maximum at the display peak, detail kept.
    """

    name = "durand"
    kind = "tmo"
    title = "Durand & Dorsey 2002 (bilateral)"
    Params = DurandParams

    def apply(self, frame: Tensor, ctx: StageContext) -> Tensor:
        p = self.params
        y = luminance(frame).clamp_min(0.0)
        log_y = y.clamp_min(LOG_FLOOR_NITS).log10()
        sigma_px = p.sigma_spatial * max(frame.shape[-2:])
        out = 10.0 ** compress_base(log_y, sigma_px, p.sigma_range, p.contrast)
        return correct_color(frame, y, out, p.color, p.saturation)
