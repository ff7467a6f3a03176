"""Every tone mapper is previewed: a spatial TMO's SDR preview is its SDR export.

Durand, Reinhard local, Reinhard–Devlin and the learned `deep` need the whole frame, so the
worker sends the engine's tone-mapped SDR frame (the SDR export's output stage) and the preview
shows it through the identity transform. The frame read back from the GL framebuffer must equal
the frame decoded from the rendered SDR file within 1 code value. The test frame is neutral grey
with smooth and clipped structure: 4:2:0 chroma is then exact, and x264 at crf 0 is lossless, so
the file adds only the Y'CbCr round trip's rounding.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from app.session import spatial_tmo
from app.viewer.view_state import CompareMode, DisplayView
from engine.display import pq_view
from engine.grade import Grade, OperatorChoice, OutputSettings
from engine.io.open import open_clip
from engine.render import render
from tests.app.helpers import code_values, open_window, wait_for_result

pytestmark = pytest.mark.gui
H, W = 48, 64


def grey_still(path: Path) -> Path:
    """An 8-bit grey PNG: gradients, a texture, and a clipped highlight a spatial TMO compresses."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    grey = 0.45 + 0.2 * np.sin(x / 9.0) * np.cos(y / 7.0) + 0.25 * (x / W - 0.5)
    grey[8:24, 36:60] = 1.0  # clipped: the ITM expands it, the TMO brings it back
    grey[30:44, 6:20] = 0.04 + 0.02 * np.sin(x[30:44, 6:20])  # shadows
    code = np.round(np.clip(grey, 0.0, 1.0) * 255).astype(np.uint8)
    cv2.imwrite(str(path), np.repeat(code[..., None], 3, -1))
    return path


@pytest.mark.parametrize("tmo", ["durand", "reinhard-local", "reinhard-devlin", "deep"])
def test_spatial_tmo_sdr_preview_equals_the_decoded_sdr_export(
    gl_app: object, qtbot: object, tmp_path: Path, tmo: str
) -> None:
    assert spatial_tmo(Grade(tmo=OperatorChoice(tmo)))
    clip = grey_still(tmp_path / "grey.png")
    window = open_window(qtbot, tmp_path)
    assert window.actions.open_clip(clip)
    session = window.session
    # A neutral ITM keeps the frame grey, so the file's 4:2:0 chroma adds no error of its own.
    session.propose_grade(session.grade.replace(itm=OperatorChoice("bt2408"), tmo=OperatorChoice(tmo)), "tmo")
    session.set_view(session.view.replace(view=DisplayView.SDR, compare=CompareMode.B))
    result = wait_for_result(qtbot, window, 0, lambda r: r.sides is not None)
    window.viewer.one_to_one()
    preview = code_values(window.viewer.render_offscreen(W, H)[..., :3])

    out = tmp_path / "sdr.mp4"
    render(clip, out, session.grade.replace(output=OutputSettings(format="sdr", crf=0)))
    with open_clip(out) as rendered:
        export = code_values(rendered.frame(0))
    assert float(np.abs(preview - export).max()) <= 1.0
    # The engine's own SDR frame, as sent with the frame, is what the preview shows.
    assert result.sides is not None
    assert float(np.abs(preview - code_values(result.sides[1].sdr)).max()) <= 1.0
    # A real picture, and not the PQ picture the preview used to fall back to.
    assert float(preview.std()) > 20.0
    pq = code_values(pq_view(session.grade.peak_nits).apply(
        torch.from_numpy(result.hdr.astype(np.float32)).permute(2, 0, 1)))
    assert float(np.abs(preview - pq).mean()) > 10.0
