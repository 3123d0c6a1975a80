"""DVC plot definitions (dvc.yaml `plots:` and the custom templates of .dvc/plots/): the confusion
matrix as in the PNG (predicted on x, actual on y, counts in the cells), one colour per class or
series in the line plots."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from pipeline import LABELS

ROOT = Path(__file__).resolve().parents[1]


def _plots() -> dict[str, dict]:
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))
    return {name: body for item in spec["plots"] if isinstance(item, dict) for name, body in item.items()}


def _template(name: str) -> dict:
    return json.loads((ROOT / ".dvc" / "plots" / f"{name}.json").read_text(encoding="utf-8"))


def test_confusion_matrix_axes_and_counts_match_the_png():
    cm = _plots()["confusion_matrix"]
    assert cm["x"] == "predicted" and cm["y"] == {"reports/plots/confusion_matrix.json": "actual"}
    t = _template(cm["template"])
    assert "params" not in t  # no "showValues" checkbox: counts always shown
    enc = t["spec"]["encoding"]
    assert enc["x"]["sort"] == enc["y"]["sort"] == list(LABELS)  # the PNG's order
    text = [layer for layer in t["spec"]["layer"] if layer.get("mark") == "text"]
    assert text and text[0]["encoding"]["text"] == {"field": "xy_count", "type": "quantitative"}
    records = json.loads((ROOT / "reports" / "plots" / "confusion_matrix.json").read_text(encoding="utf-8"))
    assert set(records[0]) == {"actual", "predicted"}


def test_line_plots_have_one_colour_per_series():
    plots = _plots()
    for name in ("precision_recall", "learning_curve"):
        body = plots[name]
        [fields] = body["y"].values()
        assert isinstance(fields, list) and len(fields) > 1
        enc = _template(body["template"])["encoding"]
        assert enc["color"]["field"] == "field", name  # DVC's name of the y column a point came from


def test_templates_are_what_the_tool_writes():
    spec = importlib.util.spec_from_file_location("plot_templates", ROOT / "tools" / "plot_templates.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert _template("confusion_counts") == tool.confusion_counts()
    assert _template("lines_by_series") == tool.lines_by_series()


def test_dvc_fills_the_templates():
    """`dvc plots show --json` (reads the committed plot files, runs nothing): the colour field
    holds each class of the precision-recall curves."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    out = subprocess.run([sys.executable, "-m", "dvc", "plots", "show", "--json"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)["data"]
    pr = data["precision_recall"][0]["content"]
    assert {v["field"] for v in pr["data"]["values"]} == set(LABELS)
    cm = data["confusion_matrix"][0]["content"]
    assert cm["spec"]["encoding"]["x"]["field"] == "predicted"
    assert cm["spec"]["encoding"]["y"]["field"] == "actual"
