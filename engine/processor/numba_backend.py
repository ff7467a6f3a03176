"""The CPU back end: one numba kernel per chain structure, one fused pass over the planes.

The kernel reads the decoded planes as they come from the decoder (integer codes, chroma at its
own resolution), upsamples chroma bilinearly at the source's sample phase on the fly, runs every
op on three scalars held in registers, and writes the integer output planes, averaging 2x2
chroma before quantisation for a 4:2:0 target (engine.io.encode.encode_planes). Nothing the
size of a frame is allocated besides the output planes.

Source code is generated from the op list (as OpenColorIO generates shader code) and compiled
with numba's parallel=True; rows are split across the cores. fastmath is on: table indices come
from integer bits or clamped products, so reassociation moves results by float rounding only
(tests/engine/processor/test_backends.py bounds the whole kernel against the reference).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np

from engine.processor.bits_lut import SHIFT
from engine.processor.formats import SourceFormat, TargetFormat, chroma_axis
from engine.processor.kernel_args import chain_arrays, chain_key, op_arrays
from engine.processor.ops import Affine, Clamp, LogLut, LumaGain, Op, Quantize, UniformLut

_BLACK = "1e-12"
FASTMATH = True


def _literal(value: float) -> str:
    return "np.inf" if value == math.inf else "-np.inf" if value == -math.inf else repr(float(value))


def _log_lut(out: str, x: str, table: str, slope: str, p: str) -> list[str]:
    """A Lut1D on one scalar through its float32-bits table (engine.processor.bits_lut)."""
    return [
        f"b = np.float32(min(max({x}, {p}[0]), {p}[1])).view(np.uint32)",
        f"k = np.int64(b >> {SHIFT}) - np.int64({p}[2])",
        f"{out} = {table}[k] + {slope}[k] * np.float64(b & {(1 << SHIFT) - 1})",
    ]


def _op_lines(op: Op, names: list[str]) -> list[str]:
    """Python lines computing c0, c1, c2 for one op; `names` are its array arguments."""
    if isinstance(op, Affine):
        (m,) = names
        return [
            f"c0, c1, c2 = ({m}[0, 0] * c0 + {m}[0, 1] * c1 + {m}[0, 2] * c2 + {m}[0, 3], "
            f"{m}[1, 0] * c0 + {m}[1, 1] * c1 + {m}[1, 2] * c2 + {m}[1, 3], "
            f"{m}[2, 0] * c0 + {m}[2, 1] * c1 + {m}[2, 2] * c2 + {m}[2, 3])"
        ]
    if isinstance(op, Clamp):
        lo, hi = _literal(op.lo), _literal(op.hi)
        return [f"c{c} = min(max(c{c}, {lo}), {hi})" for c in range(3)]
    if isinstance(op, LogLut):
        table, slope, p = names
        return [line for c in range(3) for line in _log_lut(f"c{c}", f"c{c}", table, slope, p)]
    if isinstance(op, UniformLut):
        table, p = names
        lines = []
        for c in range(3):
            row = c if op.table.shape[0] == 3 else 0
            lines += [
                f"t = (min(max(c{c}, {p}[0]), {p}[1]) - {p}[0]) * {p}[2]",
                f"k = min(int(t), int({p}[3]))",
                f"c{c} = {table}[{row}, k] + ({table}[{row}, k + 1] - {table}[{row}, k]) * (t - k)",
            ]
        return lines
    if isinstance(op, LumaGain):
        table, slope, p, w = names
        luma = f"y = max({w}[0] * c0 + {w}[1] * c1 + {w}[2] * c2, 0.0)"
        lines = [luma, *_log_lut("g", "y", table, slope, p)]
        if not op.black_to_zero:
            return [*lines, "c0, c1, c2 = c0 * g, c1 * g, c2 * g"]
        lines.append(f"if y <= {_BLACK}:")
        if op.is_ratio or op.mode == "schlick":
            lines.append("    c0, c1, c2 = 0.0, 0.0, 0.0")
        else:  # Mantiuk with r = 0: ((0 - 1) s + 1) Y_out, as engine.color.correction computes it
            lines.append(f"    c0 = c1 = c2 = (1.0 - {w}[3]) * y * g")
        lines.append("else:")
        if op.is_ratio:
            return [*lines, "    c0, c1, c2 = c0 * g, c1 * g, c2 * g"]
        if op.mode == "schlick":
            return lines + [f"    c{c} = max(c{c} / y, 0.0) ** {w}[3] * (y * g)" for c in range(3)]
        return lines + [f"    c{c} = ((c{c} / y - 1.0) * {w}[3] + 1.0) * (y * g)" for c in range(3)]
    raise TypeError(f"numba back end has no code for {op!r}")


def pixel_source(ops: Sequence[Op]) -> tuple[str, int]:
    """The source of `pixel(c0, c1, c2, a0, a1, ...)` for ops without the final Quantize."""
    body: list[str] = []
    count = 0
    for op in ops:
        n = len(op_arrays(op))
        body += _op_lines(op, [f"a{count + i}" for i in range(n)])
        count += n
    args = "".join(f", a{i}" for i in range(count))
    lines = [f"def pixel(c0, c1, c2{args}):", *("    " + line for line in body), "    return c0, c1, c2"]
    return "\n".join(lines), count


_KERNEL = '''
def kernel(yp, cbp, crp, ry, wy, cx, wx, oy, ocb, ocr{args}):
    height, width = yp.shape
    top = {top}
    for bi in prange(height // {rows}):
        # Chroma rows are blended vertically once per luma row into these, then horizontally.
        rowb = np.empty(({rows}, cbp.shape[1]))
        rowr = np.empty(({rows}, cbp.shape[1]))
        for di in range({rows}):
            if not {full_chroma}:
                i = bi * {rows} + di
                r0 = ry[i]
                r1 = min(r0 + 1, cbp.shape[0] - 1)
                v = wy[i]
                for x in range(cbp.shape[1]):
                    rowb[di, x] = cbp[r0, x] * (1.0 - v) + cbp[r1, x] * v
                    rowr[di, x] = crp[r0, x] * (1.0 - v) + crp[r1, x] * v
        for bj in range(width // {cols}):
            sb = 0.0
            sr = 0.0
            for di in range({rows}):
                i = bi * {rows} + di
                for dj in range({cols}):
                    j = bj * {cols} + dj
                    if {full_chroma}:
                        cb = float(cbp[i, j])
                        cr = float(crp[i, j])
                    else:
                        x0 = cx[j]
                        x1 = min(x0 + 1, cbp.shape[1] - 1)
                        u = wx[j]
                        cb = rowb[di, x0] * (1.0 - u) + rowb[di, x1] * u
                        cr = rowr[di, x0] * (1.0 - u) + rowr[di, x1] * u
                    a, b, c = pixel(float(yp[i, j]), cb, cr{args})
                    oy[i, j] = int(min(max(a, 0.0), top) + 0.5)
                    if {subsample}:
                        sb += b
                        sr += c
                    else:
                        ocb[i, j] = int(min(max(b, 0.0), top) + 0.5)
                        ocr[i, j] = int(min(max(c, 0.0), top) + 0.5)
            if {subsample}:
                ocb[bi, bj] = int(min(max(sb * 0.25, 0.0), top) + 0.5)
                ocr[bi, bj] = int(min(max(sr * 0.25, 0.0), top) + 0.5)
'''


@cache
def _compile(
    key: tuple[object, ...], pixel_src: str, count: int, bits: int, subsample: bool, full_chroma: bool
) -> Callable[..., None]:
    from numba import njit, prange

    namespace: dict[str, object] = {"math": math, "np": np, "prange": prange}
    exec(pixel_src, namespace)
    namespace["pixel"] = njit(inline="always")(namespace["pixel"])
    args = "".join(f", a{i}" for i in range(count))
    step = 2 if subsample else 1
    src = _KERNEL.format(args=args, top=float(2**bits - 1), rows=step, cols=step, subsample=subsample,
                       full_chroma=full_chroma)
    exec(src, namespace)
    return njit(parallel=True, fastmath=FASTMATH)(namespace["kernel"])


class NumbaProcessor:
    """An optimised chain compiled for planes of one source and target format."""

    def __init__(self, ops: Sequence[Op], source: SourceFormat, target: TargetFormat) -> None:
        if not isinstance(ops[-1], Quantize):
            raise ValueError("a chain for the CPU kernel ends with Quantize")
        self.ops = tuple(ops[:-1])
        self.source = source
        self.target = target
        pixel_src, count = pixel_source(self.ops)
        self._compile = lambda full_chroma: _compile(
            chain_key(self.ops), pixel_src, count, target.bits, target.subsample, full_chroma
        )
        self._arrays = chain_arrays(self.ops)

    def __call__(self, y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> list[np.ndarray]:
        """Decoded planes (codes; chroma at its own size) -> [Y', Cb, Cr] output code planes."""
        height, width = y.shape
        phase_x, phase_y = self.source.chroma_phase
        ry, wy = chroma_axis(height, cb.shape[0], phase_y)
        cx, wx = chroma_axis(width, cb.shape[1], phase_x)
        dtype = np.uint8 if self.target.bits <= 8 else np.uint16
        div = 2 if self.target.subsample else 1
        oy = np.empty((height, width), dtype)
        ocb = np.empty((height // div, width // div), dtype)
        ocr = np.empty_like(ocb)
        # 4:4:4 chroma is read directly: the bilinear taps cost more than the whole chain.
        kernel = self._compile(cb.shape == y.shape)
        kernel(y, cb, cr, ry, wy, cx, wx, oy, ocb, ocr, *self._arrays)
        return [oy, ocb, ocr]
