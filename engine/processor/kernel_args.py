"""Each op's numbers as flat arrays, and its structure as a key: what compiled back ends take.

A back end compiles code for the structure of a chain (which ops, which colour step) and passes
the numbers (matrices, tables, spans) as arguments, so a new grade or new frame statistics
reuse the compiled code; only a change of structure compiles again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.lut import Lut1D
from engine.processor.bits_lut import bits_table
from engine.processor.ops import Affine, Clamp, LogLut, LumaGain, Op, Quantize, UniformLut

# Bits tables of the last few Lut1D objects, by identity (each entry keeps its Lut1D alive, so
# the id stays its own): a render's display LUT is resampled once, not once per frame.
_BITS_CACHE: dict[int, tuple[Lut1D, list[np.ndarray]]] = {}
_BITS_CACHE_SIZE = 8


def log_lut_arrays(lut: Lut1D) -> list[np.ndarray]:
    """The CPU kernel's form of a Lut1D: a table indexed by float32 bits (engine.processor.bits_lut)."""
    hit = _BITS_CACHE.get(id(lut))
    if hit is not None and hit[0] is lut:
        return hit[1]
    arrays = list(bits_table(lut))
    if len(_BITS_CACHE) >= _BITS_CACHE_SIZE:
        del _BITS_CACHE[next(iter(_BITS_CACHE))]
    _BITS_CACHE[id(lut)] = (lut, arrays)
    return arrays


def op_key(op: Op) -> tuple[object, ...]:
    """What code an op compiles to, apart from its numbers."""
    if isinstance(op, UniformLut):
        return ("UniformLut", op.table.shape[0])
    if isinstance(op, LumaGain):
        return ("LumaGain", op.mode if not op.is_ratio else "ratio", op.black_to_zero)
    if isinstance(op, Clamp | Quantize):
        return (type(op).__name__, op)
    return (type(op).__name__,)


def op_arrays(op: Op) -> list[np.ndarray]:
    """The arrays an op's compiled code reads, in a fixed order per op type."""
    if isinstance(op, Affine):
        return [np.concatenate([op.matrix, op.offset[:, None]], axis=1)]
    if isinstance(op, LogLut):
        return log_lut_arrays(op.lut)
    if isinstance(op, UniformLut):
        step = (op.size - 1) / (op.hi - op.lo)
        return [op.table.astype(np.float32), np.array([op.lo, op.hi, step, op.size - 2])]
    if isinstance(op, LumaGain):
        return [*log_lut_arrays(op.gain), np.array([*op.weights, op.saturation])]
    return []


def op_array_count(op: Op) -> int:
    """len(op_arrays(op)) without building them."""
    return {Affine: 1, LogLut: 3, UniformLut: 2, LumaGain: 4}.get(type(op), 0)


def chain_key(ops: Sequence[Op]) -> tuple[tuple[object, ...], ...]:
    return tuple(op_key(op) for op in ops)


def chain_arrays(ops: Sequence[Op]) -> list[np.ndarray]:
    return [a for op in ops for a in op_arrays(op)]
