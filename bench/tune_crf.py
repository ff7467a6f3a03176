"""Constants of the camera response estimators, chosen on TUNING material only.

    nice -n 5 .venv/bin/python -m bench.tune_crf --data DIR [--width 240] [--section all|noise]

Clips as bench/crf.py makes them (a frame and the same view two stops darker), but of the
TUNING stills (engine.models.data.training_stills) through the training curves, every third of
which is left out of an EMoR basis built from the others and is the one recorded: the fit meets
curves its basis has not seen, as on the held-out bench. Prints the RMS ln g of each fit: the
known ratio, the ratio measured on the basis' mean curve (then the fit with it), that
alternated (ratio <- measure on the current curve; curve <- fit with the ratio), and the joint
fit (engine.crf.fit.fit_exposures_jointly) at several prior weights.

Then the learned estimator's crop grid (engine.crf.net.GRID): the same stills, 480 pixels wide,
through every third training curve (the network has seen these stills and curves, so the
figures are optimistic), its estimate from the mean and the median over n x n crops of both
frames. Here 5 x 5 and 7 x 7 crops beat the shipped 3 x 3 (RMS ln g 0.305 and 0.288 against
0.336), but on bench/crf.py's held-out clips 7 x 7 did not (learned 0.495 against 0.494, the
measured-ratio bracket 0.361 against 0.333): on stills the network has seen, more crops
average its fit, not its generalisation. engine.crf.net.GRID stays 3.

--section noise prints only the exposure ratio from sensor noise (engine.temporal.noise_ratio), on the
same clips: the ratio measured on the shipped network's estimate (which has seen these stills
and curves: optimistic) and on the basis' mean curve (a prior alone: pessimistic, about as far
from the truth as the network on held-out clips), the noise ratio, and each measured ratio
combined with the noise ratio at several MEASURED_SIGMA_EV: each row the RMS ln g of the fit
with that ratio and the mean error of the ratio in stops.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

import torch

from bench.crf import BRACKET_STOPS, clip_frames
from engine.crf.curves import ResponseCurve, training_curves
from engine.crf.data import view
from engine.crf.emor import EmorBasis, build_basis, log_rms_error
from engine.crf.fit import fit_exposures, fit_exposures_jointly
from engine.crf.net import features, frame_crops, load_crf_net, predict
from engine.models.data import load_stills, training_stills
from engine.temporal.crf import linearise
from engine.temporal.exposure import relative_exposure
from engine.temporal.noise_ratio import combined_log_ratio, noise_log_ratio

PRIOR_WEIGHTS = (1e-7, 1e-6, 1e-5, 1e-4, 1e-3)
ALTERNATIONS = 4
GRIDS = (1, 3, 5, 7)
GRID_WIDTH = 480
MEASURED_SIGMAS = (0.05, 0.1, 0.2, 0.4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--width", type=int, default=240)
    parser.add_argument("--section", choices=("all", "noise"), default="all")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    paths = training_stills(args.data)
    if not paths:
        print(f"{args.data}: no training stills", file=sys.stderr)
        return 2
    curves = training_curves()
    left_out = curves[::3]
    basis = build_basis([c for c in curves if c not in left_out])
    if args.section == "noise":
        print_noise_ratios(load_stills(paths), left_out, basis, args.width)
        return 0
    errors: dict[str, list[float]] = {}

    def note(name: str, coefficients: torch.Tensor, truth: torch.Tensor) -> None:
        errors.setdefault(name, []).append(float(log_rms_error(basis.curve(coefficients), truth)))

    stills = load_stills(paths)
    for s, still in enumerate(stills):
        scene = view(still, args.width)
        for c, curve in enumerate(left_out):
            normal, dark, _ = clip_frames(scene, curve, 0.03, seed=1000 + 100 * s + c)
            truth = torch.from_numpy(curve.inverse)
            frames = [dark, normal]
            note("known ratio", fit_exposures(frames, [0.0, BRACKET_STOPS * math.log(2.0)], basis), truth)
            coefficients = basis.coef_mean
            for step in range(ALTERNATIONS + 1):
                g = basis.curve(coefficients).float()
                ev = relative_exposure(linearise(dark, g), linearise(normal, g), dark, normal)
                coefficients = fit_exposures(frames, [0.0, (ev or 0.0) * math.log(2.0)], basis)
                if step in (0, ALTERNATIONS):
                    note("measured" if step == 0 else f"alternated x{ALTERNATIONS}", coefficients, truth)
            for weight in PRIOR_WEIGHTS:
                note(f"joint, prior {weight:g}", fit_exposures_jointly(frames, basis, prior_weight=weight)[0],
                     truth)
    clips = len(errors["known ratio"])
    print(f"{clips} tuning clips ({len(paths)} stills x {len(left_out)} left-out curves)")
    for name, values in errors.items():
        print(f"{name:<24} RMS ln g {statistics.fmean(values):.3f}")
    print_grids(stills, curves[::3])
    return 0


def _measured_log_ratio(dark: torch.Tensor, normal: torch.Tensor, inverse: torch.Tensor) -> float:
    """ln k of the pair linearised by `inverse`, as the temporal analysis measures it (0 if unmeasured)."""
    ev = relative_exposure(linearise(dark, inverse), linearise(normal, inverse), dark, normal)
    return (ev or 0.0) * math.log(2.0)


def print_noise_ratios(stills: list[torch.Tensor], curves: list[ResponseCurve], basis: EmorBasis,
                       width: int) -> None:
    """RMS ln g of the bracket fit with each exposure ratio, and the ratio's mean error (EV)."""
    net, net_basis = load_crf_net()
    errors: dict[str, list[float]] = {}
    ratio_errors: dict[str, list[float]] = {}
    true_ratio = BRACKET_STOPS * math.log(2.0)
    for s, still in enumerate(stills):
        scene = view(still, width)
        for c, curve in enumerate(curves):
            normal, dark, _ = clip_frames(scene, curve, 0.03, seed=1000 + 100 * s + c)
            truth = torch.from_numpy(curve.inverse)
            frames = [dark, normal]
            learned = net_basis.curve(predict(net, net_basis, frames)).float()
            measured = {"learned": _measured_log_ratio(dark, normal, learned),
                        "mean curve": _measured_log_ratio(dark, normal, basis.curve(basis.coef_mean).float())}
            fitted = basis.curve(fit_exposures(frames, [0.0, measured["learned"]], basis))
            noise = noise_log_ratio(dark, normal, fitted)
            ratios = {"known ratio": true_ratio}
            for name, value in measured.items():
                ratios[f"measured on {name}"] = value
            if noise is not None:
                ratios["noise ratio"] = noise[0]
            for sigma in MEASURED_SIGMAS:
                for name, value in measured.items():
                    ratios[f"{name} + noise, {sigma:g} EV"] = combined_log_ratio(value, noise, sigma)
            for name, ratio in ratios.items():
                fit = basis.curve(fit_exposures(frames, [0.0, ratio], basis))
                errors.setdefault(name, []).append(float(log_rms_error(fit, truth)))
                ratio_errors.setdefault(name, []).append(abs(ratio - true_ratio) / math.log(2.0))
    print(f"{len(errors['known ratio'])} tuning clips at {width} px ({len(stills)} stills x {len(curves)} "
          f"left-out curves); noise ratio found on {len(errors.get('noise ratio', []))}")
    print(f"{'exposure ratio':<32} {'RMS ln g':>9} {'|ratio error| EV':>17}")
    for name, values in errors.items():
        print(f"{name:<32} {statistics.fmean(values):>9.3f} {statistics.fmean(ratio_errors[name]):>17.3f}")


def print_grids(stills: list[torch.Tensor], curves: list[ResponseCurve]) -> None:
    """RMS ln g of the shipped network's estimate from n x n crops of each frame, per GRIDS entry."""
    net, basis = load_crf_net()
    errors: dict[str, list[float]] = {}
    for s, still in enumerate(stills):
        scene = view(still, GRID_WIDTH)
        for c, curve in enumerate(curves):
            normal, dark, _ = clip_frames(scene, curve, 0.03, seed=5000 + 100 * s + c)
            truth = torch.from_numpy(curve.inverse)
            for grid in GRIDS:
                with torch.no_grad():
                    z = net(features(torch.cat([frame_crops(f, grid) for f in (normal, dark)]))).double()
                for name, centre in (("mean", z.mean(0)), ("median", z.median(0).values)):
                    curve_estimate = basis.curve(basis.coef_mean + basis.coef_std * centre)
                    errors.setdefault(f"{grid} x {grid} crops, {name}", []).append(
                        float(log_rms_error(curve_estimate, truth)))
    for name, values in errors.items():
        print(f"learned, {name:<20} RMS ln g {statistics.fmean(values):.3f}")


if __name__ == "__main__":
    sys.exit(main())
