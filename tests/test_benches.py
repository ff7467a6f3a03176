"""Every benchmark under bench/ imports: a helper renamed in the engine or in another bench
must not leave a benchmark that fails before it measures anything (bench/learned_eval.py did)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
# Runs under Mitsuba 3's own interpreter (bench/heldout_stills.py --mitsuba-python), not the venv's.
OWN_INTERPRETER = {"mitsuba_scenes"}
MODULES = sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "__init__" and p.stem not in OWN_INTERPRETER)


def test_the_list_is_not_empty() -> None:
    assert {"temporal", "throughput", "train_itm"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_benchmark_imports(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert callable(module.main)


def _table(refined_recoverable: float, refined_flicker: float) -> dict[str, dict[str, dict[str, float]]]:
    rows = {"ceiling": (30.0, 0.0, 0.0), "ceil-scene": (40.0, 0.0, 0.0), "temporal": (24.0, 13.0, 12.0),
            "refined": (refined_recoverable, 13.5, refined_flicker), "masked-cnn": (20.0, 12.0, 11.0),
            "bt2408": (19.0, 12.5, 12.5)}
    family = {m: dict(zip(("recoverable", "highlights", "flicker"), v, strict=True)) for m, v in rows.items()}
    return {"phone": family, "all": family}


@pytest.mark.parametrize(("recoverable", "flicker", "verdict"),
                         [(24.5, 11.9, "met "), (24.5, 12.1, "MISS"), (23.9, 11.0, "MISS")])
def test_temporal_bench_judges_the_refinement_against_the_classical_mode(
    capsys: pytest.CaptureFixture[str], recoverable: float, flicker: float, verdict: str
) -> None:
    from bench.temporal import print_tables

    print_tables(_table(recoverable, flicker), "masked-cnn")
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "refined > classical on recoverable" in x)
    assert line.startswith(verdict)
    assert f"{recoverable - 24.0:+.2f} dB" in line
    # The refined row is a temporal row, not a single-frame operator: the best single-frame
    # operator on highlights stays bt2408, and the classical mode's gap is 6 dB (goal met).
    assert "best single-frame operator on held-out highlights: bt2408" in out
    assert "met   recoverable within 8.0 dB of the ceiling" in out


def test_a_still_is_known_by_its_pixels_not_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bench/still_digests.py: the same pixels written with another compression (another file)
    keep their digest; a recorded still with the recorded pixels passes, one float changed in a
    recorded still's name is named, and a still the table does not hold is not checked."""
    import torch

    from bench import still_digests
    from bench.still_digests import RECORDED, differing, pixel_digest
    from engine.io.exr import write_exr
    from engine.synth.render import load_still

    pixels = torch.rand(3, 8, 12, generator=torch.Generator().manual_seed(3))
    write_exr(tmp_path / "zip.exr", pixels, half=False)
    write_exr(tmp_path / "piz.exr", pixels, half=False, compression="piz")
    assert (tmp_path / "zip.exr").read_bytes() != (tmp_path / "piz.exr").read_bytes()
    assert pixel_digest(load_still(tmp_path / "zip.exr")) == pixel_digest(load_still(tmp_path / "piz.exr"))
    assert len(RECORDED) == 22  # 8 TUNING, 10 TEST and 4 validation stills

    # The recorded pixels of a still pass, under its name, whatever file holds them.
    kept = tmp_path / "val_garden_noon.exr"
    write_exr(kept, pixels, half=False, compression="piz")
    monkeypatch.setitem(still_digests.RECORDED, "val_garden_noon", pixel_digest(pixels))
    assert differing([kept]) == []

    changed = pixels.clone()
    changed[1, 4, 5] += 1e-3
    rendered, photograph = tmp_path / "mi_cornell_hot.exr", tmp_path / "Desk.exr"
    write_exr(rendered, changed, half=False)
    write_exr(photograph, changed, half=False)
    assert differing([tmp_path / "zip.exr", kept, rendered, photograph]) == [
        f"{rendered}: pixels differ from the mi_cornell_hot the recorded figures were taken on "
        "(renders: mitsuba==3.6.4, docs/evaluation.md, \"The split\")",
        f"{photograph}: pixels differ from the Desk the recorded figures were taken on"]


@pytest.mark.parametrize("name", ["srgb", "gamma", "sigmoid", "bt709", "filmic", "log"])
def test_the_exact_transfer_decodes_each_synth_camera_back_to_its_light(name: str) -> None:
    """bench/temporal.py --source-transfer exact: the camera's own inverse, tabled as the
    'estimated' transfer reads it, takes the camera's codes back to its exposure (relative to its
    clip) wherever a code step is finer than the table's."""
    import numpy as np
    import torch

    from bench.temporal import EXACT, exact_inverse, grade_for
    from engine.synth.families import FAMILIES, draw
    from engine.synth.response import make_response
    from engine.temporal.crf import linearise

    response = make_response(name, np.random.default_rng(5))
    table = exact_inverse(response)
    assert table.shape == (1024,) and abs(float(table[0])) < 1e-9 and float(table[-1]) == 1.0
    white = float(response.decode(torch.tensor(1.0, dtype=torch.float64)))
    exposure = torch.logspace(-6, 0, 200, base=2, dtype=torch.float64) * white
    codes = response.encode(exposure)
    assert torch.allclose(linearise(codes.float(), table).double(), exposure / white, rtol=2e-3, atol=1e-5)
    grade = grade_for("masked-cnn", "masked-cnn", draw(FAMILIES["camcorder"], 0, 4, (64, 36)), EXACT)
    assert grade.source.transfer == "estimated"


@pytest.mark.parametrize(("name", "stops"), [("srgb", 0.05), ("gamma", 0.08), ("sigmoid", 0.08),
                                             ("bt709", 0.05), ("filmic", 0.25), ("log", 0.25)])
def test_the_calibrated_transfer_measures_each_synth_camera_from_a_bracket(name: str, stops: float,
                                                                           tmp_path: Path) -> None:
    """bench/temporal.py --source-transfer calibrated: the bracket calibration `lumigrade
    calibrate` makes (gsolve on a noisy 8-bit wedge) finds each synth camera's curve within a
    fraction of a stop from its shadows up, and the grade reads it from the written .cube."""
    import numpy as np
    import torch

    from bench.temporal import CALIBRATED, calibrated_inverse, exact_inverse, grade_for
    from engine.crf.camera_lut import read_camera_lut, write_camera_lut
    from engine.synth.families import FAMILIES, draw
    from engine.synth.response import make_response

    response = make_response(name, np.random.default_rng(5))
    measured = calibrated_inverse(response, 0).double().numpy()
    exact = exact_inverse(response).double().numpy()
    codes = np.linspace(0.0, 1.0, measured.size)
    truth = np.interp(codes, np.linspace(0.0, 1.0, exact.size), exact)
    shown = (codes > 0.25) & (codes < 0.97)  # a log curve's foot is noise at base ISO
    assert np.abs(np.log2(measured[shown] / truth[shown])).max() < stops
    path = write_camera_lut(tmp_path / "camera.cube", torch.from_numpy(measured).float(), name)
    assert np.allclose(read_camera_lut(path).numpy(), measured, atol=1e-7)
    grade = grade_for("masked-cnn", "masked-cnn", draw(FAMILIES["filmic"], 0, 4, (64, 36)), CALIBRATED, path)
    assert grade.source.transfer == "camera-lut" and grade.source.camera_lut == str(path)
