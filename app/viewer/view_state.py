"""What the preview shows and where: compare layout, view options and the zoom/pan transform.

Pure data and geometry, no GL: the widget turns it into uniforms, the tests and the project
file read it directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum, IntEnum

from engine.constants import SDR_REFERENCE_WHITE_NITS
from engine.params import ParamSpec, param, param_specs


class CompareMode(IntEnum):
    """Compare layouts; the values are the shader's COMPARE_* constants. A = source, B = result."""

    A = 0
    B = 1
    SPLIT = 2
    WIPE = 3
    SIDE_BY_SIDE = 4
    DIFFERENCE = 5
    LOG_RATIO = 6

    @property
    def label(self) -> str:
        return COMPARE_LABELS[self]


DEFAULT_SIDE_NAMES = ("SDR source", "HDR result")  # what A and B show unless the sides say otherwise
COMPARE_LABELS = {
    CompareMode.A: f"A: {DEFAULT_SIDE_NAMES[0]}",
    CompareMode.B: f"B: {DEFAULT_SIDE_NAMES[1]}",
    CompareMode.SPLIT: "Split",
    CompareMode.WIPE: "Wipe",
    CompareMode.SIDE_BY_SIDE: "Side by side",
    CompareMode.DIFFERENCE: "Difference |B - A|",
    CompareMode.LOG_RATIO: "Log ratio B / A",
}


def compare_label(mode: CompareMode, names: tuple[str, str] = DEFAULT_SIDE_NAMES) -> str:
    """The name of a compare mode, with A and B named by what they show (`names`)."""
    if mode == CompareMode.A:
        return f"A: {names[0]}"
    if mode == CompareMode.B:
        return f"B: {names[1]}"
    return COMPARE_LABELS[mode]


class MaskView(IntEnum):
    """Which mask is overlaid; CLIPPED and OVER_PEAK index the mask texture's channels."""

    NONE = -1
    CLIPPED = 0  # source code values at the top of the range
    OVER_PEAK = 1  # graded luminance above the mastering peak
    CLUES = 2  # the temporal clue map (engine.masks.ClueMap), from its own texture


class DisplayView(str, Enum):
    """The display transform of the preview (engine.pipeline.Pipeline.display_transform views)."""

    SDR = "sdr"
    PQ = "pq"
    HLG = "hlg"


@dataclass(frozen=True)
class FalseColourBand:
    """A luminance band [lo, hi) in cd/m² painted in one colour."""

    lo: float
    hi: float
    colour: tuple[float, float, float]
    label: str


SDR_BLACK_NITS = 0.05
# ±0.2 stop around the anchors a colourist checks: BT.2408 reference white and the common
# 1000 and 4000 cd/m² mastering peaks.
_BAND_HALF_WIDTH = 2.0**0.2


def false_colour_bands(peak_nits: float,
                       reference_white: float = SDR_REFERENCE_WHITE_NITS) -> list[FalseColourBand]:
    """The false-colour legend; the first band that holds a pixel's luminance wins.

    The white band sits on the grade's reference white (Grade.reference_white: where SDR
    diffuse and graphics white land, ITU-R BT.2408 recommends 203 cd/m²), so a grade that
    places white elsewhere is judged against its own white.
    """

    def around(nits: float, colour: tuple[float, float, float], label: str) -> FalseColourBand:
        return FalseColourBand(nits / _BAND_HALF_WIDTH, nits * _BAND_HALF_WIDTH, colour, label)

    white = reference_white
    return [
        FalseColourBand(peak_nits, math.inf, (1.0, 0.0, 1.0), f"above the {peak_nits:g} cd/m² peak"),
        FalseColourBand(-math.inf, SDR_BLACK_NITS, (0.1, 0.1, 0.9), f"below black ({SDR_BLACK_NITS} cd/m²)"),
        around(white, (0.1, 0.8, 0.1), f"reference white, {white:g} cd/m²"),
        around(1000.0, (1.0, 0.9, 0.0), "1000 cd/m²"),
        around(4000.0, (1.0, 0.25, 0.0), "4000 cd/m²"),
    ]


@dataclass(frozen=True)
class ViewSettings:
    """Display-only settings: changing them redraws, and never asks the engine for work.

    The numeric fields are parameters (engine.params): the controls and the project file take
    their ranges from these declarations.
    """

    view: DisplayView = DisplayView.SDR
    exposure: float = param(0.0, -10.0, 10.0, "stops",
                            "view exposure: scales cd/m² before the display transform", display_only=True)
    compare: CompareMode = CompareMode.SIDE_BY_SIDE
    split: float = param(0.5, 0.0, 1.0, "", "split divider position as a fraction of the viewport width",
                         display_only=True)
    wipe_angle: float = param(30.0, -180.0, 180.0, "°", "angle of the wipe line from vertical",
                              display_only=True)
    ratio_stops: float = param(3.0, 0.1, 20.0, "stops", "log-ratio view: the ratio shown at full colour",
                               display_only=True)
    false_colour: bool = False
    mask: MaskView = MaskView.NONE
    mask_opacity: float = param(0.6, 0.0, 1.0, "", "mask overlay opacity", display_only=True)

    def replace(self, **changes: object) -> ViewSettings:
        return replace(self, **changes)


# The numeric view settings by name, as declared above.
VIEW_PARAMS: dict[str, ParamSpec] = {spec.name: spec for spec in param_specs(ViewSettings)}


@dataclass(frozen=True)
class ViewTransform:
    """Image <-> screen mapping: `zoom` device pixels per image pixel, `center` in image pixels."""

    zoom: float = 1.0
    center: tuple[float, float] = (0.0, 0.0)

    @staticmethod
    def fit(image: tuple[int, int], view: tuple[float, float]) -> ViewTransform:
        """The whole image inside a view of (width, height) device pixels."""
        zoom = min(view[0] / image[0], view[1] / image[1])
        return ViewTransform(zoom, (image[0] / 2.0, image[1] / 2.0))

    @staticmethod
    def one_to_one(image: tuple[int, int]) -> ViewTransform:
        return ViewTransform(1.0, (image[0] / 2.0, image[1] / 2.0))

    def to_image(self, screen: tuple[float, float], view: tuple[float, float]) -> tuple[float, float]:
        return (
            (screen[0] - view[0] / 2.0) / self.zoom + self.center[0],
            (screen[1] - view[1] / 2.0) / self.zoom + self.center[1],
        )

    def panned(self, delta: tuple[float, float]) -> ViewTransform:
        """Drag by `delta` device pixels: the image follows the cursor."""
        return ViewTransform(self.zoom, (self.center[0] - delta[0] / self.zoom,
                                         self.center[1] - delta[1] / self.zoom))

    def zoomed(self, factor: float, screen: tuple[float, float], view: tuple[float, float]) -> ViewTransform:
        """Zoom by `factor` keeping the image point under `screen` where it is."""
        zoom = min(max(self.zoom * factor, 1.0 / 64.0), 256.0)
        ix, iy = self.to_image(screen, view)
        return ViewTransform(zoom, (ix - (screen[0] - view[0] / 2.0) / zoom,
                                    iy - (screen[1] - view[1] / 2.0) / zoom))


def compare_viewport(compare: CompareMode, width: float, height: float) -> tuple[float, float]:
    """The size of one image viewport: side by side halves the width (as the shader does)."""
    return (math.floor(width / 2.0), height) if compare == CompareMode.SIDE_BY_SIDE else (width, height)
