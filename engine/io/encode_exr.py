"""OpenEXR image sequences with the video writers' write / close / abort interface.

Frames arrive as scene-linear BT.2020 and are written as half floats, one file per frame, named
from a printf pattern ('shot.%06d.exr' by default), in BT.2020 or converted to the file's
`primaries` (ACES2065-1, SMPTE ST 2065-1: AP0 primaries, ACES white, Bradford-adapted as
OpenColorIO's studio config does). The values are in units of `nits_per_unit` cd/m² (the
pipeline's 'linear' view divides by it), and each file records that scale in its
`whiteLuminance` attribute and its primaries in `chromaticities`, the standard attributes of the
OpenEXR Technical Introduction. The sequence is built in a hidden folder
and moved into place by close().
"""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from engine.color.primaries import BT2020, Primaries, convert_primaries
from engine.errors import FormatError, LumigradeError, OutputError
from engine.finite import all_finite
from engine.io.atomic import AtomicOutput, output_error
from engine.io.exr import COMPRESSIONS, write_exr


class ExrSequenceWriter:
    """Writes frame `start_number + i` of a sequence to `folder / (pattern % (start_number + i))`."""

    def __init__(
        self, folder: Path, pattern: str, compression: str, nits_per_unit: float, start_number: int,
        primaries: Primaries = BT2020,
    ) -> None:
        self.folder = folder
        self.pattern = pattern
        self.compression = compression
        self.nits_per_unit = nits_per_unit
        self.primaries = primaries
        self._next = start_number
        self._written = 0
        self._finished = False
        self._output = AtomicOutput(folder, directory=True)

    def write(self, frame: Tensor) -> None:
        """Write one (3, H, W) linear frame in units of nits_per_unit cd/m², on any device."""
        if self._finished:
            raise OutputError("the writer is closed", self.folder)
        name = self.pattern % self._next
        try:
            if frame.ndim != 3 or frame.shape[0] != 3:
                shape = tuple(frame.shape)
                raise FormatError(f"frame {self._written} is {shape}, expected (3, H, W)", self.folder / name)
            if not all_finite(frame):
                raise FormatError(f"frame {self._written} holds NaN or Inf", self.folder / name)
            write_exr(
                self._output.temp / name,
                convert_primaries(frame, BT2020, self.primaries),
                compression=self.compression,
                half=True,
                chromaticities=self.primaries,
                white_luminance=self.nits_per_unit,
            )
        except BaseException as exc:
            self.abort()
            if isinstance(exc, OSError):
                raise output_error(exc, self.folder / name) from None
            if (
                isinstance(exc, LumigradeError)
                and exc.path is not None
                and exc.path.parent == self._output.temp
            ):
                # Name the frame where it was going to be, not the hidden folder it was built in.
                raise type(exc)(exc.problem, self.folder / name) from None
            raise
        self._next += 1
        self._written += 1

    def close(self) -> None:
        """Move the finished sequence into the target folder."""
        if self._finished:
            raise OutputError("the writer is closed", self.folder)
        if self._written == 0:
            self.abort()
            raise OutputError("no frames were written", self.folder)
        self._finished = True
        self._output.commit()

    def abort(self) -> None:
        """Remove every frame written so far; the target folder is left as it was. Idempotent."""
        self._finished = True
        self._output.discard()


def sequence_layout(path: str | Path, pattern: str | None = None) -> tuple[Path, str]:
    """The folder and the frame name pattern a sequence written to `path` uses."""
    path = Path(path)
    if pattern is None and "%" in path.name:
        return path.parent, path.name
    return path, pattern or f"{path.name}.%06d.exr"


def open_exr_sequence_writer(
    path: str | Path,
    *,
    compression: str = "zip",
    nits_per_unit: float = 100.0,
    pattern: str | None = None,
    start_number: int = 0,
    primaries: Primaries = BT2020,
) -> ExrSequenceWriter:
    """An EXR sequence into the folder `path`, or into its parent when its name is a pattern.

    'renders/shot' writes renders/shot/shot.000000.exr, ...; 'renders/shot.%04d.exr' writes
    renders/shot.0000.exr, ... . 1.0 in the files is `nits_per_unit` cd/m² (default 100).
    """
    path, pattern = sequence_layout(path, pattern)
    try:
        distinct = (pattern % 0) != (pattern % 1)
    except (TypeError, ValueError):
        distinct = False
    if not distinct or "/" in pattern:
        raise OutputError(f"frame name pattern {pattern!r} needs one integer field such as %06d", path)
    if compression not in COMPRESSIONS:
        raise OutputError(f"unknown EXR compression {compression!r} (one of {', '.join(COMPRESSIONS)})", path)
    if not nits_per_unit > 0:
        raise OutputError(f"nits per unit must be positive, got {nits_per_unit}", path)
    return ExrSequenceWriter(path, pattern, compression, float(nits_per_unit), start_number, primaries)
