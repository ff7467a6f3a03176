"""Well-exposedness weights and the relative exposure of two frames.

The weights follow Reinhard et al., "High Dynamic Range Imaging" (2nd ed., 2010), §4.1, the
hat w(x) = 1 - (2x - 1)^12 on the camera's code value: flat over the mid-tones, zero at black
(noise, quantisation) and at white (clipping).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.color.luminance import luminance
from engine.constants import CODEC_CLIP_BAND_START
from engine.temporal.flow import (
    Alignment,
    align,
    forward_backward_confidence,
    inside_frame,
    resize_confidence,
    resize_flow,
    warp,
    warp_light,
)
from engine.temporal.morphology import dilate

_CLIP_BAND = 1.0 - CODEC_CLIP_BAND_START
# Pixels that vote on a ratio, tried in turn until enough qualify: (whether the floor applies to
# the brightest channel rather than the darkest, floor, ceiling), in code values; below the floor
# lie noise and quantisation, above the ceiling clipping. First, every channel clears the floor
# and no channel nears white: a codec's ringing and 4:2:0 chroma lower the clipped codes next to
# a clipped area. A frame of saturated colours (a dark channel everywhere) or of bright sky may
# hold no such pixel; then the brightest channel clearing the floor, which keeps luminance well
# above the noise, and codes up to the clip band have to do.
_RATIO_TIERS = ((False, 0.15, 0.92), (True, 0.15, CODEC_CLIP_BAND_START))
_MIN_RATIO_PIXELS = 32
_REALIGN_EV = 0.25
_MAX_UNCONFIRMED_EV = 1.0  # how far from the guess a ratio of unconfirmed matches may land
_SELECTION_BOX = 5  # px: pixels are picked on their neighbourhood, which noise barely moves
_RATIO_SIDE = 256  # px: the long side exposure ratios are measured at


def peak_signal(signal: Tensor) -> Tensor:
    """(3, H, W) -> (1, H, W): the largest channel, the first one to clip."""
    return signal.amax(dim=0, keepdim=True)


def well_exposedness(signal: Tensor) -> Tensor:
    """Reinhard et al. 2010 hat weight 1 - (2x - 1)^12 of the largest channel -> (1, H, W)."""
    x = peak_signal(signal).clamp(0.0, 1.0) if signal.shape[0] == 3 else signal.clamp(0.0, 1.0)
    return 1.0 - _twelfth_power(2.0 * x - 1.0)


def _twelfth_power(u: Tensor) -> Tensor:
    """u¹² by squaring: four products, where a general power costs an exp and a log per sample."""
    u4 = (u * u).square_()
    return u4 * u4.square()


def unclipped_weight(signal: Tensor) -> Tensor:
    """How well code values (3, H, W), or their brightest channel (1, H, W), measure radiance
    above another frame's clip -> (1, H, W).

    Below mid-grey it is the Reinhard et al. 2010 hat (noise and quantisation grow towards
    black). Above, a value is an accurate measurement right up to the clip level, where it
    becomes a lower bound only; the hat's fall over the top quarter of the range would throw
    away the only view of a highlight that a slightly darker frame records just below white,
    so the weight falls only over the last `_CLIP_BAND` of code values.
    """
    x = peak_signal(signal).clamp(0.0, 1.0)
    dark = 1.0 - _twelfth_power(2.0 * x.clamp_max(0.5) - 1.0)
    return dark * ((1.0 - x) / _CLIP_BAND).clamp(0.0, 1.0)


def relative_exposure(
    a: Tensor,
    b: Tensor,
    a_signal: Tensor,
    b_signal: Tensor,
    confidence: Tensor | None = None,
) -> float | None:
    """Exposure of frame b relative to frame a in stops (EV): b ≈ a · 2^EV.

    The robust estimate is the median of log2(Y_b / Y_a) over pixels that are well exposed in
    both frames (and aligned, where `confidence` says so), as in the ratio step of Mitsunaga &
    Nayar, "Radiometric self calibration" (CVPR 1999). `a`, `b` are linear (3, H, W) frames on
    the same pixel grid; returns None when too few pixels qualify.

    Pixels are picked on their neighbourhood, not on their own noisy values: a pick on noisy
    values keeps, near the span's ends, the pixels whose noise pushed them inwards, which
    biases every ratio towards 1 (0 EV), and the bias adds up along a chain. A pixel qualifies
    when its neighbourhood's mean clears the noise floor and none of its neighbours nears the
    clip level: the pixels around a clipped area, which a codec, a resampler or a warp mixes
    with it, hold lower bounds and would vote for too small a ratio.
    """
    for tier in _RATIO_TIERS:
        ya, yb = _brightest_channel(a, b) if tier[0] else (luminance(a), luminance(b))
        valid = _mid_tones(a_signal, *tier) & _mid_tones(b_signal, *tier) & (ya > 0) & (yb > 0)
        if confidence is not None:
            valid &= confidence > 0.5
        if int(valid.sum()) >= _MIN_RATIO_PIXELS:
            return float(torch.median(torch.log2(yb[valid] / ya[valid])))
    return None


def _brightest_channel(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """(1, H, W) each: the channel that is brightest in both frames together, per pixel.

    Where only the brightest channel clears the noise floor (saturated colours), luminance
    mixes in channels near black, whose noise the clip at 0 only lifts, in the darker frame
    more: on the bench's StillLife pan that pulled a keyframe's far ratios 0.05–0.09 EV
    towards 0. The channel is chosen on the sum, so neither frame's noise picks it.
    """
    channel = (a + b).argmax(dim=0, keepdim=True)
    return a.gather(0, channel), b.gather(0, channel)


def _mid_tones(signal: Tensor, brightest: bool, floor: float, ceiling: float) -> Tensor:
    """(1, H, W): pixels whose neighbourhood's mean darkest (or `brightest`) channel reaches
    `floor` and none of whose neighbours' channels exceeds `ceiling`."""
    box, pad = _SELECTION_BOX, _SELECTION_BOX // 2
    level = signal.amax(dim=0, keepdim=True) if brightest else signal.amin(dim=0, keepdim=True)
    mean = tnf.avg_pool2d(level.unsqueeze(0), box, stride=1, padding=pad, count_include_pad=False).squeeze(0)
    near_clip = dilate(peak_signal(signal) > ceiling, pad)
    return (mean >= floor) & ~near_clip


def aligned_exposure(
    a: Tensor, a_signal: Tensor, b: Tensor, b_signal: Tensor, ev_guess: float, max_side: int,
    initial: Tensor | None = None, initial_backward: Tensor | None = None,
) -> tuple[Alignment, float | None]:
    """Align b to a and measure b's exposure relative to a on the matched pixels.

    The flow needs the exposure to normalise the frames and the exposure needs the flow to
    match pixels, so a first flow uses `ev_guess` and is redone once if the measured exposure
    moved by more than a quarter stop. `initial` and `initial_backward` seed the flow both ways
    (see engine.temporal.flow.align).
    Returns the alignment and the EV (b ≈ a · 2^EV), None where no pixel pair could measure it.
    """
    alignment = align(a, b, ev_guess, max_side, initial, initial_backward)
    ev = matched_exposure(a, a_signal, b, b_signal, alignment, ev_guess)
    if ev is not None and abs(ev - ev_guess) > _REALIGN_EV:
        alignment = align(a, b, ev, max_side, alignment.flow, alignment.backward)
        ev = matched_exposure(a, a_signal, b, b_signal, alignment, ev)
    return alignment, ev


def fill_unmeasured(steps: Sequence[float | None]) -> list[float]:
    """Frame-to-frame EV steps of one shot with the unmeasured ones (None) filled in.

    A frame of bright sky can hold no pixel that measures a ratio. Auto exposure changes slowly
    and smoothly, so a run of unmeasured steps takes the rate interpolated linearly between the
    measured steps on either side of it, or the one side's rate at the shot's ends; taking 0
    instead stalls the chain while the camera goes on adapting. A shot with nothing measured
    keeps its exposure.
    """
    known = [i for i, step in enumerate(steps) if step is not None]
    if not known:
        return [0.0] * len(steps)
    rates = [step for step in steps if step is not None]
    return [float(v) for v in np.interp(np.arange(len(steps)), known, rates)]


def matched_exposure(a: Tensor, a_signal: Tensor, b: Tensor, b_signal: Tensor, alignment: Alignment,
                     guess: float) -> float | None:
    """EV of b relative to a over the pixels `alignment` matches; None when none qualify.

    An exposure ratio is one number for the whole frame pair, so it is measured on frames of at
    most `_RATIO_SIDE` pixels (see `_ratio_frames`); the alignment may be at any resolution.
    """
    a, a_signal = _ratio_frames(a, a_signal)
    b, b_signal = _ratio_frames(b, b_signal)
    size = (a.shape[-2], a.shape[-1])
    flow, confidence = resize_flow(alignment.flow, size), resize_confidence(alignment.confidence, size)
    seen, seen_signal = warp_light(b, flow), warp(b_signal, flow)
    ev = relative_exposure(a, seen, a_signal, seen_signal, confidence)
    if ev is None:
        # A poor guess also fails the photometric part of the confidence everywhere; where the
        # flow itself is consistent both ways, its matches still give a median, which the second
        # pass refines. Where it is not (frames that barely overlap), the matches pair unrelated
        # pixels, whose median landed 0.8 EV off on the bench: nothing is measured there.
        backward = resize_flow(alignment.backward, size)
        geometric = forward_backward_confidence(flow, backward) * inside_frame(flow)
        ev = relative_exposure(a, seen, a_signal, seen_signal, geometric)
        if ev is not None and abs(ev - guess) > _MAX_UNCONFIRMED_EV:
            ev = None
    return ev


def _ratio_frames(frame: Tensor, signal: Tensor) -> tuple[Tensor, Tensor]:
    """A frame (3, H, W) and its code values reduced to at most `_RATIO_SIDE` pixels: block means
    for the light, which keep its ratios; for the code values, the mean of the darkest channel
    (the noise floor test) and the block maximum of the brightest (so a block touching a
    clipped pixel counts as clipped). Frames that small already are returned as they are.
    """
    h, w = frame.shape[-2:]
    # A whole number of pixels per block: every block then weighs its pixels alike, and the
    # reduction costs a fraction of a fractional one.
    factor = math.ceil(max(h, w) / _RATIO_SIDE)
    if factor == 1:
        return frame, signal
    size = (max(8, h // factor), max(8, w // factor))
    return _area(frame, size), reduced_signal(signal, size)


def _area(frame: Tensor, size: tuple[int, int]) -> Tensor:
    return tnf.adaptive_avg_pool2d(frame.unsqueeze(0), size).squeeze(0)


def reduced_signal(signal: Tensor, size: tuple[int, int]) -> Tensor:
    """(3, H, W) code values -> (2, h, w): block mean of the darkest channel, block maximum of the
    brightest. _mid_tones and peak_signal read a pixel's darkest and brightest channel, and
    the mean never exceeds the maximum, so they read these two as they read the full frame.
    The second ratio tier's floor on the brightest channel reads the block maximum: a looser
    noise guard than a block mean, on light that is a block mean all the same."""
    low = _area(signal.amin(dim=0, keepdim=True), size)
    high = tnf.adaptive_max_pool2d(peak_signal(signal).unsqueeze(0), size).squeeze(0)
    return torch.cat((low, high))
