"""Debevec–Malik camera response recovery on a known camera."""

from __future__ import annotations

import math

import pytest
import torch

from engine.errors import FormatError
from engine.temporal import estimate_crf, linearise

STOPS = [-3.0, -1.5, 0.0, 1.5]
LN_EXPOSURES = [s * math.log(2.0) for s in STOPS]


def bracket(gamma: float) -> tuple[torch.Tensor, list[torch.Tensor]]:
    g = torch.Generator().manual_seed(7)
    radiance = torch.rand(3, 40, 50, generator=g) ** 3 * 6.0 + 1e-3
    signals = [torch.round((radiance * 2.0**s).clamp(0, 1) ** (1 / gamma) * 255) / 255 for s in STOPS]
    return radiance, signals


def test_recovers_a_gamma_22_response() -> None:
    _, signals = bracket(2.2)
    response = estimate_crf(signals, LN_EXPOSURES, smoothness=50.0)
    codes = torch.arange(20, 251)
    expected = (codes / 255.0) ** 2.2
    assert response.shape == (256,) and float(response[255]) == 1.0
    assert bool((response[1:] >= response[:-1]).all())
    torch.testing.assert_close(response[codes], expected.float(), rtol=0.03, atol=0.0)


def test_recovers_the_srgb_response() -> None:
    g = torch.Generator().manual_seed(3)
    radiance = torch.rand(3, 40, 50, generator=g) ** 3 * 6.0
    srgb = lambda x: torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)  # noqa: E731
    signals = [torch.round(srgb((radiance * 2.0**s).clamp(0, 1)) * 255) / 255 for s in STOPS]
    response = estimate_crf(signals, LN_EXPOSURES)
    codes = torch.arange(40, 251)
    v = codes / 255.0
    expected = ((v + 0.055) / 1.055) ** 2.4
    torch.testing.assert_close(response[codes], expected.float(), rtol=0.03, atol=0.0)


def test_linearise_interpolates_between_codes() -> None:
    response = (torch.arange(256) / 255.0) ** 2
    mid = torch.tensor([100.5 / 255.0])
    expected = ((100 / 255) ** 2 + (101 / 255) ** 2) / 2
    assert float(linearise(mid, response)) == pytest.approx(expected, rel=1e-5)


def test_linearise_reads_a_code_on_a_sample_exactly() -> None:
    """Every 8-bit code, the clip's 1.0 included, reads its table entry bit for bit, and any code
    reads what a (1 - f) + b f gives: a version that read code 1.0 one ulp off the table's top
    moved test_response_fit's noise-ratio fit from 0.40 to 0.59 RMS log error."""
    response = torch.rand(256).sort().values
    codes = torch.arange(256) / 255.0
    assert torch.equal(linearise(codes.view(1, 16, 16), response), response.view(1, 16, 16))
    signal = torch.rand(3, 7, 9, dtype=torch.float64) * 1.2 - 0.1
    kept = signal.clone()
    table = response.double()
    position = signal.clamp(0.0, 1.0) * 255
    below = position.floor().long().clamp(max=254)
    frac = position - below
    assert torch.equal(linearise(signal, table), table[below] * (1.0 - frac) + table[below + 1] * frac)
    assert torch.equal(signal, kept)  # it works in place on its own temporaries only


def test_one_exposure_is_not_enough() -> None:
    _, signals = bracket(2.2)
    with pytest.raises(FormatError, match="two or more exposures"):
        estimate_crf(signals[:1], LN_EXPOSURES[:1])
