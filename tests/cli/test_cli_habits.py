"""CLI habits: --version, -y / -n and the prompt, and a .lumigrade project as --grade."""

from __future__ import annotations

import io
from importlib import metadata
from pathlib import Path

import pytest

from app.cli import main
from app.project import Project
from engine.grade import Grade
from tests.cli.conftest import ffprobe


def test_version_prints_the_distribution_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"lumigrade {metadata.version('lumigrade')}"


def _render(clip: Path, out: Path, *flags: str) -> int:
    return main(["render", str(clip), "-o", str(out), "--format", "sdr", "--itm", "bt2408",
                 "--frames", "0:2", *flags])


def test_existing_output_is_refused_without_a_terminal(white_clip: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"keep me")
    assert _render(white_clip, out) == 2
    assert "the output exists (pass -y to overwrite it)" in capsys.readouterr().err
    assert _render(white_clip, out, "-n") == 2
    assert out.read_bytes() == b"keep me"
    assert _render(white_clip, out, "-y") == 0
    assert int(ffprobe(out, "-show_streams")["streams"][0]["nb_frames"]) == 2


def test_a_terminal_is_asked(white_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"keep me")
    answer = io.StringIO("n\n")
    answer.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr("sys.stdin", answer)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert _render(white_clip, out) == 2
    assert "exists. Overwrite? [y/N]" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    with pytest.raises(SystemExit):  # argparse refuses -y with -n
        _render(white_clip, out, "-y", "-n")


def test_render_takes_a_project_grade(white_clip: Path, tmp_path: Path) -> None:
    project = tmp_path / "shot.lumigrade"
    grade = Grade().replace(peak_nits=600.0)
    Project(source=white_clip, grade=grade.replace(output=grade.output.__class__(format="hlg"))).save(project)
    out = tmp_path / "out.mp4"
    assert main(["render", str(white_clip), "-o", str(out), "--itm", "bt2408", "--frames", "0:2",
                 "--grade", str(project)]) == 0
    stream = ffprobe(out, "-show_streams")["streams"][0]
    assert (stream["codec_name"], stream["color_transfer"]) == ("hevc", "arib-std-b67")
