"""The source box's "Measure…" button: a camera LUT measured from a bracket of stills.

The GUI's side of `lumigrade calibrate` (engine.crf.bracket): the colorist picks the stills, gives
their exposures in stops where the stills' Exif records none, and says where the .cube goes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QWidget

from engine.crf.bracket import calibrate, parse_stops
from engine.crf.camera_lut import write_camera_lut
from engine.errors import GradeError
from engine.io.exif import read_exposure

BRACKET_FILTER = "Stills (*.jpg *.jpeg *.png *.tif *.tiff *.dpx)"
STOPS_FIELD = "Exposures"


def measure_camera_lut(parent: QWidget, lut_filter: str) -> str:
    """The .cube written from a bracket the colorist picks; '' where a dialog was cancelled.

    Raises the engine's one-line LumigradeError where the bracket cannot give a curve.
    """
    stills, _ = QFileDialog.getOpenFileNames(parent, "Bracket of stills", "", BRACKET_FILTER)
    if len(stills) == 0:
        return ""
    paths = [Path(s) for s in stills]
    stops = None
    if any(read_exposure(p) is None for p in paths):
        names = ", ".join(p.name for p in paths)
        text, ok = QInputDialog.getText(
            parent, "Bracket exposures",
            f"The stills record no exposure (Exif). Each one's exposure in stops, in this order, "
            f"comma-separated:\n{names}")
        if not ok:
            return ""
        stops = parse_stops(text, len(paths), STOPS_FIELD)
    target, _ = QFileDialog.getSaveFileName(parent, "Save camera LUT", str(paths[0].with_name("camera.cube")),
                                            lut_filter)
    if not target:
        return ""
    path = Path(target)
    if path.suffix.lower() != ".cube":
        raise GradeError("the camera LUT is written as a .cube file", path)
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        result = calibrate(paths, stops)
        return str(write_camera_lut(path, result.response, result.title))
    finally:
        QApplication.restoreOverrideCursor()
