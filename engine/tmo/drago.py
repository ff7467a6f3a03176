"""Drago, Myszkowski, Annen & Chiba 2003, "Adaptive logarithmic mapping for displaying high contrast
scenes" (Eurographics 2003)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from engine.color.correction import color_param, saturation_param
from engine.operators.base import StageContext
from engine.params import param
from engine.tmo.tone_curve import ToneCurveOperator, context_stats


def drago_curve(lw: Tensor, lw_max: float, bias: float) -> Tensor:
    """Drago et al. 2003 eq. 4 with L_dmax = 100 cd/m² (so L_dmax * 0.01 = 1):

    L_d = 1 / log10(L_wmax + 1) * ln(L_w + 1) / ln(2 + 8 (L_w / L_wmax)^(ln b / ln 0.5)).

    L_w and L_wmax are world luminances over the world adaptation luminance; L_d is relative to
    the display's peak, and L_w = L_wmax gives exactly 1.
    """
    exponent = math.log(bias) / math.log(0.5)
    denominator = torch.log(2.0 + 8.0 * (lw / lw_max) ** exponent)
    return torch.log1p(lw) / denominator / math.log10(lw_max + 1.0)


@dataclass(frozen=True)
class DragoParams:
    bias: float = param(0.85, 0.5, 1.0, "", "bias b: contrast in the highlights vs detail in the shadows")
    exposure: float = param(0.0, -8.0, 8.0, "stops", "exposure applied before the mapping")
    color: str = color_param()
    saturation: float = saturation_param()


class Drago(ToneCurveOperator):
    """Drago, Myszkowski, Annen & Chiba 2003, "Adaptive logarithmic mapping", eq. 4, bias 0.85.

    Luminance is divided by the world adaptation luminance (the stabilised log-average, as in
    pfstmo's drago03) and by 2^-exposure; L_wmax is the frame's maximum on the same scale.
    """

    name = "drago"
    title = "Drago 2003 (adaptive logarithmic)"
    Params = DragoParams
    needs_stats = True

    def curve(self, y: Tensor, ctx: StageContext) -> Tensor:
        stats = context_stats(ctx)
        scale = 2.0**self.params.exposure / max(stats.log_average, 1e-12)
        lw_max = max(stats.maximum * scale, 1e-6)
        return drago_curve(y * scale, lw_max, self.params.bias)
