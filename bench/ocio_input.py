"""ms per 1080p frame of an OCIO input colour space: the engine's baked torch table against OCIO.

    PYTHONPATH=. .venv/bin/python -m bench.ocio_input [--repeats N] [--space NAME ...]

Input: a (3, 1080, 1920) float32 frame of code values in [0, 1]. The torch path is
engine.ocio_input.OcioInput.apply_table (a per-channel table of 2^18 entries and one matrix) on
the CPU and on CUDA when present; the peer is OpenColorIO's own optimised CPU processor from the
same space to 'Linear Rec.2020' on the same pixels, laid out as OCIO takes them (packed RGB, one
copy included). OcioInput.apply takes OCIO on the CPU and the table elsewhere, from these
figures. The last column is the table's largest difference from OCIO, relative to each pixel's
largest channel.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from bench.processor import time_ms
from engine.ocio_input import DEFAULT_CONFIG, bake_input_space, ocio_cpu

WIDTH, HEIGHT = 1920, 1080
SPACES = ("S-Log3 S-Gamut3", "ARRI LogC3 (EI800)", "Apple Log", "ACEScct")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--space", action="append", help="OCIO colour space (repeatable)")
    args = parser.parse_args()
    codes = torch.rand(3, HEIGHT, WIDTH, generator=torch.Generator().manual_seed(0))
    packed = np.ascontiguousarray(codes.permute(1, 2, 0).numpy())
    devices = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    print(f"{'space':<22} {'OCIO CPU ms':>11} " + " ".join(f"{'torch ' + d + ' ms':>14}" for d in devices)
          + f" {'ratio (cpu)':>11} {'max rel diff':>12}")
    for space in args.space or SPACES:
        baked = bake_input_space(DEFAULT_CONFIG, space)
        cpu = ocio_cpu(DEFAULT_CONFIG, space, "Linear Rec.2020")

        def ocio(cpu: object = cpu) -> np.ndarray:
            out = packed.copy()
            cpu.applyRGB(out)
            return out

        peer = time_ms(ocio, args.repeats)
        ours = []
        for device in devices:
            frame = codes.to(device)
            sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
            run = lambda frame=frame, sync=sync, baked=baked: (baked.apply_table(frame), sync())  # noqa: E731
            ours.append(time_ms(run, args.repeats))
        reference = ocio()
        result = baked.apply_table(codes).permute(1, 2, 0).numpy()
        scale = np.maximum(np.abs(reference).max(axis=2, keepdims=True), 1.0)
        diff = float((np.abs(result - reference) / scale).max())
        print(f"{space:<22} {peer:>11.1f} " + " ".join(f"{ms:>14.1f}" for ms in ours)
              + f" {peer / ours[0]:>11.2f} {diff:>12.1e}")


if __name__ == "__main__":
    main()
