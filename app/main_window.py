"""The grading window: preview, controls, scopes, timeline, probe, menus and undo.

The window owns the session state (clip, Grade, view settings, project path). Grade edits go
through a QUndoStack; each applied Grade gets a new revision and the engine bridge renders the
current frame for it. Edits that only change the display (view exposure, the tone mapper and
its curve, false colour, masks, compare layout) rebuild the DisplayTransform and redraw, with
no engine work.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import ClassVar

import torch
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from app.export_dialog import ExportDialog
from app.panels.controls import ControlsPanel
from app.panels.pixel_probe import PixelProbe, probe
from app.panels.scopes import ScopesPanel
from app.panels.timeline import Timeline
from app.project import PROJECT_SUFFIX, Project
from app.viewer.preview_widget import PreviewWidget
from app.viewer.view_state import CompareMode, DisplayView, ViewSettings
from app.worker import EngineBridge, FrameResult
from engine.assets import RESOURCES_DIR
from engine.errors import LumigradeError
from engine.grade import Grade
from engine.io.clip import Clip, open_clip
from engine.operators.base import CurveOperator
from engine.pipeline import Pipeline

DEMO_CLIP = RESOURCES_DIR / "demo" / "candle_push.mp4"
MAX_RECENT = 10
PREFETCH = 4
# Grade fields the preview applies itself: changing them needs no engine work.
DISPLAY_ONLY_FIELDS = frozenset({"tmo", "sdr_peak_nits", "output"})
CLIP_FILTER = "Clips (*.mov *.mp4 *.mkv *.avi *.mxf *.exr *.png *.tif *.tiff *.dpx);;All files (*)"
PROJECT_FILTER = f"Lumigrade projects (*{PROJECT_SUFFIX})"


class GradeCommand(QUndoCommand):
    """One undoable grade edit; consecutive edits of the same control merge into one step."""

    _ids: ClassVar[dict[str, int]] = {}

    def __init__(self, window: MainWindow, before: Grade, after: Grade, key: str) -> None:
        super().__init__(f"Change {key}")
        self.window, self.before, self.after, self.key = window, before, after, key

    def id(self) -> int:
        return self._ids.setdefault(self.key, len(self._ids) + 1)

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, GradeCommand) or other.key != self.key:
            return False
        self.after = other.after
        return True

    def redo(self) -> None:
        self.window.apply_grade(self.after)

    def undo(self) -> None:
        self.window.apply_grade(self.before)


def engine_fields_changed(before: Grade, after: Grade) -> bool:
    return any(
        getattr(before, f.name) != getattr(after, f.name)
        for f in dataclasses.fields(Grade)
        if f.name not in DISPLAY_ONLY_FIELDS
    )


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings("Lumigrade", "Lumigrade")
        self.clip: Clip | None = None
        self.clip_path: Path | None = None
        self.project_path: Path | None = None
        self.grade = Grade()
        self.revision = 0
        self.result: FrameResult | None = None
        self._display_pipeline: Pipeline | None = None
        self.error_box: QMessageBox | None = None
        self.undo_stack = QUndoStack(self)
        self.bridge = EngineBridge(parent=self)

        self.viewer = PreviewWidget()
        self.timeline = Timeline()
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.viewer, 1)
        column.addWidget(self.timeline)
        self.setCentralWidget(central)
        self.controls = ControlsPanel()
        self.scopes = ScopesPanel()
        docks = [self._dock("Scopes", self.scopes, Qt.DockWidgetArea.LeftDockWidgetArea),
                 self._dock("Controls", self.controls, Qt.DockWidgetArea.RightDockWidgetArea)]
        self.resizeDocks(docks, [280, 450], Qt.Orientation.Horizontal)
        self.probe = PixelProbe()
        self.statusBar().addPermanentWidget(self.probe)

        self.controls.set_grade(self.grade)
        self.controls.set_view(self.viewer.settings)
        self.controls.grade_edited.connect(self.propose_grade)
        self.controls.view_edited.connect(self.set_view)
        self.viewer.split_moved.connect(lambda split: self.controls.set_view(self.viewer.settings))
        self.viewer.pixel_hovered.connect(self._probe)
        self.timeline.frame_changed.connect(self.show_frame)
        self.bridge.frame_ready.connect(self._frame_ready)
        self.bridge.frame_failed.connect(self._frame_failed)
        self._build_menus()
        self.setWindowTitle("Lumigrade")
        self.resize(1400, 850)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # -- menus ----------------------------------------------------------------------------
    def _action(
        self, menu: QMenu, text: str, slot: object, shortcut: QKeySequence | str | None = None
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "Open Clip…", self._ask_open_clip, QKeySequence.StandardKey.Open)
        self._action(file, "Open Project…", self._ask_open_project, "Ctrl+Shift+O")
        self._action(file, "Save Project", self._save_project, QKeySequence.StandardKey.Save)
        self._action(file, "Save Project As…", self._ask_save_project, QKeySequence.StandardKey.SaveAs)
        self.recent_menu = file.addMenu("Recent Files")
        self._rebuild_recent()
        file.addSeparator()
        self._action(file, "Export…", self.show_export_dialog, "Ctrl+E")
        file.addSeparator()
        self._action(file, "Quit", self.close, QKeySequence.StandardKey.Quit)

        edit = bar.addMenu("&Edit")
        undo = self.undo_stack.createUndoAction(self, "Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.undo_stack.createRedoAction(self, "Redo")
        redo.setShortcut(QKeySequence.StandardKey.Redo)
        edit.addActions([undo, redo])

        view = bar.addMenu("&View")
        for number, mode in enumerate(CompareMode, 1):
            self._action(view, mode.label, lambda _c=False, m=mode: self.set_compare(m), str(number))
        self._action(view, "Toggle A/B", self.toggle_ab, "T")
        view.addSeparator()
        self._action(view, "Fit", self.viewer.fit, "F")
        self._action(view, "1:1", self.viewer.one_to_one, "Ctrl+1")
        self._action(view, "False Colour", lambda: self.set_view(
            self.viewer.settings.replace(false_colour=not self.viewer.settings.false_colour)), "C")
        self._action(view, "View Exposure +1/4 Stop", lambda: self._nudge_exposure(0.25), "]")
        self._action(view, "View Exposure -1/4 Stop", lambda: self._nudge_exposure(-0.25), "[")

        play = bar.addMenu("&Playback")
        t = self.timeline
        self._action(play, "Play / Pause", t.toggle_play, "Space")
        self._action(play, "Play Backward (J)", lambda: t.shuttle(-1), "J")
        self._action(play, "Stop (K)", t.stop, "K")
        self._action(play, "Play Forward (L)", lambda: t.shuttle(1), "L")
        self._action(play, "Previous Frame", lambda: t.step(-1), "Left")
        self._action(play, "Next Frame", lambda: t.step(1), "Right")
        self._action(play, "First Frame", lambda: t.set_frame(0), "Home")
        self._action(play, "Last Frame", lambda: t.set_frame(t.slider.maximum()), "End")

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        for entry in self.recent_files():
            self._action(self.recent_menu, entry, lambda _c=False, p=entry: self.open_path(Path(p)))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember(self, path: Path) -> None:
        entry = str(path.absolute())
        recent = [entry, *(p for p in self.recent_files() if p != entry)][:MAX_RECENT]
        self.settings.setValue("recent_files", recent)
        self._rebuild_recent()

    # -- files ----------------------------------------------------------------------------
    def show_error(self, title: str, error: LumigradeError | str) -> None:
        """A non-blocking dialog: the session (clip, grade, undo history) stays as it was."""
        self.statusBar().showMessage(str(error), 10000)
        box = QMessageBox(QMessageBox.Icon.Critical, title, str(error), QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.error_box = box

    def open_path(self, path: Path) -> bool:
        return self.open_project(path) if path.suffix == PROJECT_SUFFIX else self.open_clip(path)

    def open_clip(self, path: Path, grade: Grade | None = None) -> bool:
        """Open footage; on a bad file show a dialog and keep the current session."""
        grade = grade or self.grade
        try:
            clip = open_clip(path)
            display = Pipeline(grade, clip)  # checks the clip's colour tags against the grade
        except LumigradeError as exc:
            self.show_error("Cannot open clip", exc)
            return False
        old = self.clip
        self.revision += 1
        self.bridge.set_clip(clip, grade, self.revision)
        if old is not None:
            old.close()
        self.clip, self.clip_path, self.grade = clip, Path(path), grade
        self._display_pipeline = display
        self.result = None
        self.controls.set_grade(grade)
        self.timeline.set_clip(clip.info.frame_count, clip.info.fps)
        self._update_display()
        self.viewer.fit()
        self._remember(Path(path))
        self.setWindowTitle(f"Lumigrade — {Path(path).name}")
        self.show_frame(0)
        return True

    def open_project(self, path: Path) -> bool:
        try:
            project = Project.load(path)
        except LumigradeError as exc:
            self.show_error("Cannot open project", exc)
            return False
        if project.source is not None and not self.open_clip(project.source, project.grade):
            return False
        self.undo_stack.clear()
        if project.source is None:
            self.apply_grade(project.grade)
        self.set_view(project.view)
        self.timeline.set_frame(project.frame)
        self.project_path = Path(path)
        self._remember(Path(path))
        return True

    def project(self) -> Project:
        return Project(self.clip_path, self.grade, self.viewer.settings, self.timeline.frame)

    def save_project(self, path: Path) -> bool:
        try:
            self.project().save(path)
        except LumigradeError as exc:
            self.show_error("Cannot save project", exc)
            return False
        self.project_path = path
        self.undo_stack.setClean()
        self._remember(path)
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def _ask_open_clip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open clip", "", CLIP_FILTER)
        if path:
            self.open_clip(Path(path))

    def _ask_open_project(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", "", PROJECT_FILTER)
        if path:
            self.open_project(Path(path))

    def _save_project(self) -> None:
        if self.project_path is None:
            self._ask_save_project()
        else:
            self.save_project(self.project_path)

    def _ask_save_project(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save project", "", PROJECT_FILTER)
        if path:
            self.save_project(Path(path).with_suffix(PROJECT_SUFFIX))

    def show_export_dialog(self) -> ExportDialog | None:
        if self.clip is None or self.clip_path is None:
            self.show_error("Export", "open a clip first")
            return None
        dialog = ExportDialog(self.clip_path, self.clip.info.frame_count, self.grade, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    # -- grade ----------------------------------------------------------------------------
    def propose_grade(self, grade: Grade, key: str) -> None:
        """An edit from the controls: onto the undo stack (which applies it)."""
        if grade != self.grade:
            self.undo_stack.push(GradeCommand(self, self.grade, grade, key))

    def apply_grade(self, grade: Grade) -> None:
        before, self.grade = self.grade, grade
        self.controls.set_grade(grade)
        if self.clip is None:
            return
        try:
            self._display_pipeline = Pipeline(grade, self.clip)
        except LumigradeError as exc:
            self.show_error("Invalid grade", exc)
            return
        if engine_fields_changed(before, grade):
            self.revision += 1
            self.bridge.set_grade(grade, self.revision)
            self.show_frame(self.timeline.frame)
        self._update_display()

    # -- view -----------------------------------------------------------------------------
    def set_view(self, view: ViewSettings) -> None:
        """Display-only: uniforms and LUT textures, then a redraw."""
        changed_view = view.view != self.viewer.settings.view
        self.viewer.set_settings(view)
        self.controls.set_view(view)
        if changed_view:
            self._update_display()

    def set_compare(self, mode: CompareMode) -> None:
        self.set_view(self.viewer.settings.replace(compare=mode))

    def toggle_ab(self) -> None:
        current = self.viewer.settings.compare
        self.set_compare(CompareMode.A if current != CompareMode.A else CompareMode.B)

    def _nudge_exposure(self, stops: float) -> None:
        self.set_view(self.viewer.settings.replace(exposure=self.viewer.settings.exposure + stops))

    def _update_display(self) -> None:
        pipeline = self._display_pipeline
        if pipeline is None:
            return
        view = self.viewer.settings.view
        if view == DisplayView.SDR and not isinstance(pipeline.tmo, CurveOperator):
            # A spatial tone mapper needs the whole frame in the engine; the preview has no curve.
            self.statusBar().showMessage(
                f"{pipeline.tmo.name} is a spatial tone mapper: it runs on export; the preview shows PQ",
                10000,
            )
            view = DisplayView.PQ
        hdr = None
        if view == DisplayView.SDR and pipeline.tmo.needs_stats and self.result is not None:
            hdr = torch.from_numpy(self.result.hdr).permute(2, 0, 1).float()
        index = self.result.index if self.result is not None else 0
        display = pipeline.display_transform(view.value, hdr, index)
        self.viewer.set_display_transform(display, self.grade.peak_nits)

    # -- frames ---------------------------------------------------------------------------
    def show_frame(self, index: int) -> None:
        if self.clip is None:
            return
        step = -1 if self.timeline.speed < 0 else 1
        ahead = [index + step * k for k in range(1, PREFETCH + 1)] if self.timeline.playing else []
        cached = self.bridge.request(index, ahead)
        if cached is not None:
            self._show(cached)

    def _frame_ready(self, result: FrameResult) -> None:
        if result.index == self.timeline.frame:
            self._show(result)

    def _frame_failed(self, index: int, message: str) -> None:
        self.show_error(f"Cannot render frame {index}", message)

    def _show(self, result: FrameResult) -> None:
        self.result = result
        self.viewer.set_frames(result.source, result.hdr, result.mask)
        self.scopes.show_scopes(result.scopes)
        self.timeline.set_markers(list(result.keyframes))
        if self._display_pipeline is not None and self._display_pipeline.tmo.needs_stats:
            self._update_display()

    def _probe(self, x: int, y: int) -> None:
        result = self.result
        inside = result is not None and 0 <= y < result.hdr.shape[0] and 0 <= x < result.hdr.shape[1]
        bits = self.clip.info.bit_depth if self.clip is not None else 8
        self.probe.show_values(probe(result, x, y, bits) if inside and result is not None else None)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.timeline.stop()
        self.bridge.shutdown()
        if self.clip is not None:
            self.clip.close()
        super().closeEvent(event)
