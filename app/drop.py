"""Drag and drop onto the window: clips, EXR sequences and projects open as File > Open does.

A dropped folder opens as the EXR sequence it holds, and one dropped frame of a numbered EXR
sequence opens the whole sequence (engine.io.sequence.sequence_pattern_of); any other file
opens as a clip, or as a project when it ends in .lumigrade. Only local files are accepted;
when several are dropped the first is opened and the status bar says so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QObject
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMainWindow

from engine.io.sequence import sequence_pattern_of


def dropped_paths(mime: QMimeData) -> list[Path]:
    """The local files and folders a drag carries, in its order."""
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []


def source_to_open(path: Path) -> Path:
    """What opening a dropped path means: the sequence of a numbered EXR frame, else the path."""
    return sequence_pattern_of(path) or path


class DropOpener(QObject):
    """Accepts file drops on `window` and opens the first through `open_path` (Actions.open_path)."""

    def __init__(self, window: QMainWindow, open_path: Callable[[Path], bool]) -> None:
        super().__init__(window)
        self.window, self.open_path = window, open_path
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            assert isinstance(event, QDragEnterEvent | QDropEvent)
            if dropped_paths(event.mimeData()):
                event.acceptProposedAction()
            else:
                event.ignore()
            return True
        if event.type() == QEvent.Type.Drop:
            assert isinstance(event, QDropEvent)
            paths = dropped_paths(event.mimeData())
            if not paths:
                event.ignore()
                return True
            event.acceptProposedAction()
            self.drop(paths)
            return True
        return super().eventFilter(watched, event)

    def drop(self, paths: list[Path]) -> bool:
        """Open the first of `paths`; True when it opened."""
        opened = self.open_path(source_to_open(paths[0]))
        if opened and len(paths) > 1:
            ignored = len(paths) - 1
            self.window.statusBar().showMessage(f"Opened {paths[0].name}; {ignored} more ignored", 8000)
        return opened
