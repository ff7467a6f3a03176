"""Reinhard & Devlin 2005, "Dynamic range reduction inspired by photoreceptor physiology" (IEEE TVCG)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from engine.color.luminance import luminance
from engine.operators.base import SpatialOperator, StageContext
from engine.params import param
from engine.stats import FrameStats
from engine.tmo.tone_curve import with_frame_stats


def contrast_exponent(stats: FrameStats) -> float:
    """Reinhard & Devlin 2005 eq. 8: m = 0.3 + 0.7 k^1.4, k = (log Lmax - log Lav) / (log Lmax - log Lmin)."""
    lo, hi = math.log(max(stats.minimum, 1e-12)), math.log(max(stats.maximum, 1e-12))
    k = (hi - math.log(max(stats.log_average, 1e-12))) / (hi - lo) if hi - lo > 1e-6 else 0.5
    return 0.3 + 0.7 * min(max(k, 0.0), 1.0) ** 1.4


def photoreceptor(intensity: Tensor, adaptation: Tensor, f: float, m: float) -> Tensor:
    """Reinhard & Devlin 2005 eq. 4: V = I / (I + (f I_a)^m)."""
    return intensity / (intensity + (f * adaptation) ** m)


@dataclass(frozen=True)
class ReinhardDevlinParams:
    intensity: float = param(0.0, -8.0, 8.0, "", "overall intensity f'; f = exp(-f')")
    contrast: float = param(0.0, 0.0, 1.0, "", "contrast m; 0 = automatic from the frame (eq. 8)")
    chromatic: float = param(0.0, 0.0, 1.0, "", "chromatic adaptation c (0 = luminance, 1 = per channel)")
    light: float = param(1.0, 0.0, 1.0, "", "light adaptation a (0 = global, 1 = per pixel)")


class ReinhardDevlin(SpatialOperator):
    """Reinhard & Devlin 2005, "Dynamic range reduction inspired by photoreceptor physiology".

    Per channel: I_a = a (c I + (1 - c) L) + (1 - a) (c I_av + (1 - c) L_av), V = I / (I + (f I_a)^m)
    (eq. 4-7), then V is normalised as in the paper, (V - V_min) / (V_max - V_min), with V_min =
    V(0) = 0 (black) and V_max the response of a grey pixel at the stabilised maximum, so that
    one hot pixel or a noisy shadow cannot shift the whole frame. L_av is the stabilised
    log-average; the channel averages I_av keep the frame's own colour balance at that level.
    (f I_a)^m is not scale invariant, so intensities are taken in units of L_av: the paper's
    examples are relative images, and absolute cd/m² would wash every frame out.
    """

    name = "reinhard-devlin"
    kind = "tmo"
    title = "Reinhard & Devlin 2005 (photoreceptor)"
    Params = ReinhardDevlinParams

    def apply(self, frame: Tensor, ctx: StageContext) -> Tensor:
        p = self.params
        stats = with_frame_stats(frame, ctx).stats
        assert stats is not None
        f = math.exp(-p.intensity)
        m = p.contrast if p.contrast > 0.0 else contrast_exponent(stats)
        c, a = p.chromatic, p.light
        l_av = max(stats.log_average, 1e-12)
        rgb = frame.clamp_min(0.0) / l_av
        y = luminance(rgb)
        means = rgb.mean(dim=(1, 2), keepdim=True)
        channel_av = means / luminance(means).clamp_min(1e-12)
        adaptation = a * (c * rgb + (1 - c) * y) + (1 - a) * (c * channel_av + (1 - c))
        response = photoreceptor(rgb, adaptation.clamp_min(1e-12), f, m)

        peak = torch.tensor(max(stats.maximum, 1e-12) / l_av, dtype=torch.float64)
        v_max = float(photoreceptor(peak, a * peak + (1 - a), f, m))
        return response / max(v_max, 1e-9)
