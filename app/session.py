"""The grading session: one evented model of what the user is working on.

The session owns the open clip, the Grade, the view settings, the current frame, the undo
stack and the project file's path. Widgets never change each other: they propose edits to the
session and redraw from its signals (napari's model/event pattern). A Grade is immutable, so
every grade edit is a GradeCommand on the undo stack; view settings and the frame position are
not grade edits and are not undone.

Each Grade the engine must render for gets a new `revision`; the engine bridge tags its
frames with it and drops frames of older revisions. So does a change of what the compare sides
show (app.versions): a saved version on a side is a second grade for the engine to render.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import ClassVar

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.project import Project
from app.versions import CURRENT, SIDE_LABELS, SOURCE, CompareSides, GradeVersion, find_version
from app.viewer.view_state import ViewSettings
from engine.errors import LumigradeError
from engine.grade import DISPLAY_ONLY_FIELDS, Grade
from engine.io.clip import Clip, ClipInfo
from engine.io.open import open_clip
from engine.operators.base import CurveOperator
from engine.operators.catalogue import operator_class
from engine.pipeline import Pipeline


def engine_fields_changed(before: Grade, after: Grade) -> bool:
    """Whether the engine must render new frames: a field outside DISPLAY_ONLY_FIELDS differs."""
    return any(
        getattr(before, f.name) != getattr(after, f.name)
        for f in dataclasses.fields(Grade)
        if f.name not in DISPLAY_ONLY_FIELDS
    )


def spatial_tmo(grade: Grade) -> bool:
    """Whether the Grade's tone mapper needs the whole frame (no curve the preview can bake)."""
    return not issubclass(operator_class("tmo", grade.tmo.name), CurveOperator)


def tone_mapping_changed(before: Grade, after: Grade) -> bool:
    """Whether the SDR tone mapping differs: the TMO, its parameters or its target display."""
    return before.tmo != after.tmo or before.sdr_peak_nits != after.sdr_peak_nits


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
    versions_changed = Signal()  # a version was saved or deleted
    sides_changed = Signal(object)  # CompareSides
    # A problem the user should see that no caller can be told of (an edit from a widget):
    # title, one-line message. Calls that can fail raise LumigradeError instead.
    error = Signal(str, str)
    estimating = Signal(bool)  # the clip's camera response is being estimated off the GUI thread
    _estimated = Signal(object, object, str, object)  # from the estimate thread: path, Grade, key, error

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clip: Clip | None = None
        self.clip_path: Path | None = None
        self.grade = Grade()
        self.view = ViewSettings()
        self.frame = 0
        self.project_path: Path | None = None
        self.versions: tuple[GradeVersion, ...] = ()
        self.sides = CompareSides()
        self._versions_edited = False  # versions or sides changed since the project was saved
        self.revision = 0
        self._estimated.connect(self._estimate_done)
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
        """Grade or version edits since the project was opened or saved."""
        return not self.undo_stack.isClean() or self._versions_edited

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
        self.versions = project.versions
        self.versions_changed.emit()
        self.set_sides(project.sides)
        self.set_view(project.view)
        self.set_frame(project.frame)
        self.project_path = Path(path)
        self._versions_edited = False
        self.project_changed.emit()

    def restore_project(self, path: Path) -> None:
        """Open an autosaved project (app.autosave) as unsaved work: Save asks for a file."""
        self.open_project(path)
        self.project_path = None
        self._versions_edited = True
        self.project_changed.emit()

    def project(self) -> Project:
        return Project(self.clip_path, self.grade, self.view, self.frame, self.versions, self.sides)

    def save_project(self, path: Path) -> None:
        """Write the project (atomically); raises LumigradeError when it cannot."""
        self.project().save(path)
        self.project_path = Path(path)
        self.undo_stack.setClean()
        self._versions_edited = False
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
        if grade == self.grade or self._estimate_first(grade, key):
            return
        try:
            self._pipeline_for(grade)
        except LumigradeError as exc:
            self.error.emit("Invalid grade", str(exc))
            self.grade_changed.emit(self.grade, False)
            return
        self.undo_stack.push(GradeCommand(self, self.grade, grade, key))

    def _estimate_first(self, grade: Grade, key: str) -> bool:
        """Start estimating the clip's camera response on a thread when `grade` needs one not yet made.

        The estimate (engine.crf.estimate) decodes and analyses frames for seconds; the Grade is
        proposed again when it is cached, so the GUI thread never waits for it.
        """
        # Imported here: the estimator pulls in engine.temporal (OpenCV), which most sessions never need.
        from engine.crf.estimate import cached_clip_response, estimate_clip_response

        clip = self.clip
        if grade.source.transfer != "estimated" or clip is None or clip.info.tags.is_hdr():
            return False
        if cached_clip_response(clip) is not None:
            return False
        path = clip.info.path

        def estimate() -> None:
            problem: LumigradeError | None = None
            try:
                with open_clip(path) as own:  # the thread's own decoder: clips are not shared
                    estimate_clip_response(own)
            except LumigradeError as exc:
                problem = exc
            self._estimated.emit(path, grade, key, problem)

        self.estimating.emit(True)
        threading.Thread(target=estimate, name="crf-estimate", daemon=True).start()
        return True

    def _estimate_done(self, path: Path, grade: Grade, key: str, problem: LumigradeError | None) -> None:
        self.estimating.emit(False)
        if self.clip is None or self.clip.info.path != path:
            return  # another clip was opened meanwhile: the edit was for the one before
        if problem is not None:
            self.error.emit("Invalid grade", str(problem))
            self.grade_changed.emit(self.grade, False)
        else:
            self.propose_grade(grade, key)

    def apply_grade(self, grade: Grade) -> None:
        """Make `grade` current without an undo step (undo/redo and opening a project use this)."""
        try:
            pipeline = self._pipeline_for(grade)
        except LumigradeError as exc:
            self.error.emit("Invalid grade", str(exc))
            return
        before, self.grade, self.pipeline = self.grade, grade, pipeline
        # A tone mapper the preview cannot bake, or one a compare of two grades shows, runs in
        # the engine: then changing it is engine work too.
        engine_tmo = spatial_tmo(before) or spatial_tmo(grade) or self.sides.holds_version
        engine_changed = engine_fields_changed(before, grade) or (
            engine_tmo and tone_mapping_changed(before, grade))
        if engine_changed:
            self.revision += 1
        self.grade_changed.emit(grade, engine_changed)

    def reload_files(self) -> None:
        """The Grade is unchanged but a file it names (its camera LUT) was written again: build
        the Pipeline from the file as it is now and render afresh."""
        try:
            pipeline = self._pipeline_for(self.grade)
        except LumigradeError as exc:
            self.error.emit("Invalid grade", str(exc))
            return
        self.pipeline = pipeline
        self.revision += 1
        self.grade_changed.emit(self.grade, True)

    def _pipeline_for(self, grade: Grade) -> Pipeline | None:
        return Pipeline(grade, self.clip) if self.clip is not None else None

    # -- versions and compare sides -------------------------------------------------------
    def save_version(self, name: str) -> GradeVersion:
        """Keep the current Grade as version `name`, replacing a version of that name."""
        name = name.strip()
        if not name or name in SIDE_LABELS:
            raise ValueError(f"{name!r} cannot name a version")
        version = GradeVersion(name, self.grade)
        old = find_version(self.versions, name)
        self.versions = tuple(version if v.name == name else v for v in self.versions) if old else (
            *self.versions, version)
        self._versions_edited = True
        self.versions_changed.emit()
        if name in (self.sides.a, self.sides.b):
            self._sides_edited(self.sides)  # the side shows the new grade of that name
        self.project_changed.emit()
        return version

    def delete_version(self, name: str) -> None:
        """Forget a version; a side that showed it goes back to the source (A) or current grade (B)."""
        sides = CompareSides(SOURCE if self.sides.a == name else self.sides.a,
                             CURRENT if self.sides.b == name else self.sides.b)
        self.versions = tuple(v for v in self.versions if v.name != name)
        self._versions_edited = True
        moved, self.sides = sides != self.sides, sides  # before versions_changed: views read both
        self.versions_changed.emit()
        if moved:
            self._sides_edited(sides)
        self.project_changed.emit()

    def side_grade(self, side: str) -> str | Grade:
        """SOURCE, CURRENT, or the Grade of the version a side shows."""
        version = find_version(self.versions, side)
        return version.grade if version is not None else side

    def set_sides(self, sides: CompareSides) -> None:
        """What compare A and B show; names must be SOURCE, CURRENT or a saved version's."""
        for side in (sides.a, sides.b):
            if side not in SIDE_LABELS and find_version(self.versions, side) is None:
                raise ValueError(f"no saved version is called {side!r}")
        if sides != self.sides:
            self._versions_edited = True
            self._sides_edited(sides)
            self.project_changed.emit()

    def _sides_edited(self, sides: CompareSides) -> None:
        self.sides = sides
        self.revision += 1
        self.sides_changed.emit(sides)

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
