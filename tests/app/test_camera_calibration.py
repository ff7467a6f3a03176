"""The source box's "Measure…" button: a camera LUT measured from a bracket, then used."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.panels.controls import ControlsPanel
from app.session import Session
from engine.crf.camera_lut import read_camera_lut
from tests.cli.test_calibrate import _bracket, _srgb_eotf, _srgb_oetf
from tests.engine.crf.scenes import sdr_clip

pytestmark = pytest.mark.gui


def _dialogs(monkeypatch: pytest.MonkeyPatch, stills: list[str], stops: tuple[str, bool], target: str,
             asked: list[str]) -> None:
    """The three dialogs answer `stills`, `stops` and `target`, noting each title in `asked`."""
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    def open_files(_parent: object, title: str, _folder: str, _filters: str) -> tuple[list[str], str]:
        asked.append(title)
        return stills, ""

    def text(_parent: object, title: str, _label: str) -> tuple[str, bool]:
        asked.append(title)
        return stops

    def save(_parent: object, title: str, _folder: str, _filters: str) -> tuple[str, str]:
        asked.append(title)
        return target, ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", open_files)
    monkeypatch.setattr(QInputDialog, "getText", text)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", save)


def _panel(qtbot: object, folder: Path) -> tuple[Session, ControlsPanel]:
    session = Session()
    session.open_clip(sdr_clip(folder / "clip.mp4", 2))
    panel = ControlsPanel(session)
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    return session, panel


def test_a_measured_bracket_becomes_the_camera_lut(gl_app: object, qtbot: object, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    session, panel = _panel(qtbot, tmp_path)
    errors: list[tuple[str, str]] = []
    session.error.connect(lambda title, message: errors.append((title, message)))
    stills = _bracket(tmp_path, _srgb_oetf)  # PNGs without Exif: the exposures are asked for
    cube = tmp_path / "camera.cube"
    asked: list[str] = []

    # Cancelled at the stills: nothing asked further, nothing proposed.
    _dialogs(monkeypatch, [], ("", False), str(cube), asked)
    panel.measure_lut.click()
    assert asked == ["Bracket of stills"] and session.undo_stack.count() == 0
    # Exposures that do not fit the stills: one line, no file, nothing proposed.
    asked.clear()
    _dialogs(monkeypatch, stills, ("0,1", True), str(cube), asked)
    panel.measure_lut.click()
    assert asked == ["Bracket of stills", "Bracket exposures"]
    assert errors == [("Cannot measure the camera's response",
                       "Exposures '0,1' gives 2 exposures for 5 stills")]
    assert not cube.exists() and session.undo_stack.count() == 0
    # A bracket the measurement refuses (on its thread): one line, the button back, no file.
    small = tmp_path / "small.png"
    assert cv2.imwrite(str(small), np.zeros((8, 8, 3), np.uint8))
    _dialogs(monkeypatch, [stills[0], str(small)], ("0,2", True), str(cube), asked)
    panel.measure_lut.click()
    qtbot.waitUntil(lambda: len(errors) == 2, timeout=60000)  # type: ignore[attr-defined]
    assert errors[1] == ("Cannot measure the camera's response",
                         f"{small}: is 8x8, the bracket's first still 256x48")
    assert panel.measure_lut.isEnabled() and not cube.exists() and session.undo_stack.count() == 0
    # Measured and used.
    asked.clear()
    _dialogs(monkeypatch, stills, ("-2,-1,0,1,2", True), str(cube), asked)
    panel.measure_lut.click()
    assert asked == ["Bracket of stills", "Bracket exposures", "Save camera LUT"]
    # Measured on a thread: the button waits, then the LUT becomes the grade's.
    assert not panel.measure_lut.isEnabled() and panel.measure_lut.text() == "Measuring…"
    qtbot.waitUntil(lambda: session.grade.source.transfer == "camera-lut", timeout=60000)  # type: ignore[attr-defined]
    assert panel.measure_lut.isEnabled() and panel.measure_lut.text() == "Measure…" and len(errors) == 2
    assert session.grade.source.camera_lut == str(cube)
    assert panel.camera_lut.text() == "camera.cube"
    table = read_camera_lut(cube).double().numpy()
    codes = np.linspace(0.0, 1.0, table.size)
    sel = (codes > 0.05) & (codes < 0.95)
    assert np.abs(np.log2(table[sel] / _srgb_eotf(codes[sel]))).max() < 0.03
    x, y = panel.response_plot.chosen.xData, panel.response_plot.chosen.yData
    assert np.allclose(y, np.maximum(np.interp(x, codes, table), 1e-4), rtol=1e-4)
    # Measured again into the same file (a gamma 2.6 camera): the grade stays, one undo step, and
    # the engine and the plot read the new curve.
    revision, steps = session.revision, session.undo_stack.count()
    _dialogs(monkeypatch, _bracket(tmp_path, lambda light: light ** (1 / 2.6)), ("-2,-1,0,1,2", True),
             str(cube), asked)
    panel.measure_lut.click()
    qtbot.waitUntil(lambda: session.revision > revision, timeout=60000)  # type: ignore[attr-defined]
    assert session.undo_stack.count() == steps and session.grade.source.camera_lut == str(cube)
    table = read_camera_lut(cube).double().numpy()
    # Under code 0.2 some of the bracket's exposures no longer reach a 2.6 gamma's codes (the
    # wedge starts at 2^-8), and the fit loosens there.
    lit = (codes > 0.2) & (codes < 0.95)
    assert np.abs(np.log2(table[lit] / codes[lit] ** 2.6)).max() < 0.03
    assert session.pipeline is not None
    assert np.allclose(session.pipeline.input.response.numpy(), table, rtol=1e-5)
    x, y = panel.response_plot.chosen.xData, panel.response_plot.chosen.yData
    assert np.allclose(y, np.maximum(np.interp(x, codes, table), 1e-4), rtol=1e-4)


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
def test_stills_with_exif_are_not_asked_for_their_exposures(gl_app: object, qtbot: object, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    session, panel = _panel(qtbot, tmp_path)
    stills = _bracket(tmp_path, _srgb_oetf)
    for still, iso in zip(stills, (100, 200, 400, 800, 1600), strict=True):
        subprocess.run(["exiftool", "-q", "-overwrite_original", "-ExposureTime=1/100", f"-ISO={iso}", still],
                       check=True)
    asked: list[str] = []
    _dialogs(monkeypatch, stills, ("", False), str(tmp_path / "camera.cube"), asked)
    panel.measure_lut.click()
    assert asked == ["Bracket of stills", "Save camera LUT"]
    qtbot.waitUntil(lambda: session.grade.source.camera_lut == str(tmp_path / "camera.cube"),  # type: ignore[attr-defined]
                    timeout=60000)
    table = read_camera_lut(tmp_path / "camera.cube").double().numpy()
    codes = np.linspace(0.0, 1.0, table.size)
    sel = (codes > 0.05) & (codes < 0.95)
    assert np.abs(np.log2(table[sel] / _srgb_eotf(codes[sel]))).max() < 0.03
