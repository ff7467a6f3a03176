"""ITU-R BT.2446-1 section 4.2 (Method A): HDR -> SDR tone mapping of the luma signal."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from engine.color.correction import color_param, saturation_param
from engine.operators.base import StageContext
from engine.params import param
from engine.tmo.tone_curve import ToneCurveOperator

# BT.2446-1 Method A works on signals with the gamma 1/2.4 of BT.1886.
GAMMA = 2.4


def rho(peak_nits: float) -> float:
    """BT.2446-1 Method A: rho = 1 + 32 (L / 10000)^(1 / 2.4) for a peak L in cd/m²."""
    return 1.0 + 32.0 * (peak_nits / 10000.0) ** (1.0 / GAMMA)


def bt2446a_luma(y_hdr: Tensor, hdr_peak: float = 1000.0, sdr_peak: float = 100.0) -> Tensor:
    """BT.2446-1 Method A steps 1-3 on a luma signal Y' in [0, 1] (Y' = (Y / L_HDR)^(1/2.4)).

    Y'p = log(1 + (rho_HDR - 1) Y') / log(rho_HDR);
    Y'c = 1.0770 Y'p (Y'p <= 0.7399), -1.1510 Y'p² + 2.7811 Y'p - 0.6302 (< 0.9909),
          0.5 Y'p + 0.5 (above);
    Y'SDR = (rho_SDR^Y'c - 1) / (rho_SDR - 1).
    """
    rho_hdr, rho_sdr = rho(hdr_peak), rho(sdr_peak)
    yp = torch.log1p((rho_hdr - 1.0) * y_hdr) / math.log(rho_hdr)
    yc = torch.where(
        yp <= 0.7399,
        1.0770 * yp,
        torch.where(yp < 0.9909, -1.1510 * yp * yp + 2.7811 * yp - 0.6302, 0.5 * yp + 0.5),
    )
    return (rho_sdr**yc - 1.0) / (rho_sdr - 1.0)


@dataclass(frozen=True)
class Bt2446aParams:
    hdr_peak: float = param(0.0, 0.0, 10000.0, "cd/m²", "HDR peak L_HDR; 0 = the grade's HDR peak")
    sdr_peak: float = param(100.0, 48.0, 1000.0, "cd/m²", "SDR peak L_SDR of the standard's curve")
    color: str = color_param()
    saturation: float = saturation_param()


class Bt2446a(ToneCurveOperator):
    """ITU-R BT.2446-1 §4.2 Method A: the luma tone curve with rho_HDR, rho_SDR and its constants.

    Luminance in cd/m² is clipped to L_HDR and encoded Y' = (Y / L_HDR)^(1/2.4); the curve's
    Y'SDR is decoded as Y'SDR^2.4 (BT.1886, zero black) times L_SDR / display peak. The
    standard's own chroma step (Cb, Cr scaled by Y'SDR / (1.1 Y')) works in Y'CbCr and is
    replaced by the shared colour step (ratio / Schlick / Mantiuk).
    """

    name = "bt2446a"
    title = "BT.2446 Method A"
    Params = Bt2446aParams

    def curve(self, y: Tensor, ctx: StageContext) -> Tensor:
        hdr_peak = self.params.hdr_peak if self.params.hdr_peak > 0.0 else ctx.peak_nits
        y_prime = (y / hdr_peak).clamp(0.0, 1.0) ** (1.0 / GAMMA)
        sdr = bt2446a_luma(y_prime, hdr_peak, self.params.sdr_peak) ** GAMMA
        return sdr * (self.params.sdr_peak / ctx.display_peak)
