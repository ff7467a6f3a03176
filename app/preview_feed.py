"""The session's current frame on screen: engine requests, proxies, display transforms, playback.

The feed subscribes to the session. A new clip or an engine-relevant Grade goes to the engine
bridge with the session's revision; the current frame (and, while playing, the next few) is
requested. While the hand is on a grade slider the frame is asked for at a proxy scale (the
view's resolution), and the full-resolution frame replaces it REFINE_MS after the last edit.
Finished frames go to the preview and out on `frame_shown` for the scopes and the timeline's
keyframe marks.

The GUI thread does no engine work: frames arrive with the display transform baked on the
worker, and display-only changes (view settings, the tone mapper) ask the bridge's display
lane for a new bake, which arrives on `display_ready`.

During playback the feed counts the frames that were due but never shown, either skipped by
the timeline's clock or not rendered in time, and reports them on `playback_stats`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from app.panels.pixel_probe import ProbeValues, probe
from app.panels.timeline import Timeline
from app.session import Session
from app.viewer.preview_widget import PreviewWidget
from app.viewer.view_state import DisplayView, ViewSettings
from app.worker import FULL_RESOLUTION, EngineBridge, FrameResult
from engine.display import DisplayTransform
from engine.grade import Grade
from engine.operators.base import CurveOperator

PREFETCH = 4
REFINE_MS = 200  # the hand has stopped: replace the proxy by the full-resolution frame
PROXY_MAX_SCALE = 0.9  # above this a proxy saves too little to be worth a second render


class PreviewFeed(QObject):
    """Keeps the preview showing the session's frame through its Grade and view settings."""

    frame_shown = Signal(object)  # FrameResult now on screen
    message = Signal(str)  # a passing note for the status bar
    playback_stats = Signal(int, int)  # frames shown, frames dropped since playback started

    def __init__(self, session: Session, viewer: PreviewWidget, timeline: Timeline,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.viewer, self.timeline = session, viewer, timeline
        self.bridge = EngineBridge(parent=self)
        self.result: FrameResult | None = None
        self.proxy_scale: float | None = None  # a set proxy scale; None = the view's resolution
        self._display_view: DisplayView | None = None
        self._display_revision = 0
        self._refine = QTimer(self)
        self._refine.setSingleShot(True)
        self._refine.setInterval(REFINE_MS)
        self._refine.timeout.connect(lambda: self.show_frame(self.session.frame))
        self.shown_count = 0
        self.dropped_count = 0
        self._due: int | None = None  # the frame playback asked for, until it is shown
        viewer.set_settings(session.view)
        # Dragging the split divider is a view edit like any other.
        viewer.split_moved.connect(lambda split: session.set_view(session.view.replace(split=split)))
        session.clip_changed.connect(self._clip_changed)
        session.grade_changed.connect(self._grade_changed)
        session.view_changed.connect(self._view_changed)
        session.frame_changed.connect(self.show_frame)
        timeline.playing_changed.connect(self._playing_changed)
        timeline.frames_skipped.connect(self._count_dropped)
        self.bridge.frame_ready.connect(self._frame_ready)
        self.bridge.display_ready.connect(self._display_ready)

    def _clip_changed(self) -> None:
        s = self.session
        self._refine.stop()
        self.bridge.set_clip(s.clip, s.grade, s.revision)
        self.result = None
        self._update_display()
        self.viewer.fit()

    def _grade_changed(self, grade: Grade, engine_changed: bool) -> None:
        if self.session.clip is None:
            return
        if engine_changed:
            self.bridge.set_grade(grade, self.session.revision)
            self._refine.start()  # restarted by every edit: fires once the hand stops
            self.show_frame(self.session.frame, self._proxy_scale())
        self._update_display()

    def _view_changed(self, view: ViewSettings) -> None:
        self.viewer.set_settings(view)
        if view.view != self._display_view:
            self._update_display()

    def _update_display(self) -> None:
        """New display settings: the bridge bakes them (off the GUI thread) for the shown frame."""
        pipeline = self.session.pipeline
        if pipeline is None:
            return
        view = self._display_view = self.session.view.view
        if view == DisplayView.SDR and not isinstance(pipeline.tmo, CurveOperator):
            # A spatial tone mapper needs the whole frame in the engine; the preview has no curve.
            self.message.emit(f"{pipeline.tmo.name} is a spatial tone mapper: it runs on export; "
                              "the preview shows PQ")
            view = DisplayView.PQ
        self._display_revision += 1
        self.bridge.set_display(self.session.grade, view.value, self._display_revision)
        if self.result is not None:
            self.bridge.bake_display(self.result)

    def _display_ready(self, revision: int, display: DisplayTransform) -> None:
        if revision == self._display_revision:
            self.viewer.set_display_transform(display, self.session.grade.peak_nits)

    def _proxy_scale(self) -> float:
        """The proxy scale for a grade edit: the set one, or the fitted view's resolution."""
        if self.proxy_scale is not None:
            return min(self.proxy_scale, FULL_RESOLUTION)
        info = self.session.info
        if info is None:
            return FULL_RESOLUTION
        ratio = self.viewer.devicePixelRatioF()
        fit = min(self.viewer.width() * ratio / info.width, self.viewer.height() * ratio / info.height)
        return fit if fit <= PROXY_MAX_SCALE else FULL_RESOLUTION

    # -- frames ---------------------------------------------------------------------------
    def show_frame(self, index: int, scale: float = FULL_RESOLUTION) -> None:
        if self.session.clip is None:
            return
        playing = self.timeline.playing
        if playing:
            if self._due is not None and self._due != index:
                self._count_dropped(1)  # its time has passed and it was never on screen
            self._due = index
        step = -1 if self.timeline.speed < 0 else 1
        ahead = [index + step * k for k in range(1, PREFETCH + 1)] if playing else []
        cached = self.bridge.request(index, ahead, scale)
        if cached is not None:
            self._show(cached)

    def _frame_ready(self, result: FrameResult) -> None:
        if result.index != self.session.frame:
            return
        shown = self.result
        if result.is_proxy and shown is not None and not shown.is_proxy and \
                (shown.revision, shown.index) == (result.revision, result.index):
            return  # the full-resolution frame is already up
        self._show(result)

    def _show(self, result: FrameResult) -> None:
        self.result = result
        self.viewer.set_frames(result.source, result.hdr, result.mask, result.scale)
        if result.display is not None and result.display_revision == self._display_revision:
            self.viewer.set_display_transform(result.display, self.session.grade.peak_nits)
        else:
            self.bridge.bake_display(result)
        if self._due == result.index:
            self._due = None
            self.shown_count += 1
            self.playback_stats.emit(self.shown_count, self.dropped_count)
        self.frame_shown.emit(result)

    # -- playback -------------------------------------------------------------------------
    def _playing_changed(self, playing: bool) -> None:
        self._due = None
        if playing:
            self.shown_count = self.dropped_count = 0
            self.playback_stats.emit(0, 0)

    def _count_dropped(self, frames: int) -> None:
        self.dropped_count += frames
        self.playback_stats.emit(self.shown_count, self.dropped_count)

    def probe_at(self, x: int, y: int) -> ProbeValues | None:
        """The values of the shown frame's pixel (x, y), or None outside it."""
        result = self.result
        if result is None or not (0 <= y < result.hdr.shape[0] and 0 <= x < result.hdr.shape[1]):
            return None
        info = self.session.info
        return probe(result, x, y, info.bit_depth if info is not None else 8)

    def shutdown(self) -> None:
        self._refine.stop()
        self.bridge.shutdown()
