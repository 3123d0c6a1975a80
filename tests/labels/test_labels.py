"""Tests for pipeline.labels.stage: strict label/sentence reading, the dataset join, agreement."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from labelkit import HEADER, write

from pipeline.cli import main
from pipeline.labels.agreement import agreement, cohen_kappa, confusion_matrix
from pipeline.labels.file import read_labels
from pipeline.labels.stage import build_dataset

SENTENCES = """sentence_id,article_id,position,paragraph,start,end,text
a0,art1,0,0,0,39,The Council welcomed the new sanctions.
a1,art1,1,0,40,100,"Russia said sanctions must be eased, citing ""humanitarian"" harm."
a2,art1,2,0,101,128,The meeting rose at 11 a.m.
b0,art2,0,0,0,31,China opposed further measures.
b1,art2,1,0,32,80,The panel of experts will report in six months.
b2,art2,2,1,81,120,Sanctions remain the best tool we have.
"""


@pytest.fixture
def project(tmp_path):
    """A tiny project: sentences.csv, params.yaml, output paths."""
    write(tmp_path / "sentences.csv", SENTENCES)
    write(tmp_path / "params.yaml", "dataset:\n  reattach_by_text: true\n")
    return tmp_path


def run_dataset(project: Path, labels: Path, params: Path | None = None) -> int:
    return main(["dataset", "--sentences", str(project / "sentences.csv"), "--labels", str(labels),
                 "--params", str(params or project / "params.yaml"),
                 "--out", str(project / "out" / "dataset.csv"), "--queue", str(project / "out" / "queue.csv"),
                 "--report", str(project / "out" / "report.json")])


# ---------------------------------------------------------------------------------------------
# The dataset stage
# ---------------------------------------------------------------------------------------------

def test_dataset_joins_counts_and_reattaches(project, capsys):
    labels = write(project / "labels.csv", (
        "sentence_id,label,text,note\n"
        "a0,support,The Council welcomed the new sanctions.,\n"
        "a1,oppose,\"Russia said sanctions must be eased, citing \"\"humanitarian\"\" harm.\",quote\n"
        "a0,support,The Council welcomed the new sanctions.,same again\n"     # duplicate that agrees
        "a2,,The meeting rose at 11 a.m.,todo\n"                               # blank label: unlabeled
        "OLD-b0,oppose,“China  OPPOSED further measures”,renamed article\n"    # orphan, re-attachable
        "gone,neutral,This sentence was deleted from the article.,\n"          # orphan, no match
    ))
    before = labels.read_bytes()
    assert run_dataset(project, labels) == 0
    assert labels.read_bytes() == before  # the stage never writes the labels file

    dataset = (project / "out" / "dataset.csv").read_text(encoding="utf-8")
    assert dataset == (
        "sentence_id,article_id,position,text,label\n"
        "a0,art1,0,The Council welcomed the new sanctions.,support\n"
        "a1,art1,1,\"Russia said sanctions must be eased, citing \"\"humanitarian\"\" harm.\",oppose\n"
        "b0,art2,0,China opposed further measures.,oppose\n"
    )
    queue = (project / "out" / "queue.csv").read_text(encoding="utf-8")
    assert queue == (
        "sentence_id,article_id,position,text\n"
        "a2,art1,2,The meeting rose at 11 a.m.\n"
        "b1,art2,1,The panel of experts will report in six months.\n"
        "b2,art2,2,Sanctions remain the best tool we have.\n"
    )
    report = json.loads((project / "out" / "report.json").read_text())
    assert {k: v for k, v in report.items() if k != "orphan_details"} == {
        "sentences": 6, "label_rows": 6, "labeled": 3, "labeled_by_id": 2,
        "per_label": {"support": 1, "oppose": 2, "neutral": 0}, "unlabeled": 3,
        "orphans": 2, "reattached": 1, "orphans_unresolved": 1, "duplicates_agreeing": 1,
        "blank_labels": 1, "reattach_by_text": True,
        "orphan_status": {"no_match": 1, "reattached": 1}, "orphan_details_omitted": 0,
    }
    details = {d["sentence_id"]: d for d in report["orphan_details"]}
    assert details["OLD-b0"]["status"] == "reattached" and details["OLD-b0"]["new_sentence_id"] == "b0"
    assert details["OLD-b0"]["line"] == 6
    assert details["gone"]["status"] == "no_match" and details["gone"]["line"] == 7
    err = capsys.readouterr().err
    assert "line 7: gone (neutral): no_match" in err


def test_dataset_outputs_are_deterministic(project):
    labels = write(project / "labels.csv", "sentence_id,label,text,note\nb2,support,x,\nzz,oppose,nothing,\n")
    assert run_dataset(project, labels) == 0
    first = {p.name: p.read_bytes() for p in (project / "out").iterdir()}
    assert run_dataset(project, labels) == 0
    second = {p.name: p.read_bytes() for p in (project / "out").iterdir()}
    assert first == second
    assert str(project) not in first["report.json"].decode()  # no absolute paths in the report


def test_reattach_ambiguous_already_labeled_and_disabled(project):
    write(project / "sentences.csv", SENTENCES + "c0,art3,0,0,0,39,The Council welcomed the new sanctions.\n")
    labels = write(project / "labels.csv", (
        "sentence_id,label,text,note\n"
        "x1,support,The Council welcomed the new sanctions.,\n"   # matches a0 and c0: ambiguous
        "b0,oppose,China opposed further measures.,\n"
        "x2,oppose,China opposed further measures,\n"             # matches only b0, labeled by id
    ))
    _d, queue, report = build_dataset(project / "sentences.csv", labels, reattach_by_text=True)
    status = {d["sentence_id"]: d["status"] for d in report["orphan_details"]}
    assert status == {"x1": "ambiguous", "x2": "already_labeled"}
    assert report["reattached"] == 0 and report["labeled"] == 1
    assert "a0" in {q["sentence_id"] for q in queue}

    labels2 = write(project / "labels2.csv",
                    "sentence_id,label,text,note\nOLD,oppose,China opposed further measures.,\n")
    _d, _q, report = build_dataset(project / "sentences.csv", labels2, reattach_by_text=False)
    assert report["reattached"] == 0 and report["orphan_details"][0]["status"] == "disabled"
    params = write(project / "p2.yaml", "dataset:\n  reattach_by_text: false\n")
    assert run_dataset(project, labels2, params) == 0
    assert json.loads((project / "out" / "report.json").read_text())["labeled"] == 0


def test_orphans_that_disagree_about_one_sentence_are_not_reattached(project):
    labels = write(project / "labels.csv", (
        "sentence_id,label,text,note\n"
        "old1,oppose,China opposed further measures.,\n"
        "old2,support,China opposed further measures!,\n"
    ))
    _d, _q, report = build_dataset(project / "sentences.csv", labels)
    assert {d["status"] for d in report["orphan_details"]} == {"conflict"}
    assert report["labeled"] == 0




@pytest.mark.parametrize("content, expected", [
    pytest.param(HEADER + "a0,support,t,\na1,Support,t,\n",
                 ["line 3", "unknown label 'Support'", "'a1'", "support, oppose, neutral"], id="unknown-label"),
    pytest.param(HEADER + "a0,support,t,\na1,neutral,t,\na0,oppose,t,\n",
                 ["'a0'", "conflicting labels", "line 2", "'support'", "line 4", "'oppose'"], id="conflict"),
    pytest.param("sentence_id,text,note\na0,t,\n", ["line 1", "missing column(s) label"], id="missing-column"),
    pytest.param(HEADER + "a0,support,t,n,EXTRA\n", ["line 2", "expected 4 fields", "found 5", "EXTRA"],
                 id="field-count"),
    pytest.param(HEADER + "a0,support,t,\na1,oppose,\"never closed,\nmore text\n",
                 ["line 3", "malformed CSV", "unexpected end of data"], id="unterminated-quote"),
    pytest.param(HEADER + "a0,support,\"quoted\"junk,\n", ["line 2", "malformed CSV", "quoted"], id="bad-quoting"),
    pytest.param((HEADER + "a0,support,ok,\na1,oppose,caf").encode() + b"\xe9,\n",
                 ["line 3", "not UTF-8", "\\xe9"], id="not-utf8"),
    pytest.param(HEADER + "a0,support,t,\n  ,oppose,some text,\n", ["line 3", "empty sentence_id"], id="empty-id"),
    pytest.param(HEADER + "a0,support,t,\na1,maybe,t,\n,oppose,t,\n",
                 ["line 3", "'maybe'", "line 4", "empty sentence_id"], id="several-problems"),
    pytest.param("", ["empty file"], id="empty-file"),
    pytest.param("sentence_id,label,label,text\n", ["duplicate column 'label'"], id="duplicate-column"),
])
def test_label_file_errors_name_file_line_value(project, capsys, content, expected):
    labels = write(project / "bad_labels.csv", content)
    assert run_dataset(project, labels) == 2
    err = capsys.readouterr().err
    assert err.startswith("stance dataset: error: ")
    assert err.count("\n") == 1, err  # one line, no traceback
    assert "bad_labels.csv" in err
    for part in expected:
        assert part in err, (part, err)
    assert not (project / "out" / "dataset.csv").exists()


@pytest.mark.parametrize("content, expected", [
    pytest.param("sentence_id,article_id,position,text\na,x,0,t\na,x,1,u\n",
                 ["line 3", "sentence_id 'a' already used on line 2"], id="duplicate-id"),
    pytest.param("sentence_id,article_id,position,text\na,x,first,t\n",
                 ["line 2", "position 'first' is not an integer"], id="bad-position"),
    pytest.param("sentence_id,article_id,text\na,x,t\n", ["missing column(s) position"], id="missing-column"),
    pytest.param("sentence_id,article_id,position,text\n,x,0,t\n", ["line 2", "empty sentence_id"], id="empty-id"),
])
def test_sentence_file_errors(project, capsys, content, expected):
    write(project / "sentences.csv", content)
    labels = write(project / "labels.csv", HEADER)
    assert run_dataset(project, labels) == 2
    err = capsys.readouterr().err
    assert "sentences.csv" in err and err.count("\n") == 1
    for part in expected:
        assert part in err, (part, err)


def test_missing_labels_file_is_an_error(project, capsys):
    assert run_dataset(project, project / "nope.csv") == 2
    assert "nope.csv: labels file" in capsys.readouterr().err


def test_error_exit_in_a_real_process_has_no_traceback(project):
    labels = write(project / "labels.csv", HEADER + "a0,positive,t,\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "dataset", "--sentences", str(project / "sentences.csv"),
         "--labels", str(labels), "--params", str(project / "params.yaml"),
         "--out", str(project / "d.csv"), "--queue", str(project / "q.csv"), "--report", str(project / "r.json")],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "labels.csv, line 2: unknown label 'positive'" in proc.stderr


def test_read_labels_tolerates_bom_crlf_extra_columns_and_missing_note(tmp_path):
    path = write(tmp_path / "l.csv", "\ufeffsentence_id,label,text,annotator\r\na0,support,\"a, b\",me\r\n\r\n")
    lf = read_labels(path)
    assert lf.labels() == {"a0": "support"}
    assert lf.fieldnames == ["sentence_id", "label", "text", "annotator", "note"]
    assert lf.rows[0]["annotator"] == "me"


# ---------------------------------------------------------------------------------------------
# Agreement
# ---------------------------------------------------------------------------------------------

def test_kappa_matches_sklearn_on_hand_made_example():
    from sklearn.metrics import cohen_kappa_score

    a = ["support", "support", "oppose", "neutral", "neutral", "oppose", "support", "neutral", "oppose", "neutral"]
    b = ["support", "oppose", "oppose", "neutral", "support", "oppose", "support", "neutral", "neutral", "neutral"]
    # By hand: p_o = 7/10; A has 3 support, 3 oppose, 4 neutral; B has 3, 3, 4 -> p_e = (9+9+16)/100 = 0.34
    # kappa = (0.7 - 0.34) / 0.66 = 0.545454...
    assert cohen_kappa(a, b) == pytest.approx(0.36 / 0.66)
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b, labels=["support", "oppose", "neutral"]))
    assert confusion_matrix(a, b) == [[2, 1, 0], [0, 2, 1], [1, 0, 3]]

    c = ["support"] * 6 + ["oppose"] * 2
    d = ["support"] * 5 + ["oppose"] * 3
    assert cohen_kappa(c, d) == pytest.approx(cohen_kappa_score(c, d))
    assert cohen_kappa(["neutral"] * 3, ["neutral"] * 3) is None  # chance agreement 1: undefined
    assert cohen_kappa([], []) is None


def test_agreement_joins_by_id_then_text(tmp_path, capsys):
    a = write(tmp_path / "a.csv", (
        "sentence_id,label,text,note\n"
        "s1,support,We welcome the sanctions.,\n"
        "s2,oppose,Sanctions hurt civilians.,\n"
        "s3,neutral,The vote was 13 to 0.,\n"
        "s4,support,Enforcement must be tightened.,\n"
        "old5,oppose,“Lift the measures now”,\n"          # id differs in B, same normalised text
        "onlyA,neutral,Nobody else labeled this.,\n"
        "s7,,Blank label is ignored.,\n"
    ))
    b = write(tmp_path / "b.csv", (
        "sentence_id,label,text,note\n"
        "s4,oppose,Enforcement must be tightened.,\n"
        "s3,neutral,The vote was 13 to 0.,\n"
        "s2,oppose,Sanctions hurt civilians.,\n"
        "s1,support,We welcome the sanctions.,\n"
        "new5,oppose,lift the measures now,\n"
        "onlyB1,support,Something else.,\n"
        "onlyB2,support,Yet another.,\n"
    ))
    result = agreement(a, b)
    assert result["joined"] == {"by_id": 4, "by_text": 1, "total": 5}
    assert result["unmatched"] == {"a": 1, "b": 2}
    assert result["a"]["labeled"] == 6 and result["b"]["labeled"] == 7
    assert result["agreements"] == 4
    assert result["percent_agreement"] == pytest.approx(80.0)
    # pairs: (support,support) (oppose,oppose) (neutral,neutral) (support,oppose) (oppose,oppose)
    assert result["confusion"]["matrix"] == [[1, 1, 0], [0, 2, 0], [0, 0, 1]]
    from sklearn.metrics import cohen_kappa_score
    expected = cohen_kappa_score(["support", "oppose", "neutral", "support", "oppose"],
                                 ["support", "oppose", "neutral", "oppose", "oppose"])
    assert result["kappa"] == pytest.approx(expected)

    assert main(["agreement", str(a), str(b), "--json"]) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert parsed["kappa"] == pytest.approx(expected)
    assert parsed["joined"]["by_text"] == 1

    assert main(["agreement", str(a), str(b)]) == 0
    text = capsys.readouterr().out
    assert "joined: 5 (by sentence_id 4, by normalised text 1); unmatched: A 1, B 2" in text
    assert "percent agreement: 80.0% (4 of 5)" in text
    assert f"Cohen's kappa: {expected:.3f}" in text


def test_agreement_validates_both_files(tmp_path, capsys):
    a = write(tmp_path / "a.csv", HEADER + "s1,support,t,\n")
    b = write(tmp_path / "b.csv", HEADER + "s1,agree,t,\n")
    assert main(["agreement", str(a), str(b)]) == 2
    err = capsys.readouterr().err
    assert "b.csv, line 2: unknown label 'agree'" in err


def test_agreement_with_nothing_in_common(tmp_path, capsys):
    a = write(tmp_path / "a.csv", HEADER + "s1,support,one,\n")
    b = write(tmp_path / "b.csv", HEADER + "s2,support,two,\n")
    assert main(["agreement", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "percent agreement: undefined" in out and "Cohen's kappa: undefined" in out


def test_many_orphans_are_counted_and_only_the_first_listed(project, capsys):
    """100,000 orphan labels: counts plus the first 20 in the report and on stderr, not 100,001 lines."""
    n = 100_000
    lines = ["sentence_id,label,text,note"] + [f"gone{i:06d},neutral,Vanished sentence {i}.," for i in range(n)]
    labels = write(project / "labels.csv", "\n".join(lines) + "\n")
    out = project / "out"
    assert main(["dataset", "--sentences", str(project / "sentences.csv"), "--labels", str(labels),
                 "--params", str(project / "params.yaml"), "--out", str(out / "d.csv"),
                 "--queue", str(out / "q.csv"), "--report", str(out / "r.json")]) == 0
    report = json.loads((out / "r.json").read_text())
    assert report["orphans"] == n and report["orphan_status"] == {"no_match": n}
    assert [d["line"] for d in report["orphan_details"]] == list(range(2, 22))
    assert report["orphan_details_omitted"] == n - 20
    assert (out / "r.json").stat().st_size < 10_000
    err = capsys.readouterr().err
    assert len(err.splitlines()) < 30
    assert f"... and {n - 20} more ({n} no_match in all" in err
