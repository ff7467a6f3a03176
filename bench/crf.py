"""Camera response estimation on held-out synthetic clips: how much of the wrong-transfer gap it closes.

    nice -n 5 .venv/bin/python -m bench.crf --data DIR [--width 480] [--itm masked-cnn] [--share 0.03]
                                           [--json FILE]

Clips: each held-out still (GoldenGate and sunset, engine.models.data.EVAL_STILLS, never seen by
the network) seen whole by a camera --width pixels wide, recorded through each held-out response
(engine.crf.curves.held_out_curves: none of them in the EMoR basis or the training) with sensor
noise and 8-bit coding: a frame exposed to clip --share of its pixels, and the same view two
stops darker (an exposure bracket, as an auto-exposure or alternating clip gives).

Linearisations of the clip, each by its inverse response g:
- tagged: the BT.1886 EOTF, what the source transform assumes of a clip tagged BT.709;
- bracket, known ratio: Debevec–Malik on the bracket with its true exposure ratio, projected
  into the EMoR space (engine.crf.fit.fit_exposures);
- bracket, measured ratio: the same with the ratio measured as the temporal analysis measures
  it (engine.temporal.exposure.relative_exposure) on the frames linearised by the learned
  estimate (the temporal mode's `temporal.response=estimated` before the noise ratio);
- bracket, noise ratio: that ratio combined with the one the frames' sensor noise gives
  (engine.temporal.noise_ratio: not biased by the exponent ambiguity), then the same fit: what
  `temporal.response=estimated` does (and the `estimated` source transform did on a clip whose
  exposure changes, until docs/evaluation.md item 9 measured it on video);
- bracket, joint fit: curve and ratio fitted together (engine.crf.fit.fit_exposures_jointly,
  Mitsunaga & Nayar 1999), the EMoR prior centred on the learned estimate;
- edges: the edge cue of Lin et al. 2004 in the EMoR space (fit_single_frame), from the
  model's mean curve, and from the learned estimate (its prior centred there);
- learned: the shipped network (engine.crf.net) on both frames, as the `estimated` source
  transform runs it on every clip;
- true: the response the clip was recorded with.

Figures: the RMS of ln g_est - ln g_true over codes 8..255 (engine.crf.emor.log_rms_error), and
the PU21-PSNR of --itm's HDR result from the linearised frame against the scene (aligned by one
robust scale, engine.metrics.evaluate.score_frame, whole frame), means over all clips; and the
fraction of the tagged -> true PU21-PSNR gap each estimator closes. Goal: >= 0.5.

--contact-sheet PNG draws one held-out clip (GoldenGate through --sheet-curve): the SDR frame as
recorded, the ITM's HDR result from the tagged, bracket (noise ratio), learned and true
linearisations and the scene (PQ signals for a 1000 cd/m² display, shown as they are), and the
inverse curves.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor

from engine.color import transfer as tf
from engine.color.primaries import BT709, BT2020, convert_primaries
from engine.crf.curves import ResponseCurve, held_out_curves, signal_grid
from engine.crf.data import camera_light, exposure_for, record_curve, view
from engine.crf.emor import EmorBasis, log_rms_error
from engine.crf.fit import fit_exposures, fit_exposures_jointly, fit_single_frame
from engine.crf.net import CrfNet, load_crf_net, predict
from engine.display import pq_view
from engine.grade import DEFAULT_ITM
from engine.metrics.evaluate import score_frame
from engine.models.data import EVAL_STILLS
from engine.operators.base import Operator, StageContext
from engine.operators.catalogue import make_operator
from engine.synth.degrade import SensorNoise
from engine.synth.render import load_still
from engine.temporal.crf import linearise
from engine.temporal.exposure import relative_exposure
from engine.temporal.noise_ratio import combined_log_ratio, noise_log_ratio

BRACKET_STOPS = 2.0
METHODS = ("tagged (BT.1886)", "bracket, known ratio", "bracket, measured ratio", "bracket, noise ratio",
           "bracket, joint fit", "edges", "edges from learned", "learned", "true")
TAGGED, KNOWN, MEASURED, NOISE, JOINT, EDGES, EDGES_LEARNED, LEARNED, TRUE = METHODS
GOAL_GAP = 0.5


def clip_frames(scene: Tensor, curve: ResponseCurve, share: float, seed: int) -> tuple[Tensor, Tensor, float]:
    """(normal frame, frame BRACKET_STOPS darker, the normal frame's exposure multiplier)."""
    camera = camera_light(scene)
    k = exposure_for(camera, share)
    generator = torch.Generator().manual_seed(seed)
    normal = record_curve(camera * k, curve, SensorNoise(), generator)
    dark = record_curve(camera * k * 2.0**-BRACKET_STOPS, curve, SensorNoise(), generator)
    return normal, dark, k


def itm_psnr(op: Operator, signal: Tensor, inverse: Tensor, scene: Tensor) -> float:
    """PU21-PSNR of the ITM's result from `signal` linearised by `inverse`, against the scene."""
    relative = convert_primaries(linearise(signal, inverse.float()), BT709, BT2020)
    with torch.no_grad():
        nits = op.apply(relative, StageContext())
    score, _, _ = score_frame(0, nits, scene, signal, None, None)
    return score.values["frame"]["pu21_psnr"]


def estimates(normal: Tensor, dark: Tensor, curve: ResponseCurve, net: CrfNet,
              basis: EmorBasis) -> dict[str, Tensor]:
    """Every method's inverse response (tabled over signal values in [0, 1])."""
    x = torch.from_numpy(signal_grid())
    learned = predict(net, basis, [normal, dark])
    learned_curve = basis.curve(learned).float()
    ev = relative_exposure(linearise(dark, learned_curve), linearise(normal, learned_curve), dark, normal)
    measured = learned if ev is None else fit_exposures([dark, normal], [0.0, ev * math.log(2.0)], basis)
    noise = noise_log_ratio(dark, normal, basis.curve(measured))
    ratio = combined_log_ratio(ev * math.log(2.0), noise) if ev is not None else noise[0] if noise else None
    refined = learned if ratio is None else fit_exposures([dark, normal], [0.0, ratio], basis)
    return {
        TAGGED: tf.bt1886_eotf(x),
        KNOWN: basis.curve(fit_exposures([dark, normal], [0.0, BRACKET_STOPS * math.log(2.0)], basis)),
        MEASURED: basis.curve(measured),
        NOISE: basis.curve(refined),
        JOINT: basis.curve(fit_exposures_jointly([dark, normal], basis, centre=learned)[0]),
        EDGES: basis.curve(fit_single_frame(normal, basis)),
        EDGES_LEARNED: basis.curve(fit_single_frame(normal, basis, learned)),
        LEARNED: basis.curve(learned),
        TRUE: torch.from_numpy(curve.inverse),
    }


def gap_closed(value: float, tagged: float, true: float) -> float:
    return (value - tagged) / (true - tagged) if true != tagged else math.nan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of OpenEXR HDR stills")
    parser.add_argument("--width", type=int, default=480)
    parser.add_argument("--itm", default=DEFAULT_ITM)
    parser.add_argument("--share", type=float, default=0.03, help="share of pixels the normal frame clips")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--contact-sheet", type=Path, metavar="PNG")
    parser.add_argument("--sheet-curve", default="filmic hable w=11.2", help="held-out response of the sheet")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    paths = [args.data / f"{name}.exr" for name in EVAL_STILLS]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print(f"{missing[0]}: held-out still not found", file=sys.stderr)
        return 2
    net, basis = load_crf_net()
    op = make_operator("itm", args.itm)
    if args.contact_sheet:
        scene = view(load_still(paths[0]), args.width)
        contact_sheet(args.contact_sheet, scene, args.sheet_curve, args.share, net, basis, op)
    rows: list[dict[str, object]] = []
    for s, path in enumerate(paths):
        scene = view(load_still(path), args.width)
        for c, curve in enumerate(held_out_curves()):
            normal, dark, k = clip_frames(scene, curve, args.share, seed=100 * s + c)
            truth = torch.from_numpy(curve.inverse)
            for method, inverse in estimates(normal, dark, curve, net, basis).items():
                rows.append({"still": path.stem, "curve": curve.name, "method": method,
                             "rms_ln": float(log_rms_error(inverse, truth)),
                             "pu21_psnr": itm_psnr(op, normal, inverse, scene * k)})
    print_tables(rows, args.itm)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


def _mean(rows: list[dict[str, object]], method: str, key: str, curve: str | None = None) -> float:
    return statistics.fmean(float(r[key]) for r in rows  # type: ignore[arg-type]
                            if r["method"] == method and (curve is None or r["curve"] == curve))


def print_tables(rows: list[dict[str, object]], itm: str) -> None:
    clips = len(rows) // len(METHODS)
    tagged, true = _mean(rows, TAGGED, "pu21_psnr"), _mean(rows, TRUE, "pu21_psnr")
    stills = ", ".join(EVAL_STILLS)
    print(f"held-out clips: {clips} ({stills} x {clips // len(EVAL_STILLS)} held-out responses); ITM {itm}")
    print(f"{'linearisation':<26} {'RMS ln g':>9} {'PU21-PSNR dB':>13} {'gap closed':>11}")
    for method in METHODS:
        psnr = _mean(rows, method, "pu21_psnr")
        print(f"{method:<26} {_mean(rows, method, 'rms_ln'):>9.3f} {psnr:>13.2f} "
              f"{gap_closed(psnr, tagged, true):>11.2f}")
    print(f"\nper response, RMS ln g (mean over the stills): {' / '.join(METHODS[:-1])}")
    for curve in dict.fromkeys(str(r["curve"]) for r in rows):
        values = " / ".join(f"{_mean(rows, m, 'rms_ln', curve):.3f}" for m in METHODS[:-1])
        print(f"  {curve:<24} {values}")
    for method in (NOISE, LEARNED):
        closed = gap_closed(_mean(rows, method, "pu21_psnr"), tagged, true)
        print(f"gap closed by {method}: {closed:.2f} (goal >= {GOAL_GAP})")


LABEL_HEIGHT = 22
CURVE_COLOURS = {TAGGED: (170, 170, 170), NOISE: (255, 120, 200), LEARNED: (40, 150, 255),
                 TRUE: (90, 220, 90)}


def _tile(signal: Tensor, label: str) -> np.ndarray:
    """(3, H, W) display signal in [0, 1] (BT.2020 primaries shown as they are) -> labelled BGR tile."""
    image = np.ascontiguousarray((signal.permute(1, 2, 0).numpy()[..., ::-1] * 255 + 0.5).clip(0, 255))
    band = np.full((LABEL_HEIGHT, image.shape[1], 3), 32, np.uint8)
    cv2.putText(band, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (235, 235, 235), 1, cv2.LINE_AA)
    return np.vstack([band, image.astype(np.uint8)])


def _curve_panel(curves: dict[str, Tensor], height: int, width: int) -> np.ndarray:
    """The inverse curves: code value across, log2 exposure up (-12..0 stops)."""
    panel = np.full((height, width, 3), 24, np.uint8)
    codes = np.linspace(0.0, 1.0, 256)
    for y_stop in range(-12, 1, 2):
        y = int((1 - (y_stop + 12) / 12) * (height - 20)) + 10
        cv2.line(panel, (0, y), (width, y), (60, 60, 60), 1)
        cv2.putText(panel, f"{y_stop}", (2, y - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (150, 150, 150), 1)
    for row, (name, inverse) in enumerate(curves.items()):
        g = np.interp(codes, np.linspace(0, 1, inverse.numel()), inverse.double().numpy())
        stops = np.log2(np.maximum(g, 2.0**-12))
        points = np.stack([codes * (width - 1), (1 - (stops + 12) / 12) * (height - 20) + 10], 1)
        cv2.polylines(panel, [points.astype(np.int32)], False, CURVE_COLOURS[name], 2, cv2.LINE_AA)
        cv2.putText(panel, name, (width - 190, height - 12 - 16 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                    CURVE_COLOURS[name], 1, cv2.LINE_AA)
    return panel


def contact_sheet(path: Path, scene: Tensor, curve_name: str, share: float, net: CrfNet, basis: EmorBasis,
                  op: Operator) -> None:
    """docs/contact_sheet_crf.png: tagged vs estimated vs true linearisation of one held-out clip."""
    curve = next(c for c in held_out_curves() if c.name == curve_name)
    normal, dark, k = clip_frames(scene, curve, share, seed=0)
    inverses = estimates(normal, dark, curve, net, basis)
    pq = pq_view(1000.0)
    tiles = [_tile(normal, f"SDR, {curve.name}")]
    for method in (TAGGED, NOISE, LEARNED, TRUE):
        relative = convert_primaries(linearise(normal, inverses[method].float()), BT709, BT2020)
        with torch.no_grad():
            nits = op.apply(relative, StageContext())
        score, _, aligned = score_frame(0, nits, scene * k, normal, None, None)
        psnr = score.values["frame"]["pu21_psnr"]
        tiles.append(_tile(pq.apply(nits), f"{method}: {psnr:.1f} dB"))
    tiles.append(_tile(pq.apply(aligned), "scene (aligned)"))
    height = tiles[0].shape[0]
    tiles.append(_curve_panel({m: inverses[m] for m in CURVE_COLOURS}, height, 320))
    sheet = np.hstack([np.pad(t, ((0, 0), (0, 2), (0, 0))) for t in tiles])
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), sheet):
        raise OSError(f"{path}: could not write the contact sheet")
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
