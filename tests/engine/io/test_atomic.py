"""AtomicOutput: outputs appear complete or not at all, and never disturb what is already on disk."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import OutputError
from engine.io.atomic import AtomicOutput

REPO = Path(__file__).resolve().parents[3]


def run_python(code: str, *, unprivileged: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter at the repository root.

    unprivileged: as root, drop the capabilities that let root write anywhere (CAP_DAC_*), so
    file permissions apply as they do to a colorist's account.
    """
    command = [sys.executable, "-c", code]
    if unprivileged and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: permissions cannot be enforced")
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *command]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


def test_file_is_written_under_a_hidden_name_and_renamed(tmp_path: Path) -> None:
    target = tmp_path / "clip.mov"
    with AtomicOutput(target) as temp:
        assert temp.parent == tmp_path and temp.name.startswith(".") and temp.suffix == ".mov"
        temp.write_bytes(b"complete")
        assert not target.exists()
    assert target.read_bytes() == b"complete"
    assert os.listdir(tmp_path) == ["clip.mov"]


def test_failure_leaves_an_existing_output_untouched(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"previous render")
    with pytest.raises(RuntimeError), AtomicOutput(target) as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("encoder crashed")
    assert target.read_bytes() == b"previous render"
    assert os.listdir(tmp_path) == ["clip.mp4"]


def test_cancel_removes_the_partial_file(tmp_path: Path) -> None:
    output = AtomicOutput(tmp_path / "clip.mp4")
    output.temp.write_bytes(b"partial")
    output.discard()
    output.discard()  # idempotent
    assert os.listdir(tmp_path) == []
    with pytest.raises(OutputError, match="already committed or discarded"):
        output.commit()


def test_directory_output_is_renamed_into_place(tmp_path: Path) -> None:
    target = tmp_path / "shot"
    with AtomicOutput(target, directory=True) as temp:
        (temp / "shot.000000.exr").write_bytes(b"f0")
        assert temp.is_dir() and temp.name.startswith(".")
    assert sorted(os.listdir(target)) == ["shot.000000.exr"]
    assert os.listdir(tmp_path) == ["shot"]


def test_directory_output_into_a_folder_with_content_replaces_only_its_files(tmp_path: Path) -> None:
    target = tmp_path / "renders"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    (target / "f.000000.exr").write_bytes(b"old")
    with AtomicOutput(target, directory=True) as temp:
        (temp / "f.000000.exr").write_bytes(b"new")
    assert (target / "notes.txt").read_text() == "keep me"
    assert (target / "f.000000.exr").read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["renders"]


def test_failed_directory_output_removes_its_frames(tmp_path: Path) -> None:
    target = tmp_path / "renders"
    target.mkdir()
    (target / "f.000000.exr").write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), AtomicOutput(target, directory=True) as temp:
        (temp / "f.000000.exr").write_bytes(b"new")
        raise KeyboardInterrupt
    assert (target / "f.000000.exr").read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["renders"]


def test_missing_folder_is_an_output_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="output folder does not exist") as info:
        AtomicOutput(tmp_path / "nowhere" / "clip.mp4")
    assert info.value.path == tmp_path / "nowhere"


def test_file_target_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        AtomicOutput(tmp_path / "clip.mp4")


def test_unwritable_folder_is_an_output_error_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = run_python(
            "from engine.errors import OutputError\n"
            "from engine.io.atomic import AtomicOutput\n"
            "try:\n"
            f"    AtomicOutput({str(folder / 'clip.mp4')!r})\n"
            "except OutputError as exc:\n"
            "    print(exc)\n",
            unprivileged=True,
        )
    finally:
        folder.chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{folder}: output folder is not writable (Permission denied)"
    assert os.listdir(folder) == []


def test_full_disk_is_an_output_error_and_leaves_nothing(tmp_path: Path) -> None:
    # RLIMIT_FSIZE makes write(2) fail with EFBIG past 64 KiB, as a full disk fails with ENOSPC.
    target = tmp_path / "big.bin"
    result = run_python(
        "import resource, signal\n"
        "from engine.errors import OutputError\n"
        "from engine.io.atomic import AtomicOutput\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))\n"
        "try:\n"
        f"    with AtomicOutput({str(target)!r}) as temp, open(temp, 'wb') as f:\n"
        "        for _ in range(64):\n"
        "            f.write(bytes(4096))\n"
        "            f.flush()\n"
        "except OutputError as exc:\n"
        "    print(exc)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{target}: disk full while writing")
    assert os.listdir(tmp_path) == []


def _killed_mid_write(target: Path, directory: bool) -> None:
    """A real process that starts writing `target` and is killed outright (SIGKILL) mid-write."""
    result = run_python(
        "import os, signal\n"
        "from engine.io.atomic import AtomicOutput\n"
        f"out = AtomicOutput({str(target)!r}, directory={directory})\n"
        "(out.temp / 'frame.0000.exr' if out.directory else out.temp).write_bytes(b'half a frame')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    assert result.returncode == -9, result.stderr


@pytest.mark.parametrize("directory", [False, True])
def test_a_killed_jobs_temporary_is_removed_by_the_next_job(tmp_path: Path, directory: bool) -> None:
    target = tmp_path / ("shot_exr" if directory else "shot.mp4")
    _killed_mid_write(target, directory)
    (orphan,) = [p for p in tmp_path.iterdir() if p.name.startswith(".shot")]
    # A live owner's temporary (this process) and another host's are not the next job's to judge.
    alive = tmp_path / orphan.name.replace(orphan.name.split("-")[-2], str(os.getpid()))
    elsewhere = tmp_path / ".shot.otherhost-1-0123abcd.partial.mp4"
    for keep in (alive, elsewhere):
        keep.mkdir() if directory else keep.write_bytes(b"in progress")
    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("keep")
    with AtomicOutput(target, directory=directory) as temp:
        assert not orphan.exists()
        (temp / "frame.0000.exr" if directory else temp).write_bytes(b"complete")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, alive.name, elsewhere.name,
                                                                   "notes.txt"])
