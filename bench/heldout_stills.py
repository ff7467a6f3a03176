"""Build the held-out TEST folder of scene-linear OpenEXR stills (issue 19's split).

The split was fixed before any tuning (team convention): of ../shared/data/hdr, TUNING = Desk,
CandleGlass, StillLife, city, forest, night, studio, sunrise; TEST = GoldenGate, sunset. This
script adds held-out stills from other sources that no constant and no training run has seen:

- jxl_hdr_room: `jxl/hdr_room.png` of Debian's libjxl-testdata (JPEG XL Project Authors,
  BSD-3-Clause), a 676x449 16-bit PNG whose cICP chunk says BT.2020 primaries (9), HLG transfer
  (18), full range; decoded with the inverse HLG OETF of ITU-R BT.2100 to scene-linear light.
- mi_*: seven scenes path-traced with Mitsuba 3 (BSD-3-Clause) by bench/mitsuba_scenes.py, in
  an interpreter that has `mitsuba` 3.6.4 (kept apart from the project's environment; later
  releases render other pixels, which bench/still_digests.py catches).

Reproduce (about 3 minutes of one core for the renders):

    python3 -m venv /tmp/mitsuba-venv && /tmp/mitsuba-venv/bin/pip install mitsuba==3.6.4
    PYTHONPATH=. .venv/bin/python bench/heldout_stills.py --shared ../shared/data/hdr \\
        --out /tmp/lumigrade-test --mitsuba-python /tmp/mitsuba-venv/bin/python

The package is fetched with `apt-get download` and unpacked with `dpkg -x` in a temporary folder.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import cv2
import numpy as np
import torch

from bench.still_digests import differing
from engine.color import transfer as tf
from engine.color.primaries import BT2020
from engine.io.exr import write_exr

TEST_FROM_SHARED = ("GoldenGate", "sunset")
TUNING = ("Desk", "CandleGlass", "StillLife", "city", "forest", "night", "studio", "sunrise")
JXL_PACKAGE = "libjxl-testdata"
JXL_ROOM = "usr/share/libjxl-testdata/jxl/hdr_room.png"
# ITU-T H.273 code points: BT.2020 primaries, ARIB STD-B67 (HLG) transfer.
_CICP_BT2020, _CICP_HLG = 9, 18
LICENCES = """# Held-out TEST stills (issue 19)

| still | source | licence |
|---|---|---|
| GoldenGate.exr | OpenEXR sample images, (c) 2004 Industrial Light & Magic | BSD-3-Clause |
| sunset.exr | Blender studio lights, Debian blender-data | as ../shared/data/README.md |
| jxl_hdr_room.exr | libjxl-testdata jxl/hdr_room.png (HLG), JPEG XL Project Authors | BSD-3-Clause |
| mi_*.exr | Mitsuba 3 renders of bench/mitsuba_scenes.py's scenes | BSD-3-Clause |
"""


def png_cicp(path: Path) -> tuple[int, int, int, int] | None:
    """The PNG cICP chunk (primaries, transfer, matrix, full range) or None (PNG 3rd edition)."""
    data = path.read_bytes()
    offset = 8
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"cICP":
            return tuple(body[:4])  # type: ignore[return-value]
        if kind == b"IDAT":
            return None
        crc = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])[0]
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"{path}: corrupt PNG chunk {kind!r}")
        offset += 12 + length
    return None


def hlg_png_to_linear(path: Path) -> torch.Tensor:
    """A 16-bit full-range HLG BT.2020 PNG -> (3, H, W) scene-linear BT.2020 (BT.2100 inverse OETF)."""
    cicp = png_cicp(path)
    if cicp is None or cicp[0] != _CICP_BT2020 or cicp[1] != _CICP_HLG or cicp[3] != 1:
        raise ValueError(f"{path}: expected a full-range BT.2020 HLG PNG (cICP 9/18/x/1), got {cicp}")
    codes = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if codes is None or codes.dtype != np.uint16:
        raise ValueError(f"{path}: not a readable 16-bit PNG")
    signal = torch.from_numpy(codes[..., ::-1].astype(np.float64) / 65535.0).permute(2, 0, 1)
    return tf.hlg_inverse_oetf(signal).float()


def fetch_package(name: str, folder: Path) -> Path:
    """apt-get download + dpkg -x of a Debian package into `folder`; returns the unpacked root."""
    subprocess.run(["apt-get", "download", name], cwd=folder, check=True, capture_output=True)
    deb = next(folder.glob(f"{name}_*.deb"))
    root = folder / name
    subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, required=True,
                        help="the team's HDR stills (../shared/data/hdr)")
    parser.add_argument("--out", type=Path, required=True, help="the TEST folder to create")
    renders = parser.add_mutually_exclusive_group(required=True)
    renders.add_argument("--mitsuba-python", type=Path,
                         help="an interpreter with the mitsuba package, for bench/mitsuba_scenes.py")
    renders.add_argument("--rendered", type=Path,
                         help="a folder bench/mitsuba_scenes.py already rendered into (mi_*.exr)")
    parser.add_argument("--spp", type=int, default=64, help="Mitsuba samples per pixel")
    args = parser.parse_args(argv)
    if args.out.exists():
        parser.error(f"--out {args.out}: exists; give a new folder")
    for name in TEST_FROM_SHARED:
        if not (args.shared / f"{name}.exr").is_file():
            parser.error(f"--shared {args.shared}: no {name}.exr there")
    with tempfile.TemporaryDirectory(prefix="lumigrade-heldout-") as temp:
        work = Path(temp)
        stage = work / "test"
        stage.mkdir()
        for name in TEST_FROM_SHARED:
            shutil.copyfile(args.shared / f"{name}.exr", stage / f"{name}.exr")
        room = hlg_png_to_linear(fetch_package(JXL_PACKAGE, work) / JXL_ROOM)
        write_exr(stage / "jxl_hdr_room.exr", room, chromaticities=BT2020)
        if args.rendered is not None:
            for render in sorted(args.rendered.glob("mi_*.exr")):
                shutil.copyfile(render, stage / render.name)
        else:
            scenes = Path(__file__).with_name("mitsuba_scenes.py")
            subprocess.run([str(args.mitsuba_python), str(scenes), str(stage), "--spp", str(args.spp)],
                           check=True)
        (stage / "LICENCES.md").write_text(LICENCES)
        shutil.copytree(stage, args.out)
    stills = sorted(args.out.glob("*.exr"))
    print(f"{len(stills)} TEST stills in {args.out}: {', '.join(p.stem for p in stills)}")
    # A TEST still with other pixels gives other figures than those recorded (still_digests).
    wrong = differing(stills)
    for line in wrong:
        print(f"error: {line}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
