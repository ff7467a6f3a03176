"""A moving object in front of the scene: a disc cut from the still's brightest region that
crosses the frame while the camera does its own motion (often none).

The disc shows the still around `source` (u, v), radius `radius` output pixels, centred on
output pixel `centres[i]` in frame i: output pixel p inside the disc shows still point
source + (p - centres[i]), a pure translation, so the object's own points keep their values
from frame to frame and the exact-mask reasoning of engine.synth.masks carries over: an object
point is seen in every frame (the disc never leaves the frame), a background point is seen in
frame j only where the disc of frame j does not cover it. A lamp or a bright window carried
across a static view is the case that defeats a reconstruction that assumes one global motion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from engine.synth.camera import Size, brightest_point, sample_still

OBJECT_RADIUS = 0.3  # of the output height: large enough to move a centre-weighted meter
OBJECT_TRAVEL = 0.6  # of the output width the disc's centre crosses over the shot
OBJECT_BOB = 0.08  # vertical amplitude of its path, of the output height


@dataclass(frozen=True)
class ObjectTrack:
    """Where the object comes from in the still and where it is in each frame."""

    source: tuple[float, float]  # still point (u, v) at the disc's centre
    radius: float  # output pixels
    centres: list[tuple[float, float]]  # per frame, output pixel (x, y) of the disc's centre

    def affine(self, index: int) -> np.ndarray:
        """2x3 map output pixel -> still pixel inside the disc of frame `index`."""
        cx, cy = self.centres[index]
        return np.array([[1.0, 0.0, self.source[0] - cx], [0.0, 1.0, self.source[1] - cy]])

    def covers(self, index: int, x: Tensor, y: Tensor) -> Tensor:
        """Whether output pixels (x, y) of frame `index` lie on the object."""
        cx, cy = self.centres[index]
        return (x - cx) ** 2 + (y - cy) ** 2 <= self.radius**2


def plan_object(still: Tensor, out_size: Size, frames: int) -> ObjectTrack:
    """A disc of the still's brightest region moving left to right across the middle of the frame."""
    w, h = out_size
    radius = OBJECT_RADIUS * h
    still_w, still_h = still.shape[2], still.shape[1]
    u, v = brightest_point(still, out_size)
    # The disc's source must lie inside the still.
    u = min(max(u, radius), still_w - 1 - radius)
    v = min(max(v, radius), still_h - 1 - radius)
    centres = []
    for i in range(frames):
        t = i / max(frames - 1, 1)
        x = (w - 1) / 2.0 + OBJECT_TRAVEL * w * (t - 0.5)
        y = (h - 1) / 2.0 + OBJECT_BOB * h * math.sin(2.0 * math.pi * t)
        centres.append((x, y))
    return ObjectTrack((u, v), radius, centres)


def coverage(track: ObjectTrack, index: int, out_size: Size, device: torch.device | str = "cpu") -> Tensor:
    """(1, h, w) bool: the pixels of frame `index` the object covers."""
    w, h = out_size
    x = torch.arange(w, dtype=torch.float64, device=device)[None, :]
    y = torch.arange(h, dtype=torch.float64, device=device)[:, None]
    return track.covers(index, x, y).unsqueeze(0)


def composite(background: Tensor, still: Tensor, track: ObjectTrack, index: int, out_size: Size,
              mode: str = "bilinear") -> Tensor:
    """The frame `background` (3, h, w) with the object of frame `index` in front of it."""
    front = sample_still(still, track.affine(index), out_size, mode)
    return torch.where(coverage(track, index, out_size, background.device), front, background)
