"""The session model: grade edits through the undo stack, what each signal says, view and frame."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.session import Session
from app.viewer.view_state import CompareMode, ViewSettings
from engine.grade import DISPLAY_ONLY_FIELDS, Grade, OperatorChoice

pytestmark = pytest.mark.gui


class Recorder:
    """Every emission of the session's signals, in order, as (name, args)."""

    def __init__(self, session: Session) -> None:
        self.events: list[tuple[str, tuple[object, ...]]] = []
        for name in ("clip_changed", "grade_changed", "view_changed", "frame_changed", "project_changed"):
            getattr(session, name).connect(lambda *args, n=name: self.events.append((n, args)))

    def named(self, name: str) -> list[tuple[object, ...]]:
        return [args for n, args in self.events if n == name]


@pytest.fixture
def session(qapp: QApplication) -> Session:
    return Session()


def test_display_only_fields_are_the_declared_ones_plus_tmo_and_output() -> None:
    assert sorted(DISPLAY_ONLY_FIELDS) == ["output", "sdr_peak_nits", "tmo"]


def test_an_engine_edit_says_so_and_a_display_only_edit_does_not(session: Session) -> None:
    events = Recorder(session)
    revision = session.revision
    session.propose_grade(session.grade.replace(sdr_peak_nits=200.0), "sdr_peak_nits")
    session.propose_grade(session.grade.replace(tmo=OperatorChoice("reinhard")), "tmo.operator")
    assert session.revision == revision  # the engine's frames stay valid
    session.propose_grade(session.grade.replace(exposure=1.0), "exposure")
    assert session.revision == revision + 1
    expected = Grade(sdr_peak_nits=200.0, tmo=OperatorChoice("reinhard"))
    assert events.named("grade_changed") == [
        (Grade(sdr_peak_nits=200.0), False), (expected, False), (expected.replace(exposure=1.0), True),
    ]
    assert events.named("view_changed") == [] and session.undo_stack.count() == 3


def test_undo_and_redo_restore_the_grade(session: Session) -> None:
    session.propose_grade(Grade(exposure=0.5), "exposure")
    session.propose_grade(Grade(exposure=1.0), "exposure")  # the same control: one undo step
    session.propose_grade(Grade(exposure=1.0, saturation=1.5), "saturation")
    assert session.undo_stack.count() == 2
    events = Recorder(session)
    session.undo_stack.undo()
    assert session.grade == Grade(exposure=1.0)
    session.undo_stack.undo()
    assert session.grade == Grade()
    session.undo_stack.redo()
    assert session.grade == Grade(exposure=1.0)
    assert events.named("grade_changed") == [(Grade(exposure=1.0), True), (Grade(), True),
                                             (Grade(exposure=1.0), True)]
    session.propose_grade(Grade(exposure=1.0), "exposure")  # no change: no undo step
    assert session.undo_stack.count() == 2


def test_a_view_change_leaves_the_grade_alone(session: Session) -> None:
    session.propose_grade(Grade(peak_nits=2000.0), "peak_nits")
    events = Recorder(session)
    view = ViewSettings(compare=CompareMode.WIPE, exposure=-1.0)
    session.set_view(view)
    session.set_view(view)  # the same settings again: nothing to tell
    assert session.view == view and events.events == [("view_changed", (view,))]
    assert session.grade == Grade(peak_nits=2000.0) and session.undo_stack.count() == 1


def test_opening_a_clip_resets_the_frame(session: Session, tiny_clip: Path) -> None:
    session.open_clip(tiny_clip)
    session.set_frame(3)
    session.set_frame(99)  # clamped to the last of the clip's 6 frames
    assert session.frame == 5
    session.propose_grade(Grade(exposure=0.5), "exposure")
    events = Recorder(session)
    revision = session.revision
    session.open_clip(tiny_clip)
    assert session.frame == 0 and session.revision == revision + 1
    assert session.grade == Grade(exposure=0.5)  # the grade carries over to the new clip
    assert [n for n, _ in events.events] == ["clip_changed", "grade_changed", "frame_changed"]
    assert events.named("frame_changed") == [(0,)]
    session.close()


def test_saving_marks_the_project_clean(session: Session, tiny_clip: Path, tmp_path: Path) -> None:
    session.open_clip(tiny_clip)
    session.propose_grade(Grade(exposure=0.5), "exposure")
    assert session.dirty
    path = tmp_path / "shot.lumigrade"
    session.save_project(path)
    assert not session.dirty and session.project_path == path
    session.propose_grade(Grade(exposure=0.75), "exposure")
    assert session.dirty
    other = Session()
    other.open_project(path)
    assert other.grade == Grade(exposure=0.5) and other.clip_path == tiny_clip
    assert not other.dirty and other.undo_stack.count() == 0
    session.close()
    other.close()
