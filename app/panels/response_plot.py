"""The source transform as a curve: the tagged transfer beside the one the grade chose instead.

Code value (0..1) against the relative linear light it becomes, on a log axis, drawn with
pyqtgraph. The tagged curve is the stream's tagged transfer (the 'auto' source transform); the
chosen curve is the one the session's Pipeline applies when the grade reads the clip otherwise:
the estimated camera response ('estimated', engine.crf.estimate), the BT.709 camera's scene
light ('bt709-camera') or the camera's response from a 1-D LUT file ('camera-lut'), so the
plot shows exactly what the preview and the export use. The measured curve is that reading
with the top the temporal mode re-measured from the clip's exposure changes
(engine.temporal.shoulder), once a rendered frame has brought it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch

from app.session import Session
from engine.errors import LumigradeError
from engine.grade import SourceTransform
from engine.input_transform import RESPONSE_TRANSFERS, resolve_input_transform

_CODES = torch.linspace(0.0, 1.0, 256)
_FLOOR = 1e-4  # the plot's floor on its log axis
# SDR transfers that read a clip other than its tag
_CAMERA_READINGS = (*RESPONSE_TRANSFERS, "bt709-camera")


class ResponsePlot(pg.PlotWidget):
    """Tagged transfer (grey), the chosen camera reading (orange) and the temporal mode's
    measured top (blue, dashed) of the session's clip."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.setMinimumHeight(140)
        self.setLogMode(x=False, y=True)
        self.setLabel("bottom", "code value")
        self.setLabel("left", "linear light")
        self.addLegend(offset=(5, 5))
        self.tagged = self.plot(pen=pg.mkPen(170, 170, 170, width=2), name="tagged")
        self.chosen = self.plot(pen=pg.mkPen(255, 150, 40, width=2), name="chosen")
        self.measured = self.plot(pen=pg.mkPen(60, 150, 255, width=2, style=pg.QtCore.Qt.PenStyle.DashLine),
                                  name="measured top")
        self._shown_top: np.ndarray | None = None  # the gain `measured` draws, if any
        session.clip_changed.connect(self.refresh)
        session.grade_changed.connect(lambda _grade, _engine: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        info = self.session.info
        x = _CODES.numpy()
        self.tagged.setData([], [])
        self.chosen.setData([], [])
        self.measured.setData([], [])  # drawn again on the reading the next frame brings
        self._shown_top = None
        if info is None or info.tags.is_hdr():
            return
        try:
            tagged = resolve_input_transform(SourceTransform(), info)
        except LumigradeError:
            return
        ramp = _CODES.expand(3, 1, -1)
        self.tagged.setData(x, tagged.apply(ramp)[1, 0].clamp_min(_FLOOR).numpy())
        pipeline = self.session.pipeline
        if pipeline is not None and pipeline.input.transfer in _CAMERA_READINGS:
            self.chosen.setData(x, pipeline.input.apply(ramp)[1, 0].clamp_min(_FLOOR).numpy())

    def show_measured(self, top: np.ndarray | None) -> None:
        """Draw the session's reading of the source with the temporal mode's measured gain `top`
        ((256,) over code values, see engine.temporal.shoulder); None clears the curve."""
        # Every frame shown brings the gain, the same one until the grade or the clip changes
        # (refresh() forgets it): playback should not redraw the plot 24 times a second.
        if top is self._shown_top or (top is not None and self._shown_top is not None
                                      and np.array_equal(top, self._shown_top)):
            return
        self._shown_top = top
        pipeline = self.session.pipeline
        if top is None or pipeline is None or pipeline.input.hdr:
            self.measured.setData([], [])
            return
        light = pipeline.input.apply(_CODES.expand(3, 1, -1))[1, 0].numpy()
        gain = np.interp(_CODES.numpy(), np.linspace(0.0, 1.0, top.size), top)
        self.measured.setData(_CODES.numpy(), np.maximum(light * gain, _FLOOR))
