"""The top of the declared transfer re-measured from exposure changes (engine.temporal.shoulder,
`temporal.response=shoulder`): a static scene recorded at two exposures through a camera whose
highlights roll off more than its gamma-2.4 tag says, and through one that is exactly its tag."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from engine.color.primaries import BT2020
from engine.errors import RenderCancelled
from engine.frame import Frame, Space
from engine.jobs import CancelToken
from engine.operators.base import StageContext
from engine.operators.catalogue import make_operator
from engine.stages.temporal import TemporalStage
from engine.temporal import TemporalParams, TemporalReconstructor
from engine.temporal.shoulder import choose_pairs, fit_top, near_clipped, pair_samples
from tests.engine.temporal.scenes import GAMMA, texture

KNEE = 0.5
# The camera's true inverse response is the tag's c^2.4 times exp(SLOPE * (c - KNEE)) above the
# knee: its white is one stop brighter than the tag says (a filmic shoulder).
SLOPE = math.log(2.0) / (1.0 - KNEE)
FINE = torch.linspace(0.0, 1.0, 4097, dtype=torch.float64)


def true_gain(code: float, slope: float) -> float:
    """h of the camera: its light over the tag's at `code`."""
    return math.exp(slope * max(0.0, code - KNEE))


def record(radiance: Tensor, exposure: float, slope: float) -> tuple[Tensor, Tensor]:
    """(the tag's linear light, 8-bit code values) of `radiance` at `exposure`, clipped at white."""
    inverse = FINE**GAMMA * torch.exp(slope * (FINE - KNEE).clamp_min(0.0))
    light = (radiance.double() * exposure).clamp(0.0, float(inverse[-1]))
    position = torch.searchsorted(inverse, light.flatten()).clamp(1, FINE.numel() - 1)
    lo, hi = inverse[position - 1], inverse[position]
    code = FINE[position - 1] + (light.flatten() - lo) / (hi - lo) / (FINE.numel() - 1)
    code = torch.round(code.reshape(light.shape).clamp(0.0, 1.0) * 255.0) / 255.0
    return (code**GAMMA).float(), code.float()


def scene(seed: int, height: int = 96, width: int = 128) -> Tensor:
    """Smooth texture spanning six stops of radiance, about 1.0 at its brightest, in a warm tint.
    Its highlights clip in compact areas, as a lamp's or a window's do: a texture of its own in
    each channel scatters clipped pixels over the frame, and the margin round them
    (`near_clipped`) then leaves too little of a frame this small to compare."""
    grey = texture(height, width, seed, cells=6)[:1]
    return 2.0 ** (-6.0 + 6.0 * grey) * torch.tensor([1.0, 0.85, 0.7]).view(3, 1, 1)


def samples(seed: int, stops: float, slope: float, guess: float | None = None,
            noise: float = 0.0) -> tuple[Tensor, Tensor, Tensor]:
    """A static pair `stops` apart, aligned from `guess` (default: the true ratio), each frame's
    light scattered by log-normal `noise` (its standard deviation in ln units). The scene sits
    at the same level relative to the camera's white whatever the slope: a camera with a
    shoulder clips `slope` x (1 - KNEE) higher in ln light."""
    radiance = scene(seed) * true_gain(1.0, slope) / true_gain(1.0, SLOPE)
    generator = torch.Generator().manual_seed(seed)

    def scattered() -> Tensor:
        return radiance * torch.exp(noise * torch.randn(radiance.shape, generator=generator))

    dark, dark_code = record(scattered(), 0.95, slope)
    bright, bright_code = record(scattered(), 0.95 * 2.0**stops, slope)
    pair = pair_samples(dark, dark_code, bright, bright_code, stops if guess is None else guess, 64)
    assert pair is not None  # a static pair aligns everywhere
    return pair


def log2_gain(table: Tensor, code: float) -> float:
    return math.log2(float(table[round(code * (table.numel() - 1))]))


def test_a_shoulder_the_tag_does_not_declare_is_measured() -> None:
    table = fit_top([samples(1, 1.0, SLOPE), samples(2, 0.7, SLOPE)])
    assert table is not None
    assert table.shape == (256,)
    # Trusted up to the knee: the declared curve there is the reference the ratio is measured on.
    assert torch.all(table[: round(KNEE * 255)] == 1.0)
    # The tag alone reads 0.6 and 0.8 stops short here; the ridge towards it costs < 0.05 stops.
    for code in (0.8, 0.9):
        assert log2_gain(table, code) == pytest.approx(math.log2(true_gain(code, SLOPE)), abs=0.05), code


NOISE = 0.2  # ln units: each pixel's ratio between the frames scatters by about 0.4 stop


@pytest.mark.parametrize("error", [-0.2, 0.0, 0.2])
def test_noisy_pairs_measure_the_ratio_and_the_top_whatever_the_guess(error: float) -> None:
    # The exposure chain that supplies the guess read a third of a stop as a quarter on a filmic
    # shot (docs/evaluation.md, item 28). Pixels picked for agreeing in level at the guessed ratio
    # measure the guess back, and drop the top samples whose ratio the shoulder bends furthest
    # from it: picked so, these pairs read the top 0.24 to 0.74 stop low at codes 0.8 and 0.9.
    pairs = [samples(1, 1.0, SLOPE, 1.0 + error, NOISE), samples(2, 0.7, SLOPE, 0.7 + error, NOISE)]
    for (_, high, log_ratio), stops in zip(pairs, (1.0, 0.7), strict=True):
        assert float(log_ratio[high <= KNEE].median()) == pytest.approx(stops * math.log(2.0), abs=0.01)
    table = fit_top(pairs)
    assert table is not None
    for code in (0.8, 0.9):
        assert log2_gain(table, code) == pytest.approx(math.log2(true_gain(code, SLOPE)), abs=0.05), code


def test_a_camera_that_is_its_tag_keeps_the_tag() -> None:
    table = fit_top([samples(1, 1.0, 0.0), samples(2, 0.7, 0.0)])
    assert table is not None
    assert float(table.log2().abs().max()) < 0.05


def test_one_pair_is_not_enough_evidence() -> None:
    assert fit_top([samples(1, 1.0, SLOPE)]) is None


def test_pairs_are_the_widest_exposure_changes_within_a_shot_and_reuse_no_frame() -> None:
    log_exposures = [0.0, 0.1, 0.2, 1.0, 1.05, 0.0, 2.0, 2.0]
    shots = [range(0, 5), range(5, 8)]
    # Across the cut (frames 4 and 6, say) nothing pairs; frames 6 and 7 are too close in exposure.
    assert choose_pairs(shots, log_exposures) == [(5, 6), (0, 4), (1, 3)]
    assert choose_pairs([range(0, 8)], [0.5] * 8) == []


def _drift_clip(slope: float) -> tuple[list[Frame], list[Tensor]]:
    """A static grey textured scene whose exposure opens by two stops over 16 frames, and the
    truth (grey, so that each pixel's code says where on the curve all its channels are)."""
    grey = texture(64, 96, 4, cells=6)[:1]
    radiance = 2.0 ** (-7.0 + 7.0 * (grey - grey.min()) / (grey.max() - grey.min())).expand(3, -1, -1)
    exposures = [0.6 * 2.0 ** (2.0 * i / 15) for i in range(16)]
    frames, truth = [], []
    for e in exposures:
        light, code = record(radiance, e, slope)
        frames.append(Frame(light, Space.RELATIVE, code))
        # The radiance relative to the tag's white, which the camera maps to code 1.
        truth.append((radiance * e).clamp_max(float(true_gain(1.0, slope))))
    return frames, truth


def _reconstructed(frames: list[Frame], response: str) -> TemporalReconstructor:
    r = TemporalReconstructor(
        source=lambda i: frames[i], frame_count=len(frames),
        params=TemporalParams(keyframe_spacing=8, response=response),
        fallback=make_operator("itm", "bt2408"), context=StageContext(reference_white=203.0),
        primaries=BT2020,
    )
    r.analyse()
    return r


def test_the_reconstructor_reads_the_measured_top_on_unclipped_highlights() -> None:
    frames, truth = _drift_clip(SLOPE)
    shoulder, declared = _reconstructed(frames, "shoulder"), _reconstructed(frames, "display")
    assert shoulder.analysis.top is not None and declared.analysis.top is None
    errors = {"shoulder": [], "display": []}
    for i in (3, 8, 12):
        code = frames[i].code
        bright = (code[0] > 0.7) & (code[0] < 0.9)
        assert int(bright.sum()) > 50
        for name, r in (("shoulder", shoulder), ("display", declared)):
            nits, _ = r.frame(i)
            expected = make_operator("itm", "bt2408").apply(truth[i], StageContext(reference_white=203.0))
            errors[name].append(float((nits / expected).log2().abs()[:, bright].median()))
    # Read through the tag, these highlights come out about half a stop dim (0.47 to 0.56 stops
    # in the median after BT.2408's expansion); through the measured top, 0.07 to 0.08.
    assert min(errors["display"]) > 0.4
    assert max(errors["shoulder"]) < 0.1


def test_a_clip_that_is_its_tag_renders_as_declared() -> None:
    frames, _ = _drift_clip(0.0)
    shoulder, declared = _reconstructed(frames, "shoulder"), _reconstructed(frames, "display")
    assert float(shoulder.analysis.top.log2().abs().max()) < 0.02
    for i in (0, 15):
        a, a_clues = shoulder.frame(i)
        b, b_clues = declared.frame(i)
        # A threshold on the way (a reference's trust, a clue's reach) may flip at a handful of
        # pixels; the picture stays the declared one.
        assert float((a / b).log2().abs().amax(0).quantile(0.99)) < 0.02
        assert float((a_clues.labels != b_clues.labels).float().mean()) < 0.01


def test_a_cancel_during_the_measurement_stops_before_the_next_pair_and_keeps_no_result() -> None:
    frames, _ = _drift_clip(SLOPE)
    token = CancelToken()
    reads: list[int] = []

    def source(i: int) -> Frame:
        reads.append(i)
        if len(reads) == len(frames) + 1:  # the analysis read every frame; the first pair starts
            token.cancel()
        return frames[i]

    r = TemporalReconstructor(
        source=source, frame_count=len(frames), params=TemporalParams(keyframe_spacing=8),
        fallback=make_operator("itm", "bt2408"), context=StageContext(reference_white=203.0),
        primaries=BT2020, frame_cache_bytes=0,
    )
    with pytest.raises(RenderCancelled):
        r.analyse(cancel=token)
    assert len(reads) == len(frames) + 2 and not r.analysed  # one pair read, not the seven


def test_the_temporal_stage_hands_on_the_measured_top_once_analysed() -> None:
    frames, _ = _drift_clip(SLOPE)
    stage = TemporalStage(lambda i: frames[i], len(frames), TemporalParams(keyframe_spacing=8),
                          make_operator("itm", "bt2408"), StageContext(reference_white=203.0), BT2020)
    assert stage.measured_top() is None
    stage.analyse()
    top = stage.measured_top()
    assert top is not None and torch.equal(top, stage.reconstructor.analysis.top)


def test_pair_choice_on_a_long_clip_matches_the_exhaustive_greedy_choice() -> None:
    """choose_pairs keeps only the widest pairs of a long clip; the choice is the one a greedy
    pass over every pair makes (here written out in full)."""
    g = torch.Generator().manual_seed(5)
    log_exposures = torch.cumsum(torch.randn(3000, generator=g) * 0.2, 0).tolist()
    shots = [range(0, 1700), range(1700, 3000)]
    every = sorted(((abs(log_exposures[j] - log_exposures[i]), i, j) for shot in shots for i in shot
                    for j in range(i + 1, min(i + 24, shot.stop - 1) + 1)), key=lambda p: -p[0])
    expected, used = [], set()
    for gap, i, j in every:
        if gap < 0.15 or len(expected) == 12:
            break
        if i not in used and j not in used:
            used.update((i, j))
            expected.append((i, j) if log_exposures[i] < log_exposures[j] else (j, i))
    assert len(expected) == 12
    assert choose_pairs(shots, log_exposures) == expected


@pytest.mark.parametrize(("factor", "reach"), [(1, 10), (2, 6), (3, 5), (4, 4)])
def test_the_clip_margin_covers_a_codec_block_of_the_coded_frame(factor: int, reach: int) -> None:
    """An 8 px transform block of the coded frame, in pixels of the frame reduced by `factor`
    (rounded up), plus the shape window's reach of 2: 10 px at 256 px, 4 at 1080p (reduced 4-fold)."""
    code = torch.full((3, 41, 41), 0.5)
    code[1, 20, 20] = 1.0  # one channel clipped is a clipped pixel
    mask = near_clipped(code, factor)[0]
    assert mask.shape == (41, 41)
    assert bool(mask[20, 20 + reach]) and bool(mask[20 - reach, 20 - reach])
    assert not bool(mask[20, 20 + reach + 1]) and not bool(mask[20 + reach + 1, 20])
    assert int(mask.sum()) == (2 * reach + 1) ** 2
