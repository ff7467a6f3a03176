"""Scopes drawn with pyqtgraph, in tabs: a log-axis luminance histogram and a PQ-scale waveform
in cd/m², the RGB parade and vectorscope of the output signal, and the CIE 1931 gamut scope.

The data comes computed from the engine's threads (app.panels.scope_data from the worker,
app.panels.signal_scope_data with each display bake); drawing it is deferred and coalesced (at
most one redraw per SCOPE_INTERVAL_MS), so the scopes never hold up the preview's redraw while
frames stream in during playback or a slider drag.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from app.panels.colour_scopes import GamutPlot, ParadePlot, VectorscopePlot
from app.panels.scope_data import WAVEFORM_LEVELS, ScopeData
from app.panels.signal_scope_data import SignalScopes
from engine.color.transfer import pq_inverse_eotf
from engine.constants import SDR_REFERENCE_WHITE_NITS

# Levels a colourist reads off the axes: black, SDR white and the usual mastering peaks.
NITS_TICKS = (0.01, 0.1, 1.0, 10.0, 100.0, SDR_REFERENCE_WHITE_NITS, 1000.0, 4000.0, 10000.0)
SCOPE_INTERVAL_MS = 100
HISTOGRAM_TICKS = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)  # decades: a log axis stays legible


def _nits_label(nits: float) -> str:
    return f"{nits:g}"


def waveform_ticks() -> list[tuple[float, str]]:
    """Waveform axis ticks: each cd/m² level at its PQ code, in waveform level units."""
    codes = pq_inverse_eotf(torch.tensor(NITS_TICKS, dtype=torch.float64)) * (WAVEFORM_LEVELS - 1)
    return [(float(c), _nits_label(n)) for c, n in zip(codes, NITS_TICKS, strict=True)]


class ScopesPanel(QWidget):
    """Tabs: histogram of log10 cd/m² and waveform (x = image column, y = PQ code of luminance);
    RGB parade; vectorscope; gamut."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        outer.addWidget(self.tabs)
        luminance = QWidget()
        layout = QVBoxLayout(luminance)
        layout.setContentsMargins(2, 2, 2, 2)
        self.histogram_plot = pg.PlotWidget(title="Luminance histogram (cd/m²)")
        self.histogram_plot.setMouseEnabled(False, False)
        self.histogram_plot.getAxis("bottom").setTicks(
            [[(float(np.log10(n)), _nits_label(n)) for n in HISTOGRAM_TICKS]]
        )
        self.histogram_plot.hideAxis("left")
        self.histogram_curve = self.histogram_plot.plot(
            stepMode="center", fillLevel=0, brush=(90, 160, 255, 150), pen=pg.mkPen(140, 190, 255)
        )
        self.waveform_plot = pg.PlotWidget(title="Waveform (cd/m², PQ scale)")
        self.waveform_plot.setMouseEnabled(False, False)
        self.waveform_plot.getAxis("left").setTicks([waveform_ticks()])
        self.waveform_plot.hideAxis("bottom")
        self.waveform_image = pg.ImageItem(axisOrder="col-major")
        self.waveform_image.setColorMap(pg.colormap.get("viridis"))
        self.waveform_plot.addItem(self.waveform_image)
        self.waveform_plot.setYRange(0, WAVEFORM_LEVELS, padding=0)
        layout.addWidget(self.histogram_plot)
        layout.addWidget(self.waveform_plot)
        self.parade_plot = ParadePlot()
        self.vectorscope_plot = VectorscopePlot()
        self.gamut_plot = GamutPlot()
        self.tabs.addTab(luminance, "Luminance")
        self.tabs.addTab(self.parade_plot, "Parade")
        self.tabs.addTab(self.vectorscope_plot, "Vectorscope")
        self.tabs.addTab(self.gamut_plot, "Gamut")
        self.setMinimumWidth(260)
        self._pending: ScopeData | None = None
        self._pending_signal: SignalScopes | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SCOPE_INTERVAL_MS)
        self._timer.timeout.connect(self._draw_pending)

    def show_scopes(self, data: ScopeData) -> None:
        """Draw `data` after the current event (the preview's repaint) has run; a newer frame's
        data arriving in the meantime replaces it."""
        self._pending = data
        if not self._timer.isActive():
            self._timer.start()

    def show_signal_scopes(self, data: SignalScopes) -> None:
        """Draw the output signal's parade and vectorscope, deferred as show_scopes is."""
        self._pending_signal = data
        if not self._timer.isActive():
            self._timer.start()

    def _draw_pending(self) -> None:
        data, self._pending = self._pending, None
        signal, self._pending_signal = self._pending_signal, None
        if data is not None:
            self.draw(data)
        if signal is not None:
            self.draw_signal(signal)

    def draw(self, data: ScopeData) -> None:
        self.histogram_curve.setData(data.histogram_edges, data.histogram)
        # log(1 + n) keeps sparse highlights visible next to large flat areas.
        self.waveform_image.setImage(np.log1p(data.waveform), autoLevels=True)
        self.waveform_plot.setXRange(0, data.waveform.shape[0], padding=0)
        self.gamut_plot.draw(data.gamut)

    def draw_signal(self, data: SignalScopes) -> None:
        self.parade_plot.draw(data)
        self.vectorscope_plot.draw(data)
