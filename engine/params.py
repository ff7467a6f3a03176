"""The parameter model: one description of a user-settable value, read by every front end.

A parameter is a dataclass field made with `param(...)`: its default, range, unit, one line of
help, its choices, and whether it only changes the display (the preview redraws, the engine does
no new work). Operators, temporal reconstruction and the Grade declare their fields this way, so
the GUI builds its controls, the CLI parses `--param key=value` and the JSON readers validate
from the same description (docs/architecture.md, "Data conventions").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import GradeError


def param(
    default: float | int | bool | str,
    minimum: float | None = None,
    maximum: float | None = None,
    unit: str = "",
    help: str = "",
    choices: tuple[str, ...] = (),
    display_only: bool = False,
) -> Any:
    """A dataclass field that describes one parameter."""
    meta = {"minimum": minimum, "maximum": maximum, "unit": unit, "help": help, "choices": choices,
            "display_only": display_only}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class ParamSpec:
    """One parameter as the GUI, the CLI and the JSON readers see it."""

    name: str
    default: float | int | bool | str
    type: str
    minimum: float | None
    maximum: float | None
    unit: str
    help: str
    choices: tuple[str, ...]
    display_only: bool = False

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
        if not self.has_type(value):
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

    def has_type(self, value: Any) -> bool:
        """Whether a value (from JSON or the CLI) has this parameter's type; a bool is no number."""
        expected = {"bool": (bool,), "int": (int,), "float": (int, float), "str": (str,)}[self.type]
        return isinstance(value, expected) and (self.type == "bool" or not isinstance(value, bool))

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "choices": list(self.choices)}


@dataclass(frozen=True)
class NoParams:
    """The parameter set of an operator that has none."""


def param_specs(params_cls: type) -> list[ParamSpec]:
    """The ParamSpec of every field of a dataclass declared with `param(...)`.

    Fields without a `param` description (nested settings, mappings) are not parameters.
    """
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
            display_only=bool(f.metadata.get("display_only", False)),
        )
        for f in dataclasses.fields(params_cls)
        if "help" in f.metadata
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
