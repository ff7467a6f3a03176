"""The output stage: cd/m² -> a deliverable's signal, through one view's display transform."""

from __future__ import annotations

import dataclasses

from torch import Tensor

from engine.display import DisplayTransform, hlg_view, linear_view, pq_view, sdr_view
from engine.frame import Frame, Space
from engine.grade import Grade
from engine.operators.base import CurveOperator, Operator, StageContext
from engine.stages.base import Stage
from engine.stages.stabilised import SequenceStats


class OutputStage(Stage):
    """NITS -> OUTPUT for the view 'pq', 'hlg', 'sdr' (through the TMO) or 'linear' (EXR data)."""

    name = "output transform"
    takes = Space.NITS
    gives = Space.OUTPUT

    def __init__(self, view: str, grade: Grade, tmo: Operator, tmo_stats: SequenceStats) -> None:
        if view not in ("pq", "hlg", "sdr", "linear"):
            raise ValueError(f"unknown view {view!r}")
        self.view = view
        self.grade = grade
        self.tmo = tmo
        # Shared by every view of one Pipeline: they watch the same sequence of frames.
        self._tmo_stats = tmo_stats

    def display_transform(
        self, ctx: StageContext, nits: Tensor | None = None, samples: Tensor | None = None
    ) -> DisplayTransform:
        """The per-pixel display work of the view; for 'sdr' with a curve TMO, the TMO's curve
        baked for this frame's statistics (from `nits`, or from its luminance `samples` on
        measure's sampling grid when those were computed elsewhere, when the TMO reads them)."""
        g = self.grade
        if self.view == "pq":
            return pq_view(g.peak_nits)
        if self.view == "hlg":
            return hlg_view(g.peak_nits)
        if self.view == "linear":
            return linear_view(g.output.exr_nits_per_unit)
        if not isinstance(self.tmo, CurveOperator):
            return sdr_view(None)
        if self.tmo.needs_stats and samples is not None:
            ctx = dataclasses.replace(ctx, stats=self._tmo_stats.update_samples(ctx.frame_index, samples))
        elif self.tmo.needs_stats and nits is not None:
            ctx = dataclasses.replace(ctx, stats=self._tmo_stats.update(ctx.frame_index, nits))
        params = self.tmo.params
        return sdr_view(
            self.tmo.bake(ctx),
            getattr(params, "color", "ratio"),
            float(getattr(params, "saturation", 1.0)),
        )

    def __call__(self, frame: Frame, ctx: StageContext) -> Frame:
        nits = frame.pixels
        if self.view == "sdr" and not isinstance(self.tmo, CurveOperator):
            # Spatial TMOs read a key or peak too; stabilised, so the SDR output cannot flicker.
            ctx = dataclasses.replace(ctx, stats=self._tmo_stats.update(ctx.frame_index, nits))
            return frame.to(Space.OUTPUT, sdr_view(None).apply(self.tmo.apply(nits, ctx)))
        return frame.to(Space.OUTPUT, self.display_transform(ctx, nits).apply(nits))
