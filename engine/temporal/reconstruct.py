"""Keyframe reconstruction by global sampling: clues from reference frames across the shot.

Each reference is aligned to the keyframe and scaled by the measured exposure ratio
(engine.temporal.exposure.aligned_exposure), so its well-exposed pixels estimate the
keyframe's radiance, including the range the keyframe clipped. Its weight is how well the
reference measured that point (engine.temporal.exposure.unclipped_weight: the Reinhard et al.
2010 hat in the shadows, full weight up to the clip level) times the alignment confidence,
the per-pixel weighting of Debevec & Malik (1997) extended with alignment as in Kang et al.,
"High dynamic range video" (SIGGRAPH 2003).
"""

from __future__ import annotations

import torch
from torch import Tensor

from engine.constants import CODEC_CLIP_BAND_START
from engine.temporal.exposure import aligned_exposure, peak_signal, unclipped_weight
from engine.temporal.flow import warp, warp_light, warp_weight
from engine.temporal.merge import Clue
from engine.temporal.region import Region

_FLOOR_CONFIDENCE = 0.5
_DARKER_PREFERENCE = 3.0  # doublings of a reference's mix weight per stop darker than the keyframe
_NEAR_CLIP_CODES = 0.1  # code values below the clip band over which a reading's precision fades
_MIN_PRECISION = 0.05


def reference_clue(
    key: Tensor,
    key_signal: Tensor,
    reference: Tensor,
    reference_signal: Tensor,
    ev_guess: float,
    max_side: int,
    region: Region,
    initial: Tensor | None = None,
    initial_backward: Tensor | None = None,
) -> Clue:
    """What `reference` says about `key`'s radiance inside `region` of the keyframe.

    key, reference: (3, H, W) relative frames; key_signal, reference_signal: their code values.
    `ev_guess` is the reference's exposure relative to the keyframe in stops, from analysis;
    `initial` a flow key -> reference (the neighbours' flows chained) that seeds the alignment,
    and `initial_backward` the chain the other way. The clue covers `region` only.
    """
    alignment, measured_ev = aligned_exposure(key, key_signal, reference, reference_signal, ev_guess,
                                              max_side, initial, initial_backward)
    ev = ev_guess if measured_ev is None else measured_ev
    flow, confidence, origin = region.crop(alignment.flow), region.crop(alignment.confidence), region.origin
    radiance = warp_light(reference, flow, origin) * 2.0**-ev
    peak = peak_signal(reference_signal)
    measured = unclipped_weight(peak)
    # One warp carries the weight and the mix preference's precision (_mix_preference).
    # The weight is sampled as it is, not through warp_weight's 3 x 3 minimum: the weight already falls to 0
    # over the clip band, so a sample between a clipped and an unclipped pixel gets the share of
    # weight its unclipped taps carry. The minimum dropped every view of a highlight that a darker
    # frame shows only a pixel or two wide, next to pixels it clips too: glints on leaves, the
    # rim of a lamp (bench: recoverable highlights +1.0 dB).
    weight, precision = warp(torch.cat((measured, _precision(peak))), flow, origin).split(1)
    # Where the reference clipped too, or read within the last codes below white (where its
    # weight fades), and is aligned, its scaled reading bounds the key's radiance from below: a
    # near-white code is either a true reading or a clipped one that a codec lowered. That is
    # only worth more than the key's own clip in a darker frame. Only inside the area (its 3 x 3
    # erosion): a sub-pixel misalignment would otherwise lift the key's pixels next to a small
    # highlight to the highlight's level.
    inside = warp_weight((measured < 1.0).to(measured.dtype), flow, origin) > 0.99
    clipped = inside & (confidence > _FLOOR_CONFIDENCE)
    floor = torch.where(clipped, radiance, 0.0) if ev < 0.0 else None
    return Clue(radiance, weight * confidence, floor=floor, prior=_mix_preference(precision, ev))


def _precision(peak: Tensor) -> Tensor:
    """(1, H, W) in [_MIN_PRECISION, 1] from a reference's brightest code: see _mix_preference."""
    return ((CODEC_CLIP_BAND_START - peak) / _NEAR_CLIP_CODES).clamp_(_MIN_PRECISION, 1.0)


def _mix_preference(precision: Tensor, ev: float) -> Tensor:
    """(1, h, w) how much a reference counts in the keyframe's mix, against the others, from
    its warped `precision` and its exposure `ev` relative to the keyframe.

    A reading is the more reliable the further below its frame's clip the highlight sat: near
    white, a codec lowers clipped codes, 4:2:0 chroma and resampling mix a clipped neighbour in,
    and the only error left is downwards (bench, StillLife pan: a frame 0.1 EV darker than its
    keyframe read the highlights 0.28 EV low, one 1.9 EV darker 0.02 EV). So a darker frame
    counts 2^_DARKER_PREFERENCE times more per stop, and a reading within `_NEAR_CLIP_CODES` of
    the clip band fades to `_MIN_PRECISION` (bench: recoverable highlights +0.14 and +0.03 dB).
    Support is not touched: the only view of a pixel is still used.
    """
    return precision * 2.0 ** (-_DARKER_PREFERENCE * ev)
