"""1-D lookup tables sampled in a log2 domain: the one way per-pixel curves reach pixels.

The engine bakes every per-pixel curve (ITM and TMO gains, EOTFs and OETFs) into a Lut1D.
The export samples it here in torch and the preview's shader samples the same table with the
same index arithmetic (shaders/lut.glsl), so the preview equals the export (as OpenColorIO's
shaper LUTs do). Positions are log2(max(x, x_min)) mapped linearly over the table, and
entries are blended linearly, never with GPU texture filtering, whose fractional weights are
only 8-bit on common hardware.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

LUT_SIZE = 4096


@dataclass(frozen=True)
class Lut1D:
    """A table of `size` float32 entries over log2(x) in [log2(x_min), log2(x_max)]."""

    table: Tensor
    x_min: float
    x_max: float

    @property
    def size(self) -> int:
        return int(self.table.shape[0])

    @property
    def log2_min(self) -> float:
        return math.log2(self.x_min)

    @property
    def log2_max(self) -> float:
        return math.log2(self.x_max)

    @staticmethod
    def positions(x_min: float, x_max: float, size: int = LUT_SIZE) -> Tensor:
        """The input value of every entry, float64: log-uniform from x_min to x_max."""
        return torch.logspace(math.log2(x_min), math.log2(x_max), size, base=2.0, dtype=torch.float64)

    @classmethod
    def bake(
        cls, fn: Callable[[Tensor], Tensor], x_min: float, x_max: float, size: int = LUT_SIZE
    ) -> Lut1D:
        """Evaluate `fn` at every entry's position (in float64) and keep the result."""
        if not (0.0 < x_min < x_max):
            raise ValueError(f"LUT range must satisfy 0 < x_min < x_max, got {x_min}, {x_max}")
        values = fn(cls.positions(x_min, x_max, size))
        return cls(values.to(torch.float32).contiguous(), float(x_min), float(x_max))

    def __post_init__(self) -> None:
        # Per-entry slopes make the blend one fused multiply-add: base[i] + slope[i] * frac,
        # the same arithmetic as GLSL's mix(table[i], table[i + 1], frac).
        slope = torch.empty_like(self.table)
        slope[:-1] = self.table[1:] - self.table[:-1]
        slope[-1] = 0.0
        object.__setattr__(self, "_slope", slope)

    def sample(self, x: Tensor) -> Tensor:
        """Look up x (any shape): clamped to [x_min, x_max], linear between entries.

        float64 input is looked up in float64 (the processor's reference chain); any other dtype
        in float32, the arithmetic of the export and the shader.
        """
        dtype = x.dtype
        table, slope = self.table, self._slope
        if table.device != x.device:
            table, slope = table.to(x.device), slope.to(x.device)
        if x.dtype == torch.float64:
            table = table.double()
            slope = torch.cat([table[1:] - table[:-1], table.new_zeros(1)])
        else:
            x = x.float()
        lo, hi = self.log2_min, self.log2_max
        t = torch.log2(x.clamp(self.x_min, self.x_max))
        # Keeping t just below the last entry puts x_max at frac ~1 of the last interval (an
        # error of 1e-3 of one step), which spares a clamp of the integer index.
        t.sub_(lo).mul_((self.size - 1) / (hi - lo)).clamp_(0.0, self.size - 1 - 1e-3)
        index = t.long()  # t >= 0, so truncation is floor
        # torch.take is a flat gather, cheaper than advanced indexing for the same result.
        return torch.take(table, index).addcmul_(torch.take(slope, index), t.frac_()).to(dtype)
