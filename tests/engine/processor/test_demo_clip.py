"""The processor equals today's eager path on the demo clip (Pipeline.hdr, the PQ display
transform, encode_planes), within 1 code value, for 4:2:0 HDR10 output."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch

from engine.color.ycbcr import BT709
from engine.display import pq_view
from engine.grade import Grade, OperatorChoice
from engine.io.encode import encode_planes
from engine.io.open import open_clip
from engine.operators.base import CurveOperator
from engine.pipeline import Pipeline
from engine.processor import torch_backend
from engine.processor.build import build_chain
from engine.processor.formats import SourceFormat, chroma_axis
from engine.processor.numba_backend import NumbaProcessor
from engine.processor.optimise import optimise
from tests.engine.processor.conftest import TARGET_420

DEMO = Path(__file__).resolve().parents[3] / "resources" / "demo" / "candle_push.mp4"
FRAME = 12


def _planes() -> list[np.ndarray]:
    with av.open(str(DEMO)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index == FRAME:
                packed = frame.to_ndarray()  # yuv420p: Y rows, then Cb and Cr rows of half width
                h, w = frame.height, frame.width
                chroma = packed[h:].reshape(2, h // 2, w // 2)
                return [np.ascontiguousarray(packed[:h]), chroma[0].copy(), chroma[1].copy()]
    raise AssertionError("demo clip too short")


def _upsample(planes: list[np.ndarray], phase: tuple[float, float]) -> torch.Tensor:
    """Chroma to luma size with the processor's sample positions (as engine.io.video does)."""
    height, width = planes[0].shape
    ry, wy = chroma_axis(height, planes[1].shape[0], phase[1])
    cx, wx = chroma_axis(width, planes[1].shape[1], phase[0])
    out = [torch.from_numpy(planes[0].astype(np.float64))]
    for c in planes[1:]:
        c = c.astype(np.float64)
        rows = c[ry] * (1 - wy[:, None]) + c[np.minimum(ry + 1, c.shape[0] - 1)] * wy[:, None]
        full = rows[:, cx] * (1 - wx) + rows[:, np.minimum(cx + 1, c.shape[1] - 1)] * wx
        out.append(torch.from_numpy(full))
    return torch.stack(out)


@pytest.mark.parametrize("itm", ["bt2408", "bt2446a", "bt2446c"])
def test_processor_equals_eager_pipeline_on_demo_frame(itm: str) -> None:
    grade = Grade(itm=OperatorChoice(itm), exposure=0.4, saturation=1.2)
    with open_clip(DEMO) as clip:
        pipeline = Pipeline(grade, clip, device="cpu")
        display = pq_view(grade.peak_nits).apply(pipeline.hdr(FRAME))
        eager = encode_planes(display, TARGET_420.matrix, 10, True)
        phase = clip.info.chroma_location.phase
        assert isinstance(pipeline.itm, CurveOperator)
        gain = pipeline.itm.bake(pipeline.context(FRAME))
        source = SourceFormat(8, clip.info.tags.full_range, BT709, phase)
        chain = optimise(build_chain(pipeline.input, source, pq_view(grade.peak_nits), TARGET_420, gain,
                                     grade.exposure, grade.saturation))
    planes = _planes()
    results = [[p.numpy() for p in torch_backend.run(chain, _upsample(planes, phase), subsample=True)],
               NumbaProcessor(chain, source, TARGET_420)(*planes)]
    for result in results:
        for got, want in zip(result, eager, strict=True):
            assert np.abs(got.astype(np.int64) - want.astype(np.int64)).max() <= 1
