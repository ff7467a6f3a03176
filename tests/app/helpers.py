"""Shared helpers of the GUI tests: frames as the worker hands them to the viewer."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtWidgets import QApplication

from app.viewer.preview_widget import PreviewWidget
from app.viewer.view_state import CompareMode, ViewSettings


def half_frame(frame: torch.Tensor) -> np.ndarray:
    """(3, H, W) cd/m² -> (H, W, 3) float16, the viewer's texture layout."""
    return frame.permute(1, 2, 0).to(torch.float16).contiguous().numpy()


def shown_viewer(qtbot: object, width: int, height: int, compare: CompareMode) -> PreviewWidget:
    """A visible PreviewWidget at 1:1 with the GL resources created."""
    viewer = PreviewWidget()
    qtbot.addWidget(viewer)  # type: ignore[attr-defined]
    viewer.resize(width, height)
    viewer.set_settings(ViewSettings(compare=compare))
    viewer.one_to_one()
    viewer.show()
    qtbot.waitExposed(viewer)  # type: ignore[attr-defined]
    QApplication.processEvents()
    return viewer


def log_uniform_frame(height: int, width: int, lo: float, hi: float, seed: int = 0) -> torch.Tensor:
    """Coloured (3, H, W) cd/m² spanning [lo, hi] log-uniformly, with some pure black pixels."""
    gen = torch.Generator().manual_seed(seed)
    luma = torch.exp(torch.empty(1, height, width).uniform_(np.log(lo), np.log(hi), generator=gen))
    tint = torch.empty(3, height, width).uniform_(0.3, 1.0, generator=gen)
    frame = luma * tint
    frame[:, 0, :4] = 0.0
    return frame
