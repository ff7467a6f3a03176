"""probe(): fields against the ffprobe CLI and the HDR10 metadata that went into the encoder."""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from engine.io.exr import write_exr
from engine.io.probe import probe
from tests.engine.io.conftest import write_planes_video

# One thread and no B-frames keep x265's output (and the muxer's timestamps) deterministic.
X265_HDR10 = ("pools=none:frame-threads=1:bframes=0:log-level=error:"
              "hdr10=1:hdr10-opt=0:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:"
              "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50):"
              "max-cll=1000,400")


def test_hdr10_hevc_probe(tmp_path: Path) -> None:
    y = np.full((64, 64), 512, np.uint16)
    c = np.full((32, 32), 512, np.uint16)
    path = write_planes_video(
        tmp_path / "hdr.mkv", [[y, c, c]] * 2, codec="libx265", pix_fmt="yuv420p10le",
        options={"x265-params": X265_HDR10, "preset": "ultrafast"},
        color={"color_primaries": 9, "color_trc": 16, "colorspace": 9, "color_range": 1},
    )
    info = probe(path)
    json.dumps(info)
    assert (info["codec"], info["pixel_format"], info["bit_depth"]) == ("hevc", "yuv420p10le", 10)
    assert info["tags"] == {"primaries": "bt2020", "transfer": "smpte2084", "matrix": "bt2020nc",
                            "full_range": False}
    assert info["is_hdr"] and info["frame_count"] == 2 and info["rotation"] == 0
    md = info["mastering_display"]
    # x265 units: chromaticities in 0.00002, luminance in 0.0001 cd/m² (SMPTE ST 2086).
    assert md["red"] == pytest.approx((0.68, 0.32)) and md["green"] == pytest.approx((0.265, 0.69))
    assert md["blue"] == pytest.approx((0.15, 0.06)) and md["white"] == pytest.approx((0.3127, 0.329))
    assert (md["max_luminance"], md["min_luminance"]) == pytest.approx((1000.0, 0.005))
    assert info["content_light_level"] == {"max_cll": 1000.0, "max_fall": 400.0}


def test_sdr_probe_matches_ffprobe(tmp_path: Path) -> None:
    path = tmp_path / "av.mkv"
    with av.open(str(path), "w") as container:
        video = container.add_stream("ffv1", rate=Fraction(30000, 1001))
        video.width, video.height, video.pix_fmt = 32, 16, "yuv420p"
        audio = container.add_stream("pcm_s16le", rate=48000, layout="stereo")
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((16, 32, 3), 20 * i, np.uint8), "rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                container.mux(packet)
        sound = av.AudioFrame.from_ndarray(np.zeros((1, 2 * 1600), np.int16), format="s16", layout="stereo")
        sound.sample_rate, sound.pts = 48000, 0
        for packet in audio.encode(sound):
            container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                container.mux(packet)
    info = probe(path)
    assert (info["container"], info["codec"]) == ("matroska,webm", "ffv1")
    assert (info["width"], info["height"]) == (32, 16)
    assert (info["fps"], info["frame_count"], info["has_audio"]) == ("30000/1001", 5, True)
    assert info["duration"] == pytest.approx(5 * 1001 / 30000)
    assert info["audio"][0]["sample_rate"] == 48000 and info["audio"][0]["channels"] == 2
    assert "mastering_display" not in info and not info["is_hdr"]
    if shutil.which("ffprobe"):
        fields = "stream=width,height,pix_fmt,r_frame_rate,nb_read_packets,codec_name"
        out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0",
                              "-show_entries", fields, "-of", "json", str(path)],
                             check=True, capture_output=True, text=True).stdout
        peer = json.loads(out)["streams"][0]
        assert (info["width"], info["height"], info["pixel_format"]) == (peer["width"], peer["height"],
                                                                         peer["pix_fmt"])
        assert info["fps"] == peer["r_frame_rate"] and info["frame_count"] == int(peer["nb_read_packets"])
        assert info["codec"] == peer["codec_name"]


def test_exr_probe(tmp_path: Path) -> None:
    write_exr(tmp_path / "still.exr", torch.ones(3, 4, 6), compression="piz", white_luminance=203.0)
    info = probe(tmp_path / "still.exr")
    json.dumps(info)
    assert (info["container"], info["compression"], info["channels"]) == ("exr", "piz", ["B", "G", "R"])
    assert (info["width"], info["height"], info["white_luminance"], info["frame_count"]) == (6, 4, 203.0, 1)
    assert info["chromaticities"] == pytest.approx([0.708, 0.292, 0.17, 0.797, 0.131, 0.046, 0.3127, 0.329])
    assert info["tags"]["transfer"] == "linear" and info["is_hdr"]
