"""OpenEXR: round trips, layers, chromaticities, whiteLuminance, NaN/Inf policy, atomic writes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import colour
import numpy as np
import OpenEXR
import pytest
import torch

from engine.color.primaries import ACES_AP0, BT709, BT2020, P3_D65, convert_primaries
from engine.errors import FormatError, MediaError, OutputError
from engine.io.exr import read_exr, write_exr
from engine.io.open import open_clip

BT2020_ATTRIBUTE = (0.708, 0.292, 0.17, 0.797, 0.131, 0.046, 0.3127, 0.329)
HEADER = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}


def _frame(h: int = 6, w: int = 10) -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    return torch.rand(3, h, w, generator=g) * torch.tensor([1.0, 40.0, 900.0]).view(3, 1, 1)


def _write_raw(path: Path, channels: dict[str, np.ndarray], **attributes: object) -> Path:
    OpenEXR.File({**HEADER, **attributes}, channels).write(str(path))
    return path


@pytest.mark.parametrize("compression", ["none", "zip", "piz", "pxr24"])
def test_half_round_trip_and_exrheader(tmp_path: Path, compression: str) -> None:
    frame = _frame()
    path = tmp_path / "f.exr"
    write_exr(path, frame, compression=compression, white_luminance=100.0)
    back, info = read_exr(path)
    assert (info.pixel_type, info.compression, info.white_luminance) == ("half", compression, 100.0)
    assert info.chromaticities == BT2020
    assert torch.equal(back, frame.half().float())  # all four are lossless for half data
    if shutil.which("exrheader"):
        text = subprocess.run(["exrheader", str(path)], check=True, capture_output=True, text=True).stdout
        assert "R, 16-bit floating-point" in text
        assert "whiteLuminance (type float): 100" in text
        assert "red   (0.708 0.292)" in text and "white (0.3127 0.329)" in text
        assert f"compression (type compression): {compression}" in text


def test_float_round_trip_is_exact_and_file_is_alone(tmp_path: Path) -> None:
    frame = _frame() * 1e5  # beyond half range: float keeps it
    write_exr(tmp_path / "f.exr", frame, half=False, chromaticities=P3_D65)
    back, info = read_exr(tmp_path / "f.exr")
    assert info.pixel_type == "float" and info.chromaticities == P3_D65
    torch.testing.assert_close(back, convert_primaries(frame, P3_D65, BT2020).clamp_min(0), rtol=1e-5, atol=0)
    assert [p.name for p in tmp_path.iterdir()] == ["f.exr"]


def test_half_saturates_instead_of_inf(tmp_path: Path) -> None:
    write_exr(tmp_path / "big.exr", torch.full((3, 2, 2), 1e6))
    back, info = read_exr(tmp_path / "big.exr", strict=True)
    assert info.non_finite == 0 and float(back.max()) == 65504.0


def test_rgba_and_layers(tmp_path: Path) -> None:
    rgba = np.random.default_rng(1).random((4, 5, 4)).astype(np.float16)
    path = _write_raw(tmp_path / "rgba.exr", {"RGBA": rgba}, chromaticities=BT2020_ATTRIBUTE)
    back, info = read_exr(path)
    np.testing.assert_array_equal(back.numpy(), rgba[..., :3].transpose(2, 0, 1).astype(np.float32))
    assert "A" in info.channels
    diffuse = np.full((4, 5), 2.0, np.float32)
    path = _write_raw(tmp_path / "layers.exr", {
        "diffuse.R": diffuse, "diffuse.G": diffuse * 2, "diffuse.B": diffuse * 3,
        "spec.R": diffuse, "spec.G": diffuse, "spec.B": diffuse, "Z": diffuse,
    }, chromaticities=BT2020_ATTRIBUTE)
    back, info = read_exr(path, "diffuse")
    assert info.layers == ("diffuse", "spec") and info.layer == "diffuse" and info.pixel_type == "float"
    np.testing.assert_array_equal(back[:, 0, 0].numpy(), [2.0, 4.0, 6.0])
    with pytest.raises(FormatError, match="no R, G, B channels"):
        read_exr(path)  # two RGB layers and no root RGB: ambiguous
    with pytest.raises(FormatError, match="'beauty'"):
        read_exr(path, "beauty")


def test_no_rgb_channels_is_a_format_error(tmp_path: Path) -> None:
    path = _write_raw(tmp_path / "depth.exr", {"Z": np.ones((3, 3), np.float32)})
    with pytest.raises(FormatError, match=r"depth\.exr: no R, G, B channels \(channels: Z\)"):
        read_exr(path)


def test_chromaticities_are_converted_to_bt2020_like_colour(tmp_path: Path) -> None:
    rgb = np.array([[[0.9, 0.2, 0.1], [0.18, 0.18, 0.18], [0.1, 0.3, 0.8]]], np.float32)
    absent = _write_raw(tmp_path / "709.exr", {"RGB": rgb})  # no attribute: Rec. 709
    back, info = read_exr(absent)
    assert info.chromaticities == BT709
    expected = colour.RGB_to_RGB(rgb, "ITU-R BT.709", "ITU-R BT.2020")
    np.testing.assert_allclose(back.numpy().transpose(1, 2, 0), expected, atol=1e-5)

    ap0 = (*ACES_AP0.red, *ACES_AP0.green, *ACES_AP0.blue, *ACES_AP0.white)
    aces = _write_raw(tmp_path / "aces.exr", {"RGB": rgb}, chromaticities=ap0)
    back, info = read_exr(aces)
    assert info.chromaticities == ACES_AP0
    expected = colour.RGB_to_RGB(rgb, "ACES2065-1", "ITU-R BT.2020",
                                 chromatic_adaptation_transform="Bradford")
    np.testing.assert_allclose(back.numpy().transpose(1, 2, 0), np.maximum(expected, 0), atol=2e-4)


def test_white_luminance_reaches_the_clip(tmp_path: Path) -> None:
    path = _write_raw(tmp_path / "w.exr", {"RGB": np.ones((2, 2, 3), np.float16)}, whiteLuminance=203.0)
    assert read_exr(path)[1].white_luminance == 203.0
    with open_clip(path) as clip:
        assert clip.info.white_luminance == 203.0 and clip.info.tags.transfer == "linear"


def test_nan_inf_are_refused_when_strict_and_replaced_otherwise(tmp_path: Path) -> None:
    rgb = np.ones((2, 3, 3), np.float32)
    rgb[0, 0] = [np.nan, 5.0, np.inf]
    rgb[1, 2] = [-np.inf, -0.5, 7.0]
    path = _write_raw(tmp_path / "bad.exr", {"RGB": rgb}, chromaticities=BT2020_ATTRIBUTE)
    with pytest.raises(FormatError, match=r"bad\.exr: contains 3 NaN/Inf values"):
        read_exr(path, strict=True)
    with pytest.raises(FormatError, match="3 NaN/Inf"):
        open_clip(path)  # clips are strict unless asked otherwise
    back, info = read_exr(path)
    assert (info.non_finite, info.replaced) == (3, 4)
    np.testing.assert_array_equal(back[:, 0, 0].numpy(), [0.0, 5.0, 7.0])  # +Inf -> largest finite
    np.testing.assert_array_equal(back[:, 1, 2].numpy(), [0.0, 0.0, 7.0])


def test_data_window_is_placed_in_the_display_window(tmp_path: Path) -> None:
    data = np.full((2, 3, 3), 4.0, np.float32)
    path = _write_raw(tmp_path / "win.exr", {"RGB": data},
                      dataWindow=(np.array([1, 2], np.int32), np.array([3, 3], np.int32)),
                      displayWindow=(np.array([0, 0], np.int32), np.array([5, 4], np.int32)))
    back, info = read_exr(path)
    assert (info.width, info.height) == (6, 5)
    inside = colour.RGB_to_RGB(np.full(3, 4.0), "ITU-R BT.709", "ITU-R BT.2020")
    expected = np.zeros((3, 5, 6))
    expected[:, 2:4, 1:4] = inside[:, None, None]
    np.testing.assert_allclose(back.numpy(), expected, atol=1e-5)


def test_missing_and_corrupt_files_are_media_errors(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no such EXR file"):
        read_exr(tmp_path / "absent.exr")
    write_exr(tmp_path / "ok.exr", _frame(32, 32), compression="none")
    data = (tmp_path / "ok.exr").read_bytes()
    (tmp_path / "cut.exr").write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match=r"cut\.exr"):
        read_exr(tmp_path / "cut.exr")
    (tmp_path / "fake.exr").write_bytes(b"not an exr")
    with pytest.raises(MediaError, match="not an OpenEXR file"):
        read_exr(tmp_path / "fake.exr")


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        write_exr(tmp_path / "missing" / "f.exr", _frame())

    def fail(self: OpenEXR.File, name: str) -> None:
        Path(name).write_bytes(b"partial")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(OpenEXR.File, "write", fail)
    with pytest.raises(OutputError, match=r"f\.exr: cannot write OpenEXR \(disk on fire\)"):
        write_exr(tmp_path / "f.exr", _frame())
    assert not list(tmp_path.iterdir())
    with pytest.raises(OutputError, match="unknown EXR compression"):
        write_exr(tmp_path / "g.exr", _frame(), compression="lzma")
