"""Drag and drop onto the window: a clip, an EXR sequence (one frame of it, or its folder) and a
project open as File > Open opens them; drops of nothing local are refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from app.drop import source_to_open
from app.main_window import MainWindow
from engine.io.exr import write_exr
from tests.app.helpers import open_window, wait_for_result

pytestmark = pytest.mark.gui


@pytest.fixture
def window(gl_app: QApplication, qtbot: object, tmp_path: Path) -> MainWindow:
    return open_window(qtbot, tmp_path)


def exr_sequence(folder: Path, frames: int = 3) -> list[Path]:
    """Frames 7.. of 'shot.####.exr', each a flat grey of (frame number) cd/m²."""
    folder.mkdir()
    paths = [folder / f"shot.{n:04d}.exr" for n in range(7, 7 + frames)]
    for n, path in enumerate(paths, 7):
        write_exr(path, torch.full((3, 8, 12), float(n)), white_luminance=1.0)
    return paths


def drop(window: MainWindow, *paths: Path | str) -> tuple[bool, bool]:
    """Send a drag enter and a drop of `paths` (file URLs, or plain URLs when a str) to the
    window's centre, as a drag from a file manager would; (enter accepted, drop accepted)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) if isinstance(p, Path) else QUrl(p) for p in paths])
    centre = window.rect().center()
    enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    event = QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)
    return enter.isAccepted(), event.isAccepted()


def test_a_dropped_clip_opens(window: MainWindow, qtbot: object, tiny_clip: Path) -> None:
    assert drop(window, tiny_clip) == (True, True)
    assert window.session.clip_path == tiny_clip and window.session.info.frame_count == 6  # type: ignore[union-attr]
    assert window.actions.recent_files()[0] == str(tiny_clip.absolute())
    wait_for_result(qtbot, window, 0)


def test_one_dropped_frame_opens_its_whole_sequence(
    window: MainWindow, qtbot: object, tmp_path: Path
) -> None:
    frames = exr_sequence(tmp_path / "seq")
    assert source_to_open(frames[1]) == tmp_path / "seq" / "shot.%04d.exr"
    assert drop(window, frames[1]) == (True, True)
    assert window.session.info.frame_count == 3  # type: ignore[union-attr]
    window.session.set_frame(2)
    result = wait_for_result(qtbot, window, 2)
    # An EXR of linear light with whiteLuminance 1: frame 2 is shot.0009.exr, 9 cd/m² of grey.
    np.testing.assert_allclose(result.source.astype(np.float64), 9.0, rtol=2e-3)


def test_a_dropped_folder_opens_its_sequence_and_a_lone_exr_opens_as_a_still(
    window: MainWindow, tmp_path: Path
) -> None:
    exr_sequence(tmp_path / "seq", frames=2)
    assert drop(window, tmp_path / "seq") == (True, True)
    assert window.session.info.frame_count == 2  # type: ignore[union-attr]
    alone = tmp_path / "alone"
    lone = exr_sequence(alone, frames=1)[0]
    assert source_to_open(lone) == lone
    assert drop(window, lone) == (True, True)
    assert window.session.clip_path == lone and window.session.info.frame_count == 1  # type: ignore[union-attr]


def test_a_dropped_project_opens_with_its_grade(
    window: MainWindow, qtbot: object, tiny_clip: Path, tmp_path: Path
) -> None:
    assert window.actions.open_clip(tiny_clip)
    window.session.apply_grade(window.session.grade.replace(peak_nits=2000.0))
    window.session.set_frame(4)
    project = tmp_path / "shot.lumigrade"
    assert window.actions.save_project(project)
    other = open_window(qtbot, tmp_path / "other")
    assert drop(other, project, tiny_clip) == (True, True)  # the first of several is opened
    assert other.session.project_path == project and other.session.clip_path == tiny_clip
    assert other.session.grade.peak_nits == 2000.0 and other.session.frame == 4
    assert "1 more ignored" in other.statusBar().currentMessage()


def test_drops_of_nothing_local_are_refused_and_bad_files_get_the_open_dialog(
    window: MainWindow, tmp_path: Path
) -> None:
    before = window.session.clip_path
    assert drop(window, "https://example.com/clip.mp4") == (False, False)
    assert window.session.clip_path == before and window.actions.error_box is None
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    assert drop(window, broken) == (True, True)
    assert "broken.mp4" in window.actions.error_box.text()  # type: ignore[union-attr]
    assert window.session.clip_path == before
