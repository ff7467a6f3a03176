"""The source transform's camera readings (`auto (estimated)`, `bt709 camera`) and the curve plot
beside the tagged curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from app.panels.controls import ControlsPanel
from app.session import Session
from engine.color.transfer import bt709_inverse_oetf, bt1886_eotf, srgb_eotf
from tests.engine.crf.scenes import sdr_clip

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def estimator_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sdr_clip(tmp_path_factory.mktemp("clips") / "estimate.mp4", 3)


def _panel(qtbot: object, clip: Path, choice: str) -> tuple[Session, ControlsPanel, int]:
    """A session on the clip, its controls, and the index of the source transfer `choice`."""
    session = Session()
    session.open_clip(clip)
    panel = ControlsPanel(session)
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    index = panel.transfer.findText(choice)
    assert index >= 0
    return session, panel, index


def _chosen(qtbot: object, clip: Path, choice: str, transfer: str) -> tuple[Session, ControlsPanel]:
    """A session on the clip whose grade reads it by the source transfer `choice`, and its controls."""
    session, panel, index = _panel(qtbot, clip, choice)
    panel.transfer.setCurrentIndex(index)
    assert session.grade.source.transfer == transfer
    return session, panel


def test_choosing_auto_estimated_proposes_it_and_plots_the_estimated_curve(
    gl_app: object, qtbot: object, estimator_clip: Path
) -> None:
    session, panel, index = _panel(qtbot, estimator_clip, "auto (estimated)")
    plot = panel.response_plot
    x, y = plot.tagged.xData, plot.tagged.yData  # the data, not the log-axis display
    # The clip is tagged BT.709: the tagged curve is the BT.1886 EOTF.
    assert np.allclose(y, np.maximum(bt1886_eotf(torch.from_numpy(np.asarray(x))).numpy(), 1e-4), rtol=1e-5)
    assert plot.chosen.yData is None or len(plot.chosen.yData) == 0
    busy: list[bool] = []
    session.estimating.connect(busy.append)
    panel.transfer.setCurrentIndex(index)
    # The estimate runs on a thread: the choice takes effect when it is cached, not before.
    assert busy == [True]
    assert session.grade.source.transfer == "auto"
    qtbot.waitUntil(lambda: session.grade.source.transfer == "estimated", timeout=60000)  # type: ignore[attr-defined]
    assert busy == [True, False]
    x, y = plot.chosen.xData, plot.chosen.yData
    g = session.pipeline.input.response.numpy()
    assert np.allclose(y, np.maximum(np.interp(x, np.linspace(0, 1, g.size), g), 1e-4), rtol=1e-4)
    session.undo_stack.undo()
    assert panel.transfer.currentText() == "auto"


def test_choosing_bt709_camera_reads_scene_light_and_plots_it(
    gl_app: object, qtbot: object, estimator_clip: Path
) -> None:
    session, panel = _chosen(qtbot, estimator_clip, "bt709 camera (scene light)", "bt709-camera")
    x, y = panel.response_plot.chosen.xData, panel.response_plot.chosen.yData
    expected = bt709_inverse_oetf(torch.from_numpy(np.asarray(x))).numpy()
    assert np.allclose(y, np.maximum(expected, 1e-4), rtol=1e-5)
    # Mid-grey's code (0.409) reads 0.18 of white, where the tagged BT.1886 curve reads 0.117.
    tagged = panel.response_plot.tagged
    mid = int(np.argmin(np.abs(np.asarray(x) - 0.409)))
    assert y[mid] > 1.4 * tagged.yData[mid]
    session.undo_stack.undo()
    assert panel.transfer.currentText() == "auto"


def test_the_measured_top_multiplies_the_reading_and_clears_without_one(
    gl_app: object, qtbot: object, estimator_clip: Path
) -> None:
    # The temporal mode measures the top of sRGB and gamma decodes (engine.temporal.shoulder).
    _, panel = _chosen(qtbot, estimator_clip, "srgb", "srgb")
    plot = panel.response_plot
    top = np.ones(256, np.float32)
    top[128:] = np.linspace(1.0, 2.0, 128, dtype=np.float32)  # one stop more light at white
    plot.show_measured(top)
    x, y = plot.measured.xData, plot.measured.yData
    reading = srgb_eotf(torch.from_numpy(np.asarray(x))).numpy()
    assert np.allclose(y[:128], np.maximum(reading[:128], 1e-4), rtol=1e-5)
    assert y[-1] == pytest.approx(2.0 * reading[-1], rel=1e-5)
    # A grade change clears it; the next frame's gain, though equal, draws it on the new reading.
    plot.refresh()
    assert plot.measured.yData is None or len(plot.measured.yData) == 0
    plot.show_measured(top.copy())
    assert np.array_equal(plot.measured.yData, y)
    plot.show_measured(None)
    assert plot.measured.yData is None or len(plot.measured.yData) == 0


def test_choosing_a_camera_lut_asks_for_the_file_and_plots_its_curve(
    gl_app: object, qtbot: object, estimator_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QFileDialog

    from engine.crf.camera_lut import write_camera_lut

    cube = write_camera_lut(tmp_path / "camera.cube", torch.linspace(0.0, 1.0, 256) ** 3.0, "cube")
    answers = ["", str(cube)]  # the first dialog is cancelled
    asked: list[str] = []

    def dialog(_parent: object, _title: str, _folder: str, filters: str) -> tuple[str, str]:
        asked.append(filters)
        return answers.pop(0), filters

    monkeypatch.setattr(QFileDialog, "getOpenFileName", dialog)
    session, panel, index = _panel(qtbot, estimator_clip, "camera LUT (1-D .cube)")
    panel.transfer.setCurrentIndex(index)
    # Cancelled: nothing proposed, and the combo shows the grade's transfer again.
    assert asked == ["1-D camera LUT (*.cube)"] and session.grade.source.transfer == "auto"
    assert panel.transfer.currentText() == "auto" and session.undo_stack.count() == 0
    panel.transfer.setCurrentIndex(index)
    assert session.grade.source.transfer == "camera-lut" and session.grade.source.camera_lut == str(cube)
    assert panel.camera_lut.text() == "camera.cube"
    x, y = panel.response_plot.chosen.xData, panel.response_plot.chosen.yData
    assert np.allclose(y, np.maximum(np.asarray(x) ** 3.0, 1e-4), rtol=1e-4, atol=1e-6)
    session.undo_stack.undo()
    assert panel.transfer.currentText() == "auto" and panel.camera_lut.text() == "Choose…"
