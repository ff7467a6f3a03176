"""Probe of Dolby Vision configuration records and HDR10+ dynamic metadata in real streams.

The streams are made here: x265 (via PyAV) encodes HEVC; a DOVIDecoderConfigurationRecord is
added to the MP4 sample entry as a `dvvC` box, and HDR10+ (SMPTE ST 2094-40) as the ITU-T T.35
registered user data SEI that HDR10+ encoders write. ffprobe reads both back, so the files are
what FFmpeg-based tools see, before Lumigrade's probe is asked.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import torch

from engine.io.encode import VideoTarget, open_video_writer
from engine.io.probe import probe
from tests.cli.conftest import ffprobe

# Dolby Vision profile 8.1 (HEVC, HDR10-compatible base layer), level 4: RPU and BL present.
DOVI_RECORD = struct.pack(">BBHB", 1, 0, (8 << 9) | (4 << 3) | 0b101, 1 << 4) + bytes(19)


def _encode_hevc(path: Path, frames: int = 2) -> None:
    """An HDR10 stream ('hvc1' in MP4) written by the engine's own writer."""
    writer = open_video_writer(path, VideoTarget("hdr10", preset="ultrafast"), 64, 64, Fraction(25))
    for level in range(frames):
        writer.write(torch.full((3, 64, 64), 0.2 + 0.1 * level))
    writer.close()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _add_to_sample_entry(data: bytes, box: bytes) -> bytes:
    """Append `box` to the hvc1 sample entry, growing every enclosing box (moov is after mdat, so
    no chunk offset moves)."""
    path = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"hvc1"]
    starts, pos, end = [], 0, len(data)
    for kind in path:
        while pos < end:
            size, found = struct.unpack_from(">I4s", data, pos)
            if found == kind:
                break
            pos += size
        assert pos < end, kind
        starts.append(pos)
        end = pos + struct.unpack_from(">I", data, pos)[0]
        pos += 8 + (8 if kind == b"stsd" else 78 if kind == b"hvc1" else 0)
    out = bytearray(data[:end] + box + data[end:])
    for start in starts:
        struct.pack_into(">I", out, start, struct.unpack_from(">I", out, start)[0] + len(box))
    return bytes(out)


class _Bits:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def put(self, value: int, width: int) -> None:
        self.bits += [(value >> (width - 1 - i)) & 1 for i in range(width)]

    def bytes(self) -> bytes:
        self.bits += [0] * (-len(self.bits) % 8)
        return bytes(int("".join(map(str, self.bits[i:i + 8])), 2) for i in range(0, len(self.bits), 8))


def _hdr10plus_sei() -> bytes:
    """An HEVC prefix SEI NAL unit with HDR10+ metadata (ST 2094-40 application 4, one window)."""
    b = _Bits()
    b.put(0xB5, 8)  # itu_t_t35_country_code: United States
    b.put(0x003C, 16)  # terminal_provider_code: Samsung
    b.put(0x0001, 16)  # terminal_provider_oriented_code
    b.put(4, 8)  # application_identifier
    b.put(1, 8)  # application_version
    b.put(1, 2)  # num_windows
    b.put(400, 27)  # targeted_system_display_maximum_luminance
    b.put(0, 1)  # targeted_system_display_actual_peak_luminance_flag
    for maxscl in (30000, 30000, 30000):
        b.put(maxscl, 17)
    b.put(10000, 17)  # average_maxrgb
    b.put(1, 4)  # num_distribution_maxrgb_percentiles
    b.put(99, 7)
    b.put(30000, 17)
    b.put(0, 10)  # fraction_bright_pixels
    b.put(0, 1)  # mastering_display_actual_peak_luminance_flag
    b.put(0, 1)  # tone_mapping_flag
    b.put(0, 1)  # color_saturation_mapping_flag
    payload = b.bytes()
    sei = bytes([4, len(payload)]) + payload + b"\x80"  # user_data_registered_itu_t_t35, rbsp stop bit
    escaped = bytearray()
    zeros = 0
    for byte in sei:  # emulation prevention (H.265 7.4.2)
        if zeros >= 2 and byte <= 3:
            escaped.append(3)
            zeros = 0
        escaped.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes([39 << 1, 1]) + bytes(escaped)  # prefix SEI NAL header, layer 0, temporal id 0 + 1


def _with_hdr10plus(source: Path, path: Path) -> None:
    """Remux `source` with the HDR10+ SEI in front of every access unit's NAL units."""
    nal = _hdr10plus_sei()
    with av.open(str(source)) as src, av.open(str(path), "w") as out:
        video = src.streams.video[0]
        stream = out.add_stream_from_template(video)
        for packet in src.demux(video):
            if packet.size == 0:
                continue
            data = struct.pack(">I", len(nal)) + nal + bytes(packet)
            copy = av.Packet(data)
            copy.pts, copy.dts, copy.time_base = packet.pts, packet.dts, packet.time_base
            copy.is_keyframe = packet.is_keyframe
            copy.stream = stream
            out.mux(copy)


def test_dolby_vision_record_is_reported(tmp_path: Path) -> None:
    plain = tmp_path / "plain.mp4"
    _encode_hevc(plain)
    dovi = tmp_path / "dovi.mp4"
    dovi.write_bytes(_add_to_sample_entry(plain.read_bytes(), _box(b"dvvC", DOVI_RECORD)))
    side = ffprobe(dovi, "-show_streams")["streams"][0]["side_data_list"]
    record = next(s for s in side if s["side_data_type"] == "DOVI configuration record")
    assert (record["dv_profile"], record["dv_level"], record["dv_bl_signal_compatibility_id"]) == (8, 4, 1)
    info = probe(dovi)
    assert info["dolby_vision"] == {"box": "dvvC", "version": "1.0", "profile": 8, "level": 4,
                                    "rpu_present": True, "el_present": False, "bl_present": True,
                                    "bl_signal_compatibility_id": 1}
    assert "dolby_vision" not in probe(plain) and not probe(plain)["hdr10_plus"]


def test_hdr10plus_presence_is_reported(tmp_path: Path) -> None:
    plain = tmp_path / "plain.mp4"
    _encode_hevc(plain)
    dynamic = tmp_path / "hdr10plus.mp4"
    _with_hdr10plus(plain, dynamic)
    frames = ffprobe(dynamic, "-show_frames", "-read_intervals", "%+#1")["frames"]
    side = {s["side_data_type"]: s for s in frames[0]["side_data_list"]}
    plus = side["HDR Dynamic Metadata SMPTE2094-40 (HDR10+)"]
    assert int(plus["targeted_system_display_maximum_luminance"].split("/")[0]) == 400
    assert probe(dynamic)["hdr10_plus"] is True
