"""The session's current frame on screen: engine requests, the display transform, frame results.

The feed subscribes to the session. A new clip or an engine-relevant Grade goes to the engine
bridge with the session's revision; the current frame (and, while playing, the next few) is
requested; finished frames go to the preview and out on `frame_shown` for the scopes and the
timeline's keyframe marks. Display-only changes (view settings, a curve tone mapper) rebuild
the DisplayTransform and redraw, with no engine work.

When the SDR view needs the engine's tone mapping (a spatial tone mapper, or a compare side on a
saved version of the grade) the frames carry each side's encoded SDR signal (app.worker,
SidePicture) and the preview shows them through the identity transform: the SDR preview is the
SDR export's signal.
"""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal

from app.panels.pixel_probe import ProbeValues, probe
from app.panels.timeline import Timeline
from app.session import Session, spatial_tmo
from app.versions import CompareSides
from app.viewer.preview_widget import PreviewWidget
from app.viewer.view_state import DisplayView, ViewSettings
from app.worker import EngineBridge, FrameResult
from engine.display import encoded_view
from engine.grade import Grade

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
        self._encoded: bool | None = None  # whether the shown frames are engine-encoded SDR
        viewer.set_settings(session.view)
        # Dragging the split divider is a view edit like any other.
        viewer.split_moved.connect(lambda split: session.set_view(session.view.replace(split=split)))
        session.clip_changed.connect(self._clip_changed)
        session.grade_changed.connect(self._grade_changed)
        session.view_changed.connect(self._view_changed)
        session.frame_changed.connect(self.show_frame)
        session.sides_changed.connect(self._sides_changed)
        self.bridge.frame_ready.connect(self._frame_ready)

    def _clip_changed(self) -> None:
        s = self.session
        self.bridge.set_sides(s.side_grade(s.sides.a), s.side_grade(s.sides.b))  # type: ignore[arg-type]
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

    def _sides_changed(self, sides: CompareSides) -> None:
        s = self.session
        self.bridge.set_sides(s.side_grade(sides.a), s.side_grade(sides.b))  # type: ignore[arg-type]
        if s.clip is not None:
            self.bridge.set_grade(s.grade, s.revision)
            self.show_frame(s.frame)

    def _view_changed(self, view: ViewSettings) -> None:
        self.viewer.set_settings(view)
        if view.view != self._display_view:
            if self.result is not None and self.result.sides is not None:
                self._show(self.result)  # the other view shows other arrays of the sides
            else:
                self._update_display()

    def _frames(self, result: FrameResult) -> tuple[np.ndarray, np.ndarray, bool]:
        """The A and B frames the preview shows, and whether they are engine-encoded SDR."""
        if result.sides is None:
            return result.source, result.hdr, False
        a, b = result.sides
        if self.session.view.view == DisplayView.SDR:
            return a.sdr, b.sdr, True
        return a.nits, b.nits, False

    def _update_display(self) -> None:
        pipeline = self.session.pipeline
        if pipeline is None:
            return
        view = self._display_view = self.session.view.view
        if self._encoded:
            self.viewer.set_display_transform(encoded_view("sdr"), self.session.grade.peak_nits)
            return
        if view == DisplayView.SDR and spatial_tmo(self.session.grade):
            # Until the engine's tone-mapped frame arrives the frame shown is light in cd/m².
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
        a, b, encoded = self._frames(result)
        self.viewer.set_frames(a, b, result.mask)
        self.viewer.set_clues(result.clues)
        self.frame_shown.emit(result)
        pipeline = self.session.pipeline
        if encoded != self._encoded or self.session.view.view != self._display_view or (
                pipeline is not None and pipeline.tmo.needs_stats and not encoded):
            self._encoded = encoded
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
