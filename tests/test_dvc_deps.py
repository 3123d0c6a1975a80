"""dvc.yaml lists, for every stage, exactly the parts of ``pipeline`` its command imports (its import closure).

The closure is computed from the source with ``ast``: every ``import pipeline.x`` / ``from pipeline(.x)
import ...`` statement in a module, at module level or inside a function (lazy imports run too), starting
from ``pipeline/cli.py`` and the module that implements the stage's command. A stage lists the package
folders (``pipeline/core``, ``pipeline/split``, ...) of the modules in that closure, plus
``pipeline/__init__.py`` and ``pipeline/cli.py``: editing any file of those packages makes ``dvc repro``
re-run the stage (``.dvcignore`` keeps ``__pycache__`` out of the folder hashes).
"""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from pipeline.cli import COMMANDS

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "pipeline"


def _module_file(name: str) -> Path:
    """The file of module *name* (a package's ``__init__.py``); may not exist."""
    parts = name.split(".")
    assert parts[0] == "pipeline", name
    base = PKG.joinpath(*parts[1:])
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def imported_modules(path: Path) -> set[str]:
    """``pipeline`` modules imported anywhere in *path*, with the packages that contain them
    (importing ``pipeline.split.stage`` runs ``pipeline/__init__.py`` and ``pipeline/split/__init__.py``)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] == "pipeline" and _module_file(name).is_file():
                parts = name.split(".")
                out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


def closure(start: list[str]) -> set[str]:
    """Files (relative to the repo) of every pipeline module reachable from *start*."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(imported_modules(_module_file(name)) - seen)
    return {_module_file(n).relative_to(REPO).as_posix() for n in seen}


def folders(files: set[str]) -> set[str]:
    """Module files as dvc.yaml lists them: a subpackage's files by its folder."""
    out = set()
    for f in files:
        parts = f.split("/")
        out.add("/".join(parts[:2]) if len(parts) > 2 else f)
    return out


def test_closure_finds_lazy_imports():
    files = closure(["pipeline.evaluate.stage"])
    assert {"pipeline/__init__.py", "pipeline/core/__init__.py", "pipeline/core/config.py",
            "pipeline/tracking/runs.py", "pipeline/train/engine.py"} <= files
    # imported inside functions (start-up time): still in the closure
    assert "pipeline/tracking/serving.py" in closure(["pipeline.tracking.registry"])
    assert "pipeline/split/stage.py" in closure(["pipeline.predict.api"])


def test_dvcignore_keeps_bytecode_out_of_folder_deps():
    patterns = (REPO / ".dvcignore").read_text(encoding="utf-8").split()
    assert "__pycache__/" in patterns and "*.pyc" in patterns


def test_every_stage_lists_its_import_closure():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    assert stages
    for name, stage in stages.items():
        words = stage["cmd"].split()
        assert words[0] == "stance", name
        module = COMMANDS[words[1]][0]
        expected = folders(closure(["pipeline.cli", module]))
        listed = {d for d in stage["deps"] if isinstance(d, str) and d.startswith("pipeline")}
        assert listed == expected, (f"stage {name}: missing {sorted(expected - listed)}, "
                                    f"not imported {sorted(listed - expected)}")
