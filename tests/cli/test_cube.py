"""`lumigrade lut`: a .cube applied by ffmpeg's lut3d filter gives Lumigrade's render."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from engine.io.open import open_clip

SIZE = (48, 64)
BLOCK = 8
# Pixels 2..5 of each 8x8 block: clear of chroma filters and upsampling across block edges.
INSIDE = np.add.outer(np.arange(0, 64, BLOCK), np.arange(2, 6)).ravel()


def write_rgb_clip(path: Path, frames: int = 2) -> Path:
    """Random R'G'B' codes in 8x8 blocks, lossless FFV1 gbrp tagged BT.709 (no Y'CbCr matrix
    between the two readers), written by the ffmpeg CLI (PyAV's bundled FFV1 lacks gbrp).
    Blocks of one colour, aligned with the codecs' 8x8 transforms, keep the deliverables' own
    coding out of the comparison inside them."""
    rng = np.random.default_rng(5)
    blocks = rng.integers(0, 256, (frames, SIZE[0] // BLOCK, SIZE[1] // BLOCK, 3), dtype=np.uint8)
    blocks[:, 0, 0] = 255  # peak white, where a PQ curve is steepest
    rgb = blocks.repeat(BLOCK, axis=1).repeat(BLOCK, axis=2)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{SIZE[1]}x{SIZE[0]}",
         "-r", "25", "-i", "-", "-c:v", "ffv1", "-pix_fmt", "gbrp", "-color_primaries", "bt709",
         "-color_trc", "bt709", "-colorspace", "rgb", str(path)],
        input=rgb.tobytes(), check=True, timeout=60,
    )
    return path


def ffmpeg_lut3d(source: Path, cube: Path) -> np.ndarray:
    """Frame 0 of `source` through ffmpeg's lut3d (tetrahedral) in float, as (3, H, W) R'G'B'."""
    res = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(source), "-frames:v", "1",
         "-vf", f"format=gbrpf32le,lut3d=file={cube}:interp=tetrahedral",
         "-f", "rawvideo", "-pix_fmt", "gbrpf32le", "-"],
        check=True, capture_output=True, timeout=60,
    )
    g, b, r = np.frombuffer(res.stdout, np.float32).reshape(3, *SIZE)
    return np.stack([r, g, b])


@pytest.mark.parametrize(("fmt", "size", "tolerance"), [("prores", 33, 0.008), ("sdr", 65, 0.02)])
def test_cube_through_ffmpeg_matches_the_render(tmp_path: Path, fmt: str, size: int,
                                                tolerance: float) -> None:
    """The LUT's tetrahedral interpolation over 33 or 65 points plus the deliverable's coding:
    PQ in 10-bit ProRes 4444 within 0.008 of full scale (8 of 1023 codes; 0.0047 measured),
    SDR in 8-bit 4:2:0 H.264 within 0.02 (5 of 255 codes; 0.0144 measured), where 8-bit Y'CbCr
    quantisation alone moves R'G'B' by up to two codes."""
    source = write_rgb_clip(tmp_path / "src.mkv")
    grade = ["--itm", "bt2446c", "--tmo", "hable", "--peak-nits", "1000"]
    view = {"prores": "pq", "sdr": "sdr"}[fmt]
    cube = tmp_path / "grade.cube"
    assert main(["lut", "-o", str(cube), "--size", str(size), "--view", view, "--clip", str(source),
                 *grade]) == 0
    assert f"LUT_3D_SIZE {size}" in cube.read_text()
    out = tmp_path / f"render.{'mov' if fmt == 'prores' else 'mp4'}"
    assert main(["render", str(source), "-o", str(out), "--format", fmt, "--frames", "0:1", *grade]) == 0
    with open_clip(out) as rendered:
        ours = rendered.frame(0).numpy()
    theirs = ffmpeg_lut3d(source, cube)
    rows = INSIDE[: len(INSIDE) * SIZE[0] // SIZE[1]]
    error = np.abs(ours - theirs)[:, rows][:, :, INSIDE]
    assert float(theirs.max()) > 0.5  # a real signal, not black
    assert float(error.max()) <= tolerance, float(error.max())


def test_spatial_and_temporal_grades_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cube = tmp_path / "grade.cube"
    assert main(["lut", "-o", str(cube), "--itm", "masked-cnn"]) == 2
    assert "'masked-cnn' is spatial (it reads neighbouring pixels)" in capsys.readouterr().err
    assert main(["lut", "-o", str(cube), "--itm", "bt2408", "--temporal"]) == 2
    assert "temporal reconstruction reads other frames" in capsys.readouterr().err
    assert main(["lut", "-o", str(cube), "--itm", "bt2408", "--view", "sdr", "--tmo", "durand"]) == 2
    assert "'durand' is spatial" in capsys.readouterr().err
    assert not cube.exists()
