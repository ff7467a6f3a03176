"""Suite-wide collection order for the two pytest-xdist workers (pyproject's addopts).

With --dist=loadfile each worker takes whole modules in collection order. tests/test_packaging.py
is collected last (tests/ sorts its files after its folders) and runs for minutes on one chain of
module fixtures (a wheel, then a venv installed from it), so the other worker would finish first
and wait; run it first instead, beside everything else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_LONGEST_MODULE = Path(__file__).with_name("test_packaging.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path != _LONGEST_MODULE)  # stable: the rest keep their order
