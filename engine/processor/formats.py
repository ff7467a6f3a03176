"""What the processor reads and writes: the code-value formats at both ends of the chain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.color.chroma_siting import ChromaSiting
from engine.color.ycbcr import YCbCrMatrix


@dataclass(frozen=True)
class SourceFormat:
    """Decoded planes: n-bit Y'CbCr with `matrix` (None: R'G'B' codes, as gbrp), range, and for
    subsampled chroma the sample phase (x, y) of engine.io.tags.ChromaLocation.phase."""

    bits: int
    full_range: bool
    matrix: YCbCrMatrix | None
    chroma_phase: tuple[float, float] = (0.0, 0.5)


@dataclass(frozen=True)
class TargetFormat:
    """Encoded planes: limited- or full-range n-bit Y'CbCr with `matrix`; `subsample` downsamples
    chroma to 4:2:0 at `siting` before quantisation (engine.color.chroma_siting, as
    engine.io.encode.encode_planes)."""

    bits: int
    matrix: YCbCrMatrix
    full_range: bool = False
    subsample: bool = False
    siting: ChromaSiting = "center"


def chroma_axis(n_out: int, n_in: int, phase: float) -> tuple[np.ndarray, np.ndarray]:
    """Chroma sample index and blend weight for each of n_out luma positions, as engine.io.video
    upsamples: chroma sample k sits on luma position f k + phase (f - 1), edges repeat."""
    factor = -(-n_out // n_in)
    pos = np.clip((np.arange(n_out) - phase * (factor - 1)) / factor, 0.0, n_in - 1)
    index = np.floor(pos).astype(np.int64)
    return index, pos - index
