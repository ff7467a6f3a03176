"""The `camera-lut` source transfer: a camera's inverse response read from a 1-D .cube file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import PyOpenColorIO
import pytest
import torch

from engine.color.primaries import BT709, BT2020, convert_primaries
from engine.crf.camera_lut import camera_lut_response, read_camera_lut, write_camera_lut
from engine.errors import FormatError, GradeError
from engine.grade import Grade, OperatorChoice, SourceTransform
from engine.input_transform import resolve_input_transform
from engine.io.open import open_clip
from engine.pipeline import Pipeline
from engine.processor.build import eotf_ops
from engine.processor.ops import UniformLut
from engine.processor.optimise import optimise
from engine.processor.reference import evaluate
from engine.temporal.crf import linearise
from tests.engine.crf.scenes import sdr_clip
from tests.engine.processor.conftest import SOURCE

CUBE = torch.linspace(0.0, 1.0, 1024, dtype=torch.float64) ** 3.0  # code 0.5 reads 1/8 of the clip


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sdr_clip(tmp_path_factory.mktemp("camera_lut") / "clip.mp4", 2)


def _cube(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def test_a_written_lut_reads_back_and_opencolorio_reads_the_same_curve(tmp_path: Path) -> None:
    path = write_camera_lut(tmp_path / "camera.cube", CUBE.float(), 'a "cube" camera')
    text = path.read_text()
    assert text.startswith("TITLE \"a 'cube' camera\"\n") and "LUT_1D_SIZE 1024\n" in text
    table = read_camera_lut(path)
    assert table.shape == (1024,) and torch.allclose(table.double(), CUBE, atol=1e-7)
    # A trusted peer: OpenColorIO's own .cube reader, linear between entries as linearise is.
    config = PyOpenColorIO.Config.CreateRaw()
    transform = PyOpenColorIO.FileTransform(src=str(path), interpolation=PyOpenColorIO.INTERP_LINEAR)
    processor = config.getProcessor(transform).getDefaultCPUProcessor()
    codes = torch.rand(3, 1, 300, generator=torch.Generator().manual_seed(1))
    peer = np.asarray(codes.permute(1, 2, 0).numpy(), dtype=np.float32).copy()
    processor.applyRGB(peer)
    assert np.allclose(peer.transpose(2, 0, 1), linearise(codes, table).numpy(), atol=1e-6)
    assert np.allclose(peer.transpose(2, 0, 1), codes.numpy() ** 3.0, atol=2e-6)


def test_a_manufacturer_style_lut_is_resampled_normalised_and_its_foot_floored(tmp_path: Path) -> None:
    """A log-to-linear table over a wider domain, reading 4.0 at code 1.0 and below zero at the
    foot: the engine gets it over codes 0 to 1, 1.0 at the clip, no negative light."""
    codes = np.linspace(-0.5, 1.5, 9)
    light = 2.0 ** (8.0 * codes - 6.0) - 0.02  # 4.0 - 0.02 at code 1
    rows = "".join(f"{v} {v} {v}\n" for v in light)
    path = _cube(tmp_path / "log.cube", f"# a comment\nTITLE \"log\"\nLUT_1D_SIZE 9\n"
                 f"DOMAIN_MIN -0.5 -0.5 -0.5\nDOMAIN_MAX 1.5 1.5 1.5\n{rows}")
    table = read_camera_lut(path).double()
    on_codes = np.interp(np.linspace(0.0, 1.0, 9), codes, light)
    assert table.shape == (9,) and float(table[-1]) == 1.0
    assert np.allclose(table.numpy(), np.maximum(on_codes / on_codes[-1], 0.0), atol=1e-6)
    ranged = _cube(tmp_path / "range.cube", "LUT_1D_SIZE 3\nLUT_1D_INPUT_RANGE 0 2\n0 0 0\n1 1 1\n2 2 2\n")
    assert torch.allclose(read_camera_lut(ranged), torch.tensor([0.0, 0.5, 1.0]))


@pytest.mark.parametrize(("body", "problem"), [
    (None, "camera LUT not found"),
    ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 8, "is a 3-D LUT"),
    ("0 0 0\n1 1 1\n", "no LUT_1D_SIZE"),
    ("LUT_1D_SIZE 4\n0 0 0\n0.5 0.5 0.5\n1 1 1\n", "holds 3 rows where LUT_1D_SIZE says 4"),
    ("LUT_1D_SIZE 1\n1 1 1\n", "whole number from 2"),
    ("LUT_1D_SIZE 2\n0 zero 0\n1 1 1\n", "line 2: '0 zero 0' is not 3 numbers"),
    ("LUT_1D_SIZE 2\n0 0\n1 1 1\n", "line 2: 2 numbers where 3 belong"),
    ("LUT_1D_SIZE 2\n0 0 nan\n1 1 1\n", "NaN or Inf"),
    ("LUT_1D_SIZE 2\n0 0 0\n1 0.5 1\n", "a different curve per channel"),
    ("LUT_1D_SIZE 3\n0 0 0\n0.8 0.8 0.8\n0.5 0.5 0.5\n", "never fall"),
    ("LUT_1D_SIZE 2\n0 0 0\n-1 -1 -1\n", "must read positive light"),
    ("LUT_1D_SIZE 2\nDOMAIN_MIN 0.1 0.1 0.1\n0 0 0\n1 1 1\n", "does not cover code values 0 to 1"),
    ("LUT_1D_SIZE 2\n0 0 0\nTITLE \"late\"\n1 1 1\n", "keyword TITLE after the table's rows"),
    ("LUT_1D_SIZE 2\nLUT_IN_VIDEO_RANGE\n0 0 0\n1 1 1\n", "unknown keyword"),
])
def test_a_file_that_is_no_camera_response_is_refused_naming_it(tmp_path: Path, body: str | None,
                                                                 problem: str) -> None:
    path = tmp_path / "bad.cube"
    if body is not None:
        _cube(path, body)
    with pytest.raises(GradeError, match=problem) as caught:
        read_camera_lut(path)
    assert caught.value.path == path and "\n" not in str(caught.value)


def test_a_lut_is_parsed_once_per_version_of_its_file(tmp_path: Path) -> None:
    """A Pipeline is built per grade edit: the same file gives the same parsed table back, and
    an edited one (another size or modification time) is read again."""
    path = write_camera_lut(tmp_path / "camera.cube", CUBE.float(), "cube")
    first = camera_lut_response(path)
    assert camera_lut_response(str(path)) is first
    write_camera_lut(path, torch.linspace(0.0, 1.0, 512) ** 2.0, "square")
    again = camera_lut_response(path)
    assert again.shape == (512,) and abs(float(again[256]) - (256 / 511) ** 2) < 1e-6
    path.unlink()
    with pytest.raises(GradeError, match="camera LUT not found") as caught:
        camera_lut_response(path)
    assert caught.value.path == path


def test_the_transfer_decodes_through_the_file_in_the_stages_and_the_processor(tmp_path: Path) -> None:
    path = write_camera_lut(tmp_path / "cube.cube", CUBE.float(), "cube")
    transform = resolve_input_transform(SourceTransform(transfer="camera-lut", camera_lut=str(path)), None)
    assert transform.transfer == "camera-lut" and not transform.hdr
    ramp = torch.linspace(0.0, 1.0, 101, dtype=torch.float64).expand(3, 1, -1)
    # A grey ramp keeps R = G = B through BT.709 -> BT.2020: code 0.5 reads an eighth of the clip.
    assert torch.allclose(transform.apply(ramp.float())[1, 0].double(), ramp[1, 0] ** 3.0, atol=2e-6)
    ops = eotf_ops(transform, SOURCE)
    folded = optimise(ops)
    assert isinstance(folded[0], UniformLut)
    codes = ramp[:, 0].clone()
    assert torch.allclose(evaluate(folded, codes), evaluate(ops, codes), rtol=1e-3, atol=1e-6)


def test_a_camera_lut_grade_renders_as_the_same_curve_given_to_the_pipeline(clip_path: Path,
                                                                             tmp_path: Path) -> None:
    """The file route and bench/temporal.py's oracle route (a table given to the Pipeline for the
    'estimated' transfer) are one decode: the same HDR frames, temporal mode included (to the
    file's 8 significant digits)."""
    path = write_camera_lut(tmp_path / "cube.cube", CUBE.float(), "cube")
    from_file = SourceTransform(transfer="camera-lut", camera_lut=str(path), primaries="bt709")
    given = SourceTransform(transfer="estimated", primaries="bt709")
    with open_clip(clip_path) as clip:
        for grade in (Grade(itm=OperatorChoice("bt2408")), Grade(temporal=True)):
            a = Pipeline(grade.replace(source=from_file), clip, "cpu")
            b = Pipeline(grade.replace(source=given), clip, "cpu", response=CUBE.float())
            frames_a = [hdr for _, hdr in a.iter_hdr(0, 2)]
            frames_b = [hdr for _, hdr in b.iter_hdr(0, 2)]
            for x, y in zip(frames_a, frames_b, strict=True):
                assert torch.allclose(x, y, rtol=1e-5, atol=1e-4)
        signal = clip.frame(0)
        linear = Pipeline(Grade(source=from_file), clip, "cpu").source(0, signal) / Grade().reference_white
    assert torch.allclose(linear, convert_primaries(signal.clamp(0.0, 1.0) ** 3.0, BT709, BT2020), atol=2e-6)


def test_the_transfer_needs_a_file_and_sdr_footage(tmp_path: Path) -> None:
    from engine.io.exr import write_exr

    with pytest.raises(GradeError, match=r"needs source\.camera_lut"):
        resolve_input_transform(SourceTransform(transfer="camera-lut"), None)
    path = write_camera_lut(tmp_path / "cube.cube", CUBE.float(), "cube")
    write_exr(tmp_path / "still.exr", torch.ones(3, 4, 4), chromaticities=BT709, white_luminance=100.0)
    grade = Grade(source=SourceTransform(transfer="camera-lut", camera_lut=str(path)))
    with open_clip(tmp_path / "still.exr") as clip, pytest.raises(FormatError, match="SDR camera footage"):
        Pipeline(grade, clip, "cpu")
