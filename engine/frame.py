"""A frame on its way through the Pipeline, tagged with the space its pixels are in.

Each pipeline stage declares the space it takes and the space it gives (engine.stages.base), so
a Pipeline whose stages do not fit together fails when it is built, not with wrong pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from torch import Tensor


class Space(Enum):
    """What a frame's numbers mean."""

    CODE = "code"  # decoded code values R'G'B' in [0, 1], in the source's primaries
    RELATIVE = "relative"  # SDR display-linear light, BT.2020, 1.0 = the SDR display's peak
    NITS = "nits"  # absolute display light in cd/m², BT.2020
    OUTPUT = "output"  # a deliverable's signal: PQ, HLG or SDR code values, or EXR linear data


@dataclass(frozen=True)
class Frame:
    """Pixels (3, H, W) in `space`, with the decoded code values they were made from, if known.

    The code values travel with the frame because clipping is judged on them (the temporal
    stage): a channel clipped at code 1.0 in BT.709 lies well below 1.0 once in BT.2020.
    """

    pixels: Tensor
    space: Space
    code: Tensor | None = None

    @classmethod
    def decoded(cls, code: Tensor) -> Frame:
        """A frame as the clip decodes it."""
        return cls(code, Space.CODE, code)

    def to(self, space: Space, pixels: Tensor) -> Frame:
        """The same frame, as `pixels` in `space`."""
        return Frame(pixels, space, self.code)
