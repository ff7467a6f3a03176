"""SDR -> HDR conversion methods A and C of Report ITU-R BT.2446-1 (2021)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from engine.color.transfer import bt1886_inverse_eotf
from engine.itm.base import SDR_INPUT_RANGE
from engine.operators.base import CurveOperator, StageContext
from engine.params import param

# ITU-R BT.2446-1 §4.2, Table 3: the exponent E(Y'') of the SDR -> HDR luma mapping, a quadratic
# in the 8-bit-scaled SDR luma Y'' on either side of Y'' = 70.
METHOD_A_KNEE = 70.0
METHOD_A_LOW = (1.8712e-5, -2.7334e-3, 1.3141)
METHOD_A_HIGH = (2.8305e-6, -7.4622e-4, 1.2528)
METHOD_A_PEAK_NITS = 1000.0  # the HDR peak the published mapping targets

# ITU-R BT.2446-1 §6.1.4: the published parameters of the Method C tone curve.
METHOD_C_K1 = 0.83802
METHOD_C_K3 = 0.74204
METHOD_C_SDR_IP = 58.535  # cd/m², the SDR luminance of the inflection point
SDR_NOMINAL_PEAK = 100.0  # cd/m², the SDR display Method C's SDR luminance refers to


def bt2446a_hdr_luma(sdr_luma: Tensor) -> Tensor:
    """ITU-R BT.2446-1 §4.2, Table 3 rows 1-5: SDR luma Y' in [0, 1] -> HDR luma in [0, 1].

    Y'' = 255 Y', E = a Y''^2 + b Y'' + c (coefficients below or above Y'' = 70), and
    Y'_HDR = Y''^E / 1000, a gamma-domain luma whose 2.4 power is display light relative to
    1000 cd/m² (Y'' = 255 gives 255^1.2466 = 1000).
    """
    y = 255.0 * sdr_luma.clamp(0.0, 1.0)
    a1, b1, c1 = METHOD_A_LOW
    a2, b2, c2 = METHOD_A_HIGH
    exponent = torch.where(y <= METHOD_A_KNEE, (a1 * y + b1) * y + c1, (a2 * y + b2) * y + c2)
    return y**exponent / METHOD_A_PEAK_NITS


@dataclass(frozen=True)
class NoTunables:
    """Method A has no free parameters: the standard fixes its curve."""


class BT2446A(CurveOperator):
    """ITU-R BT.2446-1 §4.2, Conversion Method A, SDR to HDR (inverse of the §4.1 tone mapping).

    The SDR-relative luminance is re-encoded with the BT.1886 gamma 2.4 to the luma signal the
    standard works on, mapped by bt2446a_hdr_luma and decoded with gamma 2.4 to display light:
    out = peak * (Y'_HDR)^2.4. For the standard's 1000 cd/m² target an SDR signal of 0.5, 0.7,
    0.9 and 1.0 lands on about 76, 218, 592 and 1000 cd/m²; other peaks scale the result. The
    curve drives the luminance and colour follows by ratio (the engine's hue-exact convention),
    in place of the standard's Cb/Cr scaling by 1.075.
    """

    name = "bt2446a"
    kind = "itm"
    title = "BT.2446 Method A (SDR to HDR)"
    Params = NoTunables

    def curve(self, y: Tensor, ctx: StageContext) -> Tensor:
        return ctx.peak_nits * bt2446a_hdr_luma(bt1886_inverse_eotf(y)) ** 2.4

    def input_range(self, ctx: StageContext) -> tuple[float, float]:
        return SDR_INPUT_RANGE


@dataclass(frozen=True)
class MethodCCoefficients:
    """The four coefficients of the Method C curve, derived from k1, k3 and the inflection point."""

    k1: float
    k2: float
    k3: float
    k4: float
    hdr_ip: float  # cd/m², HDR luminance of the inflection point

    @classmethod
    def from_parameters(cls, k1: float, k3: float, sdr_ip: float) -> MethodCCoefficients:
        """ITU-R BT.2446-1 §6.1.4: Y_HDR,ip = Y_SDR,ip / k1, k2 = k1 (1 - k3) Y_HDR,ip,
        k4 = k1 Y_HDR,ip - k2 ln(1 - k3) (the log branch meets the line with equal slope)."""
        hdr_ip = sdr_ip / k1
        k2 = k1 * (1.0 - k3) * hdr_ip
        return cls(k1, k2, k3, k1 * hdr_ip - k2 * math.log(1.0 - k3), hdr_ip)

    def tone_map(self, hdr: Tensor) -> Tensor:
        """ITU-R BT.2446-1 §6.1.4, HDR -> SDR: Y_SDR = k1 Y_HDR below the inflection point,
        k2 ln(Y_HDR / Y_HDR,ip - k3) + k4 above (both in cd/m²)."""
        log_branch = self.k2 * torch.log((hdr / self.hdr_ip - self.k3).clamp_min(1e-12)) + self.k4
        return torch.where(hdr < self.hdr_ip, self.k1 * hdr, log_branch)

    def inverse_tone_map(self, sdr: Tensor) -> Tensor:
        """ITU-R BT.2446-1 §6.2, SDR -> HDR: the exact inverse of tone_map (cd/m² -> cd/m²)."""
        sdr_ip = self.k1 * self.hdr_ip
        log_branch = self.hdr_ip * (torch.exp((sdr - self.k4) / self.k2) + self.k3)
        return torch.where(sdr < sdr_ip, sdr / self.k1, log_branch)


@dataclass(frozen=True)
class BT2446CParams:
    k1: float = param(METHOD_C_K1, 0.5, 1.0, "", "slope of the linear part (SDR per HDR cd/m²)")
    k3: float = param(METHOD_C_K3, 0.0, 0.95, "", "shoulder strength of the log part")
    sdr_ip: float = param(METHOD_C_SDR_IP, 20.0, 90.0, "cd/m²", "SDR luminance of the knee")


class BT2446C(CurveOperator):
    """ITU-R BT.2446-1 §6.2, Conversion Method C, SDR to HDR: the inverse of its §6.1.4 curve.

    SDR-relative light is placed on a 100 cd/m² SDR display, and the inverse of the linear-plus-
    log tone curve (k1 = 0.83802, k3 = 0.74204, Y_SDR,ip = 58.535 cd/m², hence k2 = 15.09968,
    k4 = 78.99439) gives HDR cd/m². Below the knee it is linear (HDR = SDR / k1); above, it is
    exponential: SDR 100% reaches about 333 cd/m², the HDR reference white (203 cd/m²) sits at
    SDR 90.65 cd/m² and 1000 cd/m² at the super-white 118.4 cd/m². The optional crosstalk
    matrix of §6.1.2 is not applied: colour follows luminance by ratio.
    """

    name = "bt2446c"
    kind = "itm"
    title = "BT.2446 Method C (inverse)"
    Params = BT2446CParams

    def coefficients(self) -> MethodCCoefficients:
        p = self.params
        return MethodCCoefficients.from_parameters(p.k1, p.k3, p.sdr_ip)

    def curve(self, y: Tensor, ctx: StageContext) -> Tensor:
        return self.coefficients().inverse_tone_map(SDR_NOMINAL_PEAK * y)

    def input_range(self, ctx: StageContext) -> tuple[float, float]:
        return SDR_INPUT_RANGE
