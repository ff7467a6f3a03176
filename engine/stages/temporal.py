"""The temporal stage: SDR frames -> cd/m² by temporal highlight reconstruction (engine.temporal),
with refine=learned corrected by the learned refinement (engine.models.inference)."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from engine.color.primaries import Primaries
from engine.errors import FormatError
from engine.frame import Frame, Space
from engine.jobs import CancelToken
from engine.masks import ClueMap
from engine.models.inference import refine_temporal
from engine.operators.base import Operator, StageContext
from engine.stages.base import Stage
from engine.temporal import TemporalParams, TemporalReconstructor
from engine.temporal.analysis import Progress


class TemporalStage(Stage):
    """RELATIVE -> NITS. Each frame needs its code values as well as its linear light: clipping
    is judged on the code values, in the source's `primaries`.

    `source(i)` gives frame i as the input stage does, for the frames the reconstruction reads
    besides the one it is asked for (analysis, a keyframe's references).
    """

    name = "temporal reconstruction"
    takes = Space.RELATIVE
    gives = Space.NITS

    def __init__(self, source: Callable[[int], Frame], frame_count: int, params: TemporalParams,
                 fallback: Operator, context: StageContext, primaries: Primaries) -> None:
        self.reconstructor = TemporalReconstructor(source, frame_count, params, fallback, context, primaries)
        self._last_clues: tuple[int, ClueMap] | None = None

    def analyse(self, progress: Progress | None = None, cancel: CancelToken | None = None) -> None:
        self.reconstructor.analyse(progress, cancel)

    @property
    def analysed(self) -> bool:
        return self.reconstructor.analysed

    def keyframes(self) -> list[int]:
        return self.reconstructor.keyframes()

    def measured_top(self) -> Tensor | None:
        """The gain the analysis measured on the declared transfer's top (engine.temporal.shoulder),
        (256,) over code values; None before the analysis or where it measured none."""
        return self.reconstructor.analysis.top if self.analysed else None

    def clue_map(self, index: int) -> ClueMap | None:
        """The clue map of frame `index` when it is the frame this stage delivered last (the
        preview asks right after rendering it), else None."""
        if self._last_clues is None or self._last_clues[0] != index:
            return None
        return self._last_clues[1]

    def __call__(self, frame: Frame, ctx: StageContext) -> Frame:
        if frame.code is None:
            raise FormatError(f"frame {ctx.frame_index}: the temporal stage needs its code values")
        index = ctx.frame_index
        device = frame.pixels.device
        nits, clues = self.reconstructor.frame(index, frame)
        self._last_clues = (index, clues)
        if self.reconstructor.params.refine != "learned":
            return frame.to(Space.NITS, nits.to(device))
        neighbours = [self.reconstructor.keyframe(k).to(device)
                      for k in self.reconstructor.analysis.neighbours(index) if k is not None]
        refined = refine_temporal(nits.to(device), clues.confidence.to(device), frame.pixels, neighbours, ctx)
        return frame.to(Space.NITS, refined)
