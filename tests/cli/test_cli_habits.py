"""CLI habits: --version, -y / -n and the prompt, and a .lumigrade project as --grade."""

from __future__ import annotations

import io
from importlib import metadata
from pathlib import Path

import OpenEXR
import pytest

from app.cli import main
from app.project import Project
from engine.grade import Grade, OutputSettings


def test_version_prints_the_distribution_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"lumigrade {metadata.version('lumigrade')}"


def _render(clip: Path, out: Path, *flags: str) -> int:
    """An EXR render (the stage path: quick) of two frames into `out`."""
    return main(["render", str(clip), "-o", str(out), "--format", "exr", "--itm", "bt2408",
                 "--frames", "0:2", *flags])


def test_existing_output_is_refused_without_a_terminal(white_clip: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "out.000000.exr").write_bytes(b"keep me")
    assert _render(white_clip, out) == 2
    assert "the output exists (pass -y to overwrite it)" in capsys.readouterr().err
    assert _render(white_clip, out, "-n") == 2
    assert (out / "out.000000.exr").read_bytes() == b"keep me"
    assert _render(white_clip, out, "-y") == 0
    with OpenEXR.File(str(out / "out.000000.exr")) as exr:  # replaced by a real frame
        assert exr.parts[0].header["dataWindow"][1].tolist() == [63, 47]
    assert (out / "out.000001.exr").exists()


def test_a_terminal_is_asked(white_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "shot.%04d.exr"
    (tmp_path / "shot.0000.exr").write_bytes(b"keep me")
    answer = io.StringIO("n\n")
    answer.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr("sys.stdin", answer)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert _render(white_clip, out) == 2
    assert "exists. Overwrite? [y/N]" in capsys.readouterr().err
    assert (tmp_path / "shot.0000.exr").read_bytes() == b"keep me"
    with pytest.raises(SystemExit):  # argparse refuses -y with -n
        _render(white_clip, out, "-y", "-n")


def test_render_takes_a_project_grade(white_clip: Path, tmp_path: Path) -> None:
    """The project's grade decides the deliverable (EXR) and its whiteLuminance (250)."""
    project = tmp_path / "shot.lumigrade"
    output = OutputSettings(format="exr", exr_nits_per_unit=250.0)
    Project(source=white_clip, grade=Grade(output=output)).save(project)
    out = tmp_path / "out"
    assert main(["render", str(white_clip), "-o", str(out), "--itm", "bt2408", "--frames", "0:1",
                 "--grade", str(project)]) == 0
    with OpenEXR.File(str(out / "out.000000.exr")) as exr:
        assert float(exr.parts[0].header["whiteLuminance"]) == 250.0
