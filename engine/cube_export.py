"""The per-pixel part of a grade as a 3-D LUT in a .cube file (the Iridas format Resolve and ffmpeg read).

The lattice runs over the source's code values R'G'B' in [0, 1] in a chosen input encoding
(the grade's source transform: a transfer and primaries, or an OpenColorIO colour space) and
holds the output signal of one view (PQ, HLG, or SDR through a curve tone mapper). Its values
come from the processor's ops in float64 (engine.processor.build and .reference): the source
transform, the curve ITM, exposure and saturation, the display transform; the same ops a render
of the grade runs, so a .cube applied elsewhere gives the render within the LUT's interpolation
error. OpenColorIO's Baker writes the file from a Lut3DTransform holding the lattice.

Only a fixed per-pixel transform fits in a LUT: temporal reconstruction, spatial operators
(they read neighbourhoods) and operators driven by per-frame statistics are refused, each with
the reason, as are linear inputs (a .cube's domain is [0, 1]).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import PyOpenColorIO
import torch

from engine.errors import GradeError
from engine.grade import Grade
from engine.input_transform import InputTransform
from engine.io.atomic import AtomicOutput
from engine.operators.base import CurveOperator, Operator, StageContext
from engine.operators.catalogue import make_operator
from engine.processor.build import BT2020_WEIGHTS, display_ops, eotf_ops, grade_ops
from engine.processor.formats import SourceFormat
from engine.processor.ops import Clamp, LumaGain, Op
from engine.processor.reference import evaluate
from engine.stages.output import OutputStage
from engine.stages.stabilised import SequenceStats

CUBE_SIZES = (17, 33, 65)
CUBE_VIEWS = ("pq", "hlg", "sdr")
_CODES = SourceFormat(16, True, None)  # the lattice as 16-bit R'G'B' codes: eotf_ops' integer input


def _per_pixel(operator: Operator, role: str) -> CurveOperator:
    if not isinstance(operator, CurveOperator):
        raise GradeError(f"the {role} {operator.name!r} is spatial (it reads neighbouring pixels); "
                         "a .cube holds only per-pixel work: choose a curve operator")
    if operator.needs_stats:
        raise GradeError(f"the {role} {operator.name!r} follows per-frame statistics; "
                         "a .cube holds one fixed transform: choose a curve without statistics")
    return operator


def cube_ops(grade: Grade, transform: InputTransform, view: str) -> list[Op]:
    """The grade's per-pixel chain from 16-bit R'G'B' codes to the view's signal in [0, 1]."""
    if view not in CUBE_VIEWS:
        raise GradeError(f"a .cube output is one of {', '.join(CUBE_VIEWS)}, not {view!r}")
    if grade.temporal and not transform.hdr:
        raise GradeError("temporal reconstruction reads other frames of the shot; "
                         "a .cube holds only per-pixel work: turn it off to export one")
    if transform.transfer == "linear" or (transform.ocio is not None and transform.ocio.curve is None):
        raise GradeError("a .cube's domain is code values in [0, 1]; a scene-linear input needs an "
                         "encoded (log) input space")
    ctx = StageContext(reference_white=grade.reference_white, peak_nits=grade.peak_nits,
                       display_peak=grade.sdr_peak_nits)
    ops = eotf_ops(transform, _CODES)
    if not transform.hdr:
        itm = _per_pixel(make_operator("itm", grade.itm.name, grade.itm.params), "ITM")
        ops.append(LumaGain(itm.bake(ctx), BT2020_WEIGHTS))
    tmo = make_operator("tmo", grade.tmo.name, grade.tmo.params)
    if view == "sdr":
        _per_pixel(tmo, "tone mapper")
    display = OutputStage(view, grade, tmo, SequenceStats()).display_transform(ctx)
    return ops + grade_ops(grade.exposure, grade.saturation) + display_ops(display) + [Clamp(0.0, 1.0)]


def cube_lattice(grade: Grade, transform: InputTransform, view: str, size: int) -> np.ndarray:
    """(size, size, size, 3) output signal at lattice point [r, g, b] of the input codes."""
    if size not in CUBE_SIZES:
        raise GradeError(f"a .cube has {', '.join(map(str, CUBE_SIZES))} points per side, not {size}")
    axis = torch.linspace(0.0, 1.0, size, dtype=torch.float64) * (2**_CODES.bits - 1)
    grid = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij")).reshape(3, -1)
    out = evaluate(cube_ops(grade, transform, view), grid)
    return out.T.reshape(size, size, size, 3).numpy()


def write_cube(path: str | Path, grade: Grade, transform: InputTransform, view: str, size: int = 33) -> Path:
    """Bake the grade's per-pixel work to a .cube at `path` (atomically) with OpenColorIO's Baker."""
    path = Path(path)
    if path.suffix.lower() != ".cube":
        raise GradeError("a LUT file name ends in .cube", path)
    lattice = cube_lattice(grade, transform, view, size)
    lut = PyOpenColorIO.Lut3DTransform(size)
    lut.setData(np.ascontiguousarray(lattice, dtype=np.float32).reshape(-1))  # blue varies fastest
    config = PyOpenColorIO.Config.CreateRaw()
    # The reference space; the built-in "raw" is data, which OCIO never converts.
    config.addColorSpace(PyOpenColorIO.ColorSpace(name="source"))
    graded = PyOpenColorIO.ColorSpace(name="graded")
    graded.setTransform(lut, PyOpenColorIO.COLORSPACE_DIR_FROM_REFERENCE)
    config.addColorSpace(graded)
    baker = PyOpenColorIO.Baker()
    baker.setConfig(config)
    baker.setFormat("iridas_cube")
    baker.setInputSpace("source")
    baker.setTargetSpace("graded")
    baker.setCubeSize(size)
    metadata = baker.getFormatMetadata()
    metadata.addChildElement(PyOpenColorIO.METADATA_DESCRIPTION,
                             f"Lumigrade grade: {transform.transfer} input, {view} output")
    text = baker.bake()
    with AtomicOutput(path) as temp:
        temp.write_text(text, encoding="utf-8")
    return path
