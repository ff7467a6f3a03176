"""Disk and media faults during a render, made with real file-system conditions: the input
vanishing (a renamed folder, a truncated or deleted file), the output folder turning read-only
(permissions enforced even for root by dropping CAP_DAC_OVERRIDE), and a full disk in the middle
of an EXR sequence (RLIMIT_FSIZE). Each gives one clear line naming the file and leaves an
earlier deliverable as it was."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.errors import MediaError
from engine.grade import Grade, OperatorChoice, OutputSettings
from engine.render import render
from tests.cli.conftest import ffprobe, write_sdr_clip
from tests.engine.io.test_atomic import run_python

REPO = Path(__file__).resolve().parents[2]
SDR = Grade(itm=OperatorChoice("bt2408"), output=OutputSettings(format="sdr", preset="ultrafast"))
EXR = Grade(itm=OperatorChoice("bt2408"), output=OutputSettings(format="exr"))
FRAMES = 8


def flat_then_noise() -> np.ndarray:
    """Four flat grey frames (tiny once compressed), then four of noise (large)."""
    frames = np.full((FRAMES, 48, 64, 3), 128, np.uint8)
    frames[FRAMES // 2 :] = np.random.default_rng(21).integers(0, 256, (FRAMES // 2, 48, 64, 3), np.uint8)
    return frames


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_sdr_clip(tmp_path / "in.mp4", flat_then_noise())


def at_frame(index: int, action: object) -> object:
    """A progress callback that runs `action()` when the encoder has taken frame `index`."""
    def progress(stage: str, done: int, total: int) -> None:
        if stage == "encode" and done == index:
            action()  # type: ignore[operator]
    return progress


def earlier_deliverable(folder: Path) -> tuple[Path, bytes]:
    """A file a previous render left where the new one goes (the EXR case renders a real one)."""
    folder.mkdir(exist_ok=True)
    out = folder / "out.mp4"
    out.write_bytes(b"an earlier deliverable")
    return out, out.read_bytes()


def test_sequence_folder_vanishing_mid_render(tmp_path: Path) -> None:
    # An unmounted drive: the folder of frames is gone after frame 2 (decoding runs a few ahead).
    shot = tmp_path / "shot"
    shot.mkdir()
    for i, rgb in enumerate(np.concatenate([flat_then_noise()] * 3)):
        cv2.imwrite(str(shot / f"f.{i:04d}.png"), rgb[..., ::-1])
    pattern = shot / "f.%04d.png"
    out, before = earlier_deliverable(tmp_path / "out")
    with pytest.raises(MediaError) as exc:
        render(pattern, out, SDR, progress=at_frame(2, lambda: shot.rename(tmp_path / "unmounted")))
    message = str(exc.value)
    assert "\n" not in message and message.startswith(str(shot / "f.")) and "no such file" in message
    assert out.read_bytes() == before
    assert os.listdir(out.parent) == ["out.mp4"]


def test_video_truncated_mid_render(tmp_path: Path) -> None:
    # Long enough that the demuxer has not buffered the cut-off part when the cut comes.
    clip = write_sdr_clip(tmp_path / "long.mp4", np.concatenate([flat_then_noise()] * 6))
    out, before = earlier_deliverable(tmp_path / "out")
    size = clip.stat().st_size
    with pytest.raises(MediaError) as exc:
        render(clip, out, SDR, progress=at_frame(2, lambda: os.truncate(clip, size // 3)))
    assert str(exc.value).startswith(f"{clip}: frame ") and "truncated" in str(exc.value)
    assert out.read_bytes() == before
    assert os.listdir(out.parent) == ["out.mp4"]


def test_video_deleted_mid_render_is_read_to_the_end(clip: Path, tmp_path: Path) -> None:
    # POSIX keeps an unlinked file's data while it is open: the render finishes from the handle.
    out = tmp_path / "out.mp4"
    render(clip, out, SDR, progress=at_frame(2, clip.unlink))
    assert not clip.exists()
    assert int(ffprobe(out, "-show_streams")["streams"][0]["nb_frames"]) == FRAMES


def test_output_folder_turning_read_only_mid_render(clip: Path, tmp_path: Path) -> None:
    # An EXR sequence (built in a hidden folder, moved into place at the end) into a folder that
    # turns read-only after frame 3; no numba kernel to compile in the child process.
    folder = tmp_path / "out"
    _, before = earlier_deliverable(folder)
    target = folder / "shot"
    code = (
        "import os\n"
        "from engine.errors import LumigradeError\n"
        "from engine.render import render\n"
        "from tests.cli.test_render_faults import EXR, at_frame\n"
        "try:\n"
        f"    render({str(clip)!r}, {str(target)!r}, EXR,\n"
        f"           progress=at_frame(3, lambda: os.chmod({str(folder)!r}, 0o555)))\n"
        "except LumigradeError as exc:\n"
        "    print(exc)\n"
    )
    try:
        result = run_python(code, unprivileged=True)
    finally:
        folder.chmod(0o755)
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    # The finished frames cannot be moved into the folder, nor their hidden folder removed from
    # it (its frames are): the message says both and names what is left for the user to delete.
    expected = f"{target}: cannot write here (Permission denied); the partial output .shot."
    assert line.startswith(expected), line
    partial = line.rsplit("partial output ", 1)[1].split()[0]
    assert sorted(os.listdir(folder)) == sorted(["out.mp4", partial])
    assert os.listdir(folder / partial) == []
    assert (folder / "out.mp4").read_bytes() == before


def test_full_disk_during_an_exr_sequence(clip: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot"
    render(clip, shot, EXR)  # the earlier deliverable
    args = [sys.executable, "-m", "app.cli", "render", str(clip), "-o", str(shot), "--format", "exr",
            "--itm", "bt2408", "-y"]  # -y: replacing the earlier sequence is what is asked
    earlier = {p.name: p.read_bytes() for p in shot.iterdir()}
    flat, noisy = len(earlier[f"shot.{0:06d}.exr"]), len(earlier[f"shot.{FRAMES - 1:06d}.exr"])
    assert len(earlier) == FRAMES and flat * 4 < noisy
    limit = (flat + noisy) // 2  # the flat frames fit, the first noisy one does not

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(args, cwd=REPO, capture_output=True, text=True, preexec_fn=limit_file_size)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"lumigrade: {shot / f'shot.{FRAMES // 2:06d}.exr'}: disk full while writing (File too large)"]
    assert {p.name: p.read_bytes() for p in shot.iterdir()} == earlier
    assert sorted(os.listdir(tmp_path)) == ["in.mp4", "shot"]
