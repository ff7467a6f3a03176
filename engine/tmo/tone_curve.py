"""What the catalogue's curve TMOs share: the colour step, frame statistics and the LUT span."""

from __future__ import annotations

import dataclasses

from torch import Tensor

from engine.color.correction import apply_gain
from engine.color.luminance import luminance
from engine.lut import Lut1D
from engine.operators.base import CurveOperator, StageContext
from engine.stats import FrameStats

# The LUT span of every TMO curve in cd/m²: from below a deep shadow to beyond the sun in the
# test stills (3e4), widened when a frame's statistics reach further.
NITS_MIN = 1e-4
NITS_MAX = 1e5


def nominal_stats(ctx: StageContext) -> FrameStats:
    """Statistics of a nominal scene, for a curve baked without a frame (a preview's first bake).

    Its log-average is 18% of reference white and it spans the mastering peak down to a
    100000:1 contrast.
    """
    return FrameStats(
        log_average=0.18 * ctx.reference_white,
        peak=ctx.peak_nits,
        maximum=ctx.peak_nits,
        minimum=ctx.peak_nits * 1e-5,
    )


def context_stats(ctx: StageContext) -> FrameStats:
    """ctx.stats, or the nominal scene when no frame was measured."""
    return ctx.stats if ctx.stats is not None else nominal_stats(ctx)


def with_frame_stats(frame: Tensor, ctx: StageContext) -> StageContext:
    """ctx itself when it carries statistics; otherwise a copy with the frame's own (unstabilised)."""
    if ctx.stats is not None:
        return ctx
    # Imported here: engine.stats is a sibling module that need not load with the catalogue.
    from engine.stats import measure

    return dataclasses.replace(ctx, stats=measure(luminance(frame)))


def stats_input_range(ctx: StageContext) -> tuple[float, float]:
    """The LUT span in cd/m²: NITS_MIN..NITS_MAX, widened to the frame's minimum and maximum."""
    s = context_stats(ctx)
    return min(NITS_MIN, 0.5 * s.minimum) if s.minimum > 0 else NITS_MIN, max(NITS_MAX, 2.0 * s.maximum)


class ToneCurveOperator(CurveOperator):
    """A TMO curve whose Params have `color` and `saturation`: the colour step of correct_color.

    apply_lut does exactly what engine/display.py's DisplayTransform (and the shader) does with
    the same LUT, so a curve TMO looks the same in the engine and in the preview.
    """

    kind = "tmo"

    def input_range(self, ctx: StageContext) -> tuple[float, float]:
        return stats_input_range(ctx)

    def apply_lut(self, frame: Tensor, lut: Lut1D) -> Tensor:
        y = luminance(frame).clamp_min(0.0)
        return apply_gain(frame, y, lut.sample(y), self.params.color, self.params.saturation)

    def apply(self, frame: Tensor, ctx: StageContext) -> Tensor:
        if self.needs_stats:
            ctx = with_frame_stats(frame, ctx)
        return self.apply_lut(frame, self.bake(ctx))
