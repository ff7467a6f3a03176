"""Training: the loss falls on a tiny synthetic set, checkpoints resume bit for bit, the losses."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine.models.data import PatchSettings, make_patch_bank
from engine.models.refine import MASK_CHANNEL, REFINE_CHANNELS, RefineNet
from engine.models.train import (
    Examples,
    TrainSettings,
    learning_rate,
    reconstruction_loss,
    stability_loss,
    train,
)
from engine.models.unet import HighlightNet, UNetConfig
from tests.engine.models.conftest import hdr_scene
from tests.engine.models.interrupt import Killed, kill_at

TINY = UNetConfig(widths=(8, 16))


def _tiny_examples(count: int = 24) -> Examples:
    bank = make_patch_bank([hdr_scene(seed=0), hdr_scene(seed=1)], PatchSettings(size=32, count=count,
                                                                                 candidates=2), seed=5)
    return Examples(bank.sdr, bank.sdr, bank.radiance)


def _quiet(_: str) -> None:
    pass


def test_the_loss_falls_on_a_tiny_set() -> None:
    torch.manual_seed(0)
    model = HighlightNet(TINY)
    settings = TrainSettings(steps=60, batch=4, crop=32, learning_rate=3e-3, log_every=10, seed=1)
    state = train(model, _tiny_examples(), settings, log=_quiet)
    losses = [loss for _, loss in state.history or []]
    assert state.step == 60 and len(losses) == 6
    assert losses[-1] < 0.8 * losses[0]


def test_clipping_bounds_the_gradient_that_reaches_adam() -> None:
    # Adam divides by the gradient's own scale, so a norm clipped far below Adam's epsilon (1e-8)
    # shows as steps ~1e-4 of the unclipped ones: the clip is applied before the update.
    examples = _tiny_examples(8)
    moved = []
    for clip in (0.0, 1e-12):
        torch.manual_seed(0)
        model = HighlightNet(TINY)
        before = [p.detach().clone() for p in model.parameters()]
        train(model, examples, TrainSettings(steps=3, batch=2, crop=24, seed=2, clip_norm=clip), log=_quiet)
        moved.append(sum(float((p.detach() - b).abs().sum()) for p, b in zip(model.parameters(), before,
                                                                           strict=True)))
    assert moved[0] > 0.0 and moved[1] < 0.01 * moved[0]


def test_a_resumed_run_matches_an_uninterrupted_one(tmp_path: Path) -> None:
    examples = _tiny_examples(8)
    settings = TrainSettings(steps=6, batch=2, crop=24, checkpoint_every=3, log_every=3, seed=2)
    torch.manual_seed(0)
    straight = HighlightNet(TINY)
    train(straight, examples, settings, log=_quiet)
    torch.manual_seed(0)
    with pytest.raises(Killed):  # the process dies right after its step-3 checkpoint
        train(HighlightNet(TINY), examples, settings, tmp_path, kill_at(3))
    resumed = HighlightNet(TINY)
    state = train(resumed, examples, settings, tmp_path, _quiet)
    assert state.step == 6
    for (key, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=key)
    assert (tmp_path / "checkpoint.safetensors").is_file() and (tmp_path / "SHA256SUMS").is_file()


def test_reconstruction_loss_is_log_l1_over_the_weighted_pixels() -> None:
    radiance = torch.full((1, 3, 4, 4), 3.0)
    weight = torch.zeros((1, 1, 4, 4))
    weight[..., :2, :] = 1.0
    predicted = torch.log1p(radiance).clone()
    predicted[..., :2, :] += 0.5  # off by 0.5 where it counts
    predicted[..., 2:, :] += 9.0  # ignored
    loss = reconstruction_loss(predicted, radiance, weight, gradient_weight=0.0)
    assert abs(float(loss) - 0.5) < 1e-6
    # A constant offset has no gradient error.
    assert abs(float(reconstruction_loss(predicted, radiance, weight, 1.0)) - 0.5) < 1e-6


def test_learning_rate_decays_from_initial_to_final() -> None:
    settings = TrainSettings(steps=100, learning_rate=1e-3, final_learning_rate=1e-5)
    assert learning_rate(0, settings) == 1e-3
    assert abs(learning_rate(50, settings) - (1e-5 + 0.5 * (1e-3 - 1e-5))) < 1e-12
    assert abs(learning_rate(100, settings) - 1e-5) < 1e-12


def test_stability_loss_vanishes_for_a_warp_equivariant_network() -> None:
    class PerPixel(RefineNet):
        def forward(self, features: torch.Tensor) -> torch.Tensor:
            return features[:, :3] * 2.0

    model = PerPixel()
    features = torch.rand((2, REFINE_CHANNELS, 24, 24))
    features[:, MASK_CHANNEL] = 0.0  # all over-exposed
    batch = Examples(features, torch.ones((2, 3, 24, 24)), torch.ones((2, 3, 24, 24)))
    weight = torch.ones((2, 1, 24, 24))
    generator = torch.Generator().manual_seed(0)
    loss = stability_loss(model, batch, model(features), weight, TrainSettings(), generator)
    # Bilinear resampling of a per-pixel map equals the map of the resampled input.
    assert float(loss) < 1e-5
