"""The operator parameter model: specs from dataclasses, parsing and range checks."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from engine.errors import GradeError
from engine.params import build_params, param, param_specs


@dataclass(frozen=True)
class _Params:
    gain: float = param(2.0, 0.5, 8.0, "x", "a gain")
    steps: int = param(3, 1, 10, "", "a count")
    smooth: bool = param(True, help="a switch")
    mode: str = param("a", choices=("a", "b"), help="a choice")


def test_specs_describe_every_field() -> None:
    specs = {s.name: s for s in param_specs(_Params)}
    assert specs["gain"].type == "float" and specs["gain"].minimum == 0.5 and specs["gain"].unit == "x"
    assert specs["steps"].type == "int" and specs["smooth"].type == "bool"
    assert specs["mode"].choices == ("a", "b")


def test_parse_cli_strings_and_json_values() -> None:
    p = build_params(_Params, {"gain": "4", "steps": "5", "smooth": "off", "mode": "b"}, "t")
    assert (p.gain, p.steps, p.smooth, p.mode) == (4.0, 5, False, "b")
    assert build_params(_Params, {"gain": 1}, "t").gain == 1.0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"gain": "9"}, "above 8.0"),
        ({"gain": "0.1"}, "below 0.5"),
        ({"gain": "abc"}, "not a valid float"),
        ({"steps": 2.5}, "expected int"),
        ({"smooth": "maybe"}, "not a valid bool"),
        ({"mode": "c"}, "not one of"),
        ({"gain": "inf"}, "not finite"),
        ({"other": 1}, "no parameter 'other'"),
    ],
)
def test_bad_values_are_grade_errors(values: dict, message: str) -> None:
    with pytest.raises(GradeError, match=message):
        build_params(_Params, values, "t")
