"""The float64 reference: the unoptimised chain evaluated op by op, as written in ops.py.

Back ends and optimisations are tested against this. Tables are sampled with the index
arithmetic of engine.lut.Lut1D.sample, but in float64; Transfer ops are evaluated analytically.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from engine.processor.ops import (
    BLACK_LUMINANCE,
    Affine,
    Clamp,
    LogLut,
    LumaGain,
    Op,
    Quantize,
    Transfer,
    UniformLut,
)


def sample_uniform_lut(op: UniformLut, x: Tensor) -> Tensor:
    """x (3, N): each channel through its row of the table (one shared row when channels = 1)."""
    table = torch.as_tensor(op.table, dtype=x.dtype).expand(3, -1)
    t = (x.clamp(op.lo, op.hi) - op.lo) * ((op.size - 1) / (op.hi - op.lo))
    index = t.long().clamp_max(op.size - 2)
    lo, hi = table.gather(1, index), table.gather(1, index + 1)
    return lo + (hi - lo) * (t - index)


def colour_step(x: Tensor, y: Tensor, gain: Tensor, op: LumaGain) -> Tensor:
    """engine.color.correction.apply_gain (black_to_zero) or a plain gain (CurveOperator.apply_lut)."""
    if not op.black_to_zero:
        return x * gain
    lit = y > BLACK_LUMINANCE
    if op.is_ratio:
        return x * torch.where(lit, gain, 0.0)
    ratio = torch.where(lit, x / y.clamp_min(BLACK_LUMINANCE), 0.0)
    if op.mode == "schlick":
        return ratio.clamp_min(0.0) ** op.saturation * (y * gain)
    return ((ratio - 1.0) * op.saturation + 1.0) * (y * gain)


def apply_op(op: Op, x: Tensor) -> Tensor:
    """One op on (3, N) values."""
    if isinstance(op, Affine):
        offset = torch.as_tensor(op.offset, dtype=x.dtype)[:, None]
        return torch.as_tensor(op.matrix, dtype=x.dtype) @ x + offset
    if isinstance(op, Clamp):
        return x.clamp(op.lo, op.hi)
    if isinstance(op, Transfer):
        return op.fn(x.clamp(op.lo, op.hi))
    if isinstance(op, LogLut):
        return op.lut.sample(x)
    if isinstance(op, UniformLut):
        return sample_uniform_lut(op, x)
    if isinstance(op, LumaGain):
        y = (torch.as_tensor(op.weights, dtype=x.dtype) @ x).clamp_min(0.0)[None]
        return colour_step(x, y, op.gain.sample(y), op)
    if isinstance(op, Quantize):
        return x.round().clamp(0.0, 2.0**op.bits - 1.0)
    raise TypeError(f"unknown op {op!r}")


def evaluate(ops: Sequence[Op], codes: Tensor, stop_before_quantize: bool = False) -> Tensor:
    """(3, N) input codes -> (3, N) output, float64; unrounded codes with stop_before_quantize."""
    x = codes.to(torch.float64)
    for op in ops:
        if stop_before_quantize and isinstance(op, Quantize):
            break
        x = apply_op(op, x)
    return x
