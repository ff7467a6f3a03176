"""Image sequences and stills: patterns, numbering, PNG/TIFF/JPEG/DPX/EXR pixels, bad sequences."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import OpenEXR
import pytest
import torch

from engine.errors import FormatError, MediaError
from engine.io.exr import write_exr
from engine.io.open import open_clip
from engine.io.sequence import DEFAULT_SEQUENCE_FPS, sequence_pattern_of
from engine.io.tags import ColorTags


def _rgb_image(seed: int, dtype: type = np.uint8, h: int = 6, w: int = 8) -> np.ndarray:
    top = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(0, top + 1, (h, w, 3), dtype=np.int64).astype(dtype)


def _write_cv2(path: Path, rgb: np.ndarray) -> None:
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))


@pytest.mark.parametrize("pattern", ["shot.%04d.png", "shot.####.png"])
def test_png_sequence_patterns_start_anywhere(tmp_path: Path, pattern: str) -> None:
    images = {n: _rgb_image(n) for n in (1001, 1002, 1003)}
    for n, rgb in images.items():
        _write_cv2(tmp_path / f"shot.{n:04d}.png", rgb)
    _write_cv2(tmp_path / "shot.01004.png", _rgb_image(0))  # not a name '%04d' makes
    with open_clip(tmp_path / pattern) as clip:
        info = clip.info
        assert (info.frame_count, info.width, info.height, info.bit_depth) == (3, 8, 6, 8)
        assert info.tags == ColorTags("bt709", "srgb", "rgb", True)
        assert (info.fps, info.time_base) == (DEFAULT_SEQUENCE_FPS, Fraction(1, 24))
        frames = list(clip.frames())
    for (index, frame), rgb in zip(frames, images.values(), strict=True):
        back = (frame * 255).round().numpy().transpose(1, 2, 0)
        np.testing.assert_array_equal(back, rgb, err_msg=str(index))


def test_sixteen_bit_tiff_and_png_are_exact(tmp_path: Path) -> None:
    rgb = _rgb_image(9, np.uint16)
    for name in ("a.0001.tif", "b.0001.png"):
        _write_cv2(tmp_path / name, rgb)
        with open_clip(tmp_path / name) as clip:
            assert (clip.info.bit_depth, clip.info.frame_count) == (16, 1)
            back = clip.frame(0).double().numpy().transpose(1, 2, 0) * 65535
        np.testing.assert_allclose(back, rgb, atol=0.01)


def test_jpeg_still_and_truncated_jpeg(tmp_path: Path) -> None:
    flat = np.zeros((16, 16, 3), np.uint8) + np.array([200, 120, 40], np.uint8)
    _write_cv2(tmp_path / "f.jpg", flat)
    with open_clip(tmp_path / "f.jpg") as clip:
        np.testing.assert_allclose(clip.frame(0).numpy().transpose(1, 2, 0) * 255, flat, atol=3)
    data = (tmp_path / "f.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) - 40])
    with pytest.raises(MediaError, match=r"cut\.jpg: truncated JPEG"):
        open_clip(tmp_path / "cut.jpg")


def test_dpx_10bit_code_values(tmp_path: Path) -> None:
    codes = np.random.default_rng(4).integers(0, 1024, (3, 4, 6)).astype(np.uint16)  # R, G, B planes
    frame = av.VideoFrame(6, 4, "gbrp10le")
    for plane, values in zip(frame.planes, (codes[1], codes[2], codes[0]), strict=True):
        np.frombuffer(plane, np.uint16).reshape(plane.height, -1)[:, :6] = values
    encoder = av.CodecContext.create("dpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 6, 4, "gbrp10le"
    packets = encoder.encode(frame) + encoder.encode(None)
    (tmp_path / "plate.0100.dpx").write_bytes(b"".join(bytes(p) for p in packets))
    with open_clip(tmp_path / "plate.%04d.dpx") as clip:
        assert (clip.info.bit_depth, clip.info.codec, clip.info.tags.matrix) == (10, "dpx", "rgb")
        back = clip.frame(0).double().numpy() * 1023
    np.testing.assert_allclose(back, codes, atol=1e-3)


def test_exr_folder_is_a_linear_sequence(tmp_path: Path) -> None:
    for n in range(7, 10):
        write_exr(tmp_path / f"beauty_{n}.exr", torch.full((3, 4, 4), float(n)), white_luminance=100.0)
    (tmp_path / "notes.txt").write_text("ignored")
    with open_clip(tmp_path) as clip:
        assert (clip.info.frame_count, clip.info.white_luminance, clip.info.codec) == (3, 100.0, "exr")
        assert clip.info.tags.is_hdr() and clip.info.tags.primaries == "bt2020"
        assert [float(f[1, 0, 0]) for _, f in clip.frames()] == [7.0, 8.0, 9.0]


def test_exr_sequence_frame_rate_and_bad_frame(tmp_path: Path) -> None:
    rgb = np.random.default_rng(3).uniform(0.0, 4.0, (3, 4, 3)).astype(np.float32)
    # BT.2020 chromaticities: read without a primaries conversion, so values come back as stored.
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
              "framesPerSecond": Fraction(25, 1),
              "chromaticities": (0.708, 0.292, 0.17, 0.797, 0.131, 0.046, 0.3127, 0.329)}
    OpenEXR.File(header, {"RGB": rgb}).write(str(tmp_path / "s.01.exr"))
    bad = rgb.copy()
    bad[0, 0, 0] = bad[2, 3, 1] = np.nan
    bad[1, 2, 2] = np.inf
    bad[2, 0, 0] = -np.inf
    OpenEXR.File(header, {"RGB": bad}).write(str(tmp_path / "s.02.exr"))
    with open_clip(tmp_path / "s.##.exr") as clip:
        assert clip.info.fps == 25
        with pytest.raises(FormatError, match=r"s\.02\.exr: contains 4 NaN/Inf"):
            clip.frame(1)
    with open_clip(tmp_path / "s.##.exr", strict=False) as clip:
        np.testing.assert_array_equal(clip.frame(0).numpy(), rgb.transpose(2, 0, 1))
        back = clip.frame(1).numpy().transpose(1, 2, 0)
    # NaN and -Inf read as 0, +Inf as the frame's largest finite value; the rest bit-for-bit.
    expected = rgb.copy()
    expected[0, 0, 0] = expected[2, 3, 1] = expected[2, 0, 0] = 0.0
    expected[1, 2, 2] = np.nanmax(np.where(np.isfinite(bad), bad, np.nan))
    assert back[0, 0, 0] == back[2, 3, 1] == back[2, 0, 0] == 0.0
    assert back.tobytes() == expected.tobytes()


def test_bad_sequences(tmp_path: Path) -> None:
    for n in (1, 2, 5):
        _write_cv2(tmp_path / f"gap.{n}.png", _rgb_image(n))
    with pytest.raises(MediaError, match="frames 3-4 are missing"):
        open_clip(tmp_path / "gap.%d.png")
    with pytest.raises(MediaError, match="no files match"):
        open_clip(tmp_path / "none.####.png")
    _write_cv2(tmp_path / "size.1.png", _rgb_image(1))
    _write_cv2(tmp_path / "size.2.png", _rgb_image(2, h=8))
    clip = open_clip(tmp_path / "size.#.png")
    with pytest.raises(MediaError, match=r"size\.2\.png: frame is 8x8"):
        clip.frame(1)
    (tmp_path / "junk.1.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(MediaError, match=r"junk\.1\.png: unreadable or corrupt PNG"):
        open_clip(tmp_path / "junk.#.png")
    write_exr(tmp_path / "a_1.exr", torch.zeros(3, 2, 2))
    write_exr(tmp_path / "b_1.exr", torch.zeros(3, 2, 2))
    with pytest.raises(MediaError, match="several EXR sequences"):
        open_clip(tmp_path)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_frame_vanishing_during_decode_is_no_such_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """A file removed between the existence check and the decode (an unmounted drive mid-read)
    is reported as gone, not as a corrupt image; the render fault test met this race in CI."""
    for n in (1, 2):
        _write_cv2(tmp_path / f"f.{n}{suffix}", _rgb_image(n))
    clip = open_clip(tmp_path / f"f.#{suffix}")
    real_is_file = Path.is_file

    def vanishes_after_check(self: Path) -> bool:
        present = real_is_file(self)
        if self.name == f"f.2{suffix}":
            self.unlink()
        return present

    monkeypatch.setattr(Path, "is_file", vanishes_after_check)
    with pytest.raises(MediaError, match=rf"f\.2\{suffix}: no such file$"):
        clip.frame(1)


def test_sequence_pattern_of_a_frame(tmp_path: Path) -> None:
    """A frame's pattern keeps its padding; frames of another padding or name are not its siblings."""
    for name in ("beauty.0009.exr", "beauty.0010.exr", "beauty.011.exr", "depth.0009.exr", "single_7.exr"):
        write_exr(tmp_path / name, torch.zeros(3, 2, 2))
    pattern = sequence_pattern_of(tmp_path / "beauty.0009.exr")
    assert pattern == tmp_path / "beauty.%04d.exr"
    assert open_clip(pattern).info.frame_count == 2
    assert sequence_pattern_of(tmp_path / "beauty.011.exr") is None  # no other three-digit frame
    assert sequence_pattern_of(tmp_path / "depth.0009.exr") is None
    assert sequence_pattern_of(tmp_path / "single_7.exr") is None
    assert sequence_pattern_of(tmp_path / "missing.0001.exr") is None
