"""The generated preview shader: one block per display op, numbers in uniforms, tables bound.

Checked for form here; tests/app/test_preview_equals_export.py compiles it into the preview and
holds it to the export within 1 code value.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.display import sdr_view
from engine.lut import Lut1D
from engine.processor.build import display_chain, display_ops
from engine.processor.glsl import DisplayShader, display_shader
from engine.processor.optimise import optimise


def test_sdr_display_chain_has_gain_matrix_and_encode() -> None:
    tmo = Lut1D.bake(lambda y: 1.0 / (1.0 + y / 100.0), 1e-3, 1e4)
    ops = optimise(display_ops(sdr_view(tmo, "mantiuk", 0.8)))
    shader = display_shader(ops)
    src = shader.source
    assert src.count("{") == src.count("}")
    assert "vec3 display_chain(vec3 x)" in src
    assert "lut_sample(u_op0_table, u_op0, y)" in src  # the TMO gain, by luminance
    assert "((ratio - 1.0) * u_op0_saturation + 1.0) * y_out" in src  # Mantiuk's colour step
    assert shader.uniforms["u_op0_saturation"] == 0.8
    assert "u_op1_matrix * x + u_op1_offset" in src  # BT.2020 -> BT.709
    assert "clamp(" not in src  # folded: the encode table clamps its input itself
    assert "lut_sample3(u_op2_table, u_op2, x)" in src  # BT.1886 inverse EOTF
    assert set(shader.tables) == {"u_op0_table", "u_op2_table"}
    assert np.allclose(shader.uniforms["u_op1_matrix"].T, ops[1].matrix, atol=1e-6)


def test_unoptimised_chain_keeps_every_op() -> None:
    src = display_shader(display_ops(sdr_view(None))).source
    assert src.count("_matrix * x") == 2 and "clamp(x, 0.0, 1e30)" in src and "lut_sample3(" in src


def test_source_depends_on_the_chain_structure_only() -> None:
    """New statistics or grade numbers change uniforms and tables, not the program's source."""
    def shader(peak: float, saturation: float) -> DisplayShader:
        tmo = Lut1D.bake(lambda y: 1.0 / (1.0 + y / peak), 1e-3, 1e4)
        return display_shader(display_chain(sdr_view(tmo, "schlick", saturation)))

    a, b = shader(100.0, 0.8), shader(250.0, 0.6)
    assert a.source == b.source
    assert a.uniforms["u_op0_saturation"] != b.uniforms["u_op0_saturation"]
    assert not torch.equal(a.tables["u_op0_table"].table, b.tables["u_op0_table"].table)
