"""The package stays readable: small modules, short functions (counted without docstrings)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "pipeline"
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 60


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    first = body[0]
    is_doc = isinstance(first, ast.Expr) and isinstance(getattr(first.value, "value", None), str)
    start = (body[1].lineno if len(body) > 1 else first.end_lineno + 1) if is_doc else first.lineno
    return node.end_lineno - start + 1


def test_no_module_over_700_lines():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in PKG.glob("*.py")}
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_no_function_over_60_lines_of_code():
    long = {}
    for p in sorted(PKG.glob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _code_lines(node) > MAX_FUNCTION_LINES:
                long[f"{p.name}:{node.name}"] = _code_lines(node)
    assert long == {}


def test_readme_module_table_matches_the_package():
    import re

    readme = (PKG.parent / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^(pipeline/\w+\.py)\s", readme, re.M))
    present = {f"pipeline/{p.name}" for p in PKG.glob("*.py") if p.name != "__init__.py"}
    assert listed == present
