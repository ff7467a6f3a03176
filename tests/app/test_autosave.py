"""Crash-safe sessions: autosave after a pause in the edits, and the restore offer after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.autosave import AUTOSAVE_PAUSE_S, Autosave, orphaned_autosaves
from app.project import Project
from app.session import Session
from engine.grade import Grade

REPO = Path(__file__).resolve().parents[2]


def dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_an_edit_is_autosaved_after_the_pause_and_forgotten_on_save(qapp: QApplication, qtbot: object,
                                                                   tiny_clip: Path, tmp_path: Path) -> None:
    session = Session()
    session.open_clip(tiny_clip)
    messages: list[str] = []
    autosave = Autosave(session, tmp_path / "autosave", messages.append, pause_s=1.0)
    started = time.monotonic()
    session.propose_grade(session.grade.replace(exposure=1.25), "exposure")
    qtbot.wait(300)  # type: ignore[attr-defined]  # events run: not saved before the pause is over
    assert not autosave.path.exists()
    qtbot.waitUntil(autosave.path.exists, timeout=5000)  # type: ignore[attr-defined]
    assert time.monotonic() - started >= 0.95  # Qt's coarse timers may fire 5 % early
    saved = Project.load(autosave.path)
    assert saved.grade.exposure == 1.25 and saved.source == tiny_clip
    session.undo_stack.undo()  # back to the state as opened: nothing unsaved, no autosave
    assert not autosave.path.exists()
    session.propose_grade(session.grade.replace(saturation=0.5), "saturation")
    qtbot.waitUntil(autosave.path.exists, timeout=5000)  # type: ignore[attr-defined]
    saved = Project.load(autosave.path)
    assert (saved.grade.exposure, saved.grade.saturation) == (0.0, 0.5)
    session.save_project(tmp_path / "mine.lumigrade")
    assert not autosave.path.exists() and messages == []
    assert orphaned_autosaves(tmp_path / "autosave") == []  # our own process is not an orphan
    session.close()


def test_orphans_are_offered_newest_first_and_removed(qapp: QApplication, tiny_clip: Path,
                                                     tmp_path: Path) -> None:
    folder = tmp_path / "autosave"
    folder.mkdir()
    older, newer = folder / f"autosave-{dead_pid()}.lumigrade", folder / f"autosave-{dead_pid()}.lumigrade"
    Project(source=tiny_clip, grade=Grade(exposure=-1.0)).save(older)
    Project(source=tiny_clip, grade=Grade(exposure=3.0)).save(newer)
    os.utime(older, (time.time() - 60, time.time() - 60))
    alive = folder / f"autosave-{os.getppid()}.lumigrade"  # a window still running elsewhere
    alive.write_text("{}")
    assert orphaned_autosaves(folder) == [newer, older]

    session = Session()
    autosave = Autosave(session, folder, print)
    questions: list[str] = []

    def decline(question: str) -> bool:
        questions.append(question)
        return False

    assert not autosave.offer_restore(decline)
    assert len(questions) == 1 and "did not close normally" in questions[0]
    assert sorted(folder.iterdir()) == [alive] and session.clip is None

    Project(source=tiny_clip, grade=Grade(exposure=3.0)).save(newer)
    assert autosave.offer_restore(lambda q: True)
    assert session.grade.exposure == 3.0 and session.clip_path == tiny_clip
    assert session.dirty and session.project_path is None  # unsaved work: Save asks for a file
    assert sorted(folder.iterdir()) == sorted([alive, autosave.path])  # now autosaved as ours
    autosave.stop()
    session.close()


# A real `lumigrade` GUI process (app.gui.run_gui, as `lumigrade open CLIP` runs it), driven from
# inside by a timer: MODE=edit changes the exposure as the slider does; MODE=answer waits for
# the restore question, answers Yes and prints what the window then holds.
DRIVER = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox
    from app.viewer.gl_format import install_default_surface_format
    install_default_surface_format()
    app = QApplication(sys.argv[:1])
    from app.gui import run_gui
    from app.main_window import MainWindow
    started = time.monotonic()

    def window():
        return next((w for w in app.topLevelWidgets() if isinstance(w, MainWindow)), None)

    def edit():
        w = window()
        if w is None or w.session.clip is None:
            QTimer.singleShot(100, edit)
            return
        w.session.propose_grade(w.session.grade.replace(exposure=2.5), "exposure")
        print("EDITED", flush=True)

    def answer():
        box = app.activeModalWidget()
        if not isinstance(box, QMessageBox):
            if time.monotonic() - started > 60:
                print("NO OFFER", flush=True)
                os._exit(3)
            QTimer.singleShot(100, answer)
            return
        print("OFFER " + box.text(), flush=True)
        box.button(QMessageBox.StandardButton.Yes).click()
        QTimer.singleShot(100, report)

    def report():  # once the restore is done and run_gui's event loop runs
        s = window().session
        if s.clip is None and time.monotonic() - started < 60:
            QTimer.singleShot(100, report)
            return
        print("STATE " + json.dumps({"exposure": s.grade.exposure, "clip": str(s.clip_path),
                                     "dirty": s.dirty}), flush=True)
        window().close()
        app.quit()

    QTimer.singleShot(0, edit if sys.argv[1] == "edit" else answer)
    sys.exit(run_gui(Path(sys.argv[2])))
""")


@pytest.mark.gui
def test_killed_app_offers_its_autosave_on_the_next_start(gl_app: QApplication, tiny_clip: Path,
                                                          tmp_path: Path) -> None:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    # QSettings and so the autosave folder follow XDG_CONFIG_HOME: the user's own stay untouched.
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "PYTHONPATH": str(REPO),
           "QT_QPA_PLATFORM": "xcb", "OMP_NUM_THREADS": "1"}
    folder = tmp_path / "config" / "Lumigrade" / "autosave"
    first = subprocess.Popen([sys.executable, str(script), "edit", str(tiny_clip)], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    autosave = folder / f"autosave-{first.pid}.lumigrade"
    try:
        deadline = time.monotonic() + 120
        while not (autosave.exists() and Project.load(autosave).grade.exposure == 2.5):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "no autosave of the edit"
            time.sleep(0.2)
    finally:
        first.send_signal(signal.SIGKILL)  # a crash: no closeEvent, no cleanup
        first.wait()
    assert first.returncode == -signal.SIGKILL
    assert AUTOSAVE_PAUSE_S <= 5  # the edit reached the disk within the pause, not the interval

    second = subprocess.run([sys.executable, str(script), "answer", str(tiny_clip)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    lines = second.stdout.splitlines()
    assert any(line.startswith("OFFER ") and "did not close normally" in line for line in lines), lines
    state = json.loads(next(line for line in lines if line.startswith("STATE "))[6:])
    assert state == {"exposure": 2.5, "clip": str(tiny_clip), "dirty": True}
    assert list(folder.iterdir()) == []  # the orphan is gone, and the clean exit removed its own
