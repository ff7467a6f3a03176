"""Reinhard, Stark, Shirley & Ferwerda 2002, "Photographic tone reproduction for digital images".

Global operator (their eq. 1-4) as a curve, and the local dodging-and-burning operator (eq. 5-9)
as a spatial operator. The key a is 0.18 or estimated automatically (Reinhard 2002, "Parameter
estimation for photographic tone reproduction", eq. 4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from engine.color.correction import color_param, correct_color, saturation_param
from engine.color.luminance import luminance
from engine.filters import gaussian_blur
from engine.operators.base import SpatialOperator, StageContext
from engine.params import param
from engine.stats import FrameStats
from engine.tmo.tone_curve import ToneCurveOperator, context_stats, with_frame_stats


def estimate_key(stats: FrameStats) -> float:
    """Reinhard 2002 "Parameter estimation", eq. 4: a = 0.18 * 4^((2 log2 Lavg - log2 Lmin - log2 Lmax)
    / (log2 Lmax - log2 Lmin)); 0.18 when the frame has no dynamic range."""
    lo, hi = math.log2(max(stats.minimum, 1e-12)), math.log2(max(stats.maximum, 1e-12))
    if hi - lo < 1e-6:
        return 0.18
    return 0.18 * 4.0 ** ((2.0 * math.log2(max(stats.log_average, 1e-12)) - lo - hi) / (hi - lo))


def scene_key(auto_key: bool, key: float, stats: FrameStats) -> float:
    return estimate_key(stats) if auto_key else key


def reinhard_global(scaled: Tensor, white: float) -> Tensor:
    """Reinhard et al. 2002 eq. 4: L_d = L (1 + L / L_white²) / (1 + L), L = a Lw / L_avg (eq. 2)."""
    return scaled * (1.0 + scaled / (white * white)) / (1.0 + scaled)


@dataclass(frozen=True)
class ReinhardParams:
    key: float = param(0.18, 0.01, 1.0, "", "key a: display value of the log-average (0.18 = mid grey)")
    auto_key: bool = param(False, help="estimate the key from the frame (Reinhard 2002 parameter estimation)")
    white: float = param(0.0, 0.0, 1e6, "cd/m²", "luminance burnt out to the display peak; 0 = frame maximum")
    color: str = color_param()
    saturation: float = saturation_param()


class Reinhard(ToneCurveOperator):
    """Reinhard, Stark, Shirley & Ferwerda 2002, "Photographic tone reproduction", global operator.

    Lw in cd/m² is scaled by a / L_avg (the stabilised log-average) and compressed by eq. 4 with
    L_white = `white` (scaled alike); the result is relative to the display peak.
    """

    name = "reinhard"
    title = "Reinhard 2002 (global)"
    Params = ReinhardParams
    needs_stats = True

    def curve(self, y: Tensor, ctx: StageContext) -> Tensor:
        stats = context_stats(ctx)
        p = self.params
        scale = scene_key(p.auto_key, p.key, stats) / max(stats.log_average, 1e-12)
        white_nits = p.white if p.white > 0.0 else stats.maximum
        return reinhard_global(y * scale, max(white_nits * scale, 1e-6))


# Reinhard et al. 2002 section 3: alpha_1 = 1 / (2 sqrt 2), alpha_2 = 1.6 alpha_1, scales s
# growing by 1.6 from 1 pixel. The Gaussian R_i(x, y, s) = exp(-(x² + y²) / (alpha_i s)²) / (pi
# (alpha_i s)²) has standard deviation alpha_i s / sqrt 2.
ALPHA_1 = 1.0 / (2.0 * math.sqrt(2.0))
SCALE_RATIO = 1.6
# The paper's scales are pixels of images about 1000 pixels wide; they are kept proportional to
# the frame so that a half-resolution preview picks the same neighbourhoods as the export.
REFERENCE_WIDTH = 1024.0


def local_adaptation(scaled: Tensor, key: float, phi: float, epsilon: float, scales: int) -> Tensor:
    """Reinhard et al. 2002 eq. 5-9: V1 at the largest scale s_m with |V(s_m)| < epsilon.

    scaled: (1, H, W) key-scaled luminance L. V(s) = (V1(s) - V2(s)) / (2^phi a / s² + V1(s)),
    V2(s) = V1(1.6 s) because alpha_2 = 1.6 alpha_1. Returns V1(x, y, s_m(x, y)), (1, H, W).
    """
    unit = max(scaled.shape[-2:]) / REFERENCE_WIDTH
    sizes = [SCALE_RATIO**i for i in range(scales + 1)]
    blurred = [gaussian_blur(scaled, ALPHA_1 * s * unit / math.sqrt(2.0)) for s in sizes]
    chosen = blurred[scales - 1].clone()
    settled = torch.zeros_like(scaled, dtype=torch.bool)
    for i in range(scales):
        v1, v2 = blurred[i], blurred[i + 1]
        activity = (v1 - v2) / (2.0**phi * key / sizes[i] ** 2 + v1)
        # The first scale whose activity reaches epsilon ends the search at the scale before it.
        stop = ~settled & (activity.abs() >= epsilon)
        chosen = torch.where(stop, blurred[max(i - 1, 0)], chosen)
        settled |= stop
    return chosen


@dataclass(frozen=True)
class ReinhardLocalParams:
    key: float = param(0.18, 0.01, 1.0, "", "key a: display value of the log-average (0.18 = mid grey)")
    auto_key: bool = param(False, help="estimate the key from the frame (Reinhard 2002 parameter estimation)")
    phi: float = param(8.0, 1.0, 20.0, "", "sharpening parameter phi of the centre-surround activity")
    epsilon: float = param(0.05, 0.005, 0.5, "", "activity threshold epsilon of the scale selection")
    scales: int = param(8, 2, 10, "", "number of centre-surround scales (ratio 1.6 from 1 pixel)")
    color: str = color_param()
    saturation: float = saturation_param()


class ReinhardLocal(SpatialOperator):
    """Reinhard, Stark, Shirley & Ferwerda 2002, "Photographic tone reproduction", dodging and burning.

    L = a Lw / L_avg; L_d = L / (1 + V1(x, y, s_m)), where s_m is the largest centre-surround scale
    whose normalised difference stays below epsilon (eq. 5-9). Scales are in pixels of a
    1024-pixel-wide frame.
    """

    name = "reinhard-local"
    kind = "tmo"
    title = "Reinhard 2002 (local dodging and burning)"
    Params = ReinhardLocalParams

    def apply(self, frame: Tensor, ctx: StageContext) -> Tensor:
        p = self.params
        stats = with_frame_stats(frame, ctx).stats
        assert stats is not None
        key = scene_key(p.auto_key, p.key, stats)
        y = luminance(frame).clamp_min(0.0)
        scaled = y * (key / max(stats.log_average, 1e-12))
        adapted = local_adaptation(scaled, key, p.phi, p.epsilon, p.scales)
        return correct_color(frame, y, scaled / (1.0 + adapted), p.color, p.saturation)
