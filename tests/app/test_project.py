"""The .lumigrade project file: round trip, relative source paths, saved grade versions, schema 1
files, and validation errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.project import PROJECT_SCHEMA_VERSION, Project
from app.versions import CURRENT, SOURCE, CompareSides, GradeVersion
from app.viewer.view_state import CompareMode, DisplayView, MaskView, ViewSettings
from engine.errors import GradeError
from engine.grade import Grade, OperatorChoice


def _project(source: Path) -> Project:
    grade = Grade(exposure=0.5, peak_nits=4000.0, itm=OperatorChoice("bt2408"))
    view = ViewSettings(view=DisplayView.PQ, exposure=-1.0, compare=CompareMode.WIPE, split=0.3,
                        false_colour=True, mask=MaskView.CLIPPED, mask_opacity=0.25)
    versions = (GradeVersion("durand", grade.replace(tmo=OperatorChoice("durand", {"contrast": 4.0}))),
                GradeVersion("warm +1", grade.replace(exposure=1.0, saturation=1.2)))
    return Project(source, grade, view, frame=12, versions=versions, sides=CompareSides("durand", "warm +1"))


def test_round_trip_with_a_relative_source(tmp_path: Path) -> None:
    (tmp_path / "footage").mkdir()
    project = _project(tmp_path / "footage" / "clip.mov")
    path = project.save(tmp_path / "shot.lumigrade")
    data = json.loads(path.read_text())
    assert data["source"] == "footage/clip.mov" and data["lumigrade_project"] == PROJECT_SCHEMA_VERSION == 2
    assert data["grade"]["version"] == 1
    assert [v["name"] for v in data["versions"]] == ["durand", "warm +1"]
    assert data["versions"][0]["grade"]["tmo"] == {"name": "durand", "params": {"contrast": 4.0}}
    assert data["sides"] == {"a": "durand", "b": "warm +1"}
    loaded = Project.load(path)
    assert loaded == project
    assert loaded.versions[1].grade.exposure == 1.0 and loaded.versions[1].grade.saturation == 1.2
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


def test_a_schema_1_project_still_loads(tmp_path: Path) -> None:
    """A file written before versions existed: no versions, A on the source, B on the grade."""
    path = tmp_path / "old.lumigrade"
    path.write_text(json.dumps({
        "lumigrade_project": 1, "source": "clip.mov", "frame": 3,
        "grade": {"version": 1, "exposure": 0.75, "tmo": {"name": "drago", "params": {}}},
        "compare": {"mode": "wipe", "view": "pq", "split": 0.25},
    }))
    project = Project.load(path)
    assert project.source == tmp_path / "clip.mov" and project.frame == 3
    assert project.grade == Grade(exposure=0.75, tmo=OperatorChoice("drago"))
    assert project.view == ViewSettings(view=DisplayView.PQ, compare=CompareMode.WIPE, split=0.25)
    assert project.versions == () and project.sides == CompareSides(SOURCE, CURRENT)
    # Schema 1 had no versions: a key of schema 2 in a schema 1 file is an error, not ignored.
    path.write_text('{"lumigrade_project": 1, "versions": []}')
    with pytest.raises(GradeError, match="unknown key 'versions'"):
        Project.load(path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"lumigrade_project": 2, "versions": {}}', "versions: expected a list"),
        ('{"lumigrade_project": 2, "versions": [{"name": "", "grade": {"version": 1}}]}',
         "versions[0].name: expected a name"),
        ('{"lumigrade_project": 2, "versions": [{"name": "a", "grade": {"version": 1}}, '
         '{"name": "a", "grade": {"version": 1}}]}', "versions[1].name: 'a' is used twice"),
        ('{"lumigrade_project": 2, "versions": [{"name": "a"}]}', "versions[0]: missing 'grade'"),
        ('{"lumigrade_project": 2, "sides": {"a": "nope"}}', "sides.a: 'nope' is not one of source, current"),
        ('{"lumigrade_project": 2, "sides": {"c": "source"}}', "sides: unknown key 'c'"),
    ],
)
def test_bad_versions_raise_grade_error(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.lumigrade"
    path.write_text(text)
    with pytest.raises(GradeError) as info:
        Project.load(path)
    assert problem in str(info.value)


def test_missing_project_file(tmp_path: Path) -> None:
    with pytest.raises(GradeError, match="project file not found"):
        Project.load(tmp_path / "none.lumigrade")
