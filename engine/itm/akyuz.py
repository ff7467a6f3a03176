"""The linear-to-power expansion of Akyüz et al. 2007."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from engine.itm.base import SDR_INPUT_RANGE
from engine.operators.base import CurveOperator, StageContext
from engine.params import param


def akyuz_expand(y: Tensor, peak: float, gamma: float, y_min: float = 0.0, y_max: float = 1.0) -> Tensor:
    """Akyüz et al. 2007: L = k ((Y - Y_min) / (Y_max - Y_min))^gamma with k the peak."""
    return peak * ((y - y_min) / (y_max - y_min)).clamp(0.0, 1.0) ** gamma


@dataclass(frozen=True)
class AkyuzParams:
    gamma: float = param(1.0, 0.2, 5.0, "", "expansion exponent; 1 (linear) was preferred in the study")


class Akyuz(CurveOperator):
    """Akyüz, Fleming, Riecke, Reinhard & Bülthoff 2007, "Do HDR displays support LDR content?".

    L = k ((Y - Y_min) / (Y_max - Y_min))^gamma, with k the target peak. Their observers preferred
    the linear stretch (gamma = 1) of well-exposed LDR images to the display's full range. The
    SDR range [Y_min, Y_max] is the display's own [0, 1], not the frame's extremes, so a still
    and the frames of a shot get the same curve.
    """

    name = "akyuz"
    kind = "itm"
    title = "Akyüz 2007 linear expansion"
    Params = AkyuzParams

    def curve(self, y: Tensor, ctx: StageContext) -> Tensor:
        return akyuz_expand(y, ctx.peak_nits, self.params.gamma)

    def input_range(self, ctx: StageContext) -> tuple[float, float]:
        return SDR_INPUT_RANGE
