"""The rectangle of a frame that temporal reconstruction works on: its clipped pixels and a margin.

Only clipped pixels take radiance from other frames, and in most footage they cover a small
part of the frame, so warps, weights and the merge run on their bounding box; every pixel
outside it keeps its own radiance, as the merge would have decided anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class Region:
    """Rows top:bottom and columns left:right of a frame."""

    top: int
    bottom: int
    left: int
    right: int

    @property
    def origin(self) -> tuple[int, int]:
        """(x, y) of the region's first pixel in the frame."""
        return self.left, self.top

    def crop(self, frame: Tensor) -> Tensor:
        """The region of a (…, H, W) frame, as a view."""
        return frame[..., self.top : self.bottom, self.left : self.right]

    def paste(self, frame: Tensor, part: Tensor) -> Tensor:
        """A copy of `frame` with the region replaced by `part`."""
        out = frame.clone()
        self.crop(out).copy_(part)
        return out

    def within(self, outer: Region) -> Region:
        """This region in the coordinates of `outer`'s crop (it must lie inside `outer`)."""
        return Region(self.top - outer.top, self.bottom - outer.top, self.left - outer.left,
                      self.right - outer.left)

    def intersection(self, other: Region) -> Region:
        return Region(max(self.top, other.top), min(self.bottom, other.bottom),
                      max(self.left, other.left), min(self.right, other.right))

    def union(self, other: Region) -> Region:
        """The smallest region holding both."""
        return Region(min(self.top, other.top), max(self.bottom, other.bottom),
                      min(self.left, other.left), max(self.right, other.right))

    def overlaps(self, other: Region) -> bool:
        return (max(self.top, other.top) < min(self.bottom, other.bottom)
                and max(self.left, other.left) < min(self.right, other.right))

    @property
    def area(self) -> int:
        return (self.bottom - self.top) * (self.right - self.left)


def mask_region(mask: Tensor, margin: int) -> Region | None:
    """Bounding box of a (1, H, W) boolean mask, grown by `margin` pixels on every side and kept
    inside the frame; None where the mask is empty."""
    _, h, w = mask.shape
    rows, cols = mask[0].any(dim=1).nonzero(), mask[0].any(dim=0).nonzero()
    if rows.numel() == 0:
        return None
    return Region(max(0, int(rows[0]) - margin), min(h, int(rows[-1]) + 1 + margin),
                  max(0, int(cols[0]) - margin), min(w, int(cols[-1]) + 1 + margin))


def clipped_region(peak: Tensor, level: float, margin: int) -> Region | None:
    """Bounding box of the (1, H, W) `peak` code values at `level` or above, grown by `margin`
    pixels on every side and kept inside the frame; None where nothing reaches `level`."""
    return mask_region(peak >= level, margin)


# One more call of a network costs about as much as running it on this many more pixels
# (masked-cnn on one CPU thread: 2.4 ms on 64 x 64, 13.9 ms on 320 x 180): what decides whether
# scattered regions are run as one box or apart. The callers run networks on the boxes: the
# temporal fallback and the learned refinement.
NETWORK_CALL_PX = 7000


def mask_regions(mask: Tensor, margin: int, call_px: int = NETWORK_CALL_PX) -> list[Region]:
    """Disjoint boxes covering a (1, H, W) boolean mask, each grown by `margin` pixels on every
    side and kept inside the frame: one per 8-connected cluster, two merged where they overlap or
    where one box over both costs less than two calls, a call costing `call_px` pixels more."""
    _, h, w = mask.shape
    image = np.ascontiguousarray(mask[0].to("cpu", torch.uint8).numpy())
    count, _, stats, _ = cv2.connectedComponentsWithStats(image, connectivity=8)
    boxes = [Region(max(0, int(y) - margin), min(h, int(y + bh) + margin),
                    max(0, int(x) - margin), min(w, int(x + bw) + margin))
             for x, y, bw, bh, _ in stats[1:count]]
    merged: list[Region] = []
    while boxes:
        box = boxes.pop()
        for other in merged:
            if box.overlaps(other) or box.union(other).area <= box.area + other.area + call_px:
                # The union may now reach further boxes: it goes round again.
                merged.remove(other)
                boxes.append(box.union(other))
                break
        else:
            merged.append(box)
    return merged
