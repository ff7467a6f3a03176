"""The analysis's frame-to-frame exposure step under motion and under a sudden exposure jump."""

from __future__ import annotations

import pytest
import torch

from engine.temporal.analysis import _camera_step
from engine.temporal.cuts import centred_log_histogram
from engine.temporal.exposure import reduced_signal
from tests.engine.temporal.scenes import texture

GAMMA = 2.4


def view(scene: torch.Tensor, left: int, exposure: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A 96x160 crop at column `left`, recorded by an 8-bit gamma-2.4 camera, as analysis holds it."""
    light = (scene[:, :, left:left + 160] * exposure).clamp(0.0, 1.0)
    signal = torch.round(light ** (1.0 / GAMMA) * 255.0) / 255.0
    linear = signal**GAMMA
    return linear, reduced_signal(signal, (96, 160)), centred_log_histogram(linear)


def scene_brightening_to_the_right() -> torch.Tensor:
    # Textured mid-tones whose level rises 6 stops from left to right, and a clipped lamp on the
    # right: a pan to the right sees every pixel brighter than the one that sat at its place,
    # though the exposure holds.
    ramp = torch.logspace(-6.5, -0.5, 240, base=2.0).reshape(1, 1, 240)
    scene = (0.5 + 0.5 * texture(96, 240, seed=3, cells=6)) * ramp
    scene[:, 20:70, 150:230] = 6.0
    return scene


def test_a_pan_at_constant_exposure_measures_no_step() -> None:
    # The unaligned ratio reads +1.5 EV here; aligned from that guess alone, the step was not
    # measured at all (None) and the chain filled it in. The smooth guess (0) wins on matching.
    scene = scene_brightening_to_the_right()
    ev, alignment = _camera_step(view(scene, 0, 1.0), view(scene, 60, 1.0), None, 0.0)
    assert ev is not None and ev == pytest.approx(0.0, abs=0.1)
    assert float(alignment.confidence.mean()) > 0.3


def test_a_two_stop_jump_is_followed_in_one_step() -> None:
    scene = scene_brightening_to_the_right()
    ev, _ = _camera_step(view(scene, 0, 1.0), view(scene, 0, 0.25), None, 0.0)
    assert ev == pytest.approx(-2.0, abs=0.1)
