"""The window's commands: menus, shortcuts, recent files, the open/save/export dialogs and errors.

Every command acts on the session (files, grade undo, view settings, frame) or on a widget's
own state (zoom, playback). File commands show a non-blocking error dialog on failure and leave
the session as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox

from app.batch_dialog import QueueDialog, append_to_queue
from app.export_dialog import ExportDialog, default_output
from app.lut_dialog import LutDialog
from app.panels.timeline import Timeline
from app.project import PROJECT_SUFFIX
from app.session import Session
from app.versions import CompareSides, next_version_name, side_names
from app.viewer.preview_widget import PreviewWidget
from app.viewer.view_state import DEFAULT_SIDE_NAMES, VIEW_PARAMS, CompareMode, compare_label
from engine.errors import LumigradeError
from engine.grade import Grade
from engine.io.atomic import AtomicOutput

MAX_RECENT = 10
VIEW_EXPOSURE_NUDGE = 0.25  # stops per [ or ] press
CLIP_FILTER = "Clips (*.mov *.mp4 *.mkv *.avi *.mxf *.exr *.png *.tif *.tiff *.dpx);;All files (*)"
PROJECT_FILTER = f"Lumigrade projects (*{PROJECT_SUFFIX})"
GRADE_FILTER = "Grades (*.json)"
QUEUE_FILTER = "Render queues (*.json)"


class Actions(QObject):
    """Builds the window's menus and runs their commands against the session."""

    def __init__(self, window: QMainWindow, session: Session, viewer: PreviewWidget, timeline: Timeline,
                 settings: QSettings) -> None:
        super().__init__(window)
        self.window, self.session, self.viewer, self.timeline = window, session, viewer, timeline
        self.settings = settings
        self.error_box: QMessageBox | None = None
        self._build_menus()

    # -- menus ----------------------------------------------------------------------------
    def _action(self, menu: QMenu, text: str, slot: Callable[..., object],
                shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None) -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.window.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "Open Clip…", self.ask_open_clip, QKeySequence.StandardKey.Open)
        self._action(file, "Open Project…", self.ask_open_project, "Ctrl+Shift+O")
        self._action(file, "Save Project", self.save, QKeySequence.StandardKey.Save)
        self._action(file, "Save Project As…", self.ask_save_project, QKeySequence.StandardKey.SaveAs)
        self.recent_menu = file.addMenu("Recent Files")
        self._rebuild_recent()
        file.addSeparator()
        self._action(file, "Save Grade…", self.ask_save_grade)
        file.addSeparator()
        self._action(file, "Export…", self.show_export_dialog, "Ctrl+E")
        self._action(file, "Export LUT (.cube)…", self.show_lut_dialog)
        self._action(file, "Add to Render Queue…", self.ask_add_to_queue)
        self._action(file, "Render Queue…", self.ask_show_queue)
        file.addSeparator()
        self._action(file, "Quit", self.window.close, QKeySequence.StandardKey.Quit)

        edit = bar.addMenu("&Edit")
        undo = self.session.undo_stack.createUndoAction(self.window, "Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.session.undo_stack.createRedoAction(self.window, "Redo")
        redo.setShortcut(QKeySequence.StandardKey.Redo)
        edit.addActions([undo, redo])
        edit.addSeparator()
        self._action(edit, "Save Grade as Version", self.save_version, "Ctrl+Alt+S")

        view = self.view_menu = bar.addMenu("&View")
        self.compare_actions = {
            mode: self._action(view, mode.label, lambda _c=False, m=mode: self.set_compare(m), str(number))
            for number, mode in enumerate(CompareMode, 1)
        }
        self.session.sides_changed.connect(self._name_sides)
        self._action(view, "Toggle A/B", self.toggle_ab, "T")
        view.addSeparator()
        self._action(view, "Fit", self.viewer.fit, "F")
        self._action(view, "1:1", self.viewer.one_to_one, "Ctrl+1")
        self._action(view, "False Colour", self.toggle_false_colour, "C")
        nudge = self.nudge_view_exposure
        self._action(view, "View Exposure +1/4 Stop", lambda: nudge(VIEW_EXPOSURE_NUDGE), "]")
        self._action(view, "View Exposure -1/4 Stop", lambda: nudge(-VIEW_EXPOSURE_NUDGE), "[")

        play = bar.addMenu("&Playback")
        t, s = self.timeline, self.session
        self._action(play, "Play / Pause", t.toggle_play, "Space")
        self._action(play, "Play Backward (J)", lambda: t.shuttle(-1), "J")
        self._action(play, "Stop (K)", t.stop, "K")
        self._action(play, "Play Forward (L)", lambda: t.shuttle(1), "L")
        self._action(play, "Previous Frame", lambda: t.step(-1), "Left")
        self._action(play, "Next Frame", lambda: t.step(1), "Right")
        self._action(play, "First Frame", lambda: s.set_frame(0), "Home")
        self._action(play, "Last Frame", lambda: s.set_frame(s.info.frame_count - 1 if s.info else 0), "End")

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

    # -- errors ---------------------------------------------------------------------------
    def show_error(self, title: str, error: LumigradeError | str) -> None:
        """A non-blocking dialog: the session (clip, grade, undo history) stays as it was."""
        self.window.statusBar().showMessage(str(error), 10000)
        box = QMessageBox(QMessageBox.Icon.Critical, title, str(error), QMessageBox.StandardButton.Ok,
                          self.window)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.error_box = box

    def ask(self, title: str, question: str) -> bool:
        """A modal yes/no question (the restore offer after a crash)."""
        answer = QMessageBox.question(self.window, title, question,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    # -- files ----------------------------------------------------------------------------
    def open_path(self, path: Path) -> bool:
        return self.open_project(path) if path.suffix == PROJECT_SUFFIX else self.open_clip(path)

    def open_clip(self, path: Path, grade: Grade | None = None) -> bool:
        """Open footage; on a bad file show a dialog and keep the current session."""
        try:
            self.session.open_clip(path, grade)
        except LumigradeError as exc:
            self.show_error("Cannot open clip", exc)
            return False
        self._remember(Path(path))
        return True

    def open_project(self, path: Path) -> bool:
        try:
            self.session.open_project(path)
        except LumigradeError as exc:
            self.show_error("Cannot open project", exc)
            return False
        self._remember(Path(path))
        return True

    def save_project(self, path: Path) -> bool:
        try:
            self.session.save_project(path)
        except LumigradeError as exc:
            self.show_error("Cannot save project", exc)
            return False
        self._remember(path)
        self.window.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def save(self) -> None:
        """Save to the project's file, or ask for one."""
        if self.session.project_path is None:
            self.ask_save_project()
        else:
            self.save_project(self.session.project_path)

    def ask_open_clip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open clip", "", CLIP_FILTER)
        if path:
            self.open_clip(Path(path))

    def ask_open_project(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", "", PROJECT_FILTER)
        if path:
            self.open_project(Path(path))

    def ask_save_project(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project", "", PROJECT_FILTER)
        if path:
            self.save_project(Path(path).with_suffix(PROJECT_SUFFIX))

    def show_export_dialog(self) -> ExportDialog | None:
        s = self.session
        if s.clip is None or s.clip_path is None:
            self.show_error("Export", "open a clip first")
            return None
        dialog = ExportDialog(s.clip_path, s.clip.info.frame_count, s.grade, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def save_grade(self, path: Path) -> bool:
        """Write the grade's JSON (what `lumigrade render --grade` reads), atomically."""
        try:
            with AtomicOutput(path) as temp:
                temp.write_text(self.session.grade.to_json(), encoding="utf-8")
        except (LumigradeError, OSError) as exc:
            self.show_error("Cannot save grade", exc if isinstance(exc, LumigradeError) else str(exc))
            return False
        self.window.statusBar().showMessage(f"Saved the grade to {path}", 5000)
        return True

    def ask_save_grade(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save grade", "", GRADE_FILTER)
        if path:
            self.save_grade(Path(path).with_suffix(".json"))

    def show_lut_dialog(self) -> LutDialog | None:
        s = self.session
        if s.clip is None:
            self.show_error("Export LUT", "open a clip first")
            return None
        dialog = LutDialog(s.clip.info, s.grade, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def add_to_queue(self, queue: Path) -> bool:
        """The open clip and its grade as a new job of `queue`, to the grade's format beside the clip."""
        s = self.session
        if s.clip_path is None:
            self.show_error("Add to Render Queue", "open a clip first")
            return False
        try:
            output = default_output(s.clip_path, s.grade.output.format)
            name = append_to_queue(queue, s.clip_path, s.grade, output)
        except LumigradeError as exc:
            self.show_error("Add to Render Queue", exc)
            return False
        self.window.statusBar().showMessage(f"Added {name!r} to {queue.name}", 5000)
        return True

    def ask_add_to_queue(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Add to render queue", "", QUEUE_FILTER,
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.add_to_queue(Path(path))

    def show_queue(self, queue: Path) -> QueueDialog | None:
        try:
            dialog = QueueDialog(queue, parent=self.window)
        except LumigradeError as exc:
            self.show_error("Render Queue", exc)
            return None
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def ask_show_queue(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Render queue", "", QUEUE_FILTER)
        if path:
            self.show_queue(Path(path))

    def save_version(self) -> None:
        """Keep the current grade as the next 'Version N', to compare against (View > Compare)."""
        version = self.session.save_version(next_version_name(self.session.versions))
        self.window.statusBar().showMessage(f"Saved the grade as {version.name!r}", 5000)

    # -- view -----------------------------------------------------------------------------
    def _name_sides(self, sides: CompareSides) -> None:
        names = side_names(sides, DEFAULT_SIDE_NAMES)
        for mode in (CompareMode.A, CompareMode.B):
            self.compare_actions[mode].setText(compare_label(mode, names))

    def set_compare(self, mode: CompareMode) -> None:
        self.session.set_view(self.session.view.replace(compare=mode))

    def toggle_ab(self) -> None:
        current = self.session.view.compare
        self.set_compare(CompareMode.A if current != CompareMode.A else CompareMode.B)

    def toggle_false_colour(self) -> None:
        view = self.session.view
        self.session.set_view(view.replace(false_colour=not view.false_colour))

    def nudge_view_exposure(self, stops: float) -> None:
        """View exposure up or down, kept inside its declared range."""
        spec, view = VIEW_PARAMS["exposure"], self.session.view
        exposure = min(max(view.exposure + stops, spec.minimum), spec.maximum)  # type: ignore[type-var]
        self.session.set_view(view.replace(exposure=exposure))
