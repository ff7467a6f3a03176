"""TemporalReconstructor on tiny synthetic shots whose true radiance is known."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import torch
from torch.nn import functional as tnf

from engine.color.primaries import BT2020
from engine.errors import FormatError, MediaError, RenderCancelled
from engine.jobs import CancelToken
from engine.masks import ClueSource
from engine.operators.base import StageContext
from engine.operators.catalogue import make_operator
from engine.params import build_params
from engine.temporal import TemporalParams, TemporalReconstructor
from engine.temporal.merge import Clue, combine_clues, compose
from engine.temporal.reconstruct import reference_clue
from engine.temporal.reconstructor import DEFAULT_CACHE_BYTES
from engine.temporal.region import clipped_region
from engine.temporal.schedule import choose_references, reference_candidates
from tests.engine.temporal.scenes import (
    FRAME_H,
    FRAME_W,
    camera,
    code_values,
    crop,
    decoded,
    pan_offset,
    scene_with_highlights,
    shot,
    texture,
)

REFERENCE_WHITE = 203.0
COUNT = 16
# Auto exposure opening up by two stops over the shot: the early frames see the patch whole.
DRIFT = [2.0 ** (-2.0 * (1.0 - i / (COUNT - 1))) for i in range(COUNT)]


def reconstructor(
    frames: list[torch.Tensor], fallback: str = "bt2446a", cache_bytes: int = DEFAULT_CACHE_BYTES,
    **params: object,
) -> TemporalReconstructor:
    return TemporalReconstructor(
        source=lambda i: decoded(frames[i]),
        frame_count=len(frames),
        # The 16-frame shots have a keyframe in their middle (0, 8, 15), a frame at most 4 from one.
        # The synthetic camera is exactly its gamma 2.4, so these tests read through it as
        # declared; re-measuring its top (the default, test_shoulder.py) moves it by < 0.1 %.
        params=TemporalParams(**{"keyframe_spacing": 8, "response": "display", **params}),
        fallback=make_operator("itm", fallback),
        context=StageContext(reference_white=REFERENCE_WHITE),
        primaries=BT2020,  # the synthetic frames are built in BT.2020, so that is where they clip
        cache_bytes=cache_bytes,
    )


def patch_interior(index: int, border: int = 1) -> torch.Tensor:
    """(H, W) bool: the textured patch of scene_with_highlights, less a border of `border` pixels."""
    top, left = pan_offset(index)
    mask = torch.zeros(FRAME_H, FRAME_W, dtype=torch.bool)
    mask[16 + border - top : 36 - border - top, max(0, 40 + border - left) : 70 - border - left] = True
    return mask


def clipped(frame: torch.Tensor) -> torch.Tensor:
    return frame.amax(0) >= 1.0 - 1e-6


@pytest.fixture(scope="module")
def drift_shot() -> tuple[list[torch.Tensor], list[torch.Tensor], list[tuple[torch.Tensor, object]], list]:
    frames, truth = shot(scene_with_highlights(sun_level=60.0), DRIFT)
    stages: list[tuple[str, float]] = []
    r = reconstructor(frames)
    r.analyse(lambda stage, fraction: stages.append((stage, fraction)))
    outputs = [r.frame(i) for i in range(COUNT)]
    return frames, truth, outputs, stages


def test_analysis_measures_the_exposure_drift(drift_shot) -> None:
    frames, _, _, _ = drift_shot
    r = reconstructor(frames)
    r.analyse()
    expected = [2.0 * i / (COUNT - 1) for i in range(COUNT)]
    assert r.analysis.log_exposures == pytest.approx(expected, abs=0.03)
    assert r.analysis.shots == (range(0, COUNT),)
    assert r.keyframes() == [0, 8, 15]


def test_chained_neighbour_flows_reach_far_frames(drift_shot) -> None:
    frames, _, _, _ = drift_shot
    r = reconstructor(frames)
    r.analyse()
    # The pan moves one pixel a frame: frame a's pixel p is frame b's p + (a - b).
    forward, backward = r.analysis.chains(2, [9])[9]
    scale = (FRAME_W - 1) / (forward.shape[-1] - 1)  # the flows live on the analysis thumbnails
    inner = (slice(4, -4), slice(4, -12))
    assert float(forward[0][inner].median()) * scale == pytest.approx(-7.0, abs=0.25)
    assert float(backward[0][inner].median()) * scale == pytest.approx(7.0, abs=0.25)
    assert float(forward[1][inner].abs().median()) * scale < 0.25


def test_clipped_patch_is_recovered_from_darker_frames(drift_shot) -> None:
    frames, truth, outputs, _ = drift_shot
    checked = 0
    for i, (nits, clues) in enumerate(outputs):
        region = patch_interior(i) & clipped(frames[i])
        if not region.any():
            continue
        checked += 1
        expected = truth[i] * REFERENCE_WHITE
        relative_error = ((nits - expected).abs() / expected).amax(0)[region]
        # The mix favours the darker references (see reconstruct._mix_preference), whose 8-bit
        # steps are coarser against the patch: the worst pixel reads 3.0 % off, the median 1 %.
        assert float(relative_error.max()) < 0.035, f"frame {i}"
        assert float(relative_error.median()) < 0.01, f"frame {i}"
        # A keyframe's last clipped column may fall back where a reference sees it mixed with the
        # background; a propagated frame takes its keyframe's confidence through a 3 x 3 minimum.
        labelled = region & patch_interior(i, border=2)
        assert bool((clues.labels[0][labelled] == ClueSource.REFERENCE).all()), f"frame {i}"
    assert checked >= 10  # the patch clips from frame 4 on


def test_well_exposed_pixels_map_exactly_as_bt2408(drift_shot) -> None:
    frames, _, outputs, _ = drift_shot
    bt2408 = make_operator("itm", "bt2408")
    for i, (nits, clues) in enumerate(outputs):
        # Below τ in code values, and so is every neighbour: the edge of a clipped area hands
        # over to the clues too, since a codec lowers its codes.
        peak = tnf.max_pool2d(frames[i].amax(0, keepdim=True).unsqueeze(0), 3, stride=1, padding=1)
        own = peak[0, 0] <= 0.95**2.4
        baseline = bt2408.apply(frames[i], StageContext(reference_white=REFERENCE_WHITE))
        torch.testing.assert_close(nits[:, own], baseline[:, own], rtol=1e-6, atol=1e-6)
        assert bool((clues.labels[0][own] == ClueSource.OWN).all())
        assert bool((clues.confidence[0][own] == 1.0).all())


def test_highlight_clipped_everywhere_falls_back_above_the_clip_level(drift_shot) -> None:
    _, _, outputs, _ = drift_shot
    for i, (nits, clues) in enumerate(outputs):
        top, left = pan_offset(i)
        sun = (slice(40 + 2 - top, 52 - 2 - top), slice(44 + 2 - left, 56 - 2 - left))
        assert bool((clues.labels[0][sun] == ClueSource.FALLBACK).all()), f"frame {i}"
        assert float(clues.confidence[0][sun].max()) < 0.5
        # A clipped pixel is a lower bound of the radiance; the fill never goes below it.
        assert float(nits[:, sun[0], sun[1]].min()) >= REFERENCE_WHITE * (1 - 1e-6)


def test_a_local_fallback_runs_on_the_box_its_gaps_need_with_the_same_result() -> None:
    """BT.2408's curve is per pixel: run on the box of the pixels no clue reaches, it fills them
    exactly as run on the whole frame, and it sees only that box."""
    frames, _ = shot(scene_with_highlights(sun_level=40.0), DRIFT)
    curve = type(make_operator("itm", "bt2408"))
    sizes: list[tuple[int, ...]] = []

    class Boxed(curve):  # type: ignore[misc, valid-type]
        def apply(self, frame: torch.Tensor, ctx: StageContext) -> torch.Tensor:
            sizes.append(tuple(frame.shape[-2:]))
            return super().apply(frame, ctx)

    class WholeFrame(curve):  # type: ignore[misc, valid-type]
        def context_px(self) -> int | None:
            return None

    def run(fallback: object) -> list[torch.Tensor]:
        r = TemporalReconstructor(lambda i: decoded(frames[i]), len(frames), TemporalParams(), fallback,
                                  StageContext(reference_white=REFERENCE_WHITE), BT2020)
        return [r.frame(i)[0] for i in range(len(frames))]

    for boxed, whole in zip(run(Boxed()), run(WholeFrame()), strict=True):
        torch.testing.assert_close(boxed, whole, rtol=1e-6, atol=1e-4)
    assert sizes and all(h * w < FRAME_H * FRAME_W / 2 for h, w in sizes)


def test_a_near_white_reading_bounds_the_keyframe_from_below() -> None:
    """Only the darkest frame sees the sun, at code 252 of 255, where its weight has faded to
    three quarters: the quarter left to the fallback still reaches that reading, scaled to the
    keyframe."""
    sun_level = 3.88  # x 0.25 (frame 0's exposure) -> code round(0.97^(1/2.4) x 255) = 252
    frames, truth = shot(scene_with_highlights(sun_level=sun_level), DRIFT)
    assert round(float(frames[0].amax()) ** (1 / 2.4) * 255) == 252
    assert bool((frames[1].amax(0) >= 1.0 - 1e-6).any())  # every later frame clips it
    # full_weight 1: a clue of weight 0.75 is trusted that far, and the fallback fills the rest.
    r = reconstructor(frames, fallback="bt2408", full_weight=1.0)
    nits, _ = r.frame(8)
    top, left = pan_offset(8)
    sun = (slice(40 + 2 - top, 52 - 2 - top), slice(44 + 2 - left, 56 - 2 - left))
    reading = (252 / 255) ** 2.4 * DRIFT[8] / DRIFT[0]
    level = nits[:, sun[0], sun[1]] / REFERENCE_WHITE
    assert float(level.min()) >= 0.99 * reading
    assert float(level.max()) <= 1.01 * float(truth[8][:, sun[0], sun[1]].max())


def test_a_clue_short_of_the_known_lower_bound_leaves_the_mix() -> None:
    """The target clipped at 1.0, so its radiance is at least that. A view reading 0.7 there is
    wrong (misaligned onto a darker neighbour, or mixed with one) and does not count; one
    reading 2^-0.075 of the bound, half the tolerance short, counts half; the others count by
    prior x weight. Support stays the best weight's."""
    def clue(level: float, weight: float, prior: float | torch.Tensor = 1.0) -> Clue:
        return Clue(torch.full((3, 2, 2), level), torch.full((1, 2, 2), weight), prior=prior)

    short = 2.0**-0.075
    tripled = torch.full((1, 2, 2), 3.0)
    clues = [clue(0.7, 1.0), clue(short, 1.0), clue(1.5, 0.5, prior=tripled), clue(1.9, 0.25)]
    radiance, support, _, mixed = combine_clues(clues, 0.5, torch.ones(3, 2, 2))
    expected = (0.5 * short + 1.5 * 1.5 + 0.25 * 1.9) / (0.5 + 1.5 + 0.25)
    torch.testing.assert_close(radiance, torch.full((3, 2, 2), expected))
    torch.testing.assert_close(support, torch.ones(1, 2, 2))
    assert bool(mixed.all())


def test_a_keyframes_fallback_fill_counts_less_than_its_measured_radiance() -> None:
    """Two keyframes seen alike (same prior and confidence): one measured the highlight, the other
    filled it with the fallback. The fill counts 0.23 of the measurement, and the trust of the mix
    follows."""
    def clue(level: float, trust: float) -> Clue:
        return Clue(torch.full((3, 1, 1), level), torch.ones(1, 1, 1), trust=torch.full((1, 1, 1), trust))

    radiance, _, trust, mixed = combine_clues([clue(2.0, 1.0), clue(4.0, 0.0)], 0.2, torch.ones(3, 1, 1))
    torch.testing.assert_close(radiance, torch.full((3, 1, 1), (2.0 + 0.23 * 4.0) / 1.23))
    torch.testing.assert_close(trust, torch.full((1, 1, 1), 1.0 / 1.23))
    assert bool(mixed.all())


def test_a_clipped_pixels_weak_channels_average_with_the_clues() -> None:
    """A saturated highlight clipped in red: its green, read at code 0.5, is a measurement and
    takes 0.3 own + 0.7 clue; its blue, at 0.95, may be a clipped code a codec lowered and stays a
    lower bound, as red does. Where the only clue reads short of the bound it does not count, and
    every channel keeps its own reading as the bound."""
    signal = torch.tensor([1.0, 0.5, 0.95]).view(3, 1, 1).expand(3, 1, 2).contiguous()
    own = signal**2.4
    agreeing = torch.tensor([2.0, 0.1, 0.5]).view(3, 1, 1)
    short = torch.tensor([0.5, 0.3, 0.3]).view(3, 1, 1)
    clue = Clue(torch.cat((agreeing, short), dim=2), torch.ones(1, 1, 2))

    def no_fallback(needed: torch.Tensor) -> torch.Tensor:
        raise AssertionError("every pixel has a clue: the fallback must not run")

    out = compose(own, signal, [clue], no_fallback, tau=0.9, full_weight=0.2, feather_px=8).radiance
    green = 0.3 * 0.5**2.4 + 0.7 * 0.1
    torch.testing.assert_close(out[:, 0, 0], torch.tensor([2.0, green, 0.95**2.4]))
    torch.testing.assert_close(out[:, 0, 1], own[:, 0, 1])


def test_a_darker_reference_counts_more_in_the_mix() -> None:
    """Two static references show a keyframe's clipped highlight at codes well below white, one
    and two stops darker: the darker counts 2^3 times more. A clipped reading counts a
    twentieth."""
    scene = scene_with_highlights(sun_level=3.0)[:, :FRAME_H, :FRAME_W]
    key, darker, darkest = camera(scene, 1.0), camera(scene, 0.5), camera(scene, 0.25)
    signals = [code_values(f) for f in (key, darker, darkest)]
    region = clipped_region(signals[0].amax(0, keepdim=True), 0.95, 4)
    assert region is not None
    clues = [reference_clue(key, signals[0], frame, signal, ev, 256, region)
             for frame, signal, ev in ((darker, signals[1], -1.0), (darkest, signals[2], -2.0))]
    sun = region.crop(signals[2].amax(0, keepdim=True))[0] < 0.8
    sun &= region.crop(signals[1].amax(0, keepdim=True))[0] < 0.8
    assert int(sun.sum()) > 20
    ratio = clues[1].prior[0][sun] / clues[0].prior[0][sun]
    torch.testing.assert_close(ratio, torch.full_like(ratio, 8.0), rtol=0.02, atol=0.0)
    # Where the darker frame clipped too, its precision is the floor: 0.05 x 2^3.
    white = -tnf.max_pool2d(-region.crop(signals[1].amax(0, keepdim=True)), 3, 1, 1)[0] >= 1.0
    assert int(white.sum()) > 20
    floor = torch.full((int(white.sum()),), 0.4)
    torch.testing.assert_close(clues[0].prior[0][white], floor, rtol=0.02, atol=0.0)


def test_fallback_fill_meets_its_surroundings() -> None:
    """A highlight clipped in every frame: the fallback's fill joins its edge without a seam."""
    scene = 0.03 + 0.4 * texture(64, 112, seed=2)
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(112.0), indexing="ij")
    scene = scene + 6.0 * torch.exp(-((yy - 32) ** 2 + (xx - 50) ** 2) / (2 * 7.0**2))
    frames, _ = shot(scene, [1.0] * 6)
    nits, clues = reconstructor(frames, fallback="bt2446a").frame(3)
    assert clues.fraction(ClueSource.FALLBACK) > 0.1

    def largest_step(frame: torch.Tensor) -> float:
        y = frame.mean(0)
        across = torch.maximum(y[:, 1:] / y[:, :-1], y[:, :-1] / y[:, 1:]).max()
        down = torch.maximum(y[1:] / y[:-1], y[:-1] / y[1:]).max()
        return float(torch.maximum(across, down))

    # Pasting the fallback into the clipped area as is leaves a step of ~5x at its edge.
    naive = torch.where(clipped(frames[3]), make_operator("itm", "bt2446a").apply(frames[3], StageContext()),
                        frames[3] * REFERENCE_WHITE)
    assert largest_step(naive) > 3.0
    # The scene's own steepest step is 1.27; the fill's feather may be steeper, not a seam.
    assert largest_step(nits) < 2.0
    # Deep inside, the fallback's own expansion survives: above the SDR clip level.
    assert float(nits.max()) > 3 * REFERENCE_WHITE


def test_progress_reports_every_stage(drift_shot) -> None:
    _, _, _, stages = drift_shot
    names = [s for s, _ in stages]
    assert {"analysis", "keyframes", "propagation"} == set(names)
    for stage in ("analysis", "keyframes", "propagation"):
        fractions = [f for s, f in stages if s == stage]
        assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)


def test_reading_a_keyframe_does_not_count_as_delivering_it(drift_shot) -> None:
    frames, _, outputs, _ = drift_shot
    stages: list[tuple[str, float]] = []
    r = reconstructor(frames)
    r.analyse(lambda stage, fraction: stages.append((stage, fraction)))
    torch.testing.assert_close(r.keyframe(8), outputs[8][0], rtol=0.0, atol=0.0)
    r.frame(3)
    assert [f for s, f in stages if s == "propagation"] == [pytest.approx(1 / COUNT)]
    with pytest.raises(MediaError, match="frame 3 is not a keyframe"):
        r.keyframe(3)


def test_no_clipping_and_no_exposure_change_passes_through() -> None:
    scene = 0.03 + 0.8 * texture(64, 112, seed=3)
    frames, _ = shot(scene, [1.0] * 10)
    assert not any(bool(clipped(f).any()) for f in frames)
    r = reconstructor(frames, fallback="bt2408")
    bt2408 = make_operator("itm", "bt2408")
    for i, frame in enumerate(frames):
        nits, clues = r.frame(i)
        expected = bt2408.apply(frame, StageContext(reference_white=REFERENCE_WHITE))
        torch.testing.assert_close(nits, expected, rtol=1e-6, atol=0.0)
        assert clues.fraction(ClueSource.OWN) == 1.0


def _cut_clip() -> list[torch.Tensor]:
    # Shot A: a patch clipped at a constant exposure, so nothing in A can recover it.
    first, _ = shot(scene_with_highlights(seed=1), [1.0] * 10)
    # Shot B: another scene exposed two stops darker, where A's patch area is mid-grey.
    other = 0.2 + 0.6 * texture(64, 112, seed=9, cells=16)
    other[:, :, 56:] *= 0.2
    second = [camera(crop(other, i), 0.25 * 4) for i in range(10)]
    return first + second


def test_cut_keeps_references_within_the_shot() -> None:
    frames = _cut_clip()
    r = reconstructor(frames)
    r.analyse()
    assert r.analysis.shots == (range(0, 10), range(10, 20))
    assert r.analysis.shot_of(8) == range(0, 10)
    for i in range(10):
        _, clues = r.frame(i)
        assert clues.fraction(ClueSource.REFERENCE) == 0.0, f"frame {i}"
        assert clues.fraction(ClueSource.FALLBACK) > 0.05


def test_without_cut_detection_the_next_shot_would_be_sampled() -> None:
    """The control for the test above: with cuts ignored, shot B's frames become references."""
    frames = _cut_clip()
    r = reconstructor(frames, cut_threshold=1.0)
    r.analyse()
    assert r.analysis.shots == (range(0, 20),)
    # Chained across the unseen cut, exposure and motion are meaningless: say B is two stops
    # darker and framed like A, which is what makes it a tempting reference.
    analysis = dataclasses.replace(
        r.analysis, log_exposures=tuple([0.0] * 10 + [-2.0] * 10)
    )
    p = r.params
    candidates = reference_candidates(8, analysis.shots[0], p.reference_stride, analysis.log_exposures,
                                      p.min_reference_gain)
    refs = choose_references(candidates, p.max_references)
    assert refs and all(j >= 10 for j in refs)


def test_alternating_exposures_merge_to_the_ground_truth() -> None:
    exposures = [2.0 if i % 2 == 0 else 0.5 for i in range(12)]
    frames, truth = shot(scene_with_highlights(seed=4, patch_level=1.2), exposures)
    r = reconstructor(frames, keyframe_spacing=4)
    r.analyse()
    assert [b - a for a, b in itertools.pairwise(r.analysis.log_exposures)] == pytest.approx(
        [-2.0 if i % 2 == 0 else 2.0 for i in range(11)], abs=0.03
    )
    for i in range(12):
        nits, _ = r.frame(i)
        expected = truth[i] * REFERENCE_WHITE
        region = clipped(frames[i])
        region[:, :1] = region[:, -1:] = False  # the pan brings new content in at the edges
        if i % 2 == 1:
            assert not region.any()
            continue
        error = ((nits - expected).abs() / expected).amax(0)[region]
        assert region.sum() > 200
        assert float(error.median()) < 0.01 and float(error.quantile(0.9)) < 0.02, f"frame {i}"


def test_cache_stays_within_its_budget_and_results_do_not_change(drift_shot) -> None:
    frames, _, outputs, _ = drift_shot
    r = reconstructor(frames, cache_bytes=1)  # one keyframe at a time: the others are rebuilt on demand
    for i in (15, 3):
        nits, _ = r.frame(i)
        assert len(r.cached_keyframes) == 1
        torch.testing.assert_close(nits, outputs[i][0])


def test_params_parse_from_the_command_line() -> None:
    params = build_params(TemporalParams, {"keyframe_spacing": "4", "response": "estimated"}, "--temporal")
    assert params.keyframe_spacing == 4 and params.response == "estimated"


def test_bad_frames_raise_typed_errors() -> None:
    frames, _ = shot(scene_with_highlights(), [1.0] * 4)
    broken = [f.clone() for f in frames]
    broken[2][0, 5, 5] = float("nan")
    with pytest.raises(FormatError, match="frame 2: holds NaN"):
        reconstructor(broken).analyse()
    with pytest.raises(FormatError, match=r"frame 0: expected a \(3, H, W\)"):
        reconstructor([f[:2] for f in frames]).analyse()
    with pytest.raises(MediaError, match="outside the clip"):
        reconstructor(frames).frame(4)


def test_a_cancelled_analysis_stops_at_the_next_frame_and_keeps_no_result(drift_shot) -> None:
    frames, _, outputs, _ = drift_shot
    token = CancelToken()
    read: list[int] = []

    def source(i: int) -> object:
        read.append(i)
        if i == 2:
            token.cancel()  # the preview's job went stale while frame 2 was read
        return decoded(frames[i])

    r = reconstructor(frames)
    r.source = source
    with pytest.raises(RenderCancelled):
        r.analyse(cancel=token)
    assert read == [0, 1, 2] and not r.analysed  # not all 16 frames: it stopped before frame 3
    r.source = lambda i: decoded(frames[i])
    r.analyse(cancel=CancelToken())  # a fresh job analyses the whole clip as before
    assert r.analysed
    torch.testing.assert_close(r.frame(5)[0], outputs[5][0])


def test_a_highlight_only_frames_between_the_keyframes_show_is_recovered_from_them() -> None:
    """A pan out and back (keyframes 0 and 8): the patch at columns 66-78 lies outside both
    keyframes' view, so they measure nothing of it. Frames 3 and 5 clip it; frame 4, two stops
    darker, shows it. Frames 3 and 5 take it from frame 4, not from the fallback."""
    scene = 0.03 + 0.47 * texture(FRAME_H + 16, 112, seed=5)
    scene[:, 16:36, 66:78] = 2.5 * (0.8 + 0.4 * texture(20, 12, seed=6, cells=4))
    lefts = [0, 6, 12, 18, 24, 18, 12, 6, 0]
    exposures = [1.0, 1.0, 1.0, 1.0, 0.25, 1.0, 1.0, 1.0, 1.0]
    frames = [camera(scene[:, 8:8 + FRAME_H, x:x + FRAME_W], e)
              for x, e in zip(lefts, exposures, strict=True)]
    r = reconstructor(frames, fallback="bt2408")
    assert r.keyframes() == [0, 8]
    for index in (3, 5):
        left = lefts[index]
        interior = (slice(16 + 2 - 8, 36 - 2 - 8), slice(66 + 2 - left, 78 - 2 - left))
        assert bool(clipped(frames[index])[interior].all())
        nits, clues = r.frame(index)
        truth = scene[:, 8:8 + FRAME_H, left:left + FRAME_W][(slice(None), *interior)]
        error = torch.log2(nits[(slice(None), *interior)].amax(0) / REFERENCE_WHITE / truth.amax(0))
        assert float(error.abs().median()) < 0.1
        assert float((clues.labels[0][interior] == int(ClueSource.REFERENCE)).float().mean()) > 0.9
