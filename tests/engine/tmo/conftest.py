"""Shared helpers of the TMO tests: grey ramps and hand-made statistics."""

from __future__ import annotations

import pytest
import torch

from engine.operators.base import StageContext
from engine.stats import FrameStats

STATS = FrameStats(log_average=20.0, peak=800.0, maximum=1000.0, minimum=0.01)


def grey_frame(nits: torch.Tensor) -> torch.Tensor:
    """(3, 1, N): one grey pixel per luminance value."""
    return nits.float().view(1, 1, -1).expand(3, 1, -1).clone()


@pytest.fixture
def ctx() -> StageContext:
    return StageContext(stats=STATS)
