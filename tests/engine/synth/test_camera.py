"""Camera motion: sub-pixel accuracy of the resampling and poses that stay inside the still."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.synth.camera import (
    MOTIONS,
    brightest_point,
    camera_path,
    darkest_point,
    invert_affine,
    pose_affine,
    rotation_scale,
    sample_still,
)


def ramp_still(h: int = 60, w: int = 80) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing="ij")
    return torch.stack([0.5 * xs + 0.25 * ys + 1.0, 0.1 * xs + 2.0, 0.3 * ys + 0.5])


def output_grid(w: int, h: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64),
                          indexing="ij")


def test_subpixel_shift_of_a_ramp_is_exact() -> None:
    # Bilinear interpolation reproduces a linear function exactly, so a shifted ramp is known.
    dx, dy = 10.37, 5.81
    out = sample_still(ramp_still(), np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]]), (40, 30))
    y, x = output_grid(40, 30)
    u, v = x + dx, y + dy
    expected = torch.stack([0.5 * u + 0.25 * v + 1.0, 0.1 * u + 2.0, 0.3 * v + 0.5])
    torch.testing.assert_close(out.double(), expected, atol=2e-5, rtol=0.0)


def test_rotated_and_scaled_pose_samples_the_mapped_point() -> None:
    affine = pose_affine((40.0, 30.0), rotation_scale(0.8, math.radians(7.0)), (32, 24))
    out = sample_still(ramp_still(), affine, (32, 24))
    y, x = output_grid(32, 24)
    u = affine[0, 0] * x + affine[0, 1] * y + affine[0, 2]
    v = affine[1, 0] * x + affine[1, 1] * y + affine[1, 2]
    torch.testing.assert_close(out[0].double(), 0.5 * u + 0.25 * v + 1.0, atol=2e-5, rtol=0.0)
    # The centre of the output lands on the pose's centre.
    assert affine @ np.array([15.5, 11.5, 1.0]) == pytest.approx([40.0, 30.0])


def keys_weight(t: float, a: float = -0.75) -> float:
    """Keys' cubic convolution kernel (IEEE TASSP 1981), a = -0.75 as in torch's bicubic."""
    t = abs(t)
    if t <= 1.0:
        return (a + 2.0) * t**3 - (a + 3.0) * t**2 + 1.0
    return a * t**3 - 5.0 * a * t**2 + 8.0 * a * t - 4.0 * a if t < 2.0 else 0.0


def test_bicubic_subpixel_shift_is_keys_convolution() -> None:
    g = torch.Generator().manual_seed(0)
    still = torch.rand(3, 20, 40, generator=g, dtype=torch.float64) + 0.5
    dx, f = 10, 0.3  # shift by 10.3 pixels along x, whole pixels along y
    out = sample_still(still.float(), np.array([[1.0, 0.0, dx + f], [0.0, 1.0, 4.0]]), (16, 8), "bicubic")
    expected = sum(keys_weight(f - k) * still[:, 4:12, dx + k : dx + k + 16] for k in (-1, 0, 1, 2))
    torch.testing.assert_close(out.double(), expected, atol=1e-5, rtol=0.0)


@pytest.mark.parametrize("motion", MOTIONS)
def test_every_pose_stays_inside_the_still(motion: str) -> None:
    still_size, out_size = (120, 80), (64, 48)
    affines = camera_path(motion, 9, out_size, still_size, seed=3, target=(110.0, 5.0))
    assert len(affines) == 9
    corners = np.array([[0, 0, 1], [63, 0, 1], [0, 47, 1], [63, 47, 1]], dtype=np.float64).T
    for a in affines:
        uv = a @ corners
        assert uv.min() >= -1e-9
        assert uv[0].max() <= 119 + 1e-9 and uv[1].max() <= 79 + 1e-9


def test_pan_moves_at_constant_speed_and_static_stays() -> None:
    pan = camera_path("pan", 5, (64, 48), (120, 80))
    steps = np.diff([a[0, 2] for a in pan])
    assert steps == pytest.approx([steps[0]] * 4) and steps[0] > 0
    static = camera_path("static", 3, (64, 48), (120, 80))
    assert all(np.array_equal(a, static[0]) for a in static)


def test_push_zooms_towards_the_target_and_warp_is_seeded() -> None:
    push = camera_path("push", 5, (40, 30), (200, 150), target=(150.0, 100.0))
    assert abs(np.linalg.det(push[0][:, :2]) / np.linalg.det(push[-1][:, :2])) == pytest.approx(1.6**2)
    assert push[-1] @ np.array([19.5, 14.5, 1.0]) == pytest.approx([150.0, 100.0])
    a = camera_path("warp", 6, (64, 48), (120, 80), seed=1)
    b = camera_path("warp", 6, (64, 48), (120, 80), seed=1)
    c = camera_path("warp", 6, (64, 48), (120, 80), seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.allclose(x, y) for x, y in zip(a, c, strict=True))


def test_inverse_affine() -> None:
    a = pose_affine((50.0, 40.0), rotation_scale(1.3, 0.2, 0.01, 0.02), (32, 24))
    point = np.array([7.25, 19.5, 1.0])
    assert invert_affine(a) @ np.append(a @ point, 1.0) == pytest.approx(point[:2], abs=1e-12)


@pytest.mark.parametrize(("target_x", "forwards"), [(150.0, True), (40.0, False)])
def test_pan_of_given_length_ends_on_its_target(target_x: float, forwards: bool) -> None:
    out_size, still_size = (40, 30), (200, 150)
    pan = camera_path("pan", 11, out_size, still_size, target=(target_x, 100.0), pan_widths=1.5)
    centres = [a @ np.array([19.5, 14.5, 1.0]) for a in pan]
    assert centres[-1] == pytest.approx([target_x, 100.0])
    travel = centres[-1][0] - centres[0][0]
    # 1.5 widths of 39 pixel steps; from the left when there is room, else from the right.
    assert travel == pytest.approx(58.5 if forwards else -58.5)
    assert np.diff([c[0] for c in centres]) == pytest.approx([travel / 10] * 10)
    assert all(c[1] == pytest.approx(100.0) for c in centres)


def test_pan_from_a_point_runs_straight_to_its_target_inside_the_still() -> None:
    out_size, still_size = (40, 30), (200, 150)
    # The start lies too close to the corner for a 40 x 30 view: it moves in to (19.5, 14.5).
    pan = camera_path("pan", 11, out_size, still_size, target=(150.0, 100.0), pan_from=(5.0, 3.0))
    centres = np.array([a @ np.array([19.5, 14.5, 1.0]) for a in pan])
    assert centres[0] == pytest.approx([19.5, 14.5])
    assert centres[-1] == pytest.approx([150.0, 100.0])
    assert np.diff(centres, axis=0) == pytest.approx(np.tile((centres[-1] - centres[0]) / 10, (10, 1)))


def test_darkest_and_brightest_boxes_of_a_ramp() -> None:
    still = ramp_still()  # luminance grows with x and y
    # Boxes a quarter of a 40 x 20 view: 10 x 5 pixels, centred 4.5 and 2 pixels in.
    assert darkest_point(still, (40, 20)) == (4.5, 2.0)
    assert brightest_point(still, (40, 20)) == (80 - 5.5, 60 - 3.0)
