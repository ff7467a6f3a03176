"""Generated kernel sources as files, so numba keeps their machine code across processes.

numba caches compiled code on disk (njit(cache=True)) only for functions defined in a file; a
kernel exec'd from a string compiles again in every process, seconds per chain structure on two
cores, paid by every render and every CLI call. Each generated source is written once to a file
named by its hash in the user's cache folder, imported from there and compiled with cache=True:
numba keeps the code in the __pycache__ beside it, keyed by the file's stamp, numba's version and
the CPU, and later processes load it instead of compiling. Where the folder cannot be written,
the kernel is compiled in memory as before.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

CACHE_ENV = "LUMIGRADE_KERNEL_CACHE"
_HEADER = "import numpy as np\nfrom numba import njit, prange\n\n"


def cache_folder() -> Path:
    """$LUMIGRADE_KERNEL_CACHE, else $XDG_CACHE_HOME/lumigrade/kernels (~/.cache by default)."""
    if folder := os.environ.get(CACHE_ENV):
        return Path(folder)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lumigrade" / "kernels"


def _written(path: Path, text: str) -> Path:
    """`path` holding `text`, written atomically if it is not there yet (its name is the text's
    hash, so an existing file already holds it; rewriting would change the stamp numba checks)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_text(text)
        os.replace(partial, path)
    return path


def jit_source(source: str, name: str, **options: object) -> Callable[..., object]:
    """The function `name` defined by `source` (which may use np and prange), compiled by
    numba.njit(**options), from the disk cache when an earlier process compiled the same source."""
    from numba import njit, prange

    flags = ", ".join(f"{key}={value!r}" for key, value in options.items())
    text = f"{_HEADER}{source.strip()}\n\n\n{name} = njit(cache=True, {flags})({name})\n"
    digest = hashlib.sha256(text.encode()).hexdigest()[:24]
    try:
        path = _written(cache_folder() / f"kernel_{digest}.py", text)
    except OSError:
        namespace: dict[str, object] = {"np": np, "prange": prange}
        exec(source, namespace)
        return njit(**options)(namespace[name])  # type: ignore[no-any-return]
    module_name = f"lumigrade_kernel_{digest}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        # numba finds the globals of cached code by importing its module by name.
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return getattr(module, name)  # type: ignore[no-any-return]
