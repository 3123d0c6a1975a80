"""Keep the README's example outputs true: they are produced by the current model.

    python tools/readme_examples.py           # rewrite the example outputs in README.md
    python tools/readme_examples.py --check   # exit 1 and show the difference when they are stale

Two examples carry model output: the first line printed by the `stance predict "..." "..."`
example under "Predicting", and the REST answer under "Serving over REST" (the served
pyfunc answers each row with the label and the unrounded class probabilities of
models/model.joblib, so they are computed from that file here). The end-to-end test runs
`--check` after a fresh `dvc repro`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PREDICT = re.compile(r'^stance predict ((?:"[^"]+" ?)+)$')
REST_TEXTS = re.compile(r'"dataframe_records": \[(.*?)\]\}')


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
    old = README.read_text(encoding="utf-8")
    new = rewrite(old)
    if "--check" in argv:
        if new != old:
            import difflib

            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), "README.md",
                                                       "README.md (current model)"))
            return 1
        return 0
    if new != old:
        tmp = README.with_suffix(".md.tmp")
        tmp.write_text(new, encoding="utf-8")
        tmp.replace(README)
        print("README.md: example outputs updated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
