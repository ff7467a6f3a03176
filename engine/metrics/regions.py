"""The regions each metric is reported over: the whole frame, the highlights clipped in the SDR
input, and the recoverable highlights (clipped here, seen unclipped elsewhere in the shot)."""

from __future__ import annotations

import torch
from torch import Tensor

from engine.constants import CODEC_CLIP_BAND_START
from engine.masks import clipped_map

REGIONS = ("frame", "highlights", "recoverable")


def clipped_mask(sdr_signal: Tensor, threshold: float = CODEC_CLIP_BAND_START) -> Tensor:
    """(3, H, W) SDR R'G'B' in [0, 1] -> (1, H, W) mask of pixels with any channel at or above threshold."""
    return clipped_map(sdr_signal, threshold).float()


def region_masks(sdr_signal: Tensor, recoverable: Tensor | None = None) -> dict[str, Tensor | None]:
    """Masks of the regions of one frame: 'frame' maps to None (every pixel), and 'recoverable'
    is present only when the shot has recoverable-highlight masks."""
    masks: dict[str, Tensor | None] = {"frame": None, "highlights": clipped_mask(sdr_signal)}
    if recoverable is not None:
        masks["recoverable"] = recoverable.to(torch.float32)
    return masks
