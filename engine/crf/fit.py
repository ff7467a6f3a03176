"""Classical per-shot fits of the EMoR coefficients (engine.crf.emor).

- From frames of one scene at different exposures: Debevec & Malik's gsolve
  (engine.temporal.crf.estimate_crf) gives ln g at each 8-bit code up to an offset; the fit
  projects it into the EMoR space by weighted least squares over the coefficients and that
  offset, with the hat weight of gsolve, so that the result is a smooth monotone curve of the
  model (the constrained fit Mitsunaga & Nayar, CVPR 1999, make with a polynomial).
- From one frame: the edge cue of Lin, Gu, Yamazaki & Shum, "Radiometric calibration from a
  single image", CVPR 2004. A pixel on an edge between two uniform regions records a mixture of
  their irradiances, so in linear space its colour lies on the segment between theirs; a
  non-linear response bends it off. The fit minimises the distance of g(I_p) from the line
  through g(I_1) and g(I_2) over edge triples of distinct colours, plus the Gaussian prior on
  the coefficients (Lin et al. §5, with the prior taken from the model's training curves).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from engine.crf.emor import EmorBasis
from engine.temporal.crf import CODES, estimate_crf, hat_weight, linearise

PRIOR_WEIGHT = 1e-3  # weight of the Gaussian prior, per coefficient, against the data term
EDGE_TRIPLES = 6000  # at most this many edge triples enter the single-frame fit
# The edge term is divided by its value where the fit starts, so this weighs the prior against
# the relative improvement of collinearity.
EDGE_PRIOR_WEIGHT = 0.1
# Weight of the EMoR prior in the joint curve-and-ratio fit (fit_exposures_jointly), per
# coefficient against the mean data row; chosen on the TUNING stills with training curves left
# out of the basis (bench/tune_crf.py: RMS ln g 0.544 at 1e-3, 0.66 at 1e-4, below that
# the fit slides to a flat curve). The ratio measured on the prior's curve did better there
# (0.511), so the product keeps that fit; bench/crf.py prints both.
JOINT_PRIOR_WEIGHT = 1e-3
_JOINT_MIN_HAT = 8.0  # both codes this far from black (noise, quantisation) and white (clipping)
_JOINT_SAMPLES = 40000  # pixel-channel pairs per frame pair
_JOINT_ROUNDS = 4  # slope re-weighting rounds of the joint fit
_JOINT_MIN_SLOPE = 0.5  # d ln g / d signal floor: a flat stretch of a curve does not take all the weight
_EDGE_FLAT = 8.0 / 255.0  # a region beside an edge is uniform when its step is below this
_EDGE_STEP = 0.08  # the two sides of an edge differ by at least this much in some channel
_EDGE_CHROMA = 0.04  # ... and in chromaticity, so that the segment does not pass through black
_EDGE_RANGE = (0.03, 0.97)  # no side clipped or in the noise floor
_EDGE_ITERATIONS = 60


def basis_at(basis: EmorBasis, signal: Tensor) -> tuple[Tensor, Tensor]:
    """The model sampled at signal values: mean ln g0 (...,) and components (..., K)."""
    v = signal.double()
    mean = linearise(v, basis.mean)
    parts = torch.stack([linearise(v, h) for h in basis.components], dim=-1)
    return mean, parts


def fit_exposures(signals: Sequence[Tensor], log_exposures: Sequence[float], basis: EmorBasis,
                  valid: Tensor | None = None) -> Tensor:
    """EMoR coefficients (K,) from aligned frames of one scene at different exposures (ln Δt each)."""
    return fit_response_table(estimate_crf(list(signals), list(log_exposures), valid=valid), basis)


def fit_response_table(response: Tensor, basis: EmorBasis) -> Tensor:
    """EMoR coefficients (K,) of a (256,) Debevec–Malik response (relative light per 8-bit code)."""
    response = response.double()
    codes = torch.arange(CODES, dtype=torch.float64)
    usable = response > 1e-6
    weight = hat_weight(codes)[usable].sqrt()
    mean, parts = basis_at(basis, codes[usable] / (CODES - 1))
    # ln g_model(z) = ln r(z) + s: unknowns (c, s), with prior rows that hold c near its mean.
    design = torch.cat([parts, -torch.ones(parts.shape[0], 1, dtype=torch.float64)], dim=1) * weight[:, None]
    target = (response[usable].log() - mean) * weight
    prior = torch.sqrt(torch.tensor(PRIOR_WEIGHT * float(weight.square().sum())))
    offset_column = torch.zeros(basis.size, 1, dtype=torch.float64)
    prior_rows = torch.cat([torch.diag(prior / basis.coef_std), offset_column], 1)
    a = torch.cat([design, prior_rows])
    b = torch.cat([target, prior * basis.coef_mean / basis.coef_std])
    return torch.linalg.lstsq(a, b.unsqueeze(1), driver="gelsd").solution[: basis.size, 0]


def fit_exposures_jointly(signals: Sequence[Tensor], basis: EmorBasis, valid: Tensor | None = None,
                          centre: Tensor | None = None,
                          prior_weight: float = JOINT_PRIOR_WEIGHT) -> tuple[Tensor, list[float]]:
    """EMoR coefficients (K,) and ln exposure of each frame relative to the first, fitted together.

    Mitsunaga & Nayar, "Radiometric self calibration", CVPR 1999, fit the response and the
    exposure ratios of aligned frames together (they with a polynomial, here the EMoR model),
    refining both in turn: a pixel seen at codes z_i and z_j obeys ln g(z_j) - ln g(z_i) =
    ln k_j - ln k_i, linear in the coefficients and ln k, so each round is one weighted least-
    squares solve. Any g^γ with ratios k^γ fits the data as well (Grossberg & Nayar, "Determining
    the camera response from images: what is knowable?", PAMI 2003: the exponent ambiguity that biases a
    ratio measured on a wrong linearisation). Measured in ln g the residuals shrink with γ, so a
    plain fit slides towards a flat curve; each round weighs a residual by the inverse square of
    the previous round's slope, which measures it in code values, where every g^γ fits alike.
    That weakens the pull without removing it (the weights are fixed within a solve), so the
    Gaussian prior on the coefficients, centred on `centre` (the training curves' mean by
    default), with the EMoR span (a power of a curve leaves it), has to choose among
    them. valid: (1, H, W) pixels aligned in every frame.
    """
    if len(signals) < 2:
        raise ValueError("a joint exposure fit needs two or more frames")
    centre = basis.coef_mean if centre is None else centre.double()
    values = torch.stack([s.detach().double().cpu().clamp(0, 1).flatten() for s in signals])  # (P, N)
    if valid is not None:
        values = values[:, valid.detach().cpu().expand_as(signals[0]).flatten()]
    pairs = []
    frames = len(signals)
    for i in range(frames - 1):
        a, b = values[i], values[i + 1]
        hat_a, hat_b = hat_weight(a * (CODES - 1)), hat_weight(b * (CODES - 1))
        keep = (hat_a >= _JOINT_MIN_HAT) & (hat_b >= _JOINT_MIN_HAT)
        a, b, weight = a[keep], b[keep], (hat_a * hat_b)[keep]
        if a.numel() > _JOINT_SAMPLES:
            pick = torch.randperm(a.numel(), generator=torch.Generator().manual_seed(i))[:_JOINT_SAMPLES]
            a, b, weight = a[pick], b[pick], weight[pick]
        ratio_columns = torch.zeros(a.numel(), frames - 1, dtype=torch.float64)
        ratio_columns[:, i] = -1.0  # ln k_{i+1} - ln k_i, with ln k_0 = 0
        if i > 0:
            ratio_columns[:, i - 1] = 1.0
        (mean_a, parts_a), (mean_b, parts_b) = basis_at(basis, a), basis_at(basis, b)
        pairs.append((a, b, weight, torch.cat([parts_b - parts_a, ratio_columns], 1), mean_a - mean_b))
    design = torch.cat([p[3] for p in pairs])
    target = torch.cat([p[4] for p in pairs])
    hats = torch.cat([p[2] for p in pairs])
    prior = torch.sqrt(torch.tensor(prior_weight * float(hats.sum())))
    prior_rows = torch.cat([torch.diag(prior / basis.coef_std),
                            torch.zeros(basis.size, frames - 1, dtype=torch.float64)], 1)
    prior_target = prior * centre / basis.coef_std
    coefficients = centre
    solution = torch.cat([centre, torch.zeros(frames - 1, dtype=torch.float64)])
    for _ in range(_JOINT_ROUNDS):
        slope = torch.gradient(basis.log_curve(coefficients), spacing=1.0 / (basis.mean.numel() - 1))[0]
        slope = slope.clamp_min(_JOINT_MIN_SLOPE)
        variance = torch.cat([linearise(a, slope).square() + linearise(b, slope).square()
                              for a, b, *_ in pairs])
        w = (hats / variance).sqrt()
        solution = torch.linalg.lstsq(torch.cat([design * w[:, None], prior_rows]),
                                      torch.cat([target * w, prior_target]).unsqueeze(1),
                                      driver="gelsd").solution[:, 0]
        coefficients = solution[: basis.size]
    return coefficients, [0.0, *solution[basis.size :].tolist()]


def edge_triples(signal: Tensor, limit: int = EDGE_TRIPLES) -> Tensor:
    """(N, 3, 3) triples (side 1, edge pixel, side 2) of RGB code values found along rows and columns.

    An edge pixel p has uniform sides two pixels away on either side (the step into the next
    pixel out below _EDGE_FLAT), lies between them in every channel, and the sides differ in
    level and in chromaticity; none is clipped or near black.
    """
    v = signal.detach().double().cpu()
    found = []
    for image in (v, v.transpose(1, 2)):
        outer1, side1, mid, side2, outer2 = (image[:, :, i : image.shape[2] - 6 + i] for i in (0, 1, 3, 5, 6))
        flat = ((side1 - outer1).abs().amax(0) < _EDGE_FLAT) & ((side2 - outer2).abs().amax(0) < _EDGE_FLAT)
        between = ((mid - side1) * (side2 - mid) >= 0).all(0)
        step = (side2 - side1).abs().amax(0) > _EDGE_STEP
        lo, hi = _EDGE_RANGE
        inside = torch.stack([side1, mid, side2]).gt(lo).all(0).all(0) & torch.stack(
            [side1, mid, side2]).lt(hi).all(0).all(0)
        chroma1 = side1 / side1.sum(0, keepdim=True)
        chroma2 = side2 / side2.sum(0, keepdim=True)
        distinct = (chroma1 - chroma2).abs().amax(0) > _EDGE_CHROMA
        keep = flat & between & step & inside & distinct
        found.append(torch.stack([side1[:, keep], mid[:, keep], side2[:, keep]]).permute(2, 0, 1))
    triples = torch.cat(found)
    if triples.shape[0] > limit:
        pick = torch.randperm(triples.shape[0], generator=torch.Generator().manual_seed(0))[:limit]
        triples = triples[pick]
    return triples


def fit_edge_triples(triples: Tensor, basis: EmorBasis, prior_mean: Tensor | None = None) -> Tensor:
    """EMoR coefficients (K,) minimising the edge triples' distance from collinearity (Lin et al. 2004).

    prior_mean: where the fit starts and the Gaussian prior is centred (another estimate, e.g.
    the learned one); the training curves' mean by default. With no triple it comes back.
    """
    centre = basis.coef_mean if prior_mean is None else prior_mean.double()
    coefficients = centre.clone().requires_grad_(True)
    if triples.shape[0] == 0:
        return coefficients.detach()
    mean, parts = basis_at(basis, triples)  # (N, 3, 3), (N, 3, 3, K)

    def distances() -> Tensor:
        """Lin et al. 2004 eq. 5: |(g(M1) - g(M2)) x (g(Ip) - g(M2))| / |g(M1) - g(M2)|, squared, mean."""
        g = (mean + parts @ coefficients).exp()
        a, p, b = g[:, 0], g[:, 1], g[:, 2]
        ab = b - a
        cross = torch.linalg.cross(p - a, ab, dim=-1)
        return (cross.norm(dim=-1) / ab.norm(dim=-1).clamp_min(1e-12)).square().mean()

    with torch.no_grad():
        start = float(distances()) or 1.0

    def objective() -> Tensor:
        prior = (((coefficients - centre) / basis.coef_std) ** 2).sum()
        return distances() / start + EDGE_PRIOR_WEIGHT * prior

    optimiser = torch.optim.LBFGS([coefficients], max_iter=_EDGE_ITERATIONS, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimiser.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    optimiser.step(closure)
    return coefficients.detach()


def fit_single_frame(signal: Tensor, basis: EmorBasis, prior_mean: Tensor | None = None) -> Tensor:
    """EMoR coefficients (K,) of a (3, H, W) frame of code values in [0, 1], from its edges."""
    return fit_edge_triples(edge_triples(signal), basis, prior_mean)
