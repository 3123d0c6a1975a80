"""The documentation keeps its promises: the command reference is generated from the parsers
and up to date, every relative link in README.md, docs/*.md and benchmarks/README.md resolves to
a file a clone has (and to a heading, for an anchor), the README links every docs page and stays
short, and the example outputs have a place where tools/readme_examples.py finds them."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

#: pages other work is writing; a link to one is skipped only while the page does not exist
PENDING = {"docs/modeling.md", "docs/reliability.md"}

LINK = re.compile(r"!?\[[^\]]*\]\(([^()\s]+)\)")
FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pages() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md"]


def _links(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    text = FENCE.sub("", text)
    text = "\n".join(line for line in text.split("\n") if not line.startswith("    "))  # indented code
    return LINK.findall(CODE_SPAN.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", text, re.M):
        slug = _slug(heading)
        anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def _clone_files() -> set[str] | None:
    """Files a fresh clone has: tracked plus untracked-but-not-ignored (None without git)."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                             cwd=ROOT, check=True, capture_output=True).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        return None
    return {f for f in out.split("\0") if f}


def test_commands_doc_is_current():
    """docs/commands.md is what tools/commands_doc.py writes from the parsers of pipeline.cli."""
    tool = _tool("commands_doc")
    assert (ROOT / "docs" / "commands.md").read_text(encoding="utf-8") == tool.render(), (
        "docs/commands.md is stale: run python tools/commands_doc.py")


def test_commands_doc_does_not_depend_on_the_terminal(monkeypatch):
    tool = _tool("commands_doc")
    monkeypatch.setenv("COLUMNS", "40")
    narrow = tool.render()
    assert os.environ["COLUMNS"] == "40"  # restored after rendering
    monkeypatch.setenv("COLUMNS", "250")
    assert tool.render() == narrow
    assert str(ROOT) not in narrow


def test_commands_doc_covers_every_command_and_option():
    from pipeline.cli import COMMANDS, build_parser

    page = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    subs = _tool("commands_doc")._subparsers(build_parser())
    assert list(subs) == list(COMMANDS)
    for name, parser in subs.items():
        section = page.split(f"## `stance {name}`\n", 1)[1].split("\n## ", 1)[0]
        for action in parser._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}" in section, f"stance {name}: {flag} missing from docs/commands.md"


def test_relative_links_resolve():
    clone = _clone_files()
    broken = []
    for page in _pages():
        for target in _links(page):
            where = f"{page.relative_to(ROOT)}: {target}"
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith(("/", "//")):
                broken.append(f"{where} (links outside the repository)")
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            try:
                rel = dest.relative_to(ROOT).as_posix()
            except ValueError:
                broken.append(f"{where} (outside the repository)")
                continue
            if rel in PENDING and not dest.exists():
                continue
            if not dest.exists() or (clone is not None and dest.is_file() and rel not in clone):
                broken.append(f"{where} (no such file in the repository)")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                broken.append(f"{where} (no heading #{anchor})")
    assert broken == []


def test_readme_links_every_docs_page_and_stays_short():
    text = README.read_text(encoding="utf-8")
    linked = {t.partition("#")[0] for t in _links(README)}
    pages = {p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")} | PENDING
    assert sorted(pages - linked) == []
    assert len(text.splitlines()) <= 200


def test_slug_follows_github():
    assert _slug("Analysing corpora: `stance analyze`") == "analysing-corpora-stance-analyze"
    assert _slug("Beyond TF-IDF: opt-in sentence embeddings") == "beyond-tf-idf-opt-in-sentence-embeddings"
    assert _slug("`stance check-store`") == "stance-check-store"


@pytest.mark.parametrize("kind", ["predict", "rest"])
def test_example_outputs_are_where_the_checker_looks(kind):
    """tools/readme_examples.py (run by the end-to-end test) finds both examples with model output."""
    tool = _tool("readme_examples")
    counts = [tool.examples(p.read_text(encoding="utf-8")) for p in tool.pages()]
    assert sum(c[0 if kind == "predict" else 1] for c in counts) >= 1


def test_documented_narrow_exp_show_fits_120_columns():
    """The `dvc exp show` command of docs/pipeline.md keeps only columns that exist in
    reports/metrics.json or params.yaml and fits 120 columns (headers plus DVC's padding of 3,
    values of 7 characters, an experiment row of up to 26 characters as `├── 1a2b3c4 [exp-name]`)."""
    import json

    import yaml

    from pipeline.tracking.runs import flatten

    text = (ROOT / "docs" / "pipeline.md").read_text(encoding="utf-8")
    commands = re.findall(r"^dvc exp show .*$", text, flags=re.M)
    assert len(commands) == 1, commands
    assert "--drop '.*'" in commands[0]
    keep = re.search(r"--keep '([^']+)'", commands[0]).group(1)
    patterns = keep.split("|")
    columns = list(flatten(json.loads((ROOT / "reports" / "metrics.json").read_text(encoding="utf-8"))))
    columns += list(flatten(yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))))
    width = 26 + 3
    for pattern in patterns:
        if pattern.strip("^$") in ("Experiment", "Created"):
            continue
        matched = [c for c in columns if re.search(pattern, c)]
        assert len(matched) == 1, (pattern, matched)
        width += max(len(matched[0]), 7) + 3
    assert width <= 120, width
