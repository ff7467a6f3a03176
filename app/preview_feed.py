"""The session's current frame on screen: engine requests, proxies, display transforms, playback.

The feed subscribes to the session. A new clip or an engine-relevant Grade goes to the engine
bridge with the session's revision; the current frame (and, while playing, the next few) is
requested. While the hand is on a grade slider the frame is asked for at a proxy scale, and the
full-resolution frame replaces it REFINE_MS after the last edit. The proxy scale is a set one
(`proxy_scale`), or the view's resolution reduced further when the engine's last render says a
frame that size would take more than PROXY_BUDGET_S: with the engine letting a running proxy
finish, an edit waits for the rest of that render and then its own, so a picture follows the
hand within about twice the budget (Nuke's proxy mode scales the same way, by a factor chosen
for speed, with full resolution kept for the final look).
Finished frames go to the preview and out on `frame_shown` for the scopes and the timeline's
keyframe marks.

The GUI thread does no engine work: frames arrive with the display transform baked on the
worker, and display-only changes (view settings, a curve tone mapper) ask the bridge's display
lane for a new bake, which arrives on `display_ready`.

When the SDR view needs the engine's tone mapping (a spatial tone mapper, or a compare side on a
saved version of the grade) the frames carry each side's encoded SDR signal (app.worker,
SidePicture) and the preview shows them through the identity transform: the SDR preview is the
SDR export's signal. Switching the tone mapper is then engine work (a new revision). Which
arrays are shown and the transform they need change together, when the bake for them arrives.

During playback the feed counts the frames that were due but never shown, either skipped by
the timeline's clock or not rendered in time, and reports them on `playback_stats`.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from app.panels.pixel_probe import ProbeValues, probe
from app.panels.signal_scope_data import SignalScopes
from app.panels.timeline import Timeline
from app.session import Session
from app.versions import CompareSides
from app.viewer.preview_widget import PreviewWidget
from app.viewer.view_state import DisplayView, ViewSettings
from app.worker import FULL_RESOLUTION, EngineBridge, FrameResult, engine_encoded
from engine.grade import DISPLAY_ONLY_FIELDS, Grade
from engine.processor.glsl import PreviewDisplay

PREFETCH = 4
REFINE_MS = 200  # the hand has stopped: replace the proxy by the full-resolution frame
PROXY_MAX_SCALE = 0.9  # above this a proxy saves too little to be worth a second render
PROXY_BUDGET_S = 0.06  # engine time for a proxy: an edit's picture comes within about twice it
PROXY_MIN_SCALE = 1 / 8  # below this a proxy is too coarse to judge a grade by
PROXY_STEP = 1 / 16  # scales are whole steps, so a drag's proxies keep one size


def display_key(grade: Grade) -> tuple[object, ...]:
    """What of a Grade the display transform is baked from: its display-only fields, and the
    mastering peak and reference white the output transform reads (engine.stages.output)."""
    return (*(getattr(grade, name) for name in sorted(DISPLAY_ONLY_FIELDS)), grade.peak_nits,
            grade.reference_white)


class PreviewFeed(QObject):
    """Keeps the preview showing the session's frame through its Grade and view settings."""

    frame_shown = Signal(object)  # FrameResult now on screen
    signal_scopes_shown = Signal(object)  # SignalScopes of the output signal now on screen
    playback_stats = Signal(int, int)  # frames shown, frames dropped since playback started

    def __init__(self, session: Session, viewer: PreviewWidget, timeline: Timeline,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.viewer, self.timeline = session, viewer, timeline
        self.bridge = EngineBridge(parent=self)
        self.result: FrameResult | None = None
        self.proxy_scale: float | None = None  # a set proxy scale; None = chosen as the docstring says
        self._seconds_per_pixel: float | None = None  # the engine's, from the last render received
        self._display_view: DisplayView | None = None
        self._display_key: tuple[object, ...] | None = None  # display_key of the grade baked for
        self._display_revision = 0
        self._presented: FrameResult | None = None  # whose arrays the viewer holds
        self._encoded = False  # whether they are engine-encoded SDR (the identity transform's)
        self._refine = QTimer(self)
        self._refine.setSingleShot(True)
        self._refine.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse timer may fire 5% early
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
        session.sides_changed.connect(self._sides_changed)
        timeline.playing_changed.connect(self._playing_changed)
        timeline.frames_skipped.connect(self._count_dropped)
        self.bridge.frame_ready.connect(self._frame_ready)
        self.bridge.display_ready.connect(self._display_ready)

    def _clip_changed(self) -> None:
        s = self.session
        self._refine.stop()
        self.bridge.set_sides(s.side_grade(s.sides.a), s.side_grade(s.sides.b))  # type: ignore[arg-type]
        self.bridge.set_clip(s.clip, s.grade, s.revision)
        self.result = self._presented = None
        self._update_display()
        self.viewer.fit()

    def _grade_changed(self, grade: Grade, engine_changed: bool) -> None:
        if self.session.clip is None:
            return
        # The display settings first, so that the render asked for below bakes them; an engine
        # edit's frame brings its own bake, the frame still shown keeps the transform it has.
        # An engine edit that leaves them alone (exposure, an ITM parameter) keeps the display
        # revision: frames already rendering then arrive with a bake that still holds, and are
        # drawn once, not once now and again when a second bake arrives.
        if not engine_changed or display_key(grade) != self._display_key:
            self._update_display(bake_shown=not engine_changed)
        if engine_changed:
            self.bridge.set_grade(grade, self.session.revision)
            self._refine.start()  # restarted by every edit: fires once the hand stops
            self.show_frame(self.session.frame, self._proxy_scale())

    def _sides_changed(self, sides: CompareSides) -> None:
        s = self.session
        self.bridge.set_sides(s.side_grade(sides.a), s.side_grade(sides.b))  # type: ignore[arg-type]
        if s.clip is not None:
            self.bridge.set_grade(s.grade, s.revision)
            self.show_frame(s.frame)

    def _view_changed(self, view: ViewSettings) -> None:
        self.viewer.set_settings(view)
        if view.view != self._display_view:
            self._update_display()  # frames with sides switch arrays when the bake arrives

    def _update_display(self, bake_shown: bool = True) -> None:
        """New display settings: the bridge bakes them (off the GUI thread) for the shown frame."""
        if self.session.clip is None:
            return
        view = self._display_view = self.session.view.view
        self._display_key = display_key(self.session.grade)
        self._display_revision += 1
        self.bridge.set_display(self.session.grade, view.value, self._display_revision)
        if bake_shown and self.result is not None:
            self.bridge.bake_display(self.result)

    def _display_ready(self, revision: int, result: FrameResult, display: PreviewDisplay,
                       signal_scopes: SignalScopes) -> None:
        if revision == self._display_revision and result is self.result:
            self._present(result, display, signal_scopes)

    def _proxy_scale(self) -> float:
        """The proxy scale for a grade edit: the set one, or the fitted view's resolution, reduced
        to what the engine renders within PROXY_BUDGET_S at its last measured speed."""
        if self.proxy_scale is not None:
            return min(self.proxy_scale, FULL_RESOLUTION)
        info = self.session.info
        if info is None:
            return FULL_RESOLUTION
        ratio = self.viewer.devicePixelRatioF()
        scale = min(self.viewer.width() * ratio / info.width, self.viewer.height() * ratio / info.height)
        if self._seconds_per_pixel is not None:
            # Engine time grows with the pixel count, i.e. with the square of the scale.
            within = math.sqrt(PROXY_BUDGET_S / (self._seconds_per_pixel * info.width * info.height))
            scale = min(scale, max(math.floor(within / PROXY_STEP) * PROXY_STEP, PROXY_MIN_SCALE))
        return scale if scale <= PROXY_MAX_SCALE else FULL_RESOLUTION

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
        if result.render_seconds > 0.0:
            self._seconds_per_pixel = result.render_seconds / (result.hdr.shape[0] * result.hdr.shape[1])
        if result.index != self.session.frame:
            return
        shown = self.result
        if shown is not None and shown.index == result.index:
            if result.revision < shown.revision:
                return  # a proxy let finish after a newer picture arrived
            if result.is_proxy and not shown.is_proxy and result.revision == shown.revision:
                return  # the full-resolution frame is already up
        self._show(result)

    def _show(self, result: FrameResult) -> None:
        self.result = result
        if result.display is not None and result.display_revision == self._display_revision:
            self._present(result, result.display, result.signal_scopes)
        else:
            self.bridge.bake_display(result)
            if self._frames(result)[2] == self._encoded:
                self._present(result, None)  # the transform on screen suits these arrays until then
        if self._due == result.index:
            self._due = None
            self.shown_count += 1
            self.playback_stats.emit(self.shown_count, self.dropped_count)
        self.frame_shown.emit(result)

    def _frames(self, result: FrameResult) -> tuple[np.ndarray, np.ndarray, bool]:
        """The A and B frames the preview shows, and whether they are engine-encoded SDR."""
        if result.sides is None:
            return result.source, result.hdr, False
        a, b = result.sides
        if engine_encoded(result.sides, self.session.view.view.value):
            return a.sdr, b.sdr, True
        return a.nits, b.nits, False

    def _present(self, result: FrameResult, display: PreviewDisplay | None,
                 signal_scopes: SignalScopes | None = None) -> None:
        """Put the result's arrays for the current view on screen (once), with `display` and the
        scopes of the signal it gives."""
        a, b, encoded = self._frames(result)
        if result is not self._presented or encoded != self._encoded:
            self.viewer.set_frames(a, b, result.mask, result.scale)
            self.viewer.set_clues(result.clues)
            self._presented, self._encoded = result, encoded
        if display is not None:
            grade = self.session.grade
            self.viewer.set_display_transform(display, grade.peak_nits, grade.reference_white)
        if signal_scopes is not None:
            self.signal_scopes_shown.emit(signal_scopes)

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
