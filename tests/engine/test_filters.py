"""Gaussian blur against scipy, the bilateral grid against a brute-force bilateral filter."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from engine.filters import bilateral_grid, gaussian_blur


def _smooth_noise(h: int, w: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, h, w, generator=g)


def brute_force_bilateral(image: np.ndarray, sigma_s: float, sigma_r: float) -> np.ndarray:
    """Tomasi & Manduchi 1998 with Gaussian kernels, every pixel against every pixel (small images)."""
    h, w = image.shape
    ys, xs = np.mgrid[0:h, 0:w]
    pos = np.stack([ys.ravel(), xs.ravel()], 1).astype(np.float64)
    val = image.ravel().astype(np.float64)
    d2 = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)
    range_d2 = (val[:, None] - val[None, :]) ** 2
    weights = np.exp(-d2 / (2 * sigma_s**2)) * np.exp(-range_d2 / (2 * sigma_r**2))
    return ((weights @ val) / weights.sum(1)).reshape(h, w)


@pytest.mark.parametrize("sigma", [0.6, 1.5, 3.0])
def test_small_gaussian_equals_scipy(sigma: float) -> None:
    image = _smooth_noise(37, 53)
    ours = gaussian_blur(image, sigma)[0].numpy()
    # torch's "reflect" padding is scipy's "mirror"; scipy truncates at 4 sigma, we at 3.
    ref = ndimage.gaussian_filter(image[0].numpy().astype(np.float64), sigma, mode="mirror", truncate=3.0)
    ref /= ndimage.gaussian_filter(np.ones_like(ref), sigma, mode="mirror", truncate=3.0)
    assert np.abs(ours - ref).max() < 1e-5


def test_large_gaussian_through_the_pyramid_is_close_to_scipy() -> None:
    image = _smooth_noise(96, 128) + torch.linspace(0, 4, 128).view(1, 1, 128)
    sigma = 9.0
    ours = gaussian_blur(image, sigma)[0].numpy()
    ref = ndimage.gaussian_filter(image[0].numpy().astype(np.float64), sigma, mode="mirror")
    inner = (slice(16, -16), slice(16, -16))
    # The pyramid approximates the variance; away from the borders it stays within 0.2% of the
    # 5-unit span (the input itself is 0.25 away from the reference on average).
    assert np.abs(ours - ref)[inner].max() < 0.01
    assert np.abs(ours - ref)[inner].mean() < 0.003


def test_blur_keeps_a_constant_and_the_mean() -> None:
    const = torch.full((2, 40, 50), 3.25)
    assert torch.allclose(gaussian_blur(const, 7.0), const, atol=1e-5)
    image = _smooth_noise(64, 64)
    assert float(gaussian_blur(image, 2.0).mean()) == pytest.approx(float(image.mean()), abs=2e-3)


def test_bilateral_grid_matches_brute_force() -> None:
    g = torch.Generator().manual_seed(1)
    h, w = 32, 40
    x = torch.linspace(0, 1, w).view(1, 1, w).expand(1, h, w)
    image = (x * 1.5 + (x > 0.5) * 2.0 + 0.1 * torch.randn(1, h, w, generator=g)).float()
    sigma_s, sigma_r = 3.0, 0.4
    ours = bilateral_grid(image, sigma_s, sigma_r)[0].numpy()
    ref = brute_force_bilateral(image[0].numpy(), sigma_s, sigma_r)
    err = np.abs(ours - ref)
    assert err.max() < 0.03  # vs a 3.6-unit span and 0.08 between input and reference
    assert err.mean() < 0.005


def test_bilateral_grid_preserves_a_step_edge() -> None:
    h, w = 48, 64
    g = torch.Generator().manual_seed(2)
    step = torch.zeros(1, h, w)
    step[..., w // 2 :] = 3.0
    noisy = step + 0.05 * torch.randn(1, h, w, generator=g)
    out = bilateral_grid(noisy, 8.0, 0.4)
    # Next to the edge each side keeps its own level; a Gaussian of the same sigma mixes them.
    assert float((out[..., w // 2 - 2] - 0.0).abs().max()) < 0.05
    assert float((out[..., w // 2 + 1] - 3.0).abs().max()) < 0.05
    blurred = gaussian_blur(noisy, 8.0)
    assert float(blurred[..., w // 2 - 2].mean()) > 1.0
    # Noise is smoothed within each side.
    assert float(out[..., 4:20].std()) < 0.5 * float(noisy[..., 4:20].std())


def test_bilateral_grid_of_a_constant_is_the_constant() -> None:
    const = torch.full((1, 20, 30), -1.75)
    assert torch.allclose(bilateral_grid(const, 4.0, 0.3), const, atol=1e-5)
