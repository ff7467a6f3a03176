"""Local propagation: a frame between two keyframes borrows their reconstructed radiance.

Every frame keeps its own well-exposed pixels; its clipped pixels take the radiance of the two
nearest reconstructed keyframes, flow-warped, scaled by the exposure ratio that analysis chained
from neighbouring frames, and mixed by temporal distance (linear interpolation weights) and
alignment confidence. Because both neighbours contribute with weights that change linearly in
time, a highlight's level glides from one keyframe's estimate to the next instead of jumping:
no flicker at keyframe changes.

The flow to a keyframe is not computed afresh: it is the chain of the neighbouring frames'
flows that analysis already measured (engine.temporal.flow.compose_flows), checked forward
against backward (Sundaram et al. 2010) and refined by one flow on thumbnails, so a frame costs
warps, not full-size optical flow.
"""

from __future__ import annotations

from torch import Tensor

from engine.temporal.flow import Alignment, forward_backward_confidence, inside_frame, warp_light, warp_weight
from engine.temporal.merge import Clue, Reconstruction


def temporal_weights(index: int, before: int, after: int) -> tuple[float, float]:
    """Linear interpolation weights of the keyframes at `before` <= index <= `after`."""
    if after == before:
        return 1.0, 0.0
    t = (index - before) / (after - before)
    return 1.0 - t, t


def chained_alignment(forward: Tensor, backward: Tensor) -> Alignment:
    """Alignment from chained low-resolution flows frame -> key and back, on their grid.

    The confidence is their forward-backward consistency, zero where the flow leaves the frame.
    """
    confidence = forward_backward_confidence(forward, backward) * inside_frame(forward)
    return Alignment(forward, confidence.clamp(0.0, 1.0), backward)


def keyframe_clue(
    key: Reconstruction, flow: Tensor, confidence: Tensor, ev: float, temporal_weight: float,
    origin: tuple[int, int] = (0, 0),
) -> Clue:
    """What a reconstructed keyframe says about a frame's radiance, over a rectangle of the frame.

    flow: (2, h, w) frame -> keyframe for the rectangle whose first pixel is at `origin`;
    confidence: (1, h, w) its alignment confidence; ev: the keyframe's exposure relative to
    the frame in stops.
    """
    device = key.radiance.device
    flow, confidence = flow.to(device), confidence.to(device)
    radiance = warp_light(key.radiance, flow, origin) * 2.0**-ev
    trust = warp_weight(key.confidence, flow, origin)
    return Clue(radiance, confidence, trust=trust, prior=temporal_weight)
