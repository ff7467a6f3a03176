"""Grade JSON: round trips, and clear validation errors naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import GradeError
from engine.grade import Grade, OperatorChoice, OutputSettings


def test_default_is_the_bt2408_baseline() -> None:
    g = Grade()
    assert g.itm.name == "bt2408"
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
