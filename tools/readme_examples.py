"""Keep the documentation's example outputs true: they are produced by the current model.

    python tools/readme_examples.py           # rewrite the example outputs in README.md and docs/*.md
    python tools/readme_examples.py --check   # exit 1 and show the difference when they are stale

Two kinds of example carry model output (both in docs/predict.md): the first line printed by a
`stance predict "..." "..."` example, and the REST answer of a `dataframe_records` request (the
served pyfunc answers each row with the label and the unrounded class probabilities of
models/model.joblib, so they are computed from that file here). Every page is scanned, so an
example keeps being checked wherever it moves. The end-to-end test runs `--check` after a fresh
`dvc repro`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREDICT = re.compile(r'^stance predict ((?:"[^"]+" ?)+)$')
REST_TEXTS = re.compile(r'"dataframe_records": \[(.*?)\]\}')


def pages() -> list[Path]:
    """The pages whose examples are kept true: README.md, then docs/*.md in name order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def examples(text: str) -> tuple[int, int]:
    """How many `stance predict` examples and REST answers with model output *text* holds."""
    lines = text.split("\n")
    predict = rest = 0
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        predict += bool(PREDICT.match(line) and following.startswith('{"text"'))
        rest += bool(REST_TEXTS.search(line) and following.startswith('# -> {"predictions"'))
    return predict, rest


def _predict_line(args: list[str]) -> str:
    stance = Path(sys.executable).parent / "stance"
    out = subprocess.run([str(stance), "predict", *args], cwd=ROOT, check=True, capture_output=True, text=True)
    return out.stdout.splitlines()[0]


def _rest_answer(texts: list[str]) -> list[str]:
    from pipeline.model.files import load_model

    model = load_model(ROOT / "models" / "model.joblib")
    rows = []
    for proba in model.predict_proba(texts):
        scores = dict(zip(model.classes_, proba.tolist()))
        label = max(scores, key=scores.get)
        rows.append(json.dumps({"label": label, **{c: scores[c] for c in ("support", "oppose", "neutral")}}))
    return rows


def rewrite(text: str) -> str:
    lines = text.split("\n")
    for i, line in enumerate(lines):
        m = PREDICT.match(line)
        if m and i + 1 < len(lines) and lines[i + 1].startswith('{"text"'):
            lines[i + 1] = _predict_line(re.findall(r'"([^"]+)"', m.group(1)))
        r = REST_TEXTS.search(line)
        if r and i + 2 < len(lines) and lines[i + 1].startswith("# -> {\"predictions\""):
            texts = [json.loads(x)["text"] for x in re.findall(r"\{[^{}]*\}", r.group(1))]
            rows = _rest_answer(texts)
            lines[i + 1] = '# -> {"predictions": [' + rows[0] + ","
            lines[i + 2] = "#                     " + ", ".join(rows[1:]) + "]}"
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    found = [sum(counts) for counts in zip(*(examples(p.read_text(encoding="utf-8")) for p in pages()))]
    if found[0] == 0 or found[1] == 0:  # an example that moved out of reach is not silently "true"
        print("no `stance predict` example or no REST example with model output in README.md or docs/*.md")
        return 1
    stale = 0
    for page in pages():
        name = page.relative_to(ROOT).as_posix()
        old = page.read_text(encoding="utf-8")
        new = rewrite(old)
        if new == old:
            continue
        if "--check" in argv:
            import difflib

            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), name,
                                                       f"{name} (current model)"))
            stale += 1
            continue
        tmp = page.with_name(f".{page.name}.tmp")
        tmp.write_text(new, encoding="utf-8")
        tmp.replace(page)
        print(f"{name}: example outputs updated")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
