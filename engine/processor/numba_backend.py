"""The CPU back end: one numba kernel per chain structure, one fused pass over the planes.

The kernel reads the decoded planes as they come from the decoder (integer codes, chroma at its
own resolution), upsamples chroma bilinearly at the source's sample phase on the fly, runs every
op on three scalars held in registers, and writes the integer output planes, downsampling
chroma before quantisation for a 4:2:0 target (engine.io.encode.encode_planes): the 2x2 mean
within each strip for centre siting; for top-left siting, whose [1, 2, 1] filter reaches the row
above the strip, each strip's two rows are filtered across at half width, and a second pass
filters down the rows. Besides those half-width rows, nothing the size of a frame is allocated
but the output planes.

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
from engine.processor.kernel_args import chain_arrays, op_array_count
from engine.processor.ops import BLACK_LUMINANCE, Affine, Clamp, LogLut, LumaGain, Op, Quantize, UniformLut
from engine.stats import sampling_stride

FASTMATH = True


def _f32(value: float) -> str:
    if math.isinf(value):
        return f"np.float32({'-' if value < 0 else ''}np.inf)"
    return f"np.float32({float(value)!r})"


class _Source:
    """Generated lines: `setup` hoists every argument's scalars and rows into locals once per call
    (so the pixel loop holds no loads LLVM could think aliased by its stores); `body` is the
    per-pixel code on float32 c0, c1, c2."""

    def __init__(self) -> None:
        self.setup: list[str] = []
        self.body: list[str] = []

    def scalar(self, name: str, expr: str) -> str:
        line = f"{name} = {expr}"
        if line not in self.setup:
            self.setup.append(line)
        return name

    def f32(self, name: str, expr: str) -> str:
        return self.scalar(name, f"np.float32({expr})")

    def log_lut(self, out: str, x: str, arrays: list[str]) -> None:
        """A Lut1D through its float32-bits table (engine.processor.bits_lut): no log2."""
        table, slope, p = arrays
        lo, hi = self.f32(f"{p}_0", f"{p}[0]"), self.f32(f"{p}_1", f"{p}[1]")
        first = self.scalar(f"{p}_2", f"np.uint32({p}[2])")
        self.body += [
            f"b = np.float32(min(max({x}, {lo}), {hi})).view(np.uint32)",
            f"k = (b >> np.uint32({SHIFT})) - {first}",
            f"{out} = {table}[k] + {slope}[k] * np.float32(b & np.uint32({(1 << SHIFT) - 1}))",
        ]

    def op(self, op: Op, names: list[str]) -> None:
        if isinstance(op, Affine):
            (m,) = names
            cells = [[self.f32(f"{m}_{r}{c}", f"{m}[{r}, {c}]") for c in range(4)] for r in range(3)]
            rows = [f"{r[0]} * c0 + {r[1]} * c1 + {r[2]} * c2 + {r[3]}" for r in cells]
            self.body.append(f"c0, c1, c2 = {rows[0]}, {rows[1]}, {rows[2]}")
        elif isinstance(op, Clamp):
            lo, hi = _f32(op.lo), _f32(op.hi)
            self.body += [f"c{c} = min(max(c{c}, {lo}), {hi})" for c in range(3)]
        elif isinstance(op, LogLut):
            for c in range(3):
                self.log_lut(f"c{c}", f"c{c}", names)
        elif isinstance(op, UniformLut):
            table, p = names
            lo, hi, step = (self.f32(f"{p}_{i}", f"{p}[{i}]") for i in range(3))
            last = self.scalar(f"{p}_3", f"np.uint32({p}[3])")
            for c in range(3):
                row = self.scalar(f"{table}_{c}", f"{table}[{c if op.table.shape[0] == 3 else 0}]")
                self.body += [
                    f"t = (min(max(c{c}, {lo}), {hi}) - {lo}) * {step}",
                    f"k = min(np.uint32(t), {last})",
                    f"c{c} = {row}[k] + ({row}[k + np.uint32(1)] - {row}[k]) * (t - np.float32(k))",
                ]
        elif isinstance(op, LumaGain):
            table, slope, p, w = names
            w0, w1, w2, s = (self.f32(f"{w}_{i}", f"{w}[{i}]") for i in range(4))
            self.body.append(f"y = max({w0} * c0 + {w1} * c1 + {w2} * c2, np.float32(0.0))")
            self.log_lut("g", "y", [table, slope, p])
            if not op.black_to_zero:
                self.body.append("c0, c1, c2 = c0 * g, c1 * g, c2 * g")
                return
            # Branch-free black test (selects vectorise; a branch would not).
            self.body.append(f"lit = y > {_f32(BLACK_LUMINANCE)}")
            if op.is_ratio:
                self.body += ["g = g if lit else np.float32(0.0)", "c0, c1, c2 = c0 * g, c1 * g, c2 * g"]
                return
            self.body.append(f"inv = np.float32(1.0) / max(y, {_f32(BLACK_LUMINANCE)})")
            yg = "(y * g)"
            for c in range(3):
                ratio = f"(c{c} * inv if lit else np.float32(0.0))"
                if op.mode == "schlick":
                    self.body.append(f"c{c} = max({ratio}, np.float32(0.0)) ** {s} * {yg}")
                else:  # Mantiuk: ((r - 1) s + 1) Y_out, r = 0 at black (engine.color.correction)
                    self.body.append(f"c{c} = (({ratio} - np.float32(1.0)) * {s} + np.float32(1.0)) * {yg}")
        else:
            raise TypeError(f"numba back end has no code for {op!r}")


# CTA-861.3 light level of the graded pixel (engine.io.hdr_metadata.LightLevelMeter): max(R, G, B)
# clipped to [0, peak], its row maximum and row sum. The maximum is taken over the float32 bits
# as unsigned integers (the same order for values >= 0): LLVM vectorises an integer max
# reduction, but not numba's float max, which would keep the whole row loop scalar.
_METER = [
    "m = min(max(max(c0, max(c1, c2)), zero), peak)",
    "rmax = max(rmax, np.float32(m).view(np.uint32))",
    "rsum += m",
]


def chain_source(ops: Sequence[Op], meter_at: int | None = None) -> tuple[list[str], list[str], int]:
    """(setup lines, per-pixel lines, argument count) for ops without the final Quantize; the
    light-level meter's lines go before op `meter_at` when it is given."""
    src = _Source()
    count = 0
    for index, op in enumerate(ops):
        if index == meter_at:
            src.body += _METER
        n = op_array_count(op)
        src.op(op, [f"a{count + i}" for i in range(n)])
        count += n
    if meter_at == len(ops):
        src.body += _METER
    return src.setup, src.body, count


# A strip of `rows` luma rows at a time (2 for a 4:2:0 target, so one strip holds whole 2x2
# chroma blocks). Each loop over a row is free of branches and calls, so LLVM vectorises it,
# table reads becoming gathers. Strip buffers are float32 and stay in L1.
_KERNEL = '''
def kernel(yp, cbp, crp, ry, wy, cx, cx1, wx, pair, oy, ocb, ocr, hr, light, peak{args}):
    height, width = yp.shape
    cw = cbp.shape[1]
    top = np.float32({top})
    half = np.float32(0.5)
    zero = np.float32(0.0)
    peak = np.float32(peak)
    o0 = np.uint32(pair[0])
    o1 = np.uint32(pair[1])
    w0 = np.float32(pair[2])
    w1 = np.float32(pair[3])
{setup}
    for bi in prange(height // {rows}):
        fb = np.empty(({rows}, width), np.float32)
        fr = np.empty(({rows}, width), np.float32)
        rowb = np.empty(cw + 2, np.float32)
        rowr = np.empty(cw + 2, np.float32)
        for di in range({rows}):
            i = bi * {rows} + di
            if {full_chroma}:
                for j in range(width):
                    fb[di, j] = np.float32(cbp[i, j])
                    fr[di, j] = np.float32(crp[i, j])
            else:
                r0 = ry[i]
                r1 = min(r0 + 1, cbp.shape[0] - 1)
                v = np.float32(wy[i])
                # The chroma row between two padding samples that repeat its ends (the clipping
                # of engine.processor.formats.chroma_axis), so every read below is in bounds.
                for x in range(cw):
                    b0, r0x = np.float32(cbp[r0, x]), np.float32(crp[r0, x])
                    rowb[x + 1] = b0 + (np.float32(cbp[r1, x]) - b0) * v
                    rowr[x + 1] = r0x + (np.float32(crp[r1, x]) - r0x) * v
                rowb[0], rowb[cw + 1] = rowb[1], rowb[cw]
                rowr[0], rowr[cw + 1] = rowr[1], rowr[cw]
                if {pairs}:
                    # Twice as wide: luma column 2x + d reads padded chroma x + o_d and the next
                    # with weight w_d, contiguous reads instead of gathers through cx.
                    for x in range(width // 2):
                        fb[di, 2 * x] = rowb[x + o0] + (rowb[x + o0 + 1] - rowb[x + o0]) * w0
                        fb[di, 2 * x + 1] = rowb[x + o1] + (rowb[x + o1 + 1] - rowb[x + o1]) * w1
                        fr[di, 2 * x] = rowr[x + o0] + (rowr[x + o0 + 1] - rowr[x + o0]) * w0
                        fr[di, 2 * x + 1] = rowr[x + o1] + (rowr[x + o1 + 1] - rowr[x + o1]) * w1
                    if width % 2:
                        x = width // 2
                        fb[di, 2 * x] = rowb[x + o0] + (rowb[x + o0 + 1] - rowb[x + o0]) * w0
                        fr[di, 2 * x] = rowr[x + o0] + (rowr[x + o0 + 1] - rowr[x + o0]) * w0
                else:
                    for j in range(width):
                        u = wx[j]
                        fb[di, j] = rowb[cx[j]] + (rowb[cx1[j]] - rowb[cx[j]]) * u
                        fr[di, j] = rowr[cx[j]] + (rowr[cx1[j]] - rowr[cx[j]]) * u
            rmax = np.uint32(0)
            rsum = zero
            for j in range(width):
                c0 = np.float32(yp[i, j])
                c1 = fb[di, j]
                c2 = fr[di, j]
{body}
{store}
            light[i, 0] = np.uint32(rmax).view(np.float32)
            light[i, 1] = rsum
        if {subsample}:
            quarter = np.float32(0.25)
            for bj in range(width // 2):
                j = 2 * bj
                sb = (fb[0, j] + fb[0, j + 1] + fb[1, j] + fb[1, j + 1]) * quarter
                sr = (fr[0, j] + fr[0, j + 1] + fr[1, j] + fr[1, j + 1]) * quarter
                ocb[bi, bj] = np.uint32(min(max(sb, zero), top) + half)
                ocr[bi, bj] = np.uint32(min(max(sr, zero), top) + half)
        if {topleft}:
            # engine.color.chroma_siting's [1, 2, 1] filter across each of the strip's two rows,
            # kept at half width: the vertical pass after the strips needs the row above too.
            two = np.float32(2.0)
            for c in range(2):
                hr[0, c, bi, 0] = fb[c, 0] + two * fb[c, 0] + fb[c, 1]
                hr[1, c, bi, 0] = fr[c, 0] + two * fr[c, 0] + fr[c, 1]
                for bj in range(1, width // 2):
                    j = 2 * bj
                    hr[0, c, bi, bj] = fb[c, j - 1] + two * fb[c, j] + fb[c, j + 1]
                    hr[1, c, bi, bj] = fr[c, j - 1] + two * fr[c, j] + fr[c, j + 1]
    if {topleft}:
        # ... and down the rows about the top-left sample: rows 2 bi - 1 (the first row repeats
        # at the top edge), 2 bi and 2 bi + 1, weighted [1, 2, 1], / 16 in all.
        sixteenth = np.float32(1.0 / 16.0)
        two = np.float32(2.0)
        for bi in prange(height // 2):
            ab = hr[0, 1, bi - 1] if bi > 0 else hr[0, 0, 0]
            ar = hr[1, 1, bi - 1] if bi > 0 else hr[1, 0, 0]
            for bj in range(width // 2):
                sb = (ab[bj] + two * hr[0, 0, bi, bj] + hr[0, 1, bi, bj]) * sixteenth
                sr = (ar[bj] + two * hr[1, 0, bi, bj] + hr[1, 1, bi, bj]) * sixteenth
                ocb[bi, bj] = np.uint32(min(max(sb, zero), top) + half)
                ocr[bi, bj] = np.uint32(min(max(sr, zero), top) + half)
'''

_QUANTIZE = "np.uint32(min(max({}, zero), top) + half)"
_STORES = {
    # Integer code planes; a 4:2:0 target keeps chroma for the 2x2 mean after the strip.
    "444": ["oy[i, j] = " + _QUANTIZE.format("c0"), "ocb[i, j] = " + _QUANTIZE.format("c1"),
            "ocr[i, j] = " + _QUANTIZE.format("c2")],
    "420": ["oy[i, j] = " + _QUANTIZE.format("c0"), "fb[di, j] = c1", "fr[di, j] = c2"],
    # The light meter alone (no planes).
    "meter": [],
    # Top-left siting: the strip's chroma too, filtered across its rows after the strip.
    "420topleft": ["oy[i, j] = " + _QUANTIZE.format("c0"), "fb[di, j] = c1", "fr[di, j] = c2"],
}

# The first channel (a luminance) at every `step`-th pixel of every `step`-th row, for frame
# statistics (engine.stats.sampling_stride): 1/16 of the pixels of a large frame. Chroma is
# upsampled at just those pixels with the main kernel's arithmetic.
_SAMPLES_KERNEL = '''
def kernel(yp, cbp, crp, ry, wy, cx, cx1, wx, out, step{args}):
    zero = np.float32(0.0)
    last = cbp.shape[0] - 1
{setup}
    for bi in prange(out.shape[0]):
        i = bi * step
        r0 = ry[i]
        r1 = min(r0 + 1, last)
        v = np.float32(wy[i])
        for bj in range(out.shape[1]):
            j = bj * step
            if {full_chroma}:
                c1 = np.float32(cbp[i, j])
                c2 = np.float32(crp[i, j])
            else:
                x0 = cx[j]
                x1 = cx1[j]
                u = wx[j]
                b0 = np.float32(cbp[r0, x0]) + (np.float32(cbp[r1, x0]) - np.float32(cbp[r0, x0])) * v
                b1 = np.float32(cbp[r0, x1]) + (np.float32(cbp[r1, x1]) - np.float32(cbp[r0, x1])) * v
                d0 = np.float32(crp[r0, x0]) + (np.float32(crp[r1, x0]) - np.float32(crp[r0, x0])) * v
                d1 = np.float32(crp[r0, x1]) + (np.float32(crp[r1, x1]) - np.float32(crp[r0, x1])) * v
                c1 = b0 + (b1 - b0) * u
                c2 = d0 + (d1 - d0) * u
            c0 = np.float32(yp[i, j])
{body}
            out[bi, bj] = c0
'''


@cache
def _compile(setup: tuple[str, ...], body: tuple[str, ...], count: int, bits: int, store: str,
             chroma: str) -> Callable[..., None]:
    """The kernel for one chain structure and plane layout; the numbers are its arguments.
    chroma: "full" (4:4:4 planes), "pairs" (chroma half as wide as luma) or "any"."""
    from numba import njit, prange

    step = 2 if store.startswith("420") else 1
    template = _SAMPLES_KERNEL if store == "samples" else _KERNEL
    src = template.format(
        args="".join(f", a{i}" for i in range(count)),
        top=float(2**bits - 1),
        rows=step,
        subsample=store == "420",
        topleft=store == "420topleft",
        full_chroma=chroma == "full",
        pairs=chroma == "pairs",
        setup="\n".join("    " + line for line in setup),
        body="\n".join(" " * (12 if store == "samples" else 16) + line for line in body),
        store="\n".join("                " + line for line in _STORES.get(store, [])),
    )
    namespace: dict[str, object] = {"np": np, "prange": prange}
    exec(src, namespace)
    return njit(parallel=True, fastmath=FASTMATH, nogil=True)(namespace["kernel"])


class NumbaProcessor:
    """An optimised chain compiled for planes of one source and target format.

    target None: the chain ends in a luminance (an Affine whose first row is the weights) and the
    kernel returns that channel as float32 on the sampling grid of engine.stats.measure
    (engine.stats.measure_samples reads it), for frame statistics; with meter_at too, it returns
    no planes, only the light level. meter_at: the index of the op before which the kernel
    measures the light level (`light` after each call).
    """

    def __init__(self, ops: Sequence[Op], source: SourceFormat, target: TargetFormat | None,
                 meter_at: int | None = None, peak: float = 10000.0) -> None:
        if target is not None and not isinstance(ops[-1], Quantize):
            raise ValueError("a chain for code planes ends with Quantize")
        self.ops = tuple(ops[:-1]) if target is not None else tuple(ops)
        self.source = source
        self.target = target
        self.peak = peak
        self.meter_at = meter_at
        setup, body, count = chain_source(self.ops, meter_at)
        if target is None:
            store = "samples" if meter_at is None else "meter"
        else:
            store = "444" if not target.subsample else "420topleft" if target.siting == "topleft" else "420"
        bits = target.bits if target is not None else 16
        self._compile = lambda chroma: _compile(tuple(setup), tuple(body), count, bits, store, chroma)
        self._arrays = chain_arrays(self.ops)

    def __call__(self, y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> list[np.ndarray]:
        """Decoded planes (codes; chroma at its own size) -> [Y', Cb, Cr] output code planes, or
        [luminance samples] without a target."""
        return self.process(y, cb, cr)[0]

    def process(self, y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """The output planes and, per luma row, the metered (max, sum) light level (zeros without a
        meter). Releases the GIL while the kernel runs."""
        height, width = y.shape
        phase_x, phase_y = self.source.chroma_phase
        ry, wy = chroma_axis(height, cb.shape[0], phase_y)
        cx, wx = chroma_axis(width, cb.shape[1], phase_x)
        # Unsigned indices: numba then skips its negative-index wraparound, which blocks vectorising.
        cx0 = cx.astype(np.uint32)
        cx1 = np.minimum(cx + 1, cb.shape[1] - 1).astype(np.uint32)
        wx32 = wx.astype(np.float32)
        target = self.target
        if target is None and self.meter_at is None:
            step = sampling_stride(height, width)
            samples = np.empty((-(-height // step), -(-width // step)), np.float32)
            kernel = self._compile("full" if cb.shape == y.shape else "any")
            kernel(y, cb, cr, ry, wy, cx0, cx1, wx32, samples, step, *self._arrays)
            return [samples], np.zeros((height, 2), np.float32)
        chroma = "full" if cb.shape == y.shape else "pairs" if -(-width // cb.shape[1]) == 2 else "any"
        kernel = self._compile(chroma)
        # chroma_axis for a factor of 2: luma column 2x + d sits on chroma x + (d - phase) / 2.
        pos = (np.arange(2) - phase_x) / 2.0
        pair = np.concatenate([np.floor(pos) + 1.0, pos - np.floor(pos)])
        if target is None:  # the meter alone
            oy = ocb = ocr = np.empty((1, 1), np.uint16)
        else:
            dtype = np.uint8 if target.bits <= 8 else np.uint16
            div = 2 if target.subsample else 1
            oy = np.empty((height, width), dtype)
            ocb = np.empty((height // div, width // div), dtype)
            ocr = np.empty_like(ocb)
        topleft = target is not None and target.subsample and target.siting == "topleft"
        # Cb and Cr, each strip's first and last row filtered across (half width).
        hr = np.empty((2, 2, height // 2, width // 2) if topleft else (1, 1, 1, 1), np.float32)
        light = np.zeros((height, 2), np.float32)
        # The main kernel reads chroma rows padded by one sample at each end.
        kernel(y, cb, cr, ry, wy, cx0 + 1, cx1 + 1, wx32, pair, oy, ocb, ocr, hr, light, self.peak,
               *self._arrays)
        return ([] if target is None else [oy, ocb, ocr]), light
