"""The optimiser's folds: how many ops remain, and what composing tables costs."""

from __future__ import annotations

import numpy as np
import torch

from engine.color import transfer as tf
from engine.display import pq_encode_lut
from engine.processor.bits_lut import sample_bits_table
from engine.processor.ops import Affine, Clamp, LogLut, LumaGain, Transfer, UniformLut
from engine.processor.optimise import optimise
from engine.processor.reference import evaluate
from tests.engine.processor.conftest import chain_for


def _types(ops: tuple) -> list[str]:
    return [type(op).__name__ for op in ops]


def test_bt2408_folds_to_three_matrices_one_eotf_table_one_encode_table() -> None:
    chain = chain_for("bt2408", exposure=0.5, saturation=1.1)
    assert len(chain) == 15
    # Decode matrix | EOTF | primaries x 203 x exposure x saturation | PQ | Y'CbCr codes | round
    assert _types(optimise(chain)) == ["Affine", "UniformLut", "Affine", "LogLut", "Affine", "Quantize"]


def test_curve_itm_keeps_its_gain_between_two_matrices() -> None:
    folded = optimise(chain_for("bt2446a", exposure=0.5, saturation=1.1))
    assert _types(folded) == ["Affine", "UniformLut", "Affine", "LumaGain", "Affine", "LogLut", "Affine",
                              "Quantize"]


def test_integer_code_transfer_is_exact_at_every_code() -> None:
    op = Transfer("bt1886", lambda v: tf.bt1886_eotf(v / 1023.0), 0.0, 1023.0, integer_input=True)
    (table,) = optimise([op])
    assert isinstance(table, UniformLut) and table.size == 1024
    codes = torch.arange(1024, dtype=torch.float64).expand(3, -1)
    assert torch.equal(evaluate([table], codes), evaluate([op], codes))


def test_composed_tables_stay_within_a_hundredth_of_a_code() -> None:
    # EOTF table, a diagonal gain and a clamp, then the PQ encode: one UniformLut after folding.
    eotf = Transfer("bt1886", tf.bt1886_eotf, 0.0, 1.0)
    ops = [eotf, Affine(np.diag([203.0, 180.0, 220.0])), Clamp(0.0), LogLut(pq_encode_lut(1000.0))]
    folded = optimise(ops)
    assert _types(folded) == ["UniformLut"]
    x = torch.linspace(0.0, 1.0, 200_001, dtype=torch.float64).expand(3, -1)
    error = (evaluate(folded, x) - evaluate(ops, x)).abs().max() * 1023.0
    # Measured 0.0071 of a 10-bit code, just above black, where PQ of x^2.4 bends hardest.
    assert error < 0.01


def test_constant_gain_with_black_test_is_not_folded() -> None:
    folded = optimise(chain_for("bt2408"))
    assert not any(isinstance(op, LumaGain) for op in folded)


def test_bits_table_matches_the_log_lut_within_a_thousandth_of_a_code() -> None:
    lut = pq_encode_lut(1000.0)
    x = np.geomspace(1e-7, 2000.0, 400_001)
    exact = lut.sample(torch.from_numpy(x)).numpy()
    assert np.abs(sample_bits_table(lut, x) - exact).max() * 1023.0 < 1e-3
