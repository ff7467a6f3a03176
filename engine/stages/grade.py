"""The grade stage: exposure and saturation, in display light."""

from __future__ import annotations

from engine.color.luminance import luminance
from engine.frame import Frame, Space
from engine.operators.base import StageContext
from engine.stages.base import Stage


class GradeStage(Stage):
    """NITS -> NITS: exposure in stops, then saturation about the BT.2020 luminance."""

    name = "grade"
    takes = Space.NITS
    gives = Space.NITS

    def __init__(self, exposure: float, saturation: float) -> None:
        self.exposure = exposure
        self.saturation = saturation

    def __call__(self, frame: Frame, ctx: StageContext) -> Frame:
        out = frame.pixels if self.exposure == 0.0 else frame.pixels * (2.0**self.exposure)
        if self.saturation != 1.0:
            y = luminance(out)
            out = y + self.saturation * (out - y)
        return frame.to(Space.NITS, out.clamp_min(0.0))
