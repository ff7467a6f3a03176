"""A grade's per-pixel work on decoded planes, for the renders the processor can express.

engine.pipeline.Pipeline.processor decides which renders those are (an SDR source through a
curve ITM, no temporal reconstruction, a PQ, HLG or curve-TMO SDR output) and builds this from
its own stages, so both paths read the same operators, statistics and display transforms.

Per frame: the ITM's gain (and an SDR output's TMO curve) is baked for the statistics the
stages would measure, from luminance samples a statistics kernel computes with the same ops on
the pixels engine.stats.measure reads (every 4th of every 4th row of a large frame);
then one kernel turns the planes into the encoder's code planes and meters the graded light
level (CTA-861.3 MaxCLL/MaxFALL) on the way. Kernels are compiled per chain structure, so only
the first frame compiles.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import torch

from engine.display import DisplayTransform
from engine.input_transform import InputTransform
from engine.io.pixels import Planes
from engine.lut import Lut1D
from engine.operators.base import CurveOperator, StageContext
from engine.processor.build import BT2020_WEIGHTS, decode_ops, display_chain, encode_ops, eotf_ops, grade_ops
from engine.processor.formats import SourceFormat, TargetFormat
from engine.processor.numba_backend import NumbaProcessor
from engine.processor.ops import Affine, LumaGain, Op
from engine.processor.optimise import optimise
from engine.stages.stabilised import SequenceStats

# Luminance of BT.2020 linear light as an op: every output row holds the weights.
LUMINANCE = Affine(np.tile(BT2020_WEIGHTS, (3, 1)))
# A display transform for a frame: (context, graded luminance samples or None) -> DisplayTransform.
DisplayFn = Callable[[StageContext, torch.Tensor | None], DisplayTransform]


@dataclasses.dataclass(frozen=True)
class ProcessedFrame:
    """The encoder's code planes and the graded frame's light level (max(R, G, B) clipped to the
    meter's peak: its maximum and its mean, engine.io.hdr_metadata.LightLevelMeter)."""

    planes: list[np.ndarray]
    max_light: float
    mean_light: float


def source_format(planes: Planes) -> SourceFormat:
    return SourceFormat(planes.bits, planes.full_range, planes.matrix, planes.chroma_location.phase)


class GradeProcessor:
    """Frames of one grade, as decoded planes, to one target's code planes."""

    def __init__(
        self,
        transform: InputTransform,
        itm: CurveOperator,
        itm_stats: SequenceStats,
        exposure: float,
        saturation: float,
        display: DisplayFn,
        display_needs_luminance: bool,
        target: TargetFormat,
        context: Callable[[int], StageContext],
        peak_nits: float,
    ) -> None:
        self.transform = transform
        self.itm = itm
        self.itm_stats = itm_stats
        self.grade = grade_ops(exposure, saturation)
        self.display = display
        self.display_needs_luminance = display_needs_luminance
        self.target = target
        self.context = context
        self.peak_nits = peak_nits
        # Fixed curves bake once; a statistics-driven one bakes per frame.
        self._fixed_gain: Lut1D | None = None if itm.needs_stats else itm.bake(context(0))
        self._fixed_display: DisplayTransform | None = (
            None if display_needs_luminance else display(context(0), None)
        )
        # A grade without statistics builds its kernels once per source format (and whether they
        # encode or only meter).
        self._fixed_kernels: dict[tuple[SourceFormat, bool], NumbaProcessor] = {}

    def _samples(self, head: list[Op], planes: Planes, source: SourceFormat) -> torch.Tensor:
        """The luminance after `head` (a chain prefix in linear BT.2020), float32, on the sampling
        grid of engine.stats.measure (the only pixels the statistics read)."""
        (lum,) = NumbaProcessor(optimise([*head, LUMINANCE]), source, None)(planes.y, planes.cb, planes.cr)
        return torch.from_numpy(lum)

    def __call__(self, index: int, planes: Planes) -> ProcessedFrame:
        source = source_format(planes)
        kernel = self._fixed_kernels.get((source, True))
        if kernel is None:
            kernel = self._kernel(index, planes, source, True)
            if self._fixed_gain is not None and self._fixed_display is not None:
                self._fixed_kernels[source, True] = kernel
        out, light = kernel.process(planes.y, planes.cb, planes.cr)
        return ProcessedFrame(out, *_levels(light, planes.y.size))

    def light_levels(self, index: int, planes: Planes) -> tuple[float, float]:
        """What __call__ meters for the frame (max and mean light), from a kernel that stops at
        the meter: the HDR10 analysis pass, which needs no planes."""
        source = source_format(planes)
        kernel = self._fixed_kernels.get((source, False))
        if kernel is None:
            kernel = self._kernel(index, planes, source, False)
            if self._fixed_gain is not None:
                self._fixed_kernels[source, False] = kernel
        return _levels(kernel.process(planes.y, planes.cb, planes.cr)[1], planes.y.size)

    def _kernel(self, index: int, planes: Planes, source: SourceFormat, encode: bool) -> NumbaProcessor:
        """Frame `index`'s kernel: its statistics measured, its curves baked, its chain folded;
        without `encode`, only the light meter after the graded light."""
        ctx = self.context(index)
        linear = decode_ops(source) + eotf_ops(self.transform, source)
        gain = self._fixed_gain
        if gain is None:
            stats = self.itm_stats.update_samples(index, self._samples(linear, planes, source))
            gain = self.itm.bake(dataclasses.replace(ctx, stats=stats))
        head = optimise([*linear, LumaGain(gain, BT2020_WEIGHTS), *self.grade])
        if not encode:
            return NumbaProcessor(head, source, None, meter_at=len(head), peak=self.peak_nits)
        display = self._fixed_display
        if display is None:
            display = self.display(ctx, self._samples(list(head), planes, source))
        return NumbaProcessor(head + self.display_tail(display), source, self.target, meter_at=len(head),
                              peak=self.peak_nits)

    def display_tail(self, display: DisplayTransform) -> tuple[Op, ...]:
        """The ops after the graded light: `display` folded exactly as the preview's shader gets
        it (build.display_chain, engine.processor.glsl), then the target's encode."""
        return optimise([*display_chain(display), *encode_ops(self.target)])


def _levels(light: np.ndarray, pixels: int) -> tuple[float, float]:
    """(max, mean) light of a frame from the kernel's per-row (max, sum)."""
    return float(light[:, 0].max()), float(light[:, 1].astype(np.float64).sum()) / pixels
