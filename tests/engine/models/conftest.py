"""Small generated scenes and untrained networks shared by the model tests (no files needed)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from engine.models.unet import HighlightNet, UNetConfig


def hdr_scene(height: int = 96, width: int = 96, seed: int = 0) -> Tensor:
    """A scene-linear BT.2020 (3, H, W) still: a textured ground, a sky gradient and two suns
    a few stops above it, so that any exposure that keeps the ground clips the suns."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.linspace(0.0, 1.0, height)[:, None]
    x = torch.linspace(0.0, 1.0, width)[None, :]
    base = 0.05 + 0.3 * y + 0.05 * torch.rand((height, width), generator=generator)
    scene = torch.stack([base * 0.8, base, base * 1.2])
    for cy, cx, peak in ((0.25, 0.3, 40.0), (0.6, 0.75, 12.0)):
        r2 = (y - cy) ** 2 + (x - cx) ** 2
        glow = peak * torch.exp(-r2 / 0.004) * (1.0 + 0.3 * torch.sin(40.0 * math.pi * x))
        scene = scene + torch.stack([glow, glow * 0.9, glow * 0.7])
    return scene


def sdr_frame(height: int = 40, width: int = 56) -> Tensor:
    """SDR display light (3, H, W): a ramp well below clipping with a clipped block at the right."""
    frame = torch.linspace(0.0, 0.6, width).expand(3, height, width).clone()
    frame[1] *= 0.8
    frame[:, 10:30, 40:52] = 1.0
    frame[0, 12:20, 44:48] = 0.97  # nearly clipped: the mask blends here
    return frame


@pytest.fixture
def small_net() -> HighlightNet:
    torch.manual_seed(0)
    return HighlightNet(UNetConfig(widths=(8, 16, 16))).eval()
