"""The diffuse/specular split expansion of Meylan, Daly & Süsstrunk 2006."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from engine.color.correction import correct_color
from engine.color.luminance import luminance
from engine.filters import gaussian_blur
from engine.operators.base import SpatialOperator, StageContext
from engine.params import param

# An automatic diffuse white outside this span leaves one of the two slopes degenerate (a near
# black frame, or a frame clipped almost everywhere).
OMEGA_LIMITS = (0.05, 0.99)


def meylan_curve(y: Tensor, omega: float, rho: float, peak: float) -> Tensor:
    """Meylan et al. 2006: f(Y) = s1 Y for Y <= omega, s1 omega + s2 (Y - omega) above, with
    s1 = rho / omega and s2 = (1 - rho) / (1 - omega); output in cd/m² (f times the peak).

    The diffuse range [0, omega] of the SDR picture takes the share rho of the HDR range, the
    specular range (omega, 1] the rest.
    """
    s1 = rho / omega
    s2 = (1.0 - rho) / (1.0 - omega)
    y = y.clamp(0.0, 1.0)
    return peak * torch.where(y <= omega, s1 * y, rho + s2 * (y - omega))


def diffuse_white(lum: Tensor) -> float:
    """Meylan et al. 2006: the maximum diffuse white omega is the maximum of the luminance after
    a low-pass filter of size m = max(H, W) / 50, which removes small specular highlights.

    The filter is a Gaussian of the variance of an m-wide box, (m^2 - 1) / 12.
    """
    m = max(3.0, max(lum.shape[-2:]) / 50.0)
    smooth = gaussian_blur(lum, math.sqrt((m * m - 1.0) / 12.0))
    return min(max(float(smooth.max()), OMEGA_LIMITS[0]), OMEGA_LIMITS[1])


@dataclass(frozen=True)
class MeylanParams:
    omega: float = param(0.0, 0.0, 0.99, "", "maximum diffuse white (SDR-relative); 0 finds it in the frame")
    rho: float = param(0.67, 0.05, 0.99, "", "share of the HDR range given to diffuse content")


class Meylan(SpatialOperator):
    """Meylan, Daly & Süsstrunk 2006, "The reproduction of specular highlights on high dynamic
    range displays" (IS&T/SID Color Imaging Conference 14).

    A two-segment linear curve: the SDR diffuse range [0, omega] maps to [0, rho * peak] and the
    specular range above omega to the rest. omega is found in each frame (low-pass maximum of
    the luminance) unless set; rho defaults to 0.67, two thirds of the range to diffuse content.
    """

    name = "meylan"
    kind = "itm"
    title = "Meylan 2006 diffuse/specular split"
    Params = MeylanParams

    def omega(self, lum: Tensor) -> float:
        return self.params.omega if self.params.omega > 0.0 else diffuse_white(lum)

    def apply(self, frame: Tensor, ctx: StageContext) -> Tensor:
        y = torch.nan_to_num(luminance(frame), nan=0.0, posinf=1.0).clamp_min(0.0)
        out = meylan_curve(y, self.omega(y), self.params.rho, ctx.peak_nits)
        return correct_color(frame, y, out)
