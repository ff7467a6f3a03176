"""The HDR output mode: its QRhi drawing path read back on the OpenGL back end (the swap chain
encodings of HDR10 and scRGB), and the fallback to the SDR OpenGL preview where the screen or
the bindings give no HDR swap chain, as under Xvfb."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QRhiWidget

from app.viewer.hdr_output import HDR10, SCRGB, HdrPreviewWidget, fit_rect
from app.viewer.hdr_window import HdrOutputWindow, platform_problem
from app.viewer.preview_widget import PreviewWidget
from engine.color.primaries import BT709, BT2020, conversion_matrix
from engine.color.transfer import pq_inverse_eotf
from tests.app.helpers import open_window, wait_for_result

pytestmark = pytest.mark.gui
TOP = (100.0, 200.0, 400.0)
BOTTOM = (2000.0, 10.0, 0.0)  # above a 1000 cd/m² peak in red
GREEN2020 = (0.0, 300.0, 0.0)  # outside BT.709: negative red and blue in scRGB


def frame() -> np.ndarray:
    image = np.zeros((4, 8, 3), np.float16)
    image[:2], image[2:, :4], image[2:, 4:] = TOP, BOTTOM, GREEN2020
    return image


def drawn(qtbot: object, widget: HdrPreviewWidget, width: int, height: int) -> np.ndarray:
    """Show the widget at `width` x `height` and read its float colour buffer back: (H, W, 3)."""
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)  # type: ignore[attr-defined]
    image = widget.grabFramebuffer().convertToFormat(QImage.Format.Format_RGBA32FPx4)
    rows = np.frombuffer(image.constBits(), np.float32).reshape(image.height(), -1)
    pixels = rows.reshape(image.height(), rows.shape[1] // 4, 4)
    return pixels[:, :width, :3].copy()


@pytest.fixture
def widget(gl_app: QApplication, qtbot: object) -> HdrPreviewWidget:
    w = HdrPreviewWidget(QRhiWidget.Api.OpenGL, texture_format=QRhiWidget.TextureFormat.RGBA32F)
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    w.set_frame(frame())
    return w


def pq(nits: tuple[float, ...], peak: float) -> np.ndarray:
    return pq_inverse_eotf(torch.tensor(nits, dtype=torch.float64).clamp(max=peak)).numpy()


def test_hdr10_is_pq_of_bt2020_light_clipped_at_the_peak_and_fitted(widget: HdrPreviewWidget,
                                                                    qtbot: object) -> None:
    found: list[list] = []
    widget.formats_found.connect(found.append)
    widget.set_output(HDR10, 0.0, 1000.0, 203.0)
    out = drawn(qtbot, widget, 16, 4)  # twice as wide as the frame: black bars left and right
    assert found == [[]]  # the swap chain's own answer on OpenGL: SDR only
    np.testing.assert_allclose(out[:, :4], 0.0, atol=1e-7)
    np.testing.assert_allclose(out[:, 12:], 0.0, atol=1e-7)
    np.testing.assert_allclose(out[0, 6], pq(TOP, 1000.0), atol=2e-5)
    np.testing.assert_allclose(out[3, 5], pq(BOTTOM, 1000.0), atol=2e-5)
    widget.set_output(HDR10, 1.0, 10000.0, 203.0)  # +1 stop of view exposure doubles the light
    out = drawn(qtbot, widget, 16, 4)
    np.testing.assert_allclose(out[0, 6], pq(tuple(2 * v for v in TOP), 10000.0), atol=2e-5)


def test_scrgb_is_bt709_linear_light_over_its_nits_per_unit_with_the_extended_range(
    widget: HdrPreviewWidget, qtbot: object
) -> None:
    widget.set_output(SCRGB, 0.0, 1000.0, 160.0)
    out = drawn(qtbot, widget, 8, 4)
    per_unit = 160.0 if sys.platform == "darwin" else 80.0  # EDR's SDR white; Windows' scRGB 80 cd/m²
    to709 = conversion_matrix(BT2020, BT709)
    np.testing.assert_allclose(out[0, 2], to709 @ np.array(TOP) / per_unit, rtol=1e-4)
    np.testing.assert_allclose(out[3, 1], to709 @ np.array(BOTTOM) / per_unit, rtol=1e-4)  # not clipped
    green = out[3, 6]
    np.testing.assert_allclose(green, to709 @ np.array(GREEN2020) / per_unit, rtol=1e-4)
    assert green[0] < 0 and green[2] < 0  # BT.2020 green lies outside BT.709: kept, not clipped


def test_fit_rect_centres_the_image() -> None:
    assert fit_rect((8, 4), (16, 4)) == (-0.5, 0.0, 2.0, 1.0)
    assert fit_rect((8, 4), (8, 8)) == (0.0, -0.5, 1.0, 2.0)


def test_hdr_output_falls_back_to_the_gl_preview_under_xvfb(
    gl_app: QApplication, qtbot: object, tmp_path: Path, tiny_clip: Path
) -> None:
    window = open_window(qtbot, tmp_path)
    assert window.actions.open_clip(tiny_clip)
    wait_for_result(qtbot, window, 0)
    hdr = window.hdr_output
    assert hdr.action in window.actions.view_menu.actions()
    hdr.action.setChecked(True)
    qtbot.waitUntil(lambda: not hdr.action.isChecked(), timeout=10000)  # type: ignore[attr-defined]
    assert hdr.problem == platform_problem(hdr.api) and hdr.problem is not None
    assert "No HDR output" in window.statusBar().currentMessage()
    assert hdr.output is None and isinstance(window.viewer, PreviewWidget) and window.viewer.isVisible()
    assert window.viewer.render_offscreen(64, 48)[24, 32, :3].max() > 0  # the SDR GL view still draws


def test_an_hdr_window_whose_back_end_cannot_start_closes_and_says_why(gl_app: QApplication,
                                                                       qtbot: object) -> None:
    """Vulkan without a QVulkanInstance (which PySide6 cannot give) fails as a real one would
    on a machine without a Vulkan driver: the window closes itself with the reason."""
    output = HdrOutputWindow(QRhiWidget.Api.Vulkan)
    qtbot.addWidget(output)  # type: ignore[attr-defined]
    with qtbot.waitSignal(output.unavailable, timeout=10000) as blocker:  # type: ignore[attr-defined]
        output.show()
    assert "Vulkan could not start" in blocker.args[0] and not output.isVisible()
