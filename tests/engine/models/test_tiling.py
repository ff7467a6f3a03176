"""Tiled inference: coverage, exactness for local networks, seams of the real one."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from engine.models.tiling import pad_to_multiple, ramp_weights, run_tiled, tile_span, tiles
from engine.models.unet import HighlightNet


@pytest.mark.parametrize(
    ("length", "tile", "overlap", "multiple"),
    [(100, 32, 8, 1), (64, 64, 8, 1), (65, 32, 16, 1), (10, 32, 4, 1), (1080, 512, 32, 16),
     (1920, 512, 32, 16), (2160, 512, 32, 16), (3840, 512, 32, 16), (513, 512, 32, 16), (997, 100, 37, 8)],
)
def test_tiles_cover_the_frame_with_the_overlap(length: int, tile: int, overlap: int, multiple: int) -> None:
    starts, size = tile_span(length, tile, overlap, multiple)
    assert starts[0] == 0 and starts[-1] + size == length and size <= tile
    for a, b in itertools.pairwise(starts):
        assert a + size - b >= overlap
    if length > tile:
        # The fewest tiles, each no larger than the fewest need (rounded up to the multiple).
        assert len(starts) == -(-(length - overlap) // (tile - overlap))
        fewest = -(-(length + (len(starts) - 1) * (overlap + 1)) // len(starts))
        assert size <= min(tile, -(-fewest // multiple) * multiple)


def test_a_1080p_frame_takes_three_rows_of_384_and_four_columns_of_512() -> None:
    assert tile_span(1080, 512, 32, 16) == ([0, 348, 696], 384)
    # Four columns need 512 (480 would leave 1920 - 3 * 480 = 480 for three steps: no overlap);
    # whole-pixel steps of 470 leave overlaps of 42, 42 and 44.
    assert tile_span(1920, 512, 32, 16) == ([0, 470, 940, 1408], 512)


def test_ramp_weights_sum_to_one_across_an_overlap() -> None:
    first = ramp_weights(0, 32, 56, 8, torch.device("cpu"), torch.float32)
    second = ramp_weights(24, 32, 56, 8, torch.device("cpu"), torch.float32)
    torch.testing.assert_close(first[24:] + second[:8], torch.ones(8))
    assert float(first[0]) == 1.0 and float(second[-1]) == 1.0
    assert float(first[-1]) == 0.0 and float(second[0]) == 0.0 and float(second[1]) == 0.0


def test_pad_to_multiple_replicates_the_edge() -> None:
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    padded = pad_to_multiple(x, 4)
    assert padded.shape == (1, 1, 4, 4)
    assert torch.equal(padded[..., 3, :], x[..., 2, :])


def test_a_local_network_gives_the_same_result_tiled() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 2, 3, padding=1, padding_mode="replicate")
    x = torch.rand((1, 3, 70, 90))
    with torch.no_grad():
        whole = conv(x)
        tiled = run_tiled(conv, x, tile=32, overlap=8, multiple=4)
    # A 3x3 kernel's border effect is one pixel, inside the quarter of the overlap left out.
    torch.testing.assert_close(tiled, whole, rtol=0, atol=1e-6)


def test_the_network_tiled_stays_close_to_one_piece(small_net: HighlightNet) -> None:
    torch.manual_seed(1)
    x = torch.rand((1, 3, 80, 120)) * 1.2
    with torch.no_grad():
        whole = small_net(x)
        tiled = run_tiled(small_net, x, tile=48, overlap=24, multiple=small_net.config.multiple)
    assert tiled.shape == whole.shape
    assert float((tiled - whole).abs().mean()) < 0.05 * float(whole.abs().mean())


class CountingNet(nn.Module):
    """A 3x3 convolution that counts its calls."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.conv = nn.Conv2d(3, 2, 3, padding=1)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.conv(x)


def test_tiles_that_weigh_no_needed_pixel_are_skipped_and_the_needed_ones_are_exact() -> None:
    net = CountingNet()
    x = torch.rand((1, 3, 100, 130))
    needed = torch.zeros((100, 130), dtype=torch.bool)
    needed[10, 20] = True  # inside the first tile only
    needed[70:72, 40:90] = True  # across the bottom row's seam of two tiles
    with torch.no_grad():
        whole = run_tiled(net, x, tile=48, overlap=16, multiple=4)
        full_calls, net.calls = net.calls, 0
        part = run_tiled(net, x, tile=48, overlap=16, multiple=4, needed=needed)
    grid = tiles(100, 130, 48, 16, 4, torch.device("cpu"))
    assert full_calls == len(grid) == 3 * 4
    chosen = tiles(100, 130, 48, 16, 4, torch.device("cpu"), needed)
    assert net.calls == len(chosen) < full_calls
    # Every tile that gives a needed pixel weight ran, so the needed pixels are bit for bit the same.
    assert torch.equal(part[..., needed], whole[..., needed])
    covered = torch.zeros((100, 130), dtype=torch.bool)
    for piece in chosen:
        piece.crop(covered).fill_(True)
    assert bool(covered[needed].all())
    # A pixel only skipped tiles cover comes out 0.
    assert float(part[..., 0, 129].abs().max()) == 0.0


def test_a_run_with_nothing_needed_is_refused() -> None:
    with pytest.raises(ValueError, match="no pixel is needed"):
        run_tiled(CountingNet(), torch.rand((1, 3, 100, 130)), tile=48, overlap=16, multiple=4,
                  needed=torch.zeros((100, 130), dtype=torch.bool))
