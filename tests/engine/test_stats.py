"""Frame statistics against numpy and scipy, and the stabiliser on cuts, flicker and fades."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import gmean

from engine.stats import FrameStats, StabiliserParams, StatsStabiliser, filter_weight, measure


def _lum(values: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(values.astype(np.float32)).view(1, 1, -1)


def test_measure_matches_numpy_and_scipy() -> None:
    rng = np.random.default_rng(7)
    values = np.exp(rng.normal(-2.0, 1.5, 5000)).clip(0, 1).astype(np.float32)
    values[:300] = 0.0  # black pixels: left out of the average and the minimum
    values[300:400] = 1.0  # clipped pixels
    s = measure(_lum(values))
    lit = values[values > 1e-4]
    assert s.log_average == pytest.approx(gmean(lit.astype(np.float64)), rel=1e-5)
    assert s.peak == pytest.approx(np.percentile(lit, 99.9, method="inverted_cdf"))
    assert s.minimum == pytest.approx(np.percentile(lit, 1.0, method="inverted_cdf"))
    assert s.maximum == 1.0
    assert s.clipped_fraction == pytest.approx(np.mean(values >= 0.95))


def test_measure_ignores_non_finite_values_and_handles_black() -> None:
    values = np.array([0.1, 0.1, np.nan, np.inf, 0.4], dtype=np.float32)
    s = measure(_lum(values))
    assert s.log_average == pytest.approx(0.004 ** (1 / 3)) and s.maximum == pytest.approx(0.4)
    black = measure(torch.zeros(1, 4, 4))
    assert all(math.isfinite(v) and v > 0 for v in (black.log_average, black.peak, black.minimum))
    assert black.clipped_fraction == 0.0
    with pytest.raises(ValueError, match=r"\(1, H, W\)"):
        measure(torch.zeros(3, 4, 4))


def _stats(avg: float) -> FrameStats:
    return FrameStats(log_average=avg, peak=4 * avg, maximum=5 * avg, minimum=avg / 50)


def _run(averages: list[float], params: StabiliserParams | None = None) -> np.ndarray:
    stab = StatsStabiliser(params)
    return np.log2([stab.update(_stats(a)).log_average for a in averages])


def test_first_frame_passes_through_and_reset_forgets() -> None:
    stab = StatsStabiliser()
    assert stab.update(_stats(0.2)) == _stats(0.2)
    stab.update(_stats(0.21))
    stab.reset()
    assert stab.update(_stats(0.05)).log_average == pytest.approx(0.05)


def test_follows_a_hard_cut_within_a_few_frames() -> None:
    out = _run([0.02] * 30 + [0.4] * 30)  # a cut of 4.3 stops
    assert abs(out[30] - math.log2(0.4)) < 0.05
    assert np.all(np.abs(out[32:] - math.log2(0.4)) < 0.01)


def test_stays_flat_through_flicker() -> None:
    rng = np.random.default_rng(1)
    # +-0.1 stop of frame-to-frame flicker around 0.2
    averages = (0.2 * 2.0 ** rng.uniform(-0.1, 0.1, 200)).tolist()
    out = _run(averages)
    settled = out[40:]
    assert np.ptp(np.log2(averages[40:])) > 0.19
    assert np.max(np.abs(settled - math.log2(0.2))) < 0.04
    assert np.max(np.abs(np.diff(settled))) < 0.02


def test_tracks_a_fade_smoothly() -> None:
    # A 4-stop fade to dark over 80 frames, then hold.
    fade = [0.3 * 2.0 ** (-4.0 * i / 80) for i in range(81)] + [0.3 / 16] * 100
    out = _run([0.3] * 20 + fade)
    steps = np.diff(out[20:])
    assert np.all(steps <= 1e-9)  # monotonic, no overshoot or jump back
    assert np.max(np.abs(steps)) < 2.0 * 4.0 / 80  # never faster than twice the fade itself
    assert abs(out[-1] - math.log2(0.3 / 16)) < 0.02  # it arrives


def test_without_cut_detection_a_cut_is_filtered_slowly() -> None:
    slow = _run([0.02] * 5 + [0.4] * 5, StabiliserParams(scene_threshold_low=50, scene_threshold_high=60))
    # Pure IIR: one frame moves 1 - exp(-1/20) of the way.
    step = (math.log2(0.4) - math.log2(0.02)) * (1 - math.exp(-1 / 20))
    assert slow[5] - slow[4] == pytest.approx(step, rel=1e-9)


def test_reports_its_cut_weight_for_filters_that_follow_it() -> None:
    stab = StatsStabiliser()
    assert measure(_lum(np.full(8, 0.2))).cut == 1.0  # a frame measured alone starts a shot
    assert stab.update(_stats(0.2)).cut == 1.0
    assert stab.update(_stats(0.2 * 2.0**0.2)).cut == 0.0  # under the low threshold: same shot
    # One stop from the filtered state: the smoothstep of (1 - 0.5) / (1.5 - 0.5) = 0.5 is 0.5.
    state = stab.update(_stats(0.2)).log_average
    assert stab.update(_stats(state * 2.0)).cut == pytest.approx(0.5)
    assert stab.update(_stats(state * 2.0**4)).cut == 1.0
    stab.reset()
    assert stab.update(_stats(0.2)).cut == 1.0
    assert filter_weight(20.0, 0.0) == pytest.approx(1.0 - math.exp(-1.0 / 20.0))
    assert filter_weight(20.0, 1.0) == 1.0 and filter_weight(0.0, 0.0) == 1.0


def test_bad_thresholds_are_rejected() -> None:
    with pytest.raises(ValueError):
        StatsStabiliser(StabiliserParams(scene_threshold_low=2.0, scene_threshold_high=1.0))
