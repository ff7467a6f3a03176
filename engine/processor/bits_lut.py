"""A Lut1D resampled onto float32 bit patterns: the CPU's way to a log-domain index without log2.

The bits of a positive float32, shifted right by 23 - MANTISSA_BITS, count segments that are
uniform in x within each octave: a piecewise-linear log2 (the half-float-domain LUTs of
OpenColorIO's CPU processor work the same way). Entries hold the Lut1D sampled at the segment
ends (engine.lut.Lut1D.sample, float64), and the low bits blend linearly, so
the table equals the Lut1D at its nodes; between them it differs by the curvature of the Lut1D
over 1/1024 of an octave (bounded in tests/engine/processor/test_bits_lut.py). libm's log2 costs
about 30 ns per call on this class of CPU; the bit shift costs one cycle.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.lut import Lut1D

MANTISSA_BITS = 10
SHIFT = 23 - MANTISSA_BITS


def float_bits(x: float) -> int:
    return int(np.array([x], np.float32).view(np.uint32)[0])


def bits_table(lut: Lut1D) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(table, slopes per unit of the low bits, [x_min, x_max, first segment]) for the kernel."""
    first = float_bits(lut.x_min) >> SHIFT
    last = (float_bits(lut.x_max) >> SHIFT) + 1
    nodes = (np.arange(first, last + 1, dtype=np.uint32) << np.uint32(SHIFT)).view(np.float32)
    values = lut.sample(torch.from_numpy(nodes.astype(np.float64))).numpy()
    slope = np.zeros_like(values)
    slope[:-1] = (values[1:] - values[:-1]) / float(1 << SHIFT)
    params = np.array([lut.x_min, lut.x_max, float(first)])
    return values.astype(np.float32), slope.astype(np.float32), params


def sample_bits_table(lut: Lut1D, x: np.ndarray) -> np.ndarray:
    """The kernel's arithmetic in numpy (for tests): float32 bits, segment, linear blend."""
    table, slope, params = bits_table(lut)
    bits = np.clip(x, params[0], params[1]).astype(np.float32).view(np.uint32)
    k = (bits >> np.uint32(SHIFT)).astype(np.int64) - int(params[2])
    return table[k].astype(np.float64) + slope[k] * (bits & np.uint32((1 << SHIFT) - 1))
