"""RGB parade, vectorscope and gamut scope: values on known frames, through the worker's path
(app.worker.signal_scopes_of, compute_scopes) and drawn by the panel."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from app.panels.chromaticity import SCOPE_GAMUTS, cmf_wavelengths, gamut_triangle, spectral_locus
from app.panels.scope_data import gamut_bin
from app.panels.scopes import ScopesPanel
from app.panels.signal_scope_data import (
    PARADE_LEVELS,
    SignalScopes,
    vectorscope_bin,
    vectorscope_targets,
)
from app.viewer.view_state import DisplayView
from app.worker import scopes_of, signal_scopes_of
from engine.color.primaries import BT709, BT2020, P3_D65, conversion_matrix
from engine.color.transfer import pq_eotf, pq_inverse_eotf
from engine.color.ycbcr import BT709 as YCC709
from engine.color.ycbcr import BT2020_NCL, rgb_to_ycbcr
from engine.display import pq_view, sdr_view
from tests.app.helpers import open_window, settle, wait_for_result

H, W = 18, 48


def flat(rgb: tuple[float, float, float], height: int = H, width: int = W) -> torch.Tensor:
    return torch.tensor(rgb, dtype=torch.float32).view(3, 1, 1).expand(3, height, width).contiguous()


def peak_bin(counts: np.ndarray) -> tuple[int, int]:
    return tuple(int(i) for i in np.unravel_index(int(counts.argmax()), counts.shape))  # type: ignore[return-value]


def test_spectral_locus_matches_the_cie_table_and_colour_science() -> None:
    locus = spectral_locus()
    # CIE 015:2004 Table T.4 chromaticities of the spectrum locus, 2° observer.
    for nm, xy in ((450, (0.1566, 0.0177)), (520, (0.0743, 0.8338)), (600, (0.6270, 0.3725))):
        np.testing.assert_allclose(locus[(nm - 380) // 5], xy, atol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # colour-science warns that matplotlib is missing
        import colour
    cmfs = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"]
    peer = colour.XYZ_to_xy(cmfs[cmf_wavelengths()])
    lit = cmf_wavelengths() <= 700  # past 700 nm the table's last digits are all there is
    np.testing.assert_allclose(locus[lit], peer[lit], atol=1e-5)


def test_vectorscope_targets_are_the_published_bar_positions() -> None:
    """100% red: Cb = -Kr / (2 (1 - Kb)), Cr = 0.5 (ITU-R BT.709-6 / BT.2020-2 equations)."""
    assert vectorscope_targets(BT2020_NCL, 1.0)["R"] == pytest.approx((-0.2627 / 1.8814, 0.5), abs=1e-9)
    assert vectorscope_targets(YCC709, 1.0)["R"] == pytest.approx((-0.2126 / 1.8556, 0.5), abs=1e-9)
    assert vectorscope_targets(YCC709, 0.75)["B"] == pytest.approx((0.375, -0.0722 * 0.75 / 1.5748), abs=1e-9)


@pytest.mark.parametrize("amplitude", [0.75, 1.0])
def test_pure_red_lands_on_the_bt2020_red_target_in_pq(amplitude: float) -> None:
    nits = float(pq_eotf(torch.tensor(amplitude, dtype=torch.float64)))  # PQ code `amplitude`
    data = signal_scopes_of(pq_view(10000.0), flat((nits, 0.0, 0.0)))
    assert data.kind == "pq" and data.matrix == BT2020_NCL
    assert data.vectorscope.sum() == H * W
    assert peak_bin(data.vectorscope) == vectorscope_bin(*vectorscope_targets(BT2020_NCL, amplitude)["R"])


def test_pure_bt709_red_lands_on_the_bt709_red_target_in_sdr() -> None:
    """A display-relative BT.709 red, carried in BT.2020 as the engine carries it."""
    red709 = torch.tensor(conversion_matrix(BT709, BT2020)[:, 0], dtype=torch.float32)
    data = signal_scopes_of(sdr_view(None), red709.view(3, 1, 1).expand(3, H, W))
    assert data.kind == "sdr" and data.matrix == YCC709
    assert peak_bin(data.vectorscope) == vectorscope_bin(*vectorscope_targets(YCC709, 1.0)["R"])


def test_parade_counts_each_channel_at_its_code_value() -> None:
    levels_lr = ((64, 128, 192), (230, 26, 102))  # left and right halves, PQ codes of 8 bits
    codes = [tuple(v / (PARADE_LEVELS - 1) for v in half) for half in levels_lr]
    nits = torch.cat([pq_eotf(flat(c, width=W // 2).double()).float() for c in codes], dim=2)
    data = signal_scopes_of(pq_view(10000.0), nits)
    columns = data.parade.shape[1]
    assert data.parade.shape == (3, W, PARADE_LEVELS) and columns == W
    for half, expected in enumerate(levels_lr):
        part = data.parade[:, half * W // 2 : (half + 1) * W // 2]
        for channel in range(3):
            levels = np.flatnonzero(part[channel].sum(0))
            assert levels.tolist() == [expected[channel]]
            assert part[channel].sum() == H * W // 2


@pytest.mark.parametrize("primary", [0, 1, 2])
def test_a_bt2020_primary_lands_on_the_gamut_triangles_corner(primary: int) -> None:
    rgb = [0.0, 0.0, 0.0]
    rgb[primary] = 400.0
    data = scopes_of(flat(tuple(rgb)))  # type: ignore[arg-type]
    corner = gamut_triangle(BT2020)[primary]
    assert corner.tolist() == list((BT2020.red, BT2020.green, BT2020.blue)[primary])
    assert data.gamut.sum() == H * W
    assert peak_bin(data.gamut) == gamut_bin(tuple(corner))


def test_gamut_scope_skips_black_and_places_d65_white() -> None:
    frame = flat((100.0, 100.0, 100.0))
    frame[:, :, : W // 2] = 0.0
    data = scopes_of(frame)
    assert data.gamut.sum() == H * W // 2
    assert peak_bin(data.gamut) == gamut_bin(BT2020.white)


@pytest.mark.gui
def test_panel_draws_the_red_frame_on_the_red_target_and_the_three_triangles(
    gl_app: QApplication, qtbot: object
) -> None:
    panel = ScopesPanel()
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    nits = float(pq_eotf(torch.tensor(0.75, dtype=torch.float64)))
    data = signal_scopes_of(pq_view(10000.0), flat((nits, 0.0, 0.0)))
    panel.show_signal_scopes(data)
    panel.show_scopes(scopes_of(flat((400.0, 0.0, 0.0))))
    plot = panel.vectorscope_plot
    qtbot.waitUntil(lambda: plot.image.image is not None, timeout=5000)  # type: ignore[attr-defined]
    # The brightest pixel of the drawn image, mapped through the image's rect to (Cb, Cr).
    i, j = peak_bin(plot.image.image)
    centre = plot.image.mapToParent(QPointF(i + 0.5, j + 0.5))  # the parent's are the plot's axes
    target = vectorscope_targets(BT2020_NCL, 0.75)["R"]
    assert abs(centre.x() - target[0]) <= 1 / 256 and abs(centre.y() - target[1]) <= 1 / 256
    drawn = [tuple(p) for p in plot.targets.getData()[0:2]]
    assert any(abs(x - target[0]) < 1e-9 and abs(y - target[1]) < 1e-9 for x, y in zip(*drawn, strict=True))
    assert "BT.2020 Y'CbCr" in plot.plotItem.titleLabel.text
    triangles = panel.gamut_plot.triangles
    assert set(triangles) == {p.name for p in SCOPE_GAMUTS} == {"bt709", "p3-d65", "bt2020"}
    x, y = triangles["p3-d65"].getData()
    assert (x[0], y[0]) == P3_D65.red and (x[1], y[1]) == P3_D65.green
    assert peak_bin(panel.gamut_plot.image.image) == gamut_bin(BT2020.red)


@pytest.mark.gui
def test_window_scopes_follow_the_view_s_signal(gl_app: QApplication, qtbot: object, tmp_path: Path) -> None:
    """A pure red still: the SDR view's vectorscope is BT.709 and peaks on red's hue; a switch to
    PQ (display only, baked off the GUI thread) recomputes it in BT.2020 from the PQ signal."""
    still = tmp_path / "red.png"
    image = np.zeros((24, 32, 3), np.uint8)
    image[..., 2] = 255  # OpenCV writes BGR
    cv2.imwrite(str(still), image)
    window = open_window(qtbot, tmp_path)
    shown: list[SignalScopes] = []
    window.feed.signal_scopes_shown.connect(shown.append)
    assert window.actions.open_clip(still)
    wait_for_result(qtbot, window, 0)
    assert shown[-1].kind == "sdr" and shown[-1].matrix == YCC709
    cb, cr = vectorscope_targets(YCC709, 1.0)["R"]
    i, j = peak_bin(shown[-1].vectorscope)
    angle = np.degrees(np.arctan2(j - 128, i - 128) - np.arctan2(cr, cb))
    assert abs(angle) < 3.0  # red's hue, whatever amplitude the tone mapper gives it
    jobs = window.feed.bridge.jobs_run
    window.session.set_view(window.session.view.replace(view=DisplayView.PQ))
    qtbot.waitUntil(lambda: shown[-1].kind == "pq", timeout=20000)  # type: ignore[attr-defined]
    settle(window)
    assert window.feed.bridge.jobs_run == jobs and shown[-1].matrix == BT2020_NCL
    hdr = torch.from_numpy(window.feed.result.hdr[12, 16].astype(np.float64))  # type: ignore[union-attr]
    signal = pq_inverse_eotf(hdr.clamp(0.0, window.session.grade.peak_nits)).view(3, 1)
    ycc = rgb_to_ycbcr(signal, BT2020_NCL)
    assert peak_bin(shown[-1].vectorscope) == vectorscope_bin(float(ycc[1]), float(ycc[2]))
