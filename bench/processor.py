"""ms per 1080p frame of the per-pixel processor against today's eager torch path, per curve ITM.

    PYTHONPATH=. .venv/bin/python -m bench.processor [--repeats N]

Input: synthetic 8-bit limited-range BT.709 Y'CbCr planes (4:2:0 and 4:4:4). Output: BT.2020 PQ
10-bit limited Y'CbCr, 4:2:0 (HDR10). Decode and encode are excluded. The eager path is today's
Pipeline arithmetic: Y'CbCr -> R'G'B' with chroma upsampling (its input here is the upsampled
R'G'B' frame, so it is charged less than the processor), InputTransform, the ITM's baked
gain, grade, DisplayTransform('pq'), encode_planes. Goal: 15 ms per frame for the whole chain.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Callable

import numpy as np
import torch

from engine.color.primaries import BT709 as P709
from engine.color.ycbcr import BT709, BT2020_NCL, ycbcr_to_rgb
from engine.display import pq_view
from engine.input_transform import InputTransform
from engine.io.encode import encode_planes
from engine.itm.base import NOMINAL_SDR_STATS
from engine.operators.base import CurveOperator, StageContext
from engine.operators.catalogue import operators
from engine.processor import torch_backend
from engine.processor.build import build_chain
from engine.processor.formats import SourceFormat, TargetFormat
from engine.processor.optimise import optimise

WIDTH, HEIGHT = 1920, 1080
GOAL_MS = 15.0
EXPOSURE, SATURATION = 0.3, 1.1


def time_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def planes(chroma_div: int) -> list[np.ndarray]:
    """A gradient-and-noise picture as 8-bit limited-range planes."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    luma = (16 + 219 * (xx / WIDTH) * (0.5 + 0.5 * yy / HEIGHT) + rng.normal(0, 4, xx.shape)).clip(16, 235)
    h, w = HEIGHT // chroma_div, WIDTH // chroma_div
    cb = (128 + 60 * np.sin(np.mgrid[0:h, 0:w][1] / 50.0) + rng.normal(0, 3, (h, w))).clip(16, 240)
    cr = (128 + 60 * np.cos(np.mgrid[0:h, 0:w][0] / 40.0) + rng.normal(0, 3, (h, w))).clip(16, 240)
    return [p.astype(np.uint8) for p in (luma, cb, cr)]


def eager(
    rgb: torch.Tensor, op: CurveOperator, ctx: StageContext, transform: InputTransform
) -> list[np.ndarray]:
    """Today's per-pixel path after decode (engine.pipeline.Pipeline.hdr + output + encode)."""
    linear = transform.apply(rgb)
    nits = op.apply_lut(linear, op.bake(ctx)) * 2.0**EXPOSURE
    y = (torch.tensor([0.2627, 0.6780, 0.0593]) @ nits.view(3, -1)).view(1, HEIGHT, WIDTH)
    nits = (y + SATURATION * (nits - y)).clamp_min(0.0)
    return encode_planes(pq_view(1000.0).apply(nits), BT2020_NCL, 10, True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    has_numba = importlib.util.find_spec("numba") is not None
    transform = InputTransform("bt1886", 2.4, P709)
    source = SourceFormat(8, False, BT709, (0.0, 0.5))
    target = TargetFormat(10, BT2020_NCL, subsample=True)
    p420, p444 = planes(2), planes(1)
    ycc = torch.from_numpy(np.stack(p444).astype(np.float32))
    rgb = ycbcr_to_rgb(torch.stack([(ycc[0] - 16) / 219, (ycc[1] - 128) / 224, (ycc[2] - 128) / 224]),
                       BT709).clamp(0.0, 1.0)
    print(f"1080p, ms per frame (best of {args.repeats}), torch threads {torch.get_num_threads()}; "
          f"goal {GOAL_MS:.0f} ms; numba {'present' if has_numba else 'absent'}")
    print(f"{'ITM':10s} {'eager':>8s} {'proc torch':>11s} {'numba 444':>10s} {'numba 420':>10s}  folded ops")
    for cls in operators("itm"):
        if not issubclass(cls, CurveOperator):
            continue
        op = cls(cls.Params())
        ctx = StageContext(stats=NOMINAL_SDR_STATS)
        ops = build_chain(transform, source, pq_view(1000.0), target, op.bake(ctx), EXPOSURE, SATURATION)
        chain = optimise(ops)
        eager_ms = time_ms(lambda op=op, ctx=ctx: eager(rgb, op, ctx, transform), args.repeats)
        torch_ms = time_ms(lambda chain=chain: torch_backend.run(chain, ycc, subsample=True), args.repeats)
        cells = [f"{eager_ms:8.1f}", f"{torch_ms:11.1f}"]
        if has_numba:
            from engine.processor.numba_backend import NumbaProcessor

            run = NumbaProcessor(chain, source, target)
            cells += [f"{time_ms(lambda run=run: run(*p444), args.repeats):10.1f}",
                      f"{time_ms(lambda run=run: run(*p420), args.repeats):10.1f}"]
        print(f"{cls.name:10s} {' '.join(cells)}  {' '.join(type(o).__name__ for o in chain)}")


if __name__ == "__main__":
    main()
