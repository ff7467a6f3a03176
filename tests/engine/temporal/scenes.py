"""Tiny synthetic shots with known radiance, for the temporal tests.

A scene is a radiance map larger than the frame (relative: 1.0 is the SDR peak at exposure
1). A camera crops it along a pan, scales it by the frame's exposure, clips at 1, encodes with
a gamma-2.4 curve to 8-bit code values and decodes again, as an SDR source reaches the
temporal stage.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.frame import Frame, Space

FRAME_H, FRAME_W = 48, 64
SCENE_H, SCENE_W = 64, 112
GAMMA = 2.4


def texture(height: int, width: int, seed: int, cells: int = 8) -> Tensor:
    """Smooth random (3, H, W) texture in [0, 1]: bicubic upsampling of a coarse noise grid."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, max(2, height // cells), max(2, width // cells), generator=g)
    return tnf.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=True)[0].clamp(0, 1)


def scene_with_highlights(seed: int = 0, patch_level: float = 2.5, sun_level: float = 0.0) -> Tensor:
    """Background radiance in [0.03, 0.5]; a textured patch at ~patch_level; an optional 'sun'."""
    scene = 0.03 + 0.47 * texture(SCENE_H, SCENE_W, seed)
    scene[:, 16:36, 40:70] = patch_level * (0.8 + 0.4 * texture(20, 30, seed + 1, cells=5))
    if sun_level > 0:
        scene[:, 40:52, 44:56] = sun_level
    return scene


def pan_offset(index: int) -> tuple[int, int]:
    return 8, 4 + index


def crop(scene: Tensor, index: int) -> Tensor:
    top, left = pan_offset(index)
    return scene[:, top : top + FRAME_H, left : left + FRAME_W]


def camera(radiance: Tensor, exposure: float) -> Tensor:
    """Scene radiance -> the display-linear frame an 8-bit gamma-2.4 SDR camera delivers."""
    signal = (radiance * exposure).clamp(0, 1) ** (1 / GAMMA)
    return (torch.round(signal * 255) / 255) ** GAMMA


def shot(scene: Tensor, exposures: Sequence[float]) -> tuple[list[Tensor], list[Tensor]]:
    """(SDR display-linear frames, true unclipped display-linear frames) along the pan."""
    frames = [camera(crop(scene, i), e) for i, e in enumerate(exposures)]
    truth = [crop(scene, i) * e for i, e in enumerate(exposures)]
    return frames, truth


def code_values(frame: Tensor, gamma: float = GAMMA) -> Tensor:
    """The code values a display-linear frame of `camera` was decoded from (a gamma EOTF)."""
    return frame.clamp(0, 1) ** (1 / gamma)


def decoded(frame: Tensor) -> Frame:
    """A frame of `camera` as the temporal stage receives it: linear light and code values,
    both in BT.2020, where the synthetic frames are built and clip."""
    return Frame(frame, Space.RELATIVE, code_values(frame))
