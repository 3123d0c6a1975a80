"""`stance predict` against hostile inputs: over-long lines (bounded memory), output = input, full disk."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.core.config import StanceError
from pipeline.predict import api as predict_api

ROOT = Path(__file__).resolve().parents[2]
WORDS = "sanctions must be tightened or lifted says the council ".split()


try:  # the autouse fixture (empty working directory) and the CLI runner of test_predict
    from test_predict import _isolated_cwd, run  # noqa: F401
except ImportError:  # tests/ imported as a package
    from tests.test_predict import _isolated_cwd, run  # noqa: F401


def prose(n_chars: int) -> str:
    text = " ".join(WORDS[i % len(WORDS)] for i in range(n_chars // 4 + 10))
    return text[:n_chars]


# --------------------------------------------------------------------------- item 3: one long line

def test_a_line_over_max_chars_is_an_error_record_and_the_rest_is_scored(capsys, tiny_model_path, tmp_path):
    f = tmp_path / "in.txt"
    long = prose(1_000_001)
    f.write_text("Sanctions must be enforced.\n" + long + "\n\nLift them now.\n", encoding="utf-8")
    rc, out, err = run(capsys, "--model", tiny_model_path, "--input", f)
    assert rc == 0
    recs = [json.loads(line) for line in out.splitlines()]
    assert [r.get("label") is not None for r in recs] == [True, False, False, True]
    error = "text longer than 100000 characters (max_chars)"
    assert recs[1] == {"line": 2, "text": long[:80] + "\u2026", "error": error}
    assert recs[2]["error"] == "empty text"
    assert "2 of 4 rows not scored" in err


def test_max_chars_option_and_params_setting(capsys, tiny_model_path, tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("a" * 30 + "\n" + "short one\n", encoding="utf-8")
    rc, out, _ = run(capsys, "--model", tiny_model_path, "--input", f, "--max-chars", "20")
    assert rc == 0 and [("error" in json.loads(x)) for x in out.splitlines()] == [True, False]
    (tmp_path / "params.yaml").write_text("predict:\n  max_chars: 5\n")
    rc, out, _ = run(capsys, "--model", tiny_model_path, "--input", f)
    assert rc == 0 and [("error" in json.loads(x)) for x in out.splitlines()] == [True, True]
    (tmp_path / "params.yaml").write_text("predict:\n  max_chars: none\n")
    rc, _, err = run(capsys, "--model", tiny_model_path, "--input", f)
    assert rc == 2 and "predict.max_chars: expected an integer, got 'none'" in err


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_long_texts_in_csv_and_jsonl_are_error_records(capsys, tiny_model_path, tmp_path, fmt):
    long = prose(300)
    if fmt == "jsonl":
        f = tmp_path / "in.jsonl"
        f.write_text("\n".join(json.dumps({"text": t}) for t in ["Lift them.", long, "x" * 70_000]) + "\n")
    else:
        f = tmp_path / "in.csv"
        f.write_text(f'text\nLift them.\n"{long}"\n')
    rc, out, _ = run(capsys, "--model", tiny_model_path, "--input", f, "--max-chars", "100")
    assert rc == 0
    recs = [json.loads(x) for x in out.splitlines()]
    assert "label" in recs[0]
    line = 2 if fmt == "jsonl" else 3  # the CSV header is line 1
    assert recs[1] == {"line": line, "text": long[:80] + "\u2026",
                       "error": "text longer than 100 characters (max_chars)"}
    if fmt == "jsonl":  # a line too long to parse is skipped unread, as a record of its own
        assert recs[2]["line"] == 3 and recs[2]["text"] == "" and "line longer than" in recs[2]["error"]


def test_too_long_on_the_command_line_and_in_the_api(capsys, tiny_model_path, tiny_model):
    rc, _, err = run(capsys, "--model", tiny_model_path, "--max-chars", "10", "Sanctions must be enforced.")
    assert rc == 2 and err.count("\n") == 1
    assert "sentence 1 on the command line: text longer than 10 characters" in err
    with pytest.raises(StanceError, match=r"texts\[1\]: text longer than 10 characters"):
        predict_api.predict(tiny_model, ["Lift.", "Sanctions must be enforced."], max_chars=10)


def test_long_lines_with_worker_processes(tiny_model, tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("".join(("y" * 50 if i % 7 == 0 else f"Sanctions {i} must stay.") + "\n" for i in range(40)))
    out = tmp_path / "out.jsonl"
    stats = predict_api.predict_file(tiny_model, f, out, jobs=2, chunk_size=5, max_chars=40)
    assert stats == {"rows": 40, "scored": 34, "errors": 6}
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["line"] for r in recs if "error" in r] == [1, 8, 15, 22, 29, 36]


MEASURE = textwrap.dedent("""
    import resource, subprocess, sys
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "predict", *sys.argv[1:]],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sys.stderr.write(proc.stderr.decode())
    print(proc.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    sys.stdout.write(proc.stdout.decode()[:2000])
""")


def test_a_20_mb_line_is_never_held_in_memory(tiny_model_path, tmp_path):
    """Peak RSS of the predict process stays far below what holding and scoring the line would take."""
    f = tmp_path / "long.txt"
    piece = prose(1_000_000)
    with open(f, "w", encoding="utf-8") as fh:
        for _ in range(20):
            fh.write(piece)
        fh.write("\nSanctions must be enforced.\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", MEASURE, "--model", str(tiny_model_path), "--input", str(f)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    head, *records = proc.stdout.splitlines()
    code, maxrss_kib = map(int, head.split())
    assert code == 0, proc.stderr
    assert json.loads(records[0])["error"].startswith("text longer than 100000 characters")
    assert json.loads(records[1])["label"]
    assert maxrss_kib < 500 * 1024, f"peak RSS {maxrss_kib / 1024:.0f} MiB"


# --------------------------------------------------------------------------- item 6: output = input

def test_output_that_is_the_input_is_refused(capsys, tiny_model_path, tmp_path):
    f = tmp_path / "f.txt"
    f.write_text("Sanctions must be enforced.\n")
    (tmp_path / "link.txt").symlink_to(f)
    os.link(f, tmp_path / "hard.txt")
    before = f.read_bytes()
    for out in (f, tmp_path / "link.txt", tmp_path / "hard.txt", "./f.txt"):
        rc, _, err = run(capsys, "--model", tiny_model_path, "-i", f, "-o", out)
        assert rc == 2 and err.count("\n") == 1 and "is the input file" in err, out
    rc, _, err = run(capsys, "--model", tiny_model_path, "--article", f, "-o", tmp_path / "link.txt")
    assert rc == 2 and "is the input file" in err
    with pytest.raises(StanceError, match="is the input file"):
        predict_api.predict_file(str(tiny_model_path), tmp_path / "hard.txt", f)
    assert f.read_bytes() == before and (tmp_path / "link.txt").is_symlink()


# --------------------------------------------------------------------------- item 5: full disk

def test_full_disk_on_predict_output_keeps_the_old_file(capsys, tiny_model_path, tmp_path, monkeypatch):
    f = tmp_path / "in.txt"
    f.write_text("Sanctions must be enforced.\n")
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")

    def enospc(_fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", enospc)
    rc, _, err = run(capsys, "--model", tiny_model_path, "-i", f, "-o", out)
    assert rc == 2 and err.count("\n") == 1 and "No space left on device" in err
    assert out.read_text() == "old\n" and not list(tmp_path.glob(".out.jsonl.*"))


def test_classifier_with_other_classes_is_refused(capsys, tmp_path, monkeypatch):
    """A classifier whose classes are not stance labels is refused (as analyze does), not used silently."""
    import joblib
    from conftest import record_trusted
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from pipeline.cli import main

    monkeypatch.chdir(tmp_path)
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(
        ["good news", "bad news", "fine day", "awful day"], ["pos", "neg", "pos", "neg"])
    path = tmp_path / "sentiment.joblib"
    joblib.dump(model, path)
    record_trusted(path, tmp_path)
    assert main(["predict", "--model", str(path), "Lift the sanctions."]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a stance model (classes ['neg', 'pos']" in err
