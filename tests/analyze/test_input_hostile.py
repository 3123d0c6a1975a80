"""Hostile inputs of `stance analyze`, `stance predict` and `stance import-labels`: one line, exit 2."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from analyzekit import make_params

from pipeline.cli import main


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_ROOT", raising=False)


def _csv(rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _articles_csv(n: int = 100) -> list[str]:
    rows = [("article_id", "date", "source", "text")]
    rows += [(f"a{i}", "2017-03-04", "Wire", f"The Council must tighten the sanctions, number {i}.")
             for i in range(n)]
    return _csv(rows).splitlines()


def _analyze(capsys, tmp_path, src, *extra):
    rc = main(["analyze", "-i", str(src), "-o", str(tmp_path / "out"), "--no-progress",
               "--params", str(make_params(tmp_path / "params.yaml")), "--model", str(tmp_path / "model.joblib"),
               *extra])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_csv_unterminated_quote_in_last_column_names_its_line(capsys, tmp_path, tiny_model_path):
    lines = _articles_csv()
    lines[5] = 'a4,2017-03-04,Wire,"The Council must tighten the sanctions, number 4.'  # quote never closed
    src = tmp_path / "in.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rc, _, err = _analyze(capsys, tmp_path, src)
    assert rc == 2
    assert "in.csv line 6: malformed CSV" in _one_line(err)


def test_csv_unterminated_quote_in_another_column_is_reported_where_it_starts(capsys, tmp_path, tiny_model_path):
    lines = _articles_csv(10)
    lines[3] = 'a2,2017-03-04,"Wire,"The Council must tighten the sanctions, number 2."'
    src = tmp_path / "in.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rc, _, err = _analyze(capsys, tmp_path, src)
    assert rc == 2 and "in.csv line 4: malformed CSV" in _one_line(err)


def test_csv_duplicate_text_header_refused(capsys, tmp_path, tiny_model_path):
    src = tmp_path / "in.csv"
    src.write_text("article_id,text,text\na1,The Council met.,Sanctions now.\n", encoding="utf-8")
    rc, _, err = _analyze(capsys, tmp_path, src)
    assert rc == 2 and "in.csv line 1: duplicate column 'text' in the header" in _one_line(err)
    capsys.readouterr()
    assert main(["predict", "--model", str(tmp_path / "model.joblib"), "-i", str(src)]) == 2
    assert "in.csv line 1: duplicate column 'text'" in _one_line(capsys.readouterr().err)


def test_predict_csv_unterminated_quote(capsys, tmp_path, tiny_model_path):
    src = tmp_path / "in.csv"
    src.write_text('id,text\n1,Lift the sanctions.\n2,"Tighten the sanctions.\n3,More.\n', encoding="utf-8")
    assert main(["predict", "--model", str(tmp_path / "model.joblib"), "-i", str(src)]) == 2
    assert "in.csv line 3: malformed CSV: a double quote opened" in _one_line(capsys.readouterr().err)


def test_lone_surrogate_analyze_one_line(capsys, tmp_path, tiny_model_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"article_id": "a1", "text": "The Council met."}) + "\n"
                   + '{"article_id": "a2", "text": "Lift \\ud800 the sanctions."}\n', encoding="utf-8")
    rc, _, err = _analyze(capsys, tmp_path, src)
    assert rc == 2 and "in.jsonl line 2: a string holds a lone surrogate" in _one_line(err)


def test_lone_surrogate_predict_error_record(capsys, tmp_path, tiny_model_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "Lift the sanctions."}\n{"text": "Lift \\ud800 the sanctions."}\n', encoding="utf-8")
    assert main(["predict", "--model", str(tmp_path / "model.joblib"), "-i", str(src)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert "label" in out[0]
    assert out[1]["line"] == 2 and "lone surrogate" in out[1]["error"] and "label" not in out[1]


def test_lone_surrogate_predict_strict_exits_2(capsys, tmp_path, tiny_model_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "Lift the sanctions."}\n{"text": "Lift \\ud800 the sanctions."}\n', encoding="utf-8")
    assert main(["predict", "--model", str(tmp_path / "model.joblib"), "-i", str(src), "--strict",
                 "-o", str(tmp_path / "out.jsonl")]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "1 of 2 rows not scored" in err and "--strict" in err
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert "label" in out[0] and "lone surrogate" in out[1]["error"]  # the error record is still written


def _deep(tmp_path, depth=100_000):
    src = tmp_path / "deep.jsonl"
    src.write_text('{"article_id": "a1", "text": "x", "extra": ' + "[" * depth + "]" * depth + "}\n",
                   encoding="utf-8")
    return src


def test_deep_json_analyze_and_predict(capsys, tmp_path, tiny_model_path):
    src = _deep(tmp_path)
    rc, _, err = _analyze(capsys, tmp_path, src)
    assert rc == 2 and "deep.jsonl line 1: JSON nested too deeply to read" in _one_line(err)
    assert main(["predict", "--model", str(tmp_path / "model.joblib"), "-i", str(src)]) == 2
    assert "deep.jsonl line 1: JSON nested too deeply to read" in _one_line(capsys.readouterr().err)


def test_deep_json_import_labels(capsys, tmp_path):
    src = tmp_path / "export.json"
    src.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert main(["import-labels", str(src)]) == 2
    assert "export.json: JSON nested too deeply to read" in _one_line(capsys.readouterr().err)


def test_dates_with_non_ascii_digits_refused(capsys, tmp_path, tiny_model_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"article_id": "a1", "date": "\u0662\u0660\u0661\u0667-03-04", "text": "Sanctions."},
                              ensure_ascii=False) + "\n", encoding="utf-8")
    rc, _, err = _analyze(capsys, tmp_path, src)
    assert rc == 2 and "in.jsonl line 1: date" in _one_line(err) and "is not an ISO date" in err


def test_future_date_warns_once(capsys, tmp_path, tiny_model_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"article_id": f"a{i}", "date": "2999-01-02", "text": "Sanctions."}) + "\n"
                           for i in range(3)), encoding="utf-8")
    rc, _, err = _analyze(capsys, tmp_path, src)
    assert rc == 0, err
    assert err.count("is in the future") == 1 and "in.jsonl line 1: date 2999-01-02" in err


def test_header_only_gold_file(capsys, tmp_path):
    gold = tmp_path / "gold.csv"
    gold.write_text("sentence_id,actor\n", encoding="utf-8")
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a1.txt").write_text("The Council met.\n", encoding="utf-8")
    rc, _, err = _analyze(capsys, tmp_path, tmp_path / "corpus", "--evaluate-actors", str(gold))
    assert rc == 2 and "gold.csv: no gold rows, only a header" in _one_line(err)


def test_atomic_open_parent_is_a_file(tmp_path):
    from pipeline.core.config import StanceError
    from pipeline.core.data import atomic_open

    (tmp_path / "afile").write_text("x", encoding="utf-8")
    with pytest.raises(StanceError, match="afile is a file, not a folder"):
        with atomic_open(tmp_path / "afile" / "sub" / "out.csv") as fh:
            fh.write("never")


REPO_PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


@pytest.mark.parametrize("command", ["analyze", "export-model", "split", "dataset", "export-queue"])
def test_output_parent_is_a_file(capsys, tmp_path, tiny_model_path, command):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a1.txt").write_text("The Council met on Monday.\n", encoding="utf-8")
    blocked = tmp_path / "afile" / "out"
    sentences, labels = tmp_path / "s.csv", tmp_path / "l.csv"
    sentences.write_text("sentence_id,article_id,position,paragraph,start,end,text\n"
                         "s1,a1,0,0,0,26,The Council met on Monday.\n", encoding="utf-8")
    labels.write_text("sentence_id,label,text,note\n", encoding="utf-8")
    argv = {"analyze": ["analyze", "-i", str(corpus), "-o", str(blocked), "--no-progress",
                        "--params", str(make_params(tmp_path / "params.yaml")), "--model", str(tiny_model_path)],
            "export-model": ["export-model", "--model", str(tiny_model_path), "--out", str(blocked / "m.skops")],
            "split": ["split", "--raw", str(corpus), "--sentences", str(blocked / "s.csv"),
                      "--articles", str(tmp_path / "a.csv"), "--report", str(tmp_path / "r.csv")],
            "dataset": ["dataset", "--params", str(REPO_PARAMS), "--sentences", str(sentences), "--labels", str(labels),
                        "--out", str(blocked / "d.csv"),
                        "--queue", str(tmp_path / "q.csv"), "--report", str(tmp_path / "r.json")],
            "export-queue": ["export-queue", "--params", str(REPO_PARAMS), "--sentences", str(sentences),
                             "--labels", str(labels),
                             "--out", str(blocked / "tasks.json")]}[command]
    assert main(argv) == 2
    assert "afile is a file, not a folder" in _one_line(capsys.readouterr().err)
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "x"


def test_folder_symlink_to_a_file_outside_is_refused(capsys, tmp_path, tiny_model_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a1.txt").write_text("The Council met on Monday.\n", encoding="utf-8")
    outside = tmp_path / "secret.txt"
    outside.write_text("Not an article of this corpus.\n", encoding="utf-8")
    (corpus / "a2.txt").symlink_to(outside)
    rc, _, err = _analyze(capsys, tmp_path, corpus)
    assert rc == 2 and "a2.txt: symbolic link to a file outside the articles folder" in _one_line(err)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("where", ["input", "raw"])
def test_out_inside_the_input_folder_or_data_raw_is_refused(capsys, tmp_path, tiny_model_path, where):
    corpus = tmp_path / ("corpus" if where == "input" else "data/raw")
    corpus.mkdir(parents=True)
    (corpus / "a1.txt").write_text("The Council met on Monday.\n", encoding="utf-8")
    src = corpus if where == "input" else tmp_path / "in.jsonl"
    if where == "raw":
        src.write_text(json.dumps({"article_id": "a1", "text": "The Council met."}) + "\n", encoding="utf-8")
    before = sorted(p.name for p in corpus.iterdir())
    rc = main(["analyze", "-i", str(src), "-o", str(corpus / "analysis"), "--no-progress",
               "--params", str(make_params(tmp_path / "params.yaml")), "--model", str(tmp_path / "model.joblib")])
    err = _one_line(capsys.readouterr().err)
    assert rc == 2 and "is inside " + ("the input folder" if where == "input" else "data/raw") in err
    assert sorted(p.name for p in corpus.iterdir()) == before  # nothing written into it


def _empty_inputs(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    jsonl = tmp_path / "empty.jsonl"
    jsonl.write_text("\n  \n", encoding="utf-8")
    header = tmp_path / "header.csv"
    header.write_text("article_id,date,source,text\n", encoding="utf-8")
    parquet = tmp_path / "zero.parquet"
    pq.write_table(pa.table({"article_id": pa.array([], pa.string()), "text": pa.array([], pa.string())}), parquet)
    return [(jsonl, "empty JSONL file"), (header, "CSV file with a header only"), (parquet, "Parquet file with 0 rows")]


def test_empty_inputs_warn_naming_the_file(capsys, tmp_path, tiny_model_path):
    for src, what in _empty_inputs(tmp_path):
        rc, _, err = _analyze(capsys, tmp_path, src)
        assert rc == 0, err
        warnings = [line for line in err.splitlines() if "no articles" in line]
        assert len(warnings) == 1, err
        assert warnings[0].endswith(f"warning: {src}: no articles ({what}); the outputs are empty"), err
        assert (tmp_path / "out" / "articles.csv").is_file()


def test_empty_inputs_with_strict_exit_2(capsys, tmp_path, tiny_model_path):
    for src, what in _empty_inputs(tmp_path):
        rc, _, err = _analyze(capsys, tmp_path, src, "--strict")
        assert rc == 2
        assert f"{src}: no articles ({what}); nothing analysed (--strict)" in _one_line(err)
    assert not (tmp_path / "out").exists()
    # a file with articles is not refused by --strict
    src = tmp_path / "ok.csv"
    src.write_text("\n".join(_articles_csv(3)) + "\n", encoding="utf-8")
    rc, _, err = _analyze(capsys, tmp_path, src, "--strict")
    assert rc == 0, err
