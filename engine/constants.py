"""Numbers with one meaning that several modules share: SDR reference white and the clip levels.

Each level is defined once here, with its source; a module that needs one imports it instead of
writing the number again. Levels on SDR *signals* are code values in [0, 1] (8-bit code / 255).

Four clip levels remain, because they answer four different questions:

- CLIPPED_CODE: is this pixel clipped? The top 8-bit code value, as decoded.
- CODEC_CLIP_BAND_START: might this pixel be clipped, lowered by the codec? A band under it.
- OVEREXPOSURE_TAU: where does a soft over-exposure mask start to fall (Santos et al. 2020)?
- CLIPPED_RELATIVE_LUMINANCE: which share of a frame is over-exposed (Masia et al. 2017)?

Operators with a published threshold of their own (Kovaleski & Oliveira 2014: 230/255 for video)
keep it as their parameter's default, and the synthetic camera's sensor saturates at 1.0 linear
(engine.synth.degrade), which is not a code value at all.
"""

from __future__ import annotations

SDR_REFERENCE_WHITE_NITS = 203.0
"""Where SDR reference (diffuse) white sits in HDR, in cd/m² (ITU-R BT.2408, HDR reference white)."""

CLIPPED_CODE = 254.0 / 255.0
"""An SDR signal at or above this counts as clipped: code values 254 and 255 of 8 bits.

The decoded R'G'B' of a clipped area lands on 255 or, after Y'CbCr rounding, one code below;
the GUI's clipped-source mask and the temporal analysis's clipped share both use it. (The
mask's old level, 254.5/255, counted 255 only; the engine's level is kept since it is the one a
render depends on.)
"""

CODEC_CLIP_BAND_START = 1.0 - 4.0 / 255.0
"""SDR codes at or above this may be clipped ones that a codec lowered (H.264 rounding, 4:2:0
chroma and ringing leave clipped areas a few codes below 255); below it they measure radiance.

Temporal reconstruction hands these pixels over to clues from other frames, and the evaluation's
highlight region (engine.metrics.regions) is the same set, so it scores what the reconstruction
treats as clipped. (The evaluation's old level, 250/255, counted one code more.)
"""

OVEREXPOSURE_TAU = 0.95
"""The SDR code value where the soft over-exposure mask M = 1 - min(max(0, I - tau) / (1 - tau), 1)
starts to fall (Santos et al. 2020, after Eilertsen et al. 2017, "HDR image reconstruction from a
single exposure using deep CNNs": tau = 0.95). Masks for the learned models and the temporal merge.
"""

CLIPPED_RELATIVE_LUMINANCE = 0.95
"""SDR-relative linear luminance at or above which a pixel counts as over-exposed in the frame
statistics (Masia, Serrano & Gutierrez 2017, over-exposed share). In BT.1886 code values this is
0.95^(1/2.4) = 249.6/255, near but not equal to the signal levels above; expressing it through
them would change the renders of the operators that read the share (masia17).
"""

OCIO_STUDIO_CONFIG = "ocio://studio-config-latest"
"""OpenColorIO's built-in studio config (ACES 2.0 views, camera log spaces): the default config."""
