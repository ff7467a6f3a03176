"""The Pipeline: the only path from decoded frames to graded pixels.

    decode -> input transform -> ITM or temporal reconstruction -> grade -> output transform

Preview, export, CLI and benchmarks all build a Pipeline from a Grade. Each stage is a callable
(frame, context) -> frame. Statistics for operators that need them (key, peak) go through a
temporal stabiliser, which is reset whenever frames are not read in sequence (a seek).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from engine.color.luminance import luminance
from engine.device import default_device
from engine.display import DisplayTransform, hlg_view, linear_view, pq_view, sdr_view
from engine.grade import Grade
from engine.input_transform import InputTransform, resolve_input_transform
from engine.io.clip import Clip
from engine.operators.base import CurveOperator, Operator, StageContext
from engine.operators.catalogue import make_operator
from engine.stats import FrameStats, StatsStabiliser, measure

if TYPE_CHECKING:
    from engine.temporal import TemporalReconstructor


# Effective power of each SDR source transfer, for recovering recorded code values.
SOURCE_GAMMA = {"bt1886": 2.4, "srgb": 2.2}


class _StabilisedStats:
    """Per-stream statistics: measured per frame, stabilised in sequence, reset on a seek."""

    def __init__(self) -> None:
        self._stabiliser = StatsStabiliser()
        self._last: int | None = None

    def update(self, index: int, frame: Tensor) -> FrameStats:
        if self._last is None or index != self._last + 1:
            self._stabiliser.reset()
        self._last = index
        return self._stabiliser.update(measure(luminance(frame)))


class Pipeline:
    """Frames of one clip through one Grade, on one device."""

    def __init__(self, grade: Grade, clip: Clip, device: torch.device | str | None = None) -> None:
        self.grade = grade
        self.clip = clip
        self.device = torch.device(device) if device is not None else default_device()
        self.input: InputTransform = resolve_input_transform(grade.source, clip.info)
        self.itm: Operator = make_operator("itm", grade.itm.name, grade.itm.params)
        self.tmo: Operator = make_operator("tmo", grade.tmo.name, grade.tmo.params)
        self._itm_stats = _StabilisedStats()
        self._tmo_stats = _StabilisedStats()
        self._temporal: TemporalReconstructor | None = None

    # -- contexts -------------------------------------------------------------------------
    def context(self, index: int) -> StageContext:
        g = self.grade
        return StageContext(
            frame_index=index,
            reference_white=g.reference_white,
            peak_nits=g.peak_nits,
            display_peak=g.sdr_peak_nits,
        )

    # -- stages ---------------------------------------------------------------------------
    def linear(self, index: int, signal: Tensor | None = None) -> Tensor:
        """Input transform: SDR-relative linear light, or cd/m² for HDR sources."""
        if signal is None:
            signal = self.clip.frame(index)
        return self.input.apply(signal.to(self.device, torch.float32))

    def source(self, index: int, signal: Tensor | None = None) -> Tensor:
        """The source as cd/m² for comparison views: SDR placed by BT.2408 (white at 203)."""
        lin = self.linear(index, signal)
        return lin if self.input.hdr else lin * self.grade.reference_white

    def expand(self, index: int, linear: Tensor | Callable[[], Tensor]) -> Tensor:
        """ITM (or temporal reconstruction) stage: SDR-relative -> cd/m²; HDR passes through.

        `linear` may be what makes the input-transformed frame: the temporal reconstructor may
        still hold it from its analysis, and then the input transform need not run again.
        """
        if self.grade.temporal and not self.input.hdr:
            return self._temporal_frame(index, linear)
        if callable(linear):
            linear = linear()
        if self.input.hdr:
            return linear
        ctx = self.context(index)
        if self.itm.needs_stats:
            ctx.stats = self._itm_stats.update(index, linear)
        return self.itm.apply(linear, ctx)

    def grade_stage(self, nits: Tensor) -> Tensor:
        """Exposure in stops and saturation about luminance, in linear light."""
        g = self.grade
        out = nits if g.exposure == 0.0 else nits * (2.0**g.exposure)
        if g.saturation != 1.0:
            y = luminance(out)
            out = y + g.saturation * (out - y)
        return out.clamp_min(0.0)

    def hdr(self, index: int, signal: Tensor | None = None) -> Tensor:
        """The graded HDR frame in cd/m², BT.2020."""
        return self.grade_stage(self.expand(index, lambda: self.linear(index, signal)))

    def iter_hdr(self, start: int, stop: int) -> Iterator[tuple[int, Tensor]]:
        """Sequential graded frames [start, stop): decodes forward without seeking."""
        for index, signal in self.clip.frames(start, stop):
            yield index, self.hdr(index, signal)

    # -- temporal -------------------------------------------------------------------------
    @property
    def temporal(self) -> TemporalReconstructor:
        if self._temporal is None:
            # Imported here because engine.temporal pulls in OpenCV, which most renders never need.
            from engine.temporal import TemporalParams, TemporalReconstructor

            # Clipping is judged on the recorded code values, so the reconstructor must undo the
            # source's own transfer and primaries unless the grade overrides them.
            recorded = {
                "source_primaries": self.input.primaries.name,
                "source_gamma": SOURCE_GAMMA.get(self.input.transfer, self.input.gamma),
            }
            params = TemporalParams(**{**recorded, **dict(self.grade.temporal_params)})
            self._temporal = TemporalReconstructor(
                source=self.linear,
                frame_count=self.clip.info.frame_count,
                params=params,
                fallback=self.itm,
                context=self.context(0),
            )
        return self._temporal

    def _temporal_frame(self, index: int, linear: Tensor | Callable[[], Tensor]) -> Tensor:
        """Temporal reconstruction, and with refine=learned its learned correction (engine.models)."""
        nits, clues = self.temporal.frame(index, linear)
        if self.temporal.params.refine != "learned":
            return nits.to(self.device)
        if callable(linear):
            linear = linear()
        from engine.models.data import neighbour_keyframes
        from engine.models.inference import refine_temporal

        neighbours = [self.temporal.frame(k)[0].to(self.device)
                      for k in neighbour_keyframes(index, self.temporal.keyframes())]
        confidence = clues.confidence.to(self.device)
        return refine_temporal(nits.to(self.device), confidence, linear, neighbours, self.context(index))

    # -- output ---------------------------------------------------------------------------
    def display_transform(
        self, view: str, hdr_frame: Tensor | None = None, index: int = 0
    ) -> DisplayTransform:
        """The per-pixel display work for a view ('pq', 'hlg', 'sdr', 'linear').

        For 'sdr' with a curve TMO, the TMO's curve is baked for this frame's statistics.
        """
        g = self.grade
        if view == "pq":
            return pq_view(g.peak_nits)
        if view == "hlg":
            return hlg_view(g.peak_nits)
        if view == "linear":
            return linear_view(g.output.exr_nits_per_unit)
        if view != "sdr":
            raise ValueError(f"unknown view {view!r}")
        if not isinstance(self.tmo, CurveOperator):
            return sdr_view(None)
        ctx = self.context(index)
        if self.tmo.needs_stats and hdr_frame is not None:
            ctx.stats = self._tmo_stats.update(index, hdr_frame)
        params = self.tmo.params
        return sdr_view(
            self.tmo.bake(ctx),
            getattr(params, "color", "ratio"),
            float(getattr(params, "saturation", 1.0)),
        )

    def output(self, index: int, hdr_frame: Tensor, view: str) -> Tensor:
        """The output transform for a deliverable: cd/m² -> encoded signal (or linear EXR data)."""
        if view == "sdr" and not isinstance(self.tmo, CurveOperator):
            ctx = self.context(index)
            # Spatial TMOs read a key or peak too; stabilised, so the SDR output cannot flicker.
            ctx.stats = self._tmo_stats.update(index, hdr_frame)
            relative = self.tmo.apply(hdr_frame, ctx)
            return sdr_view(None).apply(relative)
        return self.display_transform(view, hdr_frame, index).apply(hdr_frame)

