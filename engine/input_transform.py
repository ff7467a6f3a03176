"""The input transform: decoded code values -> linear light in BT.2020.

SDR sources come out display-linear and relative (1.0 = the SDR display's peak), which is what
ITM operators take. HDR sources (PQ, HLG, linear EXR) come out in absolute cd/m² and skip the
ITM stage. So does footage in an OpenColorIO input colour space (camera log, ACEScct;
engine.ocio_input): it is scene-linear with 1.0 the scene's diffuse white, placed at the
grade's reference white (ITU-R BT.2408: 203 cd/m²), and its highlights need no expansion.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from engine.color import transfer as tf
from engine.color.primaries import BT709, BT2020, PRIMARIES, Primaries, convert_primaries
from engine.constants import SDR_REFERENCE_WHITE_NITS
from engine.crf.camera_lut import camera_lut_response, check_response
from engine.errors import FormatError, GradeError
from engine.grade import SourceTransform
from engine.io.clip import ClipInfo
from engine.io.tags import ColorTags
from engine.ocio_input import OcioInput, bake_input_space

# Stream transfer tags (FFmpeg's names) -> our transfer families.
_TRANSFER_ALIASES = {
    "bt709": "bt1886", "bt601": "bt1886", "smpte170m": "bt1886", "bt470bg": "bt1886",
    "bt2020-10": "bt1886", "bt2020-12": "bt1886", "bt1886": "bt1886", "smpte240m": "bt1886",
    "srgb": "srgb", "iec61966-2-1": "srgb", "gamma22": "gamma22", "bt470m": "gamma22",
    "gamma28": "gamma28", "smpte2084": "pq", "pq": "pq", "arib-std-b67": "hlg", "hlg": "hlg",
    "linear": "linear",
}
_PRIMARY_ALIASES = {"smpte432": "p3-d65", "bt470bg": "bt601-625", "smpte170m": "bt601-525",
                    "smpte240m": "bt601-525"}
DEFAULT_LINEAR_NITS_PER_UNIT = 100.0  # OpenEXR convention when whiteLuminance is absent
_UNTAGGED_HD = ColorTags("bt709", "bt709", "bt709", False)
# SDR transfers that decode through a camera's inverse response table rather than a formula:
# estimated from the clip (engine.crf.estimate) or read from the grade's 1-D LUT file.
RESPONSE_TRANSFERS = ("estimated", "camera-lut")


@dataclass(frozen=True)
class InputTransform:
    """A resolved source transform; `hdr` says whether the output is cd/m² or SDR-relative."""

    transfer: str  # bt1886 | bt709-camera | srgb | gamma | linear | pq | hlg | ocio | estimated | camera-lut
    gamma: float
    primaries: Primaries
    nits_per_unit: float = DEFAULT_LINEAR_NITS_PER_UNIT
    hlg_peak: float = 1000.0
    ocio: OcioInput | None = None  # transfer 'ocio': the baked colour space, already to BT.2020
    # estimated, camera-lut: the inverse camera response tabled at evenly spaced signal values
    # (engine.crf), 1.0 at the clip
    response: Tensor | None = None

    @property
    def hdr(self) -> bool:
        return self.transfer in ("pq", "hlg", "linear", "ocio")

    def apply(self, signal: Tensor) -> Tensor:
        """(3, H, W) code values (or linear data) -> linear BT.2020, relative or cd/m²."""
        if self.ocio is not None:
            return self.ocio.apply(signal) * self.nits_per_unit
        if self.transfer == "bt1886":
            linear = tf.bt1886_eotf(signal)
        elif self.transfer == "bt709-camera":
            linear = tf.bt709_inverse_oetf(signal)
        elif self.transfer == "srgb":
            linear = tf.srgb_eotf(signal)
        elif self.transfer == "gamma":
            linear = tf.gamma_eotf(signal, self.gamma)
        elif self.transfer in RESPONSE_TRANSFERS:
            linear = self.response_eotf(signal)
        elif self.transfer == "pq":
            linear = tf.pq_eotf(signal)
        elif self.transfer == "hlg":
            linear = tf.hlg_eotf(signal, self.hlg_peak)
        else:
            linear = signal.clamp_min(0.0) * self.nits_per_unit
        return convert_primaries(linear, self.primaries, BT2020)

    def response_eotf(self, signal: Tensor) -> Tensor:
        """Code values -> scene-linear light through the camera's inverse response (1.0 = its clip)."""
        # Imported here: engine.temporal pulls in OpenCV, which most sources never need.
        from engine.temporal.crf import linearise

        if self.response is None:
            raise FormatError(f"the {self.transfer} source transfer has no response curve")
        return linearise(signal, self.response)


def resolve_input_transform(source: SourceTransform, info: ClipInfo | None,
                            reference_white: float = SDR_REFERENCE_WHITE_NITS,
                            response: Tensor | None = None) -> InputTransform:
    """Combine the grade's source settings with the clip's colour tags ('auto' follows tags;
    without a clip, the tags of untagged HD video: BT.709 primaries, BT.1886).

    reference_white: cd/m² of an OCIO input space's 1.0 (its diffuse white), the grade's.
    response: the clip's estimated inverse response, used when the transfer is 'estimated';
    'camera-lut' reads its own from the grade's source.camera_lut file.
    """
    if source.transfer == "ocio":
        if not source.ocio_space:
            raise GradeError("source transfer 'ocio' needs source.ocio_space, an OpenColorIO colour space")
        baked = bake_input_space(source.ocio_config, source.ocio_space)
        return InputTransform("ocio", 1.0, BT2020, nits_per_unit=reference_white, ocio=baked)
    tags = info.tags if info is not None else _UNTAGGED_HD
    name = source.transfer
    gamma = source.gamma
    where = None if info is None else info.path
    if name in RESPONSE_TRANSFERS and tags.is_hdr():
        raise FormatError(f"the {name} transfer linearises SDR camera footage, not {tags.transfer}", where)
    if name == "camera-lut":
        if not source.camera_lut:
            raise GradeError("source transfer 'camera-lut' needs source.camera_lut, a 1-D .cube file")
        response = camera_lut_response(source.camera_lut)
    elif name == "estimated" and response is None:
        raise FormatError("the estimated transfer needs the clip's estimated response", where)
    elif name == "estimated":
        check_response(response)
    if name == "auto":
        family = _TRANSFER_ALIASES.get(tags.transfer)
        if family is None:
            raise FormatError(f"unsupported transfer characteristic {tags.transfer!r}", where)
        name, gamma = {"gamma22": ("gamma", 2.2), "gamma28": ("gamma", 2.8)}.get(family, (family, gamma))
    prim_name = source.primaries
    if prim_name == "auto":
        prim_name = _PRIMARY_ALIASES.get(tags.primaries, tags.primaries)
    primaries = PRIMARIES.get(prim_name, BT709)
    nits = (info.white_luminance if info is not None else None) or DEFAULT_LINEAR_NITS_PER_UNIT
    return InputTransform(name, gamma, primaries, nits_per_unit=nits,
                          response=response if name in RESPONSE_TRANSFERS else None)
