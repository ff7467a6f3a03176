"""The deliverable formats a render writes: one record each, read by the Grade, the render job,
the encoders, the CLI and the export dialog.

A deliverable is the output transform it is encoded from (a view of engine.display), the writer
(a video file or an OpenEXR sequence) and, for video, the encoder, its pixel format and the
containers it may go in. Pure data: this module imports nothing from the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ViewKind = Literal["pq", "hlg", "sdr", "linear"]
"""The output transforms of engine.display: PQ, HLG, tone-mapped SDR (BT.1886) and scene-linear."""


@dataclass(frozen=True)
class Deliverable:
    """One output format; `name` is what the Grade's output.format and `--format` hold."""

    name: str
    label: str  # one line for people: codec, transfer, what is in the file
    view: ViewKind  # the display transform the frames go through
    writer: Literal["video", "exr"]
    containers: tuple[str, ...]  # file suffixes; the first is the default. () for an EXR folder
    encoder: str | None = None  # FFmpeg encoder (video only)
    pix_fmt: str | None = None  # FFmpeg pixel format fed to the encoder
    bits: int = 16  # code value bits (an EXR sequence holds half floats)
    subsample: bool = False  # 4:2:0 chroma
    signals: tuple[ViewKind, ...] = ()  # signals the stream can carry; the first is the view
    # 4:2:0 chroma siting (engine.color.chroma_siting): BT.2020 deliveries use top-left (type 2).
    chroma_siting: Literal["center", "topleft"] = "center"

    @property
    def extension(self) -> str:
        """The suffix of a default output name: the first container, none for an EXR folder."""
        return self.containers[0] if self.containers else ""


_X26X_CONTAINERS = (".mp4", ".mov", ".mkv")

DELIVERABLES: dict[str, Deliverable] = {
    d.name: d
    for d in (
        Deliverable("hdr10", "HDR10: HEVC Main10, PQ, ST 2086 + MaxCLL", "pq", "video", _X26X_CONTAINERS,
                    "libx265", "yuv420p10le", 10, True, ("pq",), "topleft"),
        Deliverable("hlg", "HLG: HEVC Main10, BT.2100 HLG", "hlg", "video", _X26X_CONTAINERS,
                    "libx265", "yuv420p10le", 10, True, ("hlg",), "topleft"),
        # ProRes 4444 is a mastering format: it may carry any of the three signals, PQ by default.
        Deliverable("prores", "ProRes 4444, PQ", "pq", "video", (".mov",),
                    "prores_ks", "yuv444p10le", 10, False, ("pq", "hlg", "sdr")),
        Deliverable("exr", "OpenEXR sequence, scene-linear half float", "linear", "exr", ()),
        Deliverable("sdr", "SDR: H.264, BT.709 / BT.1886, tone mapped", "sdr", "video", _X26X_CONTAINERS,
                    "libx264", "yuv420p", 8, True, ("sdr",)),
    )
}
"""Every deliverable by name, in the order the CLI and the export dialog list them."""

MUXERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}
"""FFmpeg muxer of each video container suffix."""
