"""The grading window: the assembly of the preview, timeline, docks, status bar and menus.

The state lives in the session (app.session): every widget shows it and proposes edits to it.
The preview feed (app.preview_feed) keeps the preview and the scopes on the session's frame,
and the menus and dialogs are app.actions.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QVBoxLayout, QWidget

from app.actions import Actions
from app.autosave import Autosave, autosave_folder
from app.drop import DropOpener
from app.panels.controls import ControlsPanel
from app.panels.pixel_probe import PixelProbe
from app.panels.quality_estimate import QualityLabel
from app.panels.scopes import ScopesPanel
from app.panels.timeline import Timeline
from app.preview_feed import PreviewFeed
from app.session import Session
from app.viewer.hdr_window import HdrOutput
from app.viewer.preview_widget import PreviewWidget
from app.worker import FrameResult
from engine.assets import RESOURCES_DIR

DEMO_CLIP = RESOURCES_DIR / "demo" / "candle_push.mp4"


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        settings = settings if settings is not None else QSettings("Lumigrade", "Lumigrade")
        self.session = Session(self)
        self.viewer = PreviewWidget()
        self.timeline = Timeline(self.session)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.viewer, 1)
        column.addWidget(self.timeline)
        self.setCentralWidget(central)
        self.controls = ControlsPanel(self.session)
        self.scopes = ScopesPanel()
        docks = [self._dock("Scopes", self.scopes, Qt.DockWidgetArea.LeftDockWidgetArea),
                 self._dock("Controls", self.controls, Qt.DockWidgetArea.RightDockWidgetArea)]
        self.resizeDocks(docks, [280, 450], Qt.Orientation.Horizontal)
        self.probe = PixelProbe()
        self.statusBar().addPermanentWidget(self.probe)
        self.quality_label = QualityLabel()
        self.statusBar().addPermanentWidget(self.quality_label)
        self.playback_label = QLabel()
        self.playback_label.setToolTip("frames shown and dropped since playback started")
        self.statusBar().addPermanentWidget(self.playback_label)

        self.feed = PreviewFeed(self.session, self.viewer, self.timeline, self)
        self.actions = Actions(self, self.session, self.viewer, self.timeline, settings)
        self.drop_opener = DropOpener(self, self.actions.open_path)
        self.hdr_output = HdrOutput(self, self.session, self.feed, self.actions.view_menu)
        self.feed.frame_shown.connect(lambda result: self.scopes.show_scopes(result.scopes))
        self.feed.signal_scopes_shown.connect(self.scopes.show_signal_scopes)
        self.feed.frame_shown.connect(self._show_quality)
        self.feed.frame_shown.connect(lambda result: self.timeline.set_markers(list(result.keyframes)))
        self.feed.frame_shown.connect(
            lambda result: self.controls.response_plot.show_measured(result.measured_top))
        self.feed.playback_stats.connect(
            lambda shown, dropped: self.playback_label.setText(f"played {shown} · dropped {dropped}"))
        self.feed.bridge.frame_failed.connect(
            lambda index, message: self.actions.show_error(f"Cannot render frame {index}", message))
        self.viewer.pixel_hovered.connect(lambda x, y: self.probe.show_values(self.feed.probe_at(x, y)))
        self.session.error.connect(self.actions.show_error)
        self.session.estimating.connect(lambda busy: self.statusBar().showMessage(
            "Estimating the camera response…" if busy else "Camera response estimated", 0 if busy else 4000))
        self.session.clip_changed.connect(self._update_title)
        self.session.project_changed.connect(self._update_title)
        self.autosave = Autosave(self.session, autosave_folder(settings),
                                 lambda message: self.statusBar().showMessage(message, 10000), parent=self)
        self._update_title()
        self.resize(1400, 850)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _show_quality(self, result: FrameResult) -> None:
        """The estimate of the full-resolution frame on screen; a proxy keeps the last one."""
        if not result.is_proxy:
            self.quality_label.show_estimate(result.quality)

    def _update_title(self) -> None:
        """The clip's name, and Qt's unsaved-changes mark ([*]) while the grade has unsaved edits."""
        path = self.session.clip_path
        self.setWindowTitle("Lumigrade" + (f" — {path.name}" if path is not None else "") + "[*]")
        self.setWindowModified(self.session.dirty)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.autosave.stop()
        self.timeline.stop()
        self.hdr_output.set_enabled(False)
        self.feed.shutdown()
        self.session.close()
        super().closeEvent(event)
