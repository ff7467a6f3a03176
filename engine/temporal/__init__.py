"""Temporal highlight reconstruction: keyframes by global sampling, local propagation between them.

Also the multi-exposure tools it rests on: relative exposure, alignment across exposures and the
Debevec–Malik camera response.
"""

from engine.temporal.analysis import ClipAnalysis
from engine.temporal.crf import estimate_crf, linearise
from engine.temporal.exposure import relative_exposure, well_exposedness
from engine.temporal.flow import Alignment, align, warp
from engine.temporal.params import TemporalParams
from engine.temporal.reconstructor import TemporalReconstructor

__all__ = [
    "Alignment",
    "ClipAnalysis",
    "TemporalParams",
    "TemporalReconstructor",
    "align",
    "estimate_crf",
    "linearise",
    "relative_exposure",
    "warp",
    "well_exposedness",
]
