"""The HDR output mode: a second top-level window that shows the graded frame on an HDR screen
through QRhi (app.viewer.hdr_output), as a clean feed to a reference monitor does.

A separate window because Qt gives each top-level window one graphics API: the main window's
preview is an OpenGL widget, and HDR swap chains are Vulkan's, Metal's or Direct3D's. The mode
is on only where the screen reports an HDR swap chain format; otherwise (no such back end in
PySide6 on this platform, the back end fails to start, or the screen is SDR) the window closes,
the action unchecks, the status bar says why, and the SDR OpenGL preview stays the only view.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication
from PySide6.QtWidgets import QMainWindow, QMenu, QRhiWidget, QVBoxLayout, QWidget

from app.preview_feed import PreviewFeed
from app.session import Session
from app.viewer.hdr_output import HdrPreviewWidget, HdrSignal, platform_api
from app.worker import FrameResult

HEADLESS_PLATFORMS = frozenset({"offscreen", "minimal", "vnc"})


def platform_problem(api: QRhiWidget.Api) -> str | None:
    """Why `api` cannot draw an HDR window from Python here, known before trying; None if it may."""
    platform = QGuiApplication.platformName()
    if platform in HEADLESS_PLATFORMS:
        return f"the '{platform}' platform has no screen"
    if api == QRhiWidget.Api.Vulkan and sys.platform != "win32":
        # Qt makes a Vulkan QRhi only for a window given a QVulkanInstance, a class PySide6
        # does not bind: Linux's HDR swap chains (Vulkan) are out of Python's reach.
        return ("HDR swap chains here are Vulkan's, and PySide6 cannot give a window the QVulkanInstance"
                " they need")
    if api == QRhiWidget.Api.OpenGL:
        return "OpenGL swap chains carry SDR only"
    return None


class HdrOutputWindow(QWidget):
    """A top-level window with the HDR preview; `unavailable` says why it closed itself."""

    unavailable = Signal(str)
    signal_chosen = Signal(object)  # the HdrSignal the screen takes
    closed = Signal()

    def __init__(self, api: QRhiWidget.Api) -> None:
        super().__init__()
        self.setWindowTitle("Lumigrade — HDR output")
        self.api = api
        self.preview = HdrPreviewWidget(api, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.preview)
        self.signal: HdrSignal | None = None
        self.preview.formats_found.connect(self._formats_found)
        self.preview.renderFailed.connect(lambda: self._refuse(f"{api.name} could not start on this machine"))
        self.resize(960, 540)

    def _formats_found(self, signals: list[HdrSignal]) -> None:
        if not signals:
            self._refuse(f"the screen reports no HDR swap chain format on {self.api.name}")
            return
        if self.signal is None:
            self.signal = signals[0]
            self.signal_chosen.emit(self.signal)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closed.emit()
        super().closeEvent(event)

    def _refuse(self, reason: str) -> None:
        if self.isVisible():
            self.close()
            self.unavailable.emit(reason)


class HdrOutput(QObject):
    """The View menu's "HDR Output Window" toggle and the window it opens, fed the feed's frames."""

    def __init__(self, window: QMainWindow, session: Session, feed: PreviewFeed, menu: QMenu,
                 api: QRhiWidget.Api | None = None) -> None:
        super().__init__(window)
        self.main_window, self.session, self.feed = window, session, feed
        self.api = api if api is not None else platform_api()
        self.output: HdrOutputWindow | None = None
        self.problem: str | None = None  # why the last try gave no HDR output
        self.action = QAction("HDR Output Window", window)
        self.action.setCheckable(True)
        self.action.setToolTip("the graded frame on an HDR screen, through QRhi (Vulkan, Metal or Direct3D)")
        self.action.toggled.connect(self.set_enabled)
        menu.addAction(self.action)
        feed.frame_shown.connect(self._frame_shown)
        session.view_changed.connect(lambda _view: self._update_output())
        session.grade_changed.connect(lambda _grade, _engine: self._update_output())

    def set_enabled(self, on: bool) -> None:
        if not on:
            if self.output is not None:
                self.output.close()
                self.output.deleteLater()
                self.output = None
            return
        if self.output is not None:
            return
        problem = platform_problem(self.api)
        if problem is not None:
            self._fall_back(problem)
            return
        self.output = HdrOutputWindow(self.api)
        self.output.unavailable.connect(self._fall_back)
        self.output.closed.connect(lambda: self.action.setChecked(False))
        self.output.signal_chosen.connect(lambda _signal: self._update_output())
        if self.feed.result is not None:
            self.output.preview.set_frame(self.feed.result.hdr)
        self.output.show()

    def _fall_back(self, reason: str) -> None:
        self.problem = reason
        message = f"No HDR output: {reason}; the SDR OpenGL preview stays"
        self.main_window.statusBar().showMessage(message, 10000)
        self.action.setChecked(False)

    def _frame_shown(self, result: FrameResult) -> None:
        if self.output is not None:
            self.output.preview.set_frame(result.hdr)

    def _update_output(self) -> None:
        output = self.output
        if output is None or output.signal is None:
            return
        grade = self.session.grade
        output.preview.set_output(output.signal, self.session.view.exposure, grade.peak_nits,
                                  grade.reference_white)
