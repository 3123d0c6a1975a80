"""report.html of ``stance analyze``: one self-contained page an analyst can open offline.

The page carries its chart library (vega, vega-lite and vega-embed: the builds that
``docs/dvc_plots_template.html`` inlines, kept beside this module in ``vega_scripts.html``
by ``tools/build_plots_template.py``) and its data (a JSON block), so it works from a file
without any network; its content-security policy forbids loading anything. Charts are drawn
as SVG; clicking a point or bar lists the sentences behind it. Filters (actor, period,
source, target, label, low confidence) are kept in the address's fragment
(``report.html#actor=China&label=oppose``), so a view can be bookmarked, and a test can open
the page already filtered.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pipeline.analyze.stats import UNDATED
from pipeline.analyze.tables import Tally
from pipeline.core.data import LABELS, atomic_open

__all__ = ["VEGA_ASSET", "build_report", "report_data", "vega_scripts", "write_report"]

VEGA_ASSET = Path(__file__).with_name("vega_scripts.html")
#: The page: markup, style and script, with @@TITLE@@, @@SCRIPTS@@ and @@DATA@@ to fill in.
PAGE_ASSET = Path(__file__).with_name("report_page.html")
_BLOCK = re.compile(r"<!-- (vega|vega-lite|vega-embed) [\s\S]*?-->\s*<script>[\s\S]*?</script>")
#: Groups drawn per chart when no filter picks one (bars; lines over time).
TOP = 8
TOP_TIME = 5
#: Rows listed at once (the count says how many match).
MAX_ROWS = 300


def vega_scripts(path: Path | None = None) -> str:
    """The three inlined ``<script>`` blocks (with their licence comments)."""
    p = path or VEGA_ASSET
    text = p.read_text(encoding="utf-8")
    found = list(_BLOCK.finditer(text))
    if [m.group(1) for m in found] != ["vega", "vega-lite", "vega-embed"]:
        raise RuntimeError(f"{p}: expected the vega, vega-lite and vega-embed scripts")
    return "\n".join(m.group(0) for m in found)


def _json_for_script(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>``, no comment openers)."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def build_report(data: dict[str, Any], scripts: str | None = None) -> str:
    """The page for *data* (:func:`report_data`)."""
    page = PAGE_ASSET.read_text(encoding="utf-8")
    return (page.replace("@@TITLE@@", "sanctions-stance: analysis report")
            .replace("@@SCRIPTS@@", scripts if scripts is not None else vega_scripts())
            .replace("@@DATA@@", _json_for_script(data)))


def _chart_rows(rows: list[dict], field: str) -> list[dict]:
    keep = ("period", "sentences", *(f"expected_{lab}" for lab in LABELS),
            *(f"{lab}_{end}" for lab in LABELS for end in ("low", "high")))
    return [{"group": r[field], **{k: r[k] for k in keep}} for r in rows]


def _sentences(parquet: Path, limit: int) -> tuple[dict[str, list], int]:
    """Up to *limit* sentences of sentences.parquet (not neutral first, then in order), in corpus order."""
    import pyarrow.parquet as pq

    table = pq.read_table(parquet)
    total = table.num_rows
    if total > limit:
        labels = table.column("label").to_pylist()
        order = sorted(range(total), key=lambda i: (labels[i] == "neutral", i))[:limit]
        table = table.take(sorted(order))
    cols = {c: table.column(c).to_pylist() for c in table.column_names}
    return cols, total - table.num_rows


def report_data(parquet: Path, tally: Tally, summary: dict, tables: dict[str, list[dict]], ap,
                names: list[str]) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data."""
    cols, omitted = _sentences(parquet, ap.report_sentences)
    index = {a["article_id"]: i for i, a in enumerate(tally.articles)}
    arts = {k: [a[k] for a in tally.articles] for k in ("article_id", "title", "date", "period", "source",
                                                       "target", "url")}
    sentences = {
        "sentence_id": cols.get("sentence_id", []),
        "article": [index[a] for a in cols.get("article_id", [])],
        "text": cols.get("text", []),
        "label": cols.get("label", []),
        "label_source": cols.get("label_source", []),
        "actors": cols.get("actors", []),
        **{f"score_{lab}": [round(x, 4) for x in cols.get(f"score_{lab}", [])] for lab in LABELS},
    }
    if "explain" in cols:
        sentences["explain"] = cols["explain"]
    charts, top = {}, {}
    for dim, field in (("source", "source"), ("target", "target"), ("actor", "actor")):
        overall = tally.overall(field)
        top[dim] = [r[field] for r in overall[:TOP]]
        charts[dim] = _chart_rows(overall, field) + _chart_rows(tables[dim], field)
    low = ap.low_confidence
    n_low = sum(1 for i, src in enumerate(sentences["label_source"])
                if src == "model" and max(sentences[f"score_{lab}"][i] for lab in LABELS) < low)
    periods = sorted({a for a in arts["period"] if a != UNDATED})
    return {
        "summary": {"articles": summary["articles"], "sentences": summary["sentences"], "hand": summary["hand"],
                    "undated": summary["undated"], "expected": summary["expected"], "interval": summary["interval"],
                    "low_confidence": n_low, "periods": periods, "selection": summary["selection"]},
        "tables": charts,
        "top": top,
        "articles": arts,
        "sentences": sentences,
        "options": {"actor": [n for n in [*names, "none"] if any(n in a for a in sentences["actors"])]
                    + sorted({x for a in sentences["actors"] for x in a} - {*names, "none"}),
                    "source": sorted(set(arts["source"])), "target": sorted(set(arts["target"])),
                    "period": periods},
        "settings": {"low_confidence": low, "undated": UNDATED, "max_rows": MAX_ROWS, "omitted": omitted,
                     "top_time": TOP_TIME,
                     "about": _about(summary), "chart_note": _CHART_NOTE},
    }


_CHART_NOTE = ("Expected share: the mean of the sentences' class probabilities (a hand-labelled sentence counts "
               "as its label). Bars and whiskers: the interval of docs/analyze.md. Charts draw the largest groups; "
               "the filters narrow the charts to one group and period range, and the list to every filter. "
               "Click a point or bar to list its sentences.")


def _about(summary: dict) -> str:
    covers = {"articles+model": "the sampling of articles and the model's out-of-fold error",
              "articles": "the sampling of articles only (no share errors from stance evaluate)"}[summary["interval"]]
    sel = summary["selection"]
    return (f"{summary['articles']} articles, {summary['sentences']} sentences"
            + (" (selection: " + ", ".join(f"{k} {v}" for k, v in sel.items()) + ")" if sel else "")
            + f". Intervals ({summary['level']:.0%}) cover {covers}.")


def write_report(path: Path, parquet: Path, tally: Tally, summary: dict, tables: dict[str, list[dict]], ap,
                 names: list[str]) -> None:
    """Write report.html atomically."""
    page = build_report(report_data(parquet, tally, summary, tables, ap, names))
    with atomic_open(path, "w") as fh:
        fh.write(page)
