"""An H.264 / HEVC sequence parameter set reader, as far as the ChromaSampleLocType it signals.

A decoder hands over Y'CbCr planes without saying where the 4:2:0 chroma samples lie among the
luma samples; the sequence parameter set's VUI does (ITU-T H.264 Annex E.1.1, H.265 Annex
E.2.1; the code points are those of ITU-T H.273 ChromaSampleLocType). FFmpeg reads it, but PyAV
does not expose it, so the SPS is parsed here as far as chroma_sample_loc_type_top_field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from engine.io.tags import ChromaLocation

# H.264 Table 7-1 nal_unit_type 7 and H.265 Table 7-1 SPS_NUT.
_H264_SPS = 7
_HEVC_SPS = 33
# H.264 §7.3.2.1.1: profile_idc values whose SPS carries chroma_format_idc, bit depths and scaling.
_H264_HIGH_PROFILES = frozenset({44, 83, 86, 100, 110, 118, 122, 128, 134, 135, 138, 139, 244})
_EXTENDED_SAR = 255  # aspect_ratio_idc Extended_SAR (H.264 Table E-1, H.265 Table E.1)
_START_CODE = b"\x00\x00\x01"
_EMULATION_PREVENTION = b"\x00\x00\x03"
# In-band parameter sets come with the first keyframe, normally the first packet; a few more
# allow for leading packets without one, and the search never reads far into the file.
_PACKETS_SEARCHED = 8


class _Malformed(ValueError):
    """The data ends early or holds a value its syntax forbids."""


class _Bits:
    """An MSB-first bit reader with the exp-Golomb codes of H.264 §9.1 and H.265 §9.2."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._value = int.from_bytes(data, "big")
        self._size = 8 * len(data)
        self._pos = 0

    def u(self, n: int) -> int:
        """u(n): an n-bit unsigned integer."""
        end = self._pos + n
        if end > self._size:
            raise _Malformed("truncated")
        value = (self._value >> (self._size - end)) & ((1 << n) - 1)
        self._pos = end
        return value

    def flag(self) -> bool:
        return bool(self.u(1))

    def ue(self, maximum: int = 2**32 - 2) -> int:
        """ue(v), refused above `maximum` (the range the semantics allow)."""
        zeros = 0
        while not self.u(1):
            zeros += 1
            if zeros > 31:  # H.264 and H.265 code nothing above 2^32 - 2
                raise _Malformed("exp-Golomb code too long")
        value = (1 << zeros) - 1 + self.u(zeros)
        if value > maximum:
            raise _Malformed(f"{value} exceeds {maximum}")
        return value

    def se(self) -> int:
        """se(v): ue(v) k maps to (-1)^(k+1) * ceil(k / 2)."""
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)

    def take(self, n: int) -> bytes:
        """n whole bytes, from a byte-aligned position (the fields of a configuration record)."""
        start = self._pos // 8
        if start + n > len(self._data):
            raise _Malformed("truncated")
        self._pos += 8 * n
        return self._data[start : start + n]


def _vui_chroma_location(bits: _Bits) -> ChromaLocation | None:
    """H.264 §E.1.1 / H.265 §E.2.1 vui_parameters, identical up to chroma_sample_loc_type_top_field.

    The top field's type is taken: progressive video codes the same type for both fields.
    """
    # aspect_ratio_info_present_flag, then aspect_ratio_idc
    if bits.flag() and bits.u(8) == _EXTENDED_SAR:
        bits.u(32)  # sar_width, sar_height
    if bits.flag():  # overscan_info_present_flag
        bits.u(1)  # overscan_appropriate_flag
    if bits.flag():  # video_signal_type_present_flag
        bits.u(4)  # video_format, video_full_range_flag
        if bits.flag():  # colour_description_present_flag
            bits.u(24)  # colour_primaries, transfer_characteristics, matrix_coeffs
    if not bits.flag():  # chroma_loc_info_present_flag
        return None
    return ChromaLocation(bits.ue(5))


def _h264_scaling_list(bits: _Bits, size: int) -> None:
    """H.264 §7.3.2.1.1.1 scaling_list(), skipped: delta_scale values until the running scale
    reaches 0, which repeats the last one over the rest of the list."""
    scale = 8
    for _ in range(size):
        delta = bits.se()
        if not -128 <= delta <= 127:
            raise _Malformed("delta_scale out of range")
        scale = (scale + delta + 256) % 256
        if scale == 0:
            return


def _h264_chroma_location(bits: _Bits) -> ChromaLocation | None:
    """H.264 §7.3.2.1.1 seq_parameter_set_data(), read up to its VUI."""
    profile_idc = bits.u(8)
    bits.u(16)  # constraint_set0..5_flag, reserved_zero_2bits, level_idc
    bits.ue(31)  # seq_parameter_set_id
    if profile_idc in _H264_HIGH_PROFILES:
        chroma_format_idc = bits.ue(3)
        if chroma_format_idc == 3:
            bits.u(1)  # separate_colour_plane_flag
        bits.ue(6)  # bit_depth_luma_minus8
        bits.ue(6)  # bit_depth_chroma_minus8
        bits.u(1)  # qpprime_y_zero_transform_bypass_flag
        if bits.flag():  # seq_scaling_matrix_present_flag
            for i in range(12 if chroma_format_idc == 3 else 8):
                if bits.flag():  # seq_scaling_list_present_flag[i]: six 4x4 lists, then 8x8 ones
                    _h264_scaling_list(bits, 16 if i < 6 else 64)
    bits.ue(12)  # log2_max_frame_num_minus4
    pic_order_cnt_type = bits.ue(2)
    if pic_order_cnt_type == 0:
        bits.ue(12)  # log2_max_pic_order_cnt_lsb_minus4
    elif pic_order_cnt_type == 1:
        bits.u(1)  # delta_pic_order_always_zero_flag
        bits.se()  # offset_for_non_ref_pic
        bits.se()  # offset_for_top_to_bottom_field
        for _ in range(bits.ue(255)):  # num_ref_frames_in_pic_order_cnt_cycle
            bits.se()  # offset_for_ref_frame[i]
    bits.ue(16)  # max_num_ref_frames
    bits.u(1)  # gaps_in_frame_num_value_allowed_flag
    bits.ue()  # pic_width_in_mbs_minus1
    bits.ue()  # pic_height_in_map_units_minus1
    if not bits.flag():  # frame_mbs_only_flag
        bits.u(1)  # mb_adaptive_frame_field_flag
    bits.u(1)  # direct_8x8_inference_flag
    if bits.flag():  # frame_cropping_flag
        for _ in range(4):
            bits.ue()  # frame_crop_left/right/top/bottom_offset
    return _vui_chroma_location(bits) if bits.flag() else None  # vui_parameters_present_flag


def _hevc_profile_tier_level(bits: _Bits, max_sub_layers_minus1: int) -> None:
    """H.265 §7.3.3 profile_tier_level(1, sps_max_sub_layers_minus1), skipped."""
    # general_profile_space .. general_profile_idc (8), compatibility flags (32), source and
    # constraint flags (48), general_level_idc (8).
    bits.u(96)
    present = [(bits.flag(), bits.flag()) for _ in range(max_sub_layers_minus1)]
    if max_sub_layers_minus1 > 0:
        bits.u(2 * (8 - max_sub_layers_minus1))  # reserved_zero_2bits
    for profile_present, level_present in present:
        bits.u(88 * profile_present + 8 * level_present)  # sub_layer profile (88 bits), level (8)


def _hevc_scaling_list_data(bits: _Bits) -> None:
    """H.265 §7.3.4 scaling_list_data(), skipped."""
    for size_id in range(4):
        for matrix_id in range(0, 6, 3 if size_id == 3 else 1):
            if not bits.flag():  # scaling_list_pred_mode_flag: copy of an earlier list
                bits.ue(matrix_id // 3 if size_id == 3 else matrix_id)  # scaling_list_pred_matrix_id_delta
                continue
            if size_id > 1:
                bits.se()  # scaling_list_dc_coef_minus8
            for _ in range(min(64, 1 << (4 + 2 * size_id))):
                bits.se()  # scaling_list_delta_coef


def _hevc_st_ref_pic_set(bits: _Bits, sets: list[list[int]]) -> list[int]:
    """H.265 §7.3.7 st_ref_pic_set(len(sets)) in an SPS: its delta POCs, S0 (descending) then S1.

    A set predicted from the one before it codes one flag pair per picture of that set plus
    one for the reference picture itself, so each set's pictures are derived as §7.4.8 does.
    """
    if not sets or not bits.flag():  # inter_ref_pic_set_prediction_flag
        counts = (bits.ue(16), bits.ue(16))  # num_negative_pics, num_positive_pics
        pictures = []
        for count, sign in zip(counts, (-1, 1), strict=True):
            poc = 0
            for _ in range(count):
                poc += sign * (bits.ue(2**15 - 1) + 1)  # delta_poc_s0/s1_minus1
                bits.u(1)  # used_by_curr_pic_s0/s1_flag
                pictures.append(poc)
        return pictures
    # delta_idx_minus1 is coded in slice headers only: in an SPS the reference is the previous set.
    sign = -1 if bits.flag() else 1  # delta_rps_sign
    delta_rps = sign * (bits.ue(2**15 - 1) + 1)  # abs_delta_rps_minus1
    kept = []
    for reference_poc in [*sets[-1], 0]:  # the last flag pair stands for the reference picture
        used_by_curr_pic = bits.flag()
        if used_by_curr_pic or bits.flag():  # use_delta_flag, inferred 1 when absent
            kept.append(reference_poc + delta_rps)
    # §7.4.8 keeps the negative and the positive deltas: a delta of 0 is no picture.
    return sorted((p for p in kept if p < 0), reverse=True) + sorted(p for p in kept if p > 0)


def _hevc_chroma_location(bits: _Bits) -> ChromaLocation | None:
    """H.265 §7.3.2.2 seq_parameter_set_rbsp() of the base layer, read up to its VUI."""
    bits.u(4)  # sps_video_parameter_set_id
    max_sub_layers_minus1 = bits.u(3)
    if max_sub_layers_minus1 > 6:
        raise _Malformed("sps_max_sub_layers_minus1 above 6")
    bits.u(1)  # sps_temporal_id_nesting_flag
    _hevc_profile_tier_level(bits, max_sub_layers_minus1)
    bits.ue(15)  # sps_seq_parameter_set_id
    if bits.ue(3) == 3:  # chroma_format_idc
        bits.u(1)  # separate_colour_plane_flag
    bits.ue()  # pic_width_in_luma_samples
    bits.ue()  # pic_height_in_luma_samples
    if bits.flag():  # conformance_window_flag
        for _ in range(4):
            bits.ue()  # conf_win_left/right/top/bottom_offset
    bits.ue(8)  # bit_depth_luma_minus8
    bits.ue(8)  # bit_depth_chroma_minus8
    poc_lsb_bits = bits.ue(12) + 4  # log2_max_pic_order_cnt_lsb_minus4
    all_sub_layers = bits.flag()  # sps_sub_layer_ordering_info_present_flag
    for _ in range(0 if all_sub_layers else max_sub_layers_minus1, max_sub_layers_minus1 + 1):
        bits.ue()  # sps_max_dec_pic_buffering_minus1
        bits.ue()  # sps_max_num_reorder_pics
        bits.ue()  # sps_max_latency_increase_plus1
    # log2_min_luma_coding_block_size_minus3, log2_diff_max_min_luma_coding_block_size,
    # log2_min/diff_max_min_luma_transform_block_size, max_transform_hierarchy_depth_inter/intra
    for _ in range(6):
        bits.ue()
    # scaling_list_enabled_flag, then sps_scaling_list_data_present_flag
    if bits.flag() and bits.flag():
        _hevc_scaling_list_data(bits)
    bits.u(2)  # amp_enabled_flag, sample_adaptive_offset_enabled_flag
    if bits.flag():  # pcm_enabled_flag
        bits.u(8)  # pcm_sample_bit_depth_luma_minus1, pcm_sample_bit_depth_chroma_minus1
        bits.ue()  # log2_min_pcm_luma_coding_block_size_minus3
        bits.ue()  # log2_diff_max_min_pcm_luma_coding_block_size
        bits.u(1)  # pcm_loop_filter_disabled_flag
    sets: list[list[int]] = []
    for _ in range(bits.ue(64)):  # num_short_term_ref_pic_sets
        sets.append(_hevc_st_ref_pic_set(bits, sets))
    if bits.flag():  # long_term_ref_pics_present_flag
        for _ in range(bits.ue(32)):  # num_long_term_ref_pics_sps
            bits.u(poc_lsb_bits + 1)  # lt_ref_pic_poc_lsb_sps, used_by_curr_pic_lt_sps_flag
    bits.u(2)  # sps_temporal_mvp_enabled_flag, strong_intra_smoothing_enabled_flag
    return _vui_chroma_location(bits) if bits.flag() else None  # vui_parameters_present_flag


def _avcc_nal_units(bits: _Bits) -> tuple[list[bytes], int]:
    """ISO/IEC 14496-15 §5.3.3.1 AVCDecoderConfigurationRecord: its SPS and the NAL length size."""
    bits.u(38)  # configurationVersion, profile, compatibility, level, reserved '111111'b
    length_size = bits.u(2) + 1
    bits.u(3)  # reserved '111'b
    return [bits.take(bits.u(16)) for _ in range(bits.u(5))], length_size


def _hvcc_nal_units(bits: _Bits) -> tuple[list[bytes], int]:
    """ISO/IEC 14496-15 §8.3.3.1 HEVCDecoderConfigurationRecord: its NAL units and length size."""
    bits.u(8 * 21 + 6)  # version, profile/tier/level, formats and rates, temporal layer fields
    length_size = bits.u(2) + 1
    units = []
    for _ in range(bits.u(8)):  # numOfArrays
        bits.u(8)  # array_completeness, reserved, NAL_unit_type
        units += [bits.take(bits.u(16)) for _ in range(bits.u(16))]
    return units, length_size


@dataclass(frozen=True)
class _Syntax:
    header_bytes: int  # the NAL unit header (H.264 §7.3.1, H.265 §7.3.1.2)
    is_sps: Callable[[bytes], bool]
    config_record: Callable[[_Bits], tuple[list[bytes], int]]
    chroma_location: Callable[[_Bits], ChromaLocation | None]


def _is_h264_sps(nal: bytes) -> bool:
    return nal[0] & 0x1F == _H264_SPS  # nal_unit_type


def _is_hevc_base_layer_sps(nal: bytes) -> bool:
    # nal_unit_type in bits 1..6 of the first byte, nuh_layer_id straddling the two bytes.
    return nal[0] >> 1 == _HEVC_SPS and ((nal[0] & 1) << 5 | nal[1] >> 3) == 0


_SYNTAX = {
    "h264": _Syntax(1, _is_h264_sps, _avcc_nal_units, _h264_chroma_location),
    "hevc": _Syntax(2, _is_hevc_base_layer_sps, _hvcc_nal_units, _hevc_chroma_location),
}


def _annex_b_nal_units(data: bytes) -> list[bytes]:
    """H.264/H.265 Annex B byte stream: NAL units between start codes; trailing zero bytes (and
    the leading zero of four-byte start codes) are stripped, as a NAL unit never ends in 0x00."""
    return [unit.rstrip(b"\x00") for unit in data.split(_START_CODE)[1:]]


def _length_prefixed_nal_units(data: bytes, length_size: int) -> Iterator[bytes]:
    """ISO/IEC 14496-15 samples: each NAL unit follows its big-endian length."""
    pos = 0
    while pos + length_size <= len(data):
        length = int.from_bytes(data[pos : pos + length_size], "big")
        pos += length_size
        yield data[pos : pos + length]
        pos += length


def _first_sps(syntax: _Syntax, extradata: bytes, packets: Iterable[bytes]) -> bytes | None:
    """The first SPS NAL unit in the extradata or, when it has none, in the first packets.

    Packets hold NAL units the way the extradata says: length-prefixed after a configuration
    record, with start codes after Annex B extradata or none (a start code cannot be told from
    a length prefix of 256..511, so the packets' own bytes do not decide).
    """

    def sps_among(units: Iterable[bytes]) -> bytes | None:
        return next((u for u in units if len(u) > syntax.header_bytes and syntax.is_sps(u)), None)

    length_size: int | None = None
    if not extradata or extradata.startswith((_START_CODE, b"\x00" + _START_CODE)):
        sps = sps_among(_annex_b_nal_units(extradata))
    else:
        units, length_size = syntax.config_record(_Bits(extradata))
        sps = sps_among(units)
    if sps is not None:
        return sps
    for packet in islice(packets, _PACKETS_SEARCHED):
        if length_size is None:
            sps = sps_among(_annex_b_nal_units(packet))
        else:
            sps = sps_among(_length_prefixed_nal_units(packet, length_size))
        if sps is not None:
            return sps
    return None


def read_chroma_location(
    codec: str, extradata: bytes | None, packets: Iterable[bytes] = ()
) -> ChromaLocation | None:
    """The ChromaSampleLocType an H.264 or HEVC stream's first SPS signals, or None.

    codec: FFmpeg's codec name ('h264', 'hevc'; any other gives None). extradata: the codec
    context's (an avcC / hvcC record, or Annex B). packets: the stream's packets in order, read
    (a few at most) only when the extradata holds no SPS: avc3/hev1 sample entries, MPEG-TS and
    raw streams carry it in band. None also when the SPS is truncated or corrupt.
    """
    syntax = _SYNTAX.get(codec)
    if syntax is None:
        return None
    try:
        sps = _first_sps(syntax, extradata or b"", packets)
        if sps is None:
            return None
        # H.264 §7.4.1 / H.265 §7.4.2: emulation_prevention_three_byte follows every 0x0000 pair
        # that would otherwise look like a start code; left to right, as the decoder drops them.
        rbsp = sps[syntax.header_bytes :].replace(_EMULATION_PREVENTION, b"\x00\x00")
        return syntax.chroma_location(_Bits(rbsp))
    except _Malformed:
        return None
