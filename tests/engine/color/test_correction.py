"""The colour step: Schlick 1994 and Mantiuk et al. 2009 against the ratio rule, and its use."""

from __future__ import annotations

import pytest
import torch

from engine.color.correction import correct_color
from engine.color.luminance import luminance
from engine.display import sdr_view
from engine.operators.base import StageContext
from engine.operators.catalogue import make_operator
from tests.engine.tmo.conftest import STATS


def _colours() -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    return torch.rand(3, 8, 8, generator=g) * 500.0 + 0.5


@pytest.mark.parametrize("mode", ["schlick", "mantiuk"])
def test_saturation_one_equals_ratio(mode: str) -> None:
    rgb = _colours()
    y = luminance(rgb)
    y_out = y / (1 + y)
    ratio = correct_color(rgb, y, y_out, "ratio")
    assert torch.allclose(correct_color(rgb, y, y_out, mode, 1.0), ratio, rtol=1e-6)
    # Ratio preservation: every channel is scaled by Y_out / Y_in.
    assert torch.allclose(ratio, rgb * y_out / y, rtol=1e-6)


@pytest.mark.parametrize("mode", ["ratio", "schlick", "mantiuk"])
@pytest.mark.parametrize("s", [0.0, 0.4, 1.0, 1.7])
def test_grey_stays_grey(mode: str, s: float) -> None:
    grey = torch.linspace(0.1, 900.0, 16).view(1, 4, 4).expand(3, 4, 4)
    y = luminance(grey)
    out = correct_color(grey, y, y.sqrt(), mode, s)
    assert torch.allclose(out, y.sqrt().expand(3, 4, 4), rtol=1e-5)


def test_mantiuk_keeps_luminance_and_scales_chroma_by_s() -> None:
    rgb = _colours()
    y = luminance(rgb)
    y_out = 0.5 * y.sqrt()
    for s in (0.3, 0.8, 1.4):
        out = correct_color(rgb, y, y_out, "mantiuk", s)
        assert torch.allclose(luminance(out), y_out, rtol=1e-5)
        # Mantiuk 2009 eq. 3: the distance to grey in units of Y_out scales by s exactly.
        assert torch.allclose(out / y_out - 1, s * (rgb / y - 1), atol=1e-5)


def test_schlick_follows_its_power_law() -> None:
    rgb = torch.tensor([400.0, 100.0, 20.0]).view(3, 1, 1)
    y = luminance(rgb)
    out = correct_color(rgb, y, torch.ones_like(y), "schlick", 0.5)
    assert torch.allclose(out, (rgb / y) ** 0.5, rtol=1e-6)
    # s < 1 pulls channels towards grey, s = 0 is grey.
    spread = (out.max() - out.min()) / (rgb / y).max()
    assert float(spread) < float(((rgb / y).max() - (rgb / y).min()) / (rgb / y).max())
    assert torch.allclose(correct_color(rgb, y, y, "schlick", 0.0), y.expand(3, 1, 1))


def test_black_gives_black_and_unknown_modes_are_refused() -> None:
    black = torch.zeros(3, 2, 2)
    y = luminance(black)
    for mode in ("ratio", "schlick", "mantiuk"):
        out = correct_color(black, y, y, mode, 0.5)
        assert torch.equal(out, torch.zeros_like(out))
    with pytest.raises(ValueError, match="unknown colour correction"):
        correct_color(black, y, y, "hue", 0.5)


@pytest.mark.parametrize("color", ["ratio", "schlick", "mantiuk"])
def test_operator_equals_the_display_transform_with_its_lut(color: str) -> None:
    """The export's DisplayTransform (what the shader mirrors) and the operator give one result."""
    op = make_operator("tmo", "reinhard", {"color": color, "saturation": 0.6})
    ctx = StageContext(stats=STATS)
    frame = _colours()
    view = sdr_view(op.bake(ctx), color, 0.6)
    from_view = view.apply(frame)
    from_op = sdr_view(None).apply(op.apply(frame, ctx))
    assert torch.allclose(from_view, from_op, atol=1e-6)
