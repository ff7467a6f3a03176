"""Display transforms: the per-pixel output work, described as data shared by export and preview.

A DisplayTransform turns a frame in cd/m² (BT.2020) into encoded signal values in four steps:

1. an optional luminance gain, gain_lut(Y) with Y the BT.2020 luminance: a TMO curve baked by
   the engine, or the inverse of the BT.2100 HLG OOTF;
2. a colour step tying the new luminance to the old colour (ratio, Schlick or Mantiuk);
3. a 3x3 matrix to the display's primaries, then clamping to [0, clamp_max];
4. a per-channel encode_lut (PQ inverse EOTF, HLG OETF, BT.1886 inverse EOTF).

`apply` is the stages' output transform. engine.processor.build.display_ops describes the same
steps as ops, which the export's processor runs and from which the preview's shader is
generated (engine.processor.glsl), which is what makes the preview equal the export
(docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import Tensor

from engine.color import transfer as tf
from engine.color.correction import apply_gain
from engine.color.luminance import luminance
from engine.color.primaries import BT709, BT2020, apply_matrix, conversion_matrix
from engine.deliverables import ViewKind
from engine.lut import Lut1D

# Encode LUT spans. PQ(1e-6 nits) and BT.1886^-1(1e-9) are below half a 12-bit code value, so
# clamping black to x_min is invisible; the top of the span is the clamp of the signal.
PQ_MIN_NITS = 1e-6
SDR_MIN_RELATIVE = 1e-9
HLG_MIN_SCENE = 1e-9
HLG_GAIN_MIN_NITS = 1e-6


@dataclass(frozen=True)
class DisplayTransform:
    """Nits (BT.2020) -> encoded display signal; see the module docstring for the steps."""

    kind: ViewKind
    encode_lut: Lut1D | None
    gain_lut: Lut1D | None = None
    color_mode: str = "ratio"
    saturation: float = 1.0
    matrix: np.ndarray | None = None
    input_scale: float = 1.0  # multiplies the frame first (e.g. 1/display peak for relative TMOs)

    def apply(self, frame: Tensor) -> Tensor:
        x = frame * self.input_scale if self.input_scale != 1.0 else frame
        if self.gain_lut is not None:
            y = luminance(x).clamp_min(0.0)
            x = apply_gain(x, y, self.gain_lut.sample(y), self.color_mode, self.saturation)
        if self.matrix is not None:
            x = apply_matrix(x, self.matrix)
        x = x.clamp_min(0.0)
        return x if self.encode_lut is None else self.encode_lut.sample(x)

    @property
    def matrix_or_identity(self) -> np.ndarray:
        return np.eye(3) if self.matrix is None else self.matrix

    @property
    def is_identity(self) -> bool:
        """Whether `apply` passes frames through unchanged (but for clamping negatives to 0)."""
        return (self.encode_lut is None and self.gain_lut is None and self.matrix is None
                and self.input_scale == 1.0)


def pq_encode_lut(peak_nits: float) -> Lut1D:
    """SMPTE ST 2084 inverse EOTF over [1e-6, peak] cd/m²; the LUT's clamp is the mastering peak."""
    return Lut1D.bake(tf.pq_inverse_eotf, PQ_MIN_NITS, peak_nits)


def pq_view(peak_nits: float) -> DisplayTransform:
    """HDR10 / PQ output: absolute cd/m², BT.2020, clipped at the mastering peak."""
    return DisplayTransform("pq", pq_encode_lut(peak_nits))


def hlg_view(peak_nits: float) -> DisplayTransform:
    """ITU-R BT.2100 HLG output for a display of `peak_nits`: inverse OOTF then the OETF.

    The inverse OOTF is a luminance gain: E = F_D / (alpha * Y_S^(gamma-1)) with
    Y_S = (Y_D / alpha)^(1/gamma), so gain(Y_D) = (Y_D / alpha)^((1-gamma)/gamma) / alpha.
    """
    gamma = tf.hlg_system_gamma(peak_nits)

    def gain(yd: Tensor) -> Tensor:
        return (yd / peak_nits) ** ((1.0 - gamma) / gamma) / peak_nits

    gain_lut = Lut1D.bake(gain, HLG_GAIN_MIN_NITS, peak_nits)
    encode = Lut1D.bake(tf.hlg_oetf, HLG_MIN_SCENE, 1.0)
    return DisplayTransform("hlg", encode, gain_lut=gain_lut)


def sdr_view(tmo_gain: Lut1D | None, color_mode: str = "ratio", saturation: float = 1.0) -> DisplayTransform:
    """SDR output: a TMO gain curve (cd/m² -> display-relative), BT.709 primaries, BT.1886.

    With `tmo_gain` None the frame must be display-relative already (a spatial TMO ran in the
    engine); otherwise frames come in cd/m² and the baked TMO curve maps them.
    """
    encode = Lut1D.bake(tf.bt1886_inverse_eotf, SDR_MIN_RELATIVE, 1.0)
    return DisplayTransform(
        "sdr", encode, gain_lut=tmo_gain, color_mode=color_mode, saturation=saturation,
        matrix=conversion_matrix(BT2020, BT709),
    )


def encoded_view(kind: ViewKind) -> DisplayTransform:
    """Frames the engine's output stage has encoded already (engine.stages.output): the display
    work left is the identity. The preview shows a spatial TMO's SDR frame this way, and each
    side of a compare of two grades, so it shows exactly the signal the export encodes."""
    return DisplayTransform(kind, None)


def linear_view(nits_per_unit: float) -> DisplayTransform:
    """Scene-linear output (OpenEXR): cd/m² divided by the file's whiteLuminance, no encoding."""
    return DisplayTransform("linear", None, input_scale=1.0 / nits_per_unit)
