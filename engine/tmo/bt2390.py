"""ITU-R BT.2390-10 section 5.4.1: the EETF for showing PQ content on a display of lower peak."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from engine.color.correction import color_param, saturation_param
from engine.color.transfer import pq_eotf, pq_inverse_eotf
from engine.operators.base import StageContext
from engine.params import param
from engine.tmo.tone_curve import ToneCurveOperator


def _pq(nits: float) -> float:
    return float(pq_inverse_eotf(torch.tensor(nits, dtype=torch.float64)))


def hermite_knee(e1: Tensor, knee_start: float, max_lum: float) -> Tensor:
    """BT.2390-10 eq. for E2: identity below KS, above it the Hermite spline P(E1).

    T = (E1 - KS) / (1 - KS);
    P = (2T³ - 3T² + 1) KS + (T³ - 2T² + T)(1 - KS) + (-2T³ + 3T²) maxLum.
    """
    t = (e1 - knee_start) / (1.0 - knee_start)
    t2, t3 = t * t, t * t * t
    spline = (
        (2 * t3 - 3 * t2 + 1) * knee_start
        + (t3 - 2 * t2 + t) * (1 - knee_start)
        + (-2 * t3 + 3 * t2) * max_lum
    )
    return torch.where(e1 < knee_start, e1, spline)


def bt2390_eetf(
    nits: Tensor, source_peak: float, target_peak: float, target_min: float = 0.0, source_black: float = 0.0
) -> Tensor:
    """ITU-R BT.2390-10 EETF, cd/m² -> cd/m², evaluated on PQ signals normalised to the source.

    E1 = (PQ(L) - PQ(Lb)) / (PQ(Lw) - PQ(Lb)); minLum and maxLum are the target's min and peak on
    that scale; KS = 1.5 maxLum - 0.5; E2 = hermite_knee(E1); E3 = E2 + minLum (1 - E2)^4;
    E4 = E3 (PQ(Lw) - PQ(Lb)) + PQ(Lb), returned through the PQ EOTF. Input above the source
    peak is clipped to it (E1 <= 1), as the standard defines E1 on [0, 1].
    """
    pq_black, pq_white = _pq(source_black), _pq(source_peak)
    span = pq_white - pq_black
    min_lum = (_pq(target_min) - pq_black) / span
    max_lum = (_pq(target_peak) - pq_black) / span
    e1 = ((pq_inverse_eotf(nits) - pq_black) / span).clamp(0.0, 1.0)
    e2 = hermite_knee(e1, 1.5 * max_lum - 0.5, max_lum) if max_lum < 1.0 else e1
    e3 = e2 + min_lum * (1.0 - e2) ** 4
    return pq_eotf(e3 * span + pq_black)


@dataclass(frozen=True)
class Bt2390Params:
    source_peak: float = param(0.0, 0.0, 10000.0, "cd/m²", "mastering peak Lw; 0 = the grade's HDR peak")
    target_peak: float = param(0.0, 0.0, 10000.0, "cd/m²", "target display peak Lmax; 0 = the display peak")
    target_min: float = param(0.0, 0.0, 10.0, "cd/m²", "target display black Lmin")
    color: str = color_param()
    saturation: float = saturation_param()


class Bt2390(ToneCurveOperator):
    """ITU-R BT.2390-10 §5.4.1 EETF: PQ-domain knee at KS = 1.5 maxLum - 0.5 with a Hermite spline.

    Meant for HDR -> HDR at a lower peak; the output is relative to ctx.display_peak.
    """

    name = "bt2390"
    title = "BT.2390 EETF"
    Params = Bt2390Params

    def peaks(self, ctx: StageContext) -> tuple[float, float]:
        p = self.params
        source = p.source_peak if p.source_peak > 0.0 else ctx.peak_nits
        target = p.target_peak if p.target_peak > 0.0 else ctx.display_peak
        return source, min(target, source)

    def curve(self, y: Tensor, ctx: StageContext) -> Tensor:
        source, target = self.peaks(ctx)
        return bt2390_eetf(y, source, target, self.params.target_min) / ctx.display_peak
