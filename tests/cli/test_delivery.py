"""Delivery conventions read back from real files: ST 2086 mastering display, top-left chroma
siting of BT.2020 outputs, start timecode, ACES2065-1 EXR chromaticities."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import OpenEXR
import PyOpenColorIO
import pytest

from app.cli import main
from engine.color.primaries import ACES_AP0, BT2020
from engine.io.open import open_clip
from tests.cli.conftest import ffprobe

NTSC = Fraction(30000, 1001)


def write_timecoded_clip(path: Path, timecode: str, frames: int = 8) -> Path:
    """A small 29.97 fps H.264 clip whose video stream carries a start timecode (tmcd in MOV)."""
    rng = np.random.default_rng(3)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=NTSC, options={"qp": "0", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv444p"
        stream.metadata["timecode"] = timecode
        for _ in range(frames):
            rgb = rng.integers(16, 235, (48, 64, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv444p")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _first_frame_side_data(path: Path) -> dict[str, dict]:
    frames = ffprobe(path, "-read_intervals", "%+#1", "-show_frames", "-select_streams", "v:0")["frames"]
    return {s["side_data_type"]: s for s in frames[0].get("side_data_list", [])}


def _ratio(text: str) -> float:
    num, den = text.split("/")
    return int(num) / int(den)


def test_hdr10_carries_the_chosen_mastering_display_siting_and_timecode(tmp_path: Path) -> None:
    clip = write_timecoded_clip(tmp_path / "src.mov", "00:00:59;28")
    with open_clip(clip) as opened:
        assert opened.info.timecode == "00:00:59;28"
    out = tmp_path / "out.mov"
    assert main(["render", str(clip), "-o", str(out), "--itm", "bt2408", "--frames", "3:6", "--peak-nits",
                 "4000", "--mastering-primaries", "bt2020", "--mastering-min-nits", "0.005"]) == 0
    streams = ffprobe(out, "-show_streams")["streams"]
    video = streams[0]
    assert video["chroma_location"] == "topleft"
    # Frame 3 of a drop-frame clip starting at 59;28: 59;28, 59;29, then 01:00;02 (;00, ;01 dropped).
    assert video["tags"]["timecode"] == "00:01:00;03"
    assert any(s["codec_tag_string"] == "tmcd" for s in streams)
    mastering = _first_frame_side_data(out)["Mastering display metadata"]
    assert (_ratio(mastering["red_x"]), _ratio(mastering["red_y"])) == BT2020.red
    assert (_ratio(mastering["green_x"]), _ratio(mastering["green_y"])) == BT2020.green
    assert _ratio(mastering["max_luminance"]) == 4000.0
    assert _ratio(mastering["min_luminance"]) == pytest.approx(0.005)


def test_prores_and_sdr_timecode_and_siting(tmp_path: Path) -> None:
    clip = write_timecoded_clip(tmp_path / "src.mov", "10:00:00:00")
    prores = tmp_path / "out_prores.mov"
    assert main(["render", str(clip), "-o", str(prores), "--format", "prores", "--itm", "bt2408",
                 "--frames", "2:4"]) == 0
    assert ffprobe(prores, "-show_streams")["streams"][0]["tags"]["timecode"] == "10:00:00:02"
    with open_clip(prores) as opened:  # read back through the engine too
        assert opened.info.timecode == "10:00:00:02"
    sdr = tmp_path / "out_sdr.mp4"
    assert main(["render", str(clip), "-o", str(sdr), "--format", "sdr", "--itm", "bt2408",
                 "--frames", "0:2"]) == 0
    assert ffprobe(sdr, "-show_streams")["streams"][0]["chroma_location"] == "center"  # BT.709 keeps type 1


def _exr_rgb(path: Path) -> tuple[np.ndarray, tuple[float, ...]]:
    with OpenEXR.File(str(path)) as exr:
        part = exr.parts[0]
        channels = part.channels
        rgb = channels["RGB"].pixels if "RGB" in channels else np.dstack([channels[c].pixels for c in "RGB"])
        return rgb.astype(np.float32), tuple(float(v) for v in part.header["chromaticities"])


def test_aces2065_exr_matches_ocio_and_says_so(tmp_path: Path) -> None:
    clip = write_timecoded_clip(tmp_path / "src.mov", "01:00:00:00", frames=1)  # random colours
    frames = []
    for primaries in ("bt2020", "aces-ap0"):
        out = tmp_path / primaries
        assert main(["render", str(clip), "-o", str(out), "--format", "exr", "--itm", "bt2408",
                     "--frames", "0:1", "--exr-primaries", primaries]) == 0
        frames.append(_exr_rgb(next(out.glob("*.exr"))))
    (rec2020, chroma_2020), (aces, chroma_aces) = frames
    assert chroma_2020 == pytest.approx((*BT2020.red, *BT2020.green, *BT2020.blue, *BT2020.white), abs=1e-6)
    assert chroma_aces == pytest.approx((*ACES_AP0.red, *ACES_AP0.green, *ACES_AP0.blue, *ACES_AP0.white),
                                        abs=1e-6)
    config = PyOpenColorIO.Config.CreateFromFile("ocio://studio-config-latest")
    cpu = config.getProcessor("Linear Rec.2020", "ACES2065-1").getDefaultCPUProcessor()
    expected = np.ascontiguousarray(rec2020.copy())
    cpu.applyRGB(expected)
    # Both files hold half floats: within half a unit in the last place of a half (2^-11 relative).
    assert np.allclose(aces, expected, rtol=2.0**-10, atol=1e-6)
    assert float(np.abs(aces - rec2020).max()) > 0.01  # the primaries really changed


def test_camera_log_input_space_renders_what_ocio_computes(tmp_path: Path) -> None:
    """A clip declared S-Log3 renders (EXR, 100 cd/m² per unit) OCIO's linear Rec.2020 of its
    decoded codes, diffuse white (1.0) placed at the grade's reference white, 203 cd/m²."""
    clip = write_timecoded_clip(tmp_path / "src.mov", "01:00:00:00", frames=1)
    out = tmp_path / "slog3"
    assert main(["render", str(clip), "-o", str(out), "--format", "exr", "--frames", "0:1",
                 "--input-space", "S-Log3 S-Gamut3"]) == 0
    rendered, _ = _exr_rgb(next(out.glob("*.exr")))
    with open_clip(clip) as opened:
        codes = opened.frame(0).permute(1, 2, 0).numpy().reshape(-1, 3).copy()
    config = PyOpenColorIO.Config.CreateFromFile("ocio://studio-config-latest")
    config.getProcessor("S-Log3 S-Gamut3", "Linear Rec.2020").getDefaultCPUProcessor().applyRGB(codes)
    # The grade stage clamps negative light (colours outside BT.2020) to 0.
    expected = codes.reshape(rendered.shape).clip(min=0.0) * 203.0 / 100.0
    assert np.allclose(rendered, expected, rtol=2.0**-10, atol=1e-4)  # half floats in the file
