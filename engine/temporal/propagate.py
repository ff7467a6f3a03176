"""Local propagation: a frame between two keyframes borrows their reconstructed radiance.

Every frame keeps its own well-exposed pixels; its clipped pixels take the radiance of the two
nearest reconstructed keyframes, flow-warped, scaled by the measured exposure ratio and mixed
by temporal distance (linear interpolation weights) and alignment confidence. Because both
neighbours contribute with weights that change linearly in time, a highlight's level glides
from one keyframe's estimate to the next instead of jumping: no flicker at keyframe changes.
"""

from __future__ import annotations

from torch import Tensor

from engine.temporal.exposure import aligned_exposure
from engine.temporal.flow import warp, warp_weight
from engine.temporal.merge import Clue, Reconstruction


def temporal_weights(index: int, before: int, after: int) -> tuple[float, float]:
    """Linear interpolation weights of the keyframes at `before` <= index <= `after`."""
    if after == before:
        return 1.0, 0.0
    t = (index - before) / (after - before)
    return 1.0 - t, t


def keyframe_clue(
    frame: Tensor,
    frame_signal: Tensor,
    key: Reconstruction,
    key_source: Tensor,
    key_signal: Tensor,
    ev_guess: float,
    temporal_weight: float,
    max_side: int,
) -> Clue:
    """What a reconstructed keyframe says about `frame`'s radiance.

    frame, key_source: (3, H, W) relative radiance of the frame and of the keyframe's own
    source; frame_signal, key_signal: their code values; ev_guess: the keyframe's exposure
    relative to the frame in stops, from analysis.
    """
    alignment, ev = aligned_exposure(frame, frame_signal, key_source, key_signal, ev_guess, max_side)
    radiance = warp(key.radiance, alignment.flow) * 2.0**-ev
    trust = warp_weight(key.confidence, alignment.flow)
    return Clue(radiance, alignment.confidence, trust=trust, prior=temporal_weight)
