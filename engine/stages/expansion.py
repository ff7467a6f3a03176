"""The ITM stage: SDR-relative light -> cd/m² through one inverse tone mapping operator."""

from __future__ import annotations

import dataclasses

from engine.frame import Frame, Space
from engine.operators.base import Operator, StageContext
from engine.stages.base import Stage
from engine.stages.stabilised import SequenceStats


class ExpansionStage(Stage):
    """RELATIVE -> NITS; an operator that reads a key or a peak gets them stabilised in sequence."""

    name = "ITM expansion"
    takes = Space.RELATIVE
    gives = Space.NITS

    def __init__(self, operator: Operator) -> None:
        self.operator = operator
        # Public: the processor render measures the same sequence (engine.processor.grade_processor).
        self.stats = SequenceStats()

    def __call__(self, frame: Frame, ctx: StageContext) -> Frame:
        if self.operator.needs_stats:
            ctx = dataclasses.replace(ctx, stats=self.stats.update(ctx.frame_index, frame.pixels))
        return frame.to(Space.NITS, self.operator.apply(frame.pixels, ctx))
