"""The grading window end to end: demo clip, loading, grade and view edits, undo, projects,
bad files, export, and the screenshot in docs/."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from app.export_dialog import ExportDialog
from app.main_window import DEMO_CLIP, MainWindow
from app.viewer.view_state import CompareMode, DisplayView, ViewSettings
from engine.color.transfer import pq_inverse_eotf
from engine.grade import Grade
from engine.io.open import open_clip
from engine.pipeline import Pipeline
from tests.app.helpers import open_window, settle, wait_for_result

pytestmark = pytest.mark.gui
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"


@pytest.fixture
def window(gl_app: QApplication, qtbot: object, tmp_path: Path) -> MainWindow:
    return open_window(qtbot, tmp_path)


def test_window_opens_on_the_demo_clip_side_by_side(window: MainWindow, qtbot: object) -> None:
    assert window.actions.open_path(DEMO_CLIP)
    wait_for_result(qtbot, window, 0)
    assert window.viewer.settings.compare == CompareMode.SIDE_BY_SIDE
    info = open_clip(DEMO_CLIP).info
    assert window.viewer.image_size == (info.width, info.height)
    assert window.timeline.slider.maximum() == info.frame_count - 1
    # What the window shows of the result is what an SDR export encodes, on real footage.
    window.actions.set_compare(CompareMode.B)
    window.viewer.one_to_one()
    shown = window.viewer.render_offscreen(info.width, info.height)[..., :3]
    # The same frame both ways: the engine's graded frame as the preview holds it (float16).
    hdr = torch.from_numpy(window.feed.result.hdr.astype(np.float32)).permute(2, 0, 1)  # type: ignore[union-attr]
    with open_clip(DEMO_CLIP) as clip:
        pipeline = Pipeline(window.session.grade, clip, device="cpu")
        np.testing.assert_allclose(hdr.numpy(), pipeline.hdr(0).numpy(), rtol=1e-3, atol=1e-3)
        export = pipeline.output(0, hdr, "sdr").permute(1, 2, 0).numpy()
    assert np.abs(np.round(shown * 255) - np.round(export * 255)).max() <= 1


def test_grade_slider_renders_new_pixels_and_undoes(
    window: MainWindow, qtbot: object, tiny_clip: Path
) -> None:
    assert window.actions.open_clip(tiny_clip)
    wait_for_result(qtbot, window, 0)
    before = window.feed.result.hdr.astype(np.float32)  # type: ignore[union-attr]
    window.controls.grade_controls["exposure"].spin.setValue(1.0)
    assert window.session.grade.exposure == 1.0 and window.session.undo_stack.count() == 1
    wait_for_result(qtbot, window, 0)
    after = window.feed.result.hdr.astype(np.float32)  # type: ignore[union-attr]
    np.testing.assert_allclose(after, 2 * before, rtol=2e-3, atol=1e-3)  # +1 stop doubles cd/m²
    window.session.undo_stack.undo()
    assert window.session.grade == Grade() and window.controls.grade_controls["exposure"].value() == 0.0
    wait_for_result(qtbot, window, 0)
    np.testing.assert_allclose(window.feed.result.hdr.astype(np.float32), before, rtol=2e-3)  # type: ignore[union-attr]
    window.session.undo_stack.redo()
    assert window.session.grade.exposure == 1.0


def test_view_exposure_is_display_only_and_doubles_pq_nits(
    window: MainWindow, qtbot: object, tiny_clip: Path
) -> None:
    assert window.actions.open_clip(tiny_clip)
    wait_for_result(qtbot, window, 0)
    window.session.set_view(window.session.view.replace(view=DisplayView.PQ, compare=CompareMode.B))
    settle(window)  # the PQ display transform is baked off the GUI thread
    window.viewer.one_to_one()
    jobs = window.feed.bridge.jobs_run
    hdr = window.feed.result.hdr.astype(np.float64)  # type: ignore[union-attr]
    y, x = 24, 10
    base = window.viewer.render_offscreen(64, 48)[y, x, :3]
    window.controls.view_controls["exposure"].spin.setValue(1.0)
    assert window.session.view.exposure == 1.0 and window.viewer.settings.exposure == 1.0
    brighter = window.viewer.render_offscreen(64, 48)[y, x, :3]
    assert window.feed.bridge.jobs_run == jobs  # no engine work for a display change
    expected = pq_inverse_eotf(torch.tensor(np.minimum(hdr[y, x], 500.0) * 2.0)).numpy()
    np.testing.assert_allclose(base, pq_inverse_eotf(torch.tensor(hdr[y, x])).numpy(), atol=1 / 1023)
    np.testing.assert_allclose(brighter, expected, atol=1 / 1023)


def test_bad_files_give_a_dialog_and_keep_the_session(
    window: MainWindow, qtbot: object, tiny_clip: Path, tmp_path: Path
) -> None:
    assert window.actions.open_clip(tiny_clip)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    assert not window.actions.open_path(broken)
    box = window.actions.error_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "broken.mp4" in box.text() and "\n" not in box.text()
    box.close()
    assert window.session.clip_path == tiny_clip  # the session is kept
    bad_project = tmp_path / "bad.lumigrade"
    bad_project.write_text('{"lumigrade_project": 1, "compare": {"mode": "zigzag"}}')
    assert not window.actions.open_path(bad_project)
    assert "bad.lumigrade" in window.actions.error_box.text()  # type: ignore[union-attr]
    assert window.session.clip_path == tiny_clip


def test_project_save_and_reload(
    window: MainWindow, qtbot: object, tiny_clip: Path, tmp_path: Path, gl_app: QApplication
) -> None:
    assert window.actions.open_clip(tiny_clip)
    window.controls.grade_controls["peak_nits"].spin.setValue(2000.0)
    window.session.set_view(ViewSettings(compare=CompareMode.SPLIT, split=0.3, false_colour=True))
    window.session.set_frame(3)
    path = tmp_path / "shot.lumigrade"
    assert window.actions.save_project(path)
    assert json.loads(path.read_text())["grade"]["peak_nits"] == 2000.0
    assert window.actions.recent_files()[0] == str(path.absolute())

    other = MainWindow(QSettings(str(tmp_path / "other.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(other)  # type: ignore[attr-defined]
    assert other.actions.open_project(path)
    assert other.session.grade == window.session.grade and other.session.view == window.session.view
    assert other.session.frame == other.timeline.frame == 3 and other.session.clip_path == tiny_clip
    wait_for_result(qtbot, other, 3)


def _ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,pix_fmt,color_transfer,color_primaries,nb_read_frames", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)["streams"][0]


def start_export(
    window: MainWindow, fmt: str, path: Path, frames: tuple[int, int] | None = None
) -> ExportDialog:
    """Open the export dialog, fill it in as a colorist would, and press export."""
    dialog = window.actions.show_export_dialog()
    assert isinstance(dialog, ExportDialog)
    dialog.format.setCurrentIndex(dialog.format.findData(fmt))
    dialog.path.setText(str(path))
    if frames is not None:
        dialog.start.setValue(frames[0])
        dialog.stop.setValue(frames[1])
    dialog.start_export()
    return dialog


def test_export_dialog_writes_hdr10_and_reports_light_levels(
    window: MainWindow, qtbot: object, tiny_clip: Path, tmp_path: Path
) -> None:
    assert window.actions.open_clip(tiny_clip)
    target = tmp_path / "graded.mp4"
    dialog = start_export(window, "hdr10", target, (1, 4))
    qtbot.waitUntil(lambda: not dialog.running and dialog.summary is not None, timeout=60000)  # type: ignore
    stream = _ffprobe(target)
    assert stream["codec_name"] == "hevc" and stream["pix_fmt"] == "yuv420p10le"
    assert stream["color_transfer"] == "smpte2084" and stream["color_primaries"] == "bt2020"
    assert int(stream["nb_read_frames"]) == 3
    # MaxCLL (CTA-861.3): the largest max(R, G, B) over the frames rendered.
    with open_clip(tiny_clip) as clip:
        pipeline = Pipeline(window.session.grade, clip, device="cpu")
        max_cll = max(float(pipeline.hdr(i).amax()) for i in range(1, 4))
    assert dialog.summary is not None and dialog.summary.max_cll == pytest.approx(max_cll, rel=0.01)
    assert "MaxCLL" in dialog.status.text() and "MaxFALL" in dialog.status.text()


def test_cancelled_export_leaves_nothing(
    window: MainWindow, qtbot: object, tiny_clip: Path, tmp_path: Path
) -> None:
    assert window.actions.open_clip(tiny_clip)
    dialog = start_export(window, "prores", tmp_path / "cancelled.mov")
    dialog.cancel_export()
    qtbot.waitUntil(lambda: "cancelled" in dialog.status.text(), timeout=60000)  # type: ignore[attr-defined]
    assert dialog.summary is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.ini"]  # no output, no temporary


def test_screenshot_of_the_main_window(window: MainWindow, qtbot: object, tmp_path: Path) -> None:
    """The first screen, SDR source and HDR result side by side.

    With LUMIGRADE_UPDATE_SCREENSHOT=1 it refreshes docs/screenshot.png; otherwise it leaves
    tracked files alone and saves into the test's folder.
    """
    window.resize(1400, 850)
    assert window.actions.open_path(DEMO_CLIP)
    window.session.set_frame(40)
    wait_for_result(qtbot, window, 40)
    # An expanding operator, so the HDR side differs visibly from the source.
    itm = window.controls.itm.combo
    itm.setCurrentIndex(itm.findData("bt2446c"))
    window.controls.grade_controls["exposure"].spin.setValue(0.5)
    wait_for_result(qtbot, window, 40)
    assert window.session.grade.itm.name == "bt2446c" and window.session.grade.exposure == 0.5
    QApplication.processEvents()
    image = window.grab().toImage()
    assert (image.width(), image.height()) == (1400, 850)
    target = SCREENSHOT if os.environ.get("LUMIGRADE_UPDATE_SCREENSHOT") == "1" else tmp_path / "shot.png"
    assert image.save(str(target))
    # The preview area holds a picture, not a blank widget.
    preview = window.viewer.grabFramebuffer()
    row = preview.height() // 2
    centre = [preview.pixelColor(preview.width() // 4 + dx, row).lightness() for dx in range(0, 60, 6)]
    assert max(centre) - min(centre) > 10


def test_temporal_keyframes_are_marked_on_the_timeline(
    window: MainWindow, qtbot: object, tiny_clip: Path
) -> None:
    assert window.actions.open_clip(tiny_clip)
    window.controls.temporal.setChecked(True)
    assert window.session.grade.temporal
    wait_for_result(qtbot, window, 0)
    with open_clip(tiny_clip) as clip:
        expected = Pipeline(window.session.grade, clip, device="cpu").temporal.keyframes()
    assert expected and window.timeline.slider.markers == sorted(expected)


def test_export_dialog_writes_an_exr_sequence_with_the_graded_pixels(
    window: MainWindow, qtbot: object, tiny_clip: Path, tmp_path: Path
) -> None:
    import OpenEXR

    assert window.actions.open_clip(tiny_clip)
    window.controls.grade_controls["exposure"].spin.setValue(1.0)
    folder = tmp_path / "shot"
    dialog = start_export(window, "exr", folder, (2, 4))
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=60000)  # type: ignore[attr-defined]
    files = sorted(folder.glob("*.exr"))
    assert len(files) == 2
    with OpenEXR.File(str(files[0])) as exr:
        pixels = np.asarray(exr.channels()["RGB"].pixels, dtype=np.float32)
    with open_clip(tiny_clip) as clip:
        expected = Pipeline(window.session.grade, clip, device="cpu").hdr(2).permute(1, 2, 0).numpy()
    # 1.0 in the file is exr_nits_per_unit cd/m² (100 by default); half floats keep 11 bits.
    nits_per_unit = window.session.grade.output.exr_nits_per_unit
    np.testing.assert_allclose(pixels * nits_per_unit, expected, rtol=2e-3, atol=1e-3)
