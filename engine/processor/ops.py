"""The typed ops of a per-pixel chain, in the spirit of OpenColorIO's processor ops.

Every op maps three channels to three channels. A chain is a tuple of ops applied in order to
Y'CbCr (or R'G'B') code values; the last op, Quantize, rounds to integer output codes. Ops hold
float64 numpy arrays or engine.lut.Lut1D tables, never frames, so one chain serves every frame
of a grade (for curve ITMs shaped by statistics: every frame with the same statistics).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from torch import Tensor

from engine.lut import Lut1D

# Luminance at or below which a pixel is black for a colour step (engine.color.correction).
BLACK_LUMINANCE = 1e-12


@dataclass(frozen=True, eq=False)
class Affine:
    """x' = matrix @ x + offset: Y'CbCr matrices with range offsets, primaries, exposure
    (a diagonal gain) and saturation about luminance (s I + (1 - s) 1 w^T)."""

    matrix: np.ndarray
    offset: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def is_identity(self) -> bool:
        return bool(np.array_equal(self.matrix, np.eye(3)) and not self.offset.any())

    def is_diagonal(self) -> bool:
        return bool(np.array_equal(self.matrix, np.diag(np.diag(self.matrix))))


@dataclass(frozen=True)
class Clamp:
    """Each channel clamped to [lo, hi]; hi may be +inf."""

    lo: float
    hi: float = math.inf


@dataclass(frozen=True, eq=False)
class Transfer:
    """An analytic per-channel function on [lo, hi] (a source EOTF); inputs are clamped first.

    integer_input: the op's input holds integer code values (an RGB source's codes), so a table
    with one entry per code represents the function exactly.
    """

    name: str
    fn: Callable[[Tensor], Tensor]
    lo: float
    hi: float
    integer_input: bool = False


@dataclass(frozen=True, eq=False)
class LogLut:
    """A per-channel engine.lut.Lut1D (log2 domain): the display transform's encode LUT."""

    lut: Lut1D


@dataclass(frozen=True, eq=False)
class UniformLut:
    """A per-channel table over [lo, hi] with uniform spacing, blended linearly.

    table: (channels, size) float64 with channels 1 (shared) or 3; made by the optimiser from
    Transfer ops and compositions. With size = hi - lo + 1 and integer inputs it is exact.
    """

    table: np.ndarray
    lo: float
    hi: float

    @property
    def size(self) -> int:
        return int(self.table.shape[1])


@dataclass(frozen=True, eq=False)
class LumaGain:
    """x' = colour_step(x, Y, gain(Y)), Y = max(weights . x, 0): a curve ITM/TMO's gain LUT or the
    HLG inverse OOTF, with the colour step of engine.color.correction (ratio, schlick, mantiuk).

    black_to_zero: the channel ratio is 0 where Y <= 1e-12 (DisplayTransform's apply_gain); off
    for an ITM, which multiplies by the gain alone (CurveOperator.apply_lut).
    """

    gain: Lut1D
    weights: np.ndarray
    mode: str = "ratio"
    saturation: float = 1.0
    black_to_zero: bool = False

    @property
    def is_ratio(self) -> bool:
        return self.mode == "ratio" or self.saturation == 1.0


@dataclass(frozen=True)
class Quantize:
    """Round half to even (torch.round) and clip to [0, 2^bits - 1]: the output code values."""

    bits: int


Op = Affine | Clamp | Transfer | LogLut | UniformLut | LumaGain | Quantize
PER_CHANNEL_LUTS = (Transfer, LogLut, UniformLut)


def lut_domain(op: Transfer | LogLut | UniformLut) -> tuple[float, float]:
    """The input span a per-channel op clamps to."""
    if isinstance(op, LogLut):
        return op.lut.x_min, op.lut.x_max
    return op.lo, op.hi
