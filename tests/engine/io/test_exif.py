"""engine.io.exif reads the exposure ExifTool (the reference Exif writer and reader) records in
JPEG, PNG and TIFF stills, and refuses metadata that is not a well-formed TIFF structure."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.errors import MediaError
from engine.io.exif import Exposure, read_exposure, relative_stops

needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")


def _still(path: Path) -> Path:
    rows = np.linspace(0, 255, 48 * 32 * 3).reshape(32, 48, 3).astype(np.uint8)
    assert cv2.imwrite(str(path), rows)
    return path


def _tag(path: Path, *assignments: str) -> Path:
    subprocess.run(["exiftool", "-q", "-overwrite_original", *assignments, str(path)], check=True)
    return path


def _peer(path: Path) -> dict[str, float]:
    """ExifTool's numeric reading of the three tags."""
    out = subprocess.run(["exiftool", "-n", "-s", "-ExposureTime", "-FNumber", "-ISO", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return {name.strip(): float(value) for name, value in (line.split(":") for line in out.splitlines())}


@needs_exiftool
@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif"])
@pytest.mark.parametrize(("seconds", "f_number", "iso"), [("1/250", "5.6", "200"), ("2.5", "16", "64"),
                                                           ("1/8000", "1.4", "12800")])
def test_the_exposure_exiftool_wrote_reads_back(tmp_path: Path, suffix: str, seconds: str, f_number: str,
                                                iso: str) -> None:
    path = _tag(_still(tmp_path / f"still{suffix}"), f"-ExposureTime={seconds}", f"-FNumber={f_number}",
                f"-ISO={iso}")
    peer = _peer(path)
    got = read_exposure(path)
    assert got is not None
    assert got.seconds == pytest.approx(peer["ExposureTime"], rel=1e-6)
    assert got.f_number == pytest.approx(peer["FNumber"], rel=1e-6)
    assert got.iso == peer["ISO"]


@needs_exiftool
def test_a_still_with_only_a_shutter_time_has_no_aperture_or_iso(tmp_path: Path) -> None:
    path = _tag(_still(tmp_path / "still.jpg"), "-ExposureTime=1/60")
    assert read_exposure(path) == Exposure(1 / 60, None, None)


def test_stills_without_exif_have_no_exposure(tmp_path: Path) -> None:
    for suffix in (".jpg", ".png", ".tif"):
        assert read_exposure(_still(tmp_path / f"plain{suffix}")) is None
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    assert read_exposure(tmp_path / "empty.jpg") is None
    assert read_exposure(tmp_path / "text.png") is None


@needs_exiftool
def test_corrupt_metadata_is_refused_in_one_line_naming_the_file(tmp_path: Path) -> None:
    tagged = _tag(_still(tmp_path / "still.jpg"), "-ExposureTime=1/250", "-FNumber=8")
    data = tagged.read_bytes()
    exif = data.index(b"Exif\x00\x00") + 6
    order = "<" if data[exif:exif + 2] == b"II" else ">"
    # IFD0's offset pointed past the end of the segment.
    bad_offset = bytearray(data)
    bad_offset[exif + 4:exif + 8] = (0x7FFFFFF0).to_bytes(4, "little" if order == "<" else "big")
    # The byte-order mark overwritten.
    bad_order = bytearray(data)
    bad_order[exif:exif + 2] = b"XX"
    cases = {"offset.jpg": (bytes(bad_offset), "Exif metadata is corrupt"),
             "order.jpg": (bytes(bad_order), "no TIFF byte-order mark"),
             "cut.jpg": (data[:exif + 20], "runs past the end of the file")}
    for name, (content, problem) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(MediaError) as caught:
            read_exposure(path)
        message = str(caught.value)
        assert str(path) in message and problem in message and "\n" not in message


def test_relative_stops_count_shutter_iso_and_aperture() -> None:
    """Exposure = time x ISO / N^2 (the exposure value's definition, ISO 2720 and CIPA DC-004)."""
    paths = [Path(f"{i}.jpg") for i in range(4)]
    exposures = [Exposure(1 / 100, 4.0, 100), Exposure(1 / 50, 4.0, 100), Exposure(1 / 100, 4.0, 400),
                 Exposure(1 / 100, 8.0, 100)]
    assert relative_stops(exposures, paths) == pytest.approx([0.0, 1.0, 2.0, -2.0])
    assert relative_stops([Exposure(1 / 100, None, None), Exposure(1 / 25, None, None)],
                          paths[:2]) == pytest.approx([0.0, 2.0])
    with pytest.raises(MediaError, match=r"2\.jpg: records no Exif ISO where other stills"):
        relative_stops([Exposure(1 / 100, 4.0, 100), Exposure(1 / 50, 4.0, 100), Exposure(1 / 25, 4.0, None)],
                       paths[:3])


def test_a_missing_still_or_a_folder_is_refused_naming_it(tmp_path: Path) -> None:
    for path, problem in ((tmp_path / "missing.jpg", "cannot be read (No such file or directory)"),
                          (tmp_path, "cannot be read (Is a directory)")):
        with pytest.raises(MediaError) as caught:
            read_exposure(path)
        assert str(caught.value) == f"{path}: {problem}"
