"""Temporal highlight reconstruction, frame by frame: SDR frames in, HDR frames (cd/m²) out.

After analysis (engine.temporal.analysis) a keyframe is rebuilt from reference frames sampled
across its whole shot (global sampling, engine.temporal.reconstruct); every other frame fills
its clipped pixels from its two nearest keyframes (local propagation, engine.temporal.propagate),
and those that neither keyframe measured from one more reference of its own, where a darker
frame shows them.
Frames are decoded on demand through `source(i)`; decoded frames and reconstructed keyframes sit
in two small LRU caches (engine.temporal.cache), each with a byte budget.

A frame reaches its keyframes and a keyframe its references through the chain of analysis's
thumbnail flows, refined by one more flow seeded with the chain (on the thumbnails for
propagation, at `flow_max_side` for a keyframe's references); a frame next to its keyframe needs
no refinement, its one link is already the flow between them. Warps and the merge cover only
the bounding box of a frame's clipped pixels (engine.temporal.region); a frame that clipped
nothing is its own radiance.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.color.primaries import BT709, BT2020, Primaries, convert_primaries
from engine.constants import CODEC_CLIP_BAND_START
from engine.errors import FormatError, MediaError
from engine.finite import all_finite
from engine.frame import Frame
from engine.jobs import CancelToken
from engine.masks import ClueMap
from engine.operators.base import Operator, StageContext
from engine.temporal.analysis import THUMBNAIL_SIDE, ClipAnalysis, Progress, analyse_clip, thumbnail
from engine.temporal.cache import LruCache
from engine.temporal.crf import linearise
from engine.temporal.exposure import peak_signal
from engine.temporal.flow import align, resize_confidence, resize_flow
from engine.temporal.merge import Clue, Reconstruction, compose, own_reconstruction, tensor_bytes
from engine.temporal.params import TemporalParams
from engine.temporal.propagate import chained_alignment, keyframe_clue, temporal_weights
from engine.temporal.reconstruct import reference_clue
from engine.temporal.region import Region, clipped_region, mask_regions
from engine.temporal.schedule import choose_references, reference_candidates
from engine.temporal.shoulder import measure_top

DEFAULT_CACHE_BYTES = 256 * 2**20
DEFAULT_FRAME_CACHE_BYTES = 256 * 2**20
_FEATHER_FRACTION = 1.0 / 64.0  # of the long side: how far a fallback fill fades from its edge
_MIN_FEATHER_PX = 8
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

    source(i) returns frame i as a RELATIVE engine.frame.Frame: its pixels SDR display-linear
    light (3, H, W), BT.2020, 1.0 = SDR peak, from the exact input transform, and its decoded
    code values, in `primaries`, on which clipping is judged. `fallback` is an ITM operator for
    pixels no other frame shows. Progress is reported per stage: 'analysis' by analyse(), then
    'keyframes' (share of keyframes rebuilt) and 'propagation' (share of frames delivered) by
    frame(), to the callback given to analyse().
    """

    def __init__(
        self,
        source: Callable[[int], Frame],
        frame_count: int,
        params: TemporalParams,
        fallback: Operator,
        context: StageContext,
        primaries: Primaries = BT709,
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
        self.primaries = primaries
        self._analysis: ClipAnalysis | None = None
        self._keyframes: LruCache[_Keyframe] = LruCache(cache_bytes, lambda e: e.nbytes)
        self._frames: LruCache[tuple[Tensor, Tensor]] = LruCache(frame_cache_bytes,
                                                                 lambda e: tensor_bytes(*e))
        self._progress: Progress | None = None
        self._keyframes_done: set[int] = set()
        self._frames_done: set[int] = set()
        self._shape: tuple[int, ...] | None = None

    # -- analysis -------------------------------------------------------------------------
    def analyse(self, progress: Progress | None = None, cancel: CancelToken | None = None) -> None:
        """Read every frame once: cuts, per-shot exposure chain, keyframe schedule (and CRF).
        A cancelled analysis (RenderCancelled) leaves the previous one, or none, in place."""
        self._progress = progress
        analysis = analyse_clip(self._decode, self.frame_count, self.params, self._report, cancel)
        if self.params.response == "shoulder":
            top = measure_top(self._source_light, analysis, self.params.flow_max_side, cancel)
            analysis = dataclasses.replace(analysis, top=top)
        self._analysis = analysis
        self._keyframes.clear()

    @property
    def analysed(self) -> bool:
        return self._analysis is not None

    @property
    def analysis(self) -> ClipAnalysis:
        if self._analysis is None:
            self.analyse()
        assert self._analysis is not None
        return self._analysis

    def keyframes(self) -> list[int]:
        return list(self.analysis.keyframes)

    @property
    def cached_keyframes(self) -> tuple[int, ...]:
        """The rebuilt keyframes held in the cache, least recently used first."""
        return self._keyframes.keys()

    # -- frames ---------------------------------------------------------------------------
    def frame(self, index: int, decoded: Frame | None = None) -> tuple[Tensor, ClueMap]:
        """Frame `index` in cd/m² (3, H, W) and the map of where its radiance came from.

        `decoded` is the frame as source(index) would give it, when the caller already decoded
        it (the pipeline does): it spares a second, random-access decode.
        """
        analysis = self.analysis
        if not 0 <= index < self.frame_count:
            raise MediaError(f"frame {index} is outside the clip's 0:{self.frame_count}")
        if decoded is not None:
            self._decode(index, decoded)
        if index in analysis.keyframes:
            result = self._keyframe(index).reconstruction
        else:
            result = self._propagated(index)
        self._frames_done.add(index)
        self._report("propagation", len(self._frames_done) / self.frame_count)
        return result.radiance * self.context.reference_white, ClueMap(result.labels, result.confidence)

    def keyframe(self, index: int) -> Tensor:
        """Keyframe `index` rebuilt, in cd/m² (3, H, W), without counting it as a delivered frame
        in the progress reports: the learned refinement reads a frame's neighbouring keyframes."""
        if index not in self.analysis.keyframes:
            raise MediaError(f"frame {index} is not a keyframe of the clip")
        return self._keyframe(index).reconstruction.radiance * self.context.reference_white

    def _propagated(self, index: int) -> Reconstruction:
        linear, signal = self._decode(index)
        radiance = self._radiance(linear, signal)
        region = self._region(signal)
        if region is None:
            return own_reconstruction(radiance)
        before, after = self.analysis.neighbours(index)
        assert before is not None and after is not None  # a shot begins and ends on a keyframe
        size = tuple(radiance.shape[-2:])
        small: Tensor | None = None
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
                small = thumbnail(radiance) if small is None else small
                refined = align(small, key.thumbnail, ev, THUMBNAIL_SIDE, *chain)
                chain = (refined.flow, refined.backward)
            alignment = chained_alignment(*chain)
            flow = region.crop(resize_flow(alignment.flow, size))
            confidence = region.crop(resize_confidence(alignment.confidence, size))
            clues.append(keyframe_clue(key.reconstruction, flow, confidence, ev, weight, region.origin))
        gap = self._gap_reference(index, radiance, signal, region, clues)
        if gap is not None:
            clues.append(gap)
        return self._compose(index, linear, radiance, signal, clues, region)

    def _gap_reference(
        self, index: int, radiance: Tensor, signal: Tensor, region: Region, clues: list[Clue]
    ) -> Clue | None:
        """One darker frame's view of the clipped pixels that neither keyframe measured, or None.

        A keyframe carries what it and its references measured; a pixel that a frame between
        two keyframes clips may be shown, below the clip, only by frames between them: a push
        whose keyframes frame the highlight out, a pan that meets it in passing. Such pixels
        went to the fallback. The frame then draws, as a keyframe does, on the candidate
        reference that reveals most of them (on analysis's thumbnails), counted only there:
        where a keyframe measured the pixel, its view, which glides from one keyframe to the
        next, stands. TUNING bench (12 shots, 256 x 144, 16 frames): recoverable highlights
        +0.24 dB (action +2.3: a push whose keyframes lost the lamp), flicker 24.22 -> 24.18.
        """
        p = self.params
        analysis = self.analysis
        measured = torch.zeros_like(signal[:1])
        for clue in clues:  # keyframe clues: their share of measured radiance, as support counts it
            trust = clue.trust if clue.trust is not None else 1.0
            share = (clue.weight * trust / p.full_weight).clamp(0.0, 1.0)
            region.crop(measured).copy_(torch.maximum(region.crop(measured), share))
        peaks = analysis.peaks[index][0]
        small = tnf.interpolate(measured.unsqueeze(0), size=tuple(peaks.shape), mode="area")[0, 0]
        gaps = (small < 0.5)[peaks >= round(CODEC_CLIP_BAND_START * 255.0)]
        if not bool(gaps.any()):
            return None
        keys = analysis.neighbours(index)
        candidates = [j for j in reference_candidates(index, analysis.shot_of(index), p.reference_stride,
                                                      analysis.log_exposures, p.min_reference_gain)
                      if j not in keys]
        chains = analysis.chains(index, candidates)
        reveals = {j: analysis.reveals(index, j, chains[j][0], CODEC_CLIP_BAND_START) & gaps
                   for j in candidates}
        chosen = choose_references(candidates, 1, reveals)
        if not chosen:
            return None
        j = chosen[0]
        ref_linear, ref_signal = self._decode(j)
        ev_guess = analysis.log_exposures[j] - analysis.log_exposures[index]
        clue = reference_clue(radiance, signal, self._radiance(ref_linear, ref_signal), ref_signal, ev_guess,
                              p.flow_max_side, region, *chains[j])
        gap = region.crop(measured) < 0.5
        floor = None if clue.floor is None else torch.where(gap, clue.floor, 0.0)
        return dataclasses.replace(clue, weight=torch.where(gap, clue.weight, 0.0), floor=floor)

    def _keyframe(self, index: int) -> _Keyframe:
        cached = self._keyframes.get(index)
        if cached is not None:
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
        before, after = analysis.neighbours(index)
        first = before + 1 if before is not None else index
        last = after - 1 if after is not None else index
        served = [i for i in range(first, last + 1) if i != index]
        entry = _Keyframe(reconstruction, thumbnail(radiance), analysis.chains(index, served))
        self._keyframes.put(index, entry)
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
            # at: the gaps the keyframes leave in a propagated frame are small and often apart;
            # scattered gaps take one box each only where their common box would be larger by
            # more than a call's cost.
            wanted = torch.zeros_like(signal[:1], dtype=torch.bool)
            region.crop(wanted).copy_(needed)
            filled = torch.zeros_like(region.crop(linear))
            for box in mask_regions(wanted, reach):
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

    # -- sources --------------------------------------------------------------------------
    def _decode(self, index: int, decoded: Frame | None = None) -> tuple[Tensor, Tensor]:
        """Frame `index`'s linear light and code values, cached: every reference needs both."""
        cached = self._frames.get(index)
        if cached is not None:
            return cached
        frame = decoded if decoded is not None else self.source(index)
        linear, code = frame.pixels, frame.code
        if linear.ndim != 3 or linear.shape[0] != 3 or code.shape != linear.shape:
            raise FormatError(f"frame {index}: expected a (3, H, W) frame and its code values, got "
                              f"{tuple(linear.shape)} and {tuple(code.shape)}")
        if self._shape is not None and linear.shape != self._shape:
            raise FormatError(f"frame {index}: size {tuple(linear.shape)} differs from {self._shape}")
        self._shape = linear.shape
        if not all_finite(linear):
            raise FormatError(f"frame {index}: holds NaN or infinite values")
        # A decoder's overshoot above code 1.0 is clipped all the same.
        entry = (linear.float().clamp_min(0.0), code.float().clamp(0.0, 1.0))
        self._frames.put(index, entry)
        return entry

    def _radiance(self, linear: Tensor, signal: Tensor) -> Tensor:
        """Relative radiance (1.0 = SDR peak) of a decoded frame and its code values."""
        analysis = self._analysis
        if analysis is not None and analysis.response is not None:
            return convert_primaries(linearise(signal, analysis.response), self.primaries, BT2020)
        if analysis is not None and analysis.top is not None:
            # The transfer acts on each channel in the source's own primaries.
            source = convert_primaries(linear, BT2020, self.primaries)
            return convert_primaries(source * linearise(signal, analysis.top), self.primaries, BT2020)
        return linear

    def _source_light(self, index: int) -> tuple[Tensor, Tensor]:
        """Frame `index`'s declared linear light in the source's primaries, and its code values."""
        linear, signal = self._decode(index)
        return convert_primaries(linear, BT2020, self.primaries), signal

    def _report(self, stage: str, fraction: float) -> None:
        if self._progress is not None:
            self._progress(stage, min(1.0, fraction))
