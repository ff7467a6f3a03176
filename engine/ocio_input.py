"""Input colour spaces from an OpenColorIO config: camera log footage to linear BT.2020.

A colour space of the config (OCIO's built-in studio config by default: S-Log3, ARRI LogC3 and
LogC4, Apple Log, V-Log, ACEScct, ...) is converted by OCIO to the config's scene interchange
space (the `aces_interchange` role, ACES2065-1), then by engine.color.primaries from AP0 to
BT.2020. OCIO evaluates it once, when the grade names the space, and the result is baked as
data the engine already runs: a per-channel curve over the code values [0, 1] as a uniform
table of CURVE_SIZE entries (engine.processor.ops.UniformLut, blended linearly) and a 3x3
matrix. That is exactly the shape of every camera transform of the studio config (a log curve,
then the camera gamut's matrix), and the bake checks it: a space that is not a shared
per-channel curve followed by a matrix is refused. The processor ops (the .cube baker) read
that table; frames take the faster of two paths (bench/ocio_input.py): on the CPU, OCIO's own
optimised CPU processor, on CUDA the torch table (engine.processor.torch_backend), where the
frame stays on the device. Preview and export run on one device, so they agree exactly;
tests/engine/test_ocio_input.py holds both paths to OCIO's CPU processor on the same pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import PyOpenColorIO
import torch
from torch import Tensor

from engine.color.primaries import ACES_AP0, BT2020, conversion_matrix
from engine.constants import OCIO_STUDIO_CONFIG
from engine.errors import GradeError
from engine.processor import torch_backend
from engine.processor.ops import UniformLut

DEFAULT_CONFIG = OCIO_STUDIO_CONFIG
# 2^18 entries: Apple Log's toe grows like sqrt(code) from code 0, and linear blending there errs
# by about sqrt(step); 2^16 entries left 1.4e-4 of it, 2^18 about 7e-5. Elsewhere (exponentials)
# the blending error is below 1e-9 relative.
CURVE_SIZE = 1 << 18
_PROBES = 512  # random code triplets that fit and then check the matrix
_FIT_TOLERANCE = 1e-5  # relative: OCIO's float32 CPU path, a decade inside the 1e-4 the tests ask


@cache
def load_config(uri: str = DEFAULT_CONFIG) -> PyOpenColorIO.Config:
    """An OCIO config by file path or `ocio://` built-in name; GradeError when it does not load."""
    try:
        return PyOpenColorIO.Config.CreateFromFile(uri)
    except (PyOpenColorIO.Exception, PyOpenColorIO.ExceptionMissingFile) as exc:
        raise GradeError(f"cannot load the OpenColorIO config {uri!r} ({exc})") from None


def input_spaces(uri: str = DEFAULT_CONFIG) -> tuple[str, ...]:
    """The config's scene-referred colour spaces that hold colour (not data): what footage can be."""
    config = load_config(uri)
    return tuple(
        cs.getName() for cs in config.getColorSpaces()
        if cs.getReferenceSpaceType() == PyOpenColorIO.REFERENCE_SPACE_SCENE and not cs.isData()
    )


@dataclass(frozen=True, eq=False)
class OcioInput:
    """A baked OCIO input colour space: `curve` (None when the space is linear), then `matrix`
    from the space's linear RGB to linear BT.2020 (1.0 = the scene's diffuse white)."""

    config: str
    space: str
    curve: UniformLut | None
    matrix: np.ndarray
    cpu: PyOpenColorIO.CPUProcessor  # the same conversion, space -> linear BT.2020, by OCIO

    def apply(self, codes: Tensor) -> Tensor:
        """(3, H, W) code values (or linear data) -> linear BT.2020, float32, on their device:
        OCIO's CPU processor for a CPU frame, the torch table on another device."""
        if codes.device.type != "cpu":
            return self.apply_table(codes)
        packed = np.ascontiguousarray(codes.to(torch.float32).permute(1, 2, 0).numpy())
        self.cpu.applyRGB(packed)
        return torch.from_numpy(packed).permute(2, 0, 1).contiguous()

    def apply_table(self, codes: Tensor) -> Tensor:
        """The baked table and matrix in torch, on the frame's device."""
        shape = codes.shape
        x = codes.reshape(3, -1).to(torch.float32).clone()
        if self.curve is not None:
            x = torch_backend.apply_op(self.curve, x)
        m = torch.as_tensor(self.matrix, dtype=torch.float32, device=x.device)
        return (m @ x).reshape(shape)


def ocio_cpu(uri: str, space: str, destination: str) -> PyOpenColorIO.CPUProcessor:
    """OCIO's own CPU processor from `space` to `destination` (a name or a role)."""
    config = load_config(uri)
    if config.getColorSpace(space) is None:
        raise GradeError(f"OpenColorIO config {uri!r} has no colour space {space!r}")
    try:
        return config.getProcessor(space, destination).getDefaultCPUProcessor()
    except PyOpenColorIO.Exception as exc:
        raise GradeError(f"OpenColorIO cannot convert {space!r} to {destination!r} ({exc})") from None


def _run(cpu: PyOpenColorIO.CPUProcessor, rgb: np.ndarray) -> np.ndarray:
    """(N, 3) float32 pixels through an OCIO CPU processor (a copy)."""
    out = np.ascontiguousarray(rgb, dtype=np.float32).copy()
    cpu.applyRGB(out)
    return out.astype(np.float64)


@cache
def bake_input_space(uri: str, space: str) -> OcioInput:
    """Evaluate `space` -> ACES2065-1 with OCIO and keep it as a curve and a matrix (see the module
    docstring); GradeError when the config, the space or its shape is not usable."""
    cpu = ocio_cpu(uri, space, PyOpenColorIO.ROLE_INTERCHANGE_SCENE)
    to_bt2020 = conversion_matrix(ACES_AP0, BT2020)
    codes = np.linspace(0.0, 1.0, CURVE_SIZE)
    grey = _run(cpu, np.repeat(codes[:, None], 3, axis=1))
    # A matrix between white-balanced spaces keeps (1, 1, 1): grey stays grey, each channel f(x).
    curve = grey[:, 1]
    if not np.allclose(grey, curve[:, None], rtol=1e-5, atol=1e-7):
        raise GradeError(f"OpenColorIO colour space {space!r} does not keep grey neutral; "
                         "Lumigrade bakes only a shared per-channel curve and a matrix")
    linear = bool(np.allclose(curve, codes, rtol=1e-6, atol=1e-9))
    rng = np.random.default_rng(0)
    probes = rng.uniform(0.0, 1.0, (_PROBES, 3))
    # Each probe's per-channel curve values, exactly as OCIO gives them on grey.
    curved = _run(cpu, np.repeat(probes.reshape(-1, 1), 3, axis=1))[:, 0].reshape(_PROBES, 3)
    out = _run(cpu, probes)
    fitted, *_ = np.linalg.lstsq(curved, out, rcond=None)
    matrix = fitted.T
    error = np.abs(curved @ matrix.T - out) / np.maximum(np.abs(out), 1.0)
    if float(error.max()) > _FIT_TOLERANCE:
        raise GradeError(f"OpenColorIO colour space {space!r} is not a per-channel curve and a matrix "
                         f"(residual {float(error.max()):.1e}); Lumigrade cannot bake it")
    table = None if linear else UniformLut(curve[None, :], 0.0, 1.0)
    # OCIO's processor for frames: its conversion, then the same AP0 -> BT.2020 matrix.
    group = PyOpenColorIO.GroupTransform()
    group.appendTransform(PyOpenColorIO.ColorSpaceTransform(space, PyOpenColorIO.ROLE_INTERCHANGE_SCENE))
    group.appendTransform(PyOpenColorIO.MatrixTransform(_matrix44(to_bt2020)))
    frames = load_config(uri).getProcessor(group).getDefaultCPUProcessor()
    return OcioInput(uri, space, table, to_bt2020 @ matrix, frames)


def _matrix44(matrix: np.ndarray) -> list[float]:
    """A 3x3 matrix as OCIO's row-major 4x4 MatrixTransform list."""
    out = np.eye(4)
    out[:3, :3] = matrix
    return [float(v) for v in out.ravel()]
