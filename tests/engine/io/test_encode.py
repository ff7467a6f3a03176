"""Video and EXR-sequence writers, checked with the reference readers: ffprobe 5.1, PyAV and OpenEXR."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import OpenEXR
import pytest
import torch
from torch.nn import functional as tnf

from engine.errors import FormatError, MediaError, OutputError
from engine.grade import OutputSettings
from engine.io.encode import VideoTarget, encode_planes, open_frame_writer, open_video_writer
from engine.io.encode_exr import ExrSequenceWriter, open_exr_sequence_writer
from engine.io.hdr_metadata import ContentLightLevel, MasteringDisplay
from engine.synth import SynthSettings, plan_shot, render_shot

REPO = Path(__file__).resolve().parents[3]
FPS = Fraction(24)
SIZE = 64
# ITU-R BT.2100 PQ signal values of 100 and 1000 cd/m² (BT.2408 Table 1 lists 0.51 and 0.75).
PQ_100, PQ_1000 = 0.5081, 0.7518
COLOUR = (0.6, 0.3, 0.2)  # a saturated R'G'B' patch

needs_ffprobe = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe CLI not installed")


def quadrant_frame(size: int = SIZE) -> torch.Tensor:
    """Four flat patches: PQ 100 cd/m² grey, PQ 1000 cd/m² grey, black, and COLOUR."""
    frame = torch.zeros(3, size, size)
    h = size // 2
    frame[:, :h, :h] = PQ_100
    frame[:, :h, h:] = PQ_1000
    frame[:, h:, h:] = torch.tensor(COLOUR).view(3, 1, 1)
    return frame


def write_video(path: Path, target: VideoTarget, frames: int = 3, **kwargs: Any) -> Path:
    writer = open_video_writer(path, target, SIZE, SIZE, FPS, **kwargs)
    for _ in range(frames):
        writer.write(quadrant_frame())
    writer.close()
    return path


def ffprobe(path: Path, *args: str) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args, str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    )
    return json.loads(out.stdout)


def video_stream(path: Path) -> dict:
    return ffprobe(path, "-show_streams", "-select_streams", "v:0")["streams"][0]


def first_frame_side_data(path: Path) -> list[dict]:
    frames = ffprobe(path, "-show_frames", "-read_intervals", "%+#1", "-show_entries", "frame=side_data_list")
    return frames["frames"][0].get("side_data_list", [])


def decoded_planes(path: Path) -> tuple[str, list[np.ndarray]]:
    """The first frame's Y', Cb, Cr code planes as PyAV decodes them, without any conversion."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        dtype = np.uint8 if frame.format.name == "yuv420p" else np.uint16
        planes = [
            np.frombuffer(p, dtype=dtype).reshape(p.height, -1)[:, : p.width].copy() for p in frame.planes[:3]
        ]
        return frame.format.name, planes


def expected_codes(rgb: tuple[float, float, float], weights: str, bits: int) -> np.ndarray:
    """Limited-range Y'CbCr code values from colour-science, the trusted peer."""
    colour = pytest.importorskip("colour")
    return colour.RGB_to_YCbCr(
        np.array(rgb), K=colour.WEIGHTS_YCBCR[weights], in_bits=bits, out_bits=bits,
        out_legal=True, out_int=True,
    )


def patch_centre(plane: np.ndarray, row: int, col: int) -> np.ndarray:
    """The middle half of quadrant (row, col), away from the edges the codec may blur."""
    h, w = plane.shape[0] // 2, plane.shape[1] // 2
    return plane[row * h + h // 4 : row * h + 3 * h // 4, col * w + w // 4 : col * w + 3 * w // 4].astype(int)


def assert_quadrant_codes(planes: list[np.ndarray], weights: str, bits: int, tolerance: int) -> None:
    patches = {(0, 0): (PQ_100,) * 3, (0, 1): (PQ_1000,) * 3, (1, 0): (0.0,) * 3, (1, 1): COLOUR}
    for (row, col), rgb in patches.items():
        want = expected_codes(rgb, weights, bits)
        for plane, code in zip(planes, want, strict=True):
            got = patch_centre(plane, row, col)
            assert np.abs(got - int(code)).max() <= tolerance, (rgb, int(code), np.unique(got))


# -- HDR10 ------------------------------------------------------------------------------------


@needs_ffprobe
@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_hdr10_stream_tags_and_static_metadata(tmp_path: Path, suffix: str) -> None:
    path = write_video(
        tmp_path / f"hdr10{suffix}", VideoTarget("hdr10"),
        mastering=MasteringDisplay.p3_d65(1000.0, 0.0001), light_level=ContentLightLevel(999.2, 399.5),
    )
    stream = video_stream(path)
    assert (stream["codec_name"], stream["profile"], stream["pix_fmt"]) == ("hevc", "Main 10", "yuv420p10le")
    assert stream["color_transfer"] == "smpte2084"
    assert stream["color_primaries"] == "bt2020"
    assert stream["color_space"] == "bt2020nc"
    assert stream["color_range"] == "tv"
    assert stream["chroma_location"] == "topleft"  # BT.2020 delivery siting (engine.color.chroma_siting)
    side = {entry["side_data_type"]: entry for entry in first_frame_side_data(path)}
    mastering = side["Mastering display metadata"]
    assert (mastering["red_x"], mastering["red_y"]) == ("34000/50000", "16000/50000")
    assert (mastering["green_x"], mastering["green_y"]) == ("13250/50000", "34500/50000")
    assert (mastering["blue_x"], mastering["blue_y"]) == ("7500/50000", "3000/50000")
    assert (mastering["white_point_x"], mastering["white_point_y"]) == ("15635/50000", "16450/50000")
    assert (mastering["max_luminance"], mastering["min_luminance"]) == ("10000000/10000", "1/10000")
    light = side["Content light level metadata"]
    assert (light["max_content"], light["max_average"]) == (1000, 400)


def test_hdr10_code_values_decode_back(tmp_path: Path) -> None:
    # CRF 10: top-left chroma puts a blended sample on the quadrants' edge, inside an 8x8 chroma
    # block, whose quantisation noise at the default CRF 18 reaches 3 codes in the patch centre.
    path = write_video(tmp_path / "hdr10.mp4", VideoTarget("hdr10", crf=10), frames=1)
    pix_fmt, planes = decoded_planes(path)
    assert pix_fmt == "yuv420p10le"
    assert [p.shape for p in planes] == [(64, 64), (32, 32), (32, 32)]
    # The task's worked example: PQ 0.5081 -> Y' = round(0.5081 * 876 + 64) = 509.
    assert abs(int(np.median(patch_centre(planes[0], 0, 0))) - 509) <= 1
    assert_quadrant_codes(planes, "ITU-R BT.2020", bits=10, tolerance=2)


def test_hdr10_output_is_deterministic(tmp_path: Path) -> None:
    first = write_video(tmp_path / "a.mp4", VideoTarget("hdr10", preset="fast"))
    second = write_video(tmp_path / "b.mp4", VideoTarget("hdr10", preset="fast"))
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()


def test_sdr_output_is_deterministic(tmp_path: Path) -> None:
    """x264's macroblock tree varies from run to run; a synthetic camera's push into a bright
    light, exposure adapting, is content where it shows, and such clips must be reproducible."""
    generator = torch.Generator().manual_seed(1)
    coarse = torch.rand(1, 3, 60, 90, generator=generator)
    still = tnf.interpolate(coarse, size=(540, 810), mode="bicubic", align_corners=True)[0].clamp(0, 1) * 0.5
    ys, xs = torch.meshgrid(torch.arange(540.0), torch.arange(810.0), indexing="ij")
    still = still + 20.0 * torch.exp(-((xs - 600) ** 2 + (ys - 200) ** 2) / (2 * 30.0**2))
    settings = SynthSettings(frames=40, motion="push", exposure="auto", size=(320, 180), crf="srgb")
    frames = [f.sdr for f in render_shot(still, plan_shot(still, settings), settings)]
    digests = set()
    for attempt in range(4):
        path = tmp_path / f"sdr{attempt}.mp4"
        writer = open_video_writer(path, VideoTarget("sdr", preset="fast"), 320, 180, FPS)
        for frame in frames:
            writer.write(frame)
        writer.close()
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(digests) == 1


# -- HLG, ProRes, SDR -------------------------------------------------------------------------


@needs_ffprobe
def test_hlg_tags(tmp_path: Path) -> None:
    path = write_video(tmp_path / "hlg.mov", VideoTarget("hlg"))
    stream = video_stream(path)
    assert (stream["codec_name"], stream["profile"], stream["pix_fmt"]) == ("hevc", "Main 10", "yuv420p10le")
    assert stream["color_transfer"] == "arib-std-b67"
    tags = (stream["color_primaries"], stream["color_space"], stream["color_range"])
    assert tags == ("bt2020", "bt2020nc", "tv")
    side = {entry["side_data_type"] for entry in first_frame_side_data(path)}
    assert "Mastering display metadata" not in side  # HLG is scene-referred: no ST 2086


@needs_ffprobe
@pytest.mark.parametrize(
    ("signal", "transfer", "primaries", "space", "weights"),
    [
        ("pq", "smpte2084", "bt2020", "bt2020nc", "ITU-R BT.2020"),
        ("sdr", "bt709", "bt709", "bt709", "ITU-R BT.709"),
    ],
)
def test_prores_4444_profile_tags_and_codes(
    tmp_path: Path, signal: str, transfer: str, primaries: str, space: str, weights: str
) -> None:
    path = write_video(tmp_path / "master.mov", VideoTarget("prores", signal=signal), frames=2)
    stream = video_stream(path)
    assert (stream["codec_name"], stream["profile"], stream["codec_tag_string"]) == ("prores", "4444", "ap4h")
    # ffmpeg's ProRes decoder reports 4444 as 12-bit 4:4:4 from version 5 on; older ones as 10-bit.
    assert stream["pix_fmt"] in {"yuv444p10le", "yuv444p12le"}
    assert (stream["color_transfer"], stream["color_primaries"], stream["color_space"]) == (
        transfer, primaries, space,
    )
    pix_fmt, planes = decoded_planes(path)
    assert [p.shape for p in planes] == [(64, 64)] * 3  # no chroma subsampling
    extra_bits = 2 if pix_fmt == "yuv444p12le" else 0
    planes = [(p.astype(int) + (1 << extra_bits >> 1)) >> extra_bits for p in planes]
    assert_quadrant_codes(planes, weights, bits=10, tolerance=2)


@needs_ffprobe
def test_sdr_h264_tags_and_codes(tmp_path: Path) -> None:
    path = write_video(tmp_path / "sdr.mp4", VideoTarget("sdr"))
    stream = video_stream(path)
    assert (stream["codec_name"], stream["profile"], stream["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert (stream["color_transfer"], stream["color_primaries"], stream["color_space"]) == ("bt709",) * 3
    assert stream["color_range"] == "tv"
    _, planes = decoded_planes(path)
    assert_quadrant_codes(planes, "ITU-R BT.709", bits=8, tolerance=1)


def test_planes_match_between_devices() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    frame = torch.rand(3, 32, 48)
    matrix = VideoTarget("hdr10").tags.matrix
    on_cpu = encode_planes(frame, matrix, 10, True)
    on_gpu = encode_planes(frame.cuda(), matrix, 10, True)
    for a, b in zip(on_cpu, on_gpu, strict=True):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # rounding ties may differ by one code


# -- audio ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def audio_sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Half a second of a 440 Hz stereo tone, as AAC in .m4a and as 16-bit PCM in .wav."""
    folder = tmp_path_factory.mktemp("audio")
    tone = (0.25 * np.sin(2 * np.pi * 440 * np.arange(24_000) / 48_000)).astype(np.float32)
    sources = {}
    for name, codec, fmt in (("tone.m4a", "aac", "fltp"), ("tone.wav", "pcm_s16le", "s16")):
        with av.open(str(folder / name), "w") as container:
            stream = container.add_stream(codec, rate=48_000, layout="stereo")
            for start in range(0, tone.size, 1024):
                chunk = np.stack([tone[start : start + 1024]] * 2)
                if fmt == "s16":
                    chunk = (chunk.T.reshape(1, -1) * 32767).astype(np.int16)
                frame = av.AudioFrame.from_ndarray(chunk, format=fmt, layout="stereo")
                frame.sample_rate, frame.pts = 48_000, start
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
        sources[name] = folder / name
    return sources


def audio_packets(path: Path) -> tuple[str, list[bytes]]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return stream.codec_context.name, [bytes(p) for p in container.demux(stream) if p.size]


@pytest.mark.parametrize(("source", "suffix"), [("tone.m4a", ".mp4"), ("tone.wav", ".mov")])
def test_audio_packets_are_copied(
    tmp_path: Path, audio_sources: dict[str, Path], source: str, suffix: str
) -> None:
    writer = open_video_writer(
        tmp_path / f"out{suffix}", VideoTarget("sdr", preset="ultrafast"), SIZE, SIZE, FPS,
        audio_source=audio_sources[source],
    )
    assert writer.notes == ()
    for _ in range(12):  # 0.5 s, the length of the tone
        writer.write(quadrant_frame())
    writer.close()
    codec, copied = audio_packets(tmp_path / f"out{suffix}")
    source_codec, original = audio_packets(audio_sources[source])
    assert codec == source_codec
    # Containers may regroup PCM samples into other packet sizes: compare the byte streams.
    copied_bytes, original_bytes = b"".join(copied), b"".join(original)
    assert copied_bytes == original_bytes[: len(copied_bytes)]
    assert len(copied_bytes) >= 0.9 * len(original_bytes)


def test_pcm_into_mp4_is_transcoded_to_aac_with_a_note(
    tmp_path: Path, audio_sources: dict[str, Path]
) -> None:
    writer = open_video_writer(
        tmp_path / "out.mp4", VideoTarget("sdr", preset="ultrafast"), SIZE, SIZE, FPS,
        audio_source=audio_sources["tone.wav"],
    )
    assert len(writer.notes) == 1
    assert "pcm_s16le" in writer.notes[0] and "transcoded to AAC" in writer.notes[0]
    for _ in range(12):
        writer.write(quadrant_frame())
    writer.close()
    codec, packets = audio_packets(tmp_path / "out.mp4")
    assert codec == "aac" and len(packets) >= 20  # 0.5 s at 1024 samples per AAC frame is 23.4


def test_missing_audio_source_is_a_media_error_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="cannot read the audio source"):
        open_video_writer(
            tmp_path / "out.mp4", VideoTarget("sdr"), SIZE, SIZE, FPS, audio_source=tmp_path / "none.wav"
        )
    assert os.listdir(tmp_path) == []


# -- failures leave nothing -------------------------------------------------------------------


def test_bad_frame_aborts_and_keeps_the_existing_output(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"previous render")
    writer = open_video_writer(target, VideoTarget("hdr10", preset="ultrafast"), SIZE, SIZE, FPS)
    writer.write(quadrant_frame())
    bad = quadrant_frame()
    bad[1, 5, 5] = float("nan")
    with pytest.raises(FormatError, match="frame 1 holds NaN or Inf") as info:
        writer.write(bad)
    assert info.value.path == target
    assert target.read_bytes() == b"previous render"
    assert os.listdir(tmp_path) == ["clip.mp4"]
    with pytest.raises(OutputError, match="closed"):
        writer.close()


def test_abort_removes_the_partial_file(tmp_path: Path) -> None:
    writer = open_video_writer(tmp_path / "clip.mkv", VideoTarget("sdr", preset="ultrafast"), SIZE, SIZE, FPS)
    writer.write(quadrant_frame())
    writer.abort()
    writer.abort()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "target", "width", "message"),
    [
        ("clip.mp4", VideoTarget("prores"), SIZE, "prores needs a .mov file"),
        ("clip.avi", VideoTarget("hdr10"), SIZE, "hdr10 needs a .mp4 or .mov or .mkv file"),
        ("clip.mp4", VideoTarget("hdr10"), 63, "4:2:0 needs even sizes"),
    ],
)
def test_refused_settings_create_nothing(
    tmp_path: Path, name: str, target: VideoTarget, width: int, message: str
) -> None:
    with pytest.raises(OutputError, match=message):
        open_video_writer(tmp_path / name, target, width, SIZE, FPS)
    assert os.listdir(tmp_path) == []


def test_wrong_frame_size_and_empty_close_are_errors(tmp_path: Path) -> None:
    writer = open_video_writer(tmp_path / "a.mp4", VideoTarget("sdr"), SIZE, SIZE, FPS)
    with pytest.raises(FormatError, match=r"expected \(3, 64, 64\)"):
        writer.write(torch.zeros(3, 32, 32))
    writer = open_video_writer(tmp_path / "b.mp4", VideoTarget("sdr"), SIZE, SIZE, FPS)
    with pytest.raises(OutputError, match="no frames were written"):
        writer.close()
    assert os.listdir(tmp_path) == []


def test_full_disk_while_encoding_is_an_output_error(tmp_path: Path) -> None:
    # RLIMIT_FSIZE makes the muxer's write(2) fail with EFBIG past 64 KiB, as ENOSPC would.
    target = tmp_path / "noise.mp4"
    code = (
        "import resource, signal\n"
        "from fractions import Fraction\n"
        "import torch\n"
        "from engine.errors import OutputError\n"
        "from engine.io.encode import VideoTarget, open_video_writer\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))\n"
        "torch.manual_seed(0)\n"
        f"w = open_video_writer({str(target)!r}, VideoTarget('sdr', crf=0, preset='ultrafast'),"
        " 256, 256, Fraction(24))\n"
        "try:\n"
        "    for _ in range(40):\n"
        "        w.write(torch.rand(3, 256, 256))\n"
        "    w.close()\n"
        "except OutputError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{target}: disk full while writing"), result.stdout
    assert os.listdir(tmp_path) == []


# -- EXR sequences ----------------------------------------------------------------------------


def test_exr_sequence_attributes_and_pixels(tmp_path: Path) -> None:
    target = tmp_path / "shot"
    writer = open_exr_sequence_writer(target, compression="piz", nits_per_unit=100.0)
    frames = [torch.rand(3, 8, 16) * 40.0, torch.rand(3, 8, 16) * 0.01]
    for frame in frames:
        writer.write(frame)
    assert not target.exists()
    writer.close()
    assert sorted(os.listdir(target)) == ["shot.000000.exr", "shot.000001.exr"]
    for index, frame in enumerate(frames):
        exr = OpenEXR.File(str(target / f"shot.{index:06d}.exr"))
        header = exr.header()
        assert header["compression"] == OpenEXR.PIZ_COMPRESSION
        assert header["whiteLuminance"] == pytest.approx(100.0)
        # BT.2020 primaries and D65 (ITU-R BT.2020 Table 3), stored as float32.
        expected = (0.708, 0.292, 0.170, 0.797, 0.131, 0.046, 0.3127, 0.3290)
        assert np.allclose(header["chromaticities"], expected, atol=1e-6)
        pixels = exr.channels()["RGB"].pixels
        assert pixels.dtype == np.float16
        assert np.array_equal(pixels, frame.permute(1, 2, 0).numpy().astype(np.float16))


def test_exr_sequence_pattern_in_an_existing_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep")
    writer = open_exr_sequence_writer(tmp_path / "plate.%04d.exr", compression="zip")
    assert isinstance(writer, ExrSequenceWriter)
    writer.write(torch.ones(3, 4, 4))
    writer.close()
    assert sorted(os.listdir(tmp_path)) == ["notes.txt", "plate.0000.exr"]


def test_exr_sequence_abort_and_bad_frames_leave_nothing(tmp_path: Path) -> None:
    writer = open_exr_sequence_writer(tmp_path / "shot")
    writer.write(torch.ones(3, 4, 4))
    writer.abort()
    writer = open_exr_sequence_writer(tmp_path / "shot")
    writer.write(torch.ones(3, 4, 4))
    with pytest.raises(FormatError, match="frame 1 holds NaN or Inf") as info:
        writer.write(torch.full((3, 4, 4), float("inf")))
    assert info.value.path == tmp_path / "shot" / "shot.000001.exr"
    assert os.listdir(tmp_path) == []
    with pytest.raises(OutputError, match="needs one integer field"):
        open_exr_sequence_writer(tmp_path / "shot", pattern="shot.exr")


def test_frame_writer_follows_the_grade_output_settings(tmp_path: Path) -> None:
    exr = open_frame_writer(tmp_path / "seq", OutputSettings(format="exr"), width=4, height=4, fps=FPS)
    assert isinstance(exr, ExrSequenceWriter) and exr.nits_per_unit == 100.0
    exr.abort()
    video = open_frame_writer(
        tmp_path / "out.mp4", OutputSettings(format="sdr", crf=20, preset="veryfast"),
        width=SIZE, height=SIZE, fps=FPS, mastering=MasteringDisplay.p3_d65(),
    )
    assert video.target == VideoTarget("sdr", crf=20, preset="veryfast")
    video.abort()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("preset", "size", "lookahead"), [
    ("medium", (4096, 4096), "rc-lookahead=10"),  # above DCI 4K: capped
    ("slower", (6144, 3160), "rc-lookahead=10"),
    ("medium", (4096, 2160), None),  # DCI 4K and below keep the preset's lookahead
    ("medium", (3840, 2160), None),
    ("ultrafast", (4096, 4096), None),  # its own lookahead (5) is shorter already
])
def test_x265_lookahead_is_capped_above_dci_4k_only(tmp_path: Path, preset: str, size: tuple[int, int],
                                                     lookahead: str | None) -> None:
    """The cap reaches the encoder: the stream's x265-params, read before any frame is encoded."""
    writer = open_frame_writer(tmp_path / "big.mkv", OutputSettings(format="hdr10", preset=preset),
                               width=size[0], height=size[1], fps=Fraction(25))
    try:
        params = writer._stream.options["x265-params"].split(":")  # type: ignore[attr-defined]
    finally:
        writer.abort()
    assert [p for p in params if p.startswith("rc-lookahead")] == ([lookahead] if lookahead else [])
    assert "hdr10=1" in params
