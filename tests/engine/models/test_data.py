"""Training data: exposure that clips the requested share, texture scores, the split, JPEG, and
the temporal examples a grade's own pipeline makes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine.color.luminance import luminance
from engine.constants import CODEC_CLIP_BAND_START
from engine.grade import Grade, SourceTransform
from engine.io.open import open_clip
from engine.models.data import (
    EVAL_STILLS,
    PatchSettings,
    clipping_multiplier,
    jpeg,
    make_patch_bank,
    pipeline_examples,
    texture_score,
    training_stills,
)
from engine.models.refine import REFINE_CHANNELS
from engine.pipeline import Pipeline
from engine.synth import SynthSettings, plan_shot, render_shot
from engine.synth.recording import open_recording
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


def test_pipeline_examples_hold_what_the_grade_renders_and_the_truth_on_its_scale(tmp_path: Path) -> None:
    scene = hdr_scene(144, 256, seed=1)
    settings = SynthSettings(frames=5, motion="pan", exposure="auto", size=(128, 72), crf="srgb", seed=2)
    frames = list(render_shot(scene, plan_shot(scene, settings), settings))
    writer = open_recording(tmp_path / "shot.mp4", "h264", 14, "fast", 128, 72, 24.0)
    for frame in frames:
        writer.write(frame.sdr)
    writer.close()
    grade = Grade(source=SourceTransform(transfer="srgb", primaries="bt709"), temporal=True)
    with open_clip(tmp_path / "shot.mp4") as clip:
        pipeline = Pipeline(grade, clip, device="cpu")
        examples = pipeline_examples(pipeline, [f.scene for f in frames])
        assert examples.features.shape == (5, REFINE_CHANNELS, 72, 128)
        # The classical channels are the frames the grade renders, as the refinement sees them
        # at inference (engine.models.inference: log(1 + nits / reference white)).
        for i in (0, 3):
            rendered = pipeline.hdr(i) / grade.reference_white
            assert torch.allclose(examples.features[i, :3], torch.log1p(rendered), atol=1e-5)
            decoded = pipeline.temporal.reconstructor.source(i)
            unclipped = decoded.code.amax(0) < CODEC_CLIP_BAND_START
            log_ratio = (luminance(examples.radiance[i]) / luminance(decoded.pixels)).log()[0][unclipped]
            raw = (luminance(frames[i].scene) / luminance(decoded.pixels)).log()[0][unclipped]
            # The truth arrives at the scene's scale, and the target is the decoded light's.
            assert float(raw.median().abs()) > 0.5
            assert float(log_ratio.median().abs()) < 0.02
            assert float(log_ratio.abs().quantile(0.9)) < 0.15


def test_pipeline_examples_refuse_a_clip_with_nothing_to_align_on(tmp_path: Path) -> None:
    writer = open_recording(tmp_path / "white.mp4", "h264", 14, "fast", 64, 48, 24.0)
    for _ in range(3):
        writer.write(torch.ones(3, 48, 64))
    writer.close()
    grade = Grade(source=SourceTransform(transfer="srgb", primaries="bt709"), temporal=True)
    with open_clip(tmp_path / "white.mp4") as clip:
        pipeline = Pipeline(grade, clip, device="cpu")
        with pytest.raises(ValueError, match=r"white\.mp4: no frame has unclipped pixels"):
            pipeline_examples(pipeline, [torch.full((3, 48, 64), 5.0)] * 3)
