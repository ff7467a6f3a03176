"""Renders the per-pixel processor takes give the encoder the planes the stage path gives it,
within 1 code value, on the demo clip; the others keep the stage path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.grade import Grade, OperatorChoice, OutputSettings
from engine.io.encode import VideoWriter
from engine.io.open import open_clip
from engine.pipeline import Pipeline
from engine.processor.formats import TargetFormat
from engine.render import render
from tests.engine.processor.conftest import TARGET_420
from tests.engine.processor.test_demo_clip import DEMO

FRAMES = (10, 13)


def _encoded_planes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, grade: Grade, stages: bool,
                    suffix: str) -> tuple[list[list[np.ndarray]], float]:
    written: list[list[np.ndarray]] = []
    original = VideoWriter.write_planes

    def record(self: VideoWriter, planes: list[np.ndarray]) -> None:
        written.append([np.array(p) for p in planes])
        original(self, planes)

    with monkeypatch.context() as patch:
        patch.setattr(VideoWriter, "write_planes", record)
        if stages:
            patch.setattr(Pipeline, "processor", lambda self, view, target: None)
        summary = render(DEMO, tmp_path / f"{'stages' if stages else 'processor'}{suffix}", grade,
                         frames=FRAMES, device="cpu")
    return written, summary.max_cll


@pytest.mark.parametrize(
    ("fmt", "itm", "tmo", "suffix"),
    [("hdr10", "bt2408", "bt2390", ".mkv"), ("hlg", "masia09", "bt2390", ".mov"),
     ("prores", "bt2446a", "bt2390", ".mov"), ("sdr", "bt2446c", "reinhard", ".mp4")],
)
def test_processor_render_equals_stage_render(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fmt: str,
                                              itm: str, tmo: str, suffix: str) -> None:
    grade = Grade(itm=OperatorChoice(itm), tmo=OperatorChoice(tmo), exposure=0.3, saturation=1.1,
                  output=OutputSettings(format=fmt))
    with open_clip(DEMO) as clip:
        view = {"hdr10": "pq", "prores": "pq"}.get(fmt, fmt)
        assert Pipeline(grade, clip, "cpu").processor(view, TARGET_420) is not None
    fast, fast_cll = _encoded_planes(monkeypatch, tmp_path, grade, False, suffix)
    slow, slow_cll = _encoded_planes(monkeypatch, tmp_path, grade, True, suffix)
    assert len(fast) == len(slow) == FRAMES[1] - FRAMES[0]
    for got, want in zip(fast, slow, strict=True):
        for a, b in zip(got, want, strict=True):
            assert a.shape == b.shape and a.dtype == b.dtype
            assert np.abs(a.astype(np.int64) - b.astype(np.int64)).max() <= 1
    assert fast_cll == pytest.approx(slow_cll, rel=1e-4)


@pytest.mark.parametrize(("itm", "tmo", "fmt", "temporal"), [
    ("huo", "bt2390", "hdr10", False),  # a spatial ITM
    ("bt2408", "durand", "sdr", False),  # a spatial TMO
    ("bt2408", "bt2390", "hdr10", True),
    ("bt2408", "bt2390", "exr", False),
])
def test_other_grades_keep_the_stage_path(itm: str, tmo: str, fmt: str, temporal: bool) -> None:
    grade = Grade(itm=OperatorChoice(itm), tmo=OperatorChoice(tmo), temporal=temporal,
                  output=OutputSettings(format=fmt))
    view = {"hdr10": "pq", "exr": "linear"}.get(fmt, fmt)
    with open_clip(DEMO) as clip:
        assert Pipeline(grade, clip, "cpu").processor(view, TargetFormat(10, TARGET_420.matrix)) is None


def test_the_meter_only_kernel_measures_what_the_encoding_kernel_meters() -> None:
    """The HDR10 analysis pass runs GradeProcessor.light_levels, a kernel that stops at the meter;
    its levels are those of the kernel the encode pass runs, frame by frame (statistics-driven)."""
    grade = Grade(itm=OperatorChoice("masia09"), exposure=0.3, output=OutputSettings(format="hdr10"))
    with open_clip(DEMO) as clip:
        analysis = Pipeline(grade, clip, "cpu").processor("pq", TARGET_420)
        encode = Pipeline(grade, clip, "cpu").processor("pq", TARGET_420)
        assert analysis is not None and encode is not None
        for index, planes in clip.planes(*FRAMES):
            max_light, mean_light = analysis.light_levels(index, planes)
            done = encode(index, planes)
            assert max_light == pytest.approx(done.max_light, rel=1e-6) and max_light > 0
            assert mean_light == pytest.approx(done.mean_light, rel=1e-6)
