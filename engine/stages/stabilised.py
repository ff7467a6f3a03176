"""Frame statistics for the operators that read them (a key, a peak), stabilised over a sequence."""

from __future__ import annotations

from torch import Tensor

from engine.color.luminance import luminance
from engine.stats import FrameStats, StatsStabiliser, measure


class SequenceStats:
    """Per-stream statistics: measured per frame, stabilised in sequence, reset on a seek."""

    def __init__(self) -> None:
        self._stabiliser = StatsStabiliser()
        self._last: int | None = None

    def update(self, index: int, frame: Tensor) -> FrameStats:
        return self.update_luminance(index, luminance(frame))

    def update_luminance(self, index: int, lum: Tensor) -> FrameStats:
        """update() from the frame's (1, H, W) luminance, when it was computed elsewhere (the
        per-pixel processor's luminance kernel)."""
        if self._last is None or index != self._last + 1:
            self._stabiliser.reset()
        self._last = index
        return self._stabiliser.update(measure(lum))
