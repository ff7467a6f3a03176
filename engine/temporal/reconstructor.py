"""The temporal stage: SDR frames in, highlight-reconstructed HDR frames (cd/m²) out.

Analysis reads the clip once: it finds the cuts, chains the frame-to-frame exposure changes
within each shot and lays out the keyframes. A keyframe is rebuilt from reference frames
sampled across its whole shot (global sampling, engine.temporal.reconstruct); every other
frame fills its clipped pixels from its two nearest keyframes (local propagation,
engine.temporal.propagate). Frames are decoded on demand through `source(i)`; decoded frames
and reconstructed keyframes sit in two small LRU caches, each with a byte budget.

Optical flow is the cost that matters, so it is computed once per pair of neighbouring frames,
during analysis, on thumbnails; a frame reaches its keyframes and a keyframe its references
through the chain of those flows, refined by one more flow seeded with the chain (on the
thumbnails for propagation, at `flow_max_side` for a keyframe's references); a frame next to
its keyframe needs no refinement, its one link is already the flow between them. The thumbnails'
flows are kept: two (2, 90, 160) float16 flows per frame, about 115 kB, with each thumbnail's
peak code values (14 kB), from which a keyframe's candidate references are scored by the
clipped pixels they reveal before any of them is decoded again. Warps and the merge cover only
the bounding box of a frame's clipped pixels (engine.temporal.region); a frame that clipped
nothing is its own radiance.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.color.primaries import BT2020, PRIMARIES, convert_primaries
from engine.constants import CODEC_CLIP_BAND_START, OVEREXPOSURE_TAU
from engine.errors import FormatError, MediaError
from engine.masks import ClueMap, clipped_map
from engine.operators.base import Operator, StageContext
from engine.params import param
from engine.temporal.crf import estimate_crf, linearise
from engine.temporal.cuts import centred_log_histogram, detect_cuts, histogram_distance, shots_from_cuts
from engine.temporal.exposure import (
    aligned_exposure,
    fill_unmeasured,
    peak_signal,
    reduced_signal,
    relative_exposure,
    signal_from_linear,
)
from engine.temporal.flow import (
    Alignment,
    align,
    compose_flows,
    inside_frame,
    resize_confidence,
    resize_flow,
    warp,
)
from engine.temporal.merge import Clue, Reconstruction, compose, own_reconstruction, tensor_bytes
from engine.temporal.propagate import chained_alignment, keyframe_clue, temporal_weights
from engine.temporal.reconstruct import reference_clue
from engine.temporal.region import Region, clipped_region, mask_regions
from engine.temporal.schedule import (
    bracketing_keyframes,
    choose_references,
    reference_candidates,
    shot_keyframes,
)

Progress = Callable[[str, float], None]
LazyFrame = Tensor | Callable[[], Tensor]  # a frame, or what makes it when it is needed
_Entry = TypeVar("_Entry")

DEFAULT_CACHE_BYTES = 256 * 2**20
# Decoded frames are kept too: a keyframe's references are scattered over the shot, and random
# access into a long-GOP video costs several times a sequential decode.
DEFAULT_FRAME_CACHE_BYTES = 256 * 2**20
_THUMBNAIL_SIDE = 160  # analysis works on frames this size: exposure and cuts are global
_FEATHER_FRACTION = 1.0 / 64.0  # of the long side: how far a fallback fill fades from its edge
_MIN_FEATHER_PX = 8
_CRF_MIN_SPREAD_EV = 0.5  # exposures closer than this constrain a camera response too weakly
_CRF_MIN_CONFIDENCE = 0.9
# A frame this close to its keyframe takes analysis's flow between them as it is: a refinement
# seeded by that flow would only measure it again. Longer chains drift, across exposures most.
_MAX_UNREFINED_LINKS = 1
# Nor is a keyframe whose temporal weight is below this worth the refinement's thumbnail flow:
# its clue counts a tenth of the mix (bench: recoverable highlights -0.03 dB, a ninth of the
# refinements saved; below 0.25, -0.08 dB).
_MIN_REFINED_WEIGHT = 0.15
# Around the clipped pixels' bounding box: the merge's 3 x 3 minimum and its fallback ring reach
# this far, so the pixels beyond keep their own radiance as they would in a whole-frame merge.
_REGION_MARGIN_PX = 4
_SMOOTH_EXPOSURE_EV = 0.25  # how far one frame-to-frame EV step may differ from the one before
# One more call of the fallback costs about as much as running it on this many more pixels
# (masked-cnn on one CPU thread: 2.4 ms on 64 x 64, 13.9 ms on 320 x 180), so scattered gaps
# take one box each only where their common box would be larger by more than that.
_FALLBACK_CALL_PX = 7000


@dataclass(frozen=True)
class TemporalParams:
    """Temporal highlight reconstruction: keyframes, references, alignment and the merge."""

    # A keyframe costs its references' alignment, a propagated frame two thumbnail flows: at 10
    # a 40-frame shot has five keyframes, not six, which pays for the references the cover picks
    # since it covers every pixel some frame shows (bench at 8: recoverable highlights 35.15 dB,
    # 3.1x the single-frame cost; at 10: 35.09 dB, 3.0x, flicker 7.71 -> 7.68).
    keyframe_spacing: int = param(10, 1, 240, "frames", "distance between reconstructed keyframes")
    # The candidates are only scored (on thumbnails) until the set cover picks max_references of
    # them, so a dense grid costs little; a pan shows a highlight at a darker exposure in a few
    # frames only, which a coarser grid misses (bench: recoverable highlights +0.3 dB over 6).
    reference_stride: int = param(
        2, 1, 1000, "frames", "stride of the reference frames sampled across the keyframe's shot"
    )
    max_references: int = param(6, 1, 32, "frames", "most reference frames merged into one keyframe")
    min_reference_gain: float = param(
        0.02, 0.0, 6.0, "EV", "how much darker than the keyframe a frame must be to serve as reference"
    )
    tau: float = param(
        OVEREXPOSURE_TAU, 0.5, 0.999, "",
        "SDR code value where pixels start to hand over to clues (Santos et al. τ)",
    )
    source_gamma: float = param(
        2.4, 1.0, 3.5, "", "exponent of the source EOTF, to recover the recorded code values"
    )
    source_primaries: str = param(
        "bt709", help="primaries the source was recorded in, where its channels clip",
        choices=tuple(PRIMARIES),
    )
    full_weight: float = param(
        0.2, 0.05, 1.0, "", "clue weight (well-exposedness × alignment confidence) that is trusted fully"
    )
    flow_max_side: int = param(
        256, 64, 4096, "px", "long side of the images a keyframe's references are aligned on"
    )
    cut_threshold: float = param(
        0.25, 0.02, 1.0, "", "least log-luminance histogram distance between frames that can be a cut"
    )
    response: str = param(
        "display",
        help="linearise with the source EOTF, or with a camera response estimated from frames of "
        "different exposure (Debevec & Malik 1997)",
        choices=("display", "estimated"),
    )
    crf_smoothness: float = param(50.0, 1.0, 10000.0, "", "λ of the Debevec–Malik smoothness term")
    refine: str = param(
        "none", choices=("none", "learned"),
        help="correct the classical fusion with the learned refinement network (engine.models)",
    )


@dataclass(frozen=True)
class ClipAnalysis:
    """What analysis learnt about the clip: shots, exposures (EV within each shot), keyframes."""

    shots: tuple[range, ...]
    log_exposures: tuple[float, ...]
    clipped_fractions: tuple[float, ...]
    keyframes: tuple[int, ...]
    response: Tensor | None  # (256,) estimated inverse camera response, or None
    # Thumbnail flows between frames i - 1 and i (forward, backward), float16, at steps[i - 1].
    steps: tuple[tuple[Tensor, Tensor], ...] = ()
    # Each frame's thumbnail of peak code values (1, h, w), uint8: the largest of each block.
    peaks: tuple[Tensor, ...] = ()

    def shot_of(self, index: int) -> range:
        return next(s for s in self.shots if index in s)

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


@dataclass(frozen=True)
class _Keyframe:
    reconstruction: Reconstruction
    thumbnail: Tensor  # the keyframe's own source radiance, reduced, which other frames align to
    # Thumbnail flows (key -> frame, frame -> key) to every frame that propagates from this key,
    # chained in one walk each way rather than one walk per frame.
    chains: dict[int, tuple[Tensor, Tensor]]

    @property
    def nbytes(self) -> int:
        flows = [f for pair in self.chains.values() for f in pair]
        return self.reconstruction.nbytes + tensor_bytes(self.thumbnail, *flows)


class TemporalReconstructor:
    """Highlight reconstruction from temporal clues, frame by frame, in cd/m².

    source(i) returns frame i as SDR display-linear relative light (3, H, W), BT.2020, 1.0 = SDR
    peak; `fallback` is an ITM operator for pixels no other frame shows. Progress is reported
    per stage: 'analysis' by analyse(), then 'keyframes' (share of keyframes rebuilt) and
    'propagation' (share of frames delivered) by frame(), to the callback given to analyse().
    """

    def __init__(
        self,
        source: Callable[[int], Tensor],
        frame_count: int,
        params: TemporalParams,
        fallback: Operator,
        context: StageContext,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        frame_cache_bytes: int = DEFAULT_FRAME_CACHE_BYTES,
    ) -> None:
        if frame_count < 1:
            raise MediaError(f"temporal reconstruction needs at least one frame, got {frame_count}")
        self.source = source
        self.frame_count = frame_count
        self.params = params
        self.fallback = fallback
        self.context = context
        self.cache_bytes = cache_bytes
        self.frame_cache_bytes = frame_cache_bytes
        self._analysis: ClipAnalysis | None = None
        self._cache: OrderedDict[int, _Keyframe] = OrderedDict()
        self._frames: OrderedDict[int, tuple[Tensor, Tensor]] = OrderedDict()
        self._progress: Progress | None = None
        self._keyframes_done: set[int] = set()
        self._frames_done: set[int] = set()
        self._shape: tuple[int, ...] | None = None

    # -- analysis -------------------------------------------------------------------------
    def analyse(self, progress: Progress | None = None) -> None:
        """Read every frame once: cuts, per-shot exposure chain, keyframe schedule (and CRF)."""
        self._progress = progress
        p = self.params
        distances: list[float] = []
        matches: list[float] = []
        steps: list[float | None] = []
        flows: list[tuple[Tensor, Tensor]] = []
        peaks: list[Tensor] = []
        clipped: list[float] = []
        previous: tuple[Tensor, Tensor, Tensor] | None = None
        seed: Alignment | None = None
        for index in range(self.frame_count):
            linear, signal = self._decode(index)
            clipped.append(float(clipped_map(signal).float().mean()))
            thumb = _thumbnail(linear)
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
            self._report("analysis", (index + 1) / self.frame_count)
        cuts = detect_cuts(distances, floor=p.cut_threshold, matches=matches)
        shots = shots_from_cuts(cuts, self.frame_count)
        log_exposures = [0.0] * self.frame_count
        for shot in shots:
            shot_steps = fill_unmeasured(steps[shot.start:shot.stop - 1])
            for index, step in zip(shot[1:], shot_steps, strict=True):
                log_exposures[index] = log_exposures[index - 1] + step
        keyframes = [k for shot in shots for k in shot_keyframes(shot, p.keyframe_spacing)]
        self._analysis = ClipAnalysis(
            tuple(shots), tuple(log_exposures), tuple(clipped), tuple(keyframes),
            response=None, steps=tuple(flows), peaks=tuple(peaks),
        )
        if p.response == "estimated":
            self._analysis = dataclasses.replace(self._analysis, response=self._estimate_response())
        self._cache.clear()

    @property
    def analysis(self) -> ClipAnalysis:
        if self._analysis is None:
            self.analyse()
        assert self._analysis is not None
        return self._analysis

    def keyframes(self) -> list[int]:
        return list(self.analysis.keyframes)

    # -- frames ---------------------------------------------------------------------------
    def frame(self, index: int, linear: LazyFrame | None = None) -> tuple[Tensor, ClueMap]:
        """Frame `index` in cd/m² (3, H, W) and the map of where its radiance came from.

        `linear` is the frame as source(index) would give it, or what makes it, when the caller
        already decoded it (the pipeline does): it spares a second, random-access decode, and
        when the frame is still cached from analysis, a callable is not even called.
        """
        analysis = self.analysis
        if not 0 <= index < self.frame_count:
            raise MediaError(f"frame {index} is outside the clip's 0:{self.frame_count}")
        if linear is not None:
            self._decode(index, linear)
        if index in analysis.keyframes:
            result = self._keyframe(index).reconstruction
        else:
            result = self._propagated(index)
        self._frames_done.add(index)
        self._report("propagation", len(self._frames_done) / self.frame_count)
        return result.radiance * self.context.reference_white, ClueMap(result.labels, result.confidence)

    def _propagated(self, index: int) -> Reconstruction:
        linear, signal = self._decode(index)
        radiance = self._radiance(linear, signal)
        region = self._region(signal)
        if region is None:
            return own_reconstruction(radiance)
        shot = self.analysis.shot_of(index)
        keys = [k for k in self.analysis.keyframes if k in shot]
        before, after = bracketing_keyframes(index, keys)
        size = tuple(radiance.shape[-2:])
        thumbnail: Tensor | None = None
        clues: list[Clue] = []
        for key_index, weight in zip((before, after), temporal_weights(index, before, after), strict=True):
            if weight == 0.0:
                continue
            key = self._keyframe(key_index)
            # A few frame-to-frame steps of analysis's exposure chain. Measuring the ratio again on
            # matched pixels gives the same figures on the benchmark shots and adds a tenth to the
            # frame's cost; a keyframe's far references, whose chains run long, do measure it.
            ev = self.analysis.log_exposures[key_index] - self.analysis.log_exposures[index]
            to_frame, to_key = key.chains[index]
            chain = (to_key, to_frame)
            if abs(key_index - index) > _MAX_UNREFINED_LINKS and weight >= _MIN_REFINED_WEIGHT:
                # The chain carries each link's sub-pixel error; one flow on the thumbnails, seeded
                # by it, removes the drift at a thumbnail's cost.
                thumbnail = _thumbnail(radiance) if thumbnail is None else thumbnail
                refined = align(thumbnail, key.thumbnail, ev, _THUMBNAIL_SIDE, *chain)
                chain = (refined.flow, refined.backward)
            alignment = chained_alignment(*chain)
            flow = region.crop(resize_flow(alignment.flow, size))
            confidence = region.crop(resize_confidence(alignment.confidence, size))
            clues.append(keyframe_clue(key.reconstruction, flow, confidence, ev, weight, region.origin))
        return self._compose(index, linear, radiance, signal, clues, region)

    def _keyframe(self, index: int) -> _Keyframe:
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        p = self.params
        analysis = self.analysis
        linear, signal = self._decode(index)
        radiance = self._radiance(linear, signal)
        region = self._region(signal)
        if region is None:
            reconstruction = own_reconstruction(radiance)
        else:
            clues: list[Clue] = []
            candidates = reference_candidates(index, analysis.shot_of(index), p.reference_stride,
                                              analysis.log_exposures, p.min_reference_gain)
            chains = analysis.chains(index, candidates)
            # The cover counts the pixels the key clipped (the band below white that a codec may
            # have lowered included) and a candidate measures: pixels between τ and the band
            # keep much of their own value (bench: +0.07 dB over counting from τ).
            reveals = {j: analysis.reveals(index, j, chains[j][0], CODEC_CLIP_BAND_START) for j in candidates}
            for j in choose_references(candidates, p.max_references, reveals):
                ref_linear, ref_signal = self._decode(j)
                ref_radiance = self._radiance(ref_linear, ref_signal)
                ev_guess = analysis.log_exposures[j] - analysis.log_exposures[index]
                clues.append(reference_clue(radiance, signal, ref_radiance, ref_signal, ev_guess,
                                            p.flow_max_side, region, *chains[j]))
            reconstruction = self._compose(index, linear, radiance, signal, clues, region)
        # The frames between this keyframe and its neighbours in the shot propagate from it (a
        # shot's first and last frames are keyframes).
        keys = [k for k in analysis.keyframes if k in analysis.shot_of(index)]
        at = keys.index(index)
        first = keys[at - 1] + 1 if at > 0 else index
        last = keys[at + 1] - 1 if at + 1 < len(keys) else index
        served = [i for i in range(first, last + 1) if i != index]
        entry = _Keyframe(reconstruction, _thumbnail(radiance), analysis.chains(index, served))
        self._store(index, entry)
        self._keyframes_done.add(index)
        self._report("keyframes", len(self._keyframes_done) / len(analysis.keyframes))
        return entry

    def _compose(
        self, index: int, linear: Tensor, radiance: Tensor, signal: Tensor, clues: list[Clue], region: Region
    ) -> Reconstruction:
        """The merge inside `region`, the frame's own radiance around it."""
        def fallback(needed: Tensor) -> Tensor:
            ctx = dataclasses.replace(self.context, frame_index=index)
            reach = self.fallback.context_px()
            if reach is None:  # the operator measures the whole frame (a key, a percentile)
                return region.crop(self.fallback.apply(linear, ctx)) / self.context.reference_white
            # A local operator runs on the boxes of the needed pixels and the context it looks
            # at: the gaps the keyframes leave in a propagated frame are small and often apart.
            wanted = torch.zeros_like(signal[:1], dtype=torch.bool)
            region.crop(wanted).copy_(needed)
            filled = torch.zeros_like(region.crop(linear))
            for box in mask_regions(wanted, reach, _FALLBACK_CALL_PX):
                part = self.fallback.apply(box.crop(linear), ctx) / self.context.reference_white
                shared = box.intersection(region)
                shared.within(region).crop(filled).copy_(shared.within(box).crop(part))
            return filled

        p = self.params
        feather = max(_MIN_FEATHER_PX, round(max(radiance.shape[-2:]) * _FEATHER_FRACTION))
        part = compose(region.crop(radiance), region.crop(signal), clues, fallback, p.tau, p.full_weight,
                       feather)
        # own_reconstruction's labels and confidence are new tensors, written in place; the
        # radiance is the cached decode and is copied.
        whole = own_reconstruction(radiance)
        region.crop(whole.labels).copy_(part.labels)
        region.crop(whole.confidence).copy_(part.confidence)
        return Reconstruction(region.paste(radiance, part.radiance), whole.labels, whole.confidence)

    def _region(self, signal: Tensor) -> Region | None:
        """Where the frame clipped, with room for the merge's neighbourhood operations."""
        return clipped_region(peak_signal(signal), self.params.tau, _REGION_MARGIN_PX)

    def _store(self, index: int, entry: _Keyframe) -> None:
        self._cache[index] = entry
        _evict(self._cache, self.cache_bytes, lambda e: e.nbytes)

    # -- sources --------------------------------------------------------------------------
    def _decode(self, index: int, decoded: LazyFrame | None = None) -> tuple[Tensor, Tensor]:
        """Frame `index` as the source gives it (linear) and its recorded code values, cached:
        the code values cost a power function per sample, and every reference needs them."""
        cached = self._frames.get(index)
        if cached is not None:
            self._frames.move_to_end(index)
            return cached
        if decoded is None:
            decoded = functools.partial(self.source, index)
        frame = decoded() if callable(decoded) else decoded
        if frame.ndim != 3 or frame.shape[0] != 3:
            raise FormatError(f"frame {index}: expected a (3, H, W) frame, got {tuple(frame.shape)}")
        if self._shape is not None and frame.shape != self._shape:
            raise FormatError(f"frame {index}: size {tuple(frame.shape)} differs from {self._shape}")
        self._shape = frame.shape
        if not bool(torch.isfinite(frame).all()):
            raise FormatError(f"frame {index}: holds NaN or infinite values")
        frame = frame.float().clamp_min(0.0)
        entry = (frame, self._signal(frame))
        self._frames[index] = entry
        _evict(self._frames, self.frame_cache_bytes, lambda e: tensor_bytes(*e))
        return entry

    def _radiance(self, linear: Tensor, signal: Tensor) -> Tensor:
        """Relative radiance (1.0 = SDR peak) of a decoded frame and its code values."""
        response = self._analysis.response if self._analysis is not None else None
        if response is None:
            return linear
        primaries = PRIMARIES[self.params.source_primaries]
        return convert_primaries(linearise(signal, response), primaries, BT2020)

    def _signal(self, linear: Tensor) -> Tensor:
        p = self.params
        return signal_from_linear(linear, p.source_gamma, PRIMARIES[p.source_primaries])

    def _estimate_response(self) -> Tensor | None:
        """Debevec–Malik response from the darkest and brightest frame of the most varied shot."""
        analysis = self._analysis
        assert analysis is not None
        ev = analysis.log_exposures
        shot = max(analysis.shots, key=lambda s: max(ev[i] for i in s) - min(ev[i] for i in s))
        dark, bright = min(shot, key=lambda i: ev[i]), max(shot, key=lambda i: ev[i])
        if ev[bright] - ev[dark] < _CRF_MIN_SPREAD_EV:
            return None
        (dark_linear, dark_signal), (bright_linear, bright_signal) = self._decode(dark), self._decode(bright)
        alignment, _ = aligned_exposure(dark_linear, dark_signal, bright_linear, bright_signal,
                                        ev[bright] - ev[dark], self.params.flow_max_side)
        seen = warp(bright_signal, alignment.flow)
        log_exposures = [0.0, (ev[bright] - ev[dark]) * math.log(2.0)]
        return estimate_crf([dark_signal, seen], log_exposures, self.params.crf_smoothness,
                            valid=alignment.confidence > _CRF_MIN_CONFIDENCE)

    def _report(self, stage: str, fraction: float) -> None:
        if self._progress is not None:
            self._progress(stage, min(1.0, fraction))


def _evict(cache: OrderedDict[int, _Entry], budget: int, nbytes: Callable[[_Entry], int]) -> None:
    """Drop the least recently used entries until `cache` fits `budget`; the newest always stays."""
    total = sum(nbytes(e) for e in cache.values())
    while total > budget and len(cache) > 1:
        _, evicted = cache.popitem(last=False)
        total -= nbytes(evicted)


def _thumbnail(frame: Tensor) -> Tensor:
    _, h, w = frame.shape
    scale = min(1.0, _THUMBNAIL_SIDE / max(h, w))
    if scale == 1.0:
        return frame
    size = (max(8, round(h * scale)), max(8, round(w * scale)))
    return tnf.interpolate(frame.unsqueeze(0), size=size, mode="area").squeeze(0)


def _camera_step(
    previous: tuple[Tensor, Tensor, Tensor], current: tuple[Tensor, Tensor, Tensor], seed: Alignment | None,
    seed_ev: float | None,
) -> tuple[float | None, Alignment]:
    """EV (None where no pixel pair measures it) and alignment from one frame's thumbnail to the next.

    The previous step's flow seeds this one: camera motion is smooth. So is auto exposure: the
    previous step's EV is the first guess of this one's wherever the unaligned ratio, which
    motion biases, agrees with it to within a quarter stop; elsewhere (alternating exposures,
    a cut) the unaligned ratio is (bench: recoverable highlights +0.1 dB over it alone). Then
    the EV is measured on flow-matched pixels.
    """
    (a, a_signal, _), (b, b_signal, _) = previous, current
    guess = relative_exposure(a, b, a_signal, b_signal) or 0.0
    if seed_ev is not None and abs(seed_ev - guess) <= _SMOOTH_EXPOSURE_EV:
        guess = seed_ev
    alignment, ev = aligned_exposure(a, a_signal, b, b_signal, guess, _THUMBNAIL_SIDE,
                                     *((seed.flow, seed.backward) if seed is not None else ()))
    return ev, alignment
