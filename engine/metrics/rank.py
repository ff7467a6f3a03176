"""Spearman's rank correlation coefficient (Spearman, "The proof and measurement of association
between two things", Am. J. Psychol. 15(1), 1904): Pearson's correlation of the ranks, tied
values sharing the mean of the ranks they span."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def ranks(values: Sequence[float]) -> np.ndarray:
    """1-based ranks; ties get the mean of their ranks (the 'average' method)."""
    x = np.asarray(values, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ranked = np.empty(len(x), dtype=np.float64)
    sorted_x = x[order]
    start = 0
    while start < len(x):
        stop = start
        while stop + 1 < len(x) and sorted_x[stop + 1] == sorted_x[start]:
            stop += 1
        ranked[order[start:stop + 1]] = (start + stop) / 2.0 + 1.0
        start = stop + 1
    return ranked


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rho of two equally long sequences (NaN if either is constant or shorter than 2)."""
    if len(a) != len(b):
        raise ValueError(f"spearman needs equally long sequences, got {len(a)} and {len(b)}")
    if len(a) < 2:
        return float("nan")
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / denominator) if denominator > 0 else float("nan")
