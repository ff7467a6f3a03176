"""Grade JSON: round trips, and clear validation errors naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.deliverables import DELIVERABLES
from engine.errors import GradeError
from engine.grade import (
    DEFAULT_ITM,
    DISPLAY_ONLY_FIELDS,
    Grade,
    OperatorChoice,
    OutputSettings,
    SourceTransform,
    grade_specs,
)
from engine.params import param_specs


def test_default_itm_is_the_operator_best_on_held_out_footage() -> None:
    g = Grade()
    # bench/temporal.py on the stills held out of training: see engine.grade.DEFAULT_ITM.
    assert g.itm.name == DEFAULT_ITM == "masked-cnn"
    assert g.reference_white == 203.0
    assert g.output.format == "hdr10"


def test_json_round_trip(tmp_path: Path) -> None:
    g = Grade(exposure=0.5, saturation=1.2, peak_nits=4000.0,
              itm=OperatorChoice("bt2408", {}), output=OutputSettings(format="exr", crf=12))
    path = tmp_path / "g.json"
    path.write_text(g.to_json())
    assert Grade.load(path) == g
    assert json.loads(g.to_json())["version"] == 1


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"exposure": 99}, "exposure: 99 is outside"),
        ({"saturation": "high"}, "saturation: expected a number"),
        ({"peak_nits": float("nan")}, "peak_nits: nan is outside"),
        ({"bogus": 1}, "unknown key 'bogus'"),
        ({"itm": {"name": "no-such-operator"}}, "unknown itm operator 'no-such-operator'"),
        ({"itm": {"name": "bt2408", "params": {"nope": 1}}}, "has no parameter 'nope'"),
        ({"output": {"format": "avi"}}, "output.format: 'avi' is not one of"),
        ({"version": 7}, "schema version 7 is not supported"),
        ({"temporal_params": {"keyframe_spacing": 0}}, "keyframe_spacing: 0 is below 1"),
        ({"temporal_params": {"wobble": 1}}, "has no parameter 'wobble'"),
    ],
)
def test_validation_errors_name_the_file(tmp_path: Path, patch: dict, message: str) -> None:
    data = {**Grade().to_dict(), **patch}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(GradeError, match=message) as err:
        Grade.load(path)
    assert str(path) in str(err.value)


def test_not_json_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(GradeError, match="not valid JSON"):
        Grade.load(path)
    with pytest.raises(GradeError, match="not found"):
        Grade.load(tmp_path / "absent.json")


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"source": {"gamma": 0.5}}, r"source.gamma: 0.5 is outside \[1.0, 3.5\]"),
        ({"source": {"transfer": "log"}}, "source.transfer: 'log' is not one of auto, bt1886"),
        ({"source": {"wobble": 1}}, "source: unknown key 'wobble'"),
        ({"output": {"crf": 2.5}}, "output.crf: expected an integer, got 2.5"),
        ({"output": {"crf": 52}}, r"output.crf: 52 is outside \[0, 51\]"),
        ({"output": {"exr_nits_per_unit": float("inf")}},
         r"output.exr_nits_per_unit: inf is outside \[1.0, 10000.0\]"),
        ({"output": {"preset": "glacial"}}, "output.preset: 'glacial' is not one of ultrafast"),
        ({"temporal": 1}, "temporal: expected true or false, got 1"),
        ({"exposure": True}, "exposure: expected a number, got True"),
        ({"sdr_peak_nits": 47.9}, r"sdr_peak_nits: 47.9 is outside \[48.0, 500.0\]"),
    ],
)
def test_nested_and_every_param_field_is_validated_by_its_spec(tmp_path: Path, patch: dict,
                                                                message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**Grade().to_dict(), **patch}))
    with pytest.raises(GradeError, match=message) as err:
        Grade.load(path)
    assert str(path) in str(err.value)


def test_every_numeric_param_is_refused_just_outside_its_range() -> None:
    sections = {"": (Grade, ""), "source": (SourceTransform, "source."),
                "output": (OutputSettings, "output.")}
    checked = []
    for section, (cls, prefix) in sections.items():
        for spec in param_specs(cls):
            if spec.type not in ("int", "float"):
                continue
            for bad in (spec.minimum - 1, spec.maximum + 1):
                data = Grade().to_dict()
                (data[section] if section else data)[spec.name] = bad
                with pytest.raises(GradeError, match=f"^{prefix}{spec.name}: {bad} is outside"):
                    Grade.from_dict(data)
            checked.append(prefix + spec.name)
    assert checked == ["exposure", "saturation", "reference_white", "peak_nits", "sdr_peak_nits",
                       "source.gamma", "output.exr_nits_per_unit", "output.mastering_min_nits", "output.crf"]


def test_values_read_from_json_keep_their_types() -> None:
    data = {**Grade().to_dict(), "peak_nits": 4000, "output": {"crf": 20, "format": "sdr"},
            "source": {"gamma": 2}}
    g = Grade.from_dict(data)
    assert (g.peak_nits, g.output.crf, g.source.gamma) == (4000.0, 20, 2.0)
    assert (type(g.peak_nits), type(g.output.crf), type(g.source.gamma)) == (float, int, float)
    # Keys left out of a section keep the section's defaults.
    assert g.output == OutputSettings(format="sdr", crf=20)


def test_grade_specs_and_display_only_fields() -> None:
    specs = grade_specs()
    names = ["exposure", "saturation", "reference_white", "peak_nits", "sdr_peak_nits"]
    assert [s.name for s in specs] == names
    assert [(s.minimum, s.maximum, s.default) for s in specs] == [
        (-10.0, 10.0, 0.0), (0.0, 2.0, 1.0), (48.0, 500.0, 203.0), (100.0, 10000.0, 1000.0),
        (48.0, 500.0, 100.0)]
    assert frozenset({"tmo", "sdr_peak_nits", "output"}) == DISPLAY_ONLY_FIELDS
    assert OutputSettings().format in DELIVERABLES
