"""The per-pixel processor: the chain from decoded code values to encoded codes as typed ops.

ops.py describes the chain, build.py makes it from the engine's objects, optimise.py folds it,
reference.py evaluates it in float64, and torch_backend.py, numba_backend.py and glsl.py run it
(docs/processor.md).
"""
