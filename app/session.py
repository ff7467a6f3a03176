"""The grading session: one evented model of what the user is working on.

The session owns the open clip, the Grade, the view settings, the current frame, the undo
stack and the project file's path. Widgets never change each other: they propose edits to the
session and redraw from its signals (napari's model/event pattern). A Grade is immutable, so
every grade edit is a GradeCommand on the undo stack; view settings and the frame position are
not grade edits and are not undone.

Each Grade the engine must render for gets a new `revision`; the engine bridge tags its
frames with it and drops frames of older revisions.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import ClassVar

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.project import Project
from app.viewer.view_state import ViewSettings
from engine.errors import LumigradeError
from engine.grade import DISPLAY_ONLY_FIELDS, Grade
from engine.io.clip import Clip, ClipInfo
from engine.io.open import open_clip
from engine.pipeline import Pipeline


def engine_fields_changed(before: Grade, after: Grade) -> bool:
    """Whether the engine must render new frames: a field outside DISPLAY_ONLY_FIELDS differs."""
    return any(
        getattr(before, f.name) != getattr(after, f.name)
        for f in dataclasses.fields(Grade)
        if f.name not in DISPLAY_ONLY_FIELDS
    )


class GradeCommand(QUndoCommand):
    """One undoable grade edit; consecutive edits of the same control merge into one step."""

    _ids: ClassVar[dict[str, int]] = {}

    def __init__(self, session: Session, before: Grade, after: Grade, key: str) -> None:
        super().__init__(f"Change {key}")
        self.session, self.before, self.after, self.key = session, before, after, key

    def id(self) -> int:
        return self._ids.setdefault(self.key, len(self._ids) + 1)

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, GradeCommand) or other.key != self.key:
            return False
        self.after = other.after
        return True

    def redo(self) -> None:
        self.session.apply_grade(self.after)

    def undo(self) -> None:
        self.session.apply_grade(self.before)


class Session(QObject):
    """Clip, Grade, view settings, frame index and project state, with a signal for each."""

    # A new clip is open. grade_changed(grade, True) and frame_changed(0) follow.
    clip_changed = Signal()
    # The Grade now in force; engine_changed: the engine must render new frames for it.
    grade_changed = Signal(object, bool)
    view_changed = Signal(object)  # ViewSettings
    frame_changed = Signal(int)
    project_changed = Signal()  # the project path or the unsaved-changes state
    # A problem the user should see that no caller can be told of (an edit from a widget):
    # title, one-line message. Calls that can fail raise LumigradeError instead.
    error = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clip: Clip | None = None
        self.clip_path: Path | None = None
        self.grade = Grade()
        self.view = ViewSettings()
        self.frame = 0
        self.project_path: Path | None = None
        self.revision = 0
        # The clip through the current Grade, on the GUI thread: it checks a Grade against the
        # clip's tags and gives the preview its display transform. The engine bridge renders
        # with its own Pipeline on its worker thread.
        self.pipeline: Pipeline | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self.project_changed)

    @property
    def info(self) -> ClipInfo | None:
        return self.clip.info if self.clip is not None else None

    @property
    def dirty(self) -> bool:
        """Grade edits since the project was opened or saved."""
        return not self.undo_stack.isClean()

    # -- files ----------------------------------------------------------------------------
    def open_clip(self, path: Path, grade: Grade | None = None) -> None:
        """Open footage graded by `grade` (the current Grade by default); the frame goes to 0.

        Raises LumigradeError, leaving the session as it was, when the file cannot be read or its
        colour tags contradict the Grade.
        """
        grade = grade or self.grade
        clip = open_clip(path)
        try:
            pipeline = Pipeline(grade, clip)
        except LumigradeError:
            clip.close()
            raise
        old = self.clip
        self.clip, self.clip_path, self.grade, self.pipeline = clip, Path(path), grade, pipeline
        self.frame = 0
        self.revision += 1
        if old is not None:
            old.close()
        self.clip_changed.emit()
        self.grade_changed.emit(grade, True)
        self.frame_changed.emit(0)

    def open_project(self, path: Path) -> None:
        """Open a project: its clip (when it names one), Grade, view and frame; a fresh undo history."""
        project = Project.load(path)
        if project.source is not None:
            self.open_clip(project.source, project.grade)
        else:
            self.apply_grade(project.grade)
        self.undo_stack.clear()
        self.set_view(project.view)
        self.set_frame(project.frame)
        self.project_path = Path(path)
        self.project_changed.emit()

    def project(self) -> Project:
        return Project(self.clip_path, self.grade, self.view, self.frame)

    def save_project(self, path: Path) -> None:
        """Write the project (atomically); raises LumigradeError when it cannot."""
        self.project().save(path)
        self.project_path = Path(path)
        self.undo_stack.setClean()
        self.project_changed.emit()

    def close(self) -> None:
        if self.clip is not None:
            self.clip.close()
        self.clip = None
        self.pipeline = None

    # -- grade ----------------------------------------------------------------------------
    def propose_grade(self, grade: Grade, key: str) -> None:
        """An edit from a widget: onto the undo stack (which applies it) when the clip takes it.

        A Grade the clip refuses is reported on `error`, and grade_changed repeats the current
        Grade so the widget that proposed it shows the Grade in force again.
        """
        if grade == self.grade:
            return
        try:
            self._pipeline_for(grade)
        except LumigradeError as exc:
            self.error.emit("Invalid grade", str(exc))
            self.grade_changed.emit(self.grade, False)
            return
        self.undo_stack.push(GradeCommand(self, self.grade, grade, key))

    def apply_grade(self, grade: Grade) -> None:
        """Make `grade` current without an undo step (undo/redo and opening a project use this)."""
        try:
            pipeline = self._pipeline_for(grade)
        except LumigradeError as exc:
            self.error.emit("Invalid grade", str(exc))
            return
        before, self.grade, self.pipeline = self.grade, grade, pipeline
        engine_changed = engine_fields_changed(before, grade)
        if engine_changed:
            self.revision += 1
        self.grade_changed.emit(grade, engine_changed)

    def _pipeline_for(self, grade: Grade) -> Pipeline | None:
        return Pipeline(grade, self.clip) if self.clip is not None else None

    # -- view and frame -------------------------------------------------------------------
    def set_view(self, view: ViewSettings) -> None:
        if view != self.view:
            self.view = view
            self.view_changed.emit(view)

    def set_frame(self, index: int) -> None:
        """Go to frame `index`, clamped to the clip."""
        last = self.clip.info.frame_count - 1 if self.clip is not None else 0
        index = min(max(index, 0), max(last, 0))
        if index != self.frame:
            self.frame = index
            self.frame_changed.emit(index)
