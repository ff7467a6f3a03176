"""The timeline: scrubbing, playback (space, J/K/L, arrows), frame number, timecode, keyframe marks.

It shows the session's frame and moves it; playback is the timeline's own state. Playback is
driven by the clip's frame rate on the wall clock, as an editor plays: each tick shows the
frame due now, and frames whose time passed between two ticks (a slow tick, a busy event loop)
are skipped and reported on `frames_skipped`, never played late.
"""

from __future__ import annotations

import time
from fractions import Fraction

from PySide6.QtCore import QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QStyle,
    QStyleOptionSlider,
    QWidget,
)

from app.session import Session
from engine.io.timecode import timecode_at

MAX_SHUTTLE_SPEED = 8  # J/L pressed repeatedly: 1x, 2x, 4x, 8x


def timecode(index: int, fps: Fraction, start: str | None = None) -> str:
    """SMPTE ST 12-1 timecode HH:MM:SS:FF of frame `index`: counted from the source's `start`
    timecode (drop-frame when it is, engine.io.timecode), else non-drop-frame from zero at the
    nominal integer rate."""
    if start is not None:
        return timecode_at(start, fps, index)
    nominal = max(1, round(fps))
    frames = index % nominal
    seconds = index // nominal
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}:{frames:02d}"


class MarkerSlider(QSlider):
    """A horizontal slider that also paints keyframe markers under the groove."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.markers: list[int] = []

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self.markers or self.maximum() <= self.minimum():
            return
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        groove = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                             QStyle.SubControl.SC_SliderGroove, self)
        painter = QPainter(self)
        painter.setPen(QColor(255, 190, 40))
        span = self.maximum() - self.minimum()
        for marker in self.markers:
            x = groove.left() + round((marker - self.minimum()) / span * (groove.width() - 1))
            painter.drawLine(x, QRect(groove).bottom() + 1, x, self.height() - 1)
        painter.end()


class Timeline(QWidget):
    """The session's frame position, and playback through the clip."""

    playing_changed = Signal(bool)
    frames_skipped = Signal(int)  # frames of the clip whose time passed without being shown

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.fps = Fraction(24)
        self.start_timecode: str | None = None  # the source's, when it carries one
        self.speed = 0  # playback direction and multiplier; 0 = stopped
        self._origin = (0, 0.0)  # (frame, monotonic seconds) where playback at this speed began
        self.play_button = QPushButton("Play")
        self.play_button.setToolTip("play / pause (Space); J, K, L shuttle; arrows step")
        self.slider = MarkerSlider()
        self.slider.setMinimumWidth(200)
        self.frame_box = QSpinBox()
        self.frame_box.setToolTip("frame number")
        self.timecode = QLabel(timecode(0, self.fps))
        self.timecode.setMinimumWidth(90)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.play_button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.frame_box)
        layout.addWidget(self.timecode)
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.slider.valueChanged.connect(self._moved)
        self.frame_box.valueChanged.connect(self.slider.setValue)
        self.play_button.clicked.connect(self.toggle_play)
        self._set_range(1, self.fps)
        session.clip_changed.connect(self._clip_changed)
        session.frame_changed.connect(self.slider.setValue)

    @property
    def frame(self) -> int:
        return self.slider.value()

    @property
    def playing(self) -> bool:
        return self.speed != 0

    def _set_range(self, frame_count: int, fps: Fraction) -> None:
        self.stop()
        self.fps = Fraction(fps) if fps > 0 else Fraction(24)
        for widget in (self.slider, self.frame_box):
            widget.blockSignals(True)
            widget.setRange(0, max(frame_count - 1, 0))
            widget.setValue(0)
            widget.blockSignals(False)
        self.timecode.setText(timecode(0, self.fps, self.start_timecode))

    def _clip_changed(self) -> None:
        info = self.session.info
        if info is not None:
            self.start_timecode = info.timecode
            self.timecode.setToolTip("source timecode" if info.timecode else "timecode from frame 0")
            self._set_range(info.frame_count, info.fps)

    def set_markers(self, frames: list[int]) -> None:
        """Keyframes to mark on the slider (e.g. those the temporal reconstruction uses)."""
        self.slider.markers = sorted(frames)
        self.slider.update()

    def step(self, delta: int) -> None:
        self.stop()
        self.slider.setValue(self.frame + delta)

    # -- playback -------------------------------------------------------------------------
    def play(self, speed: int = 1) -> None:
        self.speed = speed
        self._origin = (self.frame, time.monotonic())
        # Ticks at the display rate of the frames; which frame is due comes from the clock.
        self.timer.start(max(1, round(1000.0 / (float(self.fps) * abs(speed)))))
        self.play_button.setText("Pause")
        self.playing_changed.emit(True)

    def stop(self) -> None:
        was_playing = self.playing
        self.speed = 0
        self.timer.stop()
        self.play_button.setText("Play")
        if was_playing:
            self.playing_changed.emit(False)

    def toggle_play(self) -> None:
        if self.playing:
            self.stop()
        else:
            self.play(1)

    def shuttle(self, direction: int) -> None:
        """J (-1) and L (+1): start, or double the speed in that direction (Avid/Resolve style)."""
        if self.speed * direction > 0:
            self.play(direction * min(abs(self.speed) * 2, MAX_SHUTTLE_SPEED))
        else:
            self.play(direction)

    def due_frame(self, now: float) -> int:
        """The frame playback should show at monotonic time `now`."""
        start, started = self._origin
        return start + self.speed * int((now - started) * float(self.fps))

    def _tick(self) -> None:
        target = self.due_frame(time.monotonic())
        if target == self.frame:
            return
        last = self.slider.maximum() if self.speed > 0 else self.slider.minimum()
        if (target - last) * self.speed > 0:
            target = last
        skipped = abs(target - self.frame) - 1
        if skipped > 0:
            self.frames_skipped.emit(skipped)
        self.slider.setValue(target)
        if target == last:
            self.stop()

    def _moved(self, index: int) -> None:
        self.frame_box.blockSignals(True)
        self.frame_box.setValue(index)
        self.frame_box.blockSignals(False)
        self.timecode.setText(timecode(index, self.fps, self.start_timecode))
        self.session.set_frame(index)
