"""Contact sheet of every HDR->SDR operator on the real HDR stills: docs/contact_sheet_tmo.png.

Each still (scene-linear OpenEXR, BT.709 primaries) is converted to BT.2020 and exposed so that
its log-average sits at 18% of the BT.2408 reference white (203 cd/m²), then mapped by each
registered TMO with default parameters and encoded for a 100 cd/m² BT.1886 / BT.709 display
(the export's SDR output transform). Prints the time each operator took per still.

Run: .venv/bin/python bench/contact_sheet.py --data DIR [--out docs/...], DIR holding the stills
named in STILLS (the team's: ../shared/data/hdr).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import OpenEXR
import torch

from engine.color.luminance import luminance
from engine.color.primaries import BT709, BT2020, convert_primaries
from engine.constants import SDR_REFERENCE_WHITE_NITS
from engine.display import sdr_view
from engine.operators.base import StageContext
from engine.operators.catalogue import operators
from engine.stats import measure

STILLS = ("GoldenGate.exr", "Desk.exr", "CandleGlass.exr", "StillLife.exr", "sunset.exr", "night.exr")
THUMB_WIDTH = 256
LABEL_HEIGHT = 22


def load_still(path: Path) -> torch.Tensor:
    """An EXR still as a (3, H, W) BT.2020 frame in cd/m², exposed to a log-average of 0.18 * 203."""
    channels = OpenEXR.File(str(path)).channels()
    rgb = (channels["RGBA"] if "RGBA" in channels else channels["RGB"]).pixels[..., :3].astype(np.float32)
    h, w = rgb.shape[:2]
    rgb = cv2.resize(rgb, (THUMB_WIDTH, round(h * THUMB_WIDTH / w)), interpolation=cv2.INTER_AREA)
    frame = convert_primaries(torch.from_numpy(np.clip(rgb, 0.0, None)).permute(2, 0, 1), BT709, BT2020)
    frame = frame.clamp_min(0.0)
    return frame * (0.18 * SDR_REFERENCE_WHITE_NITS / measure(luminance(frame)).log_average)


def tile(frame: torch.Tensor, label: str) -> np.ndarray:
    """Display-relative BT.2020 light -> an 8-bit BGR tile with its label above."""
    signal = sdr_view(None).apply(frame).permute(1, 2, 0).numpy()
    image = np.ascontiguousarray((signal[..., ::-1] * 255.0 + 0.5).clip(0, 255).astype(np.uint8))
    band = np.full((LABEL_HEIGHT, image.shape[1], 3), 32, np.uint8)
    cv2.putText(band, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (235, 235, 235), 1, cv2.LINE_AA)
    return np.vstack([band, image])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help=f"a folder of OpenEXR stills holding {', '.join(STILLS)}")
    parser.add_argument("--out", type=Path, default=Path("docs/contact_sheet_tmo.png"))
    args = parser.parse_args()
    missing = [name for name in STILLS if args.data is None or not (args.data / name).is_file()]
    if missing:
        parser.error(f"--data DIR: a folder holding the OpenEXR stills {', '.join(missing)} "
                     "(the repository ships none; the team's are in ../shared/data/hdr)")
    tmos = operators("tmo")
    rows = []
    for name in STILLS:
        frame = load_still(args.data / name)
        ctx = StageContext(stats=measure(luminance(frame)))
        tiles = []
        for cls in tmos:
            start = time.perf_counter()
            out = cls().apply(frame, ctx)
            print(f"{name:16s} {cls.name:16s} {1000 * (time.perf_counter() - start):7.1f} ms")
            tiles.append(tile(out, f"{cls.name} / {name.removesuffix('.exr')}"))
        height = max(t.shape[0] for t in tiles)
        rows.append(np.hstack([np.pad(t, ((0, height - t.shape[0]), (0, 2), (0, 0))) for t in tiles]))
    width = max(r.shape[1] for r in rows)
    sheet = np.vstack([np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0))) for r in rows])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.out), sheet):
        raise SystemExit(f"{args.out}: could not write the contact sheet")
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
