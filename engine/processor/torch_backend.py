"""The torch back end: the optimised chain in float32 on any torch device (CPU, CUDA).

Ops run in place on one (3, N) buffer, so a frame costs the input, that buffer and the
gathers of each table. Log-domain tables use engine.lut.Lut1D.sample itself, the arithmetic the
preview's shader repeats.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from engine.color.chroma_siting import ChromaSiting, downsample_420
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


def _uniform(op: UniformLut, x: Tensor) -> Tensor:
    table = torch.as_tensor(op.table, dtype=torch.float32, device=x.device).expand(3, -1).contiguous()
    t = (x.clamp_(op.lo, op.hi) - op.lo).mul_((op.size - 1) / (op.hi - op.lo))
    index = t.long().clamp_max_(op.size - 2)
    lo = table.gather(1, index)
    return lo.add_((table.gather(1, index + 1) - lo).mul_(t.sub_(index)))


def _luma_gain(op: LumaGain, x: Tensor) -> Tensor:
    w = torch.as_tensor(op.weights, dtype=torch.float32, device=x.device)
    y = (w @ x).clamp_min_(0.0).unsqueeze(0)
    gain = op.gain.sample(y)
    if not op.black_to_zero:
        return x.mul_(gain)
    lit = y > BLACK_LUMINANCE
    if op.is_ratio:
        return x.mul_(gain.masked_fill_(~lit, 0.0))
    ratio = torch.where(lit, x / y.clamp_min(BLACK_LUMINANCE), 0.0)
    if op.mode == "schlick":
        return ratio.clamp_min_(0.0).pow_(op.saturation).mul_(y * gain)
    return ratio.sub_(1.0).mul_(op.saturation).add_(1.0).mul_(y * gain)


def apply_op(op: Op, x: Tensor) -> Tensor:
    """One op on a float32 (3, N) buffer, in place where torch allows."""
    if isinstance(op, Affine):
        m = torch.as_tensor(op.matrix, dtype=torch.float32, device=x.device)
        b = torch.as_tensor(op.offset, dtype=torch.float32, device=x.device)
        return torch.addmm(b[:, None], m, x)
    if isinstance(op, Clamp):
        return x.clamp_(op.lo, op.hi)
    if isinstance(op, LogLut):
        return op.lut.sample(x)
    if isinstance(op, UniformLut):
        return _uniform(op, x)
    if isinstance(op, LumaGain):
        return _luma_gain(op, x)
    if isinstance(op, Quantize):
        return x.round_().clamp_(0.0, 2.0**op.bits - 1.0)
    if isinstance(op, Transfer):
        return op.fn(x.clamp_(op.lo, op.hi))
    raise TypeError(f"unknown op {op!r}")


def run(ops: Sequence[Op], codes: Tensor, subsample: bool = False,
        siting: ChromaSiting = "center") -> list[Tensor]:
    """(3, H, W) input codes (chroma at full size) -> [Y', Cb, Cr] integer code planes (int32).

    With `subsample`, chroma is downsampled to 4:2:0 at `siting` before the final Quantize, as
    engine.io.encode.encode_planes does.
    """
    _, height, width = codes.shape
    x = codes.reshape(3, -1).to(torch.float32)
    body, last = (ops[:-1], ops[-1]) if isinstance(ops[-1], Quantize) else (ops, None)
    for op in body:
        x = apply_op(op, x)
    planes = x.view(3, height, width)
    luma, chroma = planes[:1], planes[1:]
    if subsample:
        chroma = downsample_420(chroma, siting)
    if last is not None:
        luma, chroma = apply_op(last, luma.clone()), apply_op(last, chroma.contiguous())
    return [luma[0].to(torch.int32), *chroma.to(torch.int32)]
