"""Build the op list of a grade from the objects the engine already has.

The chain, in the order of today's eager path (engine.pipeline.Pipeline.hdr, then
DisplayTransform.apply, then engine.io.encode.encode_planes):

    codes -> R'G'B' (range expansion + Y'CbCr matrix) -> clamp [0, 1] -> source EOTF ->
    primaries to BT.2020 -> curve ITM gain -> exposure, saturation -> clamp >= 0 ->
    display: input scale, gain LUT + colour step, matrix, clamp >= 0, encode LUT ->
    clamp [0, 1] -> R'G'B' -> Y'CbCr codes -> quantise
"""

from __future__ import annotations

import numpy as np

from engine.color import transfer as tf
from engine.color.primaries import BT2020, conversion_matrix, luminance_weights
from engine.color.ycbcr import quantization_scale, rgb_to_ycbcr_matrix
from engine.display import HLG_GAIN_MIN_NITS, DisplayTransform
from engine.input_transform import RESPONSE_TRANSFERS, InputTransform
from engine.lut import Lut1D
from engine.processor.formats import SourceFormat, TargetFormat
from engine.processor.ops import Affine, Clamp, LogLut, LumaGain, Op, Quantize, Transfer, UniformLut
from engine.processor.optimise import optimise

BT2020_WEIGHTS = luminance_weights(BT2020)


def decode_ops(source: SourceFormat) -> list[Op]:
    """Code values -> R'G'B' in [0, 1] (BT.2100 Table 9 dequantisation, then the inverse matrix)."""
    if source.matrix is None:
        return []  # R'G'B' codes go to the EOTF as integers (eotf_ops scales them)
    ys, yo, cs, co = quantization_scale(source.bits, source.full_range)
    to_rgb = np.linalg.inv(rgb_to_ycbcr_matrix(source.matrix).numpy()) @ np.diag([1 / ys, 1 / cs, 1 / cs])
    return [Affine(to_rgb, -to_rgb @ np.array([yo, co, co])), Clamp(0.0, 1.0)]


def eotf_ops(transform: InputTransform, source: SourceFormat) -> list[Op]:
    """InputTransform.apply as ops: the source EOTF, then its primaries to BT.2020."""
    codes = source.matrix is None
    peak = float(2**source.bits - 1) if codes else 1.0
    eotfs = {
        "bt1886": tf.bt1886_eotf,
        "bt709-camera": tf.bt709_inverse_oetf,
        "srgb": tf.srgb_eotf,
        "gamma": lambda v: tf.gamma_eotf(v, transform.gamma),
        "pq": tf.pq_eotf,
        "hlg": tf.hlg_inverse_oetf,
        **dict.fromkeys(RESPONSE_TRANSFERS, transform.response_eotf),
    }
    ops: list[Op] = []
    if transform.ocio is not None:
        # engine.ocio_input: the baked curve over [0, 1] (in codes: [0, peak]), then one matrix.
        curve = transform.ocio.curve
        ops.append(Affine(np.eye(3) / peak) if curve is None else UniformLut(curve.table, 0.0, peak))
        return [*ops, Affine(transform.ocio.matrix * transform.nits_per_unit)]
    if transform.transfer == "linear":
        ops += [Clamp(0.0), Affine(np.eye(3) * transform.nits_per_unit / peak)]
    else:
        fn = eotfs[transform.transfer]
        ops.append(Transfer(transform.transfer, (lambda v: fn(v / peak)) if codes else fn, 0.0, peak, codes))
    if transform.transfer == "hlg":
        # BT.2100 HLG OOTF, F_D = alpha Y_S^(gamma - 1) E: a luminance gain on scene light.
        gamma, alpha = tf.hlg_system_gamma(transform.hlg_peak), transform.hlg_peak
        gain = Lut1D.bake(lambda y: alpha * y ** (gamma - 1.0), HLG_GAIN_MIN_NITS / alpha, 1.0)
        ops.append(LumaGain(gain, BT2020_WEIGHTS))
    if transform.primaries != BT2020:
        ops.append(Affine(conversion_matrix(transform.primaries, BT2020)))
    return ops


def grade_ops(exposure: float, saturation: float) -> list[Op]:
    """Pipeline.grade_stage: a gain of 2^exposure, saturation about luminance, clamp >= 0."""
    sat = saturation * np.eye(3) + (1.0 - saturation) * np.outer(np.ones(3), BT2020_WEIGHTS)
    return [Affine(np.eye(3) * 2.0**exposure), Affine(sat), Clamp(0.0)]


def display_ops(display: DisplayTransform) -> list[Op]:
    """DisplayTransform.apply as ops."""
    ops: list[Op] = [Affine(np.eye(3) * display.input_scale)]
    if display.gain_lut is not None:
        ops.append(LumaGain(display.gain_lut, BT2020_WEIGHTS, display.color_mode, display.saturation, True))
    ops += [Affine(display.matrix_or_identity), Clamp(0.0)]
    if display.encode_lut is not None:
        ops.append(LogLut(display.encode_lut))
    return ops


def display_chain(display: DisplayTransform) -> tuple[Op, ...]:
    """The display ops folded: what the preview's shader runs (engine.processor.glsl) and what
    the export's processor runs before encode_ops (engine.processor.grade_processor)."""
    return optimise(display_ops(display))


def encode_ops(target: TargetFormat) -> list[Op]:
    """engine.io.encode.encode_planes: clamp R'G'B' to [0, 1], the Y'CbCr matrix scaled to codes."""
    ys, yo, cs, co = quantization_scale(target.bits, target.full_range)
    to_codes = np.diag([ys, cs, cs]) @ rgb_to_ycbcr_matrix(target.matrix).numpy()
    return [Clamp(0.0, 1.0), Affine(to_codes, np.array([yo, co, co])), Quantize(target.bits)]


def build_chain(
    transform: InputTransform,
    source: SourceFormat,
    display: DisplayTransform,
    target: TargetFormat,
    itm_gain: Lut1D | None = None,
    exposure: float = 0.0,
    saturation: float = 1.0,
) -> tuple[Op, ...]:
    """The unoptimised chain of one grade: source codes -> target codes.

    itm_gain: a CurveOperator's baked gain (CurveOperator.bake), None for an HDR source or
    when the frame arrives already expanded. exposure (stops) and saturation: the Grade's.
    """
    ops = decode_ops(source) + eotf_ops(transform, source)
    if itm_gain is not None:
        ops.append(LumaGain(itm_gain, BT2020_WEIGHTS))
    return tuple(ops + grade_ops(exposure, saturation) + display_ops(display) + encode_ops(target))

