"""The GL preview: view exposure, compare layouts, false colour, masks, texture reuse, geometry."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from app.viewer.preview_widget import PreviewWidget, shader_defines
from app.viewer.shader_program import fragment_source
from app.viewer.view_state import CompareMode, MaskView, ViewTransform, false_colour_bands
from engine.assets import SHADERS_DIR
from engine.color.transfer import pq_inverse_eotf
from engine.display import pq_view
from engine.processor.glsl import preview_display
from tests.app.helpers import half_frame, shown_viewer

pytestmark = pytest.mark.gui
H, W = 32, 40
PEAK = 1000.0


def flat(nits: tuple[float, float, float]) -> torch.Tensor:
    return torch.tensor(nits, dtype=torch.float32).view(3, 1, 1).expand(3, H, W).contiguous()


def pq(nits: float | tuple[float, ...]) -> np.ndarray:
    return pq_inverse_eotf(torch.tensor(nits, dtype=torch.float64)).numpy()


@pytest.fixture
def viewer(gl_app: object, qtbot: object) -> PreviewWidget:
    v = shown_viewer(qtbot, W, H, CompareMode.B)
    v.set_display_transform(preview_display(pq_view(PEAK)), PEAK)
    return v


A_NITS = (50.0, 100.0, 25.0)
B_NITS = (400.0, 200.0, 800.0)


def test_plus_one_stop_doubles_nits_in_pq(viewer: PreviewWidget) -> None:
    viewer.set_frames(half_frame(flat(A_NITS)), half_frame(flat(A_NITS)))
    base = viewer.render_offscreen(W, H)[H // 2, W // 2, :3]
    np.testing.assert_allclose(base, pq(A_NITS), atol=0.5 / 1023)
    viewer.set_settings(viewer.settings.replace(exposure=1.0))
    brighter = viewer.render_offscreen(W, H)[H // 2, W // 2, :3]
    np.testing.assert_allclose(brighter, pq(tuple(2 * c for c in A_NITS)), atol=0.5 / 1023)



def test_one_program_per_view_variant_compiled_once(viewer: PreviewWidget) -> None:
    """A mode toggle compiles its program the first time only; a slider reuses the program."""
    viewer.set_frames(half_frame(flat(A_NITS)), half_frame(flat(B_NITS)))
    for settings in (viewer.settings.replace(exposure=0.5), viewer.settings.replace(false_colour=True),
                     viewer.settings, viewer.settings.replace(false_colour=True, exposure=1.0)):
        viewer.set_settings(settings)
        viewer.render_offscreen(W, H)
    gl = viewer.gl_resources
    assert gl is not None
    assert sorted(v.false_colour for v in gl.programs) == [False, True]

@pytest.mark.parametrize(
    ("mode", "left", "right"),
    [
        (CompareMode.A, A_NITS, A_NITS),
        (CompareMode.B, B_NITS, B_NITS),
        (CompareMode.SPLIT, A_NITS, B_NITS),
        (CompareMode.SIDE_BY_SIDE, A_NITS, B_NITS),
        (CompareMode.DIFFERENCE, (350.0, 100.0, 775.0), (350.0, 100.0, 775.0)),
    ],
)
def test_compare_modes_show_the_expected_frame(
    viewer: PreviewWidget, mode: CompareMode, left: tuple, right: tuple
) -> None:
    viewer.set_frames(half_frame(flat(A_NITS)), half_frame(flat(B_NITS)))
    viewer.set_settings(viewer.settings.replace(compare=mode, split=0.5))
    # Side by side gets two viewports of the image's size at 1:1.
    width = 2 * W if mode == CompareMode.SIDE_BY_SIDE else W
    out = viewer.render_offscreen(width, H)
    # Columns away from the divider.
    np.testing.assert_allclose(out[H // 2, W // 4, :3], pq(left), atol=0.5 / 1023)
    np.testing.assert_allclose(out[H // 2, width - W // 4, :3], pq(right), atol=0.5 / 1023)


def test_split_divider_is_drawn_where_the_split_is(viewer: PreviewWidget) -> None:
    viewer.set_frames(half_frame(flat(A_NITS)), half_frame(flat(B_NITS)))
    viewer.set_settings(viewer.settings.replace(compare=CompareMode.SPLIT, split=0.25))
    out = viewer.render_offscreen(W, H)
    np.testing.assert_allclose(out[H // 2, W // 4, :3], 0.85, atol=1e-3)  # the divider line
    np.testing.assert_allclose(out[H // 2, 2, :3], pq(A_NITS), atol=0.5 / 1023)
    np.testing.assert_allclose(out[H // 2, W // 2, :3], pq(B_NITS), atol=0.5 / 1023)


def test_wipe_follows_its_angle(viewer: PreviewWidget) -> None:
    viewer.set_frames(half_frame(flat(A_NITS)), half_frame(flat(B_NITS)))
    # 90 degrees: the divider is horizontal, A above and B below.
    viewer.set_settings(viewer.settings.replace(compare=CompareMode.WIPE, split=0.5, wipe_angle=90.0))
    out = viewer.render_offscreen(W, H)
    np.testing.assert_allclose(out[2, W // 2, :3], pq(A_NITS), atol=0.5 / 1023)
    np.testing.assert_allclose(out[H - 3, W // 2, :3], pq(B_NITS), atol=0.5 / 1023)


def test_log_ratio_colours_by_sign_and_magnitude(viewer: PreviewWidget) -> None:
    a = flat((100.0, 100.0, 100.0))
    b = a.clone()
    b[:, :, : W // 2] *= 4.0  # +2 stops on the left, -1 stop on the right
    b[:, :, W // 2 :] *= 0.5
    viewer.set_frames(half_frame(a), half_frame(b))
    viewer.set_settings(viewer.settings.replace(compare=CompareMode.LOG_RATIO, ratio_stops=4.0))
    out = viewer.render_offscreen(W, H)
    # log2((Yb + 1e-3) / (Ya + 1e-3)) / 4 stops, on the shader's warm and cool ramps.
    np.testing.assert_allclose(out[H // 2, 2, :3], 0.5 * np.array([1.0, 0.35, 0.2]), atol=1e-4)
    np.testing.assert_allclose(out[H // 2, W - 3, :3], 0.25 * np.array([0.2, 0.45, 1.0]), atol=1e-4)


def test_false_colour_bands(viewer: PreviewWidget) -> None:
    nits = torch.zeros(3, H, W)
    for column, level in enumerate((0.01, 203.0, 1000.0, 4000.0, 500.0)):
        nits[:, :, column * 8 : column * 8 + 8] = level
    viewer.set_frames(None, half_frame(nits))
    viewer.set_settings(viewer.settings.replace(false_colour=True))
    out = viewer.render_offscreen(W, H)[H // 2, 4::8, :3]
    colours = {b.label: np.array(b.colour) for b in false_colour_bands(PEAK)}
    above = next(c for label, c in colours.items() if label.startswith("above"))
    below = next(c for label, c in colours.items() if label.startswith("below"))
    np.testing.assert_allclose(out[0], below, atol=1e-6)
    np.testing.assert_allclose(out[1], colours["reference white, 203 cd/m²"], atol=1e-6)
    # 1000 is the peak here: "above the peak" starts at the peak and wins over the 1000 band.
    np.testing.assert_allclose(out[2], above, atol=1e-6)
    np.testing.assert_allclose(out[3], above, atol=1e-6)
    # 500 cd/m² is outside the named bands: grey at the pixel's displayed (PQ) luminance.
    np.testing.assert_allclose(out[4], np.full(3, pq(500.0)), atol=0.5 / 1023)


def test_mask_overlay_blends_at_the_set_opacity(viewer: PreviewWidget) -> None:
    mask = np.zeros((H, W, 2), np.uint8)
    mask[:, : W // 2, 1] = 255  # over-peak on the left half only
    viewer.set_frames(None, half_frame(flat(B_NITS)), mask)
    viewer.set_settings(viewer.settings.replace(mask=MaskView.OVER_PEAK, mask_opacity=0.5))
    out = viewer.render_offscreen(W, H)
    expected = 0.5 * pq(B_NITS) + 0.5 * np.array([1.0, 0.0, 0.6])
    np.testing.assert_allclose(out[H // 2, 2, :3], expected, atol=1e-3)
    np.testing.assert_allclose(out[H // 2, W - 3, :3], pq(B_NITS), atol=0.5 / 1023)


def test_frame_textures_are_reused_not_reallocated(viewer: PreviewWidget) -> None:
    viewer.set_settings(viewer.settings.replace(compare=CompareMode.SPLIT))  # a view that reads both
    for level in (10.0, 20.0, 40.0):
        viewer.set_frames(half_frame(flat((level,) * 3)), half_frame(flat((level,) * 3)))
        out = viewer.render_offscreen(W, H)
        np.testing.assert_allclose(out[1, 1, :3], pq((level,) * 3), atol=0.5 / 1023)
    gl = viewer.gl_resources
    assert gl is not None
    assert gl.frame_a.allocations == 1 and gl.frame_b.allocations == 1


def test_widget_framebuffer_is_float_and_matches(viewer: PreviewWidget) -> None:
    """Read back the frame as drawn at the window's size into a float target, not an 8-bit grab."""
    viewer.set_frames(None, half_frame(flat(B_NITS)))
    out = viewer.read_framebuffer()
    assert out.shape == (viewer.height(), viewer.width(), 4)
    centre = out[viewer.height() // 2, viewer.width() // 2, :3]
    np.testing.assert_allclose(centre, pq(B_NITS), atol=0.5 / 1023)
    # A float target holds values an 8-bit one cannot: not a multiple of 1/255.
    assert np.abs(centre * 255 - np.round(centre * 255)).max() > 1e-3


def test_zoom_keeps_the_point_under_the_cursor() -> None:
    view = (400.0, 300.0)
    t = ViewTransform.fit((1920, 1080), view)
    assert t.zoom == pytest.approx(400 / 1920)
    before = t.to_image((100.0, 80.0), view)
    zoomed = t.zoomed(2.0, (100.0, 80.0), view)
    assert zoomed.zoom == pytest.approx(2 * t.zoom)
    assert zoomed.to_image((100.0, 80.0), view) == pytest.approx(before)
    panned = zoomed.panned((10.0, -4.0))
    assert panned.to_image((110.0, 76.0), view) == pytest.approx(before)


def test_shader_constants_come_from_the_python_enums() -> None:
    defines = shader_defines()
    assert {k: v for k, v in defines.items() if k.startswith("COMPARE_")} == {
        f"COMPARE_{m.name}": m.value for m in CompareMode}
    assert (defines["MASK_NONE"], defines["MASK_CLIPPED"], defines["MASK_OVER_PEAK"]) == (-1, 0, 1)
    assert defines["MAX_BANDS"] >= len(false_colour_bands(1000.0))
    frag = (SHADERS_DIR / "preview.frag").read_text(encoding="utf-8")
    # None is written in the shader itself, and every one it uses is defined.
    assert re.search(r"const\s+int\s+(COMPARE|MASK)_|MAX_BANDS\s*=", frag) is None
    used = set(re.findall(r"\b(?:COMPARE|MASK)_[A-Z_]+\b|\bMAX_BANDS\b", frag))
    assert used and used <= set(defines)
    chain = preview_display(pq_view(PEAK)).shader.source
    source = fragment_source(defines, chain)
    assert source.startswith("#version 330 core\n#define COMPARE_A 0\n")
    assert "#define MASK_NONE -1\n" in source
    # The display transform is the generated chain, after lut.glsl and before preview.frag's body.
    assert source.index("float lut_sample(") < source.index(chain) < source.index("void main()")


@pytest.mark.parametrize("white", [100.0, 203.0, 300.0])
def test_false_colour_white_band_follows_the_reference_white(viewer: PreviewWidget, white: float) -> None:
    """The white band's edges are the grade's reference white ± 0.2 stop, read back from GL."""
    viewer.set_display_transform(preview_display(pq_view(PEAK)), PEAK, reference_white=white)
    inside, outside = 2.0 ** 0.19, 2.0 ** 0.21  # just inside and just outside each edge
    levels = (white / inside, white * inside, white / outside, white * outside, white)
    nits = torch.zeros(3, H, W)
    for column, level in enumerate(levels):
        nits[:, :, column * 8 : column * 8 + 8] = level
    viewer.set_frames(None, half_frame(nits))
    viewer.set_settings(viewer.settings.replace(false_colour=True))
    out = viewer.render_offscreen(W, H)[H // 2, 4::8, :3]
    bands = false_colour_bands(PEAK, white)
    green = np.array(next(b.colour for b in bands if b.label.startswith("reference")))
    for column in (0, 1, 4):
        np.testing.assert_allclose(out[column], green, atol=1e-6)
    for column in (2, 3):  # outside the band: grey at the pixel's PQ luminance
        # float16 rounding of the level moves its PQ code by far less than half a 10-bit code.
        np.testing.assert_allclose(out[column], np.full(3, pq(levels[column])), atol=0.5 / 1023)


def test_the_window_shows_the_frame_it_presents(viewer: PreviewWidget, qtbot: object) -> None:
    """The on-screen path: drawn straight into the window's framebuffer and swapped (8 bits here)."""
    viewer.set_frames(None, half_frame(flat(B_NITS)))
    presented = viewer.frames_presented
    viewer.update()
    qtbot.waitUntil(lambda: viewer.frames_presented > presented, timeout=5000)  # type: ignore[attr-defined]
    qtbot.wait(200)  # type: ignore[attr-defined]  # the X server has the swapped image by then
    screen = viewer.read_screen()
    assert screen.shape == (viewer.height(), viewer.width(), 4)
    centre = screen[viewer.height() // 2, viewer.width() // 2, :3] / 255.0
    # Xvfb's default screen may be 16-bit (5-6-5): a step of 1/31 at most.
    np.testing.assert_allclose(centre, pq(B_NITS), atol=1.0 / 31)


def test_only_the_frames_the_view_reads_are_uploaded(viewer: PreviewWidget) -> None:
    """B alone uploads B; the source waits until a view reads it, and is then the newest one."""
    gl = viewer.gl_resources
    assert gl is not None
    for level in (10.0, 20.0):
        viewer.set_frames(half_frame(flat((level,) * 3)), half_frame(flat((2 * level,) * 3)))
        out = viewer.render_offscreen(W, H)
        np.testing.assert_allclose(out[1, 1, :3], pq((2 * level,) * 3), atol=0.5 / 1023)
    assert gl.frame_a.allocations == 0 and gl.frame_b.allocations == 1
    viewer.set_settings(viewer.settings.replace(compare=CompareMode.A))
    out = viewer.render_offscreen(W, H)
    np.testing.assert_allclose(out[1, 1, :3], pq((20.0,) * 3), atol=0.5 / 1023)
    assert gl.frame_a.allocations == 1


_CLOSED_WITH_DELETE_LATER = """
from app.viewer.gl_format import install_default_surface_format
install_default_surface_format()
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget
from app.viewer.preview_widget import PreviewWidget
app = QApplication([])
window = QWidget()
QVBoxLayout(window).addWidget(PreviewWidget())
window.show()
app.processEvents()
window.close()
window.deleteLater()  # never runs: no event loop follows, as after pytest-qt's last test
"""


def test_interpreter_exits_cleanly_with_a_preview_still_on_screen(gl_app: object) -> None:
    """The preview's native window is owned by its container, not by Python: PySide6's shutdown
    used to delete it first, and ~QApplication then crashed (SIGSEGV) in QWindowContainer."""
    child = subprocess.run([sys.executable, "-c", _CLOSED_WITH_DELETE_LATER], capture_output=True,
                           text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
