"""The session's current frame on screen: engine requests, the display transform, frame results.

The feed subscribes to the session. A new clip or an engine-relevant Grade goes to the engine
bridge with the session's revision; the current frame (and, while playing, the next few) is
requested; finished frames go to the preview and out on `frame_shown` for the scopes and the
timeline's keyframe marks. Display-only changes (view settings, the tone mapper) rebuild the
DisplayTransform and redraw, with no engine work.
"""

from __future__ import annotations

import torch
from PySide6.QtCore import QObject, Signal

from app.panels.pixel_probe import ProbeValues, probe
from app.panels.timeline import Timeline
from app.session import Session
from app.viewer.preview_widget import PreviewWidget
from app.viewer.view_state import DisplayView, ViewSettings
from app.worker import EngineBridge, FrameResult
from engine.grade import Grade
from engine.operators.base import CurveOperator

PREFETCH = 4


class PreviewFeed(QObject):
    """Keeps the preview showing the session's frame through its Grade and view settings."""

    frame_shown = Signal(object)  # FrameResult now on screen
    message = Signal(str)  # a passing note for the status bar

    def __init__(self, session: Session, viewer: PreviewWidget, timeline: Timeline,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.viewer, self.timeline = session, viewer, timeline
        self.bridge = EngineBridge(parent=self)
        self.result: FrameResult | None = None
        self._display_view: DisplayView | None = None
        viewer.set_settings(session.view)
        # Dragging the split divider is a view edit like any other.
        viewer.split_moved.connect(lambda split: session.set_view(session.view.replace(split=split)))
        session.clip_changed.connect(self._clip_changed)
        session.grade_changed.connect(self._grade_changed)
        session.view_changed.connect(self._view_changed)
        session.frame_changed.connect(self.show_frame)
        self.bridge.frame_ready.connect(self._frame_ready)

    def _clip_changed(self) -> None:
        s = self.session
        self.bridge.set_clip(s.clip, s.grade, s.revision)
        self.result = None
        self.viewer.fit()

    def _grade_changed(self, grade: Grade, engine_changed: bool) -> None:
        if self.session.clip is None:
            return
        if engine_changed:
            self.bridge.set_grade(grade, self.session.revision)
            self.show_frame(self.session.frame)
        self._update_display()

    def _view_changed(self, view: ViewSettings) -> None:
        self.viewer.set_settings(view)
        if view.view != self._display_view:
            self._update_display()

    def _update_display(self) -> None:
        pipeline = self.session.pipeline
        if pipeline is None:
            return
        view = self._display_view = self.session.view.view
        if view == DisplayView.SDR and not isinstance(pipeline.tmo, CurveOperator):
            # A spatial tone mapper needs the whole frame in the engine; the preview has no curve.
            self.message.emit(f"{pipeline.tmo.name} is a spatial tone mapper: it runs on export; "
                              "the preview shows PQ")
            view = DisplayView.PQ
        hdr = None
        if view == DisplayView.SDR and pipeline.tmo.needs_stats and self.result is not None:
            hdr = torch.from_numpy(self.result.hdr).permute(2, 0, 1).float()
        index = self.result.index if self.result is not None else 0
        display = pipeline.display_transform(view.value, hdr, index)
        self.viewer.set_display_transform(display, self.session.grade.peak_nits)

    # -- frames ---------------------------------------------------------------------------
    def show_frame(self, index: int) -> None:
        if self.session.clip is None:
            return
        step = -1 if self.timeline.speed < 0 else 1
        ahead = [index + step * k for k in range(1, PREFETCH + 1)] if self.timeline.playing else []
        cached = self.bridge.request(index, ahead)
        if cached is not None:
            self._show(cached)

    def _frame_ready(self, result: FrameResult) -> None:
        if result.index == self.session.frame:
            self._show(result)

    def _show(self, result: FrameResult) -> None:
        self.result = result
        self.viewer.set_frames(result.source, result.hdr, result.mask)
        self.frame_shown.emit(result)
        pipeline = self.session.pipeline
        if pipeline is not None and pipeline.tmo.needs_stats:
            self._update_display()

    def probe_at(self, x: int, y: int) -> ProbeValues | None:
        """The values of the shown frame's pixel (x, y), or None outside it."""
        result = self.result
        if result is None or not (0 <= y < result.hdr.shape[0] and 0 <= x < result.hdr.shape[1]):
            return None
        info = self.session.info
        return probe(result, x, y, info.bit_depth if info is not None else 8)

    def shutdown(self) -> None:
        self.bridge.shutdown()
