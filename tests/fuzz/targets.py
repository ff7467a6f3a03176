"""Fuzz targets: every reader and parser Lumigrade owns, one small entry each, and the contract.

A target has a `prepare(folder)` that writes what its reader needs besides the input (a valid
first frame, a model config) and returns seed inputs made by the product's own writers or
real encoders, and a `run(data, folder)` that hands one input to the reader the way the
product does. The harness (`check`) judges the outcome against the contract for any input:

- the reader returns, or raises a LumigradeError (engine/errors.py) whose message is one line
  "<file>: <problem>" naming a file (the CLI prints it and exits 2): the input in the target's
  folder, or a file the input names (a project's footage);
- anything else is a crash: another exception type (a traceback for the user), a message
  spread over lines or naming no file;
- one input may take at most HANG_SECONDS, and may raise the process's peak resident memory by
  at most MEMORY_BOUND_MB (a header claiming a 100000x100000 image must be refused before the
  pixels are allocated).

Adding a target (a new file format, `lumigrade batch` queue files) is one function pair and one
`TARGETS` entry. tests/fuzz/test_fuzz.py runs each briefly with hypothesis over mutated seeds;
bench/fuzz.py runs them for a set time under atheris (libFuzzer's coverage guidance).
"""

from __future__ import annotations

import json
import resource
import signal
import struct
import time
import traceback
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import torch

from engine.errors import LumigradeError

HANG_SECONDS = 10.0
MEMORY_BOUND_MB = 1024
MAX_INPUT_BYTES = 1 << 20


@dataclass(frozen=True)
class Target:
    """One reader under fuzz: its seeds and how one input reaches it."""

    name: str
    prepare: Callable[[Path], list[bytes]]
    run: Callable[[bytes, Path], object]
    json_seeds: bool = False  # seeds are JSON text: structure-aware mutation applies


@dataclass(frozen=True)
class Outcome:
    """'ok' (read), 'refused' (a clear LumigradeError), 'crash', 'hang' or 'memory'."""

    kind: str
    detail: str = ""

    @property
    def violation(self) -> bool:
        return self.kind in ("crash", "hang", "memory")


class Hang(Exception):
    """Raised in the reader by the per-input alarm."""


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """SIGALRM raises Hang in Python code after `seconds` (a hang inside C code is left to the
    parent process: bench/fuzz.py's watchdog and libFuzzer's -timeout)."""

    def expire(signum: int, frame: Any) -> None:
        raise Hang(f"no result after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def signature(exc: BaseException) -> str:
    """Exception type and the innermost frame: one line that tells distinct crashes apart."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__} at {where}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def check(target: Target, data: bytes, folder: Path, *, alarm: bool = True) -> Outcome:
    """Run one input through a target and judge it against the contract."""
    before = _peak_rss_mb()
    started = time.monotonic()
    try:
        if alarm:
            with _alarm(HANG_SECONDS):
                target.run(data, folder)
        else:
            target.run(data, folder)
        outcome = Outcome("ok")
    except Hang as exc:
        return Outcome("hang", str(exc))
    except LumigradeError as exc:
        message = str(exc)
        if "\n" in message or exc.path is None or message != f"{exc.path}: {exc.problem}":
            outcome = Outcome("crash", f"unclear message: {message[:300]!r}")
        else:
            outcome = Outcome("refused", message)
    except Exception as exc:  # the contract: nothing else may escape a reader
        outcome = Outcome("crash", signature(exc))
    if time.monotonic() - started > HANG_SECONDS:
        return Outcome("hang", f"took {time.monotonic() - started:.1f} s")
    grown = _peak_rss_mb() - before
    if grown > MEMORY_BOUND_MB:
        return Outcome("memory", f"peak RSS grew by {grown:.0f} MB")
    return outcome


# -- SPS / VUI ------------------------------------------------------------------------------
# Byte 0 of an input: bit 0 picks HEVC over H.264, bit 1 puts the rest in band (a packet with
# no extradata, as MPEG-TS and avc3 carry it) instead of in the extradata.

def _encoded_streams(folder: Path) -> Iterator[tuple[str, bytes, bytes]]:
    """(codec, extradata, first packet) of tiny x264 / x265 encodes, MP4 (avcC/hvcC) and raw."""
    from tests.engine.io.test_sps import encode

    for codec, name in (("libx264", "h264"), ("libx265", "hevc")):
        for suffix, params in ((".mp4", ""), (".mp4", "chromaloc=2"), (f".{name}", "chromaloc=1")):
            path = encode(folder / f"seed-{name}-{len(params)}{suffix}", codec, params)
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                packet = next(bytes(p) for p in container.demux(stream) if p.size)
                yield name, stream.codec_context.extradata or b"", packet


def _prepare_sps(folder: Path) -> list[bytes]:
    seeds = []
    for codec, extradata, packet in _encoded_streams(folder):
        bit = 1 if codec == "hevc" else 0
        if extradata:
            seeds.append(bytes([bit]) + extradata)
        seeds.append(bytes([bit | 2]) + packet[:4096])
    return seeds


def _run_sps(data: bytes, folder: Path) -> object:
    from engine.io.sps import read_chroma_location
    from engine.io.tags import ChromaLocation

    if not data:
        return None
    codec = "hevc" if data[0] & 1 else "h264"
    body = data[1:]
    extradata, packets = (b"", [body]) if data[0] & 2 else (body, [])
    result = read_chroma_location(codec, extradata, packets)
    if result is not None and not isinstance(result, ChromaLocation):
        raise TypeError(f"read_chroma_location gave {result!r}")
    return result


# -- EXR ------------------------------------------------------------------------------------

def _small_frame(height: int = 8, width: int = 16) -> torch.Tensor:
    ramp = torch.linspace(0.0, 40.0, height * width).reshape(1, height, width)
    return torch.cat([ramp, ramp * 0.5, ramp.flip(-1)])


def _prepare_exr(folder: Path) -> list[bytes]:
    from engine.io.exr import write_exr

    seeds = []
    for compression, half in (("zip", True), ("piz", True), ("none", False), ("rle", True),
                              ("dwaa", True), ("b44", True), ("pxr24", False), ("zips", True)):
        path = folder / f"seed-{compression}.exr"
        write_exr(path, _small_frame(), compression=compression, half=half, white_luminance=100.0)
        seeds.append(path.read_bytes())
    return seeds


def _run_exr(data: bytes, folder: Path) -> object:
    from engine.io.exr import read_exr, read_exr_header

    path = folder / "input.exr"
    path.write_bytes(data)
    read_exr_header(path)
    return read_exr(path, strict=True)


# -- Radiance -------------------------------------------------------------------------------

def _prepare_radiance(folder: Path) -> list[bytes]:
    seeds = []
    for width in (16, 5):  # OpenCV writes run-length scanlines from 8 pixels on, flat ones below
        path = folder / f"seed-{width}.hdr"
        rgb = _small_frame(4, width).permute(1, 2, 0).numpy()[..., ::-1]
        if not cv2.imwrite(str(path), np.ascontiguousarray(rgb)):
            raise RuntimeError(f"OpenCV could not write {path}")
        seeds.append(path.read_bytes())
    head, _, pixels = seeds[0].partition(b"\n\n")
    seeds.append(head + b"\nEXPOSURE=2.0\nPRIMARIES=0.64 0.33 0.3 0.6 0.15 0.06 0.3127 0.329\n\n" + pixels)
    return seeds


def _run_radiance(data: bytes, folder: Path) -> object:
    from engine.io.radiance import read_radiance

    path = folder / "input.hdr"
    path.write_bytes(data)
    return read_radiance(path)


# -- image sequences ------------------------------------------------------------------------
# Byte 0 picks the format; the rest is frame 1 of a two-frame sequence whose frame 0 is valid
# (bit 7 of byte 0 swaps them), read through open_clip as a render reads it.

_SEQUENCE_SUFFIXES = (".png", ".tif", ".jpg", ".exr", ".hdr", ".dpx")


def _sequence_still(folder: Path, suffix: str) -> Path:
    """A small real file of each format: OpenCV for PNG/TIFF/JPEG/.hdr, FFmpeg for DPX, ours for EXR."""
    path = folder / f"still{suffix}"
    if path.exists():
        return path
    frame = _small_frame()
    if suffix == ".exr":
        from engine.io.exr import write_exr

        write_exr(path, frame)
    elif suffix == ".dpx":
        with av.open(str(path), "w", format="image2") as out:
            stream = out.add_stream("dpx", rate=24)
            stream.width, stream.height, stream.pix_fmt = 16, 8, "rgb48le"
            image = (frame / 40.0 * 65535).clamp(0, 65535).permute(1, 2, 0).numpy().astype(np.uint16)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb48le")):
                out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
    else:
        bgr = frame.permute(1, 2, 0).numpy()[..., ::-1]
        image = bgr if suffix == ".hdr" else (bgr / 40.0 * 255).clip(0, 255).astype(np.uint8)
        if not cv2.imwrite(str(path), np.ascontiguousarray(image)):
            raise RuntimeError(f"OpenCV could not write {path}")
    return path


def _prepare_sequence(folder: Path) -> list[bytes]:
    return [bytes([i]) + _sequence_still(folder, s).read_bytes() for i, s in enumerate(_SEQUENCE_SUFFIXES)]


def _run_sequence(data: bytes, folder: Path) -> object:
    from engine.io.open import open_clip

    if not data:
        return None
    suffix = _SEQUENCE_SUFFIXES[data[0] % len(_SEQUENCE_SUFFIXES)]
    shot = folder / "shot"
    shot.mkdir(exist_ok=True)
    for old in shot.iterdir():
        old.unlink()
    valid = _sequence_still(folder, suffix).read_bytes()
    first, second = (data[1:], valid) if data[0] & 0x80 else (valid, data[1:])
    (shot / f"shot.0001{suffix}").write_bytes(first)
    (shot / f"shot.0002{suffix}").write_bytes(second)
    clip = open_clip(shot / f"shot.%04d{suffix}")
    try:
        return [rgb.shape for _, rgb in clip.frames()]
    finally:
        clip.close()


# -- grade and project JSON -----------------------------------------------------------------

def _grades() -> list[Any]:
    from engine.grade import Grade, OperatorChoice, OutputSettings, SourceTransform

    return [
        Grade(),
        Grade(itm=OperatorChoice("akyuz", {"gamma": 1.5}), exposure=1.5, saturation=1.2,
              tmo=OperatorChoice("reinhard", {"key": 0.2}), output=OutputSettings(format="exr")),
        Grade(itm=OperatorChoice("bt2408"), temporal=True, temporal_params={},
              source=SourceTransform(transfer="gamma", gamma=2.2, primaries="bt709"),
              output=OutputSettings(format="sdr", preset="ultrafast", crf=23)),
    ]


def _prepare_grade(folder: Path) -> list[bytes]:
    _sequence_still(folder, ".png")
    return [g.to_json().encode() for g in _grades()]


def _run_grade(data: bytes, folder: Path) -> object:
    """A grade file as `render --grade` reads it, then its pipeline on a small still, one frame
    through every view: a value the validator lets through must not break the render."""
    from engine.grade import Grade
    from engine.io.open import open_clip
    from engine.pipeline import Pipeline

    path = folder / "input.json"
    path.write_bytes(data)
    grade = Grade.load(path)
    if grade.temporal:  # temporal analysis of a one-frame clip is its own (slow) subject
        grade = grade.replace(temporal=False)
    clip = open_clip(_sequence_still(folder, ".png"))
    try:
        pipeline = Pipeline(grade, clip, "cpu")
        hdr = pipeline.hdr(0)
        return [pipeline.output(0, hdr, view).shape for view in ("pq", "hlg", "sdr", "linear")]
    except LumigradeError as exc:
        raise type(exc)(exc.problem, path) from None
    finally:
        clip.close()


def _prepare_project(folder: Path) -> list[bytes]:
    from app.project import Project
    from app.versions import CompareSides, GradeVersion

    source = _sequence_still(folder, ".png")
    grades = _grades()
    seeds = []
    for number, project in enumerate((
        Project(),
        Project(source=source, grade=grades[1], frame=0),
        Project(source=source, grade=grades[0], versions=(GradeVersion("warm", grades[1]),
                                                          GradeVersion("cool", grades[2])),
                sides=CompareSides("warm", "cool")),
    )):
        path = project.save(folder / f"seed{number}.lumigrade")
        seeds.append(path.read_bytes())
    return seeds


def _run_project(data: bytes, folder: Path) -> object:
    """A project file, and its footage opened as Session.open_project opens it."""
    from app.project import Project
    from engine.io.open import open_clip

    path = folder / "input.lumigrade"
    path.write_bytes(data)
    project = Project.load(path)
    if project.source is not None:
        open_clip(project.source).close()
    return project


def _prepare_queue(folder: Path) -> list[bytes]:
    still = _sequence_still(folder, ".png")
    grade = json.loads(_grades()[1].to_json())
    out = folder / "out"
    out.mkdir(exist_ok=True)
    queues = [
        {"lumigrade_queue": 1, "jobs": [{"input": str(still), "outputs": [
            {"format": "exr", "path": str(out / "a_exr")}]}]},
        {"lumigrade_queue": 1, "chunk_frames": 24, "jobs": [
            {"name": "sh010", "input": str(still), "grade": grade, "frames": "0:1",
             "outputs": [{"format": "exr", "path": str(out / "b_exr")},
                         {"format": "sdr", "path": str(out / "b.mp4")}]}]},
    ]
    return [json.dumps(q).encode() for q in queues]


def _run_queue(data: bytes, folder: Path) -> object:
    """A queue file as `lumigrade batch` validates it before anything starts."""
    from app.batch_queue import load_queue

    path = folder / "input.json"
    path.write_bytes(data)
    return load_queue(path)


# -- camera LUT -------------------------------------------------------------------------------

def _prepare_camera_lut(folder: Path) -> list[bytes]:
    """The LUT `lumigrade calibrate` writes, and a manufacturer-style one (comments, a domain
    wider than the codes, a log foot below zero)."""
    from engine.crf.camera_lut import write_camera_lut

    written = write_camera_lut(folder / "seed.cube", torch.linspace(0.0, 1.0, 64) ** 2.2, "seed")
    rows = "".join(f"{v:.6f} {v:.6f} {v:.6f}\n" for v in 2.0 ** np.linspace(-9.0, 3.0, 17) - 0.004)
    foreign = (f"# to linear\nTITLE \"log\"\nLUT_1D_SIZE 17\nDOMAIN_MIN -0.25 -0.25 -0.25\n"
               f"DOMAIN_MAX 1.25 1.25 1.25\n{rows}")
    return [written.read_bytes(), foreign.encode(), b"LUT_1D_SIZE 2\nLUT_1D_INPUT_RANGE 0 1\n0 0 0\n1 1 1\n"]


def _run_camera_lut(data: bytes, folder: Path) -> object:
    """A .cube as the `camera-lut` source transfer reads it (`render --camera-lut`)."""
    from engine.crf.camera_lut import read_camera_lut

    path = folder / "input.cube"
    path.write_bytes(data)
    return read_camera_lut(path)


# -- Exif exposure ---------------------------------------------------------------------------

def _exif_tiff(order: str) -> bytes:
    """A TIFF structure as cameras write it: IFD0 pointing to an Exif IFD that holds
    ExposureTime 1/250 and FNumber 5.6 (RATIONAL, stored after the IFD) and ISO 200 (SHORT, in
    the entry)."""
    exif_ifd = 8 + 2 + 12 + 4
    values = exif_ifd + 2 + 3 * 12 + 4
    ifd0 = struct.pack(order + "H", 1) + struct.pack(order + "HHII", 0x8769, 4, 1, exif_ifd) + bytes(4)
    entries = (struct.pack(order + "HHII", 0x829A, 5, 1, values)
               + struct.pack(order + "HHII", 0x829D, 5, 1, values + 8)
               + struct.pack(order + "HHIHH", 0x8827, 3, 1, 200, 0))
    head = (b"II*\x00" if order == "<" else b"MM\x00*") + struct.pack(order + "I", 8)
    return (head + ifd0 + struct.pack(order + "H", 3) + entries + bytes(4)
            + struct.pack(order + "IIII", 1, 250, 56, 10))


def _prepare_exif(folder: Path) -> list[bytes]:
    """A JPEG with the Exif in its APP1 segment (little-endian) and a PNG with it in an eXIf chunk
    (big-endian), as `lumigrade calibrate` reads them."""
    ok, jpeg = cv2.imencode(".jpg", np.full((8, 8, 3), 128, np.uint8))
    assert ok
    payload = b"Exif\x00\x00" + _exif_tiff("<")
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    with_exif = jpeg.tobytes()[:2] + app1 + jpeg.tobytes()[2:]
    ok, png = cv2.imencode(".png", np.full((8, 8, 3), 128, np.uint8))
    assert ok
    tiff = _exif_tiff(">")
    chunk = struct.pack(">I", len(tiff)) + b"eXIf" + tiff + struct.pack(">I", zlib.crc32(b"eXIf" + tiff))
    return [with_exif, png.tobytes()[:33] + chunk + png.tobytes()[33:]]


def _run_exif(data: bytes, folder: Path) -> object:
    """A still's Exif exposure as `lumigrade calibrate` reads it without --stops."""
    from engine.io.exif import read_exposure

    path = folder / "input.jpg"
    path.write_bytes(data)
    return read_exposure(path)


# -- safetensors weights --------------------------------------------------------------------
# The input is the weights file of a small network whose config and checksum are in order: the
# SHA-256 check guards against corruption, not against a file made to pass it, so the parser
# behind it is fuzzed with the checksum recorded for each input.

_NET = "fuzznet"


def _prepare_weights(folder: Path) -> list[bytes]:
    from engine.models.unet import HighlightNet, UNetConfig
    from engine.models.weights import save_network

    torch.manual_seed(0)
    model = HighlightNet(UNetConfig(widths=(4, 8)))
    save_network(model, {}, _NET, folder)
    return [(folder / f"{_NET}.safetensors").read_bytes()]


def _run_weights(data: bytes, folder: Path) -> object:
    from engine.models.weights import load_network, record_checksum

    path = folder / f"{_NET}.safetensors"
    path.write_bytes(data)
    record_checksum(path)
    return load_network(_NET, folder)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("sps", _prepare_sps, _run_sps),
        Target("exr", _prepare_exr, _run_exr),
        Target("radiance", _prepare_radiance, _run_radiance),
        Target("sequence", _prepare_sequence, _run_sequence),
        Target("grade", _prepare_grade, _run_grade, json_seeds=True),
        Target("project", _prepare_project, _run_project, json_seeds=True),
        Target("queue", _prepare_queue, _run_queue, json_seeds=True),
        Target("camera-lut", _prepare_camera_lut, _run_camera_lut),
        Target("exif", _prepare_exif, _run_exif),
        Target("weights", _prepare_weights, _run_weights),
    )
}
"""Every fuzz target by name; bench/fuzz.py --target and the tests read this."""


def write_seeds(target: Target, folder: Path) -> list[bytes]:
    """Prepare the target's folder and return its seeds (each checked to read cleanly)."""
    folder.mkdir(parents=True, exist_ok=True)
    seeds = target.prepare(folder)
    for seed in seeds:
        outcome = check(target, seed, folder, alarm=False)
        if outcome.kind != "ok":
            raise RuntimeError(f"seed of {target.name} does not read: {outcome}")
    return seeds
