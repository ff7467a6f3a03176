"""PU21: the perceptually uniform encoding of absolute luminance for HDR quality metrics.

R. K. Mantiuk and M. Azimi, "PU21: A novel perceptually uniform encoding for adapting existing
quality metrics for HDR", Picture Coding Symposium 2021 (doi:10.1109/PCS50896.2021.9477471).
The parameters are the 'banding_glare' set of the authors' reference code (gfxdisp/pu21,
matlab/pu21_encoder.m), the variant its README recommends. The encoding maps 0.005 cd/m² to
0 and 100 cd/m² to about 256, so that SDR metrics with an 8-bit-like range apply to PU values.
"""

from __future__ import annotations

from torch import Tensor

# p1..p7 of the paper (p0..p6 here), 'banding_glare' fit of 06/02/2020.
PU21_BANDING_GLARE = (
    0.353487901, 0.3734658629, 8.277049286e-05, 0.9062562627, 0.09150303166, 0.9099517204, 596.3148142,
)
PU21_MIN_NITS = 0.005
PU21_MAX_NITS = 10000.0
# The reference code's metrics use 256 as the dynamic range of PU values (pu21_metric.m).
PU21_PEAK = 256.0


def pu21_encode(nits: Tensor) -> Tensor:
    """Absolute luminance in cd/m² -> PU21 value, V = p6 (((p0 + p1 Y^p3) / (1 + p2 Y^p3))^p4 - p5).

    Y is clamped to [0.005, 10000] cd/m² first, as in the reference encoder.
    """
    p = PU21_BANDING_GLARE
    yp = nits.clamp(PU21_MIN_NITS, PU21_MAX_NITS) ** p[3]
    return p[6] * (((p[0] + p[1] * yp) / (1.0 + p[2] * yp)) ** p[4] - p[5])


def pu21_decode(v: Tensor) -> Tensor:
    """PU21 value -> absolute luminance in cd/m², the inverse of `pu21_encode` on its domain."""
    p = PU21_BANDING_GLARE
    vp = (v / p[6] + p[5]).clamp_min(0.0) ** (1.0 / p[4])
    return ((vp - p[0]).clamp_min(0.0) / (p[1] - p[2] * vp)) ** (1.0 / p[3])
