"""Crash-safe sessions: the project autosaved while the user works, restored after a crash.

Each running window writes its session as a project (app.project, an atomic write) to
`autosave-<pid>.lumigrade` in the autosave folder: AUTOSAVE_PAUSE_S after the last undoable
change (a grade edit, an undo or redo) or a change of versions and compare sides, and every
AUTOSAVE_INTERVAL_S while there are unsaved changes. Saving the project or closing the window
normally removes the file. A file whose process is no longer running is what a crash (or a
kill) left behind: on start the window offers to restore it, as word processors do.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QTimer

from app.project import PROJECT_SUFFIX
from app.session import Session
from engine.errors import LumigradeError

AUTOSAVE_INTERVAL_S = 60.0
AUTOSAVE_PAUSE_S = 2.0
_PREFIX = "autosave-"


def autosave_folder(settings: QSettings) -> Path:
    """Beside the settings file: per user, and a test's own settings keep its autosaves apart."""
    return Path(settings.fileName()).absolute().parent / "autosave"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, and not ours to restore
        return True
    return True


def orphaned_autosaves(folder: Path) -> list[Path]:
    """Autosaves whose window's process has ended without removing them, newest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob(f"{_PREFIX}*{PROJECT_SUFFIX}"):
        pid = path.name.removeprefix(_PREFIX).removesuffix(PROJECT_SUFFIX)
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            found.append(path)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


class Autosave(QObject):
    """Writes the session's project after a pause in its edits and at an interval while unsaved."""

    def __init__(self, session: Session, folder: Path, report: Callable[[str], None],
                 interval_s: float = AUTOSAVE_INTERVAL_S, pause_s: float = AUTOSAVE_PAUSE_S,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.folder, self.report = session, folder, report
        self.path = folder / f"{_PREFIX}{os.getpid()}{PROJECT_SUFFIX}"
        self._pause = QTimer(self, singleShot=True, interval=round(pause_s * 1000))
        self._pause.timeout.connect(self.save_now)
        self._interval = QTimer(self, interval=round(interval_s * 1000))
        self._interval.timeout.connect(self.save_now)
        self._interval.start()
        for signal in (session.undo_stack.indexChanged, session.versions_changed, session.sides_changed):
            signal.connect(self._edited)
        session.project_changed.connect(self._forget_when_saved)

    def _edited(self, *_: object) -> None:
        """(Re)start the pause: the save comes once edits stop for pause_s (a slider drag is
        many edits). No arguments reach QTimer.start, whose int overload is a new interval."""
        self._pause.start()

    def save_now(self) -> None:
        """Write the autosave when there are unsaved changes (an atomic write: a crash mid-write
        leaves the previous autosave)."""
        if not self.session.dirty:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.session.project().save(self.path)
        except (LumigradeError, OSError) as exc:
            self.report(f"Autosave failed: {exc}")

    def _forget_when_saved(self) -> None:
        if not self.session.dirty:
            self.discard()

    def discard(self) -> None:
        """Remove this window's autosave (the project was saved, or the window closed normally)."""
        self._pause.stop()
        self.path.unlink(missing_ok=True)

    def stop(self) -> None:
        self._interval.stop()
        self.discard()

    def offer_restore(self, ask: Callable[[str], bool]) -> bool:
        """After a crash, ask (with `ask(question)`) whether to restore the newest orphaned
        autosave, and restore it when the answer is yes. Orphans are removed either way.
        Returns whether a session was restored."""
        orphans = orphaned_autosaves(self.folder)
        if not orphans:
            return False
        newest = orphans[0]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(newest.stat().st_mtime))
        restored = False
        if ask(f"Lumigrade did not close normally. Restore the session autosaved at {when}?"):
            try:
                self.session.restore_project(newest)
                restored = True
            except LumigradeError as exc:
                self.report(f"Cannot restore the autosaved session: {exc}")
        for orphan in orphans:
            orphan.unlink(missing_ok=True)
        if restored:
            self.save_now()  # now this window's own autosave, until it is saved
        return restored
