"""Relative and absolute luminance of linear RGB frames."""

from __future__ import annotations

import torch
from torch import Tensor

from engine.color.primaries import BT2020, Primaries, luminance_weights


def luminance(frame: Tensor, primaries: Primaries = BT2020) -> Tensor:
    """Luminance Y of a linear (3, H, W) frame -> (1, H, W), in the frame's units.

    The weights are the Y row of the primaries' RGB -> XYZ matrix (SMPTE RP 177); for BT.2020
    they are 0.2627, 0.6780, 0.0593 (ITU-R BT.2020 Table 4).
    """
    w = torch.as_tensor(luminance_weights(primaries), dtype=frame.dtype, device=frame.device)
    return torch.einsum("c,chw->hw", w, frame).unsqueeze(0)
