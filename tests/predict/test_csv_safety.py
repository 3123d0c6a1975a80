"""CSV outputs people open in spreadsheets: a cell starting with = + - @ is written with a leading '."""

from __future__ import annotations

import csv
import io
import json

from analyzekit import make_params

from pipeline.cli import main
from pipeline.core.data import spreadsheet_safe

HOSTILE = ["=HYPERLINK(\"http://x.invalid\",\"click\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1"]


def test_spreadsheet_safe():
    assert [spreadsheet_safe(v) for v in HOSTILE] == ["'" + v for v in HOSTILE]
    assert [spreadsheet_safe(v) for v in ("Lift the sanctions.", -0.5, 3, "", None)] == \
        ["Lift the sanctions.", -0.5, 3, "", None]


def test_predict_csv_output_is_safe(tmp_path, monkeypatch, tiny_model_path, capsys):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in HOSTILE), encoding="utf-8")
    assert main(["predict", "--model", str(tiny_model_path), "-i", str(src), "-o", str(tmp_path / "out.csv")]) == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text(encoding="utf-8"))))
    assert [r["text"] for r in rows] == ["'" + t for t in HOSTILE]
    assert all(float(r["score_support"]) >= 0 for r in rows)
    capsys.readouterr()


def test_analyze_csv_outputs_are_safe(tmp_path, monkeypatch, tiny_model_path, capsys):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"article_id": f"=a{i}", "source": s, "date": "2017-01-02",
                                       "text": "The Council must tighten the sanctions."}) + "\n"
                           for i, s in enumerate(HOSTILE)), encoding="utf-8")
    assert main(["analyze", "-i", str(src), "-o", str(tmp_path / "out"), "--no-progress", "--model",
                 str(tiny_model_path), "--params", str(make_params(tmp_path / "params.yaml"))]) == 0
    for name in ("articles.csv", "trends.csv"):
        for row in csv.reader(io.StringIO((tmp_path / "out" / name).read_text(encoding="utf-8"))):
            assert not any(cell.startswith(("=", "+", "@", "\t")) for cell in row), (name, row)
    articles = list(csv.DictReader(io.StringIO((tmp_path / "out" / "articles.csv").read_text(encoding="utf-8"))))
    assert articles[0]["article_id"] == "'=a0" and articles[2]["source"] == "'-2+3"
    capsys.readouterr()
