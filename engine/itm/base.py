"""What the ITM operators share: the SDR input span of their LUTs and frame statistics."""

from __future__ import annotations

import dataclasses

from torch import Tensor

from engine.color.luminance import luminance
from engine.operators.base import CurveOperator, StageContext
from engine.stats import FrameStats, measure

# ITM input is SDR display-linear light with 1.0 at the SDR peak. 2^-16 (about 0.0015 cd/m² on a
# 100 cd/m² display) lies below the darkest 10-bit BT.1886 code above black, so the log2 LUT
# covers every level a source can hold with 4096 entries over 16 stops.
SDR_INPUT_RANGE = (2.0**-16, 1.0)

# A nominal SDR frame, for a curve baked before any frame was measured (a preview's first
# bake): log average at 18% of peak, white at peak, a 1000:1 span, nothing clipped.
NOMINAL_SDR_STATS = FrameStats(log_average=0.18, peak=1.0, maximum=1.0, minimum=1e-3)


def context_stats(ctx: StageContext) -> FrameStats:
    """ctx.stats, or the nominal SDR frame when none was measured."""
    return ctx.stats if ctx.stats is not None else NOMINAL_SDR_STATS


def frame_stats(frame: Tensor, ctx: StageContext) -> FrameStats:
    """ctx.stats (stabilised by the pipeline), or, without them, this frame's own measurement."""
    return ctx.stats if ctx.stats is not None else measure(luminance(frame))


class StatisticalCurveOperator(CurveOperator):
    """A curve whose shape follows frame statistics (image key, log average, clipped share).

    The pipeline supplies stabilised statistics; a caller without them (a still, a test) gets
    the frame's own measurement.
    """

    needs_stats = True

    def apply(self, frame: Tensor, ctx: StageContext) -> Tensor:
        if ctx.stats is None:
            ctx = dataclasses.replace(ctx, stats=frame_stats(frame, ctx))
        return super().apply(frame, ctx)

    def input_range(self, ctx: StageContext) -> tuple[float, float]:
        return SDR_INPUT_RANGE
