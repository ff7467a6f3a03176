"""TMQI: the tone-mapped image quality index.

H. Yeganeh and Z. Wang, "Objective quality assessment of tone-mapped images", IEEE TIP 22(2),
pp. 657-667, 2013 (doi:10.1109/TIP.2012.2221725), with the constants of the authors' reference
code (TMQI.m, version 1.0):

- Q = a S^α + (1 - a) N^β, a = 0.8012, α = 0.3046, β = 0.7088 (eq. 15).
- Structural fidelity S = Π_l S_l^w_l over 5 scales, w = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
  (eq. 7). Each S_l is the mean of the local map (eq. 3)
  s = (2 σ'_x σ'_y + C1) / (σ'_x² + σ'_y² + C1) · (σ_xy + C2) / (σ_x σ_y + C2), C1 = 0.01, C2 = 10,
  with local statistics in an 11x11 Gaussian window of σ = 1.5 ('valid' part only) and the
  contrast mapping σ' = Φ(σ; τ, τ/3) (eq. 4-6), a Gaussian CDF whose threshold comes from the
  Mannos-Sakrison CSF, τ = 128 / (1.4 CSF(f)), CSF(f) = 100 · 2.6 (0.0192 + 0.114 f) e^{-(0.114 f)^1.1},
  at f = 16, 8, 4, 2, 1 cycles/degree; between scales both images are averaged over 2x2 blocks
  and decimated by 2.
- Statistical naturalness N = P_m P_d (eq. 14): P_m a Gaussian of the LDR mean, μ = 115.94,
  σ = 27.99; P_d a Beta density of the mean of the standard deviations of 11x11 blocks divided
  by 64.29, with shape (4.4, 10.1); both normalised by their peak values.

The HDR luminance is stretched to [0, round((2³² - 1) / (max - min)) (max - min)] as the reference
code does; the LDR luminance is the Y of the 8-bit R'G'B' code values (0..255, not linearised).
Every step is torch, so the index is differentiable where its terms are (engine.models.tmo_net
trains on it); scores are computed in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.filters import gaussian_kernel

TMQI_A = 0.8012
TMQI_ALPHA = 0.3046
TMQI_BETA = 0.7088
SCALE_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
SCALE_FREQUENCIES = (16.0, 8.0, 4.0, 2.0, 1.0)  # cycles per degree, finest scale first
WINDOW_SIZE = 11
WINDOW_SIGMA = 1.5
C1 = 0.01
C2 = 10.0
HDR_RANGE = 2.0**32 - 1.0
# Naturalness: the Gaussian brightness and Beta contrast models fitted to 3000 natural images.
BRIGHTNESS_MEAN = 115.94
BRIGHTNESS_STD = 27.99
CONTRAST_SHAPE = (4.4, 10.1)
CONTRAST_SCALE = 64.29
BLOCK_SIZE = 11
# sRGB/BT.709 Y row of RGB -> XYZ, which the reference code applies to both images.
Y_WEIGHTS = (0.2126, 0.7152, 0.0722)


@dataclass(frozen=True)
class TmqiScore:
    """Q, its structural fidelity S and naturalness N, and S at each scale (finest first)."""

    q: float
    s: float
    n: float
    s_scales: tuple[float, ...]


def mannos_csf(f: float) -> float:
    """Mannos & Sakrison 1974 contrast sensitivity as TMQI uses it, f in cycles per degree."""
    return 100.0 * 2.6 * (0.0192 + 0.114 * f) * math.exp(-((0.114 * f) ** 1.1))


def contrast_threshold(f: float) -> float:
    """τ(f) = 128 / (1.4 CSF(f)): the local standard deviation at which σ' reaches 0.5 (eq. 5)."""
    return 128.0 / (1.4 * mannos_csf(f))


def rgb_to_y(rgb: Tensor) -> Tensor:
    """(..., 3, H, W) R'G'B' or RGB -> (..., H, W) with the reference code's Y weights."""
    w = torch.tensor(Y_WEIGHTS, dtype=rgb.dtype, device=rgb.device)
    return torch.einsum("c,...chw->...hw", w, rgb)


def stretch_hdr(l_hdr: Tensor) -> Tensor:
    """(..., H, W) HDR luminance -> the reference code's range, per image (min at 0)."""
    lo = l_hdr.amin(dim=(-2, -1), keepdim=True)
    hi = l_hdr.amax(dim=(-2, -1), keepdim=True)
    return torch.round(HDR_RANGE / (hi - lo).clamp_min(1e-300)) * (l_hdr - lo)


def _window_mean(x: Tensor) -> Tensor:
    """(B, 1, H, W) -> (B, 1, H - 10, W - 10): the 11x11 Gaussian window's mean, 'valid' part."""
    k = gaussian_kernel(WINDOW_SIGMA, x.dtype, x.device)
    x = tnf.conv2d(x, k.view(1, 1, 1, -1))
    return tnf.conv2d(x, k.view(1, 1, -1, 1))


def _normal_cdf(x: Tensor, mean: float, std: float) -> Tensor:
    return 0.5 * (1.0 + torch.erf((x - mean) / (std * math.sqrt(2.0))))


def local_structure_map(x: Tensor, y: Tensor, f: float, eps: float = 0.0) -> Tensor:
    """Eq. 3 at one scale: (B, 1, H, W) HDR x and LDR y -> the (B, 1, H-10, W-10) map.

    `eps` is added to the local variances before the square root: 0 for the index itself, a
    small value when training through it (the root's gradient is infinite at 0).
    """
    mx, my = _window_mean(x), _window_mean(y)
    vx = (_window_mean(x * x) - mx * mx).clamp_min(0.0) + eps
    vy = (_window_mean(y * y) - my * my).clamp_min(0.0) + eps
    cov = _window_mean(x * y) - mx * my
    sx, sy = vx.sqrt(), vy.sqrt()
    tau = contrast_threshold(f)
    px, py = _normal_cdf(sx, tau, tau / 3.0), _normal_cdf(sy, tau, tau / 3.0)
    return (2 * px * py + C1) / (px * px + py * py + C1) * (cov + C2) / (sx * sy + C2)


def structural_fidelity(l_hdr: Tensor, l_ldr: Tensor, eps: float = 0.0) -> tuple[Tensor, Tensor]:
    """(B, H, W) stretched HDR and 0..255 LDR luminance -> S (B,) and the per-scale S_l (B, 5)."""
    x, y = l_hdr.unsqueeze(1), l_ldr.unsqueeze(1)
    scales = []
    for level, f in enumerate(SCALE_FREQUENCIES):
        if level:
            x, y = tnf.avg_pool2d(x, 2), tnf.avg_pool2d(y, 2)
        if min(x.shape[-2:]) < WINDOW_SIZE:
            raise ValueError(f"TMQI needs at least {WINDOW_SIZE << 4} pixels on each side, "
                             f"got {tuple(l_hdr.shape[-2:])}")
        scales.append(local_structure_map(x, y, f, eps).mean(dim=(1, 2, 3)))
    s_l = torch.stack(scales, dim=-1)
    weights = torch.tensor(SCALE_WEIGHTS, dtype=s_l.dtype, device=s_l.device)
    # S_l can dip below 0 for anti-correlated structure; the reference code's product of
    # powers is then complex. Such an image has no fidelity to speak of: S is taken as 0.
    return (s_l.clamp_min(1e-12) ** weights).prod(dim=-1), s_l


def block_std(l_ldr: Tensor) -> Tensor:
    """(B, H, W) -> (B,): the mean over pixels of their 11x11 block's sample standard deviation.

    The reference code's blkproc pads partial blocks with zeros and MATLAB's std divides by n - 1;
    each pixel of the image gets its block's value, so the mean weighs a block by its pixels.
    """
    h, w = l_ldr.shape[-2:]
    ph, pw = -h % BLOCK_SIZE, -w % BLOCK_SIZE
    padded = tnf.pad(l_ldr, (0, pw, 0, ph))
    blocks = padded.unfold(1, BLOCK_SIZE, BLOCK_SIZE).unfold(2, BLOCK_SIZE, BLOCK_SIZE)
    std = blocks.reshape(*blocks.shape[:3], -1).std(dim=-1)  # (B, rows, cols)
    rows = torch.full((std.shape[1],), float(BLOCK_SIZE), dtype=std.dtype, device=std.device)
    cols = torch.full((std.shape[2],), float(BLOCK_SIZE), dtype=std.dtype, device=std.device)
    rows[-1] = BLOCK_SIZE - ph
    cols[-1] = BLOCK_SIZE - pw
    area = rows[:, None] * cols[None, :]
    return (std * area).sum(dim=(1, 2)) / (h * w)


def _beta_log_pdf(x: Tensor, a: float, b: float) -> Tensor:
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    return log_norm + (a - 1) * torch.log(x) + (b - 1) * torch.log1p(-x)


def statistical_naturalness(l_ldr: Tensor) -> Tensor:
    """(B, H, W) LDR luminance in 0..255 -> N (B,), eq. 14."""
    mean = l_ldr.mean(dim=(-2, -1))
    p_m = torch.exp(-0.5 * ((mean - BRIGHTNESS_MEAN) / BRIGHTNESS_STD) ** 2)
    a, b = CONTRAST_SHAPE
    mode = (a - 1) / (a + b - 2)
    # The Beta density is 0 outside (0, 1): a flat image (σ = 0) has no naturalness.
    x = block_std(l_ldr) / CONTRAST_SCALE
    inside = (x > 0) & (x < 1)
    x_safe = torch.where(inside, x, torch.full_like(x, mode))
    log_ratio = _beta_log_pdf(x_safe, a, b) - _beta_log_pdf(torch.tensor(mode, dtype=x.dtype), a, b)
    p_d = torch.where(inside, torch.exp(log_ratio), torch.zeros_like(x))
    return p_m * p_d


def tmqi_terms(l_hdr: Tensor, l_ldr: Tensor, eps: float = 0.0) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Batched TMQI: (B, H, W) HDR luminance (any scale) and LDR luminance in 0..255 ->
    Q, S, N (each (B,)) and S_l (B, 5). Differentiable in l_ldr."""
    s, s_l = structural_fidelity(stretch_hdr(l_hdr), l_ldr, eps)
    n = statistical_naturalness(l_ldr)
    q = TMQI_A * s**TMQI_ALPHA + (1 - TMQI_A) * n**TMQI_BETA
    return q, s, n, s_l


def tmqi(hdr: Tensor, ldr_code: Tensor) -> TmqiScore:
    """TMQI of one tone-mapped image.

    hdr: (3, H, W) linear RGB or (H, W) / (1, H, W) luminance, any scale; ldr_code: (3, H, W)
    R'G'B' code values in [0, 1] (the SDR file's pixels) or its (H, W) / (1, H, W) luma in [0, 1].
    """
    l_hdr = _as_luminance(hdr).double()
    l_ldr = _as_luminance(ldr_code).double() * 255.0
    if l_hdr.shape != l_ldr.shape:
        raise ValueError(f"HDR {tuple(l_hdr.shape)} and LDR {tuple(l_ldr.shape)} differ in size")
    q, s, n, s_l = tmqi_terms(l_hdr[None], l_ldr[None])
    return TmqiScore(float(q[0]), float(s[0]), float(n[0]), tuple(float(v) for v in s_l[0]))


def _as_luminance(image: Tensor) -> Tensor:
    if image.ndim == 3 and image.shape[0] == 3:
        return rgb_to_y(image)
    if image.ndim == 3 and image.shape[0] == 1:
        return image[0]
    if image.ndim == 2:
        return image
    raise ValueError(f"expected (3, H, W), (1, H, W) or (H, W), got {tuple(image.shape)}")
