"""The Qt binding keeps Python's reference counts: PySide6 6.12.0 did not.

On Python 3.10 and 3.11 None, True and False are ordinary reference-counted objects (immortal
only since Python 3.12, PEP 683). PySide6 6.12.0 dropped one reference to None on every bound
call that returns nothing and to True on Signal.emit, so a GUI session, or this test suite,
aborted with "deallocating None" or "deallocating True or False" once enough calls had run.
pyproject.toml excludes it; this checks the binding actually installed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QCheckBox

CALLS = 1000


class _Emitter(QObject):
    flag = Signal(bool)
    value = Signal(object)


def _reference_drop(target: object, call: Callable[[], object]) -> int:
    """How many references to `target` CALLS calls of `call` leave missing (negative: gained)."""
    before = sys.getrefcount(target)
    for _ in range(CALLS):
        call()
    return before - sys.getrefcount(target)


@pytest.mark.parametrize("target", [None, True, False], ids=repr)
def test_bound_calls_and_signals_keep_the_reference_counts_of_none_and_bools(
    qapp: QApplication, target: object
) -> None:
    box = QCheckBox()
    emitter = _Emitter()
    received: list[object] = []
    emitter.flag.connect(received.append)
    emitter.value.connect(received.append)
    calls: dict[str, Callable[[], object]] = {
        "a void setter": lambda: box.setChecked(True),
        "a bool getter": box.isChecked,
        "Signal(bool).emit": lambda: emitter.flag.emit(True),
        "Signal(object).emit(None)": lambda: emitter.value.emit(None),
    }
    for name, call in calls.items():
        dropped = _reference_drop(target, call)
        received.clear()
        # A few references may come and go with the interpreter's own caches; a binding that
        # drops one per call loses CALLS.
        assert dropped < CALLS // 10, f"{name} dropped {dropped} references to {target!r} in {CALLS} calls"
