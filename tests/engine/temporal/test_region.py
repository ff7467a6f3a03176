"""The merge's working rectangle: clipped bounding boxes, warps over a rectangle, feather depth."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as tnf

from engine.temporal.flow import warp, warp_light
from engine.temporal.merge import fallback_gain
from engine.temporal.region import Region, clipped_region, mask_region, mask_regions


def test_clipped_region_bounds_the_clipped_pixels_with_a_margin_inside_the_frame() -> None:
    peak = torch.zeros(1, 40, 60)
    assert clipped_region(peak, 0.95, 4) is None
    peak[0, 10:13, 50:58] = 1.0
    peak[0, 20, 30] = 0.96
    assert clipped_region(peak, 0.95, 4) == Region(6, 25, 26, 60)
    assert clipped_region(peak, 0.97, 0) == Region(10, 13, 50, 58)


def test_paste_replaces_only_the_region() -> None:
    frame = torch.arange(2 * 5 * 7, dtype=torch.float32).view(2, 5, 7)
    region = Region(1, 4, 2, 6)
    out = region.paste(frame, torch.full((2, 3, 4), -1.0))
    assert bool((region.crop(out) == -1.0).all())
    assert int((out != frame).sum()) == 2 * 3 * 4
    assert bool((frame >= 0).all())  # the source is not written to


def test_a_box_and_a_region_share_their_overlap_in_each_ones_coordinates() -> None:
    frame = torch.arange(40 * 60, dtype=torch.float32).view(1, 40, 60)
    region, box = Region(6, 25, 26, 60), Region(0, 18, 40, 60)
    shared = box.intersection(region)
    assert shared == Region(6, 18, 40, 60)
    torch.testing.assert_close(shared.within(region).crop(region.crop(frame)), shared.crop(frame))
    torch.testing.assert_close(shared.within(box).crop(box.crop(frame)), shared.crop(frame))
    mask = torch.zeros(1, 40, 60, dtype=torch.bool)
    mask[0, 3, 58] = True
    assert mask_region(mask, 5) == Region(0, 9, 53, 60)


def test_a_warp_over_a_rectangle_equals_that_rectangle_of_the_whole_warp() -> None:
    generator = torch.Generator().manual_seed(3)
    frame = torch.rand(3, 30, 50, generator=generator)
    flow = (torch.rand(2, 30, 50, generator=generator) - 0.5) * 8.0
    region = Region(5, 21, 12, 47)
    part = warp(frame, region.crop(flow), region.origin)
    torch.testing.assert_close(part, region.crop(warp(frame, flow)), rtol=0.0, atol=1e-5)


def test_the_fallback_gain_fades_over_the_erosion_depth() -> None:
    """The gain's log falls linearly with the number of 3 x 3 erosions a gap pixel survives."""
    feather = 6
    missing = torch.zeros(1, 40, 40, dtype=torch.bool)
    missing[0, 5:35, 8:30] = True
    missing[0, 0:12, 0:4] = True  # touching the frame's border, which does not end the gap
    known = torch.full((3, 40, 40), 2.0)
    filled = torch.ones(3, 40, 40)
    gain = fallback_gain(known, filled, missing, ~missing, feather)
    depth, inner = torch.zeros(1, 40, 40), missing
    for _ in range(feather):
        # A 3 x 3 erosion in which pixels outside the frame count as gap.
        inner = -tnf.max_pool2d(-inner.float()[None], 3, stride=1, padding=1)[0] > 0
        depth += inner.float()
    expected = torch.exp(torch.log(torch.tensor(2.0)) * (1.0 - depth / feather))
    torch.testing.assert_close(gain, expected, rtol=1e-5, atol=1e-6)


def test_light_is_resampled_sharper_than_bilinear_and_never_below_black() -> None:
    """A half-pixel shift of a fine sinusoid (period 4 px): bilinear sampling loses a third of
    its amplitude there, the cubic kernel a few percent; a hard edge does not ring below 0."""
    xs = torch.arange(64.0)
    frame = (1.0 + 0.5 * torch.sin(2 * math.pi * xs / 4.0)).expand(3, 16, 64).clone()
    flow = torch.zeros(2, 16, 64)
    flow[0] = 0.5
    truth = 1.0 + 0.5 * torch.sin(2 * math.pi * (xs + 0.5) / 4.0)
    inner = slice(4, -4)
    cubic_error = (warp_light(frame, flow)[0, 8, inner] - truth[inner]).abs().max()
    linear_error = (warp(frame, flow)[0, 8, inner] - truth[inner]).abs().max()
    assert float(cubic_error) < 0.05 < 0.1 < float(linear_error)
    edge = torch.zeros(3, 8, 16)
    edge[:, :, 8:] = 10.0
    shifted = torch.zeros(2, 8, 16)
    shifted[0] = 0.3
    assert float(warp_light(edge, shifted).min()) == 0.0


def test_scattered_gaps_take_a_box_each_and_near_ones_share_one() -> None:
    """Two specks at opposite corners of a 180 x 320 frame: one box each, grown by the margin
    (their common box would be the whole frame, far more than a call costs). Two specks 20 px
    apart share one box, whose area is less than two boxes plus a call."""
    mask = torch.zeros(1, 180, 320, dtype=torch.bool)
    mask[0, 10, 10] = mask[0, 170, 300] = True
    boxes = sorted(mask_regions(mask, 8, 7000), key=lambda b: b.top)
    assert boxes == [Region(2, 19, 2, 19), Region(162, 179, 292, 309)]
    mask[0, 10, 30] = True  # near the first speck: its box and the first overlap
    boxes = sorted(mask_regions(mask, 8, 7000), key=lambda b: b.top)
    assert boxes == [Region(2, 19, 2, 39), Region(162, 179, 292, 309)]
    mask[0, 40, 60] = True  # apart from both, but one box over it and the first costs less than a call
    boxes = sorted(mask_regions(mask, 8, 7000), key=lambda b: b.top)
    assert boxes == [Region(2, 49, 2, 69), Region(162, 179, 292, 309)]
    assert mask_regions(torch.zeros(1, 8, 8, dtype=torch.bool), 2, 7000) == []
