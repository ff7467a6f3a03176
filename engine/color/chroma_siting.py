"""4:2:0 chroma downsampling at the siting a deliverable signals (ITU-T H.273 chroma_loc_type).

- 'center' (type 1): each chroma sample sits at the centre of its 2x2 luma block, so it is the
  block's mean.
- 'topleft' (type 2): each chroma sample is co-sited with the block's top-left luma sample, as
  UHD delivery specifications ask of BT.2020 streams (ITU-R BT.2020 leaves siting to the
  interface; SMPTE ST 2084/2086 HDR10 profiles and ITU-R BT.2100 systems use type 2). The filter
  is the separable [1, 2, 1] / 4 kernel centred on that luma sample, edges repeated: the
  shortest symmetric low-pass filter whose centre is the chroma sample's position.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor
from torch.nn import functional as tnf

ChromaSiting = Literal["center", "topleft"]

CHROMA_LOC_TYPE: dict[str, int] = {"center": 1, "topleft": 2}
"""H.273 chroma_loc_type of each siting (x265/x264 `chromaloc`)."""

_BINOMIAL = torch.tensor([1.0, 2.0, 1.0]) / 4.0


def downsample_420(chroma: Tensor, siting: ChromaSiting) -> Tensor:
    """(C, H, W) full-resolution chroma (even H, W) -> (C, H/2, W/2) at `siting`."""
    if siting == "center":
        return tnf.avg_pool2d(chroma.unsqueeze(0), 2).squeeze(0)
    channels = chroma.shape[0]
    kernel = torch.outer(_BINOMIAL, _BINOMIAL).to(chroma.dtype).to(chroma.device)
    # One repeated row and column before the first: the taps of sample 0 are (x0, x0, x1).
    padded = tnf.pad(chroma.unsqueeze(0), (1, 0, 1, 0), mode="replicate")
    weights = kernel.expand(channels, 1, 3, 3)
    return tnf.conv2d(padded, weights, stride=2, groups=channels).squeeze(0)
