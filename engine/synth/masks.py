"""Masks of recoverable highlights: pixels clipped in one frame whose scene point another frame
of the shot recorded unclipped.

The simulation knows every frame's pose and exposure, so the mask is exact, not estimated: the
output pixel p of frame i shows still point q = A_i p; frame j shows q at p' = A_j^-1 q when p'
lies inside frame j, and records there k_j x s(q), with s(q) the same interpolated still value
(frame j's sample at p' is the still interpolated at A_j p' = q). So p is recoverable when
k_i s(q) >= clip and some frame j != i that contains q has k_j s(q) < clip, which needs
k_j < k_i: only the clipped pixels and the darker frames are visited. The test is on
noise-free exposure; the channel that clips first decides (the maximum over the camera's RGB).
A moving object (engine.synth.moving_object) hides the background behind it and carries its own
points with it.
Masks are stored as 8-bit greyscale PNG files, 255 inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor

from engine.errors import FormatError, MediaError
from engine.synth.camera import invert_affine
from engine.synth.moving_object import ObjectTrack

MASK_PATTERN = "frame_{:06d}.png"


@dataclass(frozen=True)
class RecoveryViews:
    """For each clipped pixel (rows, cols) of one frame: the frame that recorded its scene point
    unclipped at the largest exposure (-1: none did) and where, in that frame's output pixels."""

    rows: Tensor
    cols: Tensor
    frame: Tensor  # long, -1 where no darker frame recorded the point unclipped
    x: Tensor  # float64 output pixel coordinates in `frame`
    y: Tensor


def recovery_views(index: int, scene_peak: Tensor, affines: Sequence[np.ndarray],
                   multipliers: Sequence[float], clip: float = 1.0,
                   track: ObjectTrack | None = None) -> RecoveryViews:
    """Find, for every clipped pixel of frame `index`, the best unclipped view in another frame.

    scene_peak: (1, h, w) max over channels of frame `index`'s noise-free sensor value at
    multiplier 1; affines: every frame's 2x3 output -> still map; multipliers: every frame's
    exposure multiplier; track: a moving object in front of the scene, if any. Among the
    frames that see the point unclipped, the brightest exposure wins (the best signal to noise).
    """
    value = scene_peak[0].double()
    height, width = value.shape
    k_index = multipliers[index]
    rows, cols = torch.nonzero(k_index * value >= clip, as_tuple=True)
    v = value[rows, cols]
    x, y = cols.double(), rows.double()
    best = torch.full_like(rows, -1)
    best_k = torch.zeros_like(v)
    best_x, best_y = torch.zeros_like(v), torch.zeros_like(v)
    on_object = track.covers(index, x, y) if track is not None else torch.zeros_like(v, dtype=torch.bool)
    a = affines[index].tolist()
    u, w = a[0][0] * x + a[0][1] * y + a[0][2], a[1][0] * x + a[1][1] * y + a[1][2]
    # A clipped value v >= clip / k_index records unclipped only at a smaller exposure.
    for j in (j for j, k in enumerate(multipliers) if k < k_index):
        b = invert_affine(affines[j]).tolist()
        xj = b[0][0] * u + b[0][1] * w + b[0][2]
        yj = b[1][0] * u + b[1][1] * w + b[1][2]
        seen = (xj >= 0) & (xj <= width - 1) & (yj >= 0) & (yj <= height - 1)
        if track is not None:
            # Background points hide behind the object; object points move with it.
            seen &= ~track.covers(j, xj, yj)
            (cx, cy), (dx, dy) = track.centres[index], track.centres[j]
            xj = torch.where(on_object, x - cx + dx, xj)
            yj = torch.where(on_object, y - cy + dy, yj)
            seen = torch.where(on_object, torch.ones_like(seen), seen)
        better = seen & (multipliers[j] * v < clip) & (multipliers[j] > best_k)
        best = torch.where(better, torch.full_like(best, j), best)
        best_k = torch.where(better, torch.full_like(best_k, multipliers[j]), best_k)
        best_x, best_y = torch.where(better, xj, best_x), torch.where(better, yj, best_y)
    return RecoveryViews(rows, cols, best, best_x, best_y)


def recoverable_mask(index: int, scene_peak: Tensor, affines: Sequence[np.ndarray],
                     multipliers: Sequence[float], clip: float = 1.0,
                     track: ObjectTrack | None = None) -> Tensor:
    """(1, h, w) float mask of frame `index`'s recoverable highlights (arguments of `recovery_views`)."""
    views = recovery_views(index, scene_peak, affines, multipliers, clip, track)
    mask = torch.zeros(scene_peak.shape[1:], dtype=torch.bool, device=scene_peak.device)
    mask[views.rows, views.cols] = views.frame >= 0
    return mask.unsqueeze(0).float()


def write_mask(path: Path, mask: Tensor) -> None:
    """Write a (1, H, W) mask as an 8-bit greyscale PNG (0 outside, 255 inside)."""
    codes = (mask[0].clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).cpu().numpy()
    if not cv2.imwrite(str(path), codes):
        raise FormatError("could not encode the mask as PNG", path)


def read_mask(path: Path) -> Tensor:
    """Read an 8-bit greyscale mask PNG as a (1, H, W) float mask in [0, 1]."""
    if not Path(path).is_file():
        raise MediaError("mask file not found", path)
    codes = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if codes is None:
        raise FormatError("not a readable PNG mask", path)
    return torch.from_numpy(codes.astype(np.float32) / 255.0).unsqueeze(0)


def mask_path(folder: Path, index: int) -> Path:
    """Where frame `index`'s mask lives in a synth output's masks folder."""
    return Path(folder) / MASK_PATTERN.format(index)
