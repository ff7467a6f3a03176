"""Training data: exposure that clips the requested share, texture scores, the split, JPEG."""

from __future__ import annotations

import torch

from engine.models.data import (
    EVAL_STILLS,
    PatchSettings,
    clipping_multiplier,
    jpeg,
    make_patch_bank,
    texture_score,
    training_stills,
)
from tests.engine.models.conftest import hdr_scene


def test_clipping_multiplier_clips_the_requested_share() -> None:
    scene = hdr_scene()
    for share in (0.05, 0.2):
        k = clipping_multiplier(scene, share)
        clipped = float(((scene * k).amax(0) >= 1.0).float().mean())
        assert abs(clipped - share) <= 2.0 / scene[0].numel() + 1e-3


def test_texture_score_prefers_texture_inside_the_clipped_region() -> None:
    flat = torch.full((3, 16, 16), 5.0)
    textured = flat * (1.0 + 0.5 * (torch.arange(16.0) % 2))
    clipped = torch.ones((1, 16, 16))
    assert texture_score(flat, clipped) == 0.0
    assert texture_score(textured, clipped) > 0.3
    assert texture_score(textured, torch.zeros((1, 16, 16))) == 0.0


def test_patch_bank_is_reproducible_and_clips() -> None:
    settings = PatchSettings(size=24, count=6, candidates=2, jpeg_probability=1.0)
    a = make_patch_bank([hdr_scene()], settings, seed=3)
    b = make_patch_bank([hdr_scene()], settings, seed=3)
    assert torch.equal(a.sdr, b.sdr) and torch.equal(a.radiance, b.radiance)
    assert a.sdr.shape == (6, 3, 24, 24)
    assert float(a.sdr.max()) <= 1.0 and float(a.radiance.max()) > 2.0


def test_jpeg_round_trip_stays_close() -> None:
    signal = torch.linspace(0.0, 1.0, 64).expand(3, 32, 64).contiguous()
    decoded = jpeg(signal, 95)
    assert decoded.shape == signal.shape
    assert float((decoded - signal).abs().mean()) < 2.0 / 255.0
    assert float((jpeg(signal, 10) - signal).abs().mean()) > float((decoded - signal).abs().mean())


def test_the_held_out_stills_never_train(tmp_path) -> None:
    for name in ("GoldenGate", "sunset", "city"):
        (tmp_path / f"{name}.exr").write_bytes(b"")
    assert [p.stem for p in training_stills(tmp_path)] == ["city"]
    assert set(EVAL_STILLS) == {"GoldenGate", "sunset"}
