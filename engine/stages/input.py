"""The input stage: decoded code values -> linear light (engine.input_transform)."""

from __future__ import annotations

from engine.frame import Frame, Space
from engine.input_transform import InputTransform
from engine.operators.base import StageContext
from engine.stages.base import Stage


class InputStage(Stage):
    """CODE -> RELATIVE for SDR sources, CODE -> NITS for HDR ones (PQ, HLG, linear EXR)."""

    name = "input transform"
    takes = Space.CODE

    def __init__(self, transform: InputTransform) -> None:
        self.transform = transform
        self.gives = Space.NITS if transform.hdr else Space.RELATIVE

    def __call__(self, frame: Frame, ctx: StageContext) -> Frame:
        return frame.to(self.gives, self.transform.apply(frame.pixels))
