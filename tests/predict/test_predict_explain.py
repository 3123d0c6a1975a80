"""`stance predict --explain` and ``predict(..., explain=True)`` with the default model
(static block, averaged classifiers, calibrated scores)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipeline import LABELS
from pipeline.cli import main
from pipeline.predict import api as P

try:
    from conftest import record_trusted
    from trainkit import small_params, train_fixture
except ImportError:  # pragma: no cover - run as a package
    from tests.conftest import record_trusted
    from tests.trainkit import small_params, train_fixture

SENTENCES = ["China said it would not lift the sanctions.", "Russia urged the Council to ease the sanctions.",
             "The meeting was held on Tuesday."]


@pytest.fixture(scope="module")
def default_model(tmp_path_factory):
    base = tmp_path_factory.mktemp("explain")
    return train_fixture(base, small_params(char=True))["model"]


@pytest.fixture()
def project(default_model, tmp_path, monkeypatch):
    """A project root in tmp_path whose reports/train.json trusts the model."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    (tmp_path / "params.yaml").write_text("predict: {max_chars: 1000}\n", encoding="utf-8")
    model = tmp_path / "model.joblib"
    shutil.copy(default_model, model)
    record_trusted(model, tmp_path)
    return model


def test_python_api_adds_an_explain_column(project):
    from pipeline.model.explain import explain

    model = P.load_model(project)
    plain = P.predict(model, SENTENCES)
    frame = P.predict(model, SENTENCES, explain=True)
    assert list(frame.columns) == [*plain.columns, "explain"]
    assert frame.drop(columns="explain").equals(plain)  # explaining changes no label or score
    assert list(frame["explain"]) == explain(model, SENTENCES, list(plain["label"]), 5)
    for items in frame["explain"]:
        assert 0 < len(items) <= 5 and all(set(d) == {"feature", "contribution"} for d in items)
    two = P.predict(model, SENTENCES, explain=2)
    assert [len(x) for x in two["explain"]] == [min(2, len(x)) for x in frame["explain"]]
    assert list(P.predict(model, [], explain=True).columns)[-1] == "explain"
    with pytest.raises(P.StanceError, match="explain must be True, False or a number"):
        P.predict(model, SENTENCES, explain=-1)


def test_labels_are_the_models_decisions_and_scores_calibrated(project):
    import joblib

    model = joblib.load(project)
    frame = P.predict(model, SENTENCES)
    raw = model.estimator.predict_proba(SENTENCES)
    assert list(frame["label"]) == [str(c) for c in model.classes_[raw.argmax(axis=1)]]
    cols = [f"score_{c}" for c in model.classes_]
    np.testing.assert_allclose(frame[cols].to_numpy(), model.predict_proba(SENTENCES))


def test_cli_explain_in_jsonl_csv_and_table(project, capsys, tmp_path):
    assert main(["predict", "--model", str(project), "--explain", *SENTENCES]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    frame = P.predict(P.load_model(project), SENTENCES, explain=True)
    assert [r["explain"] for r in records] == list(frame["explain"])
    assert list(records[0]) == ["text", "label", "scores", "explain"]

    src = tmp_path / "in.txt"
    src.write_text("\n".join([SENTENCES[0], "", SENTENCES[1]]) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert main(["predict", "--model", str(project), "--input", str(src), "--output", str(out), "--explain",
                 "--explain-top", "3"]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert list(rows[0]) == ["text", "label", "score_support", "score_oppose", "score_neutral", "explain", "error"]
    assert rows[1]["error"] == "empty text" and rows[1]["explain"] == ""
    first = frame["explain"][0][:3]
    assert rows[0]["explain"] == ", ".join(f"{d['feature']} {d['contribution']:+.2f}" for d in first)

    assert main(["predict", "--model", str(project), "--format", "table", "--explain", *SENTENCES[:2]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[0] == "label"
    assert lines[2].startswith("    why: ") and lines[4].startswith("    why: ")


def test_explain_with_worker_processes_matches_one_process(project, tmp_path):
    src = tmp_path / "many.txt"
    src.write_text("\n".join(SENTENCES * 40) + "\n", encoding="utf-8")
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    args = ["predict", "--model", str(project), "--input", str(src), "--explain", "--chunk-size", "25"]
    assert main([*args, "--output", str(one)]) == 0
    assert main([*args, "--output", str(two), "--jobs", "2"]) == 0
    assert one.read_bytes() == two.read_bytes()
    assert all("explain" in json.loads(line) for line in one.read_text().splitlines())


def test_explain_with_article_is_refused(project, capsys, tmp_path):
    article = tmp_path / "a.txt"
    article.write_text("The Council must tighten sanctions. Russia wants them lifted.\n", encoding="utf-8")
    assert main(["predict", "--model", str(project), "--article", str(article), "--explain"]) == 2
    assert "--explain works with sentences and --input" in capsys.readouterr().err


def test_explain_on_a_model_that_is_not_linear_exits_2(tmp_path, capsys, monkeypatch):
    import joblib

    from pipeline.train.stage import fit_final

    try:
        from trainkit import ARTICLES, tfidf_only
    except ImportError:  # pragma: no cover
        from tests.trainkit import ARTICLES, tfidf_only
    params = tfidf_only(small_params())["train"]
    params["combine"] = "vote"
    texts = [t for rows in ARTICLES.values() for t, _ in rows]
    labels = [y for rows in ARTICLES.values() for _, y in rows]
    path = tmp_path / "vote.joblib"
    joblib.dump(fit_final(texts, labels, params), path)
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "--model", str(path), "--trust-model", "--explain", SENTENCES[0]]) == 2
    err = capsys.readouterr().err
    assert "--explain: not available for a VotingClassifier model" in err and "Traceback" not in err
    assert set(LABELS) and Path(path).is_file()
