"""report.html: self-contained, offline, and working in a real browser (headless Chromium).

The browser tests open the page from a file with Debian's ``chromium`` (installed by .ci/run);
they are skipped on a machine without it, except under CI (CI=true), where a missing browser
fails them.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from analyzekit import make_params, write_dir
from browserkit import chromium, dump_dom

from pipeline.analyze.report import VEGA_ASSET, _json_for_script, vega_scripts
from pipeline.analyze.stage import analyze

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report(tmp_path_factory, tiny_model) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    params = make_params(tmp / "params.yaml")
    corpus = write_dir(tmp / "corpus")
    meta = tmp / "meta.csv"
    meta.write_text("article_id,date,source,target,title,url\n"
                    "a1,2016-03-02,Wire,north_korea,Council weighs sanctions,https://example.org/a1\n"
                    "a2,2016-11-30,Wire,north_korea,Japan welcomes resolution,https://example.org/a2\n"
                    "a3,2017-06-02,Paper,iran,<script>alert(1)</script> & co,javascript:alert(1)\n",
                    encoding="utf-8")
    analyze(corpus, tmp / "out", model=tiny_model, params=params, meta=meta)
    return tmp / "out" / "report.html"


def _data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def test_page_is_self_contained_and_offline(report):
    page = report.read_text(encoding="utf-8")
    # nothing to fetch: no external script, stylesheet, image or frame; a CSP forbids any load
    markup = re.sub(r"<script>.*?</script>", "", page, flags=re.S)      # the inlined scripts' own strings
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", markup, re.I)
    assert "default-src 'none'" in page
    assert page.count("<script>") == 4                    # vega, vega-lite, vega-embed, the page's own
    assert vega_scripts() in page
    data = _data(page)
    assert data["summary"]["articles"] == 4
    assert len(data["sentences"]["text"]) == data["summary"]["sentences"]
    # data that looks like markup stays data: the JSON block cannot be closed from inside
    assert "<script>alert(1)</script>" not in page.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    assert data["articles"]["title"][2] == "<script>alert(1)</script> & co"


def test_json_block_escapes_markup():
    text = _json_for_script({"a": "</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028"}


def test_report_is_deterministic(report, tiny_model, tmp_path):
    again = tmp_path / "again"
    params = make_params(tmp_path / "params.yaml")
    corpus = write_dir(tmp_path / "corpus")
    analyze(corpus, again, model=tiny_model, params=params, meta=report.parent.parent / "meta.csv")
    assert (again / "report.html").read_bytes() == report.read_bytes()


def test_vega_asset_matches_the_dvc_plots_template():
    template = (ROOT / "docs" / "dvc_plots_template.html").read_text(encoding="utf-8")
    assert vega_scripts(VEGA_ASSET) == vega_scripts(ROOT / "docs" / "dvc_plots_template.html")
    assert vega_scripts(VEGA_ASSET) in template


def test_report_embeds_at_most_the_configured_sentences_not_neutral_first(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.analyze.report import _sentences

    labels = ["neutral", "support", "neutral", "oppose", "neutral", "support"]
    explain = [[{"feature": f"word:w{i}", "contribution": 0.5}] for i in range(6)]
    pq.write_table(pa.table({"sentence_id": [f"s{i}" for i in range(6)], "label": labels, "explain": explain}),
                   tmp_path / "s.parquet")
    cols, omitted = _sentences(tmp_path / "s.parquet", 4)
    assert cols["sentence_id"] == ["s0", "s1", "s3", "s5"] and omitted == 2     # corpus order kept
    assert cols["explain"][1] == [{"feature": "word:w1", "contribution": 0.5}]   # explanations pass through
    cols, omitted = _sentences(tmp_path / "s.parquet", 10)
    assert len(cols["sentence_id"]) == 6 and omitted == 0


# --------------------------------------------------------------------------- in a browser

def _need_browser():
    if chromium() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")


def _count(dom: str) -> int:
    return int(re.search(r'id="count" data-count="(\d+)"', dom).group(1))


def _listed(dom: str) -> list[str]:
    return re.findall(r'<tr class="sent[^"]*" data-sentence-id="([0-9a-f]+)"', dom)


def test_charts_draw_and_filters_change_the_list(report):
    _need_browser()
    url = report.as_uri()
    dom = dump_dom(url)
    assert 'data-ready="1"' in dom, "the charts did not finish drawing"
    assert "data-error" not in dom
    headline = dom.split('id="headline"', 1)[1].split('id="filters"', 1)[0]
    assert "NaN" not in headline and "undefined" not in headline
    e = _data(report.read_text(encoding="utf-8"))["summary"]["expected"]
    assert f"{100 * e['expected_support']:.1f}%" in headline
    charts = ("c-source-all", "c-source-time", "c-target-all", "c-target-time", "c-actor-all", "c-actor-time")
    for chart, after in zip(charts, (*charts[1:], "chart-note")):
        box = dom.split(f'id="{chart}"', 1)[1].split(f'id="{after}"', 1)[0]
        assert "<svg" in box, chart
        assert re.search(r'class="mark-(symbol|rect|line|rule)', box), chart
    sents = pd.read_parquet(report.parent / "sentences.parquet")
    assert _count(dom) == len(sents) == len(_listed(dom))
    # a filter in the address: only Russia's sentences, then only opposing ones, then a period and source
    russia = dump_dom(url + "#actor=Russia")
    want = [sid for sid, actors in zip(sents["sentence_id"], sents["actors"]) if "Russia" in actors]
    assert _listed(russia) == want and 0 < _count(russia) < _count(dom)
    oppose = dump_dom(url + "#label=oppose")
    assert _listed(oppose) == list(sents.loc[sents["label"] == "oppose", "sentence_id"])
    narrow = dump_dom(url + "#source=Paper&from=2017&to=2017")
    assert _listed(narrow) == list(sents.loc[(sents["source"] == "Paper") & (sents["period"] == "2017"),
                                             "sentence_id"])
    # a link only for http(s) addresses; markup in a title is shown as text
    table = dom.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert 'href="https://example.org/a1"' in table and "javascript:alert" not in table
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in table
