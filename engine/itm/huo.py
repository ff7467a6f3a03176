"""The retina-response expansion of Huo, Yang, Dong & Brost 2014."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from engine.color.correction import correct_color
from engine.color.luminance import luminance
from engine.filters import bilateral_grid
from engine.itm.base import frame_stats
from engine.operators.base import SpatialOperator, StageContext
from engine.params import param

# The two passes of the paper's iterated bilateral filter: (spatial sigma in pixels at 1080
# lines, range sigma in SDR-relative luminance).
LOCAL_ADAPTATION_PASSES = ((16.0, 0.3), (10.0, 0.1))
REFERENCE_LINES = 1080.0


def huo_expand(
    lum: Tensor, local: Tensor, log_average: float, maximum: float, peak: float, n: float
) -> Tensor:
    """Huo et al. 2014, inverse of the Naka-Rushton retina response R = I^n / (I^n + sigma^n):

    L_out = (L / L_max) * (L_local^n + sigma^n)^(1/n), with the local adaptation L_local and the
    global one sigma = peak * log-average luminance both scaled to the output range.
    """
    sigma = peak * log_average
    local_nits = peak * local.clamp_min(0.0)
    return (lum / maximum) * (local_nits**n + sigma**n) ** (1.0 / n)


@dataclass(frozen=True)
class HuoParams:
    n: float = param(0.86, 0.3, 2.0, "", "retina response exponent (0.86 in the paper)")


class Huo(SpatialOperator):
    """Huo, Yang, Dong & Brost 2014, "Physiological inverse tone mapping based on retina
    response" (The Visual Computer, 2014).

    Each pixel's luminance is expanded by the inverse retina response, adapted locally (two
    passes of a bilateral filter, sigmas 16 and 10 px with range 0.3 and 0.1) and globally (the
    log average). Spatial sigmas are given at 1080 lines and scale with the frame. The result
    is limited to the target peak.
    """

    name = "huo"
    kind = "itm"
    title = "Huo 2014 retina response"
    Params = HuoParams
    needs_stats = True

    def apply(self, frame: Tensor, ctx: StageContext) -> Tensor:
        stats = frame_stats(frame, ctx)
        y = torch.nan_to_num(luminance(frame), nan=0.0, posinf=1.0).clamp(0.0, 1.0)
        scale = frame.shape[-2] / REFERENCE_LINES
        local = y
        for sigma_spatial, sigma_range in LOCAL_ADAPTATION_PASSES:
            local = bilateral_grid(local, max(sigma_spatial * scale, 1.0), sigma_range)
        out = huo_expand(y, local, stats.log_average, max(stats.maximum, 1e-6), ctx.peak_nits, self.params.n)
        return correct_color(frame, y, out.clamp(0.0, ctx.peak_nits))
