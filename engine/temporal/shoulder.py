"""The top of the declared transfer, re-measured from the clip's own exposure changes.

A camera's metadata names a transfer, but filmic and log cameras compress their highlights into
the top codes far more than the curve they declare (`docs/evaluation.md`, items 4 and 10): read
through the tag, a highlight a darker frame shows just below its clip comes out stops too dim.
A single frame cannot tell (item 11); two frames of one scene at different exposures can. For a
correct inverse response g and two aligned frames whose exposures differ by k, g(a) = k g(b) at
every pixel that reads b in the darker frame and a in the brighter one: Mann and Picard's
comparametric equation ("On being 'undigital' with digital cameras", IS&T 1995), the
constraint Debevec and Malik's gsolve (SIGGRAPH 1997) solves for the whole curve.

Whole-curve fits on moving, compressed clips are several stops off (item 8): two frames and no
prior on the curve's shape. Here the declared curve is the prior. It is trusted up to the mid
code `_KNEE`, where k is measured, and only a correction h above it is solved for:
g = g_declared · h, with ln h piecewise linear on knots every `_KNOT_STEP` codes, 0 at the knee,
a second-difference smoothness term as in gsolve, and a ridge towards the declared curve (h = 1)
that the clip's evidence has to outweigh. A clip whose exposure never moves gives no evidence
and keeps its declared curve exactly. The exposure ratio and the curve's exponent cannot both
be known from the frames (Grossberg and Nayar 2003, below), so the correction is only as right
as the declared mid-tones: it is measured for `MEASURED_TRANSFERS` only.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.constants import CODEC_CLIP_BAND_START
from engine.jobs import CancelToken
from engine.temporal.analysis import ClipAnalysis
from engine.temporal.exposure import aligned_exposure, peak_signal
from engine.temporal.flow import forward_backward_confidence, inside_frame, warp, warp_light
from engine.temporal.morphology import dilate

SourceDecode = Callable[[int], tuple[Tensor, Tensor]]  # frame -> (linear light, codes), same primaries

# Source transfers whose mid-tones are the camera's own, so that a top can be measured against
# them: sRGB and gamma cameras record through the curve they declare, up to a look's shoulder.
# BT.709-tagged footage is not read so: BT.1886 decodes it through the SDR system's OOTF, and
# the camera reading through a knee-less OETF that an S-curve camera does not follow. Measured
# against wrong mid-tones, the top comes out wrong by their exponent, often in the wrong
# direction (docs/evaluation.md, item 14).
MEASURED_TRANSFERS = ("srgb", "gamma")

_KNEE = 0.5  # code value up to which the declared transfer is trusted
_KNOT_STEP = 0.1
_FLOOR = 0.12  # codes below this are too noisy and too coarsely quantised to compare
_CEILING = 0.95  # codes above this may be clipped ones that a codec lowered
_MIN_EV = 0.15  # pairs closer in exposure than this constrain the top too weakly
_MAX_APART = 24  # frames: further apart, motion leaves too little of the frame aligned
_PAIRS = 4
_MIN_PAIRS = 2  # one pair's misalignment can look like a curve; two must agree
_CANDIDATES = 12  # pairs tried, widest first, until `_PAIRS` of them align
_MIN_ALIGNED = 0.1  # share of the frame a pair must align to count
_CONFIDENCE = 0.9  # forward-backward agreement of the flow a pixel needs to count
_SHAPE_BOX = 5  # px: the window over which two frames' shapes are compared
_MIN_CORRELATION = 0.8
_FLAT_LOG_SD = 0.03  # ln luminance: windows this flat in both frames are alike whatever the flow
_LOG_FLOOR = 1e-4  # linear light: black has no log
_SIDE = 480  # px: pairs are compared at most this size
_QUANTILES = 256
_MIN_SAMPLES = 8  # quantiles a pair needs below and above the knee to count
_SMOOTHNESS = 0.2
_RIDGE = 0.01
_HUBER = 0.1  # ln units: residuals beyond this count linearly, not squared
_TABLE = 256
_MAX_FALL = 0.15  # ln h per knot step
# px of the coded frame: a transform block (H.264's 8 x 8), over which a codec spreads a clipped
# area into its surroundings (`near_clipped`).
_CODEC_REACH_PX = 8
_REWEIGHTINGS = 4


def choose_pairs(shots: Sequence[range], log_exposures: Sequence[float]) -> list[tuple[int, int]]:
    """Up to `_CANDIDATES` (darker, brighter) frame pairs of one shot, at most `_MAX_APART` frames apart,
    the widest exposure differences first, no frame used twice."""
    pairs = ((abs(log_exposures[j] - log_exposures[i]), i, j)
             for shot in shots for i in shot for j in range(i + 1, min(i + _MAX_APART, shot.stop - 1) + 1))
    # An hour of footage holds two million such pairs; only the widest can be chosen. A frame
    # lies in at most 2 `_MAX_APART` pairs, so each chosen pair blocks at most 4 `_MAX_APART`
    # others, and the greedy choice below never reaches past this many of the widest.
    widest = heapq.nlargest(_CANDIDATES * (4 * _MAX_APART + 1), pairs, key=lambda p: p[0])
    chosen: list[tuple[int, int]] = []
    used: set[int] = set()
    for gap, i, j in widest:
        if gap < _MIN_EV or len(chosen) == _CANDIDATES:
            break
        if i in used or j in used:
            continue
        used.update((i, j))
        chosen.append((i, j) if log_exposures[i] < log_exposures[j] else (j, i))
    return chosen


def pair_samples(dark: Tensor, dark_code: Tensor, bright: Tensor, bright_code: Tensor, ev_guess: float,
                 flow_side: int, *seeds: Tensor) -> tuple[Tensor, Tensor, Tensor] | None:
    """Corresponding readings of a darker and a brighter frame of one scene.

    dark, bright: (3, H, W) linear light through the declared transfer, in the source's own
    primaries (the transfer acts per channel there); *_code: their code values; ev_guess: the
    brighter frame's exposure over the darker's, in stops; seeds: flows darker -> brighter and
    back that start the alignment. Returns the darker code, the brighter code and
    ln(L_bright / L_dark) of the declared light at `_QUANTILES` quantiles of each channel over
    the pixels both frames show, or None where the pair cannot be aligned.

    Corresponding readings come from matching the two frames' histograms over the same aligned
    pixels, not from the pixels one by one: noise and codec error in both readings make a
    per-pixel fit regress towards the mean (Grossberg and Nayar, "Determining the camera
    response from images: what is knowable?", IEEE PAMI 2003, §5, on histogram matching).
    Each channel's light is a monotone function of its code, so the same quantile of both gives
    the declared light at that code.

    Which pixels count must not depend on the ratio being measured. The alignment's confidence
    also asks the two frames to agree in level at the guessed ratio, within 0.16 ln (a quarter
    of a stop); pixels chosen so measure the guess back (docs/evaluation.md, item 28) and leave
    out the top samples whose ratio the shoulder bends away from it. A pixel counts where the
    flow agrees both ways and the two frames agree in shape (`alike_in_shape`).
    """
    factor = _reduction(dark)
    frames = (_reduced(t, factor) for t in (dark, dark_code, bright, bright_code))
    dark, dark_code, bright, bright_code = frames
    alignment, _ = aligned_exposure(dark, dark_code, bright, bright_code, ev_guess, flow_side, *seeds)
    seen, seen_code = warp_light(bright, alignment.flow), warp(bright_code, alignment.flow)
    # Flow agreement both ways, counted only inside the frame.
    geometric = forward_backward_confidence(alignment.flow, alignment.backward) * inside_frame(alignment.flow)
    usable = (geometric > _CONFIDENCE) & alike_in_shape(dark, seen)
    for code in (dark_code, seen_code):
        usable &= ~near_clipped(code, factor)
    usable = usable[0]
    if int(usable.sum()) < max(_QUANTILES, _MIN_ALIGNED * usable.numel()):
        return None
    levels = torch.linspace(0.0, 1.0, _QUANTILES, dtype=dark.dtype)
    low, high, ratio = [], [], []
    for c in range(3):
        x, lx, y, ly = (_quantiles(t[c][usable], levels) for t in (dark_code, dark, seen_code, seen))
        keep = (x >= _FLOOR) & (y <= _CEILING) & (y > x) & (lx > 0) & (ly > 0)
        low.append(x[keep])
        high.append(y[keep])
        ratio.append(torch.log(ly[keep] / lx[keep]))
    return torch.cat(low), torch.cat(high), torch.cat(ratio)


def near_clipped(code: Tensor, factor: int) -> Tensor:
    """(1, H, W): pixels of a frame's codes (3, H, W), reduced by `factor`, that lie within a codec
    transform block (`_CODEC_REACH_PX` of the coded frame) of a clipped pixel, or whose shape
    window (`alike_in_shape`) reaches that far.

    A codec spreads a clipped area into its surroundings over a block, so codes that were clipped
    come out below the ceiling there, and such readings bend the top the shoulder fits. Counted
    in pixels of the frame compared, a fixed margin of 2 covered a block at 1080p (reduced 4-fold)
    but a quarter of one on a frame coded at 480 px or less (docs/evaluation.md, item 29).
    """
    margin = -(-_CODEC_REACH_PX // factor) + _SHAPE_BOX // 2
    return dilate(peak_signal(code) >= CODEC_CLIP_BAND_START, margin)


def alike_in_shape(dark: Tensor, seen: Tensor) -> Tensor:
    """(1, H, W): pixels around which two aligned frames (3, H, W) of linear light look alike up to
    a gain. Their log luminances (the channels' mean) correlate over a `_SHAPE_BOX` window by
    more than `_MIN_CORRELATION` (normalised cross-correlation, blind to a gain, which is an
    offset in the log: Lewis, "Fast normalized cross-correlation", Vision Interface 1995), or
    both windows are flat, where a misalignment changes nothing. A moving object or a flow
    that slipped changes the shape; an exposure ratio, or a top the shoulder compresses, does
    not."""
    log_dark = dark.mean(dim=0, keepdim=True).clamp_min(_LOG_FLOOR).log()
    log_seen = seen.mean(dim=0, keepdim=True).clamp_min(_LOG_FLOOR).log()

    def local_mean(t: Tensor) -> Tensor:
        return tnf.avg_pool2d(t.unsqueeze(0), _SHAPE_BOX, 1, padding=_SHAPE_BOX // 2,
                              count_include_pad=False).squeeze(0)

    mean_dark, mean_seen = local_mean(log_dark), local_mean(log_seen)
    var_dark = (local_mean(log_dark.square()) - mean_dark.square()).clamp_min(0.0)
    var_seen = (local_mean(log_seen.square()) - mean_seen.square()).clamp_min(0.0)
    covariance = local_mean(log_dark * log_seen) - mean_dark * mean_seen
    correlation = covariance / (var_dark * var_seen).sqrt().clamp_min(1e-12)
    flat = (var_dark < _FLAT_LOG_SD**2) & (var_seen < _FLAT_LOG_SD**2)
    return (correlation > _MIN_CORRELATION) | flat


def fit_top(samples: Sequence[tuple[Tensor, Tensor, Tensor]]) -> Tensor | None:
    """The correction h of the declared inverse response, (256,) over evenly spaced code values,
    1 up to `_KNEE`; None when no pair measured both its ratio and the top.

    Each pair's exposure ratio k is the median declared ratio over samples that read at or
    below the knee in both frames. Every other sample then says ln h(a) - ln h(b) = ln k -
    ln(L_a / L_b). Residuals count by Huber's M-estimator, so that quantiles a misalignment
    shifted do not steer the fit, and the priors weigh like the square root of the evidence.
    """
    rows: list[Tensor] = []
    targets: list[Tensor] = []
    measured = 0  # pairs that measured both their ratio and the top
    knots = torch.arange(_KNEE, 1.0 + 1e-9, _KNOT_STEP, dtype=torch.float64)
    for low, high, log_ratio in samples:
        trusted = high <= _KNEE
        top = high > _KNEE
        if int(trusted.sum()) < _MIN_SAMPLES or int(top.sum()) < _MIN_SAMPLES:
            continue
        log_k = log_ratio[trusted].median()
        measured += 1
        pairs = zip(high[top].tolist(), low[top].tolist(), strict=True)
        rows.extend(_hat(a, knots) - _hat(b, knots) for a, b in pairs)
        targets.extend((log_k - log_ratio[top]).double())
    if measured < _MIN_PAIRS:
        return None
    unknowns = knots.numel() - 1  # ln h at the knee is 0
    data = torch.stack(rows)[:, 1:]
    target = torch.stack(targets)
    scale = len(rows) ** 0.5  # the priors weigh like the square root of the evidence
    second = torch.zeros(unknowns - 1, unknowns + 1, dtype=torch.float64)
    for i in range(unknowns - 1):
        second[i, i:i + 3] = torch.tensor([1.0, -2.0, 1.0])
    ridge = torch.eye(unknowns, dtype=torch.float64)
    prior = torch.cat((_SMOOTHNESS * scale * second[:, 1:], _RIDGE * scale * ridge))
    no_prior = torch.zeros(prior.shape[0], dtype=torch.float64)  # the priors pull towards 0
    weight = torch.ones(len(rows), dtype=torch.float64)
    for _ in range(_REWEIGHTINGS):
        # Huber's M-estimator by iteratively reweighted least squares: misaligned quantiles
        # (a moving object, a pan's new content) give large residuals that would pull the curve.
        system = torch.cat((data * weight.unsqueeze(1), prior))
        solution = torch.linalg.lstsq(system, torch.cat((target * weight, no_prior)).unsqueeze(1),
                                      driver="gelsd").solution.squeeze(1)
        residual = (data @ solution - target).abs()
        weight = (_HUBER / residual.clamp_min(_HUBER)).sqrt()
    # g = g_declared · h must keep rising: ln h may fall no faster than the flattest declared
    # top (a 2.2 power at white rises by ln(1 / 0.9^2.2) = 0.23 over the last knot step).
    steps = torch.diff(torch.cat((torch.zeros(1, dtype=torch.float64), solution))).clamp_min(-_MAX_FALL)
    log_h = torch.cat((torch.zeros(1, dtype=torch.float64), steps.cumsum(0)))
    codes = torch.linspace(0.0, 1.0, _TABLE, dtype=torch.float64)
    table = torch.stack([_hat(float(c), knots) for c in codes]) @ log_h
    return torch.exp(table).float()


def measure_top(decode: SourceDecode, analysis: ClipAnalysis, flow_side: int,
                cancel: CancelToken | None = None) -> Tensor | None:
    """h (see fit_top) from the clip's widest exposure changes; None where it never moved.
    `cancel` is checked before each pair is read (RenderCancelled)."""
    ev = analysis.log_exposures
    samples = []
    pairs = choose_pairs(analysis.shots, ev)
    for darker, brighter in pairs:
        if cancel is not None:
            cancel.check()
        (dark, dark_code), (bright, bright_code) = decode(darker), decode(brighter)
        seeds = analysis.chains(darker, [brighter])[brighter]
        gain = ev[brighter] - ev[darker]
        pair = pair_samples(dark, dark_code, bright, bright_code, gain, flow_side, *seeds)
        if pair is not None:
            samples.append(pair)
        if len(samples) == _PAIRS:
            break
    return fit_top(samples)


def _hat(code: float, knots: Tensor) -> Tensor:
    """Linear interpolation weights of `code` on `knots` (0 below the first knot)."""
    weights = torch.zeros_like(knots)
    if code <= float(knots[0]):
        return weights
    step = float(knots[1] - knots[0])
    position = min((code - float(knots[0])) / step, knots.numel() - 1.0)
    lower = min(int(position), knots.numel() - 2)
    frac = position - lower
    weights[lower] = 1.0 - frac
    weights[lower + 1] = frac
    return weights


def _reduction(frame: Tensor) -> int:
    """The whole factor that brings (C, H, W) to at most `_SIDE` on its long side."""
    return -(-max(frame.shape[-2:]) // _SIDE)


def _reduced(frame: Tensor, factor: int) -> Tensor:
    """(C, H, W) area-reduced by `factor`."""
    if factor == 1:
        return frame
    return tnf.avg_pool2d(frame.unsqueeze(0), factor).squeeze(0)


def _quantiles(values: Tensor, levels: Tensor) -> Tensor:
    """`values` (N,) at the fractions `levels` of their sorted order (nearest rank)."""
    ranked = values.sort().values
    return ranked[(levels * (ranked.numel() - 1)).round().long()]
