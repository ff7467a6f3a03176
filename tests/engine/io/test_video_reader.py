"""The PyAV reader: exact Y'CbCr -> R'G'B', default tags, rotation, counting, seeking, bad files."""

from __future__ import annotations

import random
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import colour
import numpy as np
import pytest
import torch

from engine.errors import MediaError
from engine.io.open import open_clip
from engine.io.tags import ColorTags, tags_from_codes
from engine.io.video import VideoClip
from tests.engine.io.conftest import index_luma, read_index, write_planes_video

# (Y', Cb, Cr) patches in 10-bit narrow range: black, white, a red, a dark cyan, mid grey.
PATCHES_10 = [(64, 512, 512), (940, 512, 512), (250, 409, 960), (300, 700, 200), (502, 512, 512)]
# 8-bit full range: black, white, and three colours.
PATCHES_8 = [(0, 128, 128), (255, 128, 128), (76, 85, 255), (150, 44, 21), (29, 255, 107)]
PATCH = 16


def _patch_planes(patches: list[tuple[int, int, int]], chroma_div: int, dtype: type) -> list[np.ndarray]:
    """One row of PATCH x PATCH patches; chroma planes subsampled horizontally by chroma_div."""
    y = np.concatenate([np.full((PATCH, PATCH), p[0], dtype) for p in patches], axis=1)
    cw = PATCH // chroma_div
    cb = np.concatenate([np.full((PATCH, cw), p[1], dtype) for p in patches], axis=1)
    cr = np.concatenate([np.full((PATCH, cw), p[2], dtype) for p in patches], axis=1)
    return [y, cb, cr]


def _patch_centres(rgb: torch.Tensor, count: int) -> np.ndarray:
    """(count, 3) R'G'B' at each patch's centre."""
    c = PATCH // 2
    return np.stack([rgb[:, c, i * PATCH + c].numpy() for i in range(count)])


def test_10bit_422_limited_range_matches_colour_science(tmp_path: Path) -> None:
    planes = _patch_planes(PATCHES_10, 2, np.uint16)
    path = write_planes_video(
        tmp_path / "p.mkv", [planes], pix_fmt="yuv422p10le",
        color={"color_range": 1, "colorspace": 1, "color_primaries": 1, "color_trc": 1},
    )
    with open_clip(path) as clip:
        assert clip.info.tags == ColorTags("bt709", "bt709", "bt709", False)
        assert (clip.info.bit_depth, clip.info.pixel_format) == (10, "yuv422p10le")
        got = _patch_centres(clip.frame(0), len(PATCHES_10))
    expected = colour.YCbCr_to_RGB(
        np.array(PATCHES_10, float), K=colour.WEIGHTS_YCBCR["ITU-R BT.709"],
        in_bits=10, in_legal=True, in_int=True,
    )
    np.testing.assert_allclose(got, np.clip(expected, 0, 1), atol=1 / 1023)
    # Narrow-range black and white are exactly 0 and 1.
    np.testing.assert_allclose(got[:2], [[0, 0, 0], [1, 1, 1]], atol=1e-6)


def test_8bit_444_full_range_matches_colour_science(tmp_path: Path) -> None:
    planes = _patch_planes(PATCHES_8, 1, np.uint8)
    path = write_planes_video(
        tmp_path / "p.mkv", [planes], pix_fmt="yuv444p", color={"color_range": 2, "colorspace": 6},
    )
    with open_clip(path) as clip:
        assert clip.info.tags.full_range and clip.info.tags.matrix == "bt601"
        got = _patch_centres(clip.frame(0), len(PATCHES_8))
    expected = colour.YCbCr_to_RGB(
        np.array(PATCHES_8, float), K=colour.WEIGHTS_YCBCR["ITU-R BT.601"],
        in_bits=8, in_legal=False, in_int=True,
    )
    np.testing.assert_allclose(got, np.clip(expected, 0, 1), atol=1 / 255)


def test_subsampled_chroma_between_patches_is_interpolated(tmp_path: Path) -> None:
    """4:2:2 bilinear upsampling: the odd luma column between two chroma samples gets their mean."""
    y = np.full((4, 8), 502, np.uint16)
    cb = np.array([[512, 512, 712, 712]] * 4, np.uint16)
    path = write_planes_video(tmp_path / "c.mkv", [[y, cb, np.full((4, 4), 512, np.uint16)]],
                              pix_fmt="yuv422p10le", color={"color_range": 1, "colorspace": 1})
    with VideoClip(path) as clip:
        blue = clip.frame(0)[2, 0].numpy()
    # Cb at luma columns 0, 2, 4, 6 is 512, 512, 712, 712; column 3 sits halfway between 512 and 712.
    b_of = {code: (502 - 64) / 876 + 2 * (1 - 0.0722) * (code - 512) / 896 for code in (512, 612, 712)}
    np.testing.assert_allclose(blue[[2, 3, 4]], [b_of[512], b_of[612], b_of[712]], atol=1e-5)


def test_missing_tags_take_resolution_defaults(tmp_path: Path) -> None:
    y = np.full((48, 64), 128, np.uint8)
    c = np.full((48, 64), 128, np.uint8)
    with open_clip(write_planes_video(tmp_path / "sd.mkv", [[y, c, c]])) as clip:
        assert clip.info.tags == ColorTags("bt601-525", "bt709", "bt601", False)
    assert tags_from_codes(2, 2, 2, 0, height=576) == ColorTags("bt601-625", "bt709", "bt601", False)
    assert tags_from_codes(2, 2, 2, 0, height=1080) == ColorTags("bt709", "bt709", "bt709", False)
    hdr = tags_from_codes(2, 16, 9, 0, height=2160)  # PQ over BT.2020 NCL, primaries left out
    assert hdr == ColorTags("bt2020", "smpte2084", "bt2020nc", False) and hdr.is_hdr()
    assert tags_from_codes(9, 18, 9, 2, height=1080).is_hdr()
    assert not tags_from_codes(1, 14, 1, 1, height=1080).is_hdr()  # BT.2020 10-bit OETF is SDR


def test_rotation_90_is_applied_like_ffmpeg(tmp_path: Path) -> None:
    luma = np.full((32, 64), 30, np.uint8)
    luma[:8, :16] = 220  # bright top-left corner
    neutral = np.full((32, 64), 128, np.uint8)
    path = write_planes_video(tmp_path / "rot.mp4", [[luma, neutral, neutral]], codec="libx264",
                              options={"qp": "0"}, rotation=-90)
    with open_clip(path) as clip:
        assert (clip.info.rotation, clip.info.width, clip.info.height) == (90, 32, 64)
        grey = clip.frame(0)[1].numpy()
    # Display rotation -90 (counter-clockwise) means the picture is turned 90° clockwise.
    expected = (np.rot90(luma, k=-1).astype(float) - 16) / 219
    np.testing.assert_allclose(grey, expected, atol=1 / 255)
    if shutil.which("ffmpeg"):
        raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "gray",
                              "-"], check=True, capture_output=True).stdout
        ffmpeg_grey = np.frombuffer(raw, np.uint8).reshape(64, 32) / 255
        np.testing.assert_allclose(grey, ffmpeg_grey, atol=2 / 255)


@pytest.mark.parametrize(("name", "codec", "options"), [
    ("gop.mp4", "libx264", None),
    ("intra.mkv", "ffv1", {}),
])
def test_frame_count_and_random_access(index_video, name: str, codec: str, options: dict | None) -> None:
    path = index_video(name, count=20, codec=codec, options=options)
    with open_clip(path) as clip:
        assert clip.info.frame_count == 20
        assert clip.info.fps == Fraction(24)
        sequential = list(clip.frames())
    assert [i for i, _ in sequential] == list(range(20))
    assert [read_index(f.numpy()) for _, f in sequential] == list(range(20))
    order = list(range(20))
    random.Random(7).shuffle(order)
    with open_clip(path) as clip:
        for i in [*order, 19, 0, 13, 14, 15]:
            assert torch.equal(clip.frame(i), sequential[i][1]), i
        assert [i for i, _ in clip.frames(7, 11)] == [7, 8, 9, 10]
        with pytest.raises(MediaError, match="outside"):
            clip.frame(20)


def test_frame_pixels_equal_encoded_luma(index_video) -> None:
    with open_clip(index_video("x.mp4", count=3)) as clip:
        grey = clip.frame(2)[0].numpy()
    np.testing.assert_allclose(grey, np.clip((index_luma(2).astype(float) - 16) / 219, 0, 1), atol=1e-6)


def test_sequential_reads_do_not_seek(index_video, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_clip(index_video(count=12)) as clip:
        seeks: list[int] = []
        original = clip._seek
        monkeypatch.setattr(clip, "_seek", lambda index: (seeks.append(index), original(index)))
        for i in range(12):
            clip.frame(i)
        assert seeks == []
        clip.frame(3)
        assert seeks == [3]


def test_truncated_mp4_raises_media_error(index_video, tmp_path: Path) -> None:
    data = index_video(count=10).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # the moov index sits at the end, so it is gone
    with pytest.raises(MediaError, match=r"cut\.mp4"):
        open_clip(cut)


def test_truncated_faststart_mp4_fails_on_the_missing_frames(index_video, tmp_path: Path) -> None:
    path = index_video("fast.mp4", count=20, options={"qp": "0", "g": "5", "preset": "ultrafast"})
    fast = tmp_path / "f.mp4"
    with av.open(str(path)) as src, av.open(str(fast), "w", options={"movflags": "faststart"}) as dst:
        out = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = out
                dst.mux(packet)
    data = fast.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with open_clip(cut) as clip, pytest.raises(MediaError, match=r"cut\.mp4"):
        for _ in clip.frames():
            pass


def test_not_a_video_and_missing_file(tmp_path: Path) -> None:
    text = tmp_path / "notes.mov"
    text.write_text("not a movie at all\n" * 20)
    with pytest.raises(MediaError, match=r"notes\.mov"):
        open_clip(text)
    with pytest.raises(MediaError, match="no such file"):
        open_clip(tmp_path / "absent.mp4")


def test_audio_only_and_zero_frame_files(tmp_path: Path) -> None:
    audio = tmp_path / "tone.wav"
    with av.open(str(audio), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
    with pytest.raises(MediaError, match="no video stream"):
        open_clip(audio)
    empty = tmp_path / "empty.mkv"
    with av.open(str(empty), "w") as container:
        stream = container.add_stream("ffv1", rate=24)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
        container.start_encoding()
    with pytest.raises(MediaError, match=r"empty\.mkv"):
        open_clip(empty)
