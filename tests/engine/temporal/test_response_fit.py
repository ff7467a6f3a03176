"""The temporal mode's own response fit (`temporal.response=estimated`, engine.temporal.analysis.
estimate_response) on a clip whose exposure steps two stops: Debevec–Malik on the darkest and
brightest frames, the step measured on a learned linearisation and refined by sensor noise."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import Tensor

from engine.crf.curves import ResponseCurve, held_out_curves
from engine.crf.data import record_curve
from engine.crf.emor import log_rms_error
from engine.crf.estimate import estimate_clip_response
from engine.crf.fit import fit_response_table
from engine.crf.net import load_crf_net
from engine.synth.degrade import SensorNoise
from engine.temporal.analysis import analyse_clip
from engine.temporal.crf import linearise
from engine.temporal.params import TemporalParams
from tests.engine.crf.scenes import textured_scene


class _BracketClip:
    """A static scene whose exposure steps up two stops halfway, recorded through a held-out response."""

    def __init__(self, curve: ResponseCurve, noise: SensorNoise | None = None,
                 size: tuple[int, int] = (120, 160), stops: float = 7.0) -> None:
        scene = textured_scene(*size, stops=stops, seed=3)
        k = (1.2 if noise is None else 1.0) / float(scene.max())
        generator = torch.Generator().manual_seed(0)
        self.frames = [record_curve(scene * k * (4.0 if i >= 4 else 1.0) / 4.0, curve, noise, generator)
                       for i in range(8)]
        # The estimate cache is keyed by path: one name per recording.
        name = f"bracket {curve.name}{' noisy' if noise is not None else ''}.mov"
        self.info = SimpleNamespace(path=Path(name), frame_count=len(self.frames))

    def frame(self, index: int) -> Tensor:
        return self.frames[index]


def fitted_inverse(clip: _BracketClip, inverse: Tensor) -> Tensor:
    """The analysis' response on frames linearised by `inverse`, in the EMoR space."""
    def decode(index: int) -> tuple[Tensor, Tensor]:
        signal = clip.frame(index).float().clamp(0.0, 1.0)
        return linearise(signal, inverse), signal

    analysis = analyse_clip(decode, clip.info.frame_count, TemporalParams(response="estimated"),
                            lambda _stage, _done: None)
    assert analysis.response is not None  # a two-stop step is above the fit's minimum spread
    _, basis = load_crf_net()
    return basis.curve(fit_response_table(analysis.response, basis))


def test_the_fit_lands_closer_to_the_true_response_than_the_learned_estimate() -> None:
    """The step is measured on the learned linearisation, so the fit inherits some of its error
    (the ratio and the curve's exponent trade off, Grossberg & Nayar 2003), but on a clean static
    bracket it lands closer to the true response than the learned estimate alone."""
    curve = next(c for c in held_out_curves() if c.name == "filmic hable w=4")
    clip = _BracketClip(curve)
    learned = estimate_clip_response(clip).inverse  # type: ignore[arg-type]
    truth = torch.from_numpy(curve.inverse)
    fitted = fitted_inverse(clip, learned)
    assert float(log_rms_error(fitted, truth)) < 0.8 * float(log_rms_error(learned, truth))


def test_the_fit_reads_the_exposure_ratio_from_sensor_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a linearisation whose exponent is wrong (the EMoR mean curve stands in for the network's
    estimate), the ratio refined by noise (engine.temporal.noise_ratio) lands the fit nearer the
    true response than the measured ratio alone."""
    curve = next(c for c in held_out_curves() if c.name == "gamma 2.40")
    truth = torch.from_numpy(curve.inverse)
    _, basis = load_crf_net()
    mean_curve = basis.curve(basis.coef_mean)
    clip = _BracketClip(curve, SensorNoise(), size=(240, 320), stops=5.0)
    with_noise = fitted_inverse(clip, mean_curve)
    monkeypatch.setattr("engine.temporal.analysis.noise_log_ratio", lambda *_args: None)
    without = fitted_inverse(clip, mean_curve)
    assert float(log_rms_error(with_noise, truth)) < 0.7 * float(log_rms_error(without, truth))
