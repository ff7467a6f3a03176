"""HDR10 static metadata: ST 2086 / CTA-861.3 values and their x265 spelling, and the light meter."""

from __future__ import annotations

import math

import pytest
import torch

from engine.io.hdr_metadata import ContentLightLevel, LightLevelMeter, MasteringDisplay

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


def test_p3_d65_preset_matches_the_x265_documentation_example() -> None:
    # x265 CLI documentation, --master-display: the P3-D65 1000 cd/m² grading monitor.
    expected = "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)"
    assert MasteringDisplay.p3_d65(1000.0, 0.0001).x265_param() == expected


def test_bt2020_preset_uses_the_bt2020_chromaticities() -> None:
    # ITU-R BT.2020 Table 3 primaries (0.708, 0.292), (0.170, 0.797), (0.131, 0.046), D65, in 0.00002 units.
    display = MasteringDisplay.bt2020(4000.0, 0.005)
    assert display.x265_param() == "G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(40000000,50)"


def test_mastering_display_rejects_an_empty_luminance_range() -> None:
    with pytest.raises(ValueError, match="luminance range"):
        MasteringDisplay.p3_d65(0.0001, 0.0001)


def test_content_light_level_rounds_up_and_clamps_to_16_bits() -> None:
    assert ContentLightLevel(999.2, 399.5).x265_param() == "1000,400"
    assert ContentLightLevel(70000.0, 100.0).x265_param() == "65535,100"
    with pytest.raises(ValueError, match="MaxFALL"):
        ContentLightLevel(100.0, 200.0)


@pytest.mark.parametrize("device", DEVICES)
def test_light_level_meter_against_hand_computed_levels(device: str) -> None:
    meter = LightLevelMeter(peak_nits=1000.0)
    # Frame A: max(R,G,B) per pixel = 300 and min(2000, peak) = 1000 -> max 1000, mean 650.
    meter.add(torch.tensor([[[100.0, 2000.0]], [[300.0, 10.0]], [[50.0, 10.0]]], device=device))
    # Frame B: 700 and 800 (NaN counts as 0, negatives clip to 0) -> max 800, mean 750.
    meter.add(torch.tensor([[[700.0, math.nan]], [[-5.0, 800.0]], [[0.0, 0.0]]], device=device))
    levels = meter.result()
    assert levels.max_cll == pytest.approx(1000.0)  # from frame A
    assert levels.max_fall == pytest.approx(750.0)  # from frame B


def test_light_level_meter_without_frames_reports_unknown() -> None:
    assert LightLevelMeter(1000.0).result() == ContentLightLevel(0.0, 0.0)
