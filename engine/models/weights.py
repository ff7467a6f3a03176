"""Network weights: safetensors files checked against recorded SHA-256 sums, and their configs.

A model called NAME lives in a folder as NAME.safetensors (the tensors), NAME.json (the
architecture, the training settings and the data split) and a line in SHA256SUMS, in the format
of coreutils' sha256sum. Nothing is unpickled and nothing is downloaded (docs/architecture.md,
"Rules the code keeps"): a file whose digest differs from its recorded one is refused before it is parsed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from engine.assets import RESOURCES_DIR
from engine.errors import FormatError, MediaError
from engine.io.atomic import AtomicOutput
from engine.models.refine import RefineNet
from engine.models.unet import HighlightNet, UNetConfig

MODELS_DIR = RESOURCES_DIR / "models"
CHECKSUMS_NAME = "SHA256SUMS"
HIGHLIGHT_MODEL = "masked_unet"
REFINE_MODEL = "refine_unet"
MODEL_KINDS: dict[str, type[HighlightNet] | type[RefineNet]] = {
    "highlight": HighlightNet,
    "refine": RefineNet,
}
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex SHA-256 digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_checksums(folder: Path) -> dict[str, str]:
    """file name -> hex digest, from the folder's SHA256SUMS ('<hex>  <name>' per line)."""
    path = folder / CHECKSUMS_NAME
    if not path.is_file():
        raise MediaError("checksum list not found", path)
    sums: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise FormatError(f"line {number} is not '<sha256>  <file>'", path)
        sums[name.lstrip("*")] = digest.lower()
    return sums


def record_checksum(path: Path) -> None:
    """Add or replace the file's line in the SHA256SUMS next to it."""
    folder = path.parent
    sums = read_checksums(folder) if (folder / CHECKSUMS_NAME).is_file() else {}
    sums[path.name] = sha256_file(path)
    text = "".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items()))
    _write_atomic(folder / CHECKSUMS_NAME, text.encode())


def load_checked(path: Path) -> dict[str, Tensor]:
    """The tensors of a safetensors file whose SHA-256 matches the one recorded next to it."""
    path = Path(path)
    if not path.is_file():
        raise MediaError("model weights not found", path)
    expected = read_checksums(path.parent).get(path.name)
    if expected is None:
        raise FormatError(f"no SHA-256 recorded in {CHECKSUMS_NAME}", path)
    if sha256_file(path) != expected:
        raise FormatError("SHA-256 mismatch: the weights are corrupted or were changed", path)
    try:
        return load_file(path)
    except SafetensorError as exc:
        raise FormatError(f"not a readable safetensors file ({exc})", path) from None


def save_tensors(path: Path, tensors: dict[str, Tensor], checksum: bool = True) -> None:
    """Write tensors as safetensors under a temporary name, then record the file's SHA-256."""
    path = Path(path)
    with AtomicOutput(path) as temp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, temp)
    # safetensors creates its file private to the user; weights are read by every user.
    path.chmod(0o644)
    if checksum:
        record_checksum(path)


def write_json(path: Path, data: dict[str, Any]) -> None:
    _write_atomic(Path(path), (json.dumps(data, indent=2) + "\n").encode())


def read_json(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise MediaError("model config not found", path)
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"not valid JSON ({exc})", path) from None
    if not isinstance(data, dict):
        raise FormatError("a model config must be a JSON object", path)
    return data


# Bounds of an architecture a config may name, checked before its layers are allocated: the
# shipped networks use 4 levels of at most 64 channels.
_MAX_LEVELS, _MAX_WIDTH, _MAX_CHANNELS, _MAX_UNSHUFFLE = 8, 1024, 64, 8


def build_model(config: dict[str, Any], path: Path | None = None) -> HighlightNet | RefineNet:
    """An untrained network of the kind and architecture a config names."""
    try:
        cls = MODEL_KINDS[config["model"]]
        architecture = UNetConfig.from_json(config["architecture"])
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"not a model config this version knows ({exc!r})", path) from None
    a = architecture
    sizes = (*a.widths, a.in_channels, a.out_channels, a.unshuffle)
    if not (all(isinstance(v, int) and not isinstance(v, bool) for v in sizes)
            and 1 <= len(a.widths) <= _MAX_LEVELS and all(1 <= w <= _MAX_WIDTH for w in a.widths)
            and 1 <= a.in_channels <= _MAX_CHANNELS and 1 <= a.out_channels <= _MAX_CHANNELS
            and 1 <= a.unshuffle <= _MAX_UNSHUFFLE):
        raise FormatError(f"architecture out of bounds (widths {list(a.widths)[:10]}, channels "
                          f"{a.in_channels}/{a.out_channels}, unshuffle {a.unshuffle})", path)
    try:
        return cls(architecture)
    except ValueError as exc:  # within bounds but not this kind's layout (RefineNet's channels)
        raise FormatError(f"not a {config['model']} network this version runs ({exc})", path) from None


def load_state(model: nn.Module, tensors: dict[str, Tensor], path: Path) -> None:
    """Copy checked tensors into a model; a missing, extra or wrong-shaped tensor is a FormatError."""
    own = model.state_dict()
    missing = sorted(set(own) - set(tensors))
    extra = sorted(set(tensors) - set(own))
    if missing or extra:
        which = f"lacks {missing[0]}" if missing else f"has an unknown tensor {extra[0]}"
        raise FormatError(f"weights do not fit the model: {which}", path)
    for key, value in own.items():
        if tensors[key].shape != value.shape:
            raise FormatError(f"tensor {key} has shape {tuple(tensors[key].shape)}, the model needs "
                              f"{tuple(value.shape)}", path)
    model.load_state_dict(tensors, strict=True)


def load_network(name: str, folder: Path = MODELS_DIR) -> HighlightNet | RefineNet:
    """The trained network NAME from `folder` (NAME.json + NAME.safetensors), in eval mode."""
    folder = Path(folder)
    config_path = folder / f"{name}.json"
    model = build_model(read_json(config_path), config_path)
    weights_path = folder / f"{name}.safetensors"
    load_state(model, load_checked(weights_path), weights_path)
    return model.eval()


def save_network(model: HighlightNet | RefineNet, config: dict[str, Any], name: str,
                 folder: Path = MODELS_DIR) -> None:
    """Write NAME.safetensors, its checksum and NAME.json (config + architecture) to `folder`."""
    kind = next(k for k, cls in MODEL_KINDS.items() if isinstance(model, cls))
    save_tensors(folder / f"{name}.safetensors", model.state_dict())
    write_json(folder / f"{name}.json",
               {"model": kind, "architecture": model.config.to_json(), **config})


def _write_atomic(path: Path, data: bytes) -> None:
    with AtomicOutput(path) as temp, open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())

