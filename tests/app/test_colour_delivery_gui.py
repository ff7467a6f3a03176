"""The GUI's colour and delivery entries: Save Grade, the export dialog's mastering display,
the .cube dialog, the OCIO colour space control and the source timecode on the timeline."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.lut_dialog import LutDialog
from app.main_window import MainWindow
from engine.grade import Grade
from tests.app.helpers import open_window
from tests.cli.conftest import ffprobe

pytestmark = pytest.mark.gui


@pytest.fixture
def window(gl_app: QApplication, qtbot: object, tmp_path: Path) -> MainWindow:
    return open_window(qtbot, tmp_path)


def test_save_grade_writes_what_render_reads(window: MainWindow, tiny_clip: Path, tmp_path: Path) -> None:
    assert window.actions.open_clip(tiny_clip)
    window.controls.grade_controls["exposure"].spin.setValue(0.75)
    path = tmp_path / "look.json"
    assert window.actions.save_grade(path)
    assert Grade.load(path) == window.session.grade and Grade.load(path).exposure == 0.75


def test_export_dialog_writes_the_chosen_mastering_display(window: MainWindow, qtbot: object,
                                                           tiny_clip: Path, tmp_path: Path) -> None:
    assert window.actions.open_clip(tiny_clip)
    target = tmp_path / "graded.mp4"
    dialog = window.actions.show_export_dialog()
    assert dialog is not None
    dialog.mastering.setCurrentIndex(dialog.mastering.findData("bt2020"))
    dialog.peak.setValue(2000.0)
    dialog.black.setValue(0.005)
    dialog.format.setCurrentIndex(dialog.format.findData("hdr10"))
    dialog.path.setText(str(target))
    dialog.start.setValue(0)
    dialog.stop.setValue(2)
    dialog.start_export()
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=60000)  # type: ignore[attr-defined]
    frames = ffprobe(target, "-read_intervals", "%+#1", "-show_frames")["frames"]
    side = {s["side_data_type"]: s for s in frames[0]["side_data_list"]}
    mastering = side["Mastering display metadata"]
    assert mastering["red_x"] == "35400/50000" and mastering["max_luminance"] == "20000000/10000"
    assert mastering["min_luminance"] == "50/10000"


def test_lut_dialog_exports_or_says_why_not(window: MainWindow, tiny_clip: Path, tmp_path: Path) -> None:
    assert window.actions.open_clip(tiny_clip)
    dialog = window.actions.show_lut_dialog()
    assert isinstance(dialog, LutDialog)
    dialog.path.setText(str(tmp_path / "look.cube"))
    dialog.export()  # the default ITM is a network: no LUT
    assert "Cannot export" in dialog.status.text() and "spatial" in dialog.status.text()
    itm = window.controls.itm.combo
    itm.setCurrentIndex(itm.findData("bt2408"))
    assert window.session.grade.itm.name == "bt2408"
    dialog = window.actions.show_lut_dialog()
    assert isinstance(dialog, LutDialog)
    dialog.path.setText(str(tmp_path / "look.cube"))
    dialog.size.setCurrentIndex(dialog.size.findData(65))
    dialog.export()
    assert dialog.written == tmp_path / "look.cube"
    assert "LUT_3D_SIZE 65" in dialog.written.read_text()


def test_ocio_colour_space_control_and_source_timecode(window: MainWindow, tmp_path: Path) -> None:
    clip = tmp_path / "tc.mov"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=30000/1001",
         "-frames:v", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-timecode", "00:59:59;29", str(clip)],
        check=True,
    )
    assert window.actions.open_clip(clip)
    assert window.timeline.timecode.text() == "00:59:59;29"
    window.session.set_frame(1)
    QApplication.processEvents()
    assert window.timeline.timecode.text() == "01:00:00;00"  # drop-frame: the hour keeps ;00 and ;01
    controls = window.controls
    assert not controls.colour_space.isEnabled()
    controls.colour_space.setCurrentText("ARRI LogC3 (EI800)")
    controls.transfer.setCurrentText("ocio")
    source = window.session.grade.source
    assert (source.transfer, source.ocio_space) == ("ocio", "ARRI LogC3 (EI800)")
    assert controls.colour_space.isEnabled()
