"""Every input the fuzzers found breaking the contract, and the size claims it must refuse.

Each test names the target and what the input did before the fix. The contract is
tests/fuzz/targets.py's: a LumigradeError whose one-line message names the file, nothing else.
"""

from __future__ import annotations

import json
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch

from app.project import Project
from engine.errors import FormatError, GradeError, MediaError
from engine.grade import Grade
from engine.io.exr import read_exr, read_exr_header, write_exr
from engine.io.limits import MAX_IMAGE_PIXELS
from engine.io.radiance import read_radiance
from tests.fuzz.targets import TARGETS, Target, check

RLE_PIXELS = b"\x02\x02\x00\x10" + (b"\x90\x80" * 4)  # one 16-pixel run-length scanline


def radiance(header: bytes, resolution: bytes = b"-Y 1 +X 16", pixels: bytes = RLE_PIXELS) -> bytes:
    return b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n" + header + b"\n" + resolution + b"\n" + pixels


def one_line_naming(exc: pytest.ExceptionInfo[Exception], path: Path) -> None:
    message = str(exc.value)
    assert "\n" not in message and message.startswith(f"{path}: "), message


def test_radiance_fixture_reads_as_written(tmp_path: Path) -> None:
    # The hand-made scanline below is valid: 16 pixels of mantissa 128, exponent 128 -> 0.5.
    path = tmp_path / "ok.hdr"
    path.write_bytes(radiance(b""))
    frame, info = read_radiance(path)
    assert (info.width, info.height) == (16, 1)
    assert torch.allclose(frame, torch.full((3, 1, 16), 128 * 2.0 ** (128 - 136)))


@pytest.mark.parametrize(
    ("header", "resolution", "words"),
    [
        # Found by tests/fuzz/test_fuzz.py: int(b'\x006') raised ValueError from the resolution line.
        (b"", b"-Y \x006 +X 16", "bad Radiance resolution line"),
        # float('abc') and a short PRIMARIES line raised ValueError and IndexError.
        (b"EXPOSURE=abc\n", b"-Y 1 +X 16", "bad Radiance EXPOSURE line"),
        (b"PRIMARIES=0.64 0.33\n", b"-Y 1 +X 16", "bad Radiance PRIMARIES line"),
        # EXPOSURE=0 divided every pixel by zero (Inf pixels); nan passed through as NaN pixels.
        (b"EXPOSURE=0\n", b"-Y 1 +X 16", "is not a positive number"),
        (b"EXPOSURE=nan\n", b"-Y 1 +X 16", "bad Radiance EXPOSURE line"),
        # All-zero y made the RP 177 matrix singular: numpy's LinAlgError.
        (b"PRIMARIES=0 0 0 0 0 0 0.3127 0.329\n", b"-Y 1 +X 16", "are no RGB space"),
        # A tiny EXPOSURE made every pixel +Inf.
        (b"EXPOSURE=1e-45\n", b"-Y 1 +X 16", "overflow"),
    ],
)
def test_bad_radiance_headers(tmp_path: Path, header: bytes, resolution: bytes, words: str) -> None:
    path = tmp_path / "bad.hdr"
    path.write_bytes(radiance(header, resolution))
    with pytest.raises((FormatError, MediaError)) as exc:
        read_radiance(path)
    one_line_naming(exc, path)
    assert words in str(exc.value)


@pytest.mark.parametrize("resolution", [b"-Y 100000 +X 100000", b"-Y 30000 +X 30000"])
def test_radiance_size_claims_are_refused_before_allocation(tmp_path: Path, resolution: bytes) -> None:
    # 100000x100000 raised cv2.error (OpenCV's own 2^30-pixel limit); 30000x30000 is under that
    # limit, and a few bytes of pixels now cannot claim it.
    path = tmp_path / "huge.hdr"
    path.write_bytes(radiance(b"", resolution))
    tracemalloc.start()
    try:
        with pytest.raises((FormatError, MediaError)) as exc:
            read_radiance(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    one_line_naming(exc, path)
    assert peak < 16 << 20


Box = tuple[int, int, int, int]


def _exr_with_windows(path: Path, data: Box, display: Box) -> Path:
    """A real 1x1 EXR whose header then claims other data and display windows (box2i attributes)."""
    write_exr(path, torch.ones(3, 1, 1))
    raw = bytearray(path.read_bytes())
    for name, box in ((b"dataWindow", data), (b"displayWindow", display)):
        at = raw.index(name + b"\x00box2i\x00") + len(name) + 7 + 4  # name, type, int32 size
        raw[at : at + 16] = struct.pack("<4i", *box)
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize(
    ("data", "display"),
    [((0, 0, 99999, 99999), (0, 0, 99999, 99999)),  # a 100000x100000 image
     # 1 pixel of data padded out to 100000x100000: numpy's MemoryError for 112 GiB before the fix.
     ((0, 0, 0, 0), (0, 0, 99999, 99999)),
     # under each side's limit, over the pixel count: 3 GiB of zeros was allocated and returned.
     ((0, 0, 0, 0), (0, 0, 16383, 16383))],
)
def test_exr_size_claims_are_refused_before_allocation(tmp_path: Path, data: Box, display: Box) -> None:
    path = _exr_with_windows(tmp_path / "huge.exr", data, display)
    tracemalloc.start()
    try:
        with pytest.raises(FormatError) as exc:
            read_exr(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    one_line_naming(exc, path)
    assert "the header claims" in str(exc.value)
    assert MAX_IMAGE_PIXELS < 16384 * 16384
    assert peak < 16 << 20


def test_exr_window_patch_is_read_back(tmp_path: Path) -> None:
    # The patcher writes the windows where OpenEXR reads them: the 1-pixel data window sits at
    # the top left of a 3x2 display window, black elsewhere.
    path = _exr_with_windows(tmp_path / "pad.exr", (0, 0, 0, 0), (0, 0, 2, 1))
    frame, info = read_exr(path)
    assert (info.width, info.height) == (3, 2)
    expected = torch.zeros(3, 2, 3)
    expected[:, 0, 0] = 1.0
    assert torch.allclose(frame, expected, atol=1e-3)


def test_exr_singular_chromaticities_are_refused(tmp_path: Path) -> None:
    # Chromaticities with y = 0 raised ZeroDivisionError.
    from engine.color.primaries import Primaries

    path = tmp_path / "flat.exr"
    flat = Primaries("flat", (0.3, 0.0), (0.3, 0.0), (0.3, 0.0), (0.3127, 0.329))
    write_exr(path, torch.ones(3, 2, 2), chromaticities=flat)
    with pytest.raises(FormatError) as exc:
        read_exr(path)
    one_line_naming(exc, path)
    assert "no RGB space" in str(exc.value)


@pytest.mark.parametrize("depth", [100000, 2000])
def test_deeply_nested_json_is_a_grade_error(tmp_path: Path, depth: int) -> None:
    # Found by test_fuzz (grade and project): json.loads raised RecursionError, a traceback.
    text = '{"version": 1, "temporal_params": ' + "[" * depth + "]" * depth + "}"
    for loader, name in ((Grade.load, "deep.json"), (Project.load, "deep.lumigrade")):
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(GradeError) as exc:
            loader(path)
        one_line_naming(exc, path)


def test_the_contract_checker_tells_a_crash_from_a_refusal(tmp_path: Path) -> None:
    # The harness itself: a refusal is not a violation; an unclear message or a stray exception is.
    target = TARGETS["radiance"]
    assert check(target, b"not radiance", tmp_path).kind == "refused"
    assert check(target, radiance(b"", b"-Y \x006 +X 16"), tmp_path).kind == "refused"
    grade = TARGETS["grade"]
    assert check(grade, np.zeros(4).tobytes(), tmp_path).kind == "refused"

    def stray(data: bytes, folder: Path) -> None:
        int(data)

    def nameless(data: bytes, folder: Path) -> None:
        raise GradeError("bad")

    assert check(Target("stray", list, stray), b"x", tmp_path).kind == "crash"
    assert check(Target("nameless", list, nameless), b"x", tmp_path).kind == "crash"


@pytest.mark.parametrize(("attribute", "renamed"),
                         [(b"chromaticities", b"chromaticitiez"), (b"whiteLuminance", b"floaz"),
                          (b"whiteLuminance", b"flo\xa1t")])  # a type name that is not UTF-8
def test_exr_standard_attribute_of_another_type_is_refused(tmp_path: Path, attribute: bytes,
                                                           renamed: bytes) -> None:
    # Found by bench/fuzz.py (exr, sequence): a standard attribute stored under an unknown type
    # name comes back from the binding as an OpaqueAttribute; iterating it or float() of it raised
    # TypeError. The second run found the first fix's message taking repr() of it, which decodes
    # the bytes as UTF-8 (UnicodeDecodeError).
    path = tmp_path / "opaque.exr"
    write_exr(path, torch.ones(3, 2, 2), white_luminance=100.0)
    raw = path.read_bytes()
    type_name = b"chromaticities" if attribute == b"chromaticities" else b"float"
    stored, opaque = (b"\x00".join((attribute, name, b"")) for name in (type_name, renamed))
    patched = raw.replace(stored, opaque, 1)
    assert patched != raw
    path.write_bytes(patched)
    with pytest.raises(FormatError) as exc:
        read_exr(path)
    one_line_naming(exc, path)
    assert attribute.decode() in str(exc.value)
    with pytest.raises(FormatError):
        read_exr_header(path)  # what `lumigrade probe` reads


@pytest.mark.parametrize("widths", [[100000, 100000], [], [4.5, 8], [True, 8], list(range(1, 20))])
def test_model_config_out_of_bounds_is_refused_before_allocation(tmp_path: Path, widths: list) -> None:
    # Before the bounds, a config of 19 levels made torch try to allocate 360 GB of weights
    # (RuntimeError from its allocator) before the safetensors file was read, and one of
    # 100000-channel levels asks for more; now each is refused naming the config.
    from engine.models.weights import load_network

    TARGETS["weights"].prepare(tmp_path)
    config_path = tmp_path / "fuzznet.json"
    config = json.loads(config_path.read_text())
    config["architecture"]["widths"] = widths
    config_path.write_text(json.dumps(config))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError) as exc:
            load_network("fuzznet", tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    one_line_naming(exc, config_path)
    assert peak < 16 << 20


@pytest.mark.parametrize("key", ["mode", "view", "mask"])
def test_project_enum_of_another_type_is_a_grade_error(tmp_path: Path, key: str) -> None:
    # Found by the second bench/fuzz.py run (project): a list as compare.mode raised TypeError
    # (unhashable) from the dictionary lookup of the names.
    path = tmp_path / "p.lumigrade"
    data = Project().to_dict()
    data["compare"][key] = ["side_by_side"]
    path.write_text(json.dumps(data))
    with pytest.raises(GradeError) as exc:
        Project.load(path)
    one_line_naming(exc, path)
    assert f"compare.{key}: ['side_by_side'] is not one of" in str(exc.value)


def test_queue_output_format_of_another_type_is_refused(tmp_path: Path) -> None:
    # Found by the suite's fuzz run of the queue target: a list as an output's "format" raised
    # TypeError (unhashable) from the lookup of the deliverables.
    from app.batch_queue import load_queue
    from engine.errors import LumigradeError
    from tests.fuzz.targets import TARGETS

    (seed,) = [s for s in TARGETS["queue"].prepare(tmp_path) if b'"chunk_frames"' not in s]
    data = json.loads(seed)
    data["jobs"][0]["outputs"][0]["format"] = ["exr"]
    path = tmp_path / "reel.json"
    path.write_text(json.dumps(data))
    with pytest.raises(LumigradeError) as exc:
        load_queue(path)
    one_line_naming(exc, path)
    assert "unknown format ['exr']" in str(exc.value)
