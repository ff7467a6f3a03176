"""Chroma siting: the SPS reader against x264, x265, ffprobe and FFmpeg's own SPS parser (its
coded bitstream layer, which rewrites SPSs built here field by field).
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest
from av.bitstream import BitStreamFilterContext

from engine.io.sps import read_chroma_location
from engine.io.tags import ChromaLocation
from engine.io.video import VideoClip
from tests.engine.io.conftest import write_planes_video

PARAMS_KEY = {"libx264": "x264-params", "libx265": "x265-params"}
START_CODE = b"\x00\x00\x00\x01"
# 62x28 is not a whole number of macroblocks or coding blocks: the SPS carries a cropping window.
WIDTH, HEIGHT = 62, 28


def ramp_frame(pix_fmt: str = "yuv420p") -> list[np.ndarray]:
    """A luma ramp over flat chroma, as code planes for write_planes_video."""
    deep = pix_fmt.endswith("10le")
    dtype, scale = (np.uint16, 4) if deep else (np.uint8, 1)
    luma = (np.arange(HEIGHT * WIDTH).reshape(HEIGHT, WIDTH) % 200 + 16) * scale
    chroma_shape = (HEIGHT, WIDTH) if "444" in pix_fmt else (HEIGHT // 2, WIDTH // 2)
    cb, cr = (np.full(chroma_shape, code * scale, dtype) for code in (128, 100))
    return [luma.astype(dtype), cb, cr]


def encode(path: Path, codec: str, params: str, pix_fmt: str = "yuv420p", frames: int = 2) -> Path:
    # x265 leaves the DTS unset on a clip shorter than its B-frame delay, which MP4 refuses;
    # `params` may turn B-frames back on (a raw stream has no DTS).
    defaults = "log-level=error:bframes=0" if codec == "libx265" else "log-level=error"
    options = {"preset": "ultrafast", PARAMS_KEY[codec]: f"{defaults}:{params}".rstrip(":")}
    planes = [ramp_frame(pix_fmt)] * frames
    return write_planes_video(path, planes, codec=codec, pix_fmt=pix_fmt, options=options)


def stream_location(path: Path) -> ChromaLocation | None:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = (bytes(p) for p in container.demux(stream) if p.size)
        return read_chroma_location(stream.codec_context.name, stream.codec_context.extradata, packets)


def ffprobe_location(path: Path) -> str | None:
    """ffprobe's chroma_location, or None without the ffprobe CLI."""
    if shutil.which("ffprobe") is None:
        return None
    return subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=chroma_location",
         "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()


def retag(source: Path, target: Path, location: ChromaLocation) -> Path:
    """Remux through FFmpeg's h264_metadata / hevc_metadata filter, which parses every SPS with
    its coded bitstream layer and writes it back with a new chroma_sample_loc_type."""
    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        stream = src.streams.video[0]
        out = dst.add_stream_from_template(stream)
        name = f"{stream.codec_context.name}_metadata=chroma_sample_loc_type={location.value}"
        bsf = BitStreamFilterContext(name, stream, out)
        for packet in src.demux(stream):
            for filtered in bsf.filter(packet if packet.size else None):
                filtered.stream = out
                dst.mux(filtered)
    return target


@pytest.mark.parametrize("codec", ["libx264", "libx265"])
@pytest.mark.parametrize("chromaloc", [None, 0, 1, 2])
def test_reader_returns_what_the_encoder_signals(tmp_path: Path, codec: str, chromaloc: int | None) -> None:
    path = encode(tmp_path / "c.mp4", codec, "" if chromaloc is None else f"chromaloc={chromaloc}")
    # x264 leaves chroma_loc_info out for the default, type 0; x265 writes what it is given.
    omitted = chromaloc is None or (codec == "libx264" and chromaloc == 0)
    expected = None if omitted else ChromaLocation(chromaloc)
    with VideoClip(path) as clip:
        assert clip.info.chroma_location == expected
        assert clip.info.to_dict()["chroma_location"] == (None if expected is None else expected.ffmpeg_name)
    peer = ffprobe_location(path)
    if peer is not None:
        # FFmpeg reports the H.264/HEVC default, left, for unsignalled 4:2:0.
        assert peer == (ChromaLocation.LEFT if expected is None else expected).ffmpeg_name


@pytest.mark.parametrize(("name", "codec", "pix_fmt", "params", "expected"), [
    # High 10; a SAR from Table E-1 and a video signal type with a colour description; avcC in MKV.
    ("high10.mkv", "libx264", "yuv420p10le",
     "chromaloc=5:sar=4/3:overscan=show:videoformat=pal:colorprim=bt709:transfer=bt709:colormatrix=bt709", 5),
    # Interlaced (frame_mbs_only_flag 0), Extended_SAR, no B-frames (pic_order_cnt_type 2), Annex B.
    ("interlaced.h264", "libx264", "yuv420p", "interlaced=1:sar=11/10:bframes=0:chromaloc=3", 3),
    # High 4:4:4 Predictive, lossless: separate_colour_plane_flag and the bypass flag; x264 then
    # writes no siting, which the rewrite below adds.
    ("lossless444.mp4", "libx264", "yuv444p", "qp=0", None),
    # Three temporal sub-layers (sub-layer profile/level and ordering info; x265 puts B-frames in
    # the upper ones), overscan, Annex B.
    ("layers.hevc", "libx265", "yuv420p",
     "bframes=2:temporal-layers=3:overscan=show:videoformat=ntsc:colorprim=bt709:transfer=bt709:colormatrix=bt709:"
     "chromaloc=4", 4),
])
def test_sps_variants_read_like_ffmpeg(
    tmp_path: Path, name: str, codec: str, pix_fmt: str, params: str, expected: int | None
) -> None:
    path = encode(tmp_path / name, codec, params, pix_fmt)
    assert stream_location(path) == expected
    rewritten = retag(path, tmp_path / f"retagged{path.suffix}", ChromaLocation.TOP_LEFT)
    assert stream_location(rewritten) == ChromaLocation.TOP_LEFT
    if (peer := ffprobe_location(path)) is not None:
        assert peer == ChromaLocation(expected or 0).ffmpeg_name
        assert ffprobe_location(rewritten) == "topleft"


def test_hevc_scaling_list_data_is_skipped(tmp_path: Path) -> None:
    """x265 writes scaling_list_data() into the SPS when given its own lists (HM file format)."""
    lines = []
    for size, count in (("4X4", 16), ("8X8", 64), ("16X16", 64), ("32X32", 64)):
        for kind in ("INTRA", "INTER"):
            for component in ("LUMA", "CHROMAU", "CHROMAV"):
                lines += [f"{kind}{size}_{component} =", ",".join(str(16 + i * 7 % 40) for i in range(count))]
                if size in ("16X16", "32X32"):
                    lines += [f"{kind}{size}_{component}_DC =", "20"]
    lists = tmp_path / "scaling.txt"
    lists.write_text("\n".join(lines) + "\n")
    path = encode(tmp_path / "s.mp4", "libx265", f"scaling-list={lists}:chromaloc=5")
    assert stream_location(path) == ChromaLocation.BOTTOM
    if (peer := ffprobe_location(path)) is not None:
        assert peer == "bottom"


@pytest.mark.parametrize("codec", ["libx264", "libx265"])
def test_sps_in_band_when_the_extradata_has_none(tmp_path: Path, codec: str) -> None:
    # MPEG-TS: Annex B packets, searched when no extradata is given. (FFmpeg's probe needs more
    # than two frames of a transport stream.)
    ts = encode(tmp_path / "c.ts", codec, "chromaloc=3", frames=12)
    with av.open(str(ts)) as container:
        stream = container.streams.video[0]
        packets = [bytes(p) for p in container.demux(stream) if p.size]
    assert read_chroma_location(stream.codec_context.name, None, packets) == ChromaLocation.TOP
    # MP4 with in-band parameter sets and a configuration record holding none (as in avc3/hev1):
    # length-prefixed packets.
    mp4 = encode(tmp_path / "c.mp4", codec, "chromaloc=3:repeat-headers=1")
    with av.open(str(mp4)) as container:
        stream = container.streams.video[0]
        record = stream.codec_context.extradata
        packets = [bytes(p) for p in container.demux(stream) if p.size]
    # avcC: 5 header bytes, then 0 SPS and 0 PPS; hvcC: 22 header bytes, then 0 arrays.
    empty = record[:5] + b"\xe0\x00" if codec == "libx264" else record[:22] + b"\x00"
    assert read_chroma_location(stream.codec_context.name, empty, []) is None
    assert read_chroma_location(stream.codec_context.name, empty, packets) == ChromaLocation.TOP


# -- SPSs built field by field, checked against FFmpeg's parser ----------------------------------


class BitWriter:
    """Fields of an RBSP, MSB first, with the exp-Golomb codes of H.264 §9.1."""

    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, n: int, value: int) -> None:
        self.bits += [(value >> (n - 1 - i)) & 1 for i in range(n)]

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(code.bit_length() - 1, 0)
        self.u(code.bit_length(), code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def nal_unit(self, header: bytes) -> bytes:
        """rbsp_trailing_bits, then an emulation_prevention_three_byte after each 0x0000 that a
        byte <= 3 follows (H.264 §7.4.1)."""
        bits = [*self.bits, 1]
        bits += [0] * (-len(bits) % 8)
        rbsp = bytes(int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits), 8))
        out, zeros = bytearray(header), 0
        for byte in rbsp:
            if zeros >= 2 and byte <= 3:
                out.append(3)
                zeros = 0
            out.append(byte)
            zeros = zeros + 1 if byte == 0 else 0
        return bytes(out)


def write_vui_head(w: BitWriter, location: ChromaLocation) -> None:
    """The VUI fields H.264 and H.265 share, up to the chroma sample location."""
    w.u(1, 1), w.u(8, 255), w.u(16, 11), w.u(16, 10)  # Extended_SAR 11:10
    w.u(1, 1), w.u(1, 1)  # overscan_info_present_flag, overscan_appropriate_flag
    w.u(1, 1), w.u(3, 5), w.u(1, 0), w.u(1, 1), w.u(8, 1), w.u(8, 1), w.u(8, 1)  # BT.709 colour
    w.u(1, 1), w.ue(location), w.ue(location)


def h264_sps(location: ChromaLocation, chroma_format_idc: int = 1) -> bytes:
    """A High (4:2:0) or High 4:4:4 Predictive SPS with scaling lists, pic_order_cnt_type 1,
    MBAFF and cropping."""
    w = BitWriter()
    profile_idc = 244 if chroma_format_idc == 3 else 100
    w.u(8, profile_idc), w.u(8, 0), w.u(8, 40), w.ue(0)  # constraint flags, level 4.0, SPS id
    w.ue(chroma_format_idc)
    if chroma_format_idc == 3:
        w.u(1, 0)  # separate_colour_plane_flag
    w.ue(0), w.ue(0), w.u(1, 0)  # 8-bit luma and chroma, no transform bypass
    w.u(1, 1)  # seq_scaling_matrix_present_flag
    default = [0] * 16  # a delta to 0 on the first entry selects the default list
    lists = [None, [16] * 16, default, None, [6 + i for i in range(16)], [20, 30, 40, 0],  # 4x4
             default, [16 + i * 5 % 40 for i in range(64)]]  # 8x8 luma
    if chroma_format_idc == 3:
        lists += [None, [9] * 64, default, [30, 0]]  # 8x8 chroma
    for scales in lists:
        w.u(1, scales is not None)
        last = 8
        for scale in scales or []:
            w.se((scale - last + 128) % 256 - 128)
            if scale == 0:  # the rest of the list repeats the last scale
                break
            last = scale
    w.ue(0), w.ue(1)  # log2_max_frame_num_minus4, pic_order_cnt_type 1
    # offset_for_non_ref_pic -2^30 codes 31 zero bits: emulation prevention is needed.
    w.u(1, 0), w.se(-(2**30)), w.se(1)
    w.ue(3), w.se(2), w.se(-3), w.se(5)  # a cycle of three reference frame offsets
    w.ue(4), w.u(1, 0), w.ue(3), w.ue(1)  # 4 reference frames; 4x2 macroblocks, two per map unit
    w.u(1, 0), w.u(1, 1), w.u(1, 1)  # field coding with MBAFF, direct_8x8_inference_flag
    w.u(1, 1), w.ue(1), w.ue(0), w.ue(0), w.ue(2)  # frame cropping
    w.u(1, 1)
    write_vui_head(w, location)
    w.u(5, 0)  # no timing, NAL HRD, VCL HRD, pic_struct or bitstream restriction
    return w.nal_unit(b"\x67")


def hevc_profile(w: BitWriter) -> None:
    """Main profile: space, tier, idc, compatibility, progressive + frame-only, reserved bits."""
    w.u(2, 0), w.u(1, 0), w.u(5, 1), w.u(32, 0x60000000), w.u(4, 0b1001), w.u(44, 0)


def hevc_inter_rps(w: BitWriter, delta_rps: int, flags: list[tuple[int, int]]) -> None:
    """A set predicted from the previous one: (used_by_curr_pic_flag, use_delta_flag) per picture."""
    w.u(1, 1), w.u(1, delta_rps < 0), w.ue(abs(delta_rps) - 1)
    for used, use_delta in flags:
        w.u(1, used)
        if not used:
            w.u(1, use_delta)


def hevc_sps(location: ChromaLocation) -> bytes:
    """A Main SPS with three sub-layers, scaling lists, PCM, predicted reference picture sets and
    long-term pictures."""
    w = BitWriter()
    w.u(4, 0), w.u(3, 2), w.u(1, 1)  # VPS id, three sub-layers, temporal id nesting
    hevc_profile(w), w.u(8, 93)
    w.u(1, 1), w.u(1, 1), w.u(1, 0), w.u(1, 1), w.u(12, 0)  # sub-layer 0: profile and level; 1: level
    hevc_profile(w), w.u(8, 90), w.u(8, 90)
    w.ue(0), w.ue(1), w.ue(64), w.ue(32)  # SPS id, 4:2:0, 64x32
    w.u(1, 1), w.ue(0), w.ue(1), w.ue(0), w.ue(1)  # conformance window: 62x30
    w.ue(0), w.ue(0), w.ue(4)  # 8-bit, 8-bit POC LSBs
    w.u(1, 0), w.ue(4), w.ue(2), w.ue(0)  # one set of ordering info for all sub-layers (x265 codes each)
    for value in (0, 2, 0, 3, 1, 1):  # 8..32 coding blocks, 4..32 transforms, hierarchy depths
        w.ue(value)
    w.u(1, 1), w.u(1, 1)  # scaling_list_enabled_flag, sps_scaling_list_data_present_flag
    for size_id in range(4):
        for matrix_id in range(0, 6, 3 if size_id == 3 else 1):
            if matrix_id % 2:  # predicted from the list before
                w.u(1, 0), w.ue(1)
                continue
            w.u(1, 1)
            if size_id > 1:
                w.se(4)
            for i in range(min(64, 1 << (4 + 2 * size_id))):
                w.se(i % 5 - 2)
    w.u(1, 1), w.u(1, 1)  # AMP, SAO
    w.u(1, 1), w.u(4, 7), w.u(4, 7), w.ue(0), w.ue(1), w.u(1, 1)  # PCM
    w.ue(4)  # four short-term reference picture sets
    # The first set is coded explicitly (no prediction flag): -1 and -3 before, +2 after.
    w.ue(2), w.ue(1), w.ue(0), w.u(1, 1), w.ue(1), w.u(1, 1), w.ue(1), w.u(1, 0)
    # From {-1, -3, +2} by -1: -2, -4 (not kept), +1 and -1 -> {-1, -2, +1}.
    hevc_inter_rps(w, -1, [(1, 1), (0, 0), (1, 1), (0, 1)])
    # From {-1, -2, +1} by +1: 0 (no picture, though flagged), -1, +2 and +1 -> {-1, +1, +2}.
    hevc_inter_rps(w, 1, [(1, 1), (1, 1), (0, 1), (1, 1)])
    # From {-1, +1, +2} by -2: four flag pairs, which a count that kept the 0 above gets wrong.
    hevc_inter_rps(w, -2, [(1, 1), (1, 1), (1, 1), (1, 1)])
    w.u(1, 1), w.ue(2), w.u(8, 0), w.u(1, 1), w.u(8, 128), w.u(1, 0)  # two long-term pictures
    w.u(1, 1), w.u(1, 1)  # temporal MVP, strong intra smoothing
    w.u(1, 1)
    write_vui_head(w, location)
    w.u(6, 0)  # no neutral chroma, field, display window, timing or bitstream restriction
    w.u(1, 0)  # sps_extension_present_flag
    return w.nal_unit(b"\x42\x01")


@pytest.fixture(scope="module")
def hevc_vps(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """x265's VPS for three sub-layers: FFmpeg parses an HEVC SPS only after its VPS."""
    path = encode(tmp_path_factory.mktemp("vps") / "v.hevc", "libx265", "bframes=2:temporal-layers=3")
    with av.open(str(path)) as container:
        extradata = container.streams.video[0].codec_context.extradata
    units = (unit.rstrip(b"\x00") for unit in extradata.split(b"\x00\x00\x01"))
    return next(unit for unit in units if unit and unit[0] >> 1 == 32)  # VPS_NUT


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_built_sps_reads_like_ffmpeg(codec: str, request: pytest.FixtureRequest) -> None:
    prefix = START_CODE + request.getfixturevalue("hevc_vps") if codec == "hevc" else b""
    for location in ChromaLocation:
        built = [h264_sps(location), h264_sps(location, 3)] if codec == "h264" else [hevc_sps(location)]
        for sps in built:
            assert b"\x00\x00\x03" in sps
            assert read_chroma_location(codec, START_CODE + sps) == location
            # FFmpeg parses the whole SPS (a misplaced field fails its range and trailing-bit
            # checks) and writes it back with another location.
            other = ChromaLocation((location + 3) % 6)
            bsf = BitStreamFilterContext(f"{codec}_metadata=chroma_sample_loc_type={other.value}", codec)
            (packet,) = bsf.filter(av.Packet(prefix + START_CODE + sps))
            assert read_chroma_location(codec, None, [bytes(packet)]) == other


def test_truncated_or_garbage_sps_gives_none() -> None:
    sps = h264_sps(ChromaLocation.TOP)
    assert read_chroma_location("h264", START_CODE + sps[: len(sps) // 2]) is None
    assert read_chroma_location("hevc", START_CODE + hevc_sps(ChromaLocation.TOP)[:40]) is None
    assert read_chroma_location("h264", START_CODE + b"\x67" + bytes(24)) is None  # exp-Golomb overflow
    assert read_chroma_location("hevc", b"\x01\x02\x03") is None  # a configuration record cut short
    past_the_end = b"\x01" + bytes(4) + b"\xe1\xff\xff" + sps  # avcC: one SPS of 65535 bytes
    assert read_chroma_location("h264", past_the_end) is None
    assert read_chroma_location("vp9", START_CODE + sps) is None
    # No cut or corruption raises: each gives None or some location.
    rng = random.Random(5)
    for codec, unit in (("h264", sps), ("hevc", hevc_sps(ChromaLocation.TOP))):
        for cut in range(len(unit)):
            assert read_chroma_location(codec, START_CODE + unit[:cut]) in (None, ChromaLocation.TOP)
        for _ in range(300):
            noisy = bytearray(unit)
            noisy[rng.randrange(2, len(unit))] = rng.randrange(256)
            read_chroma_location(codec, START_CODE + bytes(noisy))
            read_chroma_location(codec, START_CODE + unit[:2] + rng.randbytes(rng.randrange(60)))


def test_demo_clip_signals_centre_siting() -> None:
    """lumigrade synth made it, through encode_planes (2x2 means) and x264 with chromaloc=1."""
    demo = Path(__file__).resolve().parents[3] / "resources" / "demo" / "candle_push.mp4"
    assert stream_location(demo) == ChromaLocation.CENTER
