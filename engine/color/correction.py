"""Colour correction after a luminance curve: ratio, Schlick 1994 and Mantiuk et al. 2009.

A tone curve maps luminance Y_in to Y_out; these functions decide what happens to each RGB
channel C. The GL preview shader repeats the same closed form with the same baked gain LUT
(engine/display.py), so the formulas here are the whole contract.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from engine.params import param

COLOR_MODES = ("ratio", "schlick", "mantiuk")

# Luminance below which a pixel counts as black (cd/m² or relative units alike): its colour
# ratio is meaningless there, and the channel ratio is taken as zero rather than 0/0.
BLACK_LUMINANCE = 1e-12


def correct_color(
    rgb: Tensor, y_in: Tensor, y_out: Tensor, mode: str = "ratio", saturation: float = 1.0
) -> Tensor:
    """New channel values for luminance y_in -> y_out; rgb (3, ...), y_in and y_out (1, ...).

    With r = C_in / Y_in per channel (r = 0 where Y_in <= 1e-12):

    - "ratio":   C_out = r * Y_out (hue and saturation kept; `saturation` is ignored)
    - "schlick": C_out = max(r, 0)^s * Y_out (Schlick 1994, "Quantization techniques for the
      visualization of high dynamic range pictures", eq. for colour; s = saturation)
    - "mantiuk": C_out = ((r - 1) * s + 1) * Y_out (Mantiuk, Mantiuk, Tomaszewska & Heidrich
      2009, "Color correction for tone mapping", eq. 3; linear in r, so luminance is kept
      exactly for any s)

    With s = 1 every mode equals "ratio", and grey (r = 1) stays grey for every s. Mantiuk's
    formula can go negative for s > 1 on saturated colours; the output transform clamps.
    """
    lit = y_in > BLACK_LUMINANCE
    if mode == "ratio" or saturation == 1.0:
        # One (1, ...) factor instead of three channel ratios: the same numbers, fewer passes.
        return rgb * torch.where(lit, y_out / y_in.clamp_min(BLACK_LUMINANCE), 0.0)
    ratio = torch.where(lit, rgb / y_in.clamp_min(BLACK_LUMINANCE), 0.0)
    if mode == "schlick":
        return ratio.clamp_min(0.0) ** saturation * y_out
    if mode == "mantiuk":
        return ((ratio - 1.0) * saturation + 1.0) * y_out
    raise ValueError(f"unknown colour correction {mode!r} (known: {', '.join(COLOR_MODES)})")


def apply_gain(
    rgb: Tensor, y_in: Tensor, gain: Tensor, mode: str = "ratio", saturation: float = 1.0
) -> Tensor:
    """correct_color with y_out = gain * y_in, for a curve baked as a gain LUT.

    In ratio mode (or s = 1) the channel factor is the gain itself, so the product and the
    division by y_in cancel and are skipped: fewer full-frame passes, the same numbers to
    float rounding. `gain` may be overwritten.
    """
    if mode == "ratio" or saturation == 1.0:
        return rgb * gain.masked_fill_(y_in <= BLACK_LUMINANCE, 0.0)
    return correct_color(rgb, y_in, y_in * gain, mode, saturation)


def color_param() -> Any:
    """The `color` field of an operator's Params: which colour step follows the curve."""
    return param("ratio", choices=COLOR_MODES, help="colour step: ratio, Schlick 1994 or Mantiuk 2009")


def saturation_param() -> Any:
    """The `saturation` field (s) of an operator's Params, used by Schlick and Mantiuk."""
    return param(1.0, 0.0, 2.0, "", "colour saturation s of the Schlick / Mantiuk step (1 = ratio)")
