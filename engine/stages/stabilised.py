"""Frame statistics for the operators that read them (a key, a peak), stabilised over a sequence."""

from __future__ import annotations

from torch import Tensor

from engine.color.luminance import luminance
from engine.stats import FrameStats, StatsStabiliser, measure, measure_samples


class SequenceStats:
    """Per-stream statistics: measured per frame, stabilised in sequence, reset on a seek."""

    def __init__(self) -> None:
        self._stabiliser = StatsStabiliser()
        self._last: int | None = None

    def update(self, index: int, frame: Tensor) -> FrameStats:
        return self._stabilised(index, measure(luminance(frame)))

    def update_samples(self, index: int, samples: Tensor) -> FrameStats:
        """update() from the frame's luminance on measure's sampling grid, computed elsewhere
        (the per-pixel processor's luminance kernel, engine.stats.measure_samples)."""
        return self._stabilised(index, measure_samples(samples))

    def _stabilised(self, index: int, stats: FrameStats) -> FrameStats:
        if self._last is None or index != self._last + 1:
            self._stabiliser.reset()
        self._last = index
        return self._stabiliser.update(stats)
