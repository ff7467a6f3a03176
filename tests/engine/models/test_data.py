"""Training data: exposure that clips the requested share, texture scores, the split, the families'
cameras, their codecs and the transfer they declare."""

from __future__ import annotations

import pytest
import torch

from engine.color import transfer as tf
from engine.models.data import (
    EVAL_STILLS,
    PatchSettings,
    clipping_multiplier,
    declared_light,
    display_scale,
    make_patch_bank,
    texture_score,
    through_codec,
    training_stills,
)
from engine.synth.families import CameraShot
from engine.synth.render import SynthSettings
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
    settings = PatchSettings(size=24, count=6, candidates=2)
    a = make_patch_bank([hdr_scene()], settings, seed=3)
    b = make_patch_bank([hdr_scene()], settings, seed=3)
    assert torch.equal(a.sdr, b.sdr) and torch.equal(a.radiance, b.radiance)
    assert a.sdr.shape == (6, 3, 24, 24)
    assert float(a.sdr.max()) <= 1.0 and float(a.radiance.max()) > 2.0


@pytest.mark.parametrize("family", ["phone", "broadcast", "cinema-log", "filmic"])
def test_patch_targets_sit_on_the_scale_of_the_decoded_light(family: str) -> None:
    # Decoded as declared, a log or filmic camera's mid-tones read ~2x the sensor's light and a
    # BT.709 camera's ~0.75x; the targets follow the decoded light wherever it is well exposed.
    bank = make_patch_bank([hdr_scene()], PatchSettings(size=32, count=16, candidates=2, families=(family,)),
                           seed=1)
    radiance = bank.radiance.mean(1, keepdim=True)
    mid = (radiance > 0.05) & (radiance < 0.5)
    ratio = float((bank.sdr.mean(1, keepdim=True)[mid] / radiance[mid]).median())
    assert 0.95 < ratio < 1.05


def test_display_scale_fits_the_unclipped_pixels_only() -> None:
    radiance = torch.full((3, 8, 8), 0.2)
    radiance[:, :2] = 10.0
    light = 2.0 * radiance.clamp(max=0.5)
    signal = light.clone()
    signal[:, :2] = 1.0  # the clipped rows must not pull the scale towards 0.1
    assert display_scale(light, signal, radiance) == pytest.approx(2.0, rel=1e-6)
    assert display_scale(light, torch.ones((3, 8, 8)), radiance) == 1.0  # nothing well exposed


def _camera(codec: str, crf: int, declared: str = "srgb", gamma: float = 2.4) -> CameraShot:
    return CameraShot("test", SynthSettings(codec=codec, video_crf=crf, video_preset="fast"), declared, gamma)


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_the_codec_round_trip_keeps_each_patch_in_place(codec: str) -> None:
    ramp = torch.linspace(0.1, 0.9, 32)
    patches = [(ramp[None, :] * (0.5 + 0.1 * i)).expand(3, 32, 32).contiguous() for i in range(5)]
    clean = through_codec(patches, _camera(codec, 14), mosaic=2)
    assert len(clean) == 5 and clean[4].shape == (3, 32, 32)
    errors = [float((c - p).abs().mean()) for c, p in zip(clean, patches, strict=True)]
    assert max(errors) < 3.0 / 255.0  # every patch read back from its own cell, frame 2 included
    rough = through_codec(patches, _camera(codec, 40), mosaic=2)
    assert sum(float((c - p).abs().mean()) for c, p in zip(rough, patches, strict=True)) > sum(errors)


def test_declared_light_decodes_as_the_grade_does() -> None:
    grey = torch.full((3, 2, 2), 0.5)
    assert torch.allclose(declared_light(grey, _camera("h264", 20, "gamma", 2.4)),
                          torch.full((3, 2, 2), 0.5**2.4), atol=1e-5)
    bt1886 = declared_light(grey, _camera("h264", 20, "bt1886"))
    assert torch.allclose(bt1886, tf.bt1886_eotf(grey), atol=1e-5)


def test_the_held_out_stills_never_train(tmp_path) -> None:
    for name in ("GoldenGate", "sunset", "city"):
        (tmp_path / f"{name}.exr").write_bytes(b"")
    assert [p.stem for p in training_stills(tmp_path)] == ["city"]
    assert set(EVAL_STILLS) == {"GoldenGate", "sunset"}
