"""Tests of pipeline.predict.api and `stance predict` (fixtures: tests/conftest.py)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline import LABELS
from pipeline.cli import main
from pipeline.core.config import StanceError
from pipeline.predict import api as predict_api

try:
    from conftest import record_trusted
except ImportError:  # pragma: no cover - run as a package
    from tests.conftest import record_trusted

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch):
    """Run every test from an empty directory, so the default model path is not the project's."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_ROOT", raising=False)


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(["predict", *map(str, argv)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def expected_scores(model, texts):
    """Probabilities straight from the model, as dicts in support/oppose/neutral order."""
    proba = model.predict_proba(texts)
    names = [str(c) for c in model.classes_]
    return [{c: float(row[names.index(c)]) for c in LABELS if c in names} for row in proba]


def assert_record(rec: dict, text: str, model) -> None:
    assert list(rec) == ["text", "label", "scores"]
    assert rec["text"] == text
    assert list(rec["scores"]) == [c for c in LABELS if c in {str(x) for x in model.classes_}]
    for v in rec["scores"].values():
        assert isinstance(v, float) and round(v, 4) == v
    exp = expected_scores(model, [text])[0]
    for c in exp:
        assert rec["scores"][c] == pytest.approx(exp[c], abs=5e-5)
    assert rec["label"] == max(exp, key=exp.get) == str(model.predict([text])[0])


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


# --------------------------------------------------------------------------- sentences on the command line

def test_sentences_jsonl_schema_and_values(capsys, tiny_model_path, tiny_model):
    texts = ["The sanctions must be enforced by all states.", "Sanctions should be lifted, says Moscow.",
             "Café owners in Seoul met on Tuesday."]
    rc, out, err = run(capsys, "--model", tiny_model_path, *texts)
    assert rc == 0 and err == ""
    assert out.count("\n") == 3
    recs = jsonl(out)
    for rec, text in zip(recs, texts):
        assert_record(rec, text, tiny_model)
    assert "Café" in out  # ensure_ascii=False


def test_default_model_path_and_missing_model(capsys, tiny_model_path, tmp_path):
    rc, out, err = run(capsys, "Sanctions must be enforced.")
    assert rc == 2 and out == ""
    assert err.count("\n") == 1
    assert "models/model.joblib" in err and "dvc repro" in err
    (tmp_path / "params.yaml").write_text("split: {}\n")  # marks the project root
    (tmp_path / "models").mkdir()
    os.replace(tiny_model_path, tmp_path / "models" / "model.joblib")
    rc, out, _ = run(capsys, "Sanctions must be enforced.")
    assert rc == 0 and jsonl(out)[0]["text"] == "Sanctions must be enforced."


@pytest.mark.parametrize("sentence", ["", "   ", "\t\n"])
def test_empty_sentence_on_command_line_is_exit_2(capsys, tiny_model_path, sentence):
    rc, out, err = run(capsys, "--model", tiny_model_path, "A fine sentence here.", sentence)
    assert rc == 2 and out == ""
    assert "sentence 2" in err and "empty" in err and err.count("\n") == 1


def test_no_input_or_two_inputs_is_exit_2(capsys, tiny_model_path, tmp_path):
    rc, _, err = run(capsys, "--model", tiny_model_path)
    assert rc == 2 and "nothing to label" in err
    f = write(tmp_path / "in.txt", "x y z\n")
    rc, _, err = run(capsys, "--model", tiny_model_path, "--input", f, "some sentence")
    assert rc == 2 and "only one of" in err


def test_bad_flag_values_exit_2(capsys, tiny_model_path):
    for flags in (["--jobs", "-1"], ["--chunk-size", "0"], ["--format", "xml"]):
        with pytest.raises(SystemExit) as exc:
            main(["predict", "--model", str(tiny_model_path), *flags, "x y z"])
        assert exc.value.code == 2
    capsys.readouterr()


# --------------------------------------------------------------------------- bad model files

def test_corrupt_model_files_exit_2(capsys, tmp_path):
    import joblib

    garbage = tmp_path / "garbage.joblib"
    garbage.write_bytes(b"\x80\x04this is not a pickle at all" * 10)
    empty = tmp_path / "empty.joblib"
    empty.write_bytes(b"")
    not_model = tmp_path / "dict.joblib"
    joblib.dump({"vocabulary": [1, 2, 3]}, not_model)
    folder = tmp_path / "folder.joblib"
    folder.mkdir()
    for path in (garbage, empty, not_model):
        record_trusted(path, tmp_path)  # trusted, so the file's own problem is reported
    for path, words in ((garbage, "corrupt"), (empty, "corrupt"), (not_model, "predict_proba"),
                        (folder, "directory")):
        rc, out, err = run(capsys, "--model", path, "Sanctions must be enforced.")
        assert rc == 2 and out == "", path
        assert words in err and path.name in err and err.count("\n") == 1, err
        assert "Traceback" not in err


def test_unfitted_model_is_a_clear_error(tmp_path):
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    path = tmp_path / "unfitted.joblib"
    joblib.dump(Pipeline([("v", TfidfVectorizer()), ("c", LogisticRegression())]), path)
    with pytest.raises(StanceError, match="not fitted"):
        predict_api.load_model(path, trust=True)


# --------------------------------------------------------------------------- Python API

def test_predict_api_dataframe(tiny_model, tiny_model_path):
    import pandas as pd

    texts = ["Sanctions must be tightened now.", "The sanctions should be eased.", "The panel met."]
    frame = predict_api.predict(tiny_model, texts)
    assert list(frame.columns) == ["text", "label", "score_support", "score_oppose", "score_neutral"]
    assert frame["text"].tolist() == texts
    assert frame["label"].tolist() == [str(x) for x in tiny_model.predict(texts)]
    exp = expected_scores(tiny_model, texts)
    for i, row in frame.iterrows():
        for c in LABELS:
            assert row[f"score_{c}"] == pytest.approx(exp[i][c], abs=1e-12)  # not rounded
    # a path works too, a Series keeps its index, one string is one row
    series = pd.Series(texts, index=["a", "b", "c"])
    by_path = predict_api.predict(str(tiny_model_path), series)
    assert by_path.index.tolist() == ["a", "b", "c"]
    assert by_path["label"].tolist() == frame["label"].tolist()
    assert len(predict_api.predict(tiny_model, "One single sentence here.")) == 1
    empty = predict_api.predict(tiny_model, [])
    assert len(empty) == 0 and list(empty.columns) == list(frame.columns)


def test_predict_api_rejects_empty_and_non_strings(tiny_model):
    with pytest.raises(StanceError, match=r"texts\[1\]: empty text"):
        predict_api.predict(tiny_model, ["ok sentence", "  "])
    with pytest.raises(StanceError, match=r"texts\[0\]: expected a string"):
        predict_api.predict(tiny_model, [3.5])


def test_model_lacking_a_class_reports_what_it_has(capsys, two_class_model_path, tmp_path):
    import joblib

    model = joblib.load(two_class_model_path)
    rc, out, _ = run(capsys, "--model", two_class_model_path, "Sanctions must be lifted.")
    assert rc == 0
    rec = jsonl(out)[0]
    assert list(rec["scores"]) == ["support", "oppose"]
    assert_record(rec, "Sanctions must be lifted.", model)
    f = write(tmp_path / "in.txt", "Sanctions must be lifted.\n\n")
    rc, out, _ = run(capsys, "--model", two_class_model_path, "--input", f, "--format", "csv")
    assert rc == 0
    assert out.splitlines()[0] == "text,label,score_support,score_oppose,error"
    assert list(predict_api.predict(model, ["x y z"]).columns) == ["text", "label", "score_support", "score_oppose"]


def test_extra_class_is_reported_after_the_known_ones(tiny_model):
    class Wrapped:
        classes_ = np.array(["neutral", "other", "oppose", "support"])

        def predict_proba(self, texts):
            p = tiny_model.predict_proba(texts)  # neutral, oppose, support
            return np.column_stack([p[:, 0] / 2, p[:, 0] / 2, p[:, 1], p[:, 2]])

    assert predict_api.model_classes(Wrapped()) == ["support", "oppose", "neutral", "other"]
    buf = io.StringIO()
    predict_api.predict_texts(Wrapped(), ["Sanctions must be enforced."], buf)
    assert list(json.loads(buf.getvalue())["scores"]) == ["support", "oppose", "neutral", "other"]


# --------------------------------------------------------------------------- input files

def test_text_file_with_empty_rows_gets_error_records(capsys, tiny_model_path, tiny_model, tmp_path):
    f = write(tmp_path / "in.txt", "Sanctions must be enforced.\r\n\r\n   \nSanctions should be lifted.\n")
    rc, out, err = run(capsys, "--model", tiny_model_path, "--input", f)
    assert rc == 0
    recs = jsonl(out)
    assert len(recs) == 4
    assert_record(recs[0], "Sanctions must be enforced.", tiny_model)
    assert recs[1] == {"line": 2, "text": "", "error": "empty text"}
    assert recs[2] == {"line": 3, "text": "   ", "error": "empty text"}
    assert_record(recs[3], "Sanctions should be lifted.", tiny_model)
    assert "2 of 4 rows" in err


def test_csv_input_text_column_quotes_and_bom(capsys, tiny_model_path, tiny_model, tmp_path):
    rows = [{"id": "1", "text": 'He said, "sanctions must be enforced."', "x": "a"},
            {"id": "2", "text": "A sentence\nbroken over two lines about sanctions.", "x": "b"},
            {"id": "3", "text": "", "x": "c"},
            {"id": "4", "text": "Моя позиция: санкции надо снять.", "x": "d"}]
    f = tmp_path / "in.csv"
    with open(f, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "text", "x"])
        w.writeheader()
        w.writerows(rows)
    rc, out, _ = run(capsys, "--model", tiny_model_path, "--input", f)
    assert rc == 0
    recs = jsonl(out)
    assert len(recs) == 4
    for rec, row in zip(recs, rows):
        if row["text"]:
            assert_record(rec, row["text"], tiny_model)
    assert recs[2] == {"line": 5, "text": "", "error": "empty text"}  # record 3 sits on line 5


def test_csv_without_text_column_and_short_row(capsys, tiny_model_path, tmp_path):
    f = write(tmp_path / "bad.csv", "id,sentence\n1,Sanctions must go.\n")
    rc, out, err = run(capsys, "--model", tiny_model_path, "--input", f)
    assert rc == 2 and out == ""
    assert "bad.csv" in err and "no 'text' column" in err and "'sentence'" in err and err.count("\n") == 1
    f = write(tmp_path / "short.csv", "id,text\n1,Sanctions must go.\n2\n")
    rc, out, err = run(capsys, "--model", tiny_model_path, "--input", f)
    assert rc == 2 and "short.csv line 3" in err and "'text'" in err
    f = write(tmp_path / "empty.csv", "")
    rc, _, err = run(capsys, "--model", tiny_model_path, "--input", f)
    assert rc == 2 and "empty.csv" in err


def test_jsonl_input(capsys, tiny_model_path, tiny_model, tmp_path):
    f = write(tmp_path / "in.jsonl",
              '{"id": 1, "text": "Sanctions must be enforced."}\n\n'
              '{"text": null}\n{"text": "Ça suffit: lift the sanctions."}\n')
    rc, out, _ = run(capsys, "--model", tiny_model_path, "--input", f)
    assert rc == 0
    recs = jsonl(out)
    assert len(recs) == 3
    assert_record(recs[0], "Sanctions must be enforced.", tiny_model)
    assert recs[1] == {"line": 3, "text": "", "error": "empty text"}
    assert_record(recs[2], "Ça suffit: lift the sanctions.", tiny_model)


@pytest.mark.parametrize("content, message", [
    ('{"text": "ok sentence"}\n{"id": 2, "body": "no text"}\n', "rows.jsonl line 2: no 'text' field"),
    ('{"text": "ok sentence"}\n{"text": \n', "rows.jsonl line 2: invalid JSON"),
    ('["a list"]\n', "rows.jsonl line 1: expected a JSON object"),
    ('{"text": 12}\n', "rows.jsonl line 1: 'text' must be a string"),
])
def test_jsonl_bad_rows_exit_2(capsys, tiny_model_path, tmp_path, content, message):
    f = write(tmp_path / "rows.jsonl", content)
    rc, _, err = run(capsys, "--model", tiny_model_path, "--input", f)
    assert rc == 2 and message in err and err.count("\n") == 1


@pytest.mark.parametrize("name, fmt", [("in.txt", None), ("in.csv", None), ("in.jsonl", None),
                                       ("in.dat", "text")])
def test_non_utf8_input_names_file_and_line(capsys, tiny_model_path, tmp_path, name, fmt):
    head = {"in.csv": b"text\n", "in.jsonl": b""}.get(name, b"")
    good = b'{"text": "fine sentence"}\n' if name.endswith("jsonl") else b"fine sentence\n"
    bad = b'{"text": "caf\xe9 bad"}\n' if name.endswith("jsonl") else b"caf\xe9 latin-1 line\n"
    f = tmp_path / name
    f.write_bytes(head + good * 3 + bad + good)
    line = (2 if head else 1) + 3
    extra = ["--input-format", fmt] if fmt else []
    rc, _, err = run(capsys, "--model", tiny_model_path, "--input", f, *extra, "--chunk-size", "2")
    assert rc == 2
    assert f"{name} line {line}: not valid UTF-8" in err and "0xe9" in err and err.count("\n") == 1


def test_missing_input_file(capsys, tiny_model_path, tmp_path):
    rc, _, err = run(capsys, "--model", tiny_model_path, "--input", tmp_path / "nope.txt")
    assert rc == 2 and "nope.txt not found" in err


def test_stdin_input(capsys, tiny_model_path, tiny_model, monkeypatch):
    data = b"Sanctions must be enforced.\nLift the sanctions.\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    rc, out, _ = run(capsys, "--model", tiny_model_path, "--input", "-")
    assert rc == 0
    recs = jsonl(out)
    assert [r["text"] for r in recs] == ["Sanctions must be enforced.", "Lift the sanctions."]
    assert_record(recs[1], "Lift the sanctions.", tiny_model)


def test_ten_megabyte_single_line(capsys, tiny_model_path, tmp_path):
    words = "sanctions must be tightened or lifted says the council ".split()
    text = " ".join(words[i % len(words)] for i in range(1_800_000))[:10_000_000].strip()
    f = write(tmp_path / "long.txt", text + "\n")
    rc, out, _ = run(capsys, "--model", tiny_model_path, "--input", f, "--max-chars", "10000000")
    assert rc == 0
    rec = json.loads(out)
    assert rec["text"] == text and rec["label"] in LABELS
    g = tmp_path / "long.csv"
    with open(g, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["text"], [text]])
    rc, out, _ = run(capsys, "--model", tiny_model_path, "--input", g, "--format", "table", "--max-chars", "10000000")
    assert rc == 0 and len(out.splitlines()) == 2 and len(out) < 1000


# --------------------------------------------------------------------------- output formats

def test_csv_output_columns_and_format_from_extension(capsys, tiny_model_path, tiny_model, tmp_path):
    f = write(tmp_path / "in.txt", 'Sanctions, "tough" ones, must be enforced.\n\nLift them.\n')
    out_path = tmp_path / "out.csv"
    rc, out, err = run(capsys, "--model", tiny_model_path, "--input", f, "--output", out_path)
    assert rc == 0 and out == "" and "wrote 3 rows" in err
    with open(out_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["text", "label", "score_support", "score_oppose", "score_neutral", "error"]
    assert rows[0]["text"] == 'Sanctions, "tough" ones, must be enforced.' and rows[0]["error"] == ""
    exp = expected_scores(tiny_model, [rows[0]["text"]])[0]
    for c in LABELS:
        assert float(rows[0][f"score_{c}"]) == pytest.approx(exp[c], abs=5e-5)
        assert len(rows[0][f"score_{c}"].split(".")[-1]) <= 4
    assert rows[1] == {"text": "", "label": "", "score_support": "", "score_oppose": "",
                       "score_neutral": "", "error": "empty text"}
    assert rows[2]["label"] in LABELS
    # --format wins over the extension
    rc, _, _ = run(capsys, "--model", tiny_model_path, "--input", f, "--output", out_path, "--format", "jsonl")
    assert len(jsonl(out_path.read_text(encoding="utf-8"))) == 3


def test_table_output_aligned_and_truncated(capsys, tiny_model_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    long = "Sanctions must be enforced " + "and tightened " * 20 + "now."
    rc, out, _ = run(capsys, "--model", tiny_model_path, "--format", "table", long, "Lift the sanctions.")
    assert rc == 0
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].split() == ["label", "support", "oppose", "neutral", "text"]
    start = lines[0].index("text")
    assert all(len(line) <= 60 for line in lines)
    assert lines[1].endswith("\u2026") and lines[1][start:].startswith("Sanctions must be")
    assert lines[2][start:] == "Lift the sanctions."
    for line in lines[1:]:
        label, *scores = line[:start].split()
        assert label in LABELS and all(len(s) == 6 and float(s) <= 1 for s in scores)


# --------------------------------------------------------------------------- atomic output

def test_output_is_atomic_on_failure(capsys, tiny_model_path, tmp_path):
    out_path = tmp_path / "out.jsonl"
    out_path.write_text("old content\n", encoding="utf-8")
    f = tmp_path / "in.txt"
    f.write_bytes(b"good sentence one\n" * 5 + b"bad \xff line\n")
    rc, _, err = run(capsys, "--model", tiny_model_path, "--input", f, "--output", out_path, "--chunk-size", "2")
    assert rc == 2 and "in.txt line 6" in err
    assert out_path.read_text(encoding="utf-8") == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "model.joblib", "out.jsonl", "reports"]
    # and on success the whole file is replaced
    f.write_bytes(b"good sentence one\n" * 5)
    rc, _, _ = run(capsys, "--model", tiny_model_path, "--input", f, "--output", out_path, "--chunk-size", "2")
    assert rc == 0 and len(jsonl(out_path.read_text(encoding="utf-8"))) == 5


def test_output_to_a_directory_is_exit_2(capsys, tiny_model_path, tmp_path):
    rc, _, err = run(capsys, "--model", tiny_model_path, "--output", tmp_path, "Sanctions must go.")
    assert rc == 2 and "is a directory" in err


# --------------------------------------------------------------------------- streaming, jobs, progress

class SpyModel:
    """Wraps a model and records the size of every predict_proba call."""

    def __init__(self, model):
        self.model = model
        self.classes_ = model.classes_
        self.calls: list[int] = []

    def predict_proba(self, texts):
        self.calls.append(len(texts))
        return self.model.predict_proba(texts)


@pytest.mark.parametrize("in_name", ["in.txt", "in.csv", "in.jsonl"])
def test_predict_file_streams_in_chunks(tiny_model, tmp_path, in_name):
    texts = [f"Sentence number {i} about sanctions." for i in range(95)]
    f = tmp_path / in_name
    if in_name.endswith(".csv"):
        with open(f, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([["text"]] + [[t] for t in texts])
    elif in_name.endswith(".jsonl"):
        write(f, "".join(json.dumps({"text": t}) + "\n" for t in texts))
    else:
        write(f, "\n".join(texts) + "\n")
    spy = SpyModel(tiny_model)
    stats = predict_api.predict_file(spy, f, tmp_path / "out.jsonl", chunk_size=10)
    assert stats == {"rows": 95, "scored": 95, "errors": 0}
    assert spy.calls == [10] * 9 + [5]
    recs = jsonl((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert [r["text"] for r in recs] == texts


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "table"])
def test_jobs_two_gives_identical_ordered_output(tiny_model_path, tmp_path, fmt):
    texts = [f"Row {i}: sanctions must be {'lifted' if i % 3 else 'enforced'} now." for i in range(600)]
    texts[17] = ""
    texts[333] = "   "
    f = write(tmp_path / "in.txt", "\n".join(texts) + "\n")
    one = predict_api.predict_file(tiny_model_path, f, tmp_path / "one.out", fmt, chunk_size=50)
    two = predict_api.predict_file(tiny_model_path, f, tmp_path / "two.out", fmt, jobs=2, chunk_size=50)
    assert one == two == {"rows": 600, "scored": 598, "errors": 2}
    a = (tmp_path / "one.out").read_bytes()
    assert a == (tmp_path / "two.out").read_bytes()
    if fmt == "jsonl":
        recs = jsonl(a.decode())
        assert recs[17] == {"line": 18, "text": "", "error": "empty text"}
        assert [r["text"] for r in recs] == texts


class PidModel(SpyModel):
    """Appends the scoring process id to a file, one line per predict_proba call."""

    def __init__(self, model, log: Path):
        super().__init__(model)
        self.log = str(log)

    def predict_proba(self, texts):
        with open(self.log, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        time.sleep(0.05)  # slow enough that both workers get chunks (no timing is asserted)
        return self.model.predict_proba(texts)


def test_jobs_scores_in_worker_processes(tiny_model, tmp_path):
    log = tmp_path / "pids.log"
    f = write(tmp_path / "in.txt", "".join(f"Sentence {i} on sanctions.\n" for i in range(200)))
    stats = predict_api.predict_file(PidModel(tiny_model, log), f, tmp_path / "o.jsonl", jobs=2, chunk_size=10)
    assert stats["rows"] == 200
    pids = log.read_text().split()
    assert len(pids) == 20  # one call per chunk
    assert str(os.getpid()) not in pids and len(set(pids)) == 2
    log.unlink()
    predict_api.predict_file(PidModel(tiny_model, log), tmp_path / "in.txt", tmp_path / "o.jsonl", jobs=2,
                             chunk_size=500)
    assert log.read_text().split() == [str(os.getpid())]  # one chunk only: no pool


def test_jobs_flag_through_cli(capsys, tiny_model_path, tmp_path):
    f = write(tmp_path / "in.txt", "".join(f"Sentence {i} on sanctions.\n" for i in range(30)))
    rc, out, _ = run(capsys, "--model", tiny_model_path, "--input", f, "--jobs", "2", "--chunk-size", "4")
    assert rc == 0
    assert [r["text"] for r in jsonl(out)] == [f"Sentence {i} on sanctions." for i in range(30)]


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal(tiny_model_path, tmp_path, monkeypatch):
    monkeypatch.setattr(predict_api, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(predict_api, "PROGRESS_INTERVAL", 0.0)
    f = write(tmp_path / "in.txt", "".join(f"Sentence {i} on sanctions.\n" for i in range(40)))
    err = io.StringIO()  # not a terminal: quiet
    monkeypatch.setattr(sys, "stderr", err)
    predict_api.predict_file(tiny_model_path, f, tmp_path / "o.jsonl", chunk_size=10, progress=None)
    assert err.getvalue() == ""
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    predict_api.predict_file(tiny_model_path, f, tmp_path / "o.jsonl", chunk_size=10, progress=None)
    shown = tty.getvalue()
    assert shown.startswith("\rstance predict:") and shown.endswith("\n")
    assert "100%" in shown and "40 rows" in shown
    tty2 = FakeTTY()  # --no-progress wins over the terminal
    monkeypatch.setattr(sys, "stderr", tty2)
    predict_api.predict_file(tiny_model_path, f, tmp_path / "o.jsonl", chunk_size=10, progress=False)
    assert tty2.getvalue() == ""


def test_progress_stays_quiet_for_small_inputs_by_default(tiny_model_path, tmp_path, monkeypatch):
    f = write(tmp_path / "in.txt", "Sentence one on sanctions.\n")
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    predict_api.predict_file(tiny_model_path, f, tmp_path / "o.jsonl", progress=None)
    assert tty.getvalue() == ""  # finished before the display delay


# --------------------------------------------------------------------------- articles

ARTICLE = """# source: https://example.org/test-article
# title: Council debates sanctions
# license: written for the tests

NEW YORK - The Security Council must tighten sanctions on the missile programme, the envoy said.
China and Russia said the sanctions should be eased to relieve humanitarian suffering.

The committee met on Tuesday in New York to discuss the annual report.
We urge all states to enforce the sanctions fully and without delay.
Moscow vetoed the draft that would have extended the sanctions regime.
"""


def _split_article():
    split = pytest.importorskip("pipeline.split.stage")
    if not hasattr(split, "split_article"):
        pytest.skip("pipeline.split.stage.split_article is not written yet")
    return split.split_article


def test_summarize_article(tiny_model, tmp_path):
    split_article = _split_article()
    f = write(tmp_path / "debate.txt", ARTICLE)
    summary = predict_api.summarize_article(tiny_model, f, top=2)
    _meta, sentences, _ = split_article(f)
    assert summary["article_id"] == "debate"
    assert summary["n_sentences"] == len(sentences) == len(summary["sentences"]) > 0
    assert [s["text"] for s in summary["sentences"]] == [s["text"] for s in sentences]
    assert [s["sentence_id"] for s in summary["sentences"]] == [s["sentence_id"] for s in sentences]
    labels = [str(x) for x in tiny_model.predict([s["text"] for s in sentences])]
    assert [s["label"] for s in summary["sentences"]] == labels
    assert list(summary["counts"]) == list(LABELS)
    assert summary["counts"] == {c: labels.count(c) for c in LABELS}
    assert sum(summary["shares"].values()) == pytest.approx(1.0, abs=1e-3)
    assert summary["shares"]["support"] == round(labels.count("support") / len(labels), 4)
    assert set(summary["most_confident"]) == {"support", "oppose"}
    for side, items in summary["most_confident"].items():
        assert len(items) == min(2, labels.count(side))
        scores = [it["score"] for it in items]
        assert scores == sorted(scores, reverse=True)
        by_text = {s["text"]: s for s in summary["sentences"]}
        for it in items:
            assert by_text[it["text"]]["label"] == side
            assert it["score"] == by_text[it["text"]]["scores"][side]
        others = [s["scores"][side] for s in summary["sentences"] if s["label"] == side
                  and s["text"] not in {it["text"] for it in items}]
        assert all(o <= min(scores) for o in others)
    json.dumps(summary)  # plain JSON-able dict


def test_article_cli_formats(capsys, tiny_model_path, tmp_path):
    _split_article()
    f = write(tmp_path / "debate.txt", ARTICLE)
    rc, out, err = run(capsys, "--model", tiny_model_path, "--article", f)
    assert rc == 0 and err == ""
    recs = jsonl(out)
    summary = recs[-1]["summary"]
    assert summary["article_id"] == "debate" and summary["n_sentences"] == len(recs) - 1
    for r in recs[:-1]:
        assert list(r) == ["sentence_id", "position", "text", "label", "scores", "hand_label"]
        assert list(r["scores"]) == list(LABELS)
    assert sum(summary["counts"].values()) == len(recs) - 1

    rc, out, _ = run(capsys, "--model", tiny_model_path, "--article", f, "--format", "table")
    assert rc == 0
    assert "Most confident support:" in out and "Most confident oppose:" in out
    assert out.splitlines()[0].split() == ["position", "hand", "label", "label", "support", "oppose", "neutral", "text"]

    rc, out, err = run(capsys, "--model", tiny_model_path, "--article", f, "--output", tmp_path / "a.csv")
    assert rc == 0 and out == "" and "Most confident" in err
    with open(tmp_path / "a.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:5] == ["sentence_id", "position", "hand_label", "text", "label"]
    assert len(rows) == summary["n_sentences"]


def test_article_shows_hand_labels_beside_predictions(capsys, tiny_model_path, tmp_path):
    """`stance predict --article` marks the sentences already labelled by hand (--labels FILE)."""
    _split_article()
    f = write(tmp_path / "debate.txt", ARTICLE)
    rc, out, _ = run(capsys, "--model", tiny_model_path, "--article", f)
    sentences = jsonl(out)[:-1]
    first, second = sentences[0], sentences[1]
    labels = write(tmp_path / "labels.csv", "sentence_id,label,text,note\n"
                   f"{first['sentence_id']},oppose,x,\n{second['sentence_id']},,y,\nzzzz,support,z,\n")
    rc, out, err = run(capsys, "--model", tiny_model_path, "--article", f, "--labels", labels)
    assert rc == 0, err
    recs = jsonl(out)
    by_id = {r["sentence_id"]: r for r in recs[:-1]}
    assert by_id[first["sentence_id"]]["hand_label"] == "oppose"
    assert by_id[second["sentence_id"]]["hand_label"] is None          # empty label = not labelled
    summary = recs[-1]["summary"]
    assert summary["n_hand_labeled"] == 1
    assert summary["hand_agree"] == int(first["label"] == "oppose")
    rc, out, _ = run(capsys, "--model", tiny_model_path, "--article", f, "--labels", labels, "--format", "table")
    assert rc == 0 and "Hand-labelled: 1 sentences" in out
    assert out.splitlines()[1].split()[1] == "oppose"                  # the hand label column of position 0


def test_article_bad_files_exit_2(capsys, tiny_model_path, tmp_path):
    _split_article()
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"First line is fine.\nSecond line \xff is not.\n")
    rc, _, err = run(capsys, "--model", tiny_model_path, "--article", bad)
    assert rc == 2 and "bad.txt" in err and "line 2" in err and err.count("\n") == 1
    rc, _, err = run(capsys, "--model", tiny_model_path, "--article", tmp_path / "missing.txt")
    assert rc == 2 and "missing.txt" in err and "not found" in err


# --------------------------------------------------------------------------- real processes, imports

def _subprocess(args, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=120, **kw)


def test_real_process_errors_have_no_traceback(tiny_model_path, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok line here\n\xc3\x28 broken\n")
    cases = [
        (["predict", "--model", str(tmp_path / "none.joblib"), "Sanctions must go."], "dvc repro"),
        (["predict", "--model", str(tiny_model_path), "--input", str(bad)], "bad.txt line 2"),
        (["predict", "--model", str(tiny_model_path), " "], "empty"),
    ]
    for argv, needle in cases:
        proc = _subprocess(["-m", "pipeline.cli", *argv], cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and needle in proc.stderr
        assert proc.stderr.startswith("stance predict: error: ") and proc.stderr.count("\n") == 1


def test_console_script_end_to_end(tiny_model_path, tmp_path):
    exe = Path(sys.executable).with_name("stance")
    if not exe.exists():
        pytest.skip("stance console script not installed next to this python")
    proc = subprocess.run([str(exe), "predict", "--model", str(tiny_model_path), "Sanctions must be enforced."],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    assert json.loads(proc.stdout)["text"] == "Sanctions must be enforced."


def test_predict_path_imports_neither_mlflow_nor_dvc(tiny_model_path, tmp_path):
    f = write(tmp_path / "in.csv", "text\nSanctions must be enforced.\n")
    script = (
        "import sys\n"
        "from pipeline.cli import main\n"
        f"assert main(['predict', '--model', {str(tiny_model_path)!r}, 'Sanctions must go.']) == 0\n"
        f"assert main(['predict', '--model', {str(tiny_model_path)!r}, '--input', {str(f)!r}]) == 0\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'dvc'))\n"
        "print('HEAVY', bad)\n"
    )
    proc = _subprocess(["-c", script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout


def test_sentence_path_works_without_pandas(tiny_model_path, tmp_path):
    """The CLI's plain-sentence path does not itself need pandas (scikit-learn only imports it optionally)."""
    script = (
        "import sys\n"
        "sys.modules['pandas'] = None  # any `import pandas` now raises ImportError\n"
        "from pipeline.cli import main\n"
        f"sys.exit(main(['predict', '--model', {str(tiny_model_path)!r}, 'Sanctions must go.']))\n"
    )
    proc = _subprocess(["-c", script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["text"] == "Sanctions must go."


def test_importing_the_module_is_light(tmp_path):
    proc = _subprocess(["-c", "import sys, pipeline.predict.api; "
                              "print(sorted(m for m in ('numpy', 'pandas', 'sklearn', 'joblib', 'yaml') "
                              "if m in sys.modules))"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
