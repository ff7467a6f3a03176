"""Gamma expansion driven by the image key: Masia et al. 2009 and its 2017 multilinear model."""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor

from engine.itm.base import StatisticalCurveOperator, context_stats
from engine.operators.base import StageContext
from engine.params import param
from engine.stats import FrameStats

# The fits leave the range they were made on for normally exposed, low-key frames: the 2009 line
# falls below 1 for keys under 0.7 and below 0 (an inverted picture) under 0.6. Below gamma 1 the
# curve would lift shadows above a linear stretch, the opposite of an expansion.
GAMMA_LIMITS = (1.0, 10.0)


def image_key(stats: FrameStats) -> float:
    """Akyüz & Reinhard 2006 key: (ln L_avg - ln L_min) / (ln L_max - ln L_min), in [0, 1].

    L_min and L_max are the low and high percentiles of the frame (robust to stray pixels); a
    frame without contrast has no key and gets the middle one, 0.5.
    """
    lo, hi = math.log(stats.minimum), math.log(stats.peak)
    if hi - lo < 1e-6:
        return 0.5
    return min(max((math.log(stats.log_average) - lo) / (hi - lo), 0.0), 1.0)


def masia09_gamma(key: float, a: float = 10.44, b: float = -6.282) -> float:
    """Masia et al. 2009: gamma = a k + b, fitted to the preferred gamma of observers."""
    return a * key + b


def masia17_gamma(log_average: float, key: float, overexposed_percent: float) -> float:
    """Masia, Serrano & Gutierrez 2017, multilinear fit:
    gamma = 2.4379 + 0.2319 ln L_avg - 1.1228 k + 0.0085 p_ov, p_ov in percent of pixels."""
    return 2.4379 + 0.2319 * math.log(log_average) - 1.1228 * key + 0.0085 * overexposed_percent


def gamma_expand(y: Tensor, peak: float, gamma: float) -> Tensor:
    """L = peak * Y^gamma (Y SDR-relative, clipped to [0, 1]), gamma held within GAMMA_LIMITS."""
    g = min(max(gamma, GAMMA_LIMITS[0]), GAMMA_LIMITS[1])
    return peak * y.clamp(0.0, 1.0) ** g


@dataclass(frozen=True)
class Masia09Params:
    a: float = param(10.44, 0.0, 30.0, "", "slope of gamma over the image key")
    b: float = param(-6.282, -20.0, 5.0, "", "offset of gamma")


class Masia09(StatisticalCurveOperator):
    """Masia, Agustin, Fleming, Sorkine & Gutierrez 2009, "Evaluation of reverse tone mapping
    through varying exposure conditions" (ACM TOG 28(5)).

    L = peak * Y^gamma with gamma = 10.44 k - 6.282 from the image key k, so over-exposed (high
    key) frames get a steeper expansion that restores detail in their bright areas.
    """

    name = "masia09"
    kind = "itm"
    title = "Masia 2009 key-driven gamma"
    Params = Masia09Params

    def gamma(self, stats: FrameStats) -> float:
        return masia09_gamma(image_key(stats), self.params.a, self.params.b)

    def curve(self, y: Tensor, ctx: StageContext) -> Tensor:
        return gamma_expand(y, ctx.peak_nits, self.gamma(context_stats(ctx)))


class Masia17(StatisticalCurveOperator):
    """Masia, Serrano & Gutierrez 2017, "Dynamic range expansion based on image statistics"
    (Multimedia Tools and Applications).

    L = peak * Y^gamma with gamma from the multilinear model in the log average, the key and the
    share of over-exposed pixels (here: luminance at or above 0.95 of SDR peak).
    """

    name = "masia17"
    kind = "itm"
    title = "Masia 2017 multilinear gamma"

    def gamma(self, stats: FrameStats) -> float:
        return masia17_gamma(stats.log_average, image_key(stats), 100.0 * stats.clipped_fraction)

    def curve(self, y: Tensor, ctx: StageContext) -> Tensor:
        return gamma_expand(y, ctx.peak_nits, self.gamma(context_stats(ctx)))
