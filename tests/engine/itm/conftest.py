"""Small generated SDR frames (SDR-relative linear light, BT.2020) shared by the ITM tests."""

from __future__ import annotations

import torch
from torch import Tensor


def ramp_frame(height: int = 24, width: int = 40) -> Tensor:
    """A grey ramp from black to SDR white with a coloured band and a clipped highlight."""
    x = torch.linspace(0.0, 1.0, width).expand(height, width)
    frame = x.expand(3, height, width).clone()
    frame[0, : height // 3] *= 0.4
    frame[2, : height // 3] *= 0.7
    frame[:, -4:, -6:] = 1.0
    return frame
