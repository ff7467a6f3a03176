"""Y'CbCr matrices and quantisation for BT.601, BT.709 and BT.2020 non-constant luminance.

The equations are ITU-R BT.601-7, BT.709-6 and BT.2020-2 (section 4); quantisation follows
BT.2100-2 Table 9: narrow ("limited") range puts Y' in [16, 235] * 2^(n-8) and Cb/Cr in
[16, 240] * 2^(n-8); full range puts Y' in [0, 2^n - 1] and Cb/Cr around 2^(n-1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class YCbCrMatrix:
    """Luma coefficients Kr and Kb of a non-constant-luminance Y'CbCr matrix."""

    name: str
    kr: float
    kb: float

    @property
    def kg(self) -> float:
        return 1.0 - self.kr - self.kb


BT601 = YCbCrMatrix("bt601", 0.299, 0.114)
BT709 = YCbCrMatrix("bt709", 0.2126, 0.0722)
BT2020_NCL = YCbCrMatrix("bt2020nc", 0.2627, 0.0593)

MATRICES: dict[str, YCbCrMatrix] = {m.name: m for m in (BT601, BT709, BT2020_NCL)}


def rgb_to_ycbcr_matrix(matrix: YCbCrMatrix) -> Tensor:
    """The 3x3 (float64) taking R'G'B' to Y', Cb, Cr: the BT.601/709/2020 equations as rows."""
    kr, kg, kb = matrix.kr, matrix.kg, matrix.kb
    return torch.tensor(
        [
            [kr, kg, kb],
            [-kr / (2.0 * (1.0 - kb)), -kg / (2.0 * (1.0 - kb)), 0.5],
            [0.5, -kg / (2.0 * (1.0 - kr)), -kb / (2.0 * (1.0 - kr))],
        ],
        dtype=torch.float64,
    )


def _apply_3x3(m: Tensor, x: Tensor) -> Tensor:
    # One matrix product over all pixels: a single pass instead of one per channel term.
    flat = torch.mm(m.to(x.device, x.dtype), x.reshape(3, -1))
    return flat.view(x.shape)


def rgb_to_ycbcr(rgb: Tensor, matrix: YCbCrMatrix) -> Tensor:
    """Non-linear R'G'B' (3, ...) in [0, 1] -> Y' in [0, 1] and Cb, Cr in [-0.5, 0.5]."""
    return _apply_3x3(rgb_to_ycbcr_matrix(matrix), rgb)


def ycbcr_to_rgb(ycc: Tensor, matrix: YCbCrMatrix) -> Tensor:
    """Y' in [0, 1] and Cb, Cr in [-0.5, 0.5] (3, ...) -> non-linear R'G'B'."""
    return _apply_3x3(torch.linalg.inv(rgb_to_ycbcr_matrix(matrix)), ycc)


def quantization_scale(bits: int, full_range: bool) -> tuple[float, float, float, float]:
    """(luma scale, luma offset, chroma scale, chroma offset) for n-bit code values."""
    if full_range:
        peak = float(2**bits - 1)
        return peak, 0.0, peak, float(2 ** (bits - 1))
    k = float(2 ** (bits - 8))
    return 219.0 * k, 16.0 * k, 224.0 * k, 128.0 * k


def quantize_luma(y: Tensor, bits: int, full_range: bool) -> Tensor:
    """Float Y' (any shape) -> integer n-bit code values (int32), clipped to the code range."""
    scale, offset, _, _ = quantization_scale(bits, full_range)
    return (y * scale).add_(offset).round_().clamp_(0, 2**bits - 1).to(torch.int32)


def quantize_chroma(c: Tensor, bits: int, full_range: bool) -> Tensor:
    """Float Cb or Cr (any shape, around 0) -> integer n-bit code values (int32), clipped."""
    _, _, scale, offset = quantization_scale(bits, full_range)
    return (c * scale).add_(offset).round_().clamp_(0, 2**bits - 1).to(torch.int32)


def quantize_ycbcr(ycc: Tensor, bits: int, full_range: bool) -> Tensor:
    """Float Y'CbCr (3, ...) -> integer code values (as int32), clipped to the n-bit range."""
    return torch.cat([quantize_luma(ycc[:1], bits, full_range), quantize_chroma(ycc[1:], bits, full_range)])

