"""Camera response recovery from differently exposed frames (Debevec & Malik 1997).

Debevec & Malik, "Recovering high dynamic range radiance maps from photographs" (SIGGRAPH
1997), §2.1 and Appendix A (gsolve): the log inverse response g(Z) = ln E + ln Δt is found by
linear least squares over sampled pixels seen at several exposures, with a second-derivative
smoothness term weighted by λ and the hat weight w(z) = min(z, 255 - z), fixing g(128) = 0.
"""

from __future__ import annotations

import torch
from torch import Tensor

from engine.errors import FormatError

CODES = 256
_MID_CODE = 128
_SAMPLES_PER_BIN = 4  # pixels drawn per code-value bin of the middle exposure


def hat_weight(codes: Tensor) -> Tensor:
    """Debevec & Malik 1997 eq. 4 weight: z for z <= 127, 255 - z above (float64)."""
    z = codes.to(torch.float64)
    return torch.where(z <= (CODES - 1) / 2, z, (CODES - 1) - z)


def solve_response(codes: Tensor, log_exposures: Tensor, smoothness: float) -> Tensor:
    """gsolve: codes (N, P) integer 0..255 of N pixels in P exposures, ln Δt (P,) -> g (256,).

    Unknowns are g(0..255) and ln E_i of every pixel; the system is solved in float64.
    """
    n, p = codes.shape
    z = codes.to(torch.long)
    w = hat_weight(z)
    rows = n * p + 1 + (CODES - 2)
    a = torch.zeros(rows, CODES + n, dtype=torch.float64)
    b = torch.zeros(rows, dtype=torch.float64)
    pixel = torch.arange(n).repeat_interleave(p)
    data_rows = torch.arange(n * p)
    flat_w = w.reshape(-1)
    a[data_rows, z.reshape(-1)] = flat_w
    a[data_rows, CODES + pixel] = -flat_w
    b[: n * p] = flat_w * log_exposures.to(torch.float64).repeat(n)
    a[n * p, _MID_CODE] = 1.0
    inner = torch.arange(1, CODES - 1)
    smooth_rows = n * p + 1 + torch.arange(CODES - 2)
    lam_w = smoothness * hat_weight(inner)
    a[smooth_rows, inner - 1] = lam_w
    a[smooth_rows, inner] = -2.0 * lam_w
    a[smooth_rows, inner + 1] = lam_w
    solution = torch.linalg.lstsq(a, b.unsqueeze(1), driver="gelsd").solution.squeeze(1)
    return solution[:CODES]


def estimate_crf(
    signals: list[Tensor], log_exposures: list[float], smoothness: float = 50.0, valid: Tensor | None = None
) -> Tensor:
    """Inverse camera response from aligned frames of one scene at different exposures.

    signals: code values in [0, 1], (C, H, W) each, same scene and pixel grid; log_exposures:
    ln Δt of each (natural log, as in the paper); valid: optional (1, H, W) bool of the pixels
    that may be sampled (well aligned in every frame). Returns (256,) float32: the relative
    linear light of each 8-bit code value, exp(g(z) - g(255)), made monotone, 1.0 at code 255.
    """
    if len(signals) < 2 or len(signals) != len(log_exposures):
        raise FormatError(f"estimate_crf needs two or more exposures with one ln Δt each, got "
                          f"{len(signals)} frames and {len(log_exposures)} exposures")
    codes = torch.stack([(s.detach().cpu().double().clamp(0, 1) * (CODES - 1)).round().long().flatten()
                         for s in signals], dim=1)
    if valid is not None:
        codes = codes[valid.detach().cpu().expand_as(signals[0]).flatten()]
    if codes.shape[0] == 0:
        raise FormatError("estimate_crf: no valid pixels to sample")
    g = solve_response(_sample_pixels(codes, len(signals) // 2), torch.tensor(log_exposures), smoothness)
    response = torch.exp(g - g[-1])
    return torch.cummax(response, dim=0).values.to(torch.float32)


def linearise(signal: Tensor, response: Tensor) -> Tensor:
    """Code values in [0, 1] -> relative linear light through a response sampled at evenly spaced
    signal values ((256,) per 8-bit code here, (1024,) for an EMoR curve), linear between samples."""
    table = response.to(device=signal.device, dtype=signal.dtype)
    last = table.numel() - 1
    # In place where autograd allows: at 1080p each new frame-sized tensor costs more in page
    # faults than the arithmetic that fills it (0.15 -> 0.07 s per frame on one CPU thread).
    # The same sums as a (1 - f) + b f, so a code on a sample (the clip's 1.0) reads it exactly.
    position = signal.clamp(0.0, 1.0).mul_(last)
    lower = position.floor().clamp_(max=last - 1)
    index = lower.long()
    frac = position.sub_(lower)
    below = torch.take(table, index).mul_(1.0 - frac)
    return below.add_(torch.take(table, index.add_(1)).mul_(frac))


def _sample_pixels(codes: Tensor, middle: int) -> Tensor:
    """Rows of `codes` (N, P) that spread the middle exposure's code values evenly.

    Debevec & Malik pick pixels by hand "with a reasonably even distribution of Z values"; a
    few pixels per code bin of the middle exposure does that automatically.
    """
    generator = torch.Generator().manual_seed(0)
    picked: list[Tensor] = []
    bins = codes[:, middle] // 8
    for value in bins.unique():
        members = torch.nonzero(bins == value).squeeze(1)
        order = torch.randperm(members.numel(), generator=generator)[:_SAMPLES_PER_BIN]
        picked.append(members[order])
    return codes[torch.cat(picked)]

