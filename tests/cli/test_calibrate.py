"""`lumigrade calibrate`: a camera's response from a bracket of stills, and `--camera-lut` using it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from app.cli import main
from engine.crf.camera_lut import read_camera_lut
from engine.crf.curves import filmic

STOPS = (-2.0, -1.0, 0.0, 1.0, 2.0)


def _scene() -> np.ndarray:
    """Scene light (H, W, 3): a wedge from 2^-8 to 2 across, scaled down the rows by up to a
    stop, with a little colour; the middle exposure clips the top row's brightest ninth."""
    across = np.logspace(-8.0, 1.0, 256, base=2.0)
    down = np.logspace(0.0, -1.0, 48, base=2.0)
    return np.outer(down, across)[..., None] * np.array([1.0, 0.9, 0.8])


def _bracket(folder: Path, encode: object) -> list[str]:
    """The scene at each of STOPS through the camera's curve `encode`, as 8-bit PNGs."""
    paths = []
    for stop in STOPS:
        codes = encode(np.clip(_scene() * 2.0**stop, 0.0, 1.0))  # type: ignore[operator]
        path = folder / f"bracket_{stop:+.0f}.png"
        cv2.imwrite(str(path), np.round(codes * 255.0).astype(np.uint8)[..., ::-1])
        paths.append(str(path))
    return paths


def _srgb_oetf(light: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 encoding, written out here as the peer of the engine's decode."""
    return np.where(light <= 0.0031308, 12.92 * light, 1.055 * np.power(light, 1 / 2.4) - 0.055)


def _srgb_eotf(code: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 decoding: what a calibration of an sRGB camera should find."""
    return np.where(code <= 0.04045, code / 12.92, ((code + 0.055) / 1.055) ** 2.4)


def _hable_encode(light: np.ndarray) -> np.ndarray:
    curve = filmic("hable", 4.0)
    return np.interp(light, curve.inverse, np.linspace(0.0, 1.0, curve.inverse.size))


@pytest.mark.parametrize(("encode", "decode", "stops"), [
    (_srgb_oetf, _srgb_eotf, 0.03),
    # A filmic S-curve: flat at its shoulder, so its top is measured a little less well.
    (_hable_encode, lambda v: np.interp(v, np.linspace(0.0, 1.0, 1024), filmic("hable", 4.0).inverse), 0.15),
])
def test_a_bracket_gives_the_cameras_curve_back(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               encode: object, decode: object, stops: float) -> None:
    out = tmp_path / "camera.cube"
    stills = _bracket(tmp_path, encode)
    # Given in any order: each still pairs with its own stop.
    order = [3, 0, 4, 1, 2]
    assert main(["calibrate", *[stills[i] for i in order],
                 "--stops=" + ",".join(f"{STOPS[i]:g}" for i in order), "-o", str(out)]) == 0
    assert f"wrote {out.absolute()}: 256-point camera response" in capsys.readouterr().out
    table = read_camera_lut(out).double().numpy()
    codes = np.linspace(0.0, 1.0, table.size)
    sel = (codes > 0.05) & (codes < 0.95)
    error = np.log2(table[sel] / decode(codes[sel]))  # type: ignore[operator]
    assert np.abs(error).max() < stops


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
@pytest.mark.parametrize("tag", ["shutter", "iso"])
def test_the_brackets_exposures_come_from_exif_when_stops_are_not_given(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], tag: str) -> None:
    """A bracket by shutter time (1/400 to 1/25 s) or by ISO (100 to 1600), tagged by ExifTool,
    calibrates without --stops to what the stops give."""
    stills = _bracket(tmp_path, _srgb_oetf)
    for still, stop in zip(stills, STOPS, strict=True):
        setting = (f"-ExposureTime=1/{round(100 / 2.0**stop)}" if tag == "shutter"
                   else f"-ISO={round(400 * 2.0**stop)}")
        subprocess.run(["exiftool", "-q", "-overwrite_original", "-ExposureTime=1/100", "-FNumber=4",
                        "-ISO=400", setting, still], check=True)
    out = tmp_path / "camera.cube"
    order = [2, 4, 0, 3, 1]
    assert main(["calibrate", *[stills[i] for i in order], "-o", str(out)]) == 0
    assert "from 5 stills, -2 to 2 EV" in out.read_text()  # relative to the first still given, stop 0
    table = read_camera_lut(out).double().numpy()
    codes = np.linspace(0.0, 1.0, table.size)
    sel = (codes > 0.05) & (codes < 0.95)
    assert np.abs(np.log2(table[sel] / _srgb_eotf(codes[sel]))).max() < 0.03
    plain = tmp_path / "plain.png"
    cv2.imwrite(str(plain), cv2.imread(stills[0]))
    capsys.readouterr()
    assert main(["calibrate", stills[1], str(plain), "-o", str(tmp_path / "no.cube")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{plain}: records no Exif exposure time; give" in err
    assert not (tmp_path / "no.cube").exists()


def test_large_stills_are_thinned_to_whole_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above MAX_PIXELS every k-th pixel is kept (codes as recorded), and the curve still comes back."""
    import engine.crf.bracket as bracket

    monkeypatch.setattr(bracket, "MAX_PIXELS", 3000)
    stills = [Path(p) for p in _bracket(tmp_path, _srgb_oetf)]
    frames = bracket.read_bracket(stills)
    assert frames[0].shape == (3, 16, 86)  # 48 x 256 at every 3rd pixel
    full = cv2.imread(str(stills[0]))[::3, ::3, ::-1].transpose(2, 0, 1) / 255.0
    assert np.allclose(frames[0].numpy(), full, atol=1e-6)
    out = tmp_path / "camera.cube"
    assert main(["calibrate", *map(str, stills), "--stops=-2,-1,0,1,2", "-o", str(out)]) == 0
    table = read_camera_lut(out).double().numpy()
    codes = np.linspace(0.0, 1.0, table.size)
    sel = (codes > 0.1) & (codes < 0.95)
    assert np.abs(np.log2(table[sel] / _srgb_eotf(codes[sel]))).max() < 0.05


def test_a_calibrated_lut_grades_footage_through_render(tmp_path: Path, white_clip: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import build_parser
    from app.commands.render import build_grade

    cube = tmp_path / "camera.cube"
    assert main(["calibrate", *_bracket(tmp_path, _srgb_oetf), "--stops=-2,-1,0,1,2", "-o", str(cube)]) == 0
    out = tmp_path / "graded.mov"
    assert main(["render", str(white_clip), "-o", str(out), "--format", "prores", "--frames", "0:2",
                 "--camera-lut", str(cube), "--temporal"]) == 0
    assert out.is_file()
    args = build_parser().parse_args(["render", "in.mp4", "-o", "o.mov", "--camera-lut", "camera.cube"])
    source = build_grade(args).source
    assert source.transfer == "camera-lut" and Path(source.camera_lut).is_absolute()
    bad = tmp_path / "bad.cube"
    bad.write_text("LUT_1D_SIZE 4\n0 0 0\n1 1 1\n")
    capsys.readouterr()
    assert main(["render", str(white_clip), "-o", str(tmp_path / "no.mov"), "--format", "prores",
                 "--camera-lut", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}: holds 2 rows where LUT_1D_SIZE says 4" in err
    assert not (tmp_path / "no.mov").exists()


def test_a_bracket_that_cannot_measure_a_curve_is_refused(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from engine.io.exr import write_exr

    stills = _bracket(tmp_path, _srgb_oetf)
    out = tmp_path / "camera.cube"
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), np.zeros((8, 8, 3), np.uint8))
    write_exr(tmp_path / "linear.exr", torch.ones(3, 48, 256), white_luminance=100.0)
    cases = [
        ([stills[0]], "--stops=0", "a bracket needs two or more stills"),
        (stills[:3], "--stops=-2,-1", "--stops '-2,-1' gives 2 exposures for 3 stills"),
        (stills[:2], "--stops=0,0.5", "--stops '0,0.5' spans 0.5 stops; a bracket needs at least 1"),
        (stills[:2], "--stops=0,zero", "is not a comma-separated list of numbers"),
        (stills[:2], "--stops=0,nan", "must be finite and different"),
        ([stills[0], str(small)], "--stops=0,2", f"{small}: is 8x8, the bracket's first still 256x48"),
        ([stills[0], str(tmp_path / "linear.exr")], "--stops=0,2", "not a camera's encoded code values"),
        ([stills[0], str(tmp_path / "missing.png")], "--stops=0,2", "missing.png: no such file"),
    ]
    for files, stops, problem in cases:
        assert main(["calibrate", *files, stops, "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert problem in err and err.count("\n") == 1, err
        assert not out.exists()
    assert main(["calibrate", *stills[:2], "--stops=0,2", "-o", str(tmp_path / "camera.txt")]) == 2
    assert "written as a .cube file" in capsys.readouterr().err
    out.write_text("kept")
    assert main(["calibrate", *stills[:2], "--stops=0,2", "-o", str(out), "-n"]) == 2
    assert out.read_text() == "kept"
