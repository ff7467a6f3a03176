"""The optimiser: rewrite a chain into fewer, cheaper ops that compute the same thing.

Rules, applied until none fires:
- a LumaGain whose table is one constant (BT.2408's curve) without a black test is a gain;
- identity affines are dropped, adjacent affines multiply into one;
- clamps merge; a clamp is dropped before a per-channel table that clamps to a narrower span,
  and after a table whose entries already lie within it;
- a Transfer becomes a UniformLut: one entry per code value when its input is integer codes
  (exact), else DENSE_SIZE entries over [lo, hi] (error measured in tests/engine/processor);
- a diagonal affine after a UniformLut scales the table's rows (exact: blending is linear);
- a UniformLut followed by another per-channel table is composed into one UniformLut sampled
  at the first table's nodes (exact at the nodes, interpolation error between them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from engine.processor.ops import (
    PER_CHANNEL_LUTS,
    Affine,
    Clamp,
    LogLut,
    LumaGain,
    Op,
    Transfer,
    UniformLut,
    lut_domain,
)
from engine.processor.reference import sample_uniform_lut

# Entries of a table standing for an analytic transfer of fractional inputs (a Y'CbCr source's
# R'G'B'): 2^14 over [0, 1] keeps BT.1886's interpolation error below 1e-8 of peak.
DENSE_SIZE = 16384


def _constant_gain(op: LumaGain) -> float | None:
    table = op.gain.table
    first = float(table[0])
    return first if bool(torch.all(table == table[0])) and math.isfinite(first) else None


def _table_of(op: Transfer) -> UniformLut:
    size = int(op.hi - op.lo) + 1 if op.integer_input else DENSE_SIZE
    nodes = torch.linspace(op.lo, op.hi, size, dtype=torch.float64)
    return UniformLut(op.fn(nodes).numpy()[None], op.lo, op.hi)


def _per_channel(table: np.ndarray) -> np.ndarray:
    return np.broadcast_to(table, (3, table.shape[1])).copy()


def _sample(op: UniformLut | LogLut, values: np.ndarray) -> np.ndarray:
    """A per-channel table applied to (3, N) float64 values."""
    x = torch.from_numpy(values)
    out = op.lut.sample(x) if isinstance(op, LogLut) else sample_uniform_lut(op, x)
    return out.numpy()


def _table_range(op: UniformLut | LogLut) -> tuple[float, float]:
    table = op.table if isinstance(op, UniformLut) else op.lut.table.double().numpy()
    return float(table.min()), float(table.max())


def _rewrite_pair(a: Op, b: Op) -> list[Op] | None:
    """A replacement for the adjacent pair (a, b), or None when no rule applies."""
    if isinstance(a, Affine) and isinstance(b, Affine):
        return [Affine(b.matrix @ a.matrix, b.matrix @ a.offset + b.offset)]
    if isinstance(a, Clamp) and isinstance(b, Clamp):
        return [Clamp(max(a.lo, b.lo), min(a.hi, b.hi))]
    if isinstance(a, Clamp) and isinstance(b, PER_CHANNEL_LUTS):
        lo, hi = lut_domain(b)
        return [b] if a.lo <= lo and hi <= a.hi else None
    if isinstance(a, UniformLut | LogLut) and isinstance(b, Clamp):
        lo, hi = _table_range(a)
        return [a] if b.lo <= lo and hi <= b.hi else None
    if isinstance(a, UniformLut) and isinstance(b, Affine) and b.is_diagonal():
        scale, offset = np.diag(b.matrix)[:, None], b.offset[:, None]
        return [UniformLut(_per_channel(a.table) * scale + offset, a.lo, a.hi)]
    if isinstance(a, UniformLut) and isinstance(b, UniformLut | LogLut):
        return [UniformLut(_sample(b, _per_channel(a.table)), a.lo, a.hi)]
    return None


def _rewrite_single(op: Op) -> list[Op] | None:
    if isinstance(op, Affine) and op.is_identity():
        return []
    if isinstance(op, Clamp) and op.lo == -math.inf and op.hi == math.inf:
        return []
    if isinstance(op, LumaGain) and not op.black_to_zero and (gain := _constant_gain(op)) is not None:
        return [Affine(np.eye(3) * gain)]
    if isinstance(op, Transfer):
        return [_table_of(op)]
    return None


def optimise(ops: Sequence[Op]) -> tuple[Op, ...]:
    """The folded chain; evaluates like `ops` to within the errors stated in the module doc."""
    chain = list(ops)
    changed = True
    while changed:
        changed = False
        for i, op in enumerate(chain):
            if (single := _rewrite_single(op)) is not None:
                chain[i : i + 1] = single
                changed = True
                break
            if i + 1 < len(chain) and (pair := _rewrite_pair(op, chain[i + 1])) is not None:
                chain[i : i + 2] = pair
                changed = True
                break
    return tuple(chain)
