"""The learned tone mapper `deep`: output range and colour, exposure invariance, determinism, weights."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from engine.color.luminance import luminance
from engine.errors import FormatError
from engine.models.tone_net import TONE_MODEL, ToneNet, load_tone_net, shipped_tone_net, tone_signal
from engine.models.unet import parameter_count
from engine.models.weights import CHECKSUMS_NAME, MODELS_DIR
from engine.operators.base import StageContext
from engine.operators.catalogue import make_operator
from engine.stats import measure
from tests.engine.models.conftest import hdr_scene


def scene_nits(scale: float = 200.0) -> torch.Tensor:
    return hdr_scene(90, 160, seed=3) * scale


def tone_map(frame: torch.Tensor, **params: object) -> torch.Tensor:
    ctx = StageContext(stats=measure(luminance(frame)))
    return make_operator("tmo", "deep", params).apply(frame, ctx)


def test_output_is_display_relative_and_uses_the_range() -> None:
    out = tone_map(scene_nits())
    assert out.shape == (3, 90, 160) and out.dtype == torch.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    y = luminance(out)
    # Shadows stay dark, the suns reach near peak white, the mean sits at an SDR-like level.
    assert float(y.amin()) < 0.05 and float(y.amax()) > 0.6
    assert 0.05 < float(y.mean()) < 0.5


def test_grey_stays_grey_and_the_signal_is_the_curve_value() -> None:
    frame = luminance(scene_nits()).expand(3, -1, -1).clone()
    out = tone_map(frame)
    assert torch.allclose(out[0], out[1], atol=1e-6) and torch.allclose(out[1], out[2], atol=1e-6)
    # Display light is V^2.4 of the network's signal: BT.1886 encodes it back to V.
    v = tone_signal(shipped_tone_net(), frame[:1][None], measure(luminance(frame)).log_average)[0]
    assert torch.allclose(out[:1], v**2.4, atol=1e-5)


def test_exposure_of_the_master_does_not_matter_but_the_parameter_does() -> None:
    frame = scene_nits()
    base = tone_map(frame)
    assert torch.allclose(tone_map(frame * 8.0), base, atol=1e-5)
    brighter = tone_map(frame, exposure=1.0)
    assert float(luminance(brighter).mean()) > float(luminance(base).mean()) * 1.2


def test_deterministic_and_the_same_from_a_fresh_load() -> None:
    frame = scene_nits()
    first = tone_map(frame)
    assert torch.equal(tone_map(frame), first)
    fresh = load_tone_net()
    v_cached = tone_signal(shipped_tone_net(), luminance(frame)[None], 30.0)
    with torch.no_grad():
        v_fresh = tone_signal(fresh, luminance(frame)[None], 30.0)
    assert torch.equal(v_cached, v_fresh)


def test_shipped_weights_are_small_checked_and_recorded(tmp_path: Path) -> None:
    net = load_tone_net()
    assert isinstance(net, ToneNet) and parameter_count(net) < 100_000
    assert (MODELS_DIR / f"{TONE_MODEL}.safetensors").stat().st_size < 256 * 1024
    meta = json.loads((MODELS_DIR / f"{TONE_MODEL}.json").read_text())
    # Trained without the held-out stills the benchmark reports on.
    assert {"GoldenGate", "sunset"}.isdisjoint(meta["data"]["train_stills"])
    for suffix in (".safetensors", ".json"):
        shutil.copy(MODELS_DIR / f"{TONE_MODEL}{suffix}", tmp_path / f"{TONE_MODEL}{suffix}")
    shutil.copy(MODELS_DIR / CHECKSUMS_NAME, tmp_path / CHECKSUMS_NAME)
    weights = tmp_path / f"{TONE_MODEL}.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="SHA-256 mismatch"):
        load_tone_net(tmp_path)
    config = tmp_path / f"{TONE_MODEL}.json"
    config.write_text(json.dumps({**meta, "model": "highlight"}))
    with pytest.raises(FormatError, match="tone network config"):
        load_tone_net(tmp_path)
