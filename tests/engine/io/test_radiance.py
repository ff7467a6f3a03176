"""Radiance RGBE: hand-made bytes with known values, OpenCV-written RLE files, bad files."""

from __future__ import annotations

from pathlib import Path

import colour
import cv2
import numpy as np
import pytest

from engine.color.primaries import BT709, BT2020, apply_matrix, conversion_matrix
from engine.errors import MediaError
from engine.io.open import open_clip
from engine.io.radiance import read_radiance


def _flat_file(
    path: Path, pixels: list[tuple[int, int, int, int]], header: str = "FORMAT=32-bit_rle_rgbe\n"
) -> Path:
    """An uncompressed one-row RGBE file (flat scanlines: width < 8 is never run-length coded)."""
    text = f"#?RADIANCE\n{header}\n-Y 1 +X {len(pixels)}\n".encode()
    path.write_bytes(text + bytes(v for p in pixels for v in p))
    return path


def test_hand_made_rgbe_decodes_by_ward_formula(tmp_path: Path) -> None:
    # value = mantissa * 2^(E - 136): E = 129 scales by 1/128, E = 0 is black.
    path = _flat_file(tmp_path / "a.hdr", [(128, 64, 32, 129), (200, 100, 0, 140), (255, 255, 255, 0)])
    frame, info = read_radiance(path)
    rgb709 = np.array([[1.0, 0.5, 0.25], [200 * 16.0, 100 * 16.0, 0.0], [0.0, 0.0, 0.0]])
    expected = rgb709 @ conversion_matrix(BT709, BT2020).T
    np.testing.assert_allclose(frame[:, 0, :].numpy().T, expected, rtol=1e-6)
    assert (info.width, info.height, info.format, info.exposure) == (3, 1, "rgbe", 1.0)


def test_exposure_is_divided_out(tmp_path: Path) -> None:
    path = _flat_file(tmp_path / "e.hdr", [(128, 128, 128, 129)],
                      "FORMAT=32-bit_rle_rgbe\nEXPOSURE=2.0\nEXPOSURE=0.25\n")
    frame, info = read_radiance(path)
    assert info.exposure == 0.5
    np.testing.assert_allclose(frame[:, 0, 0].numpy(), [2.0, 2.0, 2.0], rtol=1e-6)  # grey stays grey


def test_xyze_is_converted_from_equal_energy_xyz(tmp_path: Path) -> None:
    pixels = [(128, 128, 128, 129), (128, 64, 32, 129)]
    path = _flat_file(tmp_path / "x.hdr", pixels, "FORMAT=32-bit_rle_xyze\n")
    frame, info = read_radiance(path)
    assert info.format == "xyze"
    # X = Y = Z is the equal-energy white, which maps to BT.2020's D65 white (R = G = B = Y).
    np.testing.assert_allclose(frame[:, 0, 0].numpy(), [1.0, 1.0, 1.0], atol=1e-4)
    xyz_d65 = colour.adaptation.chromatic_adaptation_VonKries(
        np.array([1.0, 0.5, 0.25]), colour.xy_to_XYZ([1 / 3, 1 / 3]), colour.xy_to_XYZ([0.3127, 0.3290]),
        transform="Bradford",
    )
    expected = colour.XYZ_to_RGB(xyz_d65, "ITU-R BT.2020", illuminant=[0.3127, 0.3290],
                                 chromatic_adaptation_transform=None)
    np.testing.assert_allclose(frame[:, 0, 1].numpy(), np.maximum(expected, 0), atol=1e-4)


def test_opencv_rle_file_round_trips(tmp_path: Path) -> None:
    # Mantissa * 2^k values survive RGBE exactly; 32 pixels per row forces run-length coding.
    rng = np.random.default_rng(5)
    mantissa = rng.integers(128, 256, (8, 32, 1)).astype(np.float32)
    shared = np.concatenate([mantissa, mantissa // 2, mantissa // 4], axis=2)
    rgb = shared * 2.0 ** rng.integers(-9, 4, (8, 32, 1))
    cv2.imwrite(str(tmp_path / "r.hdr"), np.ascontiguousarray(rgb[..., ::-1]).astype(np.float32))
    with open_clip(tmp_path / "r.hdr") as clip:
        assert (clip.info.width, clip.info.height, clip.info.tags.transfer) == (32, 8, "linear")
        frame = clip.frame(0)
    back = apply_matrix(frame, conversion_matrix(BT2020, BT709))
    np.testing.assert_allclose(back.numpy().transpose(1, 2, 0), rgb, rtol=1e-5)


def test_bad_radiance_files(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "ok.hdr"), np.random.default_rng(2).random((16, 32, 3)).astype(np.float32))
    data = (tmp_path / "ok.hdr").read_bytes()
    (tmp_path / "cut.hdr").write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match=r"cut\.hdr: unreadable or truncated"):
        read_radiance(tmp_path / "cut.hdr")
    (tmp_path / "text.hdr").write_text("hello")
    with pytest.raises(MediaError, match="not a Radiance RGBE file"):
        read_radiance(tmp_path / "text.hdr")
