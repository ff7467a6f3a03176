"""Which torch device the engine computes on: CUDA when present, the CPU otherwise."""

from __future__ import annotations

import os

import torch


def default_device() -> torch.device:
    """CUDA if available, unless LUMIGRADE_DEVICE names another device (e.g. 'cpu')."""
    forced = os.environ.get("LUMIGRADE_DEVICE")
    if forced:
        return torch.device(forced)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
