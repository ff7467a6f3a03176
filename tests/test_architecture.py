"""The import contract of issue 17: engine/ is a library that app/ builds on, never the reverse.

Read from the source (ast), not by importing, so imports inside functions and under
`if TYPE_CHECKING:` count as much as module-level ones: any of them can close a cycle the day
the function runs. An edge A -> B is recorded for `import B`, `from B import x` (and B.x when
that is a module) and their relative forms; a module's import of its own parent package is not
an edge, since importing the module has already run the parent.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("engine", "app")
# What the library must stay usable without: the GUI toolkit, its plotting and GL bindings, the app.
ENGINE_FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "OpenGL", "app")

Graph = dict[str, dict[str, str]]  # module -> imported module -> "file:line" of the first import


def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> source file, for every .py under the given top-level packages."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported_names(module: str, path: Path) -> Iterable[tuple[str, int]]:
    """Every dotted name an import statement in the file may bind a module to, with its line."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # `from ..x import y` in package a.b.c: climb level - 1 packages from a.b.c.
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            yield source, node.lineno
            for alias in node.names:
                yield f"{source}.{alias.name}", node.lineno


def import_graph(root: Path, packages: Iterable[str]) -> tuple[Graph, dict[str, list[tuple[str, str]]]]:
    """The edges among the packages' own modules, and every imported name per module (for
    checks on third-party imports) as (name, "file:line")."""
    files = module_files(root, packages)
    graph: Graph = {name: {} for name in files}
    imports: dict[str, list[tuple[str, str]]] = {name: [] for name in files}
    for module, path in files.items():
        for name, line in imported_names(module, path):
            where = f"{path.relative_to(root)}:{line}"
            imports[module].append((name, where))
            if name in files and name != module and not module.startswith(name + "."):
                graph[module].setdefault(name, where)
    return graph, imports


def strongly_connected(graph: Graph) -> list[list[str]]:
    """Tarjan's strongly connected components (Tarjan 1972) with more than one module, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(v: str) -> None:
        # Recursion depth is bounded by the longest import chain, a few dozen modules.
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(components)


def shortest_cycle(graph: Graph, component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module (breadth first), start repeated at the end."""
    start = component[0]
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if w in component and w not in parent:
                    parent[w] = v
                    following.append(w)
        frontier = following
    raise AssertionError(f"{component} is not a cycle")


def describe_cycles(graph: Graph) -> list[str]:
    """One line per cycle: its modules, and one concrete loop with where each import is."""
    lines = []
    for component in strongly_connected(graph):
        loop = shortest_cycle(graph, component)
        steps = " -> ".join(f"{a} ({graph[a][b]})" for a, b in itertools.pairwise(loop))
        lines.append(f"cycle among {', '.join(component)}: {steps} -> {loop[0]}")
    return lines


def forbidden_imports(imports: dict[str, list[tuple[str, str]]], layer: str,
                      forbidden: Iterable[str]) -> list[str]:
    roots = set(forbidden)
    return [f"{module} imports {name} ({where})"
            for module, names in sorted(imports.items()) if module.split(".")[0] == layer
            for name, where in names if name.split(".")[0] in roots]


def test_no_import_cycles_among_engine_and_app() -> None:
    graph, _ = import_graph(REPO, LAYERS)
    assert len(graph) > 50, "the walk found too few modules to be looking at the source tree"
    cycles = describe_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_engine_imports_no_gui_and_no_app() -> None:
    _, imports = import_graph(REPO, LAYERS)
    bad = forbidden_imports(imports, "engine", ENGINE_FORBIDDEN)
    assert not bad, "engine/ must not depend on the GUI or app/:\n" + "\n".join(bad)


def test_the_checker_sees_a_cycle_closed_inside_a_function(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub" / "a.py").write_text("from pkg.sub.b import helper\n")
    # The cycle closes only when f() runs, through a relative import two levels up.
    (tmp_path / "pkg" / "sub" / "b.py").write_text(
        "import os\n\n\ndef helper():\n    return os.sep\n\n\n"
        "def f():\n    from ..sub import a\n    return a\n"
    )
    (tmp_path / "pkg" / "leaf.py").write_text("from .sub import b\nimport PySide6.QtCore\n")
    graph, imports = import_graph(tmp_path, ["pkg"])
    assert graph["pkg.sub.a"] == {"pkg.sub.b": "pkg/sub/a.py:1"}
    assert graph["pkg.sub.b"] == {"pkg.sub.a": "pkg/sub/b.py:9"}  # pkg.sub, its parent, is no edge
    assert strongly_connected(graph) == [["pkg.sub.a", "pkg.sub.b"]]
    assert describe_cycles(graph) == ["cycle among pkg.sub.a, pkg.sub.b: pkg.sub.a (pkg/sub/a.py:1)"
                                      " -> pkg.sub.b (pkg/sub/b.py:9) -> pkg.sub.a"]
    assert forbidden_imports(imports, "pkg", ENGINE_FORBIDDEN) == [
        "pkg.leaf imports PySide6.QtCore (pkg/leaf.py:2)"
    ]
