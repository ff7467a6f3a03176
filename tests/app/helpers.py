"""Shared helpers of the GUI tests: frames as the worker hands them to the viewer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow
from app.viewer.preview_widget import PreviewWidget
from app.viewer.view_state import CompareMode, ViewSettings
from app.worker import FrameResult


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


def open_window(qtbot: object, settings_dir: Path) -> MainWindow:
    """A shown MainWindow with its settings in `settings_dir`."""
    window = MainWindow(QSettings(str(settings_dir / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.show()
    qtbot.waitExposed(window)  # type: ignore[attr-defined]
    return window


def settle(window: MainWindow) -> None:
    """Let the bridge's queued work (renders, display bakes) finish and reach the GUI."""
    window.feed.bridge.wait_idle()
    QApplication.processEvents()


def wait_for_result(qtbot: object, window: MainWindow, index: int,
                    ready: Callable[[FrameResult], bool] = lambda _r: True) -> FrameResult:
    """Wait until the preview shows the full-resolution frame `index` of the session's revision
    and `ready` holds, then until its display transform (baked off the GUI thread) is up."""
    def shown() -> bool:
        r = window.feed.result
        return (r is not None and r.index == index and r.revision == window.session.revision
                and not r.is_proxy and ready(r))

    qtbot.waitUntil(shown, timeout=60000)  # type: ignore[attr-defined]
    settle(window)
    assert window.feed.result is not None
    return window.feed.result


def code_values(frame: np.ndarray | torch.Tensor, bits: int = 8) -> np.ndarray:
    """Signal in [0, 1] -> integer code values; (3, H, W) tensors become (H, W, 3)."""
    if isinstance(frame, torch.Tensor):
        frame = frame.permute(1, 2, 0).float().numpy()
    return np.round(np.asarray(frame, np.float64) * (2**bits - 1))
