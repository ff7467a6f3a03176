"""The .lumigrade project file: round trip, relative source paths, and validation errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.project import Project
from app.viewer.view_state import CompareMode, DisplayView, MaskView, ViewSettings
from engine.errors import GradeError
from engine.grade import Grade, OperatorChoice


def _project(source: Path) -> Project:
    grade = Grade(exposure=0.5, peak_nits=4000.0, itm=OperatorChoice("bt2408"))
    view = ViewSettings(view=DisplayView.PQ, exposure=-1.0, compare=CompareMode.WIPE, split=0.3,
                        false_colour=True, mask=MaskView.CLIPPED, mask_opacity=0.25)
    return Project(source, grade, view, frame=12)


def test_round_trip_with_a_relative_source(tmp_path: Path) -> None:
    (tmp_path / "footage").mkdir()
    project = _project(tmp_path / "footage" / "clip.mov")
    path = project.save(tmp_path / "shot.lumigrade")
    data = json.loads(path.read_text())
    assert data["source"] == "footage/clip.mov" and data["lumigrade_project"] == 1
    assert data["grade"]["version"] == 1
    assert Project.load(path) == project
    assert sorted(p.name for p in tmp_path.iterdir()) == ["footage", "shot.lumigrade"]  # no temporary left


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "not valid JSON"),
        ('{"grade": {}}', "not a Lumigrade project"),
        ('{"lumigrade_project": 9}', "version 9 is not supported"),
        ('{"lumigrade_project": 1, "compare": {"mode": "zigzag"}}', "compare.mode: 'zigzag'"),
        ('{"lumigrade_project": 1, "compare": {"split": 3}}', "compare.split: 3 is outside"),
        ('{"lumigrade_project": 1, "grade": {"version": 1, "peak_nits": -5}}', "peak_nits"),
        ('{"lumigrade_project": 1, "extra": 1}', "unknown key 'extra'"),
    ],
)
def test_bad_project_files_raise_grade_error_naming_the_file(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.lumigrade"
    path.write_text(text)
    with pytest.raises(GradeError) as info:
        Project.load(path)
    assert problem in str(info.value)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_project_file(tmp_path: Path) -> None:
    with pytest.raises(GradeError, match="project file not found"):
        Project.load(tmp_path / "none.lumigrade")
