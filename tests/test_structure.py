"""The package keeps its architecture: subpackages in layers, imports pointing down only, no
import cycle, private names private to their package, small modules and short functions, and a
README package table that matches the code.

The import graph is computed from the source with ``ast``: every ``import pipeline...`` /
``from pipeline... import`` statement, at module level or inside a function.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "pipeline"
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 60

#: Layer of each subpackage (and of cli.py): an import may point only to a lower layer, or stay
#: inside its own package. ``pipeline/__init__.py`` counts as core.
LAYERS = {
    "core": 0,
    "split": 1, "model": 1,
    "labels": 2, "train": 2, "tracking": 2, "predict": 2, "analyze": 2,
    "evaluate": 3,
    "cli": 4,
}


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = p.relative_to(PKG.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


MODULES = _modules()


def _package(module: str) -> str:
    """``pipeline.split.stage`` -> ``split``; ``pipeline`` (its ``__init__``) -> ``core``;
    ``pipeline.cli`` -> ``cli``."""
    parts = module.split(".")
    return "core" if len(parts) == 1 else parts[1]


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of every pipeline import in *path* (a submodule named in ``from`` counts as a module)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.split(".")[0] == "pipeline"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "pipeline":
            names = [a.name for a in node.names]
            subs = [f"{node.module}.{n}" for n in names if f"{node.module}.{n}" in MODULES]
            out.append((node.module, [n for n in names if f"{node.module}.{n}" not in MODULES]))
            out += [(s, []) for s in subs]
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the pipeline modules it imports (the containing packages' ``__init__`` included)."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        edges = set()
        for target, _names in _imports(path):
            assert target in MODULES, f"{path}: imports {target}, which does not exist"
            parts = target.split(".")
            edges.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        edges.discard(module)
        graph[module] = edges
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of *graph* as a list of nodes, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_every_subpackage_has_a_layer():
    packages = {p.parent.name for p in PKG.glob("*/__init__.py")}
    assert packages | {"cli"} == set(LAYERS)


def test_imports_point_down_only():
    upward = []
    for module, targets in import_graph().items():
        here = _package(module)
        for target in targets:
            there = _package(target)
            if there != here and target != "pipeline" and LAYERS[there] >= LAYERS[here]:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_no_import_cycle_between_modules_or_packages():
    graph = import_graph()
    # the root package's __init__ is run by every import; its own imports are checked above
    modules = {m: {t for t in ts if t != "pipeline"} for m, ts in graph.items()}
    assert _cycle(modules) is None
    packages: dict[str, set[str]] = {}
    for module, targets in modules.items():
        here = _package(module)
        packages.setdefault(here, set()).update(_package(t) for t in targets if _package(t) != here)
    assert _cycle(packages) is None


def test_the_graph_sees_imports_inside_functions():
    """Control: a function-level import is an edge (the scorer imports the fast view lazily)."""
    assert "pipeline.model.fast" in import_graph()["pipeline.model.scorer"]


def test_no_private_name_crosses_a_package_boundary():
    crossing = []
    for module, path in MODULES.items():
        for target, names in _imports(path):
            if _package(target) == _package(module):
                continue
            crossing += [f"{module}: {target}.{n}" for n in names if n.startswith("_") and not n.endswith("__")]
            crossing += [f"{module}: {target}" for part in target.split(".") if part.startswith("_")]
    assert crossing == []


def test_each_package_names_its_public_api():
    for init in sorted(PKG.glob("*/__init__.py")):
        package = __import__(f"pipeline.{init.parent.name}", fromlist=["__all__"])
        assert package.__all__, init
        for name in package.__all__:
            assert not name.startswith("_") and getattr(package, name) is not None, f"{init}: {name}"


def test_no_module_over_700_lines():
    sizes = {str(p.relative_to(PKG)): len(p.read_text(encoding="utf-8").splitlines()) for p in PKG.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    first = body[0]
    is_doc = isinstance(first, ast.Expr) and isinstance(getattr(first.value, "value", None), str)
    start = (body[1].lineno if len(body) > 1 else first.end_lineno + 1) if is_doc else first.lineno
    return node.end_lineno - start + 1


def test_no_function_over_60_lines_of_code():
    long = {}
    for p in sorted(PKG.rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _code_lines(node) > MAX_FUNCTION_LINES:
                long[f"{p.relative_to(PKG)}:{node.name}"] = _code_lines(node)
    assert long == {}


def test_no_single_letter_module_alias():
    aliases = []
    for p in sorted(PKG.rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                aliases += [f"{p.relative_to(PKG)}: {a.name} as {a.asname}" for a in node.names
                            if a.asname and len(a.asname) == 1 and (isinstance(node, ast.Import)
                                                                     or f"{node.module}.{a.name}" in MODULES)]
    assert aliases == []


def test_readme_package_table_matches_the_packages():
    readme = (PKG.parent / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `pipeline/(\w+)(?:/|\.py)` +\| +(\d) +\|", readme, re.M)
    assert {name: int(layer) for name, layer in rows} == LAYERS
