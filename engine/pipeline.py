"""The Pipeline: the only path from decoded frames to graded pixels.

    decode -> input transform -> ITM expansion or temporal reconstruction -> grade -> output

Preview, export, CLI and benchmarks all build a Pipeline from a Grade and a clip. It is a list
of typed stages (engine.stages), each a callable (Frame, StageContext) -> Frame that declares
the space it takes and gives (engine.frame.Space); the Pipeline checks once, when it is built,
that they fit together. The output stage depends on the deliverable's view, so there is one
per view asked for, after the stages up to the graded frame in cd/m².
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from engine.device import default_device
from engine.display import DisplayTransform
from engine.frame import Frame, Space
from engine.grade import Grade
from engine.input_transform import InputTransform, resolve_input_transform
from engine.io.clip import Clip
from engine.io.pixels import reads_as_planes
from engine.jobs import CancelToken
from engine.operators.base import CurveOperator, Operator, StageContext
from engine.operators.catalogue import make_operator
from engine.processor.glsl import PreviewDisplay, preview_display
from engine.stages.base import Stage, check_chain
from engine.stages.expansion import ExpansionStage
from engine.stages.grade import GradeStage
from engine.stages.input import InputStage
from engine.stages.output import OutputStage
from engine.stages.stabilised import SequenceStats

if TYPE_CHECKING:
    from engine.processor.formats import TargetFormat
    from engine.processor.grade_processor import GradeProcessor
    from engine.stages.temporal import TemporalStage


class Pipeline:
    """Frames of one clip through one Grade, on one device.

    `response` is the clip's inverse camera response where it is known from elsewhere (tabled as
    engine.temporal.crf.linearise reads it: 1.0 at the clip); the 'estimated' source transfer
    then decodes through it instead of estimating one from the clip. Other transfers ignore it.
    """

    def __init__(self, grade: Grade, clip: Clip, device: torch.device | str | None = None,
                 response: Tensor | None = None) -> None:
        self.grade = grade
        self.clip = clip
        self.device = torch.device(device) if device is not None else default_device()
        if grade.source.transfer != "estimated":
            response = None
        elif response is None:
            response = self._estimated_response()
        self.input: InputTransform = resolve_input_transform(grade.source, clip.info, grade.reference_white,
                                                             response)
        self.itm: Operator = make_operator("itm", grade.itm.name, grade.itm.params)
        self.tmo: Operator = make_operator("tmo", grade.tmo.name, grade.tmo.params)
        self._input_stage = InputStage(self.input)
        # The one place that decides whether temporal reconstruction runs: asked for, and the
        # source SDR (an HDR source has no clipped highlights to rebuild).
        self.temporal: TemporalStage | None = None
        if grade.temporal and not self.input.hdr:
            self.temporal = self._temporal_stage()
        expansion: list[Stage] = []
        self._expansion: ExpansionStage | None = None
        if not self.input.hdr:
            if self.temporal is None:
                self._expansion = ExpansionStage(self.itm)
            expansion = [self.temporal if self.temporal is not None else self._expansion]
        self.stages: tuple[Stage, ...] = (
            self._input_stage, *expansion, GradeStage(grade.exposure, grade.saturation)
        )
        check_chain(self.stages, Space.CODE, Space.NITS)
        self._tmo_stats = SequenceStats()
        self._outputs: dict[str, OutputStage] = {}

    def _estimated_response(self) -> Tensor | None:
        # Imported here because the estimator pulls in engine.temporal (OpenCV); see engine.crf.estimate.
        from engine.crf.estimate import estimate_clip_response

        if self.clip.info.tags.is_hdr():
            return None  # resolve_input_transform names the problem
        return estimate_clip_response(self.clip).inverse

    def _temporal_stage(self) -> TemporalStage:
        # Imported here because engine.temporal pulls in OpenCV, which most renders never need.
        from engine.stages.temporal import TemporalStage
        from engine.temporal import TemporalParams
        from engine.temporal.shoulder import MEASURED_TRANSFERS

        params = TemporalParams(**dict(self.grade.temporal_params))
        if params.response == "shoulder" and self.input.transfer not in MEASURED_TRANSFERS:
            params = dataclasses.replace(params, response="display")
        return TemporalStage(
            source=self._decode,
            frame_count=self.clip.info.frame_count,
            params=params,
            fallback=self.itm,
            context=self.context(0),
            primaries=self.input.primaries,
        )

    def context(self, index: int) -> StageContext:
        g = self.grade
        return StageContext(
            frame_index=index,
            reference_white=g.reference_white,
            peak_nits=g.peak_nits,
            display_peak=g.sdr_peak_nits,
        )

    # -- frames ---------------------------------------------------------------------------
    def _decode(self, index: int, signal: Tensor | None = None) -> Frame:
        """Frame `index` through the input stage: SDR-relative light, or cd/m² for HDR sources."""
        if signal is None:
            signal = self.clip.frame(index)
        return self._input_stage(Frame.decoded(signal.to(self.device, torch.float32)), self.context(index))

    def source(self, index: int, signal: Tensor | None = None) -> Tensor:
        """The source as cd/m² for comparison views: SDR placed by BT.2408 (white at 203)."""
        frame = self._decode(index, signal)
        return frame.pixels if frame.space is Space.NITS else frame.pixels * self.grade.reference_white

    def hdr(self, index: int, signal: Tensor | None = None, cancel: CancelToken | None = None) -> Tensor:
        """The graded HDR frame in cd/m², BT.2020. `cancel` is checked before each stage, so a
        preview job whose result is no longer wanted stops early (RenderCancelled)."""
        if signal is None:
            signal = self.clip.frame(index)
        ctx = self.context(index)
        frame = Frame.decoded(signal.to(self.device, torch.float32))
        for stage in self.stages:
            if cancel is not None:
                cancel.check()
            frame = stage(frame, ctx)
        return frame.pixels

    def iter_hdr(self, start: int, stop: int) -> Iterator[tuple[int, Tensor]]:
        """Sequential graded frames [start, stop): decodes forward without seeking."""
        for index, signal in self.clip.frames(start, stop):
            yield index, self.hdr(index, signal)

    # -- output ---------------------------------------------------------------------------
    def output_stage(self, view: str) -> OutputStage:
        """The output stage of a view ('pq', 'hlg', 'sdr', 'linear'), checked against the rest."""
        stage = self._outputs.get(view)
        if stage is None:
            stage = OutputStage(view, self.grade, self.tmo, self._tmo_stats)
            check_chain([*self.stages, stage], Space.CODE, Space.OUTPUT)
            self._outputs[view] = stage
        return stage

    def display_transform(
        self, view: str, hdr_frame: Tensor | None = None, index: int = 0
    ) -> DisplayTransform:
        """The per-pixel display work for a view; for 'sdr' with a curve TMO, the TMO's curve
        baked for this frame's statistics."""
        return self.output_stage(view).display_transform(self.context(index), hdr_frame)

    def preview_display(
        self, view: str, hdr_frame: Tensor | None = None, index: int = 0
    ) -> PreviewDisplay:
        """display_transform folded into the display ops the export's processor runs, and their
        generated GLSL: what the preview shows frames through."""
        return preview_display(self.display_transform(view, hdr_frame, index))

    def output(self, index: int, hdr_frame: Tensor, view: str) -> Tensor:
        """The output transform for a deliverable: cd/m² -> encoded signal (or linear EXR data)."""
        return self.output_stage(view)(Frame(hdr_frame, Space.NITS), self.context(index)).pixels


    # -- the per-pixel processor ------------------------------------------------------------
    def processor(self, view: str, target: TargetFormat) -> GradeProcessor | None:
        """The processor for rendering this grade's `view` into `target` code planes from the
        clip's decoded planes (VideoClip.planes), or None where the stages must run.

        The one place that decides it: a CPU render of an SDR source whose frames decode as
        upright planar Y'CbCr, through a curve ITM without temporal reconstruction, to PQ, HLG,
        or SDR through a curve TMO. Spatial operators, temporal, EXR and HDR sources keep the
        stage path; so does a CUDA render (the numba kernel is the CPU back end).
        """
        info = self.clip.info
        expressible = (
            self.device.type == "cpu"
            and self._expansion is not None
            and isinstance(self.itm, CurveOperator)
            and hasattr(self.clip, "planes")
            and reads_as_planes(info.pixel_format)
            and not info.rotation
            and (view in ("pq", "hlg") or (view == "sdr" and isinstance(self.tmo, CurveOperator)))
        )
        if not expressible:
            return None
        from engine.processor.grade_processor import GradeProcessor  # numba loads with the first one

        stage = self.output_stage(view)
        g = self.grade
        return GradeProcessor(
            transform=self.input,
            itm=self.itm,
            itm_stats=self._expansion.stats,
            exposure=g.exposure,
            saturation=g.saturation,
            display=lambda ctx, samples: stage.display_transform(ctx, samples=samples),
            display_needs_luminance=view == "sdr" and self.tmo.needs_stats,
            target=target,
            context=self.context,
            peak_nits=g.peak_nits,
        )
