# The two commands of the README's quick start. Both are idempotent.
.PHONY: setup run test lint bench

setup:
	@bash .ci/bootstrap

run: setup
	.venv/bin/lumigrade

test: setup
	.venv/bin/ruff check .
	.venv/bin/python -m pytest

bench: setup
	.venv/bin/python bench/throughput.py
	.venv/bin/python bench/operators.py
