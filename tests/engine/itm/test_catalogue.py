"""Every registered ITM operator: description, curves, LUT accuracy, robustness, parameters."""

from __future__ import annotations

import pytest
import torch

from engine.color.luminance import luminance
from engine.errors import GradeError
from engine.lut import Lut1D
from engine.operators.base import CurveOperator, Operator, StageContext
from engine.operators.catalogue import make_operator, operators
from engine.stats import measure
from tests.engine.itm.conftest import ramp_frame

ITM = operators("itm")
CURVES = [c for c in ITM if issubclass(c, CurveOperator)]
EXPECTED = {"akyuz", "bt2408", "bt2446a", "bt2446c", "huo", "kovaleski", "masia09", "masia17", "meylan"}


def _ctx(frame: torch.Tensor | None = None) -> StageContext:
    frame = ramp_frame() if frame is None else frame
    return StageContext(stats=measure(luminance(frame)))


def test_catalogue_is_complete() -> None:
    # The learned operators (engine/itm/masked_cnn.py) join the classical catalogue.
    assert {c.name for c in ITM} == EXPECTED | {"masked-cnn"}
    assert make_operator("itm", "bt2408").kind == "itm"


# The standard (with its clause) or the paper (authors, year, title) each operator implements.
REFERENCES = {
    "akyuz": 'Akyüz, Fleming, Riecke, Reinhard & Bülthoff 2007, "Do HDR displays support LDR content?"',
    "bt2408": "ITU-R BT.2408 §5,",
    "bt2446a": "ITU-R BT.2446-1 §4.2, Conversion Method A",
    "bt2446c": "ITU-R BT.2446-1 §6.2, Conversion Method C",
    "huo": 'Huo, Yang, Dong & Brost 2014, "Physiological inverse tone mapping based on retina response"',
    "kovaleski": "Kovaleski & Oliveira 2014, "
                 '"High-quality reverse tone mapping for a wide range of exposures"',
    "masia09": "Masia, Agustin, Fleming, Sorkine & Gutierrez 2009, "
               '"Evaluation of reverse tone mapping through varying exposure conditions"',
    "masia17": 'Masia, Serrano & Gutierrez 2017, "Dynamic range expansion based on image statistics"',
    "masked-cnn": "Santos, Ren & Kalantari 2020, "
                  '"Single image HDR reconstruction using a CNN with masked features and perceptual loss"',
    "meylan": "Meylan, Daly & Süsstrunk 2006, "
              '"The reproduction of specular highlights on high dynamic range displays"',
}


@pytest.mark.parametrize("cls", ITM, ids=lambda c: c.name)
def test_description_names_a_reference_and_valid_defaults(cls: type[Operator]) -> None:
    info = cls.describe()
    assert info["kind"] == "itm" and info["title"]
    assert info["reference"].startswith(REFERENCES[cls.name])
    for spec in cls.param_specs():
        assert spec.help, spec.name
        assert spec.check(spec.default) == spec.default


@pytest.mark.parametrize("cls", CURVES, ids=lambda c: c.name)
def test_curve_is_monotonic_and_starts_at_black(cls: type[CurveOperator]) -> None:
    op = cls()
    ctx = _ctx()
    lo, hi = op.input_range(ctx)
    y = Lut1D.positions(lo, hi, 20000)
    out = op.curve(y, ctx)
    assert torch.isfinite(out).all()
    assert (out.diff() >= 0).all()
    assert float(op.curve(torch.zeros(1, dtype=torch.float64), ctx)) == pytest.approx(0.0, abs=1e-9)
    assert float(out[-1]) > 0


@pytest.mark.parametrize("cls", CURVES, ids=lambda c: c.name)
def test_lut_matches_the_analytic_curve(cls: type[CurveOperator]) -> None:
    op = cls()
    ctx = _ctx()
    lut = op.bake(ctx)
    lo, hi = op.input_range(ctx)
    # Points between the LUT's entries, where linear interpolation errs most.
    y = Lut1D.positions(max(lo, 1e-4), hi, 7777)
    frame = y.to(torch.float32).view(1, 1, -1).expand(3, 1, -1)
    applied = luminance(op.apply_lut(frame, lut))[0, 0].double()
    exact = op.curve(frame[0, 0].double(), ctx)
    rel = ((applied - exact).abs() / exact.clamp_min(1e-9)).max()
    assert float(rel) < 1e-3


def _frames() -> dict[str, torch.Tensor]:
    h, w = 16, 24
    checker = ((torch.arange(h).view(h, 1) + torch.arange(w)) % 2).float().expand(3, h, w).clone()
    return {
        "black": torch.zeros(3, h, w),
        "white": torch.ones(3, h, w),
        "red": torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1).expand(3, h, w).clone(),
        "grey": torch.full((3, h, w), 0.18),
        "checker": checker,
        "tiny": torch.full((3, h, w), 1e-9),
        "ramp": ramp_frame(h, w),
    }


@pytest.mark.parametrize("frame_name", list(_frames()))
@pytest.mark.parametrize("cls", ITM, ids=lambda c: c.name)
def test_no_nan_or_inf_and_stays_in_range(cls: type[Operator], frame_name: str) -> None:
    frame = _frames()[frame_name]
    ctx = StageContext()
    for stats in (None, measure(luminance(frame))):
        ctx.stats = stats
        out = cls().apply(frame, ctx)
        assert out.shape == frame.shape and out.dtype == torch.float32
        assert torch.isfinite(out).all(), (cls.name, frame_name)
        y = luminance(out)
        assert float(y.min()) >= -1e-3
        # No operator may exceed the target peak by more than float rounding on luminance.
        assert float(y.max()) <= ctx.peak_nits * 1.001


@pytest.mark.parametrize("cls", ITM, ids=lambda c: c.name)
def test_black_stays_black_and_grey_stays_grey(cls: type[Operator]) -> None:
    ramp = ramp_frame()
    out = cls().apply(ramp, _ctx(ramp))
    assert float(out[:, :, 0].abs().max()) < 1e-3  # the ramp's black column
    grey = out[:, -1, 1:-8]  # an achromatic row
    spread = (grey.amax(0) - grey.amin(0)) / grey.mean(0).clamp_min(1e-6)
    assert float(spread.max()) < 1e-4


def test_input_on_another_device_is_followed() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    frame = ramp_frame().cuda()
    for cls in ITM:
        assert cls().apply(frame, _ctx(frame.cpu())).device == frame.device


@pytest.mark.parametrize(
    ("name", "values", "message"),
    [
        ("akyuz", {"gamma": "9"}, "above 5.0"),
        ("akyuz", {"gamma": "x"}, "not a valid float"),
        ("masia09", {"a": "-1"}, "below 0.0"),
        ("meylan", {"rho": "1.5"}, "above 0.99"),
        ("kovaleski", {"sigma_spatial": "nan"}, "not finite"),
        ("huo", {"m": "1"}, "no parameter 'm'"),
        ("bt2446a", {"k1": "1"}, "no parameter 'k1'"),
    ],
)
def test_param_errors_are_grade_errors(name: str, values: dict[str, str], message: str) -> None:
    with pytest.raises(GradeError, match=message):
        make_operator("itm", name, values)


def test_params_parse_from_cli_strings() -> None:
    op = make_operator("itm", "meylan", {"omega": "0.8", "rho": "0.5"})
    assert (op.params.omega, op.params.rho) == (0.8, 0.5)
    assert make_operator("itm", "kovaleski", {"threshold": "0.99"}).params.threshold == 0.99
