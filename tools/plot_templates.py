"""Write the custom DVC plot templates of ``.dvc/plots/`` (run once after a DVC upgrade).

* ``confusion_counts.json``: DVC's ``confusion`` template with the counts always written in the
  cells (DVC hides them behind a checkbox), used with ``x: predicted`` and ``y: actual`` as in
  ``reports/plots/confusion_matrix.png``, classes in the PNG's order.
* ``lines_by_series.json``: DVC's ``simple`` template with one colour per y field (the class of a
  precision-recall curve, the series of the learning curve) instead of one colour per revision.

Usage: ``python tools/plot_templates.py`` (from the repository root).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from dvc_render.vega_templates import ConfusionTemplate, SimpleLinearTemplate

ROOT = Path(__file__).resolve().parents[1]
LABELS = ["support", "oppose", "neutral"]  # pipeline.core.data.LABELS, the PNG's order


def confusion_counts() -> dict:
    t = copy.deepcopy(ConfusionTemplate.DEFAULT_CONTENT)
    t.pop("params")  # the showValues checkbox
    spec = t["spec"]
    for axis in ("x", "y"):
        spec["encoding"][axis]["sort"] = LABELS
    text = spec["layer"][-1]
    assert text["mark"] == "text"
    text["encoding"]["text"] = {"field": "xy_count", "type": "quantitative"}
    return t


def lines_by_series() -> dict:
    t = copy.deepcopy(SimpleLinearTemplate.DEFAULT_CONTENT)
    enc = t["encoding"]
    enc["color"] = {"field": "field", "type": "nominal", "title": None, "sort": None}
    enc["strokeDash"] = {"field": "rev", "type": "nominal", "title": "revision"}
    return t


def main() -> None:
    out = ROOT / ".dvc" / "plots"
    out.mkdir(parents=True, exist_ok=True)
    for name, content in (("confusion_counts", confusion_counts()), ("lines_by_series", lines_by_series())):
        (out / f"{name}.json").write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
