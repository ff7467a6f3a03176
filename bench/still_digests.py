"""Pixel digests of the stills the recorded evaluation figures were taken on (issue 19's split).

The temporal evaluation turns a change of one float in a still into tenths of a dB
(docs/evaluation.md, "The split"), and a renderer's release can change every pixel: Mitsuba 3.7
and later path-trace the TEST and validation scenes differently from 3.3 to 3.6, enough to take
the exposure drift out of a filmic validation shot. `bench/temporal.py` checks each still it
reads against this table and names those that differ, so a figure is never compared with one
taken on other pixels; `bench/heldout_stills.py` checks the folder it builds.

    python -m bench.still_digests STILL.exr ...   # print the digests, to record a new set
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable
from pathlib import Path

from torch import Tensor

from engine.synth.render import load_still

# SHA-256 (first 16 hex digits) of each still's float32 pixels as load_still reads them. The
# renders are Mitsuba 3.6.4's (bench/mitsuba_scenes.py: TEST at --spp 64 through
# heldout_stills.py, the validation set at its default 48); the others are the files as shipped.
RENDERED = ("mi_", "val_")  # bench/mitsuba_scenes.py's stills
RECORDED: dict[str, str] = {
    # TUNING (../shared/data/hdr)
    "CandleGlass": "c5b48d11e21f8b77",
    "Desk": "9ffd4b948b71a9f4",
    "StillLife": "3d008656d9e4950b",
    "city": "860885dfa6f46a07",
    "forest": "a739dd298b17d0da",
    "night": "f6d108684b26a3b3",
    "studio": "ddb50a336237c57f",
    "sunrise": "5681db2048f3dd8d",
    # TEST (bench/heldout_stills.py)
    "GoldenGate": "90e3f2f012c59904",
    "jxl_hdr_room": "d62a833c1245788a",
    "mi_attic_skylight": "0089cdc1283670d2",
    "mi_cornell_hot": "c07f9ea25b980f96",
    "mi_desk_lamp": "293821247ceaa683",
    "mi_night_lamps": "03359be16f53c781",
    "mi_studio_spheres": "6a13143242a20cf5",
    "mi_sunlit_yard": "22cf0b30feb78146",
    "mi_window_room": "9a9859a3c818b92c",
    "sunset": "da11c1142fa6bacb",
    # validation renders (bench/mitsuba_scenes.py --set validation)
    "val_candle_table": "2db6cec00fbc7804",
    "val_corridor_door": "e6950785c4eb3448",
    "val_garden_noon": "f4296a06da4a9037",
    "val_office_lamp": "642b8d53ed70541d",
}


def pixel_digest(still: Tensor) -> str:
    """The digest of a (C, H, W) still's float32 pixels. The file's header does not count: it
    differs between Mitsuba releases that render the same pixels."""
    return hashlib.sha256(still.float().contiguous().numpy().tobytes()).hexdigest()[:16]


def differing(paths: Iterable[Path]) -> list[str]:
    """One line for each still whose pixels are not those the recorded figures were taken on;
    a still the table does not name is not checked."""
    lines = []
    for path in paths:
        recorded = RECORDED.get(path.stem)
        if recorded is not None and pixel_digest(load_still(path)) != recorded:
            hint = ' (renders: mitsuba==3.6.4, docs/evaluation.md, "The split")'
            lines.append(f"{path}: pixels differ from the {path.stem} the recorded figures were taken on"
                         + (hint if path.stem.startswith(RENDERED) else ""))
    return lines


def main(argv: list[str]) -> int:
    for name in argv:
        print(f'    "{Path(name).stem}": "{pixel_digest(load_still(Path(name)))}",')
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
