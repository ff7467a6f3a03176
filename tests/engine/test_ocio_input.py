"""OpenColorIO input colour spaces against OCIO's own CPU processor on the same pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import PyOpenColorIO
import pytest
import torch

from engine.constants import SDR_REFERENCE_WHITE_NITS
from engine.errors import GradeError
from engine.grade import SourceTransform
from engine.input_transform import InputTransform, resolve_input_transform
from engine.io.tags import ColorTags
from engine.ocio_input import DEFAULT_CONFIG, input_spaces, ocio_cpu
from engine.processor import reference
from engine.processor.build import eotf_ops
from engine.processor.formats import SourceFormat
from tests.engine.test_pipeline import _Info

CAMERA_SPACES = ("S-Log3 S-Gamut3", "ARRI LogC3 (EI800)", "ARRI LogC4", "Apple Log", "V-Log V-Gamut",
                 "ACEScct", "ACEScg")
# Relative to the pixel's largest channel (at least 1.0, diffuse white): a camera gamut's matrix
# subtracts channels of hundreds to give small ones, so float32 rounding of the large channel,
# in OCIO as in the engine, shows in the small one.
TOLERANCE = 1e-4


def _transform(space: str) -> InputTransform:
    info = _Info(ColorTags("bt709", "bt709", "bt709", False))
    return resolve_input_transform(SourceTransform(transfer="ocio", ocio_space=space), info)


def _ocio_rec2020(space: str, codes: np.ndarray) -> np.ndarray:
    """(3, N) codes through OCIO's CPU processor to 'Linear Rec.2020', as (3, N)."""
    pixels = np.ascontiguousarray(codes.T, dtype=np.float32)
    ocio_cpu(DEFAULT_CONFIG, space, "Linear Rec.2020").applyRGB(pixels)
    return pixels.T.astype(np.float64)


def _worst(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Largest difference of (3, N) pixels, relative to each pixel's largest channel (>= 1)."""
    scale = np.maximum(np.abs(theirs).max(axis=0), 1.0)
    return float((np.abs(ours - theirs) / scale).max())


@pytest.mark.parametrize("space", CAMERA_SPACES)
def test_both_frame_paths_match_ocio(space: str) -> None:
    """The CPU path (OCIO's processor with the engine's AP0 -> BT.2020 matrix) and the torch table
    (the CUDA path, run here on the CPU) against OCIO's 'Linear Rec.2020' on the same pixels."""
    codes = torch.rand(3, 256, 256, generator=torch.Generator().manual_seed(4))
    codes[:, 0, :4] = torch.tensor([[0.0, 1.0, 0.5, 5e-6]] * 3)  # black, 1.0, mid, Apple Log's toe
    transform = _transform(space)
    assert transform.hdr and transform.nits_per_unit == SDR_REFERENCE_WHITE_NITS
    theirs = _ocio_rec2020(space, codes.reshape(3, -1).numpy())
    ours = transform.apply(codes).reshape(3, -1).double().numpy() / SDR_REFERENCE_WHITE_NITS
    assert _worst(ours, theirs) <= 1e-6  # OCIO itself, up to the two matrices' float32 rounding
    assert transform.ocio is not None
    table = transform.ocio.apply_table(codes).reshape(3, -1).double().numpy()
    assert _worst(table, theirs) <= TOLERANCE


@pytest.mark.parametrize("space", ["S-Log3 S-Gamut3", "ARRI LogC3 (EI800)", "ACEScg"])
def test_processor_ops_match_ocio(space: str) -> None:
    """The fused processor's source ops (its float64 reference) on every 10-bit R'G'B' code."""
    transform = _transform(space)
    source = SourceFormat(10, True, None)  # R'G'B' codes, as gbrp10 decodes
    ops = eotf_ops(transform, source)
    codes = torch.arange(1024, dtype=torch.float64).repeat(3, 1)
    codes[1] = codes[1].flip(0)  # not grey: the matrix must act
    theirs = _ocio_rec2020(space, (codes / 1023.0).numpy())
    ours = reference.evaluate(ops, codes).numpy() / SDR_REFERENCE_WHITE_NITS
    assert _worst(ours, theirs) <= TOLERANCE


def test_studio_config_lists_camera_spaces() -> None:
    spaces = input_spaces()
    assert set(CAMERA_SPACES) <= set(spaces)
    assert "Raw" not in spaces and "sRGB - Display" not in spaces  # data, display-referred


def test_unknown_space_and_config_are_grade_errors(tmp_path: Path) -> None:
    with pytest.raises(GradeError, match="no colour space 'S-Log9'"):
        _transform("S-Log9")
    with pytest.raises(GradeError, match=r"needs source\.ocio_space"):
        _transform("")
    info = _Info(ColorTags("bt709", "bt709", "bt709", False))
    with pytest.raises(GradeError, match="cannot load the OpenColorIO config"):
        resolve_input_transform(SourceTransform(transfer="ocio", ocio_space="x",
                                                ocio_config=str(tmp_path / "missing.ocio")), info)


def test_a_space_that_is_not_curve_and_matrix_is_refused(tmp_path: Path) -> None:
    """A colour space with a different gamma per channel cannot be baked as one shared curve."""
    config = PyOpenColorIO.Config.CreateRaw()
    odd = PyOpenColorIO.ColorSpace(name="odd gammas")
    odd.setTransform(PyOpenColorIO.ExponentTransform([2.2, 1.8, 2.6, 1.0]),
                     PyOpenColorIO.COLORSPACE_DIR_TO_REFERENCE)
    config.addColorSpace(odd)
    config.addColorSpace(PyOpenColorIO.ColorSpace(name="linear"))  # the reference itself, not data
    config.setRole(PyOpenColorIO.ROLE_INTERCHANGE_SCENE, "linear")
    path = tmp_path / "odd.ocio"
    path.write_text(config.serialize())
    info = _Info(ColorTags("bt709", "bt709", "bt709", False))
    with pytest.raises(GradeError, match="'odd gammas' does not keep grey neutral"):
        resolve_input_transform(SourceTransform(transfer="ocio", ocio_space="odd gammas",
                                                ocio_config=str(path)), info)
