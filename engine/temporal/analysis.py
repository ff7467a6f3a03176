"""Clip analysis for temporal reconstruction: one pass over the clip before any frame is rebuilt.

The pass finds the cuts, chains the frame-to-frame exposure changes within each shot and lays out
the keyframes. Optical flow is the cost that matters, so it is computed once per pair of
neighbouring frames, here, on thumbnails; a frame reaches its keyframes and a keyframe its
references through the chain of those flows. The thumbnails' flows are kept: two (2, 90, 160)
float16 flows per frame, about 115 kB, with each thumbnail's peak code values (14 kB), from which
a keyframe's candidate references are scored by the clipped pixels they reveal before any of
them is decoded again.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.jobs import CancelToken
from engine.masks import clipped_map
from engine.temporal.crf import estimate_crf
from engine.temporal.cuts import centred_log_histogram, detect_cuts, histogram_distance, shots_from_cuts
from engine.temporal.exposure import (
    aligned_exposure,
    fill_unmeasured,
    peak_signal,
    reduced_signal,
    relative_exposure,
)
from engine.temporal.flow import Alignment, compose_flows, inside_frame, warp
from engine.temporal.noise_ratio import combined_log_ratio, noise_log_ratio
from engine.temporal.params import TemporalParams
from engine.temporal.schedule import neighbour_keyframes, shot_keyframes

Decode = Callable[[int], tuple[Tensor, Tensor]]  # frame index -> (linear light, code values)
Progress = Callable[[str, float], None]

THUMBNAIL_SIDE = 160  # analysis works on frames this size: exposure and cuts are global
_SMOOTH_EXPOSURE_EV = 0.25  # how far one frame-to-frame EV step may differ from the one before
_CRF_MIN_SPREAD_EV = 0.5  # exposures closer than this constrain a camera response too weakly
_CRF_MIN_CONFIDENCE = 0.9


@dataclass(frozen=True)
class ClipAnalysis:
    """What analysis learnt about the clip: shots, exposures (EV within each shot), keyframes."""

    shots: tuple[range, ...]
    log_exposures: tuple[float, ...]
    clipped_fractions: tuple[float, ...]
    keyframes: tuple[int, ...]
    response: Tensor | None  # (256,) estimated inverse camera response, or None
    # (256,) gain on the declared transfer's light per code value (engine.temporal.shoulder), or None
    top: Tensor | None = None
    # Thumbnail flows between frames i - 1 and i (forward, backward), float16, at steps[i - 1].
    steps: tuple[tuple[Tensor, Tensor], ...] = ()
    # Each frame's thumbnail of peak code values (1, h, w), uint8: the largest of each block.
    peaks: tuple[Tensor, ...] = ()

    def shot_of(self, index: int) -> range:
        return next(s for s in self.shots if index in s)

    def neighbours(self, index: int) -> tuple[int | None, int | None]:
        """The nearest keyframes of `index`'s shot strictly before and after it (None: none).

        A shot's first and last frames are keyframes, so a frame that is not one has both.
        """
        shot = self.shot_of(index)
        return neighbour_keyframes(index, [k for k in self.keyframes if k in shot])

    def chains(self, a: int, targets: Sequence[int]) -> dict[int, tuple[Tensor, Tensor]]:
        """For every b in `targets`, the thumbnail flows a -> b and b -> a (float32), chained
        through the frames between; each direction from a is walked once."""
        out: dict[int, tuple[Tensor, Tensor]] = {}
        for direction in (1, -1):
            wanted = {b for b in targets if (b - a) * direction > 0}
            forward = backward = torch.zeros_like(self.steps[0][0], dtype=torch.float32)
            i = a
            while wanted:
                # steps[k] links k and k + 1; walking a -> b appends links, b -> a prepends them.
                fwd, bwd = self.steps[min(i, i + direction)]
                step_ab, step_ba = (fwd, bwd) if direction == 1 else (bwd, fwd)
                forward = compose_flows(forward, step_ab.float())
                backward = compose_flows(step_ba.float(), backward)
                i += direction
                if i in wanted:
                    out[i] = (forward, backward)
                    wanted.discard(i)
        return out

    def reveals(self, key: int, other: int, flow: Tensor, level: float) -> Tensor:
        """Which of `key`'s clipped thumbnail pixels `other` shows below the code `level`.

        flow: the chained thumbnail flow key -> other. Returns a boolean (N,) over the key's
        pixels whose peak code is at `level` or above.
        """
        code = round(level * 255.0)
        clipped = self.peaks[key][0] >= code
        seen = warp(self.peaks[other].float(), flow)[0]
        return ((seen < code) & (inside_frame(flow)[0] > 0))[clipped]


def analyse_clip(decode: Decode, frame_count: int, params: TemporalParams, report: Progress,
                 cancel: CancelToken | None = None) -> ClipAnalysis:
    """Read every frame once: cuts, per-shot exposure chain, keyframe schedule (and CRF).

    `cancel` is checked before each frame is read (RenderCancelled): a preview job that went
    stale stops within one frame, not after reading the whole clip."""
    distances: list[float] = []
    matches: list[float] = []
    steps: list[float | None] = []
    flows: list[tuple[Tensor, Tensor]] = []
    peaks: list[Tensor] = []
    clipped: list[float] = []
    previous: tuple[Tensor, Tensor, Tensor] | None = None
    seed: Alignment | None = None
    for index in range(frame_count):
        if cancel is not None:
            cancel.check()
        linear, signal = decode(index)
        clipped.append(float(clipped_map(signal).float().mean()))
        thumb = thumbnail(linear)
        current = (thumb, reduced_signal(signal, tuple(thumb.shape[-2:])), centred_log_histogram(thumb))
        peaks.append((peak_signal(current[1]) * 255.0).round().clamp(0, 255).to(torch.uint8))
        if previous is not None:
            distances.append(histogram_distance(previous[2], current[2]))
            step, alignment = _camera_step(previous, current, seed, steps[-1] if steps else None)
            steps.append(step)
            matches.append(float(alignment.confidence.mean()))
            flows.append((alignment.flow.cpu().half(), alignment.backward.cpu().half()))
            seed = alignment
        previous = current
        report("analysis", (index + 1) / frame_count)
    cuts = detect_cuts(distances, floor=params.cut_threshold, matches=matches)
    shots = shots_from_cuts(cuts, frame_count)
    log_exposures = [0.0] * frame_count
    for shot in shots:
        shot_steps = fill_unmeasured(steps[shot.start:shot.stop - 1])
        for index, step in zip(shot[1:], shot_steps, strict=True):
            log_exposures[index] = log_exposures[index - 1] + step
    keyframes = [k for shot in shots for k in shot_keyframes(shot, params.keyframe_spacing)]
    analysis = ClipAnalysis(
        tuple(shots), tuple(log_exposures), tuple(clipped), tuple(keyframes),
        response=None, steps=tuple(flows), peaks=tuple(peaks),
    )
    if params.response == "estimated":
        return dataclasses.replace(analysis, response=estimate_response(analysis, decode, params))
    return analysis


def estimate_response(analysis: ClipAnalysis, decode: Decode, params: TemporalParams) -> Tensor | None:
    """Debevec–Malik response from the darkest and brightest frame of the most varied shot, their
    exposure ratio refined by their sensor noise (engine.temporal.noise_ratio)."""
    ev = analysis.log_exposures
    shot = max(analysis.shots, key=lambda s: max(ev[i] for i in s) - min(ev[i] for i in s))
    dark, bright = min(shot, key=lambda i: ev[i]), max(shot, key=lambda i: ev[i])
    if ev[bright] - ev[dark] < _CRF_MIN_SPREAD_EV:
        return None
    (dark_linear, dark_signal), (bright_linear, bright_signal) = decode(dark), decode(bright)
    alignment, _ = aligned_exposure(dark_linear, dark_signal, bright_linear, bright_signal,
                                    ev[bright] - ev[dark], params.flow_max_side)
    seen = warp(bright_signal, alignment.flow)
    valid = alignment.confidence > _CRF_MIN_CONFIDENCE
    measured = (ev[bright] - ev[dark]) * math.log(2.0)
    response = estimate_crf([dark_signal, seen], [0.0, measured], params.crf_smoothness, valid=valid)
    # The measured ratio inherits the exponent error of the linearisation it was measured on
    # (g^γ reads k^γ); sensor noise does not, and the fit is redone with the two combined. The
    # noise is read on the bright frame moved by whole pixels: interpolation smooths it.
    noise = noise_log_ratio(dark_signal, warp(bright_signal, alignment.flow, mode="nearest"), response, valid)
    refined = combined_log_ratio(measured, noise)
    if refined == measured:
        return response
    return estimate_crf([dark_signal, seen], [0.0, refined], params.crf_smoothness, valid=valid)


def thumbnail(frame: Tensor) -> Tensor:
    """(3, H, W) -> at most THUMBNAIL_SIDE on its long side, by area averaging."""
    _, h, w = frame.shape
    scale = min(1.0, THUMBNAIL_SIDE / max(h, w))
    if scale == 1.0:
        return frame
    size = (max(8, round(h * scale)), max(8, round(w * scale)))
    return tnf.interpolate(frame.unsqueeze(0), size=size, mode="area").squeeze(0)


def _camera_step(
    previous: tuple[Tensor, Tensor, Tensor], current: tuple[Tensor, Tensor, Tensor], seed: Alignment | None,
    seed_ev: float | None,
) -> tuple[float | None, Alignment]:
    """EV (None where no pixel pair measures it) and alignment from one frame's thumbnail to the next.

    The previous step's flow seeds this one: camera motion is smooth. Auto exposure is either
    smooth (a drift: this step repeats the previous one) or sudden (a jump after a dead band, a
    step of the exposure's grid), so two first guesses compete: the previous step's EV (0 at a
    shot's start) and the unaligned ratio, which catches a jump but which motion biases (a
    push into a lamp read -0.97 EV where the camera held its exposure; every later frame of
    the chain then sat a stop off). Where they agree to within a quarter stop the smooth guess
    is aligned alone; otherwise each is, and the alignment that matches more of the frame
    (mean confidence: its photometric part fails under a wrong exposure) gives the EV, which is
    then measured on flow-matched pixels.
    """
    (a, a_signal, _), (b, b_signal, _) = previous, current
    unaligned = relative_exposure(a, b, a_signal, b_signal)
    smooth = seed_ev if seed_ev is not None else 0.0
    guesses = [smooth]
    if unaligned is not None and abs(unaligned - smooth) > _SMOOTH_EXPOSURE_EV:
        guesses.append(unaligned)
    seeds = (seed.flow, seed.backward) if seed is not None else ()
    best: tuple[float, float | None, Alignment] | None = None
    for guess in guesses:
        alignment, ev = aligned_exposure(a, a_signal, b, b_signal, guess, THUMBNAIL_SIDE, *seeds)
        matched = float(alignment.confidence.mean())
        if best is None or matched > best[0]:
            best = (matched, ev, alignment)
    assert best is not None
    return best[1], best[2]
