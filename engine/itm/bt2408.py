"""The baseline SDR placement of ITU-R BT.2408: no expansion, SDR white at HDR reference white."""

from __future__ import annotations

from torch import Tensor

from engine.itm.base import SDR_INPUT_RANGE
from engine.operators.base import CurveOperator, StageContext


class BT2408(CurveOperator):
    """ITU-R BT.2408 §5, display-referred mapping of SDR into HDR (no highlight expansion).

    SDR display light scales linearly so that SDR peak white (1.0) lands on the HDR reference
    white, 203 cd/m² by default: out = reference_white * in. Nothing is expanded; highlights stay
    where the SDR grade put them relative to diffuse white.
    """

    name = "bt2408"
    kind = "itm"
    title = "BT.2408 display-referred (no expansion)"

    def curve(self, y: Tensor, ctx: StageContext) -> Tensor:
        return y * ctx.reference_white

    def input_range(self, ctx: StageContext) -> tuple[float, float]:
        return SDR_INPUT_RANGE

    def apply(self, frame: Tensor, ctx: StageContext) -> Tensor:
        # The gain LUT of a linear curve is the constant reference_white: one multiply is exact.
        return frame * ctx.reference_white
