"""Temporal highlight reconstruction: keyframes by global sampling, local propagation between them.

Also the multi-exposure tools it rests on: relative exposure, alignment across exposures, the
Debevec–Malik camera response and bracket merge.
"""

from engine.temporal.bracket import merge_bracket
from engine.temporal.crf import estimate_crf, linearise
from engine.temporal.exposure import relative_exposure, well_exposedness
from engine.temporal.flow import Alignment, align, warp
from engine.temporal.reconstructor import ClipAnalysis, TemporalParams, TemporalReconstructor

__all__ = [
    "Alignment",
    "ClipAnalysis",
    "TemporalParams",
    "TemporalReconstructor",
    "align",
    "estimate_crf",
    "linearise",
    "merge_bracket",
    "relative_exposure",
    "warp",
    "well_exposedness",
]
