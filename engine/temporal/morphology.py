"""Morphology on (1, H, W) masks and weights by shifted ORs and minima.

A square structuring element is separable and, for booleans, a dilation is an OR of shifted
copies: a few memory passes, where torch's max_pool2d on float masks costs about thirty times
as much on the CPU, and the temporal merge dilates many times per frame. A grey-level erosion
(the least value in the square, min_filter) is the same walk with minima.
"""

from __future__ import annotations

import torch
from torch import Tensor


def dilate(mask: Tensor, radius: int = 1) -> Tensor:
    """(…, H, W) boolean mask grown by a (2 radius + 1)² square; pixels outside count as False."""
    grown = mask.bool()
    for _ in range(radius):
        grown = _grow_along(_grow_along(grown, -1), -2)
    return grown


def _grow_along(mask: Tensor, dim: int) -> Tensor:
    size = mask.shape[dim]
    if size < 2:
        return mask
    grown = mask.clone()
    grown.narrow(dim, 1, size - 1).logical_or_(mask.narrow(dim, 0, size - 1))
    grown.narrow(dim, 0, size - 1).logical_or_(mask.narrow(dim, 1, size - 1))
    return grown


def min_filter(values: Tensor) -> Tensor:
    """(…, H, W) each value replaced by the least in its 3 x 3 square; the border repeats."""
    out = values
    for dim in (-1, -2):
        size = out.shape[dim]
        if size < 2:
            continue
        head, tail = out.narrow(dim, 0, size - 1), out.narrow(dim, 1, size - 1)
        shrunk = out.clone()
        shrunk.narrow(dim, 1, size - 1).copy_(torch.minimum(tail, head))
        shrunk.narrow(dim, 0, size - 1).copy_(torch.minimum(shrunk.narrow(dim, 0, size - 1), tail))
        out = shrunk
    return out
