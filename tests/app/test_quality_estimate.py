"""The no-reference quality estimate in the status bar: the number engine.models.quality gives
for the graded frame on screen, computed on the worker, with its held-out rank correlation and
RMS error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow
from engine.io.open import open_clip
from engine.models.quality import heldout_figures, load_quality, score_frames
from tests.app.helpers import open_window, wait_for_result

pytestmark = pytest.mark.gui


@pytest.fixture
def window(gl_app: QApplication, qtbot: object, tmp_path: Path) -> MainWindow:
    return open_window(qtbot, tmp_path)


def test_label_shows_the_score_of_the_frame_on_screen(window: MainWindow, qtbot: object,
                                                       tiny_clip: Path) -> None:
    assert window.quality_label.text() == "quality estimate: none"
    assert window.actions.open_clip(tiny_clip)
    model = load_quality()
    for index in (0, 4):
        window.session.set_frame(index)
        result = wait_for_result(qtbot, window, index)
        # The score of the frame as the preview holds it (float16) agrees with the worker's,
        # which scored the float32 frame before it was halved, with the clip's decoded frame.
        hdr = torch.from_numpy(result.hdr.astype(np.float32)).permute(2, 0, 1)
        with open_clip(tiny_clip) as clip:
            signal = clip.frame(index)
        expected = score_frames(model, [hdr], [signal])[0]
        assert result.quality == pytest.approx(expected, abs=0.05)
        text = window.quality_label.text()
        assert f"≈ {result.quality:.1f} dB PU21-PSNR" in text
        assert "no-reference estimate" in text
        assert "held out: rank correlation 0.78, RMS error 6.1 dB" in text
    # As bench/train_quality.py recorded them for the shipped weights.
    assert heldout_figures() == pytest.approx((0.7779, 6.0886), abs=1e-4)
