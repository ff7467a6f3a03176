"""bench/train_itm.py's family-camera examples decode as the grade would: through the transfer the
camera declares, or with `--decode exact` through the camera's own curve (docs/evaluation.md
item 33)."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from bench.train_itm import family_examples
from engine.io.exr import write_exr
from engine.synth.families import FAMILIES

FRAMES = 4


def _lamp(path: Path) -> None:
    """A still with a bright lamp over a graded wall, so every camera clips part of it."""
    y, x = torch.meshgrid(torch.linspace(0.0, 1.0, 72), torch.linspace(0.0, 1.0, 128), indexing="ij")
    lamp = 6.0 * torch.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) / 0.02)
    write_exr(path, torch.stack([0.2 + lamp, 0.3 + 0.2 * x, 0.25 + 0.3 * y]), half=False)


def test_exact_decodes_differ_from_the_declared_ones_only_where_the_tag_is_not_the_camera(
        tmp_path: Path) -> None:
    still = tmp_path / "lamp.exr"
    _lamp(still)
    linear = {}
    for decode in ("declared", "exact"):
        args = argparse.Namespace(size="128x72", frames=FRAMES, seed=0, fallback="bt2446a", decode=decode)
        examples, description = family_examples([still], args, tmp_path / f"{decode}.safetensors")
        assert description["decode"] == decode
        linear[decode] = examples.linear
    assert linear["declared"].shape == linear["exact"].shape == (len(FAMILIES) * FRAMES, 3, 72, 128)
    for i, name in enumerate(FAMILIES):
        shot = slice(i * FRAMES, (i + 1) * FRAMES)
        lit = linear["declared"][shot] > 0.02
        stops = (linear["exact"][shot][lit] / linear["declared"][shot][lit]).log2().abs()
        if name in ("phone", "action"):
            # sRGB and gamma cameras declare their own curve: the 1024-code table reads the same.
            assert float(stops.max()) < 1e-3, name
        else:
            # BT.709-tagged S-curves and log, sRGB-tagged filmic: a third of a stop or more apart.
            assert float(stops.mean()) > 0.3, name
