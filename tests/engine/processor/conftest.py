"""Chains shared by the processor tests: BT.709 8-bit limited Y'CbCr -> BT.2020 PQ 10-bit."""

from __future__ import annotations

import pytest

from engine.color.primaries import BT709 as P709
from engine.color.ycbcr import BT709, BT2020_NCL
from engine.display import pq_view
from engine.input_transform import InputTransform
from engine.operators.base import StageContext
from engine.operators.catalogue import make_operator
from engine.processor.build import build_chain
from engine.processor.formats import SourceFormat, TargetFormat
from engine.processor.ops import Op

SOURCE = SourceFormat(8, False, BT709, chroma_phase=(0.5, 0.5))
TARGET_444 = TargetFormat(10, BT2020_NCL)
TARGET_420 = TargetFormat(10, BT2020_NCL, subsample=True)
SDR_709 = InputTransform("bt1886", 2.4, P709)
# BT.2408 plus curve ITMs, two of them shaped by (nominal) frame statistics.
CURVE_ITMS = ("bt2408", "bt2446a", "bt2446c", "masia09", "masia17")


def chain_for(itm: str, target: TargetFormat = TARGET_444, exposure: float = 0.0,
              saturation: float = 1.0, transform: InputTransform = SDR_709) -> tuple[Op, ...]:
    gain = make_operator("itm", itm).bake(StageContext())
    return build_chain(transform, SOURCE, pq_view(1000.0), target, gain, exposure, saturation)


@pytest.fixture(params=CURVE_ITMS)
def itm(request: pytest.FixtureRequest) -> str:
    return request.param
