"""The rectangle of a frame that temporal reconstruction works on: its clipped pixels and a margin.

Only clipped pixels take radiance from other frames, and in most footage they cover a small
part of the frame, so warps, weights and the merge run on their bounding box; every pixel
outside it keeps its own radiance, as the merge would have decided anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

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
