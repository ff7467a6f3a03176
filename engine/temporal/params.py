"""The parameters of temporal highlight reconstruction, as the Grade, the CLI and the GUI see them.

The source's own transfer and primaries are not among them: the pipeline hands the
reconstructor each frame's decoded code values and its linear light from the input transform.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.constants import OVEREXPOSURE_TAU
from engine.params import param


@dataclass(frozen=True)
class TemporalParams:
    """Temporal highlight reconstruction: keyframes, references, alignment and the merge."""

    # A keyframe costs its references' alignment, a propagated frame two thumbnail flows: at 10
    # a 40-frame shot has five keyframes, not six, which pays for the references the cover picks
    # since it covers every pixel some frame shows (bench at 8: recoverable highlights 35.15 dB,
    # 3.1x the single-frame cost; at 10: 35.09 dB, 3.0x, flicker 7.71 -> 7.68).
    keyframe_spacing: int = param(10, 1, 240, "frames", "distance between reconstructed keyframes")
    # The candidates are only scored (on thumbnails) until the set cover picks max_references of
    # them, so a dense grid costs little; a pan shows a highlight at a darker exposure in a few
    # frames only, which a coarser grid misses (bench: recoverable highlights +0.3 dB over 6).
    reference_stride: int = param(
        2, 1, 1000, "frames", "stride of the reference frames sampled across the keyframe's shot"
    )
    max_references: int = param(6, 1, 32, "frames", "most reference frames merged into one keyframe")
    min_reference_gain: float = param(
        0.02, 0.0, 6.0, "EV", "how much darker than the keyframe a frame must be to serve as reference"
    )
    tau: float = param(
        OVEREXPOSURE_TAU, 0.5, 0.999, "",
        "SDR code value where pixels start to hand over to clues (Santos et al. τ)",
    )
    full_weight: float = param(
        0.2, 0.05, 1.0, "", "clue weight (well-exposedness × alignment confidence) that is trusted fully"
    )
    flow_max_side: int = param(
        256, 64, 4096, "px", "long side of the images a keyframe's references are aligned on"
    )
    cut_threshold: float = param(
        0.25, 0.02, 1.0, "", "least log-luminance histogram distance between frames that can be a cut"
    )
    response: str = param(
        "shoulder",
        help="linearise with the source EOTF; with it, the top of an sRGB or gamma decode "
        "re-measured from the clip's exposure changes (shoulder; other decodes as declared); or "
        "with a camera response estimated from frames of different exposure (Debevec & Malik 1997)",
        choices=("display", "shoulder", "estimated"),
    )
    crf_smoothness: float = param(50.0, 1.0, 10000.0, "", "λ of the Debevec–Malik smoothness term")
    refine: str = param(
        "none", choices=("none", "learned"),
        help="correct the classical fusion with the learned refinement network (engine.models)",
    )
