"""The pipeline's own stages: input transform resolution, HDR pass-through, grade, output views."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.color.primaries import BT709, BT2020, conversion_matrix
from engine.color.transfer import pq_inverse_eotf
from engine.errors import FormatError
from engine.grade import Grade, SourceTransform
from engine.input_transform import resolve_input_transform
from engine.io.exr import write_exr
from engine.io.open import open_clip
from engine.io.tags import ColorTags
from engine.pipeline import Pipeline


class _Info:
    def __init__(self, tags: ColorTags, white: float | None = None) -> None:
        self.tags, self.white_luminance, self.path = tags, white, Path("clip.mov")


@pytest.mark.parametrize(
    ("transfer", "family", "hdr"),
    [("bt709", "bt1886", False), ("srgb", "srgb", False), ("smpte2084", "pq", True),
     ("arib-std-b67", "hlg", True), ("linear", "linear", True)],
)
def test_transfer_tags_resolve(transfer: str, family: str, hdr: bool) -> None:
    it = resolve_input_transform(SourceTransform(), _Info(ColorTags("bt709", transfer, "bt709", False)))
    assert (it.transfer, it.hdr) == (family, hdr)


def test_bt709_camera_reads_the_scene_light_the_oetf_encoded() -> None:
    tags = ColorTags("bt709", "bt709", "bt709", False)
    camera = resolve_input_transform(SourceTransform(transfer="bt709-camera"), _Info(tags))
    display = resolve_input_transform(SourceTransform(), _Info(tags))
    # BT.709 OETF codes of scene light 0, 0.018, 0.18 and 1 (greys stay grey in BT.2020).
    codes = torch.tensor([0.0, 0.0813, 0.4090, 1.0], dtype=torch.float64).view(1, 1, 4).expand(3, 1, 4)
    assert torch.allclose(camera.apply(codes)[:, 0], torch.tensor([0.0, 0.018, 0.18, 1.0],
                                                                    dtype=torch.float64), atol=2e-4)
    # BT.1886 shows 18 % grey at 0.409^2.4 = 0.117 of white: the SDR system's OOTF.
    assert float(display.apply(codes)[1, 0, 2]) == pytest.approx(0.4090**2.4, rel=1e-9)
    assert not camera.hdr


def test_unknown_transfer_is_a_format_error() -> None:
    with pytest.raises(FormatError, match=r"clip\.mov: unsupported transfer"):
        resolve_input_transform(SourceTransform(), _Info(ColorTags("bt709", "log-c", "bt709", False)))


def test_pq_source_decodes_to_its_nits() -> None:
    tags = ColorTags("bt2020", "smpte2084", "bt2020nc", False)
    it = resolve_input_transform(SourceTransform(), _Info(tags))
    signal = pq_inverse_eotf(torch.tensor([100.0, 1000.0, 203.0])).view(3, 1, 1)
    # float32 PQ: the 78.84 exponent turns 1e-7 of signal into ~5e-5 of luminance.
    assert it.apply(signal).flatten().tolist() == pytest.approx([100.0, 1000.0, 203.0], rel=1e-4)


def test_grade_override_beats_tags() -> None:
    info = _Info(ColorTags("bt709", "bt709", "bt709", False))
    it = resolve_input_transform(SourceTransform(transfer="gamma", gamma=2.2), info)
    assert float(it.apply(torch.full((3, 1, 1), 0.5))[0]) == pytest.approx(0.5**2.2, rel=1e-6)


def test_hdr_exr_passes_through_in_nits_and_grades(tmp_path: Path) -> None:
    rgb709 = torch.tensor([0.5, 1.0, 2.0]).view(3, 1, 1).expand(3, 4, 4).contiguous()
    write_exr(tmp_path / "still.exr", rgb709, chromaticities=BT709, white_luminance=100.0, half=False)
    with open_clip(tmp_path / "still.exr") as clip:
        pipeline = Pipeline(Grade(exposure=1.0, saturation=1.0), clip, device="cpu")
        assert pipeline.input.hdr
        hdr = pipeline.hdr(0)
    expected = conversion_matrix(BT709, BT2020) @ np.array([50.0, 100.0, 200.0]) * 2.0  # +1 stop
    np.testing.assert_allclose(hdr[:, 0, 0].numpy(), expected, rtol=1e-5)


def test_saturation_zero_is_grey_at_the_same_luminance(tmp_path: Path) -> None:
    write_exr(tmp_path / "c.exr", torch.tensor([1.0, 0.2, 0.1]).view(3, 1, 1).expand(3, 2, 2).contiguous(),
              half=False, white_luminance=100.0)
    with open_clip(tmp_path / "c.exr") as clip:
        full = Pipeline(Grade(), clip, device="cpu").hdr(0)
        grey = Pipeline(Grade(saturation=0.0), clip, device="cpu").hdr(0)
    weights = torch.tensor([0.2627, 0.6780, 0.0593]).view(3, 1, 1)
    y = float((full * weights).sum(0)[0, 0])
    assert grey[:, 0, 0].tolist() == pytest.approx([y, y, y], rel=1e-4)


def test_temporal_learned_refinement_keeps_well_exposed_pixels(tmp_path: Path) -> None:
    from tests.cli.conftest import write_sdr_clip

    frames = np.full((6, 48, 64, 3), 90, np.uint8)
    frames[:, 16:32, 20:40] = 255  # a blown patch, clipped in every frame
    clip_path = write_sdr_clip(tmp_path / "c.mp4", frames)
    with open_clip(clip_path) as clip:
        classical = Pipeline(Grade(temporal=True), clip, device="cpu")
        learned = Pipeline(Grade(temporal=True, temporal_params={"refine": "learned"}), clip, device="cpu")
        a, b = classical.hdr(3), learned.hdr(3)
    assert torch.isfinite(b).all()
    # Away from the patch nothing is clipped: the refinement passes those pixels through.
    assert torch.equal(a[:, 40:, :], b[:, 40:, :])
    assert not torch.equal(a[:, 16:32, 20:40], b[:, 16:32, 20:40])  # and it did change the patch


def test_stages_follow_the_source_and_the_grade(tmp_path: Path) -> None:
    from engine.stages.expansion import ExpansionStage
    from engine.stages.grade import GradeStage
    from engine.stages.input import InputStage
    from engine.stages.temporal import TemporalStage
    from tests.cli.conftest import write_sdr_clip

    clip_path = write_sdr_clip(tmp_path / "c.mp4", np.full((3, 16, 16, 3), 90, np.uint8))
    write_exr(tmp_path / "hdr.exr", torch.ones(3, 4, 4), white_luminance=100.0, half=False)
    with open_clip(clip_path) as sdr, open_clip(tmp_path / "hdr.exr") as hdr:
        single = Pipeline(Grade(), sdr, device="cpu")
        temporal = Pipeline(Grade(temporal=True), sdr, device="cpu")
        passthrough = Pipeline(Grade(temporal=True), hdr, device="cpu")
    assert [type(s) for s in single.stages] == [InputStage, ExpansionStage, GradeStage]
    assert single.temporal is None
    assert [type(s) for s in temporal.stages] == [InputStage, TemporalStage, GradeStage]
    assert temporal.stages[1] is temporal.temporal
    # An HDR source has no clipped highlights to rebuild: temporal mode does not apply.
    assert [type(s) for s in passthrough.stages] == [InputStage, GradeStage]
    assert passthrough.temporal is None


@pytest.mark.parametrize(("transfer", "response"),
                         [("srgb", "shoulder"), ("gamma", "shoulder"), ("bt1886", "display"),
                          ("bt709-camera", "display")])
def test_the_shoulder_is_measured_on_srgb_and_gamma_decodes_only(tmp_path: Path, transfer: str,
                                                                  response: str) -> None:
    from tests.cli.conftest import write_sdr_clip

    clip_path = write_sdr_clip(tmp_path / "c.mp4", np.full((3, 16, 16, 3), 90, np.uint8))
    source = SourceTransform(transfer=transfer)
    with open_clip(clip_path) as clip:
        shoulder = Pipeline(Grade(source=source, temporal=True), clip, device="cpu")
        estimated = Pipeline(Grade(source=source, temporal=True, temporal_params={"response": "estimated"}),
                             clip, device="cpu")
    assert shoulder.temporal.reconstructor.params.response == response
    assert estimated.temporal.reconstructor.params.response == "estimated"  # an explicit other choice stands


def test_stages_whose_spaces_do_not_meet_are_refused() -> None:
    from engine.frame import Space
    from engine.stages.base import check_chain
    from engine.stages.grade import GradeStage
    from engine.stages.input import InputStage

    sdr = resolve_input_transform(SourceTransform(), _Info(ColorTags("bt709", "bt709", "bt709", False)))
    with pytest.raises(ValueError, match="grade: nits -> nits cannot take frames in code"):
        check_chain([GradeStage(0.0, 1.0)], Space.CODE, Space.NITS)
    with pytest.raises(ValueError, match="cannot take frames in relative"):
        check_chain([InputStage(sdr), GradeStage(0.0, 1.0)], Space.CODE, Space.NITS)
    with pytest.raises(ValueError, match="end in relative, not nits"):
        check_chain([InputStage(sdr)], Space.CODE, Space.NITS)
