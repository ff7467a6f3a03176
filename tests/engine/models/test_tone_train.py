"""Training of the learned tone mapper: the objective improves, a resumed run is the same run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from engine.models.tone_net import ToneNet, ToneNetConfig
from engine.models.tone_train import (
    KEY_NITS,
    SDR_PEAK_NITS,
    CropSampler,
    PanPairs,
    ToneTrainSettings,
    pair_loss,
    scene_flicker,
    shared_overlap,
    train_tone_net,
)
from tests.engine.models.conftest import hdr_scene
from tests.engine.models.interrupt import Killed, kill_at

SMALL = ToneNetConfig(thumbnail=32, grid=8, knots=12, widths=(8, 16))
SETTINGS = ToneTrainSettings(steps=4, batch=1, crop=176, seed=3, stability_weight=2.0, learning_rate=3e-3,
                             checkpoint_every=2, log_every=2, scene_flicker_weight=0.5)


def sampler() -> CropSampler:
    return CropSampler([hdr_scene(200, 260, seed=0) * 100.0], crop=176, max_shift=6)


def _quiet(_: str) -> None:
    pass


def test_overlap_is_the_same_scene_points() -> None:
    image = torch.arange(20 * 20, dtype=torch.float32).view(1, 20, 20)
    a, b = image[:, 4:14, 5:15], image[:, 6:16, 2:12]  # b is a shifted by (2, -3)
    pa, pb = shared_overlap(a, b, (2, -3))
    assert pa.shape == pb.shape == (1, 8, 7)
    assert torch.equal(pa, pb)


def test_scene_flicker_is_zero_when_the_display_shows_the_scene() -> None:
    # HDR keyed at KEY_NITS and below the SDR peak, shown exactly on the SDR display: every
    # change of the picture is the scene's own.
    generator = torch.Generator().manual_seed(4)
    ya, yb = (torch.rand((1, 1, 24, 24), generator=generator) * 90.0 + 1.0 for _ in range(2))
    keys = torch.full((1,), KEY_NITS)
    va, vb = ((y / SDR_PEAK_NITS) ** (1 / 2.4) for y in (ya, yb))
    assert float(scene_flicker(va, vb, ya, yb, keys)) < 1e-6
    # A second frame shown brighter than the scene became adds a change the scene does not have.
    assert float(scene_flicker(va, vb.clamp(max=0.5) * 2.0, ya, yb, keys)) > 0.01


def test_the_pan_flicker_term_is_zero_for_identical_frames() -> None:
    torch.manual_seed(0)
    net = ToneNet(SMALL)
    pairs = sampler().draw(1, torch.Generator().manual_seed(1))
    same = PanPairs(pairs.a, pairs.a.clone(), [(0, 0)])
    _, terms = pair_loss(net, same, 1.0)
    assert terms["flicker"] == 0.0
    _, moved = pair_loss(net, pairs, 1.0)
    assert 0.0 < moved["q"] <= 1.0


def test_a_resumed_run_is_the_same_run(tmp_path: Path) -> None:
    torch.manual_seed(0)
    start = ToneNet(SMALL).state_dict()
    straight = ToneNet(SMALL)
    straight.load_state_dict(start)
    state = train_tone_net(straight, sampler(), SETTINGS, None, _quiet)
    assert state.step == 4 and state.history is not None and len(state.history) == 2
    killed = ToneNet(SMALL)
    killed.load_state_dict(start)
    with pytest.raises(Killed):  # the process dies right after its step-2 checkpoint
        train_tone_net(killed, sampler(), SETTINGS, tmp_path, kill_at(2))
    resumed = ToneNet(SMALL)
    assert train_tone_net(resumed, sampler(), SETTINGS, tmp_path, _quiet).step == 4
    for key, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=1e-6, msg=key)


def test_training_improves_tmqi_on_fixed_pairs() -> None:
    torch.manual_seed(0)
    net = ToneNet(SMALL)
    pairs = sampler().draw(4, torch.Generator().manual_seed(9))
    with torch.no_grad():
        before = pair_loss(net, pairs, 0.0)[1]["q"]
    train_tone_net(net, sampler(), replace(SETTINGS, steps=12, learning_rate=1e-2), None, _quiet)
    with torch.no_grad():
        after = pair_loss(net, pairs, 0.0)[1]["q"]
    assert after > before
