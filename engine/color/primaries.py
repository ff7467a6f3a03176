"""RGB colour spaces from their chromaticities, and the matrices between them.

Matrices are derived, not tabulated: SMPTE RP 177-1993 gives RGB -> XYZ from the primaries and
the white point, and white points are reconciled with the Bradford chromatic adaptation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

D65 = (0.3127, 0.3290)
ACES_WHITE = (0.32168, 0.33767)


@dataclass(frozen=True)
class Primaries:
    """The CIE 1931 xy chromaticities of an RGB space's red, green, blue and white."""

    name: str
    red: tuple[float, float]
    green: tuple[float, float]
    blue: tuple[float, float]
    white: tuple[float, float]


BT709 = Primaries("bt709", (0.640, 0.330), (0.300, 0.600), (0.150, 0.060), D65)
BT2020 = Primaries("bt2020", (0.708, 0.292), (0.170, 0.797), (0.131, 0.046), D65)
P3_D65 = Primaries("p3-d65", (0.680, 0.320), (0.265, 0.690), (0.150, 0.060), D65)
BT601_625 = Primaries("bt601-625", (0.640, 0.330), (0.290, 0.600), (0.150, 0.060), D65)
BT601_525 = Primaries("bt601-525", (0.630, 0.340), (0.310, 0.595), (0.155, 0.070), D65)
ACES_AP0 = Primaries("aces-ap0", (0.7347, 0.2653), (0.0, 1.0), (0.0001, -0.0770), ACES_WHITE)
ACES_AP1 = Primaries("aces-ap1", (0.713, 0.293), (0.165, 0.830), (0.128, 0.044), ACES_WHITE)

PRIMARIES: dict[str, Primaries] = {
    p.name: p for p in (BT709, BT2020, P3_D65, BT601_625, BT601_525, ACES_AP0, ACES_AP1)
}

# Bradford cone response matrix (Lam 1985, as used by ICC.1 Annex E).
_BRADFORD = np.array(
    [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
)


def xy_to_xyz(xy: tuple[float, float]) -> np.ndarray:
    """CIE xy chromaticity -> XYZ tristimulus with Y = 1."""
    x, y = xy
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def rgb_to_xyz_matrix(p: Primaries) -> np.ndarray:
    """SMPTE RP 177-1993 normalised primary matrix: linear RGB -> CIE XYZ (float64, 3x3)."""
    columns = np.stack([xy_to_xyz(p.red), xy_to_xyz(p.green), xy_to_xyz(p.blue)], axis=1)
    scale = np.linalg.solve(columns, xy_to_xyz(p.white))
    return columns * scale


def bradford_adaptation(src_white: tuple[float, float], dst_white: tuple[float, float]) -> np.ndarray:
    """Bradford chromatic adaptation matrix, XYZ under src_white -> XYZ under dst_white."""
    if src_white == dst_white:
        return np.eye(3)
    src = _BRADFORD @ xy_to_xyz(src_white)
    dst = _BRADFORD @ xy_to_xyz(dst_white)
    return np.linalg.inv(_BRADFORD) @ np.diag(dst / src) @ _BRADFORD


def conversion_matrix(src: Primaries, dst: Primaries) -> np.ndarray:
    """Linear RGB in `src` -> linear RGB in `dst`, adapting the white point with Bradford."""
    adapt = bradford_adaptation(src.white, dst.white)
    return np.linalg.inv(rgb_to_xyz_matrix(dst)) @ adapt @ rgb_to_xyz_matrix(src)


def describes_rgb_space(p: Primaries) -> bool:
    """Whether chromaticities read from a file make an RGB space Lumigrade can convert from:
    finite, no y of 0 (xy -> XYZ divides by it), a white with y > 0, and a finite, invertible
    RP 177 matrix to BT.2020 whose entries stay below 10^4 (real spaces give single digits)."""
    values = (*p.red, *p.green, *p.blue, *p.white)
    if not all(math.isfinite(v) for v in values) or p.white[1] <= 0:
        return False
    if 0.0 in (p.red[1], p.green[1], p.blue[1]):
        return False
    try:
        with np.errstate(all="ignore"):
            matrix = conversion_matrix(p, BT2020)
    except np.linalg.LinAlgError:
        return False
    return bool(np.isfinite(matrix).all() and np.abs(matrix).max() < 1e4)


def luminance_weights(p: Primaries) -> np.ndarray:
    """The Y row of the RGB -> XYZ matrix: relative luminance weights of R, G and B."""
    return rgb_to_xyz_matrix(p)[1]


def apply_matrix(frame: Tensor, matrix: np.ndarray | Tensor) -> Tensor:
    """Apply a 3x3 colour matrix to a (3, H, W) or (N, 3, H, W) frame."""
    m = torch.as_tensor(matrix, dtype=frame.dtype, device=frame.device)
    if frame.ndim == 3:
        return torch.einsum("ij,jhw->ihw", m, frame)
    return torch.einsum("ij,njhw->nihw", m, frame)


def convert_primaries(frame: Tensor, src: Primaries, dst: Primaries) -> Tensor:
    """Convert a linear (3, H, W) frame between RGB spaces; identity when they are equal."""
    if src == dst:
        return frame
    return apply_matrix(frame, conversion_matrix(src, dst))
