"""Project and grade files from someone else: paths outside the project's folder, pipes and
devices, absurd values, huge files and arrays are refused with one line naming the file, and
nothing in a file can run code (JSON data only, operators looked up in a fixed catalogue)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from app.project import MAX_VERSIONS, Project
from engine.errors import LumigradeError, MediaError
from engine.grade import MAX_JSON_BYTES, Grade
from engine.io.open import open_clip


def refused(path: Path, loader: object = Project.load) -> str:
    with pytest.raises(LumigradeError) as exc:
        loader(path)  # type: ignore[operator]
    message = str(exc.value)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    return message


def project_text(**changes: object) -> str:
    return json.dumps({**Project().to_dict(), **changes})


def test_relative_source_leaving_the_project_folder_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.lumigrade"
    path.write_text(project_text(source="../../../../etc/passwd"))
    assert "leads outside the project's folder" in refused(path)
    # What save() writes: relative below the folder, absolute elsewhere; both load back.
    (tmp_path / "media").mkdir()
    inside, outside = tmp_path / "media" / "a.mp4", tmp_path.parent / "b.mp4"
    for source in (inside, outside):
        Project(source=source).save(path)
        assert Project.load(path).source == source
    assert json.loads(path.read_text())["source"] == str(outside)
    path.write_text(project_text(source="media/../media/a.mp4"))  # ".." that stays inside
    assert Project.load(path).source == tmp_path / "media" / "../media/a.mp4"


@pytest.mark.parametrize("source", ["a\x00b.mp4", "", "   "])
def test_source_that_is_no_path_is_refused(tmp_path: Path, source: str) -> None:
    path = tmp_path / "p.lumigrade"
    path.write_text(project_text(source=source))
    assert "is not a path" in refused(path)


def test_pipes_and_devices_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(MediaError, match="not a regular file"):
        open_clip(fifo)  # a reader would wait for a writer forever
    with pytest.raises(MediaError, match="not a regular file"):
        open_clip("/dev/zero")  # ... or read zeros forever
    project_fifo = tmp_path / "pipe.lumigrade"
    os.mkfifo(project_fifo)
    assert "not a regular file" in refused(project_fifo)
    with pytest.raises(MediaError, match="not a usable path"):
        open_clip(tmp_path / ("x" * 5000))  # longer than NAME_MAX: the OS refuses it


@pytest.mark.parametrize(
    ("grade", "words"),
    [({"exposure": 1e308}, "exposure: 1e+308 is outside [-10.0, 10.0]"),
     ({"peak_nits": float("nan")}, "peak_nits"),
     ({"saturation": [1.0] * 100000}, "saturation: expected a number"),
     ({"itm": {"name": "akyuz", "params": {"gamma": 1e300}}}, "gamma"),
     ({"output": {"crf": 10**30}}, "output.crf"),
     ({"temporal_params": {"search_radius": -(10**12)}}, "temporal_params")],
)
def test_absurd_values_are_refused_with_the_key(tmp_path: Path, grade: dict, words: str) -> None:
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"version": 1, **grade}))
    assert words in refused(path, Grade.load)


def test_huge_files_and_arrays_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.lumigrade"
    with open(path, "wb") as handle:  # sparse: the size is claimed, nothing is read
        handle.truncate(MAX_JSON_BYTES + 1)
    assert f"{MAX_JSON_BYTES + 1} bytes" in refused(path)
    versions = [{"name": f"v{i}", "grade": {"version": 1}} for i in range(MAX_VERSIONS + 1)]
    path.write_text(project_text(versions=versions))
    assert f"{MAX_VERSIONS + 1} versions" in refused(path)


@pytest.mark.parametrize(
    "grade",
    [{"itm": {"name": "antigravity"}},  # a module name: never imported
     {"itm": {"name": "os.system", "params": {"command": "touch pwned"}}},
     {"tmo": {"name": "__import__"}},
     {"__class__": "subprocess.Popen"},
     {"itm": {"name": "bt2408", "params": {"__reduce__": "os.system"}}}],
)
def test_nothing_in_a_grade_can_run_code(tmp_path: Path, grade: dict) -> None:
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"version": 1, **grade}))
    modules = set(sys.modules)
    refused(path, Grade.load)
    assert set(sys.modules) - modules == set()
    assert not (tmp_path / "pwned").exists()


def test_a_pickle_is_no_project(tmp_path: Path) -> None:
    import pickle

    path = tmp_path / "p.lumigrade"
    path.write_bytes(pickle.dumps(Project()))
    assert "cannot read project file" in refused(path)  # binary, not UTF-8 JSON: never unpickled
