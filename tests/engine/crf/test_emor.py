"""The EMoR model built from the documented curves, and the classical fits in its space."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.color import transfer as tf
from engine.crf.curves import ResponseCurve, held_out_curves, signal_grid, training_curves
from engine.crf.data import record_curve
from engine.crf.emor import LOG_FLOOR, EmorBasis, build_basis, log_rms_error
from engine.crf.fit import edge_triples, fit_exposures, fit_exposures_jointly, fit_single_frame
from engine.crf.net import load_crf_net
from tests.engine.crf.scenes import mosaic_scene, textured_scene

Curves = tuple[list[ResponseCurve], list[ResponseCurve]]


@pytest.fixture(scope="module")
def curves() -> Curves:
    return training_curves(), held_out_curves()


@pytest.fixture(scope="module")
def basis() -> EmorBasis:
    return load_crf_net()[1]


def test_components_are_orthonormal_and_zero_at_both_ends(basis: EmorBasis) -> None:
    h = basis.components
    assert torch.allclose(h @ h.T, torch.eye(basis.size, dtype=h.dtype), atol=1e-5)
    assert h[:, 0].abs().max() < 1e-6 and h[:, -1].abs().max() < 1e-6


def test_mean_curve_runs_from_the_floor_to_one_and_rises(basis: EmorBasis) -> None:
    assert float(basis.mean[0]) == pytest.approx(math.log(LOG_FLOOR), abs=1e-5)
    assert float(basis.mean[-1]) == pytest.approx(0.0, abs=1e-6)
    assert bool((basis.mean.diff() >= -1e-6).all())
    g = basis.curve(basis.coef_mean)
    assert (float(g[0]), float(g[-1])) == (0.0, 1.0) and bool((g.diff() >= 0).all())


def test_shipped_basis_is_the_pca_of_the_training_curves(basis: EmorBasis, curves: Curves) -> None:
    built = build_basis(curves[0], basis.size)
    assert torch.allclose(built.mean, basis.mean, atol=1e-4)
    assert torch.allclose(built.components, basis.components, atol=1e-4)
    assert torch.allclose(built.coef_std, basis.coef_std, rtol=1e-4)


def test_curves_are_monotone_with_fixed_ends_and_held_out_ones_are_unseen(curves: Curves) -> None:
    train, held = curves
    for curve in train + held:
        assert (curve.inverse[0], curve.inverse[-1]) == (0.0, 1.0), curve.name
        assert (np.diff(curve.inverse) >= 0).all(), curve.name
    assert not {c.name for c in train} & {c.name for c in held}
    for curve in held:  # nor a near copy: more than 0.1 RMS in ln exposure from every training curve
        truth = torch.from_numpy(curve.inverse)
        assert min(float(log_rms_error(torch.from_numpy(c.inverse), truth)) for c in train) > 0.1, curve.name


def test_documented_curves_match_their_standards(curves: Curves) -> None:
    import colour

    by_name = {c.name: c for c in curves[0]}
    v = torch.from_numpy(signal_grid())
    assert np.abs(by_name["srgb"].inverse - tf.srgb_eotf(v).numpy()).max() < 1e-5
    assert np.abs(by_name["gamma 2.20"].inverse - (v**2.2).numpy()).max() < 1e-5
    # S-Log3 against colour-science's decoding, normalised the same way (six stops over grey).
    top = 0.18 * 2**6
    lo, hi = colour.LOG_ENCODINGS["S-Log3"](0.0), colour.LOG_ENCODINGS["S-Log3"](top)
    expected = colour.LOG_DECODINGS["S-Log3"](lo + v.numpy() * (hi - lo)) / top
    assert np.abs(by_name["log S-Log3"].inverse - expected).max() < 1e-4


def test_projection_keeps_held_out_curves_within_0_1_in_ln(basis: EmorBasis, curves: Curves) -> None:
    for curve in curves[1]:
        truth = torch.from_numpy(curve.inverse)
        assert float(log_rms_error(basis.curve(basis.project(truth)), truth)) < 0.1, curve.name


@pytest.mark.parametrize(("name", "limit"), [("gamma 2.40", 0.15), ("filmic hable w=4", 0.06),
                                             ("log N-Log", 0.1)])
def test_exposure_bracket_fit_recovers_a_held_out_response(basis: EmorBasis, curves: Curves, name: str,
                                                           limit: float) -> None:
    curve = next(c for c in curves[1] if c.name == name)
    scene = textured_scene()
    k = 1.5 / float(scene.max())
    generator = torch.Generator().manual_seed(0)
    normal = record_curve(scene * k, curve, None, generator)
    dark = record_curve(scene * k / 4.0, curve, None, generator)
    fitted = basis.curve(fit_exposures([dark, normal], [0.0, math.log(4.0)], basis))
    truth = torch.from_numpy(curve.inverse)
    assert float(log_rms_error(fitted, truth)) < limit
    # A third of the error of the model's mean curve (the single-image prior), at most.
    assert float(log_rms_error(fitted, truth)) < float(log_rms_error(basis.curve(basis.coef_mean), truth)) / 3


def test_joint_fit_finds_the_ratio_and_the_curve_from_a_prior_at_the_truth(basis: EmorBasis,
                                                                             curves: Curves) -> None:
    """Mitsunaga–Nayar's joint fit: with the prior centred on the response's own EMoR projection
    (where the exponent ambiguity is resolved rightly), the two-stop ratio comes back within a
    tenth of a stop and the curve within the projection's own error plus 0.05."""
    curve = next(c for c in curves[1] if c.name == "filmic hable w=4")
    scene = textured_scene()
    k = 1.5 / float(scene.max())
    generator = torch.Generator().manual_seed(0)
    frames = [record_curve(scene * k * m, curve, None, generator) for m in (0.25, 1.0)]
    truth = torch.from_numpy(curve.inverse)
    projection = basis.project(truth)
    coefficients, log_exposures = fit_exposures_jointly(frames, basis, centre=projection)
    assert log_exposures[0] == 0.0
    assert log_exposures[1] / math.log(2.0) == pytest.approx(2.0, abs=0.1)
    error = float(log_rms_error(basis.curve(coefficients), truth))
    assert error < float(log_rms_error(basis.curve(projection), truth)) + 0.05


def test_edge_fit_moves_from_the_prior_towards_the_true_response(basis: EmorBasis, curves: Curves) -> None:
    """On a mosaic whose tile boundaries mix light linearly, the edge cue (from the model's mean)
    more than halves the mean curve's error over two held-out responses."""
    fitted, prior = [], []
    for name in ("sigmoid n=1.15 s=0.90", "filmic hable w=11.2"):
        curve = next(c for c in curves[1] if c.name == name)
        signal = record_curve(mosaic_scene(), curve, None, torch.Generator().manual_seed(0))
        assert edge_triples(signal).shape[0] > 1000
        truth = torch.from_numpy(curve.inverse)
        fitted.append(float(log_rms_error(basis.curve(fit_single_frame(signal, basis)), truth)))
        prior.append(float(log_rms_error(basis.curve(basis.coef_mean), truth)))
    assert sum(fitted) < 0.6 * sum(prior)
