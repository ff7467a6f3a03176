"""The colour scopes, drawn with pyqtgraph: RGB parade, vectorscope and CIE 1931 gamut scope.

Each takes data computed on the engine's threads (app.panels.signal_scope_data for the parade
and vectorscope, app.panels.scope_data for the chromaticities) and only draws it. Counts are
shown as log(1 + n), so sparse highlights stay visible next to large flat areas.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from app.panels.chromaticity import SCOPE_GAMUTS, gamut_triangle, spectral_locus
from app.panels.scope_data import GAMUT_STEP, GAMUT_X_RANGE, GAMUT_Y_RANGE
from app.panels.signal_scope_data import (
    PARADE_LEVELS,
    TARGET_AMPLITUDES,
    VECTORSCOPE_BINS,
    SignalScopes,
    vectorscope_targets,
)
from engine.color.ycbcr import YCbCrMatrix

_CHANNEL_TINTS = np.array([[1.0, 0.25, 0.25], [0.3, 1.0, 0.3], [0.35, 0.5, 1.0]])
GAMUT_PENS = {"bt709": (255, 255, 255), "p3-d65": (255, 210, 60), "bt2020": (80, 220, 255)}
GAMUT_LABELS = {"bt709": "BT.709", "p3-d65": "P3-D65", "bt2020": "BT.2020"}
MATRIX_LABELS = {"bt709": "BT.709", "bt2020nc": "BT.2020"}


def _log_counts(counts: np.ndarray) -> np.ndarray:
    scaled = np.log1p(counts)
    top = float(scaled.max())
    return scaled / top if top > 0 else scaled


class ParadePlot(pg.PlotWidget):
    """R', G' and B' waveforms side by side: x = image column in each third, y = code value."""

    def __init__(self) -> None:
        super().__init__(title="RGB parade (code values)")
        self.setMouseEnabled(False, False)
        self.hideAxis("bottom")
        self.getAxis("left").setTicks([[(PARADE_LEVELS * v / 4, f"{v * 25:g}%") for v in range(5)]])
        self.image = pg.ImageItem(axisOrder="col-major")
        self.addItem(self.image)
        self.setYRange(0, PARADE_LEVELS, padding=0)

    @staticmethod
    def rgb_image(parade: np.ndarray) -> np.ndarray:
        """(3 * columns, levels, 3) float RGB: each channel's counts in its own tint."""
        blocks = [_log_counts(parade[c])[..., None] * _CHANNEL_TINTS[c] for c in range(3)]
        return np.concatenate(blocks, axis=0)

    def draw(self, data: SignalScopes) -> None:
        self.image.setImage(self.rgb_image(data.parade), levels=(0.0, 1.0))
        self.setXRange(0, 3 * data.parade.shape[1], padding=0)


class VectorscopePlot(pg.PlotWidget):
    """Cb (x) against Cr (y) of the output signal, with the 75% and 100% colour-bar targets."""

    def __init__(self) -> None:
        super().__init__()
        self.setMouseEnabled(False, False)
        self.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        half = 0.5 / (VECTORSCOPE_BINS - 1)  # the bins' centres run from -0.5 to 0.5
        self.rect = QRectF(-0.5 - half, -0.5 - half, 1.0 + 2 * half, 1.0 + 2 * half)
        self.addItem(self.image)
        self.targets = pg.ScatterPlotItem(symbol="s", size=9, pen=pg.mkPen(255, 255, 255), brush=None)
        self.addItem(self.targets)
        self.labels: list[pg.TextItem] = []
        self.setRange(xRange=(-0.5, 0.5), yRange=(-0.5, 0.5), padding=0)
        self.matrix: YCbCrMatrix | None = None

    def show_targets(self, matrix: YCbCrMatrix) -> None:
        """The targets of `matrix`'s colour bars: squares at 75%, circles at 100%, named at 100%."""
        if matrix == self.matrix:
            return
        self.matrix = matrix
        self.setTitle(f"Vectorscope ({MATRIX_LABELS[matrix.name]} Y'CbCr)")
        spots = []
        for amplitude in TARGET_AMPLITUDES:
            for cb, cr in vectorscope_targets(matrix, amplitude).values():
                spots.append({"pos": (cb, cr), "symbol": "s" if amplitude < 1.0 else "o"})
        self.targets.setData(spots)
        for label in self.labels:
            self.removeItem(label)
        self.labels = []
        for name, (cb, cr) in vectorscope_targets(matrix, 1.0).items():
            label = pg.TextItem(name, color=(230, 230, 230), anchor=(0.5, 0.5))
            label.setPos(cb * 1.12, cr * 1.12)
            self.addItem(label)
            self.labels.append(label)

    def draw(self, data: SignalScopes) -> None:
        self.show_targets(data.matrix)
        # The rect with each image: pyqtgraph places an image by its rect only once it has one.
        self.image.setImage(_log_counts(data.vectorscope), levels=(0.0, 1.0), rect=self.rect)


class GamutPlot(pg.PlotWidget):
    """CIE 1931 xy of the graded light, the spectral locus and the BT.709, P3-D65 and BT.2020
    triangles: pixels outside a triangle are outside that gamut."""

    def __init__(self) -> None:
        super().__init__(title="Gamut (CIE 1931 xy)")
        self.setMouseEnabled(False, False)
        self.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setColorMap(pg.colormap.get("inferno"))
        half = GAMUT_STEP / 2  # the bins' centres run from 0 to the ranges' ends
        self.rect = QRectF(-half, -half, GAMUT_X_RANGE[1] + GAMUT_STEP, GAMUT_Y_RANGE[1] + GAMUT_STEP)
        self.addItem(self.image)
        locus = spectral_locus()
        closed = np.vstack([locus, locus[:1]])  # the line of purples closes it
        self.locus = self.plot(closed[:, 0], closed[:, 1], pen=pg.mkPen(200, 200, 200))
        self.addLegend(offset=(-5, 5))
        self.triangles = {
            p.name: self.plot(*gamut_triangle(p).T, pen=pg.mkPen(GAMUT_PENS[p.name]),
                              name=GAMUT_LABELS[p.name])
            for p in SCOPE_GAMUTS
        }
        self.setRange(xRange=GAMUT_X_RANGE, yRange=GAMUT_Y_RANGE, padding=0)

    def draw(self, gamut: np.ndarray) -> None:
        self.image.setImage(_log_counts(gamut), levels=(0.0, 1.0), rect=self.rect)
