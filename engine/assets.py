"""Where the files Lumigrade ships lie: the preview's GLSL, the demo clip and the networks' weights.

A checkout (and an editable install) keeps them in the repository's top-level shaders/ and
resources/, beside engine/. A wheel carries the same folders, same layout underneath, inside the
engine package as engine/_assets/ (pyproject.toml maps them there), so an installed Lumigrade
never looks outside its own package. Callers join their own file names onto these two folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_INSTALLED = _PACKAGE / "_assets"
ROOT = _INSTALLED if _INSTALLED.is_dir() else _PACKAGE.parent
SHADERS_DIR = ROOT / "shaders"
RESOURCES_DIR = ROOT / "resources"
