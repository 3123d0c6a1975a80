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
_BLOCK = re.compile(r"<!-- (vega|vega-lite|vega-embed) [\s\S]*?-->\s*<script>[\s\S]*?</script>")
#: Groups drawn per chart when no filter picks one.
TOP = 8
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
    return (_PAGE.replace("@@TITLE@@", "sanctions-stance: analysis report")
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


_PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@@TITLE@@</title>
<style>
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 1.5em 2em; color: #222; }
h1 { font-size: 1.4em; margin: .8em 0 .2em; } h2 { font-size: 1.15em; margin: 1.4em 0 .3em; }
.note { color: #555; font-size: .9em; max-width: 70em; }
.headline { display: flex; flex-wrap: wrap; gap: .8em; margin: .8em 0; }
.fig { border: 1px solid #ddd; border-radius: 6px; padding: .5em .9em; min-width: 9em; }
.fig b { display: block; font-size: 1.5em; } .fig span { color: #555; font-size: .85em; }
#filters { position: sticky; top: 0; background: #fafafa; border-bottom: 1px solid #ddd; padding: .5em 0;
           display: flex; flex-wrap: wrap; gap: .6em; align-items: center; z-index: 2; }
#filters label { font-size: .9em; } select { max-width: 14em; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; } .chart { min-width: 420px; }
table { border-collapse: collapse; width: 100%; font-size: .9em; }
th, td { border-bottom: 1px solid #eee; padding: .3em .4em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; position: sticky; top: 2.6em; }
td.q { max-width: 42em; } .support { color: #1b7837; } .oppose { color: #b2182b; } .neutral { color: #666; }
.hand { font-weight: 600; } .low { background: #fff6dd; } .ex { color: #555; font-size: .85em; }
button { font-size: .9em; }
</style>
@@SCRIPTS@@
</head>
<body>
<h1>Stance on sanctions: analysis report</h1>
<p class="note" id="about"></p>
<div class="headline" id="headline"></div>
<div id="filters">
  <label>Actor <select id="f-actor"></select></label>
  <label>Source <select id="f-source"></select></label>
  <label>Target <select id="f-target"></select></label>
  <label>From <select id="f-from"></select></label>
  <label>To <select id="f-to"></select></label>
  <label>Label <select id="f-label"></select></label>
  <label><input type="checkbox" id="f-low"> low confidence only</label>
  <button id="f-clear" type="button">clear</button>
</div>
<h2>By source</h2><div class="charts"><div class="chart" id="c-source-all"></div><div class="chart" id="c-source-time"></div></div>
<h2>By target regime</h2><div class="charts"><div class="chart" id="c-target-all"></div><div class="chart" id="c-target-time"></div></div>
<h2>By actor</h2><div class="charts"><div class="chart" id="c-actor-all"></div><div class="chart" id="c-actor-time"></div></div>
<p class="note" id="chart-note"></p>
<h2>Sentences</h2>
<p id="count" data-count="0"></p>
<table id="sentences"><thead><tr><th>quote</th><th>label</th><th>scores (support / oppose / neutral)</th>
<th>actors</th><th>article</th><th>date</th><th>source</th></tr></thead><tbody></tbody></table>
<script type="application/json" id="report-data">@@DATA@@</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("report-data").textContent);
const S = D.sentences, A = D.articles, SET = D.settings;
const LABELS = ["support", "oppose", "neutral"];
const COLORS = {support: "#1b7837", oppose: "#b2182b", neutral: "#999999"};
const F = {actor: "", source: "", target: "", from: "", to: "", label: "", low: false};
const KEYS = Object.keys(F);
const NS = S.text.length;
const MAXROWS = SET.max_rows;

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function pct(x) { return (100 * x).toFixed(1) + "%"; }
function lowConf(i) {
  if (S.label_source[i] !== "model") return false;
  return Math.max(S.score_support[i], S.score_oppose[i], S.score_neutral[i]) < SET.low_confidence;
}
function periodOk(p) {
  if (!F.from && !F.to) return true;
  if (p === SET.undated) return false;
  return (!F.from || p >= F.from) && (!F.to || p <= F.to);
}
function matches(i) {
  const a = S.article[i];
  if (F.actor && !S.actors[i].includes(F.actor)) return false;
  if (F.source && A.source[a] !== F.source) return false;
  if (F.target && A.target[a] !== F.target) return false;
  if (F.label && S.label[i] !== F.label) return false;
  if (F.low && !lowConf(i)) return false;
  return periodOk(A.period[a]);
}

// ---------------------------------------------------------------- headline
function headline() {
  const h = document.getElementById("headline"), s = D.summary;
  const figs = [[s.articles, "articles"], [s.sentences, "sentences"],
    [pct(s.expected.support), "expected support share [" + pct(s.expected.support_low) + ", " + pct(s.expected.support_high) + "]"],
    [pct(s.expected.oppose), "expected oppose share [" + pct(s.expected.oppose_low) + ", " + pct(s.expected.oppose_high) + "]"],
    [s.hand, "sentences with a hand label"], [s.low_confidence, "low-confidence sentences (top score < " + SET.low_confidence + ")"],
    [s.periods.length ? s.periods[0] + " to " + s.periods[s.periods.length - 1] : "none", "dated periods (" + s.undated + " undated articles)"]];
  for (const [v, t] of figs) { const f = el("div", {class: "fig"}); f.append(el("b", {}, v), el("span", {}, t)); h.append(f); }
  document.getElementById("about").textContent = SET.about;
  document.getElementById("chart-note").textContent = SET.chart_note;
}

// ---------------------------------------------------------------- filters
function fillSelect(id, values, blank) {
  const s = document.getElementById(id);
  s.append(el("option", {value: ""}, blank));
  for (const v of values) s.append(el("option", {value: v}, v === "" ? "(none)" : v));
}
function readHash() {
  const h = new URLSearchParams(location.hash.replace(/^#/, ""));
  for (const k of KEYS) F[k] = k === "low" ? h.get(k) === "1" : (h.get(k) || "");
}
function writeHash() {
  const h = new URLSearchParams();
  for (const k of KEYS) if (F[k]) h.set(k, k === "low" ? "1" : F[k]);
  const s = h.toString();
  history.replaceState(null, "", s ? "#" + s : location.pathname + location.search);
}
function syncControls() {
  for (const k of KEYS) {
    const c = document.getElementById("f-" + k);
    if (k === "low") c.checked = F.low; else c.value = F[k];
  }
}
function setFilters(changes) {
  Object.assign(F, changes);
  syncControls(); writeHash(); render();
}

// ---------------------------------------------------------------- charts
function rowsFor(dim, time) {
  const out = [];
  for (const r of D.tables[dim]) {
    if (time ? r.period === "all" || r.period === SET.undated : r.period !== "all") continue;
    if (time && !periodOk(r.period)) continue;
    if (F[dim] && r.group !== F[dim]) continue;
    if (!F[dim] && !D.top[dim].includes(r.group)) continue;
    for (const lab of ["support", "oppose"])
      out.push({group: r.group === "" ? "(none)" : r.group, key: r.group, period: r.period, label: lab,
                share: r["expected_" + lab], low: r[lab + "_low"], high: r[lab + "_high"], sentences: r.sentences});
  }
  return out;
}
function specAll(dim, values) {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json", data: {values},
    title: "expected share per " + dim + ", all periods", width: 340, height: {step: 12},
    encoding: {y: {field: "group", type: "nominal", title: null, sort: D.top[dim]},
               yOffset: {field: "label"}, color: {field: "label", scale: {domain: ["support", "oppose"], range: [COLORS.support, COLORS.oppose]}}},
    layer: [
      {mark: {type: "bar", cursor: "pointer"}, encoding: {x: {field: "share", type: "quantitative", title: "expected share", axis: {format: "%"}, scale: {domain: [0, 1]}},
        tooltip: [{field: "group"}, {field: "label"}, {field: "share", format: ".1%"}, {field: "low", format: ".1%"}, {field: "high", format: ".1%"}, {field: "sentences"}]}},
      {mark: {type: "rule", color: "#333"}, encoding: {x: {field: "low", type: "quantitative"}, x2: {field: "high"}}}
    ]};
}
function specTime(dim, values) {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json", data: {values},
    title: "expected share over time per " + dim, width: 380, height: 150,
    facet: {row: {field: "label", title: null, sort: ["support", "oppose"]}},
    spec: {
      width: 380, height: 130,
      encoding: {x: {field: "period", type: "ordinal", title: null}, color: {field: "group", type: "nominal", title: dim, sort: D.top[dim]}},
      layer: [
        {mark: {type: "rule", opacity: 0.5}, encoding: {y: {field: "low", type: "quantitative", axis: {format: "%"}, title: "expected share", scale: {domain: [0, 1]}}, y2: {field: "high"}}},
        {mark: {type: "line", point: {size: 40, cursor: "pointer"}}, encoding: {y: {field: "share", type: "quantitative"},
          tooltip: [{field: "group"}, {field: "period"}, {field: "share", format: ".1%"}, {field: "low", format: ".1%"}, {field: "high", format: ".1%"}, {field: "sentences"}]}}
      ]}};
}
const VIEWS = {};
let pending = 0;
function drawChart(id, spec, dim, time) {
  if (VIEWS[id]) { VIEWS[id].finalize(); delete VIEWS[id]; }
  const box = document.getElementById(id);
  if (!spec.data.values.length) { box.textContent = "nothing to draw for this selection"; return; }
  pending++;
  vegaEmbed(box, spec, {renderer: "svg", actions: false}).then(res => {
    VIEWS[id] = res.view;
    res.view.addEventListener("click", (ev, item) => {
      const d = item && item.datum; if (!d || d.key === undefined) return;
      const ch = {[dim]: d.key, label: d.label};
      if (time) { ch.from = d.period; ch.to = d.period; }
      setFilters(ch);
      document.getElementById("count").scrollIntoView();
    });
  }).catch(err => { box.textContent = "chart failed: " + err; box.dataset.error = "1"; })
    .finally(() => { if (--pending === 0) document.body.dataset.ready = "1"; });
}
function charts() {
  document.body.dataset.ready = "";
  for (const dim of ["source", "target", "actor"]) {
    drawChart("c-" + dim + "-all", specAll(dim, rowsFor(dim, false)), dim, false);
    drawChart("c-" + dim + "-time", specTime(dim, rowsFor(dim, true)), dim, true);
  }
  if (pending === 0) document.body.dataset.ready = "1";
}

// ---------------------------------------------------------------- sentence list
function explainText(x) {
  if (!x) return "";
  if (typeof x === "string") return x;
  return x.map(f => Array.isArray(f) ? f[0] + " (" + (f[1] >= 0 ? "+" : "") + Number(f[1]).toFixed(2) + ")" : String(f)).join(", ");
}
function list() {
  const body = document.querySelector("#sentences tbody");
  body.replaceChildren();
  let n = 0;
  for (let i = 0; i < NS; i++) {
    if (!matches(i)) continue;
    n++;
    if (n > MAXROWS) continue;
    const a = S.article[i], tr = el("tr", {class: "sent" + (lowConf(i) ? " low" : ""), "data-sentence-id": S.sentence_id[i]});
    const q = el("td", {class: "q"}, S.text[i]);
    const ex = explainText(S.explain ? S.explain[i] : null);
    if (ex) q.append(el("div", {class: "ex"}, "features: " + ex));
    const lab = el("td", {class: S.label[i] + (S.label_source[i] === "hand" ? " hand" : "")}, S.label[i] + " (" + S.label_source[i] + ")");
    const sc = el("td", {}, [S.score_support[i], S.score_oppose[i], S.score_neutral[i]].map(x => x.toFixed(2)).join(" / "));
    const art = el("td", {});
    const url = A.url[a];
    if (/^https?:\/\//i.test(url)) art.append(el("a", {href: url, rel: "noreferrer noopener", target: "_blank"}, A.title[a] || A.article_id[a]));
    else art.textContent = A.title[a] || A.article_id[a];
    tr.append(q, lab, sc, el("td", {}, S.actors[i].join(", ")), art, el("td", {}, A.date[a]), el("td", {}, A.source[a]));
    body.append(tr);
  }
  const c = document.getElementById("count");
  c.dataset.count = String(n);
  c.textContent = n + " of " + NS + " sentences match" + (n > MAXROWS ? " (showing the first " + MAXROWS + ")" : "") +
    (SET.omitted ? "; " + SET.omitted + " sentences of the corpus are not in this page (see sentences.parquet)" : "");
}
function render() { charts(); list(); }

headline();
fillSelect("f-actor", D.options.actor, "all actors");
fillSelect("f-source", D.options.source, "all sources");
fillSelect("f-target", D.options.target, "all targets");
fillSelect("f-from", D.options.period, "first period");
fillSelect("f-to", D.options.period, "last period");
fillSelect("f-label", LABELS, "all labels");
for (const k of KEYS) {
  const c = document.getElementById("f-" + k);
  c.addEventListener("change", () => setFilters({[k]: k === "low" ? c.checked : c.value}));
}
document.getElementById("f-clear").addEventListener("click", () => setFilters({actor: "", source: "", target: "", from: "", to: "", label: "", low: false}));
window.addEventListener("hashchange", () => { readHash(); syncControls(); render(); });
readHash(); syncControls(); render();
</script>
</body>
</html>
"""
