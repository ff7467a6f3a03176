"""The operator model: parameter descriptions, curve and spatial operators, and the registry.

An operator is a small class with a frozen parameter dataclass. Each parameter field carries
its range, unit and one line of help in its metadata, so the GUI builds sliders and the CLI
parses `--param key=value` from the same description (DESIGN.md, "Data conventions").

Conventions of the two kinds:
- ITM ("itm"): input is SDR display-linear light in BT.2020 primaries, relative, where 1.0 is
  the SDR display's peak (code value 1.0 after the source EOTF); output is absolute cd/m².
- TMO ("tmo"): input is absolute cd/m² in BT.2020; output is display-linear light relative to
  the target display's peak (1.0 = peak), still BT.2020. The output transform encodes it.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from torch import Tensor

from engine.color.luminance import luminance
from engine.errors import GradeError
from engine.lut import Lut1D

OperatorKind = Literal["itm", "tmo"]


def param(
    default: float | int | bool | str,
    minimum: float | None = None,
    maximum: float | None = None,
    unit: str = "",
    help: str = "",
    choices: tuple[str, ...] = (),
) -> Any:
    """A dataclass field that describes one operator parameter."""
    meta = {"minimum": minimum, "maximum": maximum, "unit": unit, "help": help, "choices": choices}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class ParamSpec:
    """One parameter as the GUI and CLI see it."""

    name: str
    default: float | int | bool | str
    type: str
    minimum: float | None
    maximum: float | None
    unit: str
    help: str
    choices: tuple[str, ...]

    def parse(self, text: str) -> float | int | bool | str:
        """Parse a command-line string for this parameter and check its range."""
        value: float | int | bool | str
        try:
            if self.type == "bool":
                if text.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(text)
                value = text.lower() in ("1", "true", "yes", "on")
            elif self.type == "int":
                value = int(text)
            elif self.type == "float":
                value = float(text)
            else:
                value = text
        except ValueError:
            raise GradeError(f"parameter {self.name}: {text!r} is not a valid {self.type}") from None
        return self.check(value)

    def check(self, value: Any) -> float | int | bool | str:
        """Validate a value (from JSON or the CLI) against type, range and choices."""
        expected = {"bool": (bool,), "int": (int,), "float": (int, float), "str": (str,)}[self.type]
        if not isinstance(value, expected) or (self.type != "bool" and isinstance(value, bool)):
            raise GradeError(f"parameter {self.name}: expected {self.type}, got {value!r}")
        if self.type in ("int", "float"):
            if value != value or value in (float("inf"), float("-inf")):
                raise GradeError(f"parameter {self.name}: {value} is not finite")
            if self.minimum is not None and value < self.minimum:
                raise GradeError(f"parameter {self.name}: {value} is below {self.minimum}")
            if self.maximum is not None and value > self.maximum:
                raise GradeError(f"parameter {self.name}: {value} is above {self.maximum}")
            if self.type == "float":
                value = float(value)
        if self.choices and value not in self.choices:
            raise GradeError(f"parameter {self.name}: {value!r} is not one of {self.choices}")
        return value

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "choices": list(self.choices)}


@dataclass(frozen=True)
class NoParams:
    """The parameter set of an operator that has none."""


@dataclass(frozen=True)
class FrameStats:
    """Statistics of one frame's luminance, stabilised over time by engine.stats.

    Units follow the operator's input convention (relative for ITM, cd/m² for TMO).
    """

    log_average: float  # geometric mean exp(mean(log(eps + Y))) over non-black pixels
    peak: float  # high percentile of Y (libplacebo-style percentile peak)
    maximum: float  # largest Y
    minimum: float  # low percentile of Y above the black cutoff
    clipped_fraction: float = 0.0  # share of pixels at or above the clip threshold


@dataclass
class StageContext:
    """What a stage needs beyond the frame: where it is, the targets, the statistics."""

    frame_index: int = 0
    reference_white: float = 203.0  # SDR reference white in cd/m² (ITU-R BT.2408)
    peak_nits: float = 1000.0  # mastering / target peak of the HDR output in cd/m²
    display_peak: float = 100.0  # peak of the TMO's target display in cd/m²
    stats: FrameStats | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def param_specs(params_cls: type) -> list[ParamSpec]:
    """The ParamSpec of every field of a parameter dataclass built with `param(...)`."""
    return [
        ParamSpec(
            name=f.name,
            default=f.default,
            type=type(f.default).__name__,
            minimum=f.metadata.get("minimum"),
            maximum=f.metadata.get("maximum"),
            unit=f.metadata.get("unit", ""),
            help=f.metadata.get("help", ""),
            choices=tuple(f.metadata.get("choices", ())),
        )
        for f in dataclasses.fields(params_cls)
    ]


def build_params(params_cls: type, values: Mapping[str, Any], owner: str) -> Any:
    """A validated parameter dataclass from JSON values or CLI strings; GradeError otherwise."""
    specs = {s.name: s for s in param_specs(params_cls)}
    unknown = sorted(set(values) - set(specs))
    if unknown:
        raise GradeError(f"{owner} has no parameter {unknown[0]!r}")
    parsed = {
        k: specs[k].parse(v) if isinstance(v, str) and specs[k].type != "str" else specs[k].check(v)
        for k, v in values.items()
    }
    return params_cls(**parsed)


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
        doc = (cls.__doc__ or "").strip()
        return {
            "name": cls.name,
            "kind": cls.kind,
            "title": cls.title,
            "type": "curve" if issubclass(cls, CurveOperator) else "spatial",
            "reference": doc.splitlines()[0] if doc else "",
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


_REGISTRY: dict[tuple[OperatorKind, str], type[Operator]] = {}


def register(cls: type[Operator]) -> type[Operator]:
    """Class decorator: make an operator available by (kind, name)."""
    key = (cls.kind, cls.name)
    if key in _REGISTRY and _REGISTRY[key] is not cls:
        raise ValueError(f"operator {key} is registered twice")
    _REGISTRY[key] = cls
    return cls


def _load_catalogue() -> None:
    # Importing the packages registers their operators.
    import engine.itm
    import engine.tmo  # noqa: F401


def operator_class(kind: OperatorKind, name: str) -> type[Operator]:
    _load_catalogue()
    try:
        return _REGISTRY[(kind, name)]
    except KeyError:
        known = ", ".join(sorted(n for k, n in _REGISTRY if k == kind))
        raise GradeError(f"unknown {kind} operator {name!r} (known: {known})") from None


def operators(kind: OperatorKind | None = None) -> list[type[Operator]]:
    _load_catalogue()
    return [c for (k, _), c in sorted(_REGISTRY.items()) if kind is None or k == kind]


def make_operator(kind: OperatorKind, name: str, params: Mapping[str, Any] | None = None) -> Operator:
    cls = operator_class(kind, name)
    return cls(cls.make_params(params or {}))
