"""all_finite agrees with torch.isfinite(...).all() wherever a bad value sits."""

from __future__ import annotations

import math

import pytest
import torch

from engine.finite import all_finite


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("where", [0, 1, 4095, 3 * 64 * 64 - 1])
def test_a_single_bad_value_anywhere_is_found(dtype: torch.dtype, bad: float, where: int) -> None:
    frame = torch.rand(3, 64, 64, dtype=dtype)
    assert all_finite(frame)
    frame.view(-1)[where] = bad
    assert not all_finite(frame)
    assert all_finite(frame) == bool(torch.isfinite(frame).all())


def test_large_finite_values_and_views_pass() -> None:
    frame = torch.full((3, 8, 8), torch.finfo(torch.float32).max)
    frame[0] = -torch.finfo(torch.float32).max
    assert all_finite(frame)
    assert all_finite(frame[:, ::2, 1::3])  # a strided view is read as it is
    frame[1, 7, 7] = math.nan
    assert not all_finite(frame[1:])
    assert all_finite(frame[:1])


def test_empty_and_integer_tensors_are_finite() -> None:
    assert all_finite(torch.empty(0, 3))
    assert all_finite(torch.arange(10))
