"""The Grade: every user-settable parameter of a render, as versioned, validated JSON.

A Grade is immutable; the GUI's undo stack and the render's determinism both rely on that.
`version` in the JSON is the schema version; files from a newer schema are refused rather than
half-read.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import GradeError
from engine.params import param, param_specs

GRADE_SCHEMA_VERSION = 1

SOURCE_TRANSFERS = ("auto", "bt1886", "srgb", "gamma", "linear", "pq", "hlg")
SOURCE_PRIMARIES = ("auto", "bt709", "bt2020", "p3-d65", "aces-ap0", "aces-ap1")
OUTPUT_FORMATS = ("hdr10", "hlg", "prores", "exr", "sdr")
EXR_COMPRESSIONS = ("none", "rle", "zips", "zip", "piz", "pxr24", "b44", "b44a", "dwaa", "dwab")


@dataclass(frozen=True)
class SourceTransform:
    """How the source's code values become linear light: 'auto' follows the stream's tags."""

    transfer: str = "auto"
    gamma: float = param(2.4, 1.0, 3.5, help="source gamma, used when transfer is 'gamma'")
    primaries: str = "auto"


@dataclass(frozen=True)
class OperatorChoice:
    """An operator by registry name, with the parameters that differ from its defaults."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutputSettings:
    """The deliverable: container/codec family and its encoder settings."""

    format: str = "hdr10"
    exr_compression: str = "zip"
    exr_nits_per_unit: float = param(100.0, 1.0, 10000.0, "cd/m²", "EXR whiteLuminance of 1.0 in the file",
                                     display_only=True)
    crf: int = param(18, 0, 51, help="x264/x265 constant rate factor", display_only=True)
    preset: str = "medium"  # x264/x265 preset


@dataclass(frozen=True)
class Grade:
    """Every user-settable parameter. Units: stops, cd/m², plain factors."""

    source: SourceTransform = field(default_factory=SourceTransform)
    itm: OperatorChoice = field(default_factory=lambda: OperatorChoice("bt2408"))
    temporal: bool = False
    temporal_params: Mapping[str, Any] = field(default_factory=dict)
    exposure: float = param(0.0, -10.0, 10.0, "stops", "exposure of the HDR result")
    saturation: float = param(1.0, 0.0, 2.0, "", "saturation about BT.2020 luminance (1 keeps colour)")
    reference_white: float = param(203.0, 48.0, 500.0, "cd/m²",
                                   "where SDR reference white lands (ITU-R BT.2408: 203)")
    peak_nits: float = param(1000.0, 100.0, 10000.0, "cd/m²", "mastering peak of the HDR deliverable")
    tmo: OperatorChoice = field(default_factory=lambda: OperatorChoice("bt2446a"))
    sdr_peak_nits: float = param(100.0, 48.0, 500.0, "cd/m²", "peak of the SDR display the TMO targets",
                                 display_only=True)
    output: OutputSettings = field(default_factory=OutputSettings)

    def replace(self, **changes: Any) -> Grade:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["itm"]["params"] = dict(self.itm.params)
        data["tmo"]["params"] = dict(self.tmo.params)
        data["temporal_params"] = dict(self.temporal_params)
        return {"version": GRADE_SCHEMA_VERSION, **data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Any, path: Path | None = None) -> Grade:
        return _GradeParser(path).grade(data)

    @classmethod
    def from_json(cls, text: str, path: Path | None = None) -> Grade:
        return cls.from_dict(parse_json(text, path), path)

    @classmethod
    def load(cls, path: str | Path) -> Grade:
        path = Path(path)
        return cls.from_json(read_text(path, "grade file"), path)


# Grade fields the preview applies itself, so changing them needs no new engine frames: the
# display-only parameters, the tone mapper (the preview's display transform) and the
# deliverable's settings (read only by an export).
DISPLAY_ONLY_FIELDS: frozenset[str] = frozenset(
    {spec.name for spec in param_specs(Grade) if spec.display_only} | {"tmo", "output"}
)


def parse_json(text: str, path: Path | None) -> Any:
    """JSON text -> data; GradeError naming the file and the line when it does not parse."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise GradeError(f"not valid JSON ({exc.msg} at line {exc.lineno})", path) from None


def read_text(path: Path, what: str) -> str:
    """A UTF-8 file's text; GradeError ('<what> not found', unreadable) naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GradeError(f"{what} not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GradeError(f"cannot read {what} ({exc})", path) from None


# (minimum, maximum) of every numeric field; the GUI's sliders use the same ranges.
NUMERIC_RANGES: dict[str, tuple[float, float]] = {
    "exposure": (-10.0, 10.0),
    "saturation": (0.0, 2.0),
    "reference_white": (48.0, 500.0),
    "peak_nits": (100.0, 10000.0),
    "sdr_peak_nits": (48.0, 500.0),
    "gamma": (1.0, 3.5),
    "exr_nits_per_unit": (1.0, 10000.0),
    "crf": (0, 51),
}


class JsonValidator:
    """Strict reading of a JSON document: errors are GradeErrors naming the file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def fail(self, problem: str) -> GradeError:
        return GradeError(problem, self.path)

    def mapping(self, value: Any, where: str, allowed: set[str]) -> Mapping[str, Any]:
        """`value` as an object holding no keys but `allowed`."""
        if not isinstance(value, Mapping):
            raise self.fail(f"{where}: expected an object")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(f"{where}: unknown key {unknown[0]!r}")
        return value


class _GradeParser(JsonValidator):
    """Strict validation of grade JSON: unknown keys, wrong types and ranges are errors."""

    def number(self, value: Any, key: str, integer: bool = False) -> Any:
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if not ok or isinstance(value, bool):
            raise self.fail(f"{key}: expected a number, got {value!r}")
        lo, hi = NUMERIC_RANGES[key]
        if not lo <= value <= hi:  # also rejects NaN
            raise self.fail(f"{key}: {value} is outside [{lo}, {hi}]")
        return value if integer else float(value)

    def choice(self, value: Any, key: str, choices: tuple[str, ...]) -> str:
        if value not in choices:
            raise self.fail(f"{key}: {value!r} is not one of {', '.join(choices)}")
        return value

    def operator(self, value: Any, key: str, kind: str) -> OperatorChoice:
        from engine.operators.catalogue import operator_class

        data = self.mapping(value, key, {"name", "params"})
        name = data.get("name")
        if not isinstance(name, str):
            raise self.fail(f"{key}.name: expected a string")
        params = data.get("params", {})
        if not isinstance(params, Mapping):
            raise self.fail(f"{key}.params: expected an object")
        try:
            cls = operator_class(kind, name)  # type: ignore[arg-type]
            cls.make_params(params)
        except GradeError as exc:
            raise self.fail(f"{key}: {exc.problem}") from None
        return OperatorChoice(name, dict(params))

    def temporal_params(self, value: Any) -> dict[str, Any]:
        from engine.params import build_params
        from engine.temporal import TemporalParams

        if not isinstance(value, Mapping):
            raise self.fail("temporal_params: expected an object")
        try:
            build_params(TemporalParams, value, "temporal_params")
        except GradeError as exc:
            raise self.fail(exc.problem) from None
        return dict(value)

    def grade(self, data: Any) -> Grade:
        top = {f.name for f in dataclasses.fields(Grade)} | {"version"}
        data = self.mapping(data, "grade", top)
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise self.fail("missing or invalid 'version'")
        if version > GRADE_SCHEMA_VERSION or version < 1:
            raise self.fail(f"grade schema version {version} is not supported (max {GRADE_SCHEMA_VERSION})")
        default = Grade()
        changes: dict[str, Any] = {}
        if "source" in data:
            src = self.mapping(data["source"], "source", {"transfer", "gamma", "primaries"})
            changes["source"] = SourceTransform(
                transfer=self.choice(src.get("transfer", "auto"), "source.transfer", SOURCE_TRANSFERS),
                gamma=self.number(src.get("gamma", 2.4), "gamma"),
                primaries=self.choice(src.get("primaries", "auto"), "source.primaries", SOURCE_PRIMARIES),
            )
        if "itm" in data:
            changes["itm"] = self.operator(data["itm"], "itm", "itm")
        if "tmo" in data:
            changes["tmo"] = self.operator(data["tmo"], "tmo", "tmo")
        if "temporal" in data:
            if not isinstance(data["temporal"], bool):
                raise self.fail("temporal: expected true or false")
            changes["temporal"] = data["temporal"]
        if "temporal_params" in data:
            changes["temporal_params"] = self.temporal_params(data["temporal_params"])
        for key in ("exposure", "saturation", "reference_white", "peak_nits", "sdr_peak_nits"):
            if key in data:
                changes[key] = self.number(data[key], key)
        if "output" in data:
            allowed = {f.name for f in dataclasses.fields(OutputSettings)}
            out = self.mapping(data["output"], "output", allowed)
            base = default.output
            changes["output"] = OutputSettings(
                format=self.choice(out.get("format", base.format), "output.format", OUTPUT_FORMATS),
                exr_compression=self.choice(
                    out.get("exr_compression", base.exr_compression), "output.exr_compression",
                    EXR_COMPRESSIONS,
                ),
                exr_nits_per_unit=self.number(out.get("exr_nits_per_unit", base.exr_nits_per_unit),
                                              "exr_nits_per_unit"),
                crf=self.number(out.get("crf", base.crf), "crf", integer=True),
                preset=self.choice(out.get("preset", base.preset), "output.preset", X26X_PRESETS),
            )
        return default.replace(**changes)


X26X_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
)
