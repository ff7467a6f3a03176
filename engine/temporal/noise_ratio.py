"""The exposure ratio of two frames from their sensor noise: the cue that breaks the exponent ambiguity.

Two aligned frames of one scene at exposures E and kE fix the response only up to an exponent:
g^γ with the ratio k^γ explains them as well as g with k (Grossberg & Nayar, "Determining the
camera response from images: what is knowable?", PAMI 2003). Sensor noise does not share the
ambiguity. Shot noise has a variance proportional to the exposure (the photon transfer of
Janesick, "Photon Transfer", SPIE 2007; the Poissonian-Gaussian model of Foi et al., IEEE TIP
2008), so in linear light the relative noise σ_E / E of a scene point falls as 1/√k from the
darker frame to the brighter: k = (σ_a / E_a)² / (σ_b / E_b)². A code value's noise σ_z maps to
relative linear noise through the log slope of the inverse response, σ_E / E = σ_z · d ln g / dz,
and any member g^γ of the ambiguous family scales that slope by the same γ in both frames, so
the ratio comes out right from the curve fitted with a wrong ratio (the same principle as
Takamatsu, Matsushita & Ikeuchi, "Estimating radiometric response functions from image noise
variance", ECCV 2008, who choose the response that makes the noise variance affine in
exposure).

Measurement: each frame's noise is read from Immerkær's residual ("Fast noise variance
estimation", CVIU 64(2), 1996: the 3 × 3 kernel [1 -2 1; -2 4 -2; 1 -2 1], blind to planes,
its output variance 36 σ² for white noise), scaled by the log slope at each pixel's code value.
The scene's texture that leaks through the kernel is the same relative signal in both frames
and the noise is independent between them, so the covariance of the two frames' scaled
residuals is the texture's variance and is subtracted from each; the quantisation's 1/12 LSB²
(Sheppard's correction) is subtracted as well. Pixels are binned by level (relative noise
depends on it); the ratio is the median over bins, its standard error their spread over √bins.

The result is combined with the ratio measured on a linearisation (engine.temporal.exposure.
relative_exposure on the learned estimate), weighted by inverse variances, the measured ratio
given MEASURED_SIGMA_EV: a clip whose codec removed the noise gives a noise ratio with a large
error and leaves the measured one in charge.
"""

from __future__ import annotations

import itertools
import math
import statistics

import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.temporal.crf import linearise

# Standard error given to the ratio measured on a linearisation, in stops. Chosen on TUNING
# clips (bench/tune_crf.py: TUNING stills through training curves left out of the basis, 240 and
# 480 pixels wide, the ratio measured on the learned estimate and on the basis' mean curve): of
# 0.05, 0.1, 0.2 and 0.4 EV, 0.4 has the lowest worst case of the four conditions.
MEASURED_SIGMA_EV = 0.4
_IMMERKAER = torch.tensor([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]], dtype=torch.float64) / 6.0
_DARK_FLOOR = 0.06  # every code of the darker frame's 3 x 3 window at least this (below: noise floor)
_BRIGHT_CEILING = 0.9  # every code of the brighter frame's window at most this (above: clipping)
_FLAT_SHARE = 0.5  # the flatter half of the qualifying pixels (local gradient, in log light) votes
_LEVEL_BINS = 12
_MIN_BIN_PIXELS = 50
_MIN_BINS = 3
_CODES = 255.0


def immerkaer_residual(signal: Tensor) -> Tensor:
    """(C, H, W) code values in [0, 1] -> (C, H-2, W-2) residuals in LSB whose variance is σ² for
    white noise of σ LSB (Immerkær 1996's kernel divided by its norm, 6)."""
    x = signal.double().unsqueeze(1) * _CODES
    return tnf.conv2d(x, _IMMERKAER[None, None]).squeeze(1)


def noise_log_ratio(dark: Tensor, bright: Tensor, inverse: Tensor,
                    valid: Tensor | None = None) -> tuple[float, float] | None:
    """ln k of `bright` against `dark` (k = its exposure over the darker frame's) and the estimate's
    standard error, from the frames' sensor noise; None where too few flat well-exposed pixels.

    dark, bright: aligned (3, H, W) code values in [0, 1], not resampled (interpolation smooths
    noise); inverse: an inverse response tabled over [0, 1] that explains the pair up to the
    exponent ambiguity (e.g. Debevec & Malik's fit with any measured ratio); valid: optional
    (1, H, W) pixels aligned in both.
    """
    log_g = inverse.double().clamp_min(1e-6).log()
    slope = torch.gradient(log_g, spacing=1.0 / (log_g.numel() - 1))[0] / _CODES  # d ln g per LSB
    za, zb = dark.double()[:, 1:-1, 1:-1], bright.double()[:, 1:-1, 1:-1]
    lowest_a = -tnf.max_pool2d(-dark.double().unsqueeze(1), 3, 1).squeeze(1)
    highest_b = tnf.max_pool2d(bright.double().unsqueeze(1), 3, 1).squeeze(1)
    keep = (lowest_a >= _DARK_FLOOR) & (highest_b <= _BRIGHT_CEILING)
    if valid is not None:
        keep &= valid.bool()[:, 1:-1, 1:-1].expand_as(keep)
    if int(keep.sum()) < _MIN_BINS * _MIN_BIN_PIXELS * 2:
        return None
    sa, sb = linearise(za, slope), linearise(zb, slope)
    structure = _flatness(dark, sa)
    keep &= structure <= _quantiles(structure[keep], [_FLAT_SHARE])[0]
    ua, ub = (immerkaer_residual(dark) * sa)[keep], (immerkaer_residual(bright) * sb)[keep]
    qa, qb = sa[keep].square() / 12.0, sb[keep].square() / 12.0
    level = za[keep]
    edges = _quantiles(level, torch.linspace(0.0, 1.0, _LEVEL_BINS + 1).tolist())
    logs = []
    for low, high in itertools.pairwise(edges):
        member = (level >= low) & (level <= high)
        if int(member.sum()) < _MIN_BIN_PIXELS:
            continue
        a, b = ua[member], ub[member]
        texture = (a * b).mean()
        var_a = (a * a).mean() - texture - qa[member].mean()
        var_b = (b * b).mean() - texture - qb[member].mean()
        if var_a > 0 and var_b > 0:
            logs.append(float(torch.log(var_a / var_b)))
    if len(logs) < _MIN_BINS:
        return None
    return statistics.median(logs), statistics.stdev(logs) / math.sqrt(len(logs))


def _flatness(signal: Tensor, log_slope: Tensor) -> Tensor:
    """(C, H-2, W-2): gradient magnitude of the 5 x 5 local mean (the scene's structure, which
    noise barely moves) in log light, on the residual's grid."""
    mean = tnf.avg_pool2d(signal.double().unsqueeze(1) * _CODES, 5, 1, padding=2, count_include_pad=False)
    mean = mean.squeeze(1)[:, 1:-1, 1:-1]
    gradient = (mean[:, 1:-1, 2:] - mean[:, 1:-1, :-2]).abs() + (mean[:, 2:, 1:-1] - mean[:, :-2, 1:-1]).abs()
    return tnf.pad(gradient.unsqueeze(1), (1, 1, 1, 1), mode="replicate").squeeze(1) * log_slope


def combined_log_ratio(measured: float, noise: tuple[float, float] | None,
                       measured_sigma_ev: float = MEASURED_SIGMA_EV) -> float:
    """ln k from the measured ratio (ln) and the noise ratio (ln k, standard error), weighted by
    their inverse variances; the measured ratio alone where the noise gave none."""
    if noise is None:
        return measured
    value, error = noise
    w_measured = 1.0 / (measured_sigma_ev * math.log(2.0)) ** 2
    w_noise = 1.0 / max(error, 1e-6) ** 2
    return (w_measured * measured + w_noise * value) / (w_measured + w_noise)


def _quantiles(values: Tensor, shares: list[float]) -> list[float]:
    """Quantiles by sorting (torch.quantile refuses more than 2^24 values: a 4K frame's channels)."""
    ordered = values.flatten().sort().values
    last = ordered.numel() - 1
    return [float(ordered[round(share * last)]) for share in shares]
