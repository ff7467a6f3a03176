"""Lut1D: exact at its entries, accurate between them, clamped outside."""

from __future__ import annotations

import math

import pytest
import torch

from engine.color import transfer as tf
from engine.lut import Lut1D


def test_entries_are_exact_and_log_spaced() -> None:
    lut = Lut1D.bake(tf.pq_inverse_eotf, 1e-4, 1e4)
    positions = Lut1D.positions(1e-4, 1e4)
    assert lut.size == 4096
    assert float(positions[0]) == pytest.approx(1e-4) and float(positions[-1]) == pytest.approx(1e4)
    ratios = positions[1:] / positions[:-1]
    assert torch.allclose(ratios, torch.full_like(ratios, 2 ** (math.log2(1e8) / 4095)))
    sampled = lut.sample(positions.float())
    assert torch.allclose(sampled, tf.pq_inverse_eotf(positions).float(), atol=1e-6)


def test_pq_lut_within_a_tenth_of_a_12_bit_code_value() -> None:
    lut = Lut1D.bake(tf.pq_inverse_eotf, 1e-6, 10000.0)
    x = torch.logspace(-6, 4, 100_000, dtype=torch.float64)
    err = (lut.sample(x.float()).double() - tf.pq_inverse_eotf(x)).abs().max()
    assert float(err) < 0.1 / 4095


def test_clamps_outside_its_range() -> None:
    lut = Lut1D.bake(lambda x: x * 2.0, 0.01, 1.0)
    out = lut.sample(torch.tensor([0.0, 0.001, 5.0]))
    # x_max lands 1e-3 of a step short of the last entry (see Lut1D.sample).
    assert out.tolist() == pytest.approx([0.02, 0.02, 2.0], rel=1e-5)


def test_rejects_bad_range() -> None:
    with pytest.raises(ValueError, match="x_min"):
        Lut1D.bake(lambda x: x, 0.0, 1.0)
