"""Filmic curves from games: Hable's Uncharted 2 operator and Narkowicz's ACES fit.

Both take scene-linear input where 1.0 is a diffuse white; here that is the SDR reference
white (BT.2408, 203 cd/m² by default), scaled by an exposure as the original shaders do.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from engine.color.correction import color_param, saturation_param
from engine.operators.base import StageContext
from engine.params import param
from engine.tmo.tone_curve import ToneCurveOperator

# John Hable 2010, "Filmic Tonemapping Operators" / GDC "Uncharted 2: HDR Lighting": shoulder
# strength A, linear strength B, linear angle C, toe strength D, toe numerator E, denominator F,
# linear white point W.
HABLE_A, HABLE_B, HABLE_C, HABLE_D, HABLE_E, HABLE_F = 0.15, 0.50, 0.10, 0.20, 0.02, 0.30
HABLE_W = 11.2

# Krzysztof Narkowicz 2015, "ACES Filmic Tone Mapping Curve".
ACES_A, ACES_B, ACES_C, ACES_D, ACES_E = 2.51, 0.03, 2.43, 0.59, 0.14


def hable_partial(x: Tensor | float) -> Tensor | float:
    """Hable's curve: ((x (A x + C B) + D E) / (x (A x + B) + D F)) - E / F."""
    a, b, c, d, e, f = HABLE_A, HABLE_B, HABLE_C, HABLE_D, HABLE_E, HABLE_F
    return (x * (a * x + c * b) + d * e) / (x * (a * x + b) + d * f) - e / f


def hable(x: Tensor, white: float = HABLE_W) -> Tensor:
    """Hable's filmic operator normalised by its white point: f(x) / f(W), so f(W) = 1."""
    return hable_partial(x) / hable_partial(white)


def aces_fitted(x: Tensor) -> Tensor:
    """Narkowicz 2015: x (2.51 x + 0.03) / (x (2.43 x + 0.59) + 0.14), saturated to [0, 1]."""
    return (x * (ACES_A * x + ACES_B) / (x * (ACES_C * x + ACES_D) + ACES_E)).clamp(0.0, 1.0)


@dataclass(frozen=True)
class HableParams:
    exposure_bias: float = param(2.0, 0.1, 16.0, "x", "scene multiplier before the curve (Hable's 2.0)")
    white: float = param(HABLE_W, 1.0, 100.0, "", "linear white point W that maps to the display peak")
    color: str = color_param()
    saturation: float = saturation_param()


class Hable(ToneCurveOperator):
    """Hable 2010, "Filmic Tonemapping Operators" (Uncharted 2), A..F as published, W = 11.2.

    x = exposure_bias * Y / reference white; out = f(x) / f(W).
    """

    name = "hable"
    title = "Hable filmic (Uncharted 2)"
    Params = HableParams

    def curve(self, y: Tensor, ctx: StageContext) -> Tensor:
        x = y * (self.params.exposure_bias / ctx.reference_white)
        return hable(x, self.params.white)


@dataclass(frozen=True)
class AcesParams:
    exposure: float = param(0.6, 0.05, 8.0, "x", "scene multiplier before the curve (Narkowicz's 0.6)")
    color: str = color_param()
    saturation: float = saturation_param()


class AcesFitted(ToneCurveOperator):
    """Narkowicz 2015, "ACES Filmic Tone Mapping Curve": (x(2.51x+0.03))/(x(2.43x+0.59)+0.14).

    x = exposure * Y / reference white; Narkowicz pre-exposes by 0.6 to match the ACES RRT+ODT.
    Applied to luminance (the original applies it per channel).
    """

    name = "aces"
    title = "ACES filmic (Narkowicz fit)"
    Params = AcesParams

    def curve(self, y: Tensor, ctx: StageContext) -> Tensor:
        return aces_fitted(y * (self.params.exposure / ctx.reference_white))

