"""Temporal flicker of a reconstruction relative to its ground truth, in PU21 units.

Flicker is measured as the mean absolute difference between the frame-to-frame change of the
output and that of the ground truth, both in PU21 space (on luminance): a reconstruction that
follows the real temporal changes scores 0 whatever its per-frame error, and one that adds
changes the scene does not have (pumping, popping highlights) scores above 0. This is the
temporal-consistency measure of Eilertsen, Mantiuk and Unger, "Single-frame Regularization for
Temporally Stable CNNs", CVPR 2019, with PU21 (Mantiuk and Azimi 2021) as the perceptual space.
"""

from __future__ import annotations

import math

from torch import Tensor

from engine.color.luminance import luminance
from engine.metrics.pu21 import pu21_encode


def pu21_luminance(frame: Tensor) -> Tensor:
    """PU21 encoding of a (3, H, W) BT.2020 frame's luminance in cd/m² -> (1, H, W)."""
    return pu21_encode(luminance(frame))


def flicker(test_prev: Tensor, test: Tensor, reference_prev: Tensor, reference: Tensor,
            mask: Tensor | None = None) -> float:
    """Mean |Δtest - Δreference| in PU21 units between two consecutive frames, over `mask`.

    All four frames are (1, H, W) PU21 luminance (see `pu21_luminance`); NaN for an empty mask.
    """
    diff = ((test - test_prev) - (reference - reference_prev)).abs().double()
    if mask is None:
        return float(diff.mean())
    weights = mask.double()
    total = float(weights.sum())
    return float((diff * weights).sum()) / total if total > 0 else math.nan
