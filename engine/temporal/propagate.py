"""Local propagation: a frame between two keyframes borrows their reconstructed radiance.

Every frame keeps its own well-exposed pixels; its clipped pixels take the radiance of the two
nearest reconstructed keyframes, flow-warped, scaled by the measured exposure ratio and mixed
by temporal distance (linear interpolation weights) and alignment confidence. Because both
neighbours contribute with weights that change linearly in time, a highlight's level glides
from one keyframe's estimate to the next instead of jumping: no flicker at keyframe changes.

The flow to a keyframe is not computed afresh: it is the chain of the neighbouring frames'
flows that analysis already measured (engine.temporal.flow.compose_flows), checked forward
against backward (Sundaram et al. 2010), so a frame costs warps, not optical flow.
"""

from __future__ import annotations

from torch import Tensor
from torch.nn import functional as tnf

from engine.temporal.exposure import matched_exposure
from engine.temporal.flow import (
    Alignment,
    forward_backward_confidence,
    inside_frame,
    resize_flow,
    warp,
    warp_weight,
)
from engine.temporal.merge import Clue, Reconstruction


def temporal_weights(index: int, before: int, after: int) -> tuple[float, float]:
    """Linear interpolation weights of the keyframes at `before` <= index <= `after`."""
    if after == before:
        return 1.0, 0.0
    t = (index - before) / (after - before)
    return 1.0 - t, t


def chained_alignment(forward: Tensor, backward: Tensor, size: tuple[int, int]) -> Alignment:
    """Alignment at full size (H, W) from chained low-resolution flows frame -> key and back.

    forward, backward: (2, h, w) flows on the same low-resolution grid; the confidence is their
    forward-backward consistency there, zero where the flow leaves the frame.
    """
    confidence = forward_backward_confidence(forward, backward) * inside_frame(forward)
    confidence = tnf.interpolate(confidence.unsqueeze(0), size=size, mode="bilinear", align_corners=True)
    return Alignment(resize_flow(forward, size), confidence.squeeze(0).clamp(0.0, 1.0),
                     resize_flow(backward, size))


def keyframe_clue(
    frame: Tensor,
    frame_signal: Tensor,
    key: Reconstruction,
    key_source: Tensor,
    key_signal: Tensor,
    alignment: Alignment,
    ev_guess: float,
    temporal_weight: float,
) -> Clue:
    """What a reconstructed keyframe says about `frame`'s radiance.

    frame, key_source: (3, H, W) relative radiance of the frame and of the keyframe's own
    source; frame_signal, key_signal: their code values; alignment: frame -> keyframe;
    ev_guess: the keyframe's exposure relative to the frame in stops, from analysis, refined
    here on the matched pixels.
    """
    alignment = Alignment(alignment.flow.to(frame.device), alignment.confidence.to(frame.device),
                          alignment.backward.to(frame.device))
    ev = matched_exposure(frame, frame_signal, key_source, key_signal, alignment, ev_guess)
    radiance = warp(key.radiance, alignment.flow) * 2.0**-ev
    trust = warp_weight(key.confidence, alignment.flow)
    return Clue(radiance, alignment.confidence, trust=trust, prior=temporal_weight)
