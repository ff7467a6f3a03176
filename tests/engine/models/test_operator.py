"""The registered 'masked-cnn' ITM operator and the learned temporal refinement, end to end."""

from __future__ import annotations

import pytest
import torch

from engine.errors import FormatError
from engine.masks import overexposure_mask
from engine.models.inference import (
    TemporalRefiner,
    cached_network,
    highlight_radiance,
    predict_log_radiance,
    refine_temporal,
)
from engine.models.refine import REFINE_CHANNELS, SUPPORT_FRACTION, RefineNet
from engine.models.weights import HIGHLIGHT_MODEL, REFINE_MODEL
from engine.operators.base import SpatialOperator, StageContext
from engine.operators.catalogue import make_operator, operators
from tests.engine.models.conftest import sdr_frame


def _well_exposed(frame: torch.Tensor) -> torch.Tensor:
    return overexposure_mask(frame ** (1.0 / 2.2))[0] >= 1.0


def test_operator_through_the_registry() -> None:
    op = make_operator("itm", "masked-cnn", {"tile": "64", "overlap": "16"})
    assert isinstance(op, SpatialOperator)
    assert "masked-cnn" in [c.name for c in operators("itm")]
    assert "Santos" in op.describe()["reference"]
    frame = sdr_frame()
    ctx = StageContext(reference_white=203.0)
    out = op.apply(frame, ctx)
    keep = _well_exposed(frame)
    assert out.shape == frame.shape and out.dtype == torch.float32
    # Well-exposed pixels: exactly the SDR light at reference white (ITM convention).
    assert torch.equal(out[:, keep], frame[:, keep] * 203.0)
    clipped = frame.amax(0) >= 1.0
    assert float(out[:, clipped].min()) >= 203.0
    assert float(out[:, clipped].mean()) > 300.0
    # Tiling changes nothing beyond the blend of seams.
    whole = make_operator("itm", "masked-cnn", {"tile": 512}).apply(frame, ctx)
    assert float(((out - whole).abs() / whole.clamp_min(1.0)).mean()) < 0.05


def test_operator_scales_with_reference_white() -> None:
    op = make_operator("itm", "masked-cnn")
    frame = sdr_frame()
    a = op.apply(frame, StageContext(reference_white=100.0))
    b = op.apply(frame, StageContext(reference_white=203.0))
    torch.testing.assert_close(a * 2.03, b, rtol=1e-5, atol=1e-4)


def test_operator_refuses_non_finite_frames() -> None:
    frame = sdr_frame()
    frame[0, 0, 0] = float("nan")
    with pytest.raises(FormatError, match="NaN"):
        make_operator("itm", "masked-cnn").apply(frame, StageContext())


def test_refine_temporal_keeps_well_exposed_pixels_and_shapes() -> None:
    frame = sdr_frame()
    ctx = StageContext(reference_white=203.0)
    classical = make_operator("itm", "bt2446a").apply(frame, ctx)
    confidence = torch.zeros((1, *frame.shape[1:]))
    out = refine_temporal(classical, confidence, frame, [classical * 0.9, classical * 1.1], ctx)
    keep = _well_exposed(frame)
    assert out.shape == frame.shape
    # Well-exposed pixels are the classical stage's, which in the pipeline are the frame's own.
    torch.testing.assert_close(out[:, keep], classical[:, keep], rtol=1e-5, atol=1e-4)
    clipped = frame.amax(0) >= 1.0
    assert float(out[:, clipped].min()) >= 203.0
    assert float((out[:, clipped] - classical[:, clipped]).abs().max()) > 1.0  # the network corrected them
    # Fewer neighbours than two repeat the frame's own reconstruction.
    one = TemporalRefiner()(classical, confidence, frame, [], ctx)
    assert bool(torch.isfinite(one).all())


def test_refine_temporal_keeps_what_the_references_measured() -> None:
    """The correction is scaled by the share no frame measured: at full clue confidence the
    refinement returns the classical reconstruction, clipped pixels included."""
    frame = sdr_frame()
    ctx = StageContext(reference_white=203.0)
    classical = make_operator("itm", "bt2446a").apply(frame, ctx)
    measured = torch.ones((1, *frame.shape[1:]))
    out = refine_temporal(classical, measured, frame, [classical * 0.9, classical * 1.1], ctx)
    torch.testing.assert_close(out, classical, rtol=1e-5, atol=1e-3)


def test_refinement_runs_on_the_boxes_left_to_correct_as_on_the_whole_frame() -> None:
    """Two clipped blobs far apart in a wide frame, one half measured, one wholly measured: the
    networks run on the first blob's box only, and there the result matches the whole frame's
    refinement (computed here the long way) up to the tile seams' tolerance; every other pixel,
    the measured blob's included, is the classical one exactly."""
    height, width = 96, 320
    frame = torch.linspace(0.05, 0.6, width).expand(3, height, width).clone()
    frame[:, 20:44, 16:40] = 1.0
    frame[:, 50:80, 260:300] = 1.0
    ctx = StageContext(reference_white=203.0)
    classical = make_operator("itm", "bt2446a").apply(frame, ctx)
    confidence = torch.zeros((1, height, width))
    confidence[:, 20:44, 16:28] = 1.0  # the first blob half measured: its support spreads
    confidence[:, 40:90, 250:310] = 1.0  # the second wholly
    keys = [classical * 0.9, classical * 1.1]
    refiner = TemporalRefiner()
    out = refiner(classical, confidence, frame, keys, ctx)

    net = cached_network(REFINE_MODEL, "cpu")
    features = net.features((classical / 203.0)[None], confidence[None], frame[None],
                            [(k / 203.0)[None] for k in keys])
    log_radiance = predict_log_radiance(net, features, net.config.multiple)
    whole = net.reconstruct(features, frame[None], log_radiance)[0] * 203.0

    blob = (frame.amax(0) >= 1.0) & (confidence[0] < 1.0)
    error = (torch.log2(out[:, blob]) - torch.log2(whole[:, blob])).abs()
    assert float(error.mean()) < 0.01 and float(error.max()) < 0.1
    assert float((whole[:, blob] - classical[:, blob]).abs().max()) > 1.0  # it did correct them
    # Beyond the first blob's box (grown by the tile overlap) nothing ran: the classical frame.
    assert torch.equal(out[:, :, 40 + refiner.overlap :], classical[:, :, 40 + refiner.overlap :])


def test_refinement_skips_the_tiles_no_correction_reaches_bit_for_bit() -> None:
    """A thin clipped diagonal from corner to corner, measured nowhere (one box, the whole
    frame): in small tiles, both networks skip the tiles that weigh no pixel of it, and the result
    is exactly that of running every tile."""
    height, width = 160, 200
    frame = torch.linspace(0.05, 0.6, width).expand(3, height, width).clone()
    for row in range(height):
        column = row * (width - 2) // (height - 1)
        frame[:, row, column : column + 2] = 1.0
    ctx = StageContext(reference_white=203.0)
    classical = make_operator("itm", "bt2446a").apply(frame, ctx)
    confidence = torch.zeros((1, height, width))
    keys = [classical * 0.9]
    refine_net = cached_network(REFINE_MODEL, "cpu")
    calls = []
    hook = refine_net.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        out = TemporalRefiner(tile=48, overlap=16)(classical, confidence, frame, keys, ctx)
        ran, calls[:] = len(calls), []
        features = refine_net.features((classical / 203.0)[None], confidence[None], frame[None],
                                       [(k / 203.0)[None] for k in keys])
        log_radiance = predict_log_radiance(refine_net, features, refine_net.config.multiple, 48, 16)
        every = len(calls)
    finally:
        hook.remove()
    whole = refine_net.reconstruct(features, frame[None], log_radiance)[0] * 203.0
    # Well-exposed pixels are the classical reconstruction exactly, the others the refinement's.
    well_exposed = refine_net.mask_of(features)[0] >= 1.0
    assert torch.equal(out, torch.where(well_exposed, classical, whole))
    assert every == 5 * 6 and 0 < ran <= every // 2


def test_the_single_frame_network_runs_only_the_tiles_holding_over_exposed_pixels() -> None:
    net = cached_network(HIGHLIGHT_MODEL, "cpu")
    calls = []
    hook = net.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        dark = torch.linspace(0.05, 0.6, 200).expand(3, 160, 200).clone()
        assert torch.equal(highlight_radiance(dark, tile=48, overlap=16), dark)
        assert not calls  # nothing over-exposed: no tile ran
        frame = dark.clone()
        frame[:, 120:150, 150:190] = 1.0
        out = highlight_radiance(frame, tile=48, overlap=16)
        ran, calls[:] = len(calls), []
        log_radiance = predict_log_radiance(net, frame[None], net.config.multiple, 48, 16)
    finally:
        hook.remove()
    assert torch.equal(out, net.reconstruct(frame[None], log_radiance)[0])
    assert len(calls) == 5 * 6 and 0 < ran <= 4


def test_the_correction_grows_away_from_measured_pixels() -> None:
    """A clipped band measured on its left half: the right half's correction is scaled by
    1 - the measured pixels' Gaussian support, so it is smallest next to them."""
    height, width = 32, 64
    linear = torch.full((1, 3, height, width), 0.3)
    linear[..., 8:24, 16:48] = 1.0
    classical = linear * 1.0
    classical[..., 8:24, 16:48] = 4.0
    measured = torch.zeros((1, 1, height, width))
    measured[..., 8:24, 16:32] = 1.0
    net = RefineNet()
    features = net.features(classical, measured, linear, [])
    one_stop = features[:, :3] + 1.0  # a correction of +1 in log(1 + H) everywhere
    out = net.reconstruct(features, linear, one_stop)
    applied = (torch.log1p(out) - torch.log1p(classical))[0, 0, 16]  # the middle row
    assert float(applied[16:32].abs().max()) < 1e-5  # measured: kept
    sigma = SUPPORT_FRACTION * width
    near, far = float(applied[32]), float(applied[32 + round(2 * sigma)])
    assert 0.0 < near < 0.7 * far < 1.0


def test_refine_temporal_refuses_mismatched_inputs() -> None:
    frame = sdr_frame()
    with pytest.raises(FormatError, match="sizes differ"):
        refine_temporal(frame * 203.0, torch.ones((1, 8, 8)), frame, [], StageContext())


def test_refinement_features_hold_each_input_in_its_channels() -> None:
    """The channel layout the shipped weights were trained on (refine.py's REFINE_CHANNELS):
    log classical, confidence, SDR signal, mask, log keyframes; a missing
    keyframe repeats the classical frame; radiance below 0 reads as 0, confidence is clamped."""
    shape = (1, 3, 4, 6)
    classical, key = torch.full(shape, 3.0), torch.full(shape, 0.5)
    classical[..., 0, 0] = -1.0
    confidence = torch.full((1, 1, 4, 6), 0.25)
    confidence[..., 0, 1] = 2.0
    linear = torch.full(shape, 0.2)
    linear[..., 1, :] = 1.0
    net = RefineNet()
    features = net.features(classical, confidence, linear, [key])
    signal = linear ** (1.0 / net.config.input_gamma)
    log_classical = torch.log1p(classical.clamp_min(0.0))
    mask = overexposure_mask(signal[0], net.config.tau)[None]
    expected = torch.cat([log_classical, confidence.clamp(0.0, 1.0), signal, mask,
                          torch.log1p(key), log_classical], dim=1)
    assert features.shape == (1, REFINE_CHANNELS, 4, 6)
    torch.testing.assert_close(features, expected, rtol=1e-6, atol=0.0)
    assert float(RefineNet.mask_of(features)[0, 0, 1, 0]) == 0.0  # the row at SDR peak
    # The caller's own signal and mask are used as given.
    given = net.features(classical, confidence, linear, [key], (signal * 0.0, mask * 0.0 + 0.5))
    assert float(given[:, 4:7].abs().max()) == 0.0 and float(RefineNet.mask_of(given).min()) == 0.5
