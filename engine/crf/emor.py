"""The empirical model of response (EMoR) of Grossberg & Nayar, PAMI 26(10), 2004.

"Modeling the space of camera response functions", §4: a response is the mean curve of a
database of measured responses plus a weighted sum of the database's first principal
components, f = f0 + Σₖ cₖ hₖ. Here the database is the documented curve family of
engine.crf.curves (the DoRF measurements are not packaged by any registry the project uses),
and the model is built on log inverse responses ln g, g: signal -> exposure (the direction a
source transform needs, and the domain of Debevec & Malik's g): with linear g the components
spend their variance on the bright end and leave the darks, where errors in log radiance are
largest, to chance (on the held-out curves six linear components leave 0.04-0.54 RMS in ln
exposure, six log components 0.006-0.09). ln g is floored at ln LOG_FLOOR. Every training curve
has ln g(1) = 0 and ln g(0) = ln LOG_FLOOR, so the mean keeps those ends and each component is
0 at both. The coefficients' spread over the training curves is kept as the Gaussian prior
that the single-image fits use (Lin et al., CVPR 2004, §5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from engine.crf.curves import ResponseCurve
from engine.temporal.crf import linearise

COMPONENTS = 6
LOG_FLOOR = 1e-4  # exposure floor before taking logs: 13 stops below the clip
# Log-radiance errors are measured from this signal value up: below it 8-bit codes 0..7 hold
# mostly noise and the log of a response is dominated by its floor.
ERROR_FROM_CODE = 8
_FIELDS = ("mean", "components", "coef_mean", "coef_std")


@dataclass(frozen=True)
class EmorBasis:
    """Mean ln g0 (SAMPLES,), components (K, SAMPLES) orthonormal, coefficient mean and std (K,)."""

    mean: Tensor
    components: Tensor
    coef_mean: Tensor
    coef_std: Tensor

    @property
    def size(self) -> int:
        return int(self.components.shape[0])

    def log_curve(self, coefficients: Tensor) -> Tensor:
        """(..., K) coefficients -> (..., SAMPLES) log inverse responses ln g."""
        return self.mean.to(coefficients) + coefficients @ self.components.to(coefficients)

    def curve(self, coefficients: Tensor) -> Tensor:
        """(..., K) coefficients -> (..., SAMPLES) inverse responses g, monotone, g(0) = 0, g(1) = 1."""
        return monotone(self.log_curve(coefficients).exp())

    def project(self, inverse: Tensor) -> Tensor:
        """(..., SAMPLES) inverse responses -> their (..., K) coefficients (least squares in ln g)."""
        return (log_inverse(inverse.to(self.mean)) - self.mean) @ self.components.T

    def to_tensors(self, prefix: str = "emor.") -> dict[str, Tensor]:
        return {f"{prefix}{k}": getattr(self, k).float() for k in _FIELDS}

    @classmethod
    def from_tensors(cls, tensors: dict[str, Tensor], prefix: str = "emor.") -> EmorBasis:
        return cls(*(tensors[f"{prefix}{k}"].double() for k in _FIELDS))


def build_basis(curves: Sequence[ResponseCurve], components: int = COMPONENTS) -> EmorBasis:
    """PCA of the curves' log inverse responses (Grossberg & Nayar 2004 §4), in float64."""
    data = log_inverse(torch.from_numpy(np.stack([c.inverse for c in curves])))
    mean = data.mean(0)
    _, _, vh = torch.linalg.svd(data - mean, full_matrices=False)
    basis = vh[:components]
    # A component's sign is arbitrary; fix it so that its largest sample is positive.
    signs = torch.sign(basis.gather(1, basis.abs().argmax(1, keepdim=True)))
    basis = basis * signs
    coefficients = (data - mean) @ basis.T
    return EmorBasis(mean, basis, coefficients.mean(0), coefficients.std(0))


def log_inverse(inverse: Tensor) -> Tensor:
    return inverse.clamp_min(LOG_FLOOR).log()


def monotone(inverse: Tensor) -> Tensor:
    """An inverse response made usable: clamped to [0, 1], non-decreasing, g(0) = 0, g(1) = 1."""
    g = torch.cummax(inverse.clamp(0.0, 1.0), dim=-1).values
    g = g / g[..., -1:].clamp_min(1e-6)
    return torch.cat([torch.zeros_like(g[..., :1]), g[..., 1:]], dim=-1)


def log_rms_error(estimate: Tensor, truth: Tensor) -> Tensor:
    """RMS of ln g_est - ln g_true (natural log) of two inverse responses tabled over [0, 1],
    over the 8-bit codes from ERROR_FROM_CODE to 255."""
    codes = torch.arange(ERROR_FROM_CODE, 256, dtype=torch.float64) / 255.0
    est = linearise(codes.to(estimate.device), estimate.double()).clamp_min(LOG_FLOOR).log()
    true = linearise(codes.to(truth.device), truth.double()).clamp_min(LOG_FLOOR).log()
    return ((est - true) ** 2).mean(-1).sqrt()
