"""Camera families, the added transfers, stepped and jumping auto exposure, HEVC recording."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine.color import transfer as tf
from engine.io.open import open_clip
from engine.synth.degrade import SensorNoise
from engine.synth.exposure import AutoExposureParams, auto_exposure
from engine.synth.families import FAMILIES, draw, scaled_size
from engine.synth.recording import open_recording
from engine.synth.response import RESPONSES, Bt709Response, FilmicResponse, LogResponse, make_response


def test_bt709_oetf_published_points() -> None:
    # Rec. ITU-R BT.709-6 item 1.2: 4.5 L below 0.018, 1.099 L^0.45 - 0.099 from 0.018 up; the
    # two meet within 3e-4 (0.081 and 0.0812), and the curve reaches 1 at L = 1.
    r = Bt709Response()
    e = torch.tensor([0.0, 0.01, 0.0179999, 0.018, 0.18, 1.0], dtype=torch.float64)
    expected = torch.tensor([0.0, 0.045, 0.081, 0.08124, 0.40901, 1.0], dtype=torch.float64)
    assert torch.allclose(r.encode(e), expected, atol=1e-5)


def test_srgb_response_is_the_exact_piecewise_curve() -> None:
    # IEC 61966-2-1: the linear segment below 0.0031308 (12.92 L), not a 2.2 power law.
    r = make_response("srgb")
    assert float(r.encode(torch.tensor(0.002, dtype=torch.float64))) == pytest.approx(0.02584)
    assert float(r.decode(torch.tensor(0.5, dtype=torch.float64))) == pytest.approx(0.21404, abs=1e-5)
    assert float(tf.gamma_eotf(torch.tensor(0.5), 2.2)) == pytest.approx(0.21764, abs=1e-5)


@pytest.mark.parametrize("name", RESPONSES)
def test_every_response_round_trips_and_spans_the_code_range(name: str) -> None:
    r = make_response(name, gamma=2.4)
    e = torch.linspace(0.0, 1.0, 2049, dtype=torch.float64)
    v = r.encode(e)
    assert float(v[0]) == pytest.approx(0.0, abs=1e-12) and float(v[-1]) == pytest.approx(1.0, abs=1e-12)
    assert bool((v[1:] > v[:-1]).all())
    assert torch.allclose(r.decode(v), e, atol=1e-9)


def test_log_and_filmic_have_their_documented_shape() -> None:
    # The log curve spends half its code values on the darkest ~1/32 of the range (a = 1024).
    log = LogResponse()
    assert float(log.encode(torch.tensor(31.0 / 1024.0, dtype=torch.float64))) == pytest.approx(0.5, abs=2e-3)
    # Hable's curve, before its sRGB encoding, rolls off into a shoulder (its slope at white is
    # under a third of its slope at black) and maps the sensor clip to 1.
    filmic = FilmicResponse()
    curve = filmic._curve(torch.tensor([0.0, 0.01, 0.99, 1.0], dtype=torch.float64))
    assert float(curve[3] - curve[2]) < float(curve[1] - curve[0]) / 3.0
    assert float(curve[3]) == pytest.approx(1.0)


def test_gamma_response_takes_its_exponent() -> None:
    assert float(make_response("gamma", gamma=2.4).decode(torch.tensor(0.5, dtype=torch.float64))) == \
        pytest.approx(0.5**2.4)


def test_auto_exposure_holds_then_jumps_two_stops_in_one_frame() -> None:
    # Metering brightens by 4x (2 stops) at frame 3: a 1-stop dead band holds nothing before, then
    # a zero time constant with a 2-stop rate limit lands on the new target in one frame.
    metered = [0.18] * 3 + [0.72] * 3
    params = AutoExposureParams(time_constant_s=0.0, max_ev_per_frame=2.0, hold_ev=1.0)
    evs = auto_exposure(metered, 24.0, params)
    assert evs[:3] == pytest.approx([0.0] * 3)
    assert evs[3:] == pytest.approx([-2.0] * 3)
    # A 0.5-stop change stays inside the dead band.
    assert auto_exposure([0.18, 0.18 * 2**0.5, 0.18 * 2**0.5], 24.0, params) == pytest.approx([0.0] * 3)


def test_auto_exposure_is_applied_in_steps() -> None:
    metered = [0.18 * 2 ** (i / 10) for i in range(20)]
    evs = auto_exposure(metered, 24.0, AutoExposureParams(ev_step=1.0 / 3.0))
    assert all(abs(ev * 3 - round(ev * 3)) < 1e-9 for ev in evs)
    assert min(evs) < -0.3  # it does follow the metering


def test_families_draw_inside_their_documented_ranges() -> None:
    seen_transfers, seen_codecs, seen_crfs = set(), set(), set()
    for family in FAMILIES.values():
        for seed in range(12):
            shot = draw(family, seed, 8, (64, 36))
            s, ae = shot.settings, shot.settings.auto_exposure
            assert family.crf[0] <= s.video_crf <= family.crf[1] and s.codec in family.codecs
            assert family.time_constant_s[0] <= ae.time_constant_s <= family.time_constant_s[1]
            assert family.max_ev_per_frame[0] <= ae.max_ev_per_frame <= family.max_ev_per_frame[1]
            assert family.hold_ev[0] <= ae.hold_ev <= family.hold_ev[1] and ae.ev_step in family.ev_steps
            scale = 0.0 if s.noise is None else s.noise.shot / SensorNoise().shot
            assert family.noise_scale[0] <= scale <= family.noise_scale[1]
            assert (s.crf, s.gamma, shot.declared_transfer) in family.transfers
            seen_transfers.add((s.crf, s.gamma if s.crf == "gamma" else None))
            seen_codecs.add(s.codec)
            seen_crfs.add(s.video_crf)
        assert draw(family, 3, 8, (64, 36)) == draw(family, 3, 8, (64, 36))
    # Over all families the ranges are covered.
    assert {t for t, _ in seen_transfers} == set(RESPONSES)
    assert {("gamma", 2.2), ("gamma", 2.4)} <= seen_transfers
    assert seen_codecs == {"h264", "hevc"} and min(seen_crfs) <= 15 and max(seen_crfs) >= 27
    sizes = {f.size for f in FAMILIES.values()}
    assert (512, 288) in sizes and (1920, 1080) in sizes


def test_scaled_size_keeps_the_aspect_and_fits_the_still() -> None:
    assert scaled_size((1920, 1080), 320, (1262, 860)) == (320, 180)
    assert scaled_size((1920, 1080), 4000, (676, 449)) == (540, 304)


def test_hevc_recording_decodes_to_what_was_written(tmp_path: Path) -> None:
    frame = torch.linspace(0.1, 0.9, 3 * 72 * 128).reshape(3, 72, 128)
    writer = open_recording(tmp_path / "c.mp4", "hevc", 14, "fast", 128, 72, 24.0)
    for _ in range(3):
        writer.write(frame)
    writer.close()
    with open_clip(tmp_path / "c.mp4") as clip:
        decoded = [signal for _, signal in clip.frames()]
    assert len(decoded) == 3
    assert float((decoded[1] - frame).abs().mean()) < 0.01
    with pytest.raises(ValueError, match="at least 64x64"):
        open_recording(tmp_path / "small.mp4", "hevc", 14, "fast", 48, 32, 24.0)
