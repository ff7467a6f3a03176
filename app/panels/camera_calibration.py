"""The source box's "Measure…" button: a camera LUT measured from a bracket of stills.

The GUI's side of `lumigrade calibrate` (engine.crf.bracket): the colorist picks the stills, gives
their exposures in stops where the stills' Exif records none, and says where the .cube goes
(`ask_bracket`, on the GUI thread); the measurement decodes every still and solves for the curve,
seconds for a bracket of camera stills, so it runs on a thread of its own (`Bracket.measure`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

from engine.crf.bracket import calibrate, exif_stops, parse_stops
from engine.crf.camera_lut import check_cube_target, write_camera_lut
from engine.io.exif import read_exposure

BRACKET_FILTER = "Stills (*.jpg *.jpeg *.png *.tif *.tiff *.dpx)"
STOPS_FIELD = "Exposures"


@dataclass(frozen=True)
class Bracket:
    """The stills, their exposures in stops and the .cube to write."""

    stills: list[Path]
    stops: list[float]
    target: Path

    def measure(self) -> str:
        """Measure the curve and write the .cube; its path. Raises a one-line LumigradeError."""
        result = calibrate(self.stills, self.stops)
        return str(write_camera_lut(self.target, result.response, result.title))


def ask_bracket(parent: QWidget, lut_filter: str) -> Bracket | None:
    """The bracket the colorist picks; None where a dialog was cancelled.

    The exposures come from the stills' Exif where every one records it, else from the colorist.
    Raises the engine's one-line LumigradeError for exposures that do not fit the stills, metadata
    that cannot be read and a target that is not a .cube.
    """
    stills, _ = QFileDialog.getOpenFileNames(parent, "Bracket of stills", "", BRACKET_FILTER)
    if len(stills) == 0:
        return None
    paths = [Path(s) for s in stills]
    exposures = [read_exposure(p) for p in paths]  # headers only: no pixel is decoded here
    if all(e is not None for e in exposures):
        stops = exif_stops(paths, exposures)
    else:
        names = ", ".join(p.name for p in paths)
        text, ok = QInputDialog.getText(
            parent, "Bracket exposures",
            f"The stills record no exposure (Exif). Each one's exposure in stops, in this order, "
            f"comma-separated:\n{names}")
        if not ok:
            return None
        stops = parse_stops(text, len(paths), STOPS_FIELD)
    target, _ = QFileDialog.getSaveFileName(parent, "Save camera LUT", str(paths[0].with_name("camera.cube")),
                                            lut_filter)
    if not target:
        return None
    return Bracket(paths, stops, check_cube_target(Path(target)))
