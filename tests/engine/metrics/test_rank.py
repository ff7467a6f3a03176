"""Spearman's rank correlation on rankings whose coefficient is known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.metrics.rank import ranks, spearman


def test_textbook_case_without_ties() -> None:
    # d = (-1, 1, -1, 1, 0): rho = 1 - 6 sum d^2 / (n (n^2 - 1)) = 1 - 24 / 120 = 0.8.
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)


def test_ties_share_their_mean_rank() -> None:
    assert ranks([10.0, 20.0, 20.0, 30.0]).tolist() == [1.0, 2.5, 2.5, 4.0]
    # Pearson of ranks (1, 2.5, 2.5, 4) and (1, 2, 3, 4): 4.5 / sqrt(4.5 x 5).
    assert spearman([10, 20, 20, 30], [1, 2, 3, 4]) == pytest.approx(4.5 / math.sqrt(22.5))


def test_monotone_maps_do_not_change_it() -> None:
    x = np.random.default_rng(1).normal(size=50)
    y = x + np.random.default_rng(2).normal(size=50)
    assert spearman(np.exp(x), y**3) == pytest.approx(spearman(x, y))
    assert spearman(x, -x) == pytest.approx(-1.0)
    assert math.isnan(spearman([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
