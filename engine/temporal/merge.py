"""Merging a frame's own radiance with radiance borrowed from other frames, and the fallback.

A frame keeps every pixel it exposed well, exactly. Where it clipped, the soft over-exposure
mask of Santos et al., "Single image HDR reconstruction using a CNN with masked features and
perceptual loss" (SIGGRAPH 2020), M = 1 - min(max(0, I - τ) / (1 - τ), 1), hands the pixel over
to the clues: a weighted mean of the aligned, exposure-scaled radiance of other frames, as in
the multi-exposure merge of Debevec & Malik (1997) with weights = well-exposedness x alignment
confidence. The clipped measurement is a lower bound of the true radiance, so no estimate goes
below it, nor below a darker frame's clipped measurement of the same point, scaled by the
exposure ratio: a clipped reference still says the highlight is brighter than its clip. A
clipped pixel's other channels, where they read well below white, are measurements like the
clues', and Debevec & Malik's merge counts every well-exposed reading: they are averaged with
the clues' rather than taken as bounds.
Pixels no clue reaches take the fallback ITM operator, scaled by a gain that matches its level
to the radiance around the gap at the gap's edge, so the fill meets its surroundings without a
seam.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.color.luminance import luminance
from engine.masks import ClueSource, overexposure_mask
from engine.temporal.exposure import peak_signal
from engine.temporal.morphology import dilate, min_filter

_TINY = 1e-8
_NEGLIGIBLE = 1e-3  # a share of the fallback too small to be worth running it
_MIXED = 1e-4  # a total mix weight below this leaves the bound alone
# How far below a known lower bound a clue may read and still count: about twice the spread
# of a decoded reading near white (bench: recoverable highlights +0.03 dB).
_CONSISTENCY_EV = 0.15
# A clipped pixel's channel reading below this code, and below its brightest channel, is a
# measurement. Above it, a codec may have lowered a clipped code, so it stays a bound (bench:
# recoverable highlights +0.45 dB against the bound everywhere, as at 0.95; +0.39 at 0.8; with
# an own share of 0.5, -0.03 at 0.984, where near-white codes lose their bound).
_MEASURED_CODE = 0.9
# Such a channel's own reading counts this much in its mean with the clues' (bench: +0.12 dB at
# 0.7, +0.35 at 0.5, +0.45 at 0.3, +0.35 at 0.15, +0.06 at 0): one reading against several,
# and 4:2:0 chroma next to clipped white pulls a saturated highlight's weak channels up.
_OWN_SHARE = 0.3
# What a keyframe's fallback fill counts in a propagated frame's mix, against the same keyframe's
# measured radiance (bench: recoverable highlights +0.05 dB).
_FILL_COUNTS = 0.23
_OWN, _REFERENCE, _FALLBACK = (float(s) for s in (ClueSource.OWN, ClueSource.REFERENCE, ClueSource.FALLBACK))


@dataclass(frozen=True)
class Clue:
    """Radiance of a target frame as another frame saw it.

    radiance: (3, H, W) in the target's relative units (1.0 = the target's SDR peak).
    weight: (1, H, W) in [0, 1], how far the clue can be trusted: well-exposedness x alignment
    confidence.
    trust: (1, H, W) share of that radiance that was measured rather than filled by the
    fallback (a propagated keyframe carries its own fallback fill), or None for all measured.
    prior: how much the clue counts against the others when they are mixed, a number or a
    (1, H, W) map (the temporal weight of a keyframe; a reference's preference for darker
    frames and for readings well below its clip); it does not change how far the clue is
    trusted.
    floor: (3, H, W) radiance the target is known to reach at least, 0 where nothing is known:
    where the other frame clipped too, its clip level scaled by the exposure ratio, which for
    a darker frame lies above the target's own clip level.
    """

    radiance: Tensor
    weight: Tensor
    trust: Tensor | None = None
    prior: float | Tensor = 1.0
    floor: Tensor | None = None


@dataclass(frozen=True)
class Reconstruction:
    """A frame's radiance (relative, (3, H, W)), clue labels (1, H, W) uint8 and confidence."""

    radiance: Tensor
    labels: Tensor
    confidence: Tensor

    @property
    def nbytes(self) -> int:
        return tensor_bytes(self.radiance, self.labels, self.confidence)


def tensor_bytes(*tensors: Tensor) -> int:
    """Memory the tensors' elements take, for the caches' byte budgets."""
    return sum(t.element_size() * t.nelement() for t in tensors)


def own_reconstruction(own: Tensor) -> Reconstruction:
    """A frame that needs nothing from elsewhere: its own radiance, all labelled OWN."""
    shape = (1, *own.shape[1:])
    labels = torch.full(shape, int(ClueSource.OWN), dtype=torch.uint8, device=own.device)
    return Reconstruction(own, labels, torch.ones(shape, dtype=own.dtype, device=own.device))


def combine_clues(clues: list[Clue], full_weight: float,
                  bound: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Weighted mean radiance (3, H, W), support (1, H, W), trust (1, H, W) of the clues and
    where any of them counted in the mean ((1, H, W) boolean).

    Support is the best single clue's weight over `full_weight`, capped at 1: one sharp,
    well-exposed view is enough, and many poor views do not add up to a good one. `bound`
    (3, H, W) is the radiance the target is known to reach at least: a clue that falls short
    of it by more than `_CONSISTENCY_EV` is wrong there (a view misaligned onto a darker
    neighbour, or mixed with one by resampling) and leaves the mix, as a censored measurement
    would in a likelihood; support does not change, the bound stands in for such a view. Where
    a clue carries radiance the fallback filled (trust below 1), that share counts
    `_FILL_COUNTS` as much as measured radiance.
    """
    top = peak_signal(bound).clamp_min(_TINY)
    trusts = [c.trust if c.trust is not None else 1.0 for c in clues]
    mix = [c.prior * c.weight * _agreement(c.radiance, top) * (_FILL_COUNTS + (1.0 - _FILL_COUNTS) * t)
           for c, t in zip(clues, trusts, strict=True)]
    total = sum(mix)
    mix_sum = total.clamp_min(_TINY)
    radiance = sum(m * c.radiance for m, c in zip(mix, clues, strict=True)) / mix_sum
    trust = sum(m * t for m, t in zip(mix, trusts, strict=True)) / mix_sum
    best = torch.stack([c.weight for c in clues]).amax(dim=0)
    return radiance, (best / full_weight).clamp(0.0, 1.0), trust.clamp(0.0, 1.0), total > _MIXED


def _agreement(radiance: Tensor, top: Tensor) -> Tensor:
    """(1, H, W) 1 where the clue's brightest channel reaches the bound's, falling to 0 at
    `_CONSISTENCY_EV` short of it."""
    shortfall = torch.log2(top / peak_signal(radiance).clamp_min(_TINY))
    return (1.0 - shortfall / _CONSISTENCY_EV).clamp_(0.0, 1.0)


def compose(
    own: Tensor,
    own_signal: Tensor,
    clues: list[Clue],
    fallback: Callable[[Tensor], Tensor],
    tau: float,
    full_weight: float,
    feather_px: int,
) -> Reconstruction:
    """The frame's radiance: own where well exposed, clues where clipped, fallback where neither.

    own: (3, H, W) relative linear radiance; own_signal: its code values; fallback(needed)
    returns the fallback operator's radiance in the same relative units, valid at least where
    the (1, H, W) boolean `needed` is set, and is only called when some pixel needs it.
    """
    own_peak = peak_signal(own_signal)
    keep = overexposure_mask(own_peak, tau)
    if bool((keep >= 1.0).all()):
        return own_reconstruction(own)
    # A codec's ringing and 4:2:0 chroma pull the codes at the edge of a clipped area below
    # white, where the scene is still far brighter: each pixel keeps no more of its own value
    # than its least exposed neighbour does.
    keep = min_filter(keep)
    clipped = 1.0 - keep
    bound = own
    for clue in clues:
        if clue.floor is not None:
            bound = torch.maximum(bound, clue.floor)
    if clues:
        recovered, support, trust, mixed = combine_clues(clues, full_weight, bound)
        estimate = torch.maximum(recovered, bound)
        # The brightest channel, even below _MEASURED_CODE, stays a bound: next to clipped white,
        # 4:2:0 chroma pulls a clipped channel down as it pulls the weak ones up.
        measured = mixed & (own_signal < _MEASURED_CODE) & (own_signal < own_peak)
        estimate = torch.where(measured, _OWN_SHARE * own + (1.0 - _OWN_SHARE) * recovered, estimate)
    else:
        estimate, support, trust = own, torch.zeros_like(keep), torch.zeros_like(keep)
    unsupported = clipped * (1.0 - support)
    if float(unsupported.max()) > _NEGLIGIBLE:
        missing = unsupported > 0.5
        # Every pixel the fill reaches, and the ring around the gap its gain is measured on.
        filled = fallback(dilate(unsupported > 0.0))
        known = keep * own + clipped * estimate
        gain = fallback_gain(known, filled, missing, keep + clipped * support > 0.5, feather_px)
        estimate = support * estimate + (1.0 - support) * torch.maximum(gain * filled, bound)
    share = support * trust
    labels = torch.where(
        keep >= 0.5,
        torch.full_like(keep, _OWN),
        torch.where(share >= 0.5, torch.full_like(keep, _REFERENCE), torch.full_like(keep, _FALLBACK)),
    ).to(torch.uint8)
    return Reconstruction(keep * own + clipped * estimate, labels, keep + clipped * share)


def fallback_gain(known: Tensor, filled: Tensor, missing: Tensor, valid: Tensor, feather_px: int) -> Tensor:
    """(1, H, W) gain that blends a fallback fill into its surroundings without a seam.

    On the gap's edge the gain is known / filled, measured on the valid pixels that touch the
    gap and spread over it by pull-push interpolation (Gortler et al., "The Lumigraph",
    SIGGRAPH 1996, §3.4), so the fill starts at the level of its neighbours. Over `feather_px`
    pixels into the gap it fades, in the log domain, back to 1: away from the edge the
    fallback's own level, and its expansion of the highlight, take over.
    """
    ring = dilate(missing) & ~missing & valid
    y_known, y_filled = luminance(known), luminance(filled)
    ring &= (y_known > _TINY) & (y_filled > _TINY)
    if not bool(ring.any()):
        return torch.ones_like(y_known)
    log_ratio = torch.log(y_known.clamp_min(_TINY) / y_filled.clamp_min(_TINY))
    log_gain = pull_push(torch.where(ring, log_ratio, 0.0), ring.to(log_ratio.dtype))
    depth = _depth(missing, feather_px).to(log_gain.device, log_gain.dtype)
    return torch.exp(log_gain * (1.0 - depth / feather_px))


def _depth(mask: Tensor, limit: int) -> Tensor:
    """(1, H, W) how many 3 x 3 erosions each pixel of `mask` survives, at most `limit`.

    That is its chessboard distance to the nearest pixel outside the mask, less one (the
    frame's border does not count as outside), which a two-pass distance transform (Borgefors,
    "Distance transformations in digital images", CVGIP 1986) gives at the cost of two erosions.
    """
    image = np.ascontiguousarray(mask[0].to("cpu", torch.uint8).numpy())
    if image.all():  # no pixel outside: the transform would have nothing to measure from
        return torch.full(mask.shape, float(limit))
    distance = cv2.distanceTransform(image, cv2.DIST_C, 3)
    return torch.from_numpy(distance).unsqueeze(0).sub_(1.0).clamp_(0.0, float(limit))


def pull_push(values: Tensor, weights: Tensor) -> Tensor:
    """Fill (1, H, W) `values` where `weights` is 0 from the weighted values around them.

    Gortler et al. 1996 pull-push: halve the resolution with weighted means until every pixel
    has support, then go back up, keeping each level's own values where they had support.
    """
    if min(values.shape[-2:]) <= 1 or bool((weights > 0).all()):
        return values
    pulled_w = tnf.avg_pool2d(weights.unsqueeze(0), 2, ceil_mode=True).squeeze(0)
    pulled_v = tnf.avg_pool2d((values * weights).unsqueeze(0), 2, ceil_mode=True).squeeze(0)
    coarse = pull_push(pulled_v / pulled_w.clamp_min(_TINY), pulled_w)
    up = tnf.interpolate(coarse.unsqueeze(0), size=values.shape[-2:], mode="bilinear", align_corners=False)
    own = weights.clamp(0.0, 1.0)
    return own * values + (1.0 - own) * up.squeeze(0)
