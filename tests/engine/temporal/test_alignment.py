"""Relative exposure, optical flow across exposures, cuts and the keyframe schedule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as tnf

from engine.color.luminance import luminance
from engine.temporal import align, relative_exposure, warp, well_exposedness
from engine.temporal.cuts import (
    MAX_CUT_MATCH,
    centred_log_histogram,
    detect_cuts,
    histogram_distance,
    shots_from_cuts,
)
from engine.temporal.exposure import aligned_exposure, matched_exposure
from engine.temporal.flow import (
    Alignment,
    _fit_global_motion,
    _prefer_global,
    compose_flows,
    forward_backward_confidence,
    resize_flow,
)
from engine.temporal.schedule import (
    choose_references,
    neighbour_keyframes,
    reference_candidates,
    shot_keyframes,
)
from tests.engine.temporal.scenes import camera, code_values, texture

SCENE = 0.03 + 0.6 * texture(96, 128, seed=11, cells=6)
OBJECT = 0.004 + 0.008 * texture(16, 16, seed=12, cells=3)  # darker than anything it passes over


def view(dx: int, dy: int, exposure: float) -> torch.Tensor:
    return camera(SCENE[:, 20 + dy : 68 + dy, 30 + dx : 94 + dx], exposure)


def test_well_exposedness_is_the_reinhard_hat() -> None:
    x = torch.tensor([0.0, 0.25, 0.5, 0.9, 1.0]).view(1, 1, 5)
    expected = 1 - (2 * x - 1) ** 12
    torch.testing.assert_close(well_exposedness(x), expected)
    assert float(well_exposedness(x)[0, 0, 2]) == 1.0 and float(well_exposedness(x)[0, 0, 4]) == 0.0


def test_relative_exposure_of_two_static_frames() -> None:
    a, b = view(0, 0, 1.0), view(0, 0, 2.0**-1.5)
    ev = relative_exposure(a, b, code_values(a), code_values(b))
    assert ev == pytest.approx(-1.5, abs=0.02)


@pytest.mark.parametrize(("dx", "dy", "stops"), [(5, -3, 1.0), (-12, 4, -2.0)])
def test_flow_recovers_a_known_shift_across_exposures(dx: int, dy: int, stops: float) -> None:
    key, other = view(0, 0, 1.0), view(dx, dy, 2.0**stops)
    alignment = align(key, other, stops)
    inner = (slice(None), slice(8, -8), slice(16, -16))
    # Key pixel p shows the content `other` holds at p - (dx, dy).
    assert float(alignment.flow[0][inner[1:]].median()) == pytest.approx(-dx, abs=0.1)
    assert float(alignment.flow[1][inner[1:]].median()) == pytest.approx(-dy, abs=0.1)
    assert float(alignment.confidence[inner].median()) > 0.8
    # The warped frame, brought to the key's exposure, matches the key where both are unclipped.
    warped = warp(other, alignment.flow) * 2.0**-stops
    both = (key.amax(0) < 0.9) & (warped.amax(0) < 0.9) & (alignment.confidence[0] > 0.8)
    assert float(((warped - key).abs() / key)[:, both].median()) < 0.02


def test_the_global_motion_wins_unless_the_dense_flow_matches_clearly_better() -> None:
    """The frame moves by (5, -3) and an object in it by (20, 4). Against a dense flow that is
    right to within DIS's tenths of a pixel, the global motion is taken wherever it explains the
    pixels as well, exactly, and the dense flow is kept on the object, which it alone matches."""
    key = view(0, 0, 1.0)
    other = view(5, -3, 1.0)
    key[:, 14:30, 20:36] = camera(OBJECT, 1.0)
    other[:, 18:34, 40:56] = camera(OBJECT, 1.0)
    log = [torch.log2(luminance(f).clamp_min(1e-4)) for f in (key, other)]
    model = torch.tensor([-5.0, 3.0]).view(2, 1, 1).expand(2, 48, 64).clone()
    true = model.clone()
    true[:, 14:30, 20:36] = torch.tensor([20.0, 4.0]).view(2, 1, 1)
    jitter = 0.2 * (torch.rand(2, 48, 64, generator=torch.Generator().manual_seed(3)) - 0.5)
    chosen = _prefer_global(true + jitter, model, log[0], log[1])
    object_core = (slice(17, 27), slice(23, 33))
    torch.testing.assert_close(chosen[:, object_core[0], object_core[1]],
                               (true + jitter)[:, object_core[0], object_core[1]])
    background = torch.ones(48, 64, dtype=torch.bool)
    background[10:34, 16:40] = False  # the object and the pixels whose 5 x 5 window reaches it
    background[:, 59:] = False  # the model leaves the frame there
    assert bool((chosen[:, background] == model[:, background]).all())


def test_a_zoom_is_aligned_from_a_seed_pixels_off() -> None:
    """A view magnified 1.4x, seeded by its true flow shifted by (3, -2) px: the patches DIS
    compares differ in scale by 40 %, so the other frame is first warped by the seed."""
    zoom, centre = 1.4, torch.tensor([31.5, 23.5]).view(2, 1, 1)
    ys, xs = torch.meshgrid(torch.arange(48.0), torch.arange(64.0), indexing="ij")
    grid = torch.stack((xs, ys))
    true = (zoom - 1.0) * (grid - centre)  # key pixel p shows what the zoomed view has at p + true(p)
    # The zoomed view: its pixel q shows the scene at the key's centre + (q - centre) / zoom.
    seen = centre + (grid - centre) / zoom + torch.tensor([30.0, 20.0]).view(2, 1, 1)
    normalised = torch.stack((seen[0] / 127 * 2 - 1, seen[1] / 95 * 2 - 1), dim=-1).unsqueeze(0)
    zoomed = tnf.grid_sample(SCENE.unsqueeze(0), normalised, mode="bicubic", align_corners=True)[0]
    key, other = view(0, 0, 1.0), camera(zoomed.clamp_min(0.0), 0.5)
    seed = true + torch.tensor([3.0, -2.0]).view(2, 1, 1)
    flow = align(key, other, -1.0, initial=seed).flow
    error = (flow - true).norm(dim=0)[8:-8, 12:-12]
    assert float(error.median()) < 0.2


def test_aligned_exposure_of_shifted_frames() -> None:
    a, b = view(0, 0, 1.0), view(7, 2, 2.0**0.8)
    _, ev = aligned_exposure(a, code_values(a), b, code_values(b), 0.0, 640)
    assert ev == pytest.approx(0.8, abs=0.02)


def test_an_unconfirmed_exposure_ratio_is_taken_only_near_the_guess() -> None:
    """No pixel is confidently aligned (a poor guess fails the photometric check): the median over
    the pairs the flow matches consistently both ways is taken when it lands within a stop of the
    guess; nothing is measured when it lands stops away (unrelated frames) or when the flow is
    inconsistent (frames that barely overlap)."""
    key = view(0, 0, 1.0)
    unaligned = Alignment(torch.zeros(2, 48, 64), torch.zeros(1, 48, 64), torch.zeros(2, 48, 64))

    def measured(other: torch.Tensor, guess: float) -> float | None:
        return matched_exposure(key, code_values(key), other, code_values(other),
                                unaligned, guess)

    assert measured(view(0, 0, 2.0**-0.5), -0.2) == pytest.approx(-0.5, abs=0.02)
    elsewhere = camera(0.03 + 0.6 * texture(48, 64, seed=5, cells=6), 2.0**-3)
    assert measured(elsewhere, -0.2) is None
    shift = torch.zeros(2, 48, 64)
    shift[0] = 3.0
    inconsistent = Alignment(shift, torch.zeros(1, 48, 64), shift.clone())  # +3 px out, +3 px back
    assert matched_exposure(key, code_values(key), view(0, 0, 2.0**-0.5),
                            code_values(view(0, 0, 2.0**-0.5)), inconsistent, -0.2) is None


def test_forward_backward_check_rejects_inconsistent_flow() -> None:
    forward = torch.zeros(2, 8, 8)
    forward[0] = 2.0
    consistent = forward_backward_confidence(forward, -forward)
    inconsistent = forward_backward_confidence(forward, torch.zeros(2, 8, 8))
    assert float(consistent.min()) == pytest.approx(1.0)
    # |f + b|² = 4 against a tolerance of 0.01·4 + 0.5 (Sundaram et al. 2010).
    assert float(inconsistent.max()) == pytest.approx(math.exp(-4 / 0.54), rel=1e-4)


def test_exposure_leaves_the_centred_histogram_alone_and_a_cut_does_not() -> None:
    a = view(0, 0, 0.5)
    darker = view(1, 0, 0.25)
    other = camera(0.3 * texture(48, 64, seed=99, cells=3) ** 3, 1.0)
    h = centred_log_histogram(a)
    assert histogram_distance(h, centred_log_histogram(darker)) < 0.1
    assert histogram_distance(h, centred_log_histogram(other)) > 0.4


def test_detect_cuts_uses_a_robust_threshold() -> None:
    distances = [0.05, 0.07, 0.04, 0.9, 0.06, 0.05, 0.3, 0.05]
    assert detect_cuts(distances) == [4, 7]
    assert detect_cuts([0.6] * 8) == []  # uniformly large: alternating exposures, not cuts
    assert shots_from_cuts([4, 7], 10) == [range(0, 4), range(4, 7), range(7, 10)]


def test_a_histogram_jump_between_matching_frames_is_not_a_cut() -> None:
    """A push into a highlight changes the histogram as much as a cut; motion tells them apart."""
    distances = [0.05, 0.07, 0.04, 0.9, 0.06, 0.05, 0.3, 0.05]
    matches = [0.95, 0.95, 0.95, 0.1, 0.95, 0.95, 0.9, 0.95]
    assert detect_cuts(distances, matches=matches) == [4]


def test_alignment_matches_a_moved_view_and_not_another_scene() -> None:
    key = view(0, 0, 0.5)
    moved = view(3, -2, 0.35)
    other = camera(0.3 * texture(48, 64, seed=99, cells=3) ** 3, 1.0)
    assert float(align(key, moved, math.log2(0.35 / 0.5)).confidence.mean()) > 0.8
    assert float(align(key, other, 0.0).confidence.mean()) < MAX_CUT_MATCH


def test_keyframes_and_references_stay_in_their_shot() -> None:
    shot = range(10, 30)
    assert shot_keyframes(shot, 8) == [10, 18, 26, 29]
    assert neighbour_keyframes(20, [10, 18, 26, 29]) == (18, 26)
    assert neighbour_keyframes(18, [10, 18, 26, 29]) == (10, 26)  # a keyframe's, strictly
    assert neighbour_keyframes(10, [10, 18, 26, 29]) == (None, 18)
    assert neighbour_keyframes(29, [10, 18, 26, 29]) == (26, None)
    assert neighbour_keyframes(3, []) == (None, None)
    exposures = [0.0] * 10 + [-0.1 * (i - 10) for i in range(10, 30)] + [-5.0] * 5
    candidates = reference_candidates(18, shot, 4, exposures, min_gain_ev=0.1)
    assert candidates and all(r in shot for r in candidates)
    assert all(exposures[r] <= exposures[18] - 0.1 for r in candidates)
    assert 29 in candidates[:2]  # the darkest half-stop step of the shot comes first
    assert choose_references(candidates, 3) == sorted(candidates[:3])


def test_references_are_picked_by_what_they_reveal() -> None:
    """Set cover over the keyframe's clipped pixels: the darkest frame that sees none of them
    is useless, and a frame adding nothing new once each pixel has two views is left out."""
    left, right = torch.tensor([True] * 6 + [False] * 4), torch.tensor([False] * 6 + [True] * 4)
    reveals = {30: torch.zeros(10, dtype=torch.bool), 12: left, 14: right, 20: left | right, 22: left}
    assert choose_references([30, 12, 14, 20, 22], 6, reveals) == [12, 14, 20]
    assert choose_references([30, 12, 14, 20, 22], 1, reveals) == [20]


def test_every_pixel_gets_a_first_view_before_any_gets_a_second() -> None:
    """A push reveals a keyframe's highlights in slices: frame 12 and 14 show the same eight
    pixels, frame 16 two others. Two references are frame 12 and 16, not a second view of the
    eight; and a pixel only one frame shows is worth a reference however few such pixels are."""
    wide, far = torch.zeros(1000, dtype=torch.bool), torch.zeros(1000, dtype=torch.bool)
    wide[:800], far[800:802] = True, True
    reveals = {12: wide, 14: wide.clone(), 16: far}
    assert choose_references([12, 14, 16], 2, reveals) == [12, 16]
    # A second view has to cover a share of the pixels to be worth a reference: 14 is, 16's
    # two pixels alone would not be.
    assert choose_references([12, 14, 16], 3, reveals) == [12, 14, 16]
    assert choose_references([12, 16, 14], 3, {12: wide, 16: far, 14: far.clone()}) == [12, 16]


def test_chained_flows_add_up_and_resize_with_the_grid() -> None:
    first, second = torch.zeros(2, 12, 16), torch.zeros(2, 12, 16)
    first[0], second[0], second[1] = 2.0, 3.0, -1.0
    chained = compose_flows(first, second)
    assert torch.allclose(chained[:, :, :10], torch.tensor([5.0, -1.0]).view(2, 1, 1).expand(2, 12, 10))
    # Twice the grid (pixel centres at the corners): every vector doubles, less a pixel's rounding.
    resized = resize_flow(chained, (23, 31))
    assert float(resized[0, 5, 5]) == pytest.approx(5.0 * 30 / 15)
    assert float(resized[1, 5, 5]) == pytest.approx(-1.0 * 22 / 11)


def test_global_motion_is_fitted_on_the_textured_pixels() -> None:
    """Over half the frame is a smooth, slightly noisy gradient (a sky), where a regularised flow
    falls short of the motion (here 0.6 of it, itself an affine motion); textured blocks move by
    a 2 % zoom and a shift. The fit follows the texture."""
    h, w = 64, 96
    rng = np.random.default_rng(4)
    image = np.tile(np.linspace(60, 160, w), (h, 1)) + rng.normal(0.0, 0.7, size=(h, w))
    textured = np.zeros((h, w), bool)
    for by in range(0, h, 16):
        for bx in range(0, w, 16):
            textured[by:by + 16, bx:bx + 16] = (by // 16 + bx // 16) % 2 == 0 and rng.random() < 0.8
    assert 0.3 < textured.mean() < 0.5
    image[textured] = rng.integers(20, 235, size=int(textured.sum()))
    image = image.round().astype(np.uint8)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    truth = np.array([[1.02, 0.0, 2.0 - 0.02 * w / 2], [0.0, 1.02, -1.0 - 0.02 * h / 2], [0.0, 0.0, 1.0]])
    flow = np.stack((truth[0, 0] * xs + truth[0, 2] - xs, truth[1, 1] * ys + truth[1, 2] - ys))
    flow[:, ~textured] *= 0.6
    fitted = _fit_global_motion(torch.from_numpy(flow).float(), image)
    assert fitted is not None
    np.testing.assert_allclose(fitted, truth, atol=0.01)
