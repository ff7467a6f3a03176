"""Weights loading: SHA-256 checks, shapes, configs; nothing unpickled."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from engine.errors import FormatError, MediaError
from engine.models.refine import RefineNet
from engine.models.unet import HighlightNet, UNetConfig
from engine.models.weights import (
    CHECKSUMS_NAME,
    HIGHLIGHT_MODEL,
    MODELS_DIR,
    REFINE_MODEL,
    load_checked,
    load_network,
    read_checksums,
    record_checksum,
    save_network,
    save_tensors,
    sha256_file,
)


def _copy_shipped(tmp_path: Path, name: str = HIGHLIGHT_MODEL) -> Path:
    for suffix in (".safetensors", ".json"):
        shutil.copy(MODELS_DIR / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    shutil.copy(MODELS_DIR / CHECKSUMS_NAME, tmp_path / CHECKSUMS_NAME)
    return tmp_path


def test_shipped_checksums_match_sha256sum_format() -> None:
    sums = read_checksums(MODELS_DIR)
    for name in (HIGHLIGHT_MODEL, REFINE_MODEL):
        path = MODELS_DIR / f"{name}.safetensors"
        assert sums[path.name] == sha256_file(path)
    assert isinstance(load_network(REFINE_MODEL), RefineNet)


def test_a_flipped_byte_is_refused_naming_the_file(tmp_path: Path) -> None:
    folder = _copy_shipped(tmp_path)
    path = folder / f"{HIGHLIGHT_MODEL}.safetensors"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="SHA-256 mismatch") as info:
        load_network(HIGHLIGHT_MODEL, folder)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_wrong_shaped_weights_are_refused(tmp_path: Path) -> None:
    folder = _copy_shipped(tmp_path)
    other = HighlightNet(UNetConfig(widths=(16, 32, 64, 32)))  # same keys, one level narrower
    save_tensors(folder / f"{HIGHLIGHT_MODEL}.safetensors", other.state_dict())
    with pytest.raises(FormatError, match="has shape"):
        load_network(HIGHLIGHT_MODEL, folder)


def test_missing_tensors_and_missing_files(tmp_path: Path) -> None:
    folder = _copy_shipped(tmp_path)
    state = load_checked(folder / f"{HIGHLIGHT_MODEL}.safetensors")
    state.pop(next(iter(state)))
    save_tensors(folder / f"{HIGHLIGHT_MODEL}.safetensors", state)
    with pytest.raises(FormatError, match="lacks"):
        load_network(HIGHLIGHT_MODEL, folder)
    with pytest.raises(MediaError, match="not found"):
        load_network("absent", folder)


def test_a_truncated_file_with_a_matching_sum_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.safetensors"
    save_tensors(path, {"w": torch.arange(1000, dtype=torch.float32)})
    path.write_bytes(path.read_bytes()[:-100])
    record_checksum(path)
    with pytest.raises(FormatError, match="safetensors"):
        load_checked(path)


def test_unrecorded_file_and_bad_config_are_refused(tmp_path: Path) -> None:
    folder = _copy_shipped(tmp_path)
    shutil.copy(folder / f"{HIGHLIGHT_MODEL}.safetensors", folder / "stray.safetensors")
    with pytest.raises(FormatError, match="no SHA-256"):
        load_checked(folder / "stray.safetensors")
    (folder / f"{HIGHLIGHT_MODEL}.json").write_text("{not json")
    with pytest.raises(FormatError, match="JSON"):
        load_network(HIGHLIGHT_MODEL, folder)


def test_refinement_weights_of_another_channel_layout_are_refused_naming_the_file(tmp_path: Path) -> None:
    """Weights trained before RefineNet lost its single-frame channels (17 inputs, not 14)."""
    folder = _copy_shipped(tmp_path, REFINE_MODEL)
    config_path = folder / f"{REFINE_MODEL}.json"
    config_path.write_text(config_path.read_text().replace('"in_channels": 14', '"in_channels": 17'))
    with pytest.raises(FormatError, match="takes 14 unmasked channels") as info:
        load_network(REFINE_MODEL, folder)
    assert str(config_path) in str(info.value)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(3)
    net = HighlightNet(UNetConfig(widths=(4, 8)))
    save_network(net, {"note": "test"}, "tiny", tmp_path)
    again = load_network("tiny", tmp_path)
    assert again.config == net.config
    for (k, a), (_, b) in zip(net.state_dict().items(), again.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    assert sha256_file(tmp_path / "tiny.safetensors") == read_checksums(tmp_path)["tiny.safetensors"]
