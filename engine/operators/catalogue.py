"""The catalogue: every ITM and TMO operator by (kind, name).

The list is written out rather than filled by registration on import, so that operator modules
depend only on engine.operators.base and the import graph stays one-way. Adding an operator
means adding its class here (docs/architecture.md, "Adding an operator").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import GradeError
from engine.itm.akyuz import Akyuz
from engine.itm.bt2408 import BT2408
from engine.itm.bt2446 import BT2446A, BT2446C
from engine.itm.huo import Huo
from engine.itm.kovaleski import Kovaleski
from engine.itm.masia import Masia09, Masia17
from engine.itm.masked_cnn import MaskedCnnItm
from engine.itm.meylan import Meylan
from engine.operators.base import Operator, OperatorKind
from engine.tmo.bt2390 import Bt2390
from engine.tmo.bt2446a import Bt2446a
from engine.tmo.deep import DeepTmo
from engine.tmo.drago import Drago
from engine.tmo.durand import Durand
from engine.tmo.filmic import AcesFitted, Hable
from engine.tmo.ocio_view import OcioView
from engine.tmo.reinhard import Reinhard, ReinhardLocal
from engine.tmo.reinhard_devlin import ReinhardDevlin

_OPERATORS: tuple[type[Operator], ...] = (
    Akyuz, BT2408, BT2446A, BT2446C, Huo, Kovaleski, Masia09, Masia17, MaskedCnnItm, Meylan,
    Bt2390, Bt2446a, DeepTmo, Drago, Durand, AcesFitted, Hable, OcioView, Reinhard, ReinhardLocal,
    ReinhardDevlin,
)


def _catalogue() -> dict[tuple[OperatorKind, str], type[Operator]]:
    table: dict[tuple[OperatorKind, str], type[Operator]] = {}
    for cls in _OPERATORS:
        key = (cls.kind, cls.name)
        if key in table:
            raise ValueError(f"operator {key} is listed twice")
        table[key] = cls
    return table


_CATALOGUE = _catalogue()


def operator_class(kind: OperatorKind, name: str) -> type[Operator]:
    try:
        return _CATALOGUE[(kind, name)]
    except KeyError:
        known = ", ".join(sorted(n for k, n in _CATALOGUE if k == kind))
        raise GradeError(f"unknown {kind} operator {name!r} (known: {known})") from None


def operators(kind: OperatorKind | None = None) -> list[type[Operator]]:
    return [c for (k, _), c in sorted(_CATALOGUE.items()) if kind is None or k == kind]


def make_operator(kind: OperatorKind, name: str, params: Mapping[str, Any] | None = None) -> Operator:
    cls = operator_class(kind, name)
    return cls(cls.make_params(params or {}))
