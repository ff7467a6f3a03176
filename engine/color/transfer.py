"""Transfer functions (EOTFs, OETFs and their inverses) as torch functions.

Every function is elementwise, keeps the input's dtype and device, and clamps its input to
the function's domain so that NaN never appears for out-of-range values.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

# SMPTE ST 2084:2014 (PQ) constants, as exact fractions from the standard.
PQ_M1 = 2610.0 / 16384.0
PQ_M2 = 2523.0 / 4096.0 * 128.0
PQ_C1 = 3424.0 / 4096.0
PQ_C2 = 2413.0 / 4096.0 * 32.0
PQ_C3 = 2392.0 / 4096.0 * 32.0
PQ_PEAK_NITS = 10000.0

# ITU-R BT.2100-2 Table 5 (HLG) constants.
HLG_A = 0.17883277
HLG_B = 1.0 - 4.0 * HLG_A
HLG_C = 0.5 - HLG_A * math.log(4.0 * HLG_A)

# ITU-R BT.2100 luminance weights for the HLG OOTF (BT.2020 primaries).
_BT2020_Y = (0.2627, 0.6780, 0.0593)


def srgb_eotf(v: Tensor) -> Tensor:
    """IEC 61966-2-1 sRGB decoding: signal in [0, 1] -> relative linear light in [0, 1]."""
    v = v.clamp(0.0, 1.0)
    # The power in place: a frame-sized temporary costs as much as the power itself.
    return torch.where(v <= 0.04045, v / 12.92, (v + 0.055).div_(1.055).pow_(2.4))


def srgb_inverse_eotf(l: Tensor) -> Tensor:
    """IEC 61966-2-1 sRGB encoding: relative linear light in [0, 1] -> signal in [0, 1]."""
    l = l.clamp(0.0, 1.0)
    return torch.where(l <= 0.0031308, l * 12.92, 1.055 * l ** (1.0 / 2.4) - 0.055)


def gamma_eotf(v: Tensor, gamma: float) -> Tensor:
    """Pure power-law decoding, L = V^gamma."""
    return v.clamp(0.0, 1.0) ** gamma


def gamma_inverse_eotf(l: Tensor, gamma: float) -> Tensor:
    """Pure power-law encoding, V = L^(1/gamma)."""
    return l.clamp(0.0, 1.0) ** (1.0 / gamma)


# ITU-R BT.709-6 Table 1 item 1.2: the OETF's linear segment ends at this scene light.
BT709_LINEAR_CUT = 0.018


def bt709_oetf(l: Tensor) -> Tensor:
    """ITU-R BT.709-6 OETF (item 1.2): scene light in [0, 1] -> signal, V = 1.099 L^0.45 - 0.099
    (4.5 L below 0.018)."""
    return bt709_camera_oetf(l.clamp_max(1.0))


def bt709_camera_oetf(l: Tensor) -> Tensor:
    """The BT.709-6 OETF continued above nominal white (L > 1 -> V > 1), as a broadcast camera
    records super-whites before its knee compresses them under the clip; negative light is 0."""
    l = l.clamp_min(0.0)
    return torch.where(l < BT709_LINEAR_CUT, 4.5 * l, 1.099 * l.clamp_min(BT709_LINEAR_CUT) ** 0.45 - 0.099)


def bt709_inverse_oetf(v: Tensor) -> Tensor:
    """Inverse of the ITU-R BT.709-6 OETF: signal in [0, 1] -> scene light in [0, 1]. What a
    camera recorded, rather than what a BT.1886 display shows of it (the two differ by the SDR
    system's OOTF, about a 1.2 power): the scene-referred reading of SDR camera footage of
    ITU-R BT.2408 §5 and ACES' "Rec.709 camera" input transform."""
    v = v.clamp(0.0, 1.0)
    # The standard's two segments miss each other at the cut: the OETF jumps from 0.0810 to
    # 0.0813, signals it never produces. Holding the cut's light across that gap keeps the inverse
    # continuous (a table of it, as engine.processor bakes, has no step to smear) and exact on
    # every signal the OETF produces.
    cut = 1.099 * BT709_LINEAR_CUT**0.45 - 0.099
    linear = (v / 4.5).clamp_max(BT709_LINEAR_CUT)
    return torch.where(v < cut, linear, ((v.clamp_min(cut) + 0.099) / 1.099) ** (1.0 / 0.45))


def _bt1886_coefficients(white: float, black: float) -> tuple[float, float]:
    """ITU-R BT.1886 Annex 1: the gain a and black lift b for a display of white/black nits."""
    g = 1.0 / 2.4
    span = white**g - black**g
    return span**2.4, black**g / span


def bt1886_eotf(v: Tensor, white: float = 1.0, black: float = 0.0) -> Tensor:
    """ITU-R BT.1886 reference EOTF, L = a * max(V + b, 0)^2.4, in the units of `white`."""
    if black == 0.0:  # a = white, b = 0: the pure power law, without two full-frame passes
        out = v.clamp(0.0, 1.0).pow_(2.4)
        return out if white == 1.0 else out.mul_(white)
    a, b = _bt1886_coefficients(white, black)
    return a * (v.clamp(0.0, 1.0) + b).clamp_min(0.0) ** 2.4


def bt1886_inverse_eotf(l: Tensor, white: float = 1.0, black: float = 0.0) -> Tensor:
    """Inverse of ITU-R BT.1886: display light in the units of `white` -> signal in [0, 1]."""
    a, b = _bt1886_coefficients(white, black)
    return ((l.clamp(black, white) / a) ** (1.0 / 2.4) - b).clamp(0.0, 1.0)


def pq_eotf(e: Tensor) -> Tensor:
    """SMPTE ST 2084 EOTF: PQ signal in [0, 1] -> absolute luminance in cd/m² (0 to 10000)."""
    p = e.clamp(0.0, 1.0) ** (1.0 / PQ_M2)
    return PQ_PEAK_NITS * ((p - PQ_C1).clamp_min(0.0) / (PQ_C2 - PQ_C3 * p)) ** (1.0 / PQ_M1)


def pq_inverse_eotf(nits: Tensor) -> Tensor:
    """SMPTE ST 2084 inverse EOTF: absolute luminance in cd/m² -> PQ signal in [0, 1]."""
    y = (nits / PQ_PEAK_NITS).clamp(0.0, 1.0) ** PQ_M1
    return ((PQ_C1 + PQ_C2 * y) / (1.0 + PQ_C3 * y)) ** PQ_M2


def hlg_oetf(e: Tensor) -> Tensor:
    """ITU-R BT.2100 HLG OETF: normalised scene light in [0, 1] -> signal in [0, 1]."""
    e = e.clamp(0.0, 1.0)
    log_branch = HLG_A * torch.log((12.0 * e - HLG_B).clamp_min(1e-12)) + HLG_C
    return torch.where(e <= 1.0 / 12.0, torch.sqrt(3.0 * e), log_branch)


def hlg_inverse_oetf(v: Tensor) -> Tensor:
    """ITU-R BT.2100 HLG inverse OETF: signal in [0, 1] -> normalised scene light in [0, 1]."""
    v = v.clamp(0.0, 1.0)
    return torch.where(v <= 0.5, v * v / 3.0, (torch.exp((v - HLG_C) / HLG_A) + HLG_B) / 12.0)


def hlg_system_gamma(peak_nits: float) -> float:
    """ITU-R BT.2100-2 Note 5e: system gamma 1.2 + 0.42 log10(Lw / 1000) for a display peak Lw."""
    return 1.2 + 0.42 * math.log10(peak_nits / 1000.0)


def _bt2020_luminance(rgb: Tensor) -> Tensor:
    w = torch.tensor(_BT2020_Y, dtype=rgb.dtype, device=rgb.device).view(3, *([1] * (rgb.ndim - 1)))
    return (rgb * w).sum(0, keepdim=True)


def hlg_ootf(scene: Tensor, peak_nits: float = 1000.0) -> Tensor:
    """ITU-R BT.2100 HLG OOTF: scene light (3, ...) in [0, 1] -> display light in cd/m².

    F_D = alpha * Y_S^(gamma - 1) * E, with alpha the display peak and gamma its system gamma.
    """
    gamma = hlg_system_gamma(peak_nits)
    ys = _bt2020_luminance(scene.clamp_min(0.0))
    return peak_nits * ys.clamp_min(1e-12) ** (gamma - 1.0) * scene.clamp_min(0.0)


def hlg_inverse_ootf(display: Tensor, peak_nits: float = 1000.0) -> Tensor:
    """Inverse of the ITU-R BT.2100 HLG OOTF: display cd/m² (3, ...) -> scene light in [0, 1]."""
    gamma = hlg_system_gamma(peak_nits)
    yd = _bt2020_luminance(display.clamp_min(0.0)) / peak_nits
    ys = yd.clamp_min(1e-12) ** (1.0 / gamma)
    return display.clamp_min(0.0) / (peak_nits * ys ** (gamma - 1.0))


def hlg_eotf(signal: Tensor, peak_nits: float = 1000.0, black_nits: float = 0.0) -> Tensor:
    """ITU-R BT.2100 HLG EOTF: RGB signal (3, ...) -> display light in cd/m².

    The black level lift beta = sqrt(3 (Lb/Lw)^(1/gamma)) is applied before the inverse OETF.
    """
    gamma = hlg_system_gamma(peak_nits)
    beta = math.sqrt(3.0 * (black_nits / peak_nits) ** (1.0 / gamma))
    lifted = ((1.0 - beta) * signal.clamp(0.0, 1.0) + beta).clamp_min(0.0)
    return hlg_ootf(hlg_inverse_oetf(lifted), peak_nits)


def hlg_inverse_eotf(display: Tensor, peak_nits: float = 1000.0) -> Tensor:
    """Inverse of the ITU-R BT.2100 HLG EOTF (zero black level): cd/m² (3, ...) -> signal."""
    return hlg_oetf(hlg_inverse_ootf(display, peak_nits).clamp(0.0, 1.0))
