"""Time every registered operator (ITM and TMO) on a 1920x1080 frame, against plain peers.

    .venv/bin/python -m bench.operators [--repeats N]
    .venv/bin/python -m bench.operators --contact-sheet docs/contact_sheet_itm.png --data DIR [--clip FILE]

Each operator from engine.operators.catalogue.operators() runs through its public `apply` (for curves:
bake the gain LUT and sample it, as the export does) on the CPU with torch's default thread
count, and on CUDA when torch sees a device. The peers run the same frame in the same process:
numpy and colour-science doing a plain per-pixel PQ encode (the floor for any per-pixel work),
and OpenCV's Reinhard and Drago tone mappers for the TMOs. Goals: a curve <= 15 ms per frame on
the CPU, a spatial operator <= 250 ms.

A second table times each curve operator's full chain as a render runs it: the per-pixel
processor (GradeProcessor, the CPU kernel with the light meter) from decoded 8-bit 4:2:0 BT.709
planes to the encoder's planes (an ITM: HDR10 10-bit 4:2:0 PQ; a TMO: after BT.2408, SDR 8-bit
4:2:0), on successive frames, with what a frame adds for an operator shaped by statistics (the
luminance samples, the stabilised measurement, baking, folding).

--contact-sheet renders every ITM operator on SDR renditions of the first four OpenEXR stills in
--data and on frame 40 of --clip (by default the bundled demo clip). docs/operators.md names the
stills and clip of the committed sheet.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from engine.assets import RESOURCES_DIR
from engine.color.luminance import luminance
from engine.color.primaries import BT709, BT2020, convert_primaries
from engine.color.transfer import bt1886_eotf, bt1886_inverse_eotf, pq_inverse_eotf
from engine.operators.base import CurveOperator, Operator, StageContext
from engine.operators.catalogue import operators
from engine.stats import measure

WIDTH, HEIGHT = 1920, 1080
CURVE_GOAL_MS = 15.0
SPATIAL_GOAL_MS = 250.0
DEMO_CLIP = RESOURCES_DIR / "demo" / "candle_push.mp4"


def sdr_test_frame(device: torch.device | str = "cpu") -> Tensor:
    """An SDR-relative (3, 1080, 1920) frame: gradients, colour, texture and clipped highlights."""
    g = torch.Generator().manual_seed(0)
    y = torch.linspace(0.0, 1.0, HEIGHT).view(HEIGHT, 1)
    x = torch.linspace(0.0, 1.0, WIDTH).view(1, WIDTH)
    base = torch.stack([x * (0.6 + 0.4 * y), x * y, (1.0 - x) * 0.8 + 0.1 * y])
    texture = 0.1 * torch.rand(3, HEIGHT, WIDTH, generator=g)
    frame = (base + texture).clamp(0.0, 1.0)
    frame[:, 100:300, 1500:1800] = 1.0  # a clipped sky patch
    return frame.to(device)


def hdr_test_frame(device: torch.device | str = "cpu") -> Tensor:
    """The SDR test frame expanded to cd/m² with a log spread, up to 4000 cd/m²."""
    sdr = sdr_test_frame("cpu")
    return (4000.0 * sdr**2.2 + 1e-3).to(device)


def time_ms(fn: Callable[[], object], repeats: int, device: torch.device | str = "cpu") -> float:
    """Fastest wall time of fn in ms after one warm-up call (synchronised on CUDA).

    The minimum, as timeit advises: on a shared machine other jobs only ever add time, so the
    fastest run is the best estimate of the operator's own cost.
    """
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    fn()
    sync()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        samples.append((time.perf_counter() - start) * 1000.0)
    return min(samples)


def run_operator(cls: type[Operator], frame: Tensor) -> Callable[[], Tensor]:
    """A closure running one frame through the operator as the pipeline does."""
    op = cls()
    ctx = StageContext()
    if cls.needs_stats:
        ctx.stats = measure(luminance(frame))
    return lambda: op.apply(frame, ctx)


def peer_timings(repeats: int) -> dict[str, float]:
    """Plain per-pixel and OpenCV peers on the same frames, in ms."""
    import colour
    import cv2

    hdr = hdr_test_frame().permute(1, 2, 0).contiguous().numpy()
    y = (hdr / 10000.0).clip(0.0, 1.0)

    def numpy_pq() -> np.ndarray:
        m1, m2 = 2610 / 16384, 2523 / 4096 * 128
        c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
        p = y**m1
        return ((c1 + c2 * p) / (1 + c3 * p)) ** m2

    bgr = np.ascontiguousarray(hdr[..., ::-1] / 4000.0, dtype=np.float32)
    reinhard = cv2.createTonemapReinhard(1.0, 0.0, 0.0, 0.0)
    drago = cv2.createTonemapDrago(1.0, 0.7, 0.85)
    return {
        "numpy PQ encode": time_ms(numpy_pq, repeats),
        "colour eotf_inverse_ST2084": time_ms(lambda: colour.models.eotf_inverse_ST2084(hdr), repeats),
        "cv2 Reinhard": time_ms(lambda: reinhard.process(bgr), repeats),
        "cv2 Drago": time_ms(lambda: drago.process(bgr), repeats),
    }


def benchmark(repeats: int) -> None:
    cuda = torch.cuda.is_available()
    peers = peer_timings(repeats)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, CUDA: {cuda}")
    print(f"frame {WIDTH}x{HEIGHT}, fastest of {repeats} runs after a warm-up\n")
    for name, ms in peers.items():
        print(f"  peer {name:<28} {ms:8.1f} ms")
    print()
    header = f"{'operator':<18}{'kind':<6}{'type':<9}{'CPU ms':>9}{'goal':>7}{'CUDA ms':>9}  peer ratio"
    print(header)
    print("-" * len(header))
    for cls in operators():
        curve = issubclass(cls, CurveOperator)
        frame_fn = sdr_test_frame if cls.kind == "itm" else hdr_test_frame
        cpu = time_ms(run_operator(cls, frame_fn("cpu")), repeats)
        goal = CURVE_GOAL_MS if curve else SPATIAL_GOAL_MS
        gpu = f"{time_ms(run_operator(cls, frame_fn('cuda')), repeats, 'cuda'):9.2f}" if cuda else f"{'-':>9}"
        peer = "numpy PQ encode" if cls.kind == "itm" or curve else "cv2 Drago"
        if cls.kind == "tmo" and curve:
            peer = "cv2 Reinhard"
        verdict = "ok" if cpu <= goal else "OVER"
        print(
            f"{cls.name:<18}{cls.kind:<6}{'curve' if curve else 'spatial':<9}{cpu:9.1f}{goal:>7.0f}"
            f"{gpu}  x{cpu / peers[peer]:.2f} of {peer} ({verdict})"
        )


def full_chain_ms(cls: type[CurveOperator], repeats: int) -> tuple[float, float]:
    """(kernel ms, whole frame ms) per 1080p frame, as a render runs it.

    The whole frame is engine.processor.grade_processor.GradeProcessor on successive frame
    indices, built as Pipeline.processor builds it: for an operator shaped by statistics that is
    the luminance samples, the stabilised measurement, baking and folding, then the kernel with
    the light meter. The kernel column is that kernel alone, on a chain baked once.
    """
    from bench.processor import planes
    from engine.color.primaries import BT709 as P709
    from engine.color.ycbcr import BT709 as YCC709
    from engine.color.ycbcr import BT2020_NCL
    from engine.grade import Grade, OperatorChoice
    from engine.input_transform import InputTransform
    from engine.io.pixels import Planes
    from engine.io.tags import ChromaLocation
    from engine.operators.catalogue import make_operator
    from engine.processor.build import (
        BT2020_WEIGHTS,
        decode_ops,
        display_ops,
        encode_ops,
        eotf_ops,
        grade_ops,
    )
    from engine.processor.formats import TargetFormat
    from engine.processor.grade_processor import GradeProcessor, source_format
    from engine.processor.numba_backend import NumbaProcessor
    from engine.processor.ops import LumaGain
    from engine.processor.optimise import optimise
    from engine.stages.output import OutputStage
    from engine.stages.stabilised import SequenceStats

    frame = Planes(*planes(2), 8, False, YCC709, ChromaLocation.LEFT)
    source = source_format(frame)
    transform = InputTransform("bt1886", 2.4, P709)
    op = cls(cls.Params())
    itm = op if cls.kind == "itm" else make_operator("itm", "bt2408")
    tmo = op if cls.kind == "tmo" else make_operator("tmo", "bt2390")
    view = "pq" if cls.kind == "itm" else "sdr"
    target = TargetFormat(10, BT2020_NCL, True) if view == "pq" else TargetFormat(8, YCC709, subsample=True)
    grade = Grade(itm=OperatorChoice(itm.name), tmo=OperatorChoice(tmo.name))
    stage = OutputStage(view, grade, tmo, SequenceStats())

    def context(index: int) -> StageContext:
        return StageContext(frame_index=index, reference_white=grade.reference_white,
                            peak_nits=grade.peak_nits, display_peak=grade.sdr_peak_nits)

    processor = GradeProcessor(transform, itm, SequenceStats(), 0.0, 1.0,
                               lambda ctx, samples: stage.display_transform(ctx, samples=samples),
                               view == "sdr" and tmo.needs_stats, target, context, grade.peak_nits)
    index = iter(range(10**9))
    whole = time_ms(lambda: processor(next(index), frame), repeats)

    # The kernel alone: the chain GradeProcessor folds, with nominal statistics baked once.
    ctx = dataclasses.replace(context(0), stats=measure(luminance(sdr_test_frame())))
    gain = LumaGain(itm.bake(ctx), BT2020_WEIGHTS)
    head = optimise([*decode_ops(source), *eotf_ops(transform, source), gain, *grade_ops(0.0, 1.0)])
    tail = optimise(display_ops(stage.display_transform(ctx, nits=hdr_test_frame())) + encode_ops(target))
    kernel = NumbaProcessor(head + tail, source, target, meter_at=len(head), peak=grade.peak_nits)
    return time_ms(lambda: kernel.process(frame.y, frame.cb, frame.cr), repeats), whole


def full_chain_table(repeats: int) -> None:
    print(f"\nfull chain per 1080p frame, GradeProcessor on the CPU, decoded 8-bit 4:2:0 -> encoder planes "
          f"(goal {CURVE_GOAL_MS:.0f} ms)")
    header = f"{'operator':<18}{'kind':<6}{'kernel ms':>10}{'per frame ms':>14}  verdict"
    print(header)
    print("-" * len(header))
    for cls in operators():
        if not issubclass(cls, CurveOperator):
            continue
        kernel, frame = full_chain_ms(cls, repeats)
        verdict = "ok" if frame <= CURVE_GOAL_MS else "OVER"
        print(f"{cls.name:<18}{cls.kind:<6}{kernel:10.1f}{frame:14.1f}  {verdict}")


# -- contact sheet -------------------------------------------------------------------------------
TILE_HEIGHT, TILE_WIDTH = 150, 220


def _read_exr(path: Path) -> Tensor:
    """A scene-linear EXR still as (3, H, W) float32, negatives from filtering clamped."""
    import OpenEXR

    with OpenEXR.File(str(path)) as f:
        channels = f.channels()
        key = "RGBA" if "RGBA" in channels else "RGB"
        pixels = np.asarray(channels[key].pixels, dtype=np.float32)[..., :3]
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1).clamp_min(0.0)


def sdr_rendition(hdr_bt709: Tensor) -> Tensor:
    """A plain SDR camera rendition of a linear still: log average exposed to 18% of white,
    clipped at white, encoded to 8-bit BT.1886 and decoded again, moved to BT.2020 primaries."""
    y = luminance(hdr_bt709, BT709)
    exposure = 0.18 / float(torch.exp(torch.log(y.clamp_min(1e-6)).mean()))
    codes = torch.round(bt1886_inverse_eotf((hdr_bt709 * exposure).clamp(0.0, 1.0)) * 255.0) / 255.0
    return convert_primaries(bt1886_eotf(codes), BT709, BT2020).clamp(0.0, 1.0)


def _clip_frame(clip: Path, index: int = 40) -> Tensor:
    import av

    with av.open(str(clip)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            rgb = frame.to_ndarray(format="rgb24")
            if i == index:
                break
    codes = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255.0
    return convert_primaries(bt1886_eotf(codes), BT709, BT2020).clamp(0.0, 1.0)


def _tile(nits: Tensor) -> np.ndarray:
    """cd/m² (BT.2020) -> a TILE_HEIGHT x TILE_WIDTH 8-bit BGR tile of the PQ signal in BT.709
    primaries, the picture fitted inside on black."""
    scale = min(TILE_HEIGHT / nits.shape[1], TILE_WIDTH / nits.shape[2])
    size = (round(nits.shape[1] * scale), round(nits.shape[2] * scale))
    small = torch.nn.functional.interpolate(nits.unsqueeze(0), size=size, mode="area")[0]
    pq = pq_inverse_eotf(convert_primaries(small, BT2020, BT709).clamp_min(0.0))
    tile = np.zeros((TILE_HEIGHT, TILE_WIDTH, 3), np.uint8)
    tile[: size[0], : size[1]] = (pq.clamp(0.0, 1.0) * 255.0 + 0.5).byte().permute(1, 2, 0).numpy()[..., ::-1]
    return tile


def contact_sheet(path: Path, stills: list[Path], clip: Path) -> None:
    import cv2

    sources = {p.stem: sdr_rendition(_read_exr(p)) for p in stills}
    sources[clip.name] = _clip_frame(clip)
    itm = operators("itm")
    rows = []
    for label, sdr in sources.items():
        ctx = StageContext(stats=measure(luminance(sdr)))
        tiles = [_tile(sdr * ctx.reference_white)]
        tiles += [_tile(cls().apply(sdr, ctx)) for cls in itm]
        cv2.putText(tiles[0], label, (6, TILE_HEIGHT - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 255, 255), 1)
        rows.append(np.concatenate(tiles, axis=1))
    header = np.zeros((28, rows[0].shape[1], 3), np.uint8)
    for i, name in enumerate(["SDR source", *(c.name for c in itm)]):
        cv2.putText(header, name, (i * TILE_WIDTH + 6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
    sheet = np.concatenate([header, *rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), sheet)
    print(f"wrote {path} ({sheet.shape[1]}x{sheet.shape[0]}, PQ signal shown in BT.709)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--contact-sheet", type=Path, help="write the ITM contact sheet PNG here")
    parser.add_argument("--data", type=Path,
                        help="for --contact-sheet: a folder of scene-linear OpenEXR stills")
    parser.add_argument("--clip", type=Path, default=DEMO_CLIP,
                        help="for --contact-sheet: an SDR clip of 41 frames or more (default: the demo clip)")
    args = parser.parse_args(argv)
    if args.contact_sheet:
        stills = sorted(args.data.glob("*.exr"))[:4] if args.data else []
        if not stills:
            parser.error("--contact-sheet needs --data DIR, a folder of scene-linear OpenEXR stills "
                         "(the repository ships none; the team's are in ../shared/data/hdr)")
        contact_sheet(args.contact_sheet, stills, args.clip)
        return 0
    benchmark(max(1, args.repeats))
    full_chain_table(max(1, args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
