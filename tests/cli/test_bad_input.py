"""Bad input: one line naming the file and the problem, exit status 2, no partial output."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import OpenEXR
import pytest

from app.cli import main
from engine.errors import RenderCancelled
from engine.grade import Grade
from engine.jobs import CancelToken
from engine.render import render
from tests.cli.conftest import write_sdr_clip


def expect_bad_input(capsys: pytest.CaptureFixture[str], args: list[str], *words: str) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def write_exr(path: Path, channels: dict[str, np.ndarray]) -> Path:
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, channels) as f:
        f.write(str(path))
    return path


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.mp4"
    expect_bad_input(capsys, ["render", str(missing), "-o", str(tmp_path / "o.mp4")], str(missing))
    assert leftovers(tmp_path, set()) == []


def test_not_a_video(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 50)
    expect_bad_input(capsys, ["render", str(fake), "-o", str(tmp_path / "o.mp4")], str(fake))
    assert leftovers(tmp_path, {"notes.mp4"}) == []


def test_truncated_mp4(white_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = white_clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    expect_bad_input(capsys, ["render", str(cut), "-o", str(tmp_path / "o.mp4")], str(cut))
    assert leftovers(tmp_path, {"cut.mp4", "white.mp4"}) == []


def test_zero_frames(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=size=64x48:duration=1",
                    "-frames:v", "0", "-c:v", "ffv1", str(empty)], check=True)
    expect_bad_input(capsys, ["render", str(empty), "-o", str(tmp_path / "o.mp4")], str(empty))
    assert leftovers(tmp_path, {"empty.mkv"}) == []


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_exr_with_nan_or_inf(tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: float) -> None:
    rgb = np.ones((16, 16, 3), np.float32)
    rgb[3, 4, 1] = bad
    exr = write_exr(tmp_path / "bad.exr", {"RGB": rgb})
    line = expect_bad_input(capsys, ["render", str(exr), "-o", str(tmp_path / "o.mp4")], str(exr))
    assert "NaN" in line or "Inf" in line
    assert leftovers(tmp_path, {"bad.exr"}) == []


def test_exr_without_rgb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exr = write_exr(tmp_path / "depth.exr", {"Z": np.ones((16, 16), np.float32)})
    expect_bad_input(capsys, ["render", str(exr), "-o", str(tmp_path / "o.mp4")], str(exr))
    assert leftovers(tmp_path, {"depth.exr"}) == []


def test_output_folder_cannot_be_written(white_clip: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    # A regular file where the folder should be: unwritable even for root, unlike chmod.
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    target = blocker / "out.mp4"
    expect_bad_input(capsys, ["render", str(white_clip), "-o", str(target)], str(blocker))
    assert blocker.read_text() == ""


def test_bad_param(white_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = expect_bad_input(capsys, ["render", str(white_clip), "-o", str(tmp_path / "o.mp4"),
                                     "--itm", "akyuz", "--param", "gamma=-3"], "gamma")
    assert "below" in line
    assert leftovers(tmp_path, {"white.mp4"}) == []


@pytest.mark.parametrize(
    ("args", "words"),
    [(["--tmo", "reinhard", "--tmo-param", "key=5"], ("key", "5.0 is above 1.0")),
     (["--tmo-param", "wobble=1"], ("bt2446a", "no parameter 'wobble'")),
     (["--tmo-param", "key"], ("--tmo-param", "not KEY=VALUE"))],
)
def test_bad_tmo_param(white_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                       args: list[str], words: tuple[str, ...]) -> None:
    expect_bad_input(capsys, ["render", str(white_clip), "-o", str(tmp_path / "o.mp4"), "--format", "sdr",
                              *args], *words)
    assert leftovers(tmp_path, {"white.mp4"}) == []


@pytest.mark.parametrize("fmt", ["prores", "hdr10"])  # hdr10 also spools its analysis pass
def test_full_disk_leaves_nothing(white_clip: Path, tmp_path: Path, fmt: str) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    existing = out_dir / "out.mov"
    existing.write_bytes(b"previous deliverable")

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (600, 600))

    res = subprocess.run(
        [sys.executable, "-m", "app.cli", "render", str(white_clip), "-o", str(existing),
         "--format", fmt, "-y"],
        capture_output=True, text=True, preexec_fn=limit_file_size, cwd=Path(__file__).parents[2],
    )
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "disk full" in lines[0] and str(out_dir) in lines[0], res.stderr
    assert existing.read_bytes() == b"previous deliverable"
    assert leftovers(out_dir, {"out.mov"}) == []


def test_cancelled_render_leaves_nothing(white_clip: Path, tmp_path: Path) -> None:
    token = CancelToken()
    seen: list[tuple[str, int]] = []

    def progress(stage: str, done: int, total: int) -> None:
        seen.append((stage, done))
        if stage == "encode" and done == 2:
            token.cancel()

    out = tmp_path / "o.mp4"
    with pytest.raises(RenderCancelled, match="cancelled"):
        render(white_clip, out, Grade(), progress=progress, cancel=token)
    assert ("encode", 2) in seen and ("encode", 3) not in seen
    assert leftovers(tmp_path, {"white.mp4"}) == []


def test_fixture_clip_holds_the_frames_it_was_given(tmp_path: Path) -> None:
    # The fixture writer itself must produce exactly the frames it was given.
    clip = write_sdr_clip(tmp_path / "c.mp4", np.zeros((3, 16, 16, 3), np.uint8))
    from engine.io.open import open_clip

    with open_clip(clip) as c:
        assert c.info.frame_count == 3
