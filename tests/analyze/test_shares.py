"""Expected shares and their intervals (pipeline.analyze.shares), hand labels in analyze
(pipeline.analyze.known), the selections of the command line and sentences.csv."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from analyzekit import ARTICLES, make_params, write_dir

from pipeline import LABELS
from pipeline.analyze.batches import Selection
from pipeline.analyze.known import normalise, read_known_labels
from pipeline.analyze.shares import share_interval
from pipeline.analyze.stage import analyze
from pipeline.cli import main
from pipeline.core.config import StanceError
from pipeline.core.data import spreadsheet_safe
from pipeline.model.errors import ErrorModel, fold_residuals


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_ROOT", raising=False)


@pytest.fixture
def params(tmp_path) -> Path:
    return make_params(tmp_path / "params.yaml")


def _cell(rng, m=30):
    n = rng.integers(3, 30, size=m).astype(float)
    p = rng.dirichlet([2, 1, 4], size=m) * n[:, None]
    return n, p


def _error(bias: float, spread: float = 0.3) -> ErrorModel:
    """Two folds with opposite mean residuals (the model over- then under-predicts support)."""
    cov = np.diag([spread, spread, 2 * spread]) ** 2
    return ErrorModel.from_dict({"labels": list(LABELS), "folds": [
        {"sentences": 100, "mean_residual": [bias, -bias, 0.0], "covariance": cov.tolist()},
        {"sentences": 100, "mean_residual": [-bias, bias, 0.0], "covariance": cov.tolist()}]})


def test_expected_share_is_the_mean_probability_and_hand_labels_are_certain():
    rng = np.random.default_rng(0)
    n, p = _cell(rng)
    hand_n = np.zeros(len(n))
    hand_n[0] = 4
    hand = np.zeros((len(n), 3))
    hand[0] = [4, 0, 0]
    exp, low, high = share_interval(n, p, hand_n, hand, None, key=["x"], n_boot=300)
    assert exp == pytest.approx((p.sum(0) + hand.sum(0)) / (n.sum() + 4))
    assert (low <= exp).all() and (exp <= high).all()
    assert exp.sum() == pytest.approx(1.0)


def test_model_error_widens_the_interval_and_a_shared_bias_does_not_average_out():
    rng = np.random.default_rng(1)
    n, p = _cell(rng, 200)
    none = share_interval(n, p, np.zeros(200), np.zeros((200, 3)), None, key=["k"], n_boot=500)
    small = share_interval(n, p, np.zeros(200), np.zeros((200, 3)), _error(0.0, 0.3), key=["k"], n_boot=500)
    biased = share_interval(n, p, np.zeros(200), np.zeros((200, 3)), _error(0.08, 0.3), key=["k"], n_boot=500)
    width = [(r[2] - r[1])[0] for r in (none, small, biased)]
    assert width[0] < width[1] < width[2]
    # with ~3,000 sentences the sentence noise is small, a fold's bias of 0.08 is not
    assert width[2] > 0.12
    # hand-labelled sentences carry no model error: all hand labels -> sampling only
    hand = p.round()
    h_n = hand.sum(1)
    only_hand = share_interval(np.zeros(200), np.zeros((200, 3)), h_n, hand, _error(0.08), key=["k"], n_boot=500)
    sampling = share_interval(np.zeros(200), np.zeros((200, 3)), h_n, hand, None, key=["k"], n_boot=500)
    np.testing.assert_allclose(only_hand[1], sampling[1])


def test_interval_depends_on_the_key_and_seed_only():
    rng = np.random.default_rng(2)
    n, p = _cell(rng)
    z = np.zeros(len(n))
    a = share_interval(n, p, z, np.zeros((len(n), 3)), _error(0.05), key=["2016", "Wire"], n_boot=200)
    b = share_interval(n, p, z, np.zeros((len(n), 3)), _error(0.05), key=["2016", "Wire"], n_boot=200)
    c = share_interval(n, p, z, np.zeros((len(n), 3)), _error(0.05), key=["2016", "Paper"], n_boot=200)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[1], c[1])


def test_fold_residuals_round_trip_and_bad_files(tmp_path):
    y = ["support", "oppose", "neutral", "neutral"] * 5
    proba = np.tile([[0.6, 0.2, 0.2], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]], (5, 1))
    fold = np.repeat([0, 1], 10)
    em = fold_residuals(y, proba, fold)
    assert em.n_folds == 2 and em.sentences == (10, 10)
    onehot = np.array([[lab == c for c in LABELS] for lab in y], dtype=float)
    np.testing.assert_allclose(em.mean[0], np.mean(onehot[:10] - proba[:10], axis=0), atol=1e-12)
    np.testing.assert_allclose(em.root[1] @ em.root[1].T, np.cov(onehot[10:] - proba[10:], rowvar=False, bias=True),
                               atol=1e-12)
    path = tmp_path / "share_errors.json"
    path.write_text(json.dumps(em.to_dict()), encoding="utf-8")
    back = ErrorModel.read(path)
    np.testing.assert_allclose(back.root @ back.root.transpose(0, 2, 1), em.root @ em.root.transpose(0, 2, 1),
                               atol=1e-7)
    path.write_text('{"labels": ["support", "oppose", "neutral"], "folds": []}', encoding="utf-8")
    with pytest.raises(ValueError, match="share_errors.json: not a share-error file"):
        ErrorModel.read(path)


def test_analyze_with_share_errors_says_so(capsys, tmp_path, tiny_model_path, params):
    corpus = write_dir(tmp_path / "corpus")
    errors = tmp_path / "errors.json"
    errors.write_text(json.dumps(_error(0.05).to_dict()), encoding="utf-8")
    s = analyze(corpus, tmp_path / "a", model=tiny_model_path, params=params, share_errors=errors)
    assert s["interval"] == "articles+model"
    with_err = pd.read_csv(tmp_path / "a/trends.csv", keep_default_na=False)
    assert set(with_err["interval"]) == {"articles+model"}
    arts = pd.read_csv(tmp_path / "a/articles.csv", keep_default_na=False)
    assert set(arts["interval"]) == {"model"} and (arts["support_high"] > arts["support_low"]).all()
    analyze(corpus, tmp_path / "b", model=tiny_model_path, params=params)
    without = pd.read_csv(tmp_path / "b/trends.csv", keep_default_na=False)
    assert ((with_err["support_high"] - with_err["support_low"])
            >= (without["support_high"] - without["support_low"])).all()
    errors.write_text("{}", encoding="utf-8")
    rc = main(["analyze", "--input", str(corpus), "--out", str(tmp_path / "c"), "--model", str(tiny_model_path),
               "--params", str(params), "--share-errors", str(errors)])
    err = capsys.readouterr().err
    assert rc == 2 and "errors.json: not a share-error file" in err and "Traceback" not in err


# --------------------------------------------------------------------------- hand labels

def test_known_sentences_take_their_hand_label(capsys, tmp_path, tiny_model_path, params):
    corpus = write_dir(tmp_path / "corpus")
    labels = tmp_path / "labels.csv"
    text = ARTICLES["a2"][2].split("\n\n")[1]                 # "Moscow vetoed the draft ..."
    with open(labels, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sentence_id", "label", "text", "note"])
        w.writerow(["0000000000000000", "support", "  " + text.upper().replace(" ", "  ") + " ", "same text"])
        w.writerow(["", "", "an unlabelled row is skipped", ""])
    rc = main(["analyze", "--input", str(corpus), "--out", str(tmp_path / "o"), "--model", str(tiny_model_path),
               "--params", str(params), "--labels", str(labels)])
    err = capsys.readouterr().err
    assert rc == 0, err
    sents = pd.read_parquet(tmp_path / "o/sentences.parquet")
    hand = sents[sents["label_source"] == "hand"]
    assert list(hand["text"]) == [text] and list(hand["label"]) == ["support"]
    assert (sents.loc[sents["label_source"] == "model", "label"]
            == sents.loc[sents["label_source"] == "model", "model_label"]).all()
    assert f"1 sentence(s) took their hand label from {labels}" in err
    trends = pd.read_csv(tmp_path / "o/trends.csv", keep_default_na=False)
    assert trends["hand"].sum() == 1
    csv_rows = pd.read_csv(tmp_path / "o/sentences.csv", keep_default_na=False)
    assert list(csv_rows.loc[csv_rows["label_source"] == "hand", "sentence_id"]) == list(hand["sentence_id"])
    # the same sentence by id; a bad label is an error naming file, line and value
    known = read_known_labels(labels)
    assert known.lookup("0000000000000000", "anything") == "support"
    assert known.lookup("x", text) == "support" and normalise("A  \u201cB\u201d") == 'a "b"'
    labels.write_text("sentence_id,label,text\nab,maybe,Some text.\n", encoding="utf-8")
    with pytest.raises(StanceError, match=r"labels.csv line 2: label 'maybe' is not one of"):
        read_known_labels(labels)


# --------------------------------------------------------------------------- selections, sentences.csv

def test_selections_filter_every_output(tmp_path, tiny_model_path, params):
    corpus = write_dir(tmp_path / "corpus")
    full = analyze(corpus, tmp_path / "all", model=tiny_model_path, params=params)
    s = analyze(corpus, tmp_path / "wire", model=tiny_model_path, params=params, selection=Selection(source="Wire"))
    assert s["articles"] == 2 and s["sources"] == ["Wire"]
    s = analyze(corpus, tmp_path / "dates", model=tiny_model_path, params=params,
                selection=Selection(date_from="2016-06", date_to="2017"))
    arts = pd.read_csv(tmp_path / "dates/articles.csv", keep_default_na=False)
    assert list(arts["article_id"]) == ["a2", "a3"]            # a4 has no date: left out
    s = analyze(corpus, tmp_path / "russia", model=tiny_model_path, params=params, selection=Selection(actor="Russia"))
    sents = pd.read_parquet(tmp_path / "russia/sentences.parquet")
    assert len(sents) == 2 and all("Russia" in a for a in sents["actors"])
    actors = pd.read_csv(tmp_path / "russia/actors.csv", keep_default_na=False)
    assert set(actors["actor"]) == {"Russia"}
    assert s["sentences"] == 2 < full["sentences"]
    with pytest.raises(StanceError, match="--actor 'Martians' is not one of"):
        analyze(corpus, tmp_path / "x", model=tiny_model_path, params=params, selection=Selection(actor="Martians"))
    with pytest.raises(StanceError, match="--from 2017 is after --to 2016-05"):
        Selection(date_from="2017", date_to="2016-05")
    with pytest.raises(StanceError, match="--from: date '2016/05' is not an ISO date"):
        Selection(date_from="2016/05")


def test_target_selection_from_the_metadata_table(capsys, tmp_path, tiny_model_path, params):
    corpus = write_dir(tmp_path / "corpus")
    meta = tmp_path / "meta.csv"
    meta.write_text("article_id,date,source,target\na1,2016-03-02,Wire,north_korea\na2,2016-11-30,Wire,iran\n"
                    "a3,2017-06-02,Paper,iran\n", encoding="utf-8")
    rc = main(["analyze", "--input", str(corpus), "--out", str(tmp_path / "o"), "--model", str(tiny_model_path),
               "--params", str(params), "--meta", str(meta), "--target", "iran", "--from", "2016-06"])
    err = capsys.readouterr().err
    assert rc == 0, err and "selection: date_from 2016-06, target iran" in err
    targets = pd.read_csv(tmp_path / "o/targets.csv", keep_default_na=False)
    assert set(targets["target"]) == {"iran"} and targets["articles"].sum() == 2


def test_sentences_csv_is_the_parquet_with_safe_cells(tmp_path, tiny_model_path, params):
    corpus = write_dir(tmp_path / "corpus")
    (corpus / "a5.txt").write_text("=HYPERLINK(\"http://x\") says sanctions work well here.\n\n"
                                   "-2 is not a formula but stays text. @SUM(A1) neither.\n", encoding="utf-8")
    analyze(corpus, tmp_path / "o", model=tiny_model_path, params=params)
    pq = pd.read_parquet(tmp_path / "o/sentences.parquet")
    with open(tmp_path / "o/sentences.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(pq)
    for row, (_, want) in zip(rows, pq.iterrows()):
        assert row["sentence_id"] == want["sentence_id"]
        assert row["actors"] == "; ".join(want["actors"])
        assert float(row["score_support"]) == pytest.approx(want["score_support"], abs=1e-6)
        assert not row["text"].startswith(("=", "+", "-", "@"))
    texts = [r["text"] for r in rows]
    assert "'=HYPERLINK(\"http://x\") says sanctions work well here." in texts
    assert spreadsheet_safe("-2") == "'-2" and spreadsheet_safe(-2.0) == -2.0 and spreadsheet_safe("ok") == "ok"


def test_target_header_line_and_bad_target_values(capsys, tmp_path, tiny_model_path, params):
    """A `# target:` header line works like `# date:`; the metadata table wins where it has a value."""
    corpus = write_dir(tmp_path / "corpus")
    for aid, target in (("a1", "cuba"), ("a2", "iran")):
        path = corpus / f"{aid}.txt"
        path.write_text(f"# target: {target}\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    rc = main(["analyze", "--input", str(corpus), "--out", str(tmp_path / "o"), "--model", str(tiny_model_path),
               "--params", str(params), "--no-meta"])
    assert rc == 0, capsys.readouterr().err
    articles = pd.read_csv(tmp_path / "o/articles.csv", keep_default_na=False).set_index("article_id")
    assert articles.loc["a1", "target"] == "cuba" and articles.loc["a2", "target"] == "iran"
    assert articles.loc["a3", "target"] == ""
    meta = tmp_path / "meta.csv"
    meta.write_text("article_id,date,source,target\na1,2016-03-02,Wire,russia\n", encoding="utf-8")
    assert main(["analyze", "--input", str(corpus), "--out", str(tmp_path / "m"), "--model", str(tiny_model_path),
                 "--params", str(params), "--meta", str(meta)]) == 0
    articles = pd.read_csv(tmp_path / "m/articles.csv", keep_default_na=False).set_index("article_id")
    assert articles.loc["a1", "target"] == "russia" and articles.loc["a2", "target"] == "iran"
    capsys.readouterr()
    # a value that is not a regime name: one line naming the file (and row), exit 2
    (corpus / "a3.txt").write_text("# target: North Korea!\nSanctions were tightened.\n", encoding="utf-8")
    assert main(["analyze", "--input", str(corpus), "--out", str(tmp_path / "x"), "--model", str(tiny_model_path),
                 "--params", str(params), "--no-meta"]) == 2
    err = capsys.readouterr().err
    assert "a3.txt: header '# target:': target 'North Korea!' is not a regime name" in err and "Traceback" not in err
    meta.write_text("article_id,date,source,target\na1,2016-03-02,Wire,Iran\n", encoding="utf-8")
    assert main(["analyze", "--input", str(corpus), "--out", str(tmp_path / "y"), "--model", str(tiny_model_path),
                 "--params", str(params), "--meta", str(meta)]) == 2
    assert "meta.csv line 2: target 'Iran' is not a regime name" in capsys.readouterr().err


def test_sentences_carry_the_model_explanation(tmp_path, tiny_model_path, params):
    """Every model-scored sentence has the features that pushed it to the model's label, in the
    Parquet and CSV tables and in the data of report.html."""
    import re

    corpus = write_dir(tmp_path / "corpus")
    analyze(corpus, tmp_path / "o", model=tiny_model_path, params=params)
    pq = pd.read_parquet(tmp_path / "o/sentences.parquet")
    assert "explain" in pq.columns
    filled = [e for e in pq["explain"] if e]
    assert len(filled) >= 0.9 * len(pq)
    assert all(re.match(r"^\w+(:\S.*)? [+]\d+\.\d\d", e) for e in filled), filled[:3]
    with open(tmp_path / "o/sentences.csv", encoding="utf-8", newline="") as fh:
        assert [r["explain"] for r in csv.DictReader(fh)] == [e if e else "" for e in pq["explain"]]
    page = (tmp_path / "o/report.html").read_text(encoding="utf-8")
    assert json.dumps(filled[0])[1:-1] in page
