"""Synthetic material for the CRF tests: a smooth textured field, a mosaic of coloured tiles, a clip."""

from __future__ import annotations

import subprocess
from pathlib import Path

import torch
from torch import Tensor
from torch.nn import functional as tnf


def textured_scene(height: int = 120, width: int = 160, stops: float = 7.0, seed: int = 0) -> Tensor:
    """(3, H, W) linear light with a smooth log-uniform spread over `stops` stops and mild colour."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 4, height // 8, width // 8, generator=generator)
    field = tnf.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=False)[0]
    level = 2.0 ** (stops * (field[:1] - 1.0))
    return (level * (0.75 + 0.5 * field[1:])).clamp_min(1e-5)


def mosaic_scene(tiles: tuple[int, int] = (12, 16), tile: int = 42, factor: int = 4, seed: int = 0) -> Tensor:
    """Tiles of random colours drawn at `factor` x the resolution and area-averaged down, so that
    the pixels across a tile boundary (tile / factor is not whole) mix the two tiles' light linearly."""
    generator = torch.Generator().manual_seed(seed)
    colours = 0.05 + 0.9 * torch.rand(3, *tiles, generator=generator)
    fine = colours.repeat_interleave(tile, 1).repeat_interleave(tile, 2)
    h, w = fine.shape[1] // factor * factor, fine.shape[2] // factor * factor
    return tnf.avg_pool2d(fine[None, :, :h, :w], factor)[0]


def sdr_clip(path: Path, frames: int) -> Path:
    """A 160x120 BT.709 H.264 clip of ffmpeg's testsrc2: big enough for the estimator's 96-pixel crops."""
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=24",
                    "-frames:v", str(frames), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-color_primaries",
                    "bt709", "-color_trc", "bt709", "-colorspace", "bt709", str(path)], check=True)
    return path
