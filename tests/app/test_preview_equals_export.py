"""THE preview-equals-export test: one frame through the GL shader and through DisplayTransform.apply.

The shader renders into a float framebuffer (read back as float, not 8-bit), and the export's
torch path encodes the same frame with the same LUTs. PQ must agree within 1 code value at 10
bits, SDR within 1 code value at 8 bits.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.viewer.view_state import CompareMode
from engine.display import DisplayTransform, hlg_view, pq_view, sdr_view
from engine.lut import Lut1D
from engine.operators.base import CurveOperator, StageContext
from engine.operators.catalogue import operators
from tests.app.helpers import half_frame, log_uniform_frame, shown_viewer

pytestmark = pytest.mark.gui
H, W = 48, 64


def _code_error(viewer_out: np.ndarray, export: torch.Tensor, bits: int) -> float:
    scale = 2**bits - 1
    shader = viewer_out[..., :3]
    torch_out = export.permute(1, 2, 0).numpy()
    return float(np.abs(np.round(shader * scale) - np.round(torch_out * scale)).max())


def _render(qtbot: object, display: DisplayTransform, frame: torch.Tensor, peak: float) -> np.ndarray:
    viewer = shown_viewer(qtbot, W, H, CompareMode.B)
    viewer.set_display_transform(display, peak)
    viewer.set_frames(None, half_frame(frame))
    return viewer.render_offscreen(W, H)


def _reinhard_sdr(peak_nits: float) -> Lut1D:
    """Reinhard et al. 2002 global curve L / (1 + L), on cd/m² scaled so 100 cd/m² is 1."""
    return Lut1D.bake(lambda y: (1.0 / (1.0 + y / 100.0)) / 100.0, 1e-4, peak_nits)


def _catalogue_sdr_transforms() -> list[tuple[str, DisplayTransform]]:
    transforms = []
    for cls in operators("tmo"):
        if issubclass(cls, CurveOperator):
            op = cls()
            ctx = StageContext(peak_nits=1000.0)
            lut = op.bake(ctx)
            params = op.params
            transforms.append((cls.name, sdr_view(lut, getattr(params, "color", "ratio"),
                                                  float(getattr(params, "saturation", 1.0)))))
    return transforms


def test_pq_view_matches_export_within_one_10_bit_code(gl_app: object, qtbot: object) -> None:
    frame = log_uniform_frame(H, W, 0.005, 4000.0)
    display = pq_view(1000.0)
    shader = _render(qtbot, display, frame, 1000.0)
    assert _code_error(shader, display.apply(frame), 10) <= 1.0
    # The frame spans the whole PQ range up to the 1000 cd/m² clip, so the test covers the LUT.
    assert shader[..., :3].max() == pytest.approx(float(display.apply(torch.tensor([1000.0]))), abs=1e-3)


@pytest.mark.parametrize(("mode", "saturation"), [("ratio", 1.0), ("schlick", 0.7), ("mantiuk", 1.3)])
def test_sdr_view_matches_export_within_one_8_bit_code(
    gl_app: object, qtbot: object, mode: str, saturation: float
) -> None:
    frame = log_uniform_frame(H, W, 0.01, 2000.0, seed=1)
    display = sdr_view(_reinhard_sdr(1000.0), mode, saturation)
    shader = _render(qtbot, display, frame, 1000.0)
    export = display.apply(frame)
    assert _code_error(shader, export, 8) <= 1.0
    assert float(export.std()) > 0.1  # a real picture, not a flat field


def test_catalogue_tone_curves_match_export(gl_app: object, qtbot: object) -> None:
    transforms = _catalogue_sdr_transforms()
    assert len(transforms) >= 6  # every curve TMO of the catalogue
    frame = log_uniform_frame(H, W, 0.01, 2000.0, seed=2)
    for name, display in transforms:
        shader = _render(qtbot, display, frame, 1000.0)
        assert _code_error(shader, display.apply(frame), 8) <= 1.0, name


def test_hlg_view_matches_export_within_one_10_bit_code(gl_app: object, qtbot: object) -> None:
    frame = log_uniform_frame(H, W, 0.01, 1000.0, seed=3)
    display = hlg_view(1000.0)
    shader = _render(qtbot, display, frame, 1000.0)
    assert _code_error(shader, display.apply(frame), 10) <= 1.0
