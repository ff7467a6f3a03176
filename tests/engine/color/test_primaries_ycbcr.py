"""Primaries, matrices, Y'CbCr and luminance against published values and colour-science."""

from __future__ import annotations

import colour
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.color import primaries as prim
from engine.color import ycbcr
from engine.color.luminance import luminance


@pytest.mark.parametrize(
    ("ours", "peer"),
    [
        (prim.BT709, "ITU-R BT.709"),
        (prim.BT2020, "ITU-R BT.2020"),
        (prim.P3_D65, "P3-D65"),
        (prim.ACES_AP0, "ACES2065-1"),
        (prim.ACES_AP1, "ACEScg"),
    ],
)
def test_rgb_to_xyz_matches_colour_science(ours: prim.Primaries, peer: str) -> None:
    expected = colour.RGB_COLOURSPACES[peer].matrix_RGB_to_XYZ
    np.testing.assert_allclose(prim.rgb_to_xyz_matrix(ours), expected, atol=2e-5)


def test_bt709_to_bt2020_published_matrix() -> None:
    # ITU-R BT.2087-0, equation (2).
    published = np.array(
        [[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]]
    )
    np.testing.assert_allclose(prim.conversion_matrix(prim.BT709, prim.BT2020), published, atol=1e-4)


def test_luminance_weights_published() -> None:
    np.testing.assert_allclose(prim.luminance_weights(prim.BT2020), [0.2627, 0.6780, 0.0593], atol=1e-4)
    np.testing.assert_allclose(prim.luminance_weights(prim.BT709), [0.2126, 0.7152, 0.0722], atol=1e-4)
    frame = torch.ones(3, 2, 2) * 203.0
    assert torch.allclose(luminance(frame), torch.full((1, 2, 2), 203.0), rtol=1e-5)


def test_aces_adaptation_against_colour_science() -> None:
    expected = colour.matrix_RGB_to_RGB(
        colour.RGB_COLOURSPACES["ACES2065-1"],
        colour.RGB_COLOURSPACES["ITU-R BT.2020"],
        chromatic_adaptation_transform="Bradford",
    )
    np.testing.assert_allclose(prim.conversion_matrix(prim.ACES_AP0, prim.BT2020), expected, atol=2e-4)


def test_white_maps_to_white_across_spaces() -> None:
    white = torch.ones(3, 1, 1, dtype=torch.float64)
    for a in prim.PRIMARIES.values():
        for b in prim.PRIMARIES.values():
            out = prim.convert_primaries(white, a, b)
            assert torch.allclose(out, white, atol=1e-4), (a.name, b.name)


def test_ycbcr_published_code_values() -> None:
    # BT.2100 Table 9: narrow range 10-bit white is Y' 940, neutral chroma 512; black Y' 64.
    white = ycbcr.rgb_to_ycbcr(torch.ones(3, 1, 1), ycbcr.BT2020_NCL)
    assert ycbcr.quantize_ycbcr(white, 10, False).flatten().tolist() == [940, 512, 512]
    black = ycbcr.rgb_to_ycbcr(torch.zeros(3, 1, 1), ycbcr.BT2020_NCL)
    assert ycbcr.quantize_ycbcr(black, 10, False).flatten().tolist() == [64, 512, 512]
    # 8-bit full-range BT.601 pure red: Y' = 0.299 * 255, Cr = 255 (clipped from 255.5).
    red = ycbcr.rgb_to_ycbcr(torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1), ycbcr.BT601)
    assert ycbcr.quantize_ycbcr(red, 8, True).flatten().tolist() == [76, 85, 255]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3), st.sampled_from(["bt601", "bt709", "bt2020nc"]))
def test_ycbcr_matches_colour_science(rgb: list[float], name: str) -> None:
    peer_k = {"bt601": "ITU-R BT.601", "bt709": "ITU-R BT.709", "bt2020nc": "ITU-R BT.2020"}[name]
    expected = colour.RGB_to_YCbCr(np.array(rgb), K=colour.WEIGHTS_YCBCR[peer_k], in_bits=10, out_legal=False,
                                   out_int=False, in_legal=False)
    ours = ycbcr.rgb_to_ycbcr(torch.tensor(rgb, dtype=torch.float64).view(3, 1, 1), ycbcr.MATRICES[name])
    np.testing.assert_allclose(ours.flatten().numpy(), expected - np.array([0.0, 0.0, 0.0]), atol=1e-9)
