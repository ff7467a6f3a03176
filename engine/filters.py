"""Fast edge-aware and smoothing filters on torch images, on whatever device the input is on.

- gaussian_blur: separable Gaussian; large sigmas run on a 2^k-downsampled copy (a Burt &
  Adelson 1983 style pyramid shortcut), so the cost stays near constant in sigma.
- bilateral_grid: Chen, Paris & Durand 2007, "Real-time edge-aware image processing with the
  bilateral grid": splat onto a coarse (y, x, value) grid, blur it in 3-D, slice it back with
  trilinear interpolation. Its result approximates the brute-force bilateral filter (Tomasi &
  Manduchi 1998) with Gaussian spatial and range kernels.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as tnf

# Below this sigma (in the pixels of the level it runs on) a blur runs at full resolution; above
# it, on a level downsampled by 2 until the remaining sigma drops below it.
PYRAMID_SIGMA = 2.0
# Grid cells per sigma along each axis of the bilateral grid. Chen et al. use one cell per sigma;
# two halve the quantisation error of the nearest-cell splat for a small cost.
GRID_CELLS_PER_SIGMA = 2.0


def gaussian_kernel(sigma: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    """A normalised 1-D Gaussian of radius ceil(3 sigma)."""
    radius = max(1, math.ceil(3.0 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).to(dtype=dtype, device=device)


def _convolve_axis(x: Tensor, k: Tensor, dim: int, mode: str) -> Tensor:
    """(C, H, W) convolved with the odd kernel k along dim (1 or 2), padded by `mode`.

    A sum of shifted slices: for the short kernels used here it runs several times faster on
    CPUs than a single-channel conv2d.
    """
    r = k.numel() // 2
    n = x.shape[dim]
    pad = (r, r, 0, 0) if dim == 2 else (0, 0, r, r)
    p = tnf.pad(x.unsqueeze(0), pad, mode=mode)[0]
    out = p.narrow(dim, 0, n) * float(k[0])
    for i in range(1, k.numel()):
        out = out.add_(p.narrow(dim, i, n), alpha=float(k[i]))
    return out


def _separable_blur(image: Tensor, sigma: float) -> Tensor:
    """(C, H, W) convolved with a Gaussian, borders mirrored (reflect without repeating the edge)."""
    k = gaussian_kernel(sigma, torch.float64, torch.device("cpu"))
    mode = "reflect" if k.numel() // 2 < min(image.shape[1:]) else "replicate"
    return _convolve_axis(_convolve_axis(image, k, 2, mode), k, 1, mode)


def gaussian_blur(image: Tensor, sigma: float) -> Tensor:
    """(C, H, W) -> (C, H, W) Gaussian blur of standard deviation `sigma` pixels.

    For sigma >= 2 * PYRAMID_SIGMA the image is box-averaged by a factor d = 2^k, blurred there
    by sqrt(sigma^2 - d^2 / 4) / d and upsampled bilinearly: the box (variance (d^2 - 1) / 12)
    and the bilinear tent (about d^2 / 6) make up the rest of the variance.
    """
    if sigma <= 0.0:
        return image
    _, h, w = image.shape
    d = 1
    while sigma / (2 * d) >= PYRAMID_SIGMA and min(h, w) >= 16 * d:
        d *= 2
    if d == 1:
        return _separable_blur(image, sigma)
    ph, pw = -h % d, -w % d
    padded = tnf.pad(image.unsqueeze(0), (0, pw, 0, ph), mode="replicate")
    small = tnf.avg_pool2d(padded, d)[0]
    small = _separable_blur(small, math.sqrt(sigma**2 - d * d / 4.0) / d)
    big = tnf.interpolate(small.unsqueeze(0), scale_factor=d, mode="bilinear", align_corners=False)
    return big[0, :, :h, :w]


def _blur_grid(grid: Tensor, sigma_cells: float) -> Tensor:
    """(N, D, GH, GW) blurred along its three grid axes; zero outside (no mass there)."""
    k = gaussian_kernel(sigma_cells, grid.dtype, grid.device)
    r = k.numel() // 2
    x = grid.unsqueeze(1)
    x = tnf.conv3d(x, k.view(1, 1, -1, 1, 1), padding=(r, 0, 0))
    x = tnf.conv3d(x, k.view(1, 1, 1, -1, 1), padding=(0, r, 0))
    x = tnf.conv3d(x, k.view(1, 1, 1, 1, -1), padding=(0, 0, r))
    return x.squeeze(1)


def bilateral_grid(
    log_lum: Tensor, sigma_spatial: float, sigma_range: float, values: Tensor | None = None
) -> Tensor:
    """(1, H, W) -> (1, H, W): the bilateral filter of an image by the bilateral grid.

    With `values` (1, H, W) given, those are filtered with the edges of `log_lum` (the joint or
    cross bilateral filter); otherwise `log_lum` filters itself.

    Chen, Paris & Durand 2007: every pixel adds (value, 1) to its nearest cell of a grid with
    GRID_CELLS_PER_SIGMA cells per sigma_spatial (pixels) and per sigma_range (in the image's
    own units, e.g. log10 luminance); the grid is blurred by a Gaussian of one sigma on each
    axis; each output pixel is the trilinear slice of blurred values over blurred weights at
    its (y, x, value) position. The input must be finite.
    """
    _, h, w = log_lum.shape
    z = log_lum[0]
    z_lo, z_hi = torch.aminmax(z)
    z_min = float(z_lo)
    cell_s = sigma_spatial / GRID_CELLS_PER_SIGMA
    cell_r = sigma_range / GRID_CELLS_PER_SIGMA
    gh, gw = int((h - 1) / cell_s) + 2, int((w - 1) / cell_s) + 2
    gd = int((float(z_hi) - z_min) / cell_r) + 2

    gy = torch.arange(h, device=z.device, dtype=z.dtype) / cell_s
    gx = torch.arange(w, device=z.device, dtype=z.dtype) / cell_s
    gz = (z - z_min) / cell_r
    nearest = (gz.round().long() * gh + gy.round().long().view(h, 1)) * gw + gx.round().long()
    cells = gd * gh * gw
    splat = z if values is None else values[0].to(z.dtype)
    sums = torch.zeros(cells, device=z.device, dtype=z.dtype).index_add_(
        0, nearest.view(-1), splat.reshape(-1)
    )
    weights = torch.bincount(nearest.view(-1), minlength=cells).to(z.dtype)
    grid = _blur_grid(torch.stack([sums, weights]).view(2, gd, gh, gw), GRID_CELLS_PER_SIGMA)
    return _slice(grid, gy, gx, gz).unsqueeze(0)


def _slice(grid: Tensor, gy: Tensor, gx: Tensor, gz: Tensor) -> Tensor:
    """Trilinear lookup of a (2, D, GH, GW) grid of (value, weight) at (gz[y, x], gy[y], gx[x]).

    The grid is first interpolated along y to every image row (cheap: D * H * GW cells). Each
    table entry then packs (value, weight) at x0 and x0 + 1 into 16 bytes, so a pixel's
    trilinear lookup is two gathers, one per neighbouring z plane.
    """
    _, gd, gh, gw = grid.shape
    h, w = gz.shape
    y0 = gy.floor().long().clamp(0, gh - 2)
    fy = (gy - y0).view(1, 1, h, 1)
    rows = torch.lerp(grid[:, :, y0], grid[:, :, y0 + 1], fy).permute(1, 2, 3, 0)  # (D, H, GW, 2)
    pairs = torch.stack([rows[:, :, :-1], rows[:, :, 1:]], dim=3)  # (D, H, GW - 1, 2, 2)
    table = pairs.contiguous().view(-1, 4).view(torch.complex128).view(-1)
    z0 = gz.floor().long().clamp(0, gd - 2)
    x0 = gx.floor().long().clamp(0, gw - 2)
    base = ((z0 * h + torch.arange(h, device=gz.device).view(h, 1)) * (gw - 1) + x0).view(-1)

    def at(offset: int) -> Tensor:
        return table[base + offset].view(torch.float32).view(h, w, 2, 2)

    near, far = at(0), at(h * (gw - 1))
    both = torch.lerp(near, far, (gz - z0).view(h, w, 1, 1))
    both = torch.lerp(both[:, :, 0], both[:, :, 1], (gx - x0).view(1, w, 1))
    return both[..., 0] / both[..., 1].clamp_min(1e-12)
