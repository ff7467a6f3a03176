"""The masked-feature U-Net: Santos 2020 mask update, exact pass-through, size, shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import correlate

from engine.masks import overexposure_mask
from engine.models.unet import HighlightNet, MaskedConv2d, UNetConfig, blend_prediction, parameter_count
from engine.models.weights import HIGHLIGHT_MODEL, MODELS_DIR, load_network
from tests.engine.models.conftest import sdr_frame


def test_mask_update_is_the_normalised_abs_kernel_correlation() -> None:
    torch.manual_seed(1)
    conv = MaskedConv2d(2, 3, 3, padding=1)
    mask = torch.ones((1, 1, 12, 12))
    mask[..., 3:8, 4:9] = 0.0
    mask[..., 5, 2] = 0.5
    _, updated = conv.forward_masked(torch.rand((1, 2, 12, 12)), mask)
    kernel = conv.weight.detach().abs().sum(dim=(0, 1)).numpy().astype(np.float64)
    # Santos 2020: M' = (|W| * M) / sum|W|, with the mask's edge replicated beyond the frame.
    expected = correlate(mask[0, 0].numpy().astype(np.float64), kernel, mode="nearest") / kernel.sum()
    np.testing.assert_allclose(updated[0, 0].detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_masked_conv_ignores_what_the_mask_hides() -> None:
    torch.manual_seed(2)
    conv = MaskedConv2d(3, 4, 3, padding=1)
    x = torch.rand((1, 3, 10, 10))
    mask = torch.ones((1, 1, 10, 10))
    mask[..., 4:7, 4:7] = 0.0
    garbage = x.clone()
    garbage[..., 4:7, 4:7] = 1e6
    a, _ = conv.forward_masked(x, mask)
    b, _ = conv.forward_masked(garbage, mask)
    assert torch.equal(a, b)


def test_well_exposed_pixels_pass_through_exactly(small_net: HighlightNet) -> None:
    frame = sdr_frame()
    with torch.no_grad():
        out = small_net.reconstruct(frame[None])[0]
    keep = overexposure_mask(frame ** (1.0 / small_net.config.input_gamma)) >= 1.0
    assert int(keep.sum()) > 1500
    assert torch.equal(out[:, keep[0]], frame[:, keep[0]])
    clipped = frame.amax(0) >= 1.0
    # The clipped measurement is a lower bound: the network only ever adds light there.
    assert bool((out[:, clipped] >= frame[:, clipped]).all())
    assert bool(torch.isfinite(out).all())


def test_blend_keeps_linear_exactly_even_for_huge_predictions() -> None:
    linear = torch.rand((1, 3, 4, 4))
    mask = torch.ones((1, 1, 4, 4))
    mask[..., 0, 0] = 0.0
    out = blend_prediction(linear, mask, torch.full((1, 3, 4, 4), 200.0))
    assert torch.equal(out[..., 1:, :], linear[..., 1:, :])
    assert bool(torch.isfinite(out).all())


def test_blend_is_santos_eq_1_and_leaves_its_inputs_alone() -> None:
    torch.manual_seed(1)
    linear = torch.rand((1, 3, 6, 5))
    mask = torch.rand((1, 1, 6, 5))
    log_radiance = torch.randn((1, 3, 6, 5)) * 3.0
    log_radiance[0, 0, 0, 0] = float("nan")  # read as ŷ = 0
    before = [t.clone() for t in (linear, mask, log_radiance)]
    out = blend_prediction(linear, mask, log_radiance)
    # H = M lin + (1 - M) max(exp(ŷ) - 1, lin), the sums in float64.
    predicted = torch.expm1(torch.nan_to_num(log_radiance.double(), nan=0.0))
    expected = mask * linear + (1.0 - mask) * torch.maximum(predicted, linear.double())
    torch.testing.assert_close(out.double(), expected, rtol=1e-6, atol=0.0)
    for tensor, copy in zip((linear, mask, log_radiance), before, strict=True):
        assert torch.equal(tensor.nan_to_num(7.0), copy.nan_to_num(7.0))  # worked on its own copies


def test_any_even_size_runs_and_keeps_its_shape(small_net: HighlightNet) -> None:
    with torch.no_grad():
        out = small_net(torch.rand((2, 3, 22, 34)))
    assert out.shape == (2, 3, 22, 34)


def test_masked_unet_needs_its_mask() -> None:
    net = HighlightNet(UNetConfig(widths=(4, 8)))
    with pytest.raises(ValueError):
        net.unet(torch.rand((1, 3, 8, 8)))


def test_shipped_network_is_small_and_runs_on_the_cpu() -> None:
    net = load_network(HIGHLIGHT_MODEL)
    assert isinstance(net, HighlightNet)
    assert 100_000 <= parameter_count(net) <= 300_000
    total = sum(p.stat().st_size for p in MODELS_DIR.glob("*.safetensors"))
    assert total < 3 * 2**20
    frame = sdr_frame()
    with torch.no_grad():
        out = net.reconstruct(frame[None])[0]
    clipped = frame.amax(0) >= 1.0
    assert out.shape == frame.shape
    # Trained on real highlights, it puts the clipped block above SDR peak.
    assert float(out[:, clipped].mean()) > 1.5
