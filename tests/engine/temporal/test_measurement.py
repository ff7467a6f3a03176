"""Exposure ratios on noisy, partly clipped frames; reference weights; morphology; frame cache."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as tnf

from engine.color.primaries import BT2020
from engine.color.transfer import srgb_eotf, srgb_inverse_eotf
from engine.frame import Frame
from engine.operators.base import StageContext
from engine.operators.catalogue import make_operator
from engine.synth.degrade import SensorNoise, record
from engine.synth.response import SrgbResponse
from engine.temporal import TemporalParams, TemporalReconstructor, relative_exposure, well_exposedness
from engine.temporal.exposure import fill_unmeasured, unclipped_weight
from engine.temporal.morphology import dilate, min_filter
from tests.engine.temporal.scenes import decoded, scene_with_highlights, shot, texture


def noisy_camera(scene: torch.Tensor, ev: float, seed: int) -> torch.Tensor:
    """The synthetic camera of engine.synth (Poisson-Gaussian noise, sRGB, 8-bit), decoded."""
    generator = torch.Generator().manual_seed(seed)
    return srgb_eotf(record(scene * 2.0**ev, SrgbResponse(), SensorNoise(), generator))


def spotted_scene() -> torch.Tensor:
    """Mid-tones down to deep shadow, and glints a stop above the clip level every 6 pixels."""
    scene = 0.005 + 0.9 * texture(96, 96, seed=5, cells=16) ** 2
    scene[:, 3::6, 3::6] = 2.0
    return scene


@pytest.mark.parametrize("stops", [-1.5, -0.5])
def test_relative_exposure_is_unbiased_on_noisy_frames(stops: float) -> None:
    scene = spotted_scene()
    a, b = noisy_camera(scene, 0.0, seed=1), noisy_camera(scene, stops, seed=2)
    ev = relative_exposure(a, b, srgb_inverse_eotf(a), srgb_inverse_eotf(b))
    assert ev == pytest.approx(stops, abs=0.015)


def test_pixels_next_to_clipped_ones_do_not_vote() -> None:
    # A codec or a resampler spreads a clipped pixel into its neighbours, which then hold lower
    # bounds a little under the clip level; a fifth of the frame's pixels vote for a wrong ratio.
    scene = spotted_scene()
    a, b = noisy_camera(scene, 0.0, seed=1), noisy_camera(scene, -1.0, seed=2)
    glints = torch.zeros(1, 96, 96, dtype=torch.bool)
    glints[:, 3::6, 3::6] = True
    a = torch.where(dilate(glints) & ~glints, 0.8 * a, a)
    ev = relative_exposure(a, b, srgb_inverse_eotf(a), srgb_inverse_eotf(b))
    assert ev == pytest.approx(-1.0, abs=0.015)


@pytest.mark.parametrize("kind", ["saturated", "bright sky"])
def test_relative_exposure_of_frames_without_neutral_mid_tones(kind: str) -> None:
    """No pixel has every channel between 0.15 and 0.92: a saturated red and green scene with
    blue near black, or a sky whose every code lies above 0.92. The ratio is still measured, on
    the brightest channel's floor and up to the clip band."""
    tex = texture(96, 96, seed=3, cells=12)[:1]
    if kind == "saturated":
        scene = torch.cat((0.1 + 0.5 * tex, 0.05 + 0.2 * tex, torch.full_like(tex, 0.0005)))
    else:
        scene = (0.84 + 0.05 * tex).expand(3, -1, -1)
    a, b = noisy_camera(scene, 0.0, seed=1), noisy_camera(scene, -0.12, seed=2)
    a_signal, b_signal = srgb_inverse_eotf(a), srgb_inverse_eotf(b)
    strict = (a_signal.amin(0) >= 0.15) & (a_signal.amax(0) <= 0.92)
    assert int(strict.sum()) < 32
    assert relative_exposure(a, b, a_signal, b_signal) == pytest.approx(-0.12, abs=0.02)


def test_the_ratio_of_saturated_colours_is_read_on_their_brightest_channel() -> None:
    """A red scene whose green and blue lie in the noise: only red clears the floor. Luminance
    would mix in the dark channels, whose noise the clip at 0 lifts, in the darker frame more;
    it read this 1.75-stop ratio 0.014 EV short."""
    tex = texture(96, 96, seed=3, cells=12)[:1]
    scene = torch.cat((0.04 + 0.5 * tex, torch.full_like(tex, 0.0005), torch.zeros_like(tex)))
    a, b = noisy_camera(scene, 0.0, seed=1), noisy_camera(scene, -1.75, seed=2)
    a_signal, b_signal = srgb_inverse_eotf(a), srgb_inverse_eotf(b)
    assert relative_exposure(a, b, a_signal, b_signal) == pytest.approx(-1.75, abs=0.004)


def test_unmeasured_exposure_steps_follow_the_measured_rate() -> None:
    # Auto exposure changes smoothly: a gap takes the rate interpolated across it, a shot's ends
    # the nearest measured rate, and a shot with nothing measured keeps its exposure.
    filled = fill_unmeasured([None, -0.1, None, None, -0.4, None])
    assert filled == pytest.approx([-0.1, -0.1, -0.2, -0.3, -0.4, -0.4])
    assert fill_unmeasured([None, None]) == [0.0, 0.0]
    assert fill_unmeasured([0.05, 0.0]) == [0.05, 0.0]


def test_unclipped_weight_keeps_values_up_to_the_clip_band() -> None:
    codes = torch.tensor([0.0, 0.25, 0.5, 0.9, 250 / 255, 253 / 255, 1.0]).view(1, 1, -1).expand(3, 1, -1)
    weight = unclipped_weight(codes)[0, 0]
    # The Reinhard hat below mid-grey, full weight above it until 4 codes below white, 0 at white.
    torch.testing.assert_close(weight[:3], well_exposedness(codes)[0, 0, :3])
    torch.testing.assert_close(weight[3:], torch.tensor([1.0, 1.0, 0.5, 0.0]), atol=1e-5, rtol=0)
    assert float(well_exposedness(codes)[0, 0, 4]) < 0.5  # what the plain hat gave that value


@pytest.mark.parametrize("radius", [1, 2, 3])
def test_morphology_matches_max_pooling(radius: int) -> None:
    mask = torch.rand(1, 23, 31, generator=torch.Generator().manual_seed(radius)) > 0.9
    size = 2 * radius + 1
    grown = tnf.max_pool2d(mask.float().unsqueeze(0), size, stride=1, padding=radius).squeeze(0) > 0
    assert torch.equal(dilate(mask, radius), grown)


def test_min_filter_matches_min_pooling() -> None:
    values = torch.rand(1, 23, 31, generator=torch.Generator().manual_seed(5))
    expected = -tnf.max_pool2d(-values.unsqueeze(0), 3, stride=1, padding=1).squeeze(0)
    assert torch.equal(min_filter(values), expected)


def test_each_frame_is_decoded_once_when_the_cache_holds_the_clip() -> None:
    frames, _ = shot(scene_with_highlights(sun_level=60.0), [2.0 ** (-i / 4) for i in range(12)])
    calls: list[int] = []

    def source(index: int) -> Frame:
        calls.append(index)
        return decoded(frames[index])

    def run(frame_cache_bytes: int) -> list[torch.Tensor]:
        calls.clear()
        r = TemporalReconstructor(source, len(frames), TemporalParams(), make_operator("itm", "bt2408"),
                                  StageContext(), BT2020, frame_cache_bytes=frame_cache_bytes)
        return [r.frame(i)[0] for i in range(len(frames))]

    uncached = run(1)
    assert len(calls) > 2 * len(frames)  # analysis, then every frame and every reference again
    cached = run(10 * 2**20)
    assert sorted(calls) == list(range(len(frames)))
    for a, b in zip(cached, uncached, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_frame_handed_in_is_not_decoded_again() -> None:
    from engine.operators.base import StageContext
    from engine.operators.catalogue import make_operator
    from engine.temporal import TemporalParams, TemporalReconstructor

    frames = [torch.full((3, 16, 24), 0.3 + 0.01 * i) for i in range(6)]
    calls: list[int] = []

    def source(i: int) -> Frame:
        calls.append(i)
        return decoded(frames[i])

    rec = TemporalReconstructor(source, 6, TemporalParams(keyframe_spacing=3),
                                make_operator("itm", "bt2408"), StageContext(), frame_cache_bytes=0)
    rec.analyse()
    calls.clear()
    nits, _ = rec.frame(4, decoded(frames[4]))
    assert 4 not in calls  # the caller's decode was used
    assert torch.allclose(nits, frames[4] * 203.0)  # nothing clipped: the bt2408 placement
