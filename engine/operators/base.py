"""The operator base classes: what every ITM and TMO is, curve or spatial, and its stage context.

An operator is a small class with a frozen parameter dataclass declared with engine.params, so
the GUI builds sliders and the CLI parses `--param key=value` from the same description. The
catalogue of every operator is engine.operators.catalogue; operators never import it.

Conventions of the two kinds:
- ITM ("itm"): input is SDR display-linear light in BT.2020 primaries, relative, where 1.0 is
  the SDR display's peak (code value 1.0 after the source EOTF); output is absolute cd/m².
- TMO ("tmo"): input is absolute cd/m² in BT.2020; output is display-linear light relative to
  the target display's peak (1.0 = peak), still BT.2020. The output transform encodes it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from torch import Tensor

from engine.color.luminance import luminance
from engine.constants import SDR_REFERENCE_WHITE_NITS
from engine.lut import Lut1D
from engine.params import NoParams, ParamSpec, build_params, param_specs
from engine.stats import FrameStats

OperatorKind = Literal["itm", "tmo"]


@dataclass
class StageContext:
    """What a stage needs beyond the frame: where it is, the targets, the statistics."""

    frame_index: int = 0
    reference_white: float = SDR_REFERENCE_WHITE_NITS  # cd/m²
    peak_nits: float = 1000.0  # mastering / target peak of the HDR output in cd/m²
    display_peak: float = 100.0  # peak of the TMO's target display in cd/m²
    stats: FrameStats | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class Operator(ABC):
    """Base of every ITM and TMO operator. Subclasses set name, kind, title and Params."""

    name: ClassVar[str]
    kind: ClassVar[OperatorKind]
    title: ClassVar[str]
    Params: ClassVar[type] = NoParams
    needs_stats: ClassVar[bool] = False

    def __init__(self, params: Any | None = None) -> None:
        self.params = params if params is not None else self.Params()

    @classmethod
    def param_specs(cls) -> list[ParamSpec]:
        return param_specs(cls.Params)

    @classmethod
    def make_params(cls, values: Mapping[str, Any]) -> Any:
        """Build a validated Params instance from a mapping (JSON values or CLI strings)."""
        return build_params(cls.Params, values, f"operator {cls.name}")

    @classmethod
    def describe(cls) -> dict[str, Any]:
        # The reference is the docstring's first paragraph: a citation may wrap over lines.
        first_paragraph = (cls.__doc__ or "").strip().split("\n\n")[0]
        return {
            "name": cls.name,
            "kind": cls.kind,
            "title": cls.title,
            "type": "curve" if issubclass(cls, CurveOperator) else "spatial",
            "reference": " ".join(first_paragraph.split()),
            "params": [s.to_json() for s in cls.param_specs()],
        }

    @abstractmethod
    def apply(self, frame: Tensor, ctx: StageContext) -> Tensor:
        """(3, H, W) -> (3, H, W) in the conventions of the operator's kind."""

    def context_px(self) -> int | None:
        """How far around a pixel its output looks, in pixels, or None when the output depends
        on the whole frame (a measured key, a normalisation). A caller that needs a few pixels
        may then run the operator on their box grown by this much."""
        return None


class CurveOperator(Operator):
    """A per-pixel luminance curve, applied by ratio through a baked gain LUT.

    out_rgb = rgb * gain(Y), gain(Y) = curve(Y) / Y. Baking the gain rather than the curve keeps
    black at zero and hue exact, and lets the shader apply the very same table.
    """

    @abstractmethod
    def curve(self, y: Tensor, ctx: StageContext) -> Tensor:
        """Luminance in -> luminance out, analytic, float64-safe, elementwise."""

    @abstractmethod
    def input_range(self, ctx: StageContext) -> tuple[float, float]:
        """The (x_min, x_max) luminance span the LUT must cover, x_min > 0."""

    def bake(self, ctx: StageContext) -> Lut1D:
        lo, hi = self.input_range(ctx)
        return Lut1D.bake(lambda y: self.curve(y, ctx) / y, lo, hi)

    def apply_lut(self, frame: Tensor, lut: Lut1D) -> Tensor:
        return frame * lut.sample(luminance(frame).clamp_min(0.0))

    def apply(self, frame: Tensor, ctx: StageContext) -> Tensor:
        return self.apply_lut(frame, self.bake(ctx))

    def context_px(self) -> int | None:
        # A fixed curve is per pixel; one shaped by frame statistics measures the whole frame.
        return None if self.needs_stats else 0


class SpatialOperator(Operator):
    """An operator that needs the whole frame (local contrast, bilateral filters, networks)."""
