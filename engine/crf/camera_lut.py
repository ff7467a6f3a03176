"""A camera's inverse response as a 1-D .cube LUT (the `camera-lut` source transfer reads it,
`lumigrade calibrate` writes it), and the check every response table passes before a decode.

The file follows the Adobe Cube LUT Specification 1.0 (2013) for 1-D tables: `LUT_1D_SIZE N`
(2 to 65536), optional `TITLE`, `DOMAIN_MIN` and `DOMAIN_MAX` (and Resolve's
`LUT_1D_INPUT_RANGE`), then N lines of R G B output values for inputs evenly spaced over the
domain. Here the input is the camera's code value and the output the light it recorded, the
table a manufacturer publishes as "to linear" or a bracket calibration measures (Debevec &
Malik 1997). The engine wants it as engine.temporal.crf.linearise reads the `estimated`
transfer's: one curve for all three channels, evenly spaced over codes 0 to 1, 1.0 at the clip.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from engine.errors import GradeError
from engine.grade import read_text
from engine.io.atomic import AtomicOutput, output_error

MAX_SIZE = 65536  # the specification's limit on LUT_1D_SIZE
# Channels may differ by this fraction of the curve's top (a LUT written with rounding) and
# still be one curve; more is a per-channel response, which the engine does not model.
CHANNEL_TOLERANCE = 1e-3


def camera_lut_response(path: str | Path) -> Tensor:
    """read_camera_lut, parsed once per version of the file (its path, size and modification
    time): a Pipeline is built for every grade edit, and a 65536-row table takes 0.27 s to
    parse, where a slider needs its frame in tens of milliseconds. An edited file is read again."""
    path = Path(path)
    try:
        stat = path.stat()
    except (OSError, ValueError):
        return read_camera_lut(path)  # names what is wrong with the path
    return _read_version(path.absolute(), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _read_version(path: Path, _mtime_ns: int, _size: int) -> Tensor:
    return read_camera_lut(path)


def read_camera_lut(path: str | Path) -> Tensor:
    """The inverse response in `path` as a (N,) float32 table over codes 0 to 1, 1.0 at code 1.0.

    GradeError naming the file for anything that is not such a curve: missing, a 3-D LUT, a
    wrong row count, non-numbers, NaN or Inf, channels that disagree, a domain that does not
    cover the codes, or light that falls as the code rises.
    """
    path = Path(path)
    text = read_text(path, "camera LUT")
    size: int | None = None
    domain = (np.zeros(3), np.ones(3))
    rows: list[list[float]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        keyword = words[0].upper()
        if keyword[0].isalpha():
            if rows:
                raise GradeError(f"line {number}: keyword {words[0]} after the table's rows", path)
            if keyword == "LUT_3D_SIZE":
                raise GradeError("is a 3-D LUT; a camera response is a 1-D LUT (LUT_1D_SIZE)", path)
            if keyword == "LUT_1D_SIZE":
                size = _integer(words, number, path)
            elif keyword in ("DOMAIN_MIN", "DOMAIN_MAX"):
                values = _numbers(words[1:], 3, number, path)
                domain = (values, domain[1]) if keyword == "DOMAIN_MIN" else (domain[0], values)
            elif keyword == "LUT_1D_INPUT_RANGE":
                lo, hi = _numbers(words[1:], 2, number, path)
                domain = (np.full(3, lo), np.full(3, hi))
            elif keyword != "TITLE":
                raise GradeError(f"line {number}: unknown keyword {words[0]}", path)
            continue
        rows.append(list(_numbers(words, 3, number, path)))
    if size is None:
        raise GradeError("has no LUT_1D_SIZE line; not a 1-D .cube LUT", path)
    if len(rows) != size:
        raise GradeError(f"holds {len(rows)} rows where LUT_1D_SIZE says {size} (truncated?)", path)
    table = np.asarray(rows, dtype=np.float64).T  # (3, N)
    lo, hi = domain
    if bool((lo >= hi).any()) or bool((lo > 0.0).any()) or bool((hi < 1.0).any()):
        raise GradeError(f"its domain {lo.tolist()} to {hi.tolist()} does not cover code values 0 to 1", path)
    # Resampled over codes 0 to 1 at the file's own density (a unit domain keeps its rows as they are).
    codes = np.linspace(0.0, 1.0, size)
    curves = np.stack([np.interp(codes, np.linspace(lo[c], hi[c], size), table[c]) for c in range(3)])
    top = float(np.abs(curves).max())
    if top == 0.0 or float(np.ptp(curves, axis=0).max()) > CHANNEL_TOLERANCE * top:
        raise GradeError("holds a different curve per channel; a camera response is one curve for all "
                         "three", path)
    curve = curves.mean(axis=0)
    if curve[-1] <= 0.0:
        raise GradeError(f"reads {curve[-1]:g} at code 1.0; the clip must read positive light", path)
    # A log curve's foot maps codes below its black to negative light, which no pixel received.
    response = torch.from_numpy(np.maximum(curve / curve[-1], 0.0)).float()
    try:
        check_response(response)
    except GradeError as exc:
        raise GradeError(exc.problem, path) from None
    return response


def check_cube_target(path: Path) -> Path:
    """`path` where it names a .cube file; GradeError naming it otherwise (checked before a
    bracket is measured, so that a wrong name costs no measurement)."""
    if path.suffix.lower() != ".cube":
        raise GradeError("the camera LUT is written as a .cube file", path)
    return path


def write_camera_lut(path: str | Path, response: Tensor, title: str) -> Path:
    """Write an inverse response (as read_camera_lut returns it) as a 1-D .cube LUT that
    read_camera_lut, Resolve and OpenColorIO read: the same curve in all three columns over a unit
    domain. Atomic: a failed write leaves no file and any earlier one as it was."""
    check_response(response)
    rows = "".join(f"{v:.8g} {v:.8g} {v:.8g}\n" for v in response.double().tolist())
    title = title.replace('"', "'").replace("\n", " ")
    text = (f'TITLE "{title}"\n# Lumigrade camera response: code value -> light, 1.0 at the clip\n'
            f"LUT_1D_SIZE {response.numel()}\nDOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 1 1\n{rows}")
    with AtomicOutput(path) as temp:
        try:
            temp.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise output_error(exc, path) from None
    return Path(path)


def check_response(table: Tensor) -> None:
    """Refuse an inverse response that engine.temporal.crf.linearise cannot read as a camera's:
    a 1-D table of at least two finite values that never fall, from 0 or more up to 1.0 at the
    clip."""
    problem = None
    if table.dim() != 1 or table.numel() < 2:
        problem = f"a 1-D table of at least 2 values, not shape {tuple(table.shape)}"
    elif not bool(table.isfinite().all()):
        problem = "finite values"
    elif bool((table.diff() < 0).any()) or float(table[0]) < 0.0 or abs(float(table[-1]) - 1.0) > 1e-6:
        problem = (f"values that never fall, from 0 or more to 1.0 (it runs {float(table[0]):g} to "
                   f"{float(table[-1]):g})")
    if problem is not None:
        raise GradeError(f"the inverse camera response needs {problem}")


def _integer(words: list[str], number: int, path: Path) -> int:
    try:
        size = int(words[1]) if len(words) == 2 else 0
    except ValueError:
        size = 0
    if not 2 <= size <= MAX_SIZE:
        raise GradeError(f"line {number}: LUT_1D_SIZE needs a whole number from 2 to {MAX_SIZE}", path)
    return size


def _numbers(words: list[str], count: int, number: int, path: Path) -> np.ndarray:
    try:
        values = [float(word) for word in words]
    except ValueError:
        raise GradeError(f"line {number}: {' '.join(words)[:60]!r} is not {count} numbers", path) from None
    if len(values) != count:
        raise GradeError(f"line {number}: {len(values)} numbers where {count} belong", path)
    if not all(math.isfinite(v) for v in values):
        raise GradeError(f"line {number}: NaN or Inf in the table", path)
    return np.asarray(values, dtype=np.float64)
