"""Tests of the evaluate stage: OOF predictions, metrics with article bootstrap, baselines, plots.

Uses the hand-written fixture of test_train.py (test data only). MLflow is off here; see
test_tracking.py for the MLflow run.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline import LABELS
from pipeline.cli import main
from pipeline.core.config import StanceError

try:
    from trainkit import ARTICLES, REPO, small_params, train_fixture, write_dataset, write_params
except ImportError:  # tests/ imported as a package
    from tests.trainkit import ARTICLES, REPO, small_params, train_fixture, write_dataset, write_params

TEXTS = [t for rows in ARTICLES.values() for t, _ in rows]
LABELS_Y = [lab for rows in ARTICLES.values() for _, lab in rows]
GROUPS = [a for a, rows in ARTICLES.items() for _ in rows]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained on the fixture (one grid candidate), plus its params and dataset."""
    return train_fixture(tmp_path_factory.mktemp("trained"), small_params())


def run_evaluate(trained, out: Path, params=None):
    from pipeline.evaluate.stage import evaluate

    params = params or trained["params"]
    return evaluate(trained["dataset"], trained["model"], params["evaluate"], train_params=params["train"],
                    metrics_path=out / "metrics.json", plots_dir=out / "plots",
                    misclassified_path=out / "misclassified.csv", report_path=out / "classification_report.txt",
                    train_report=trained["train_report"])


@pytest.fixture(scope="module")
def evaluated(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluated")
    result = run_evaluate(trained, out)
    return {"out": out, "result": result, **trained}


# ----------------------------------------------------------------------------- metric maths

def test_scores_from_confusion_match_sklearn():
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    from pipeline.evaluate.metrics import confusion_by_article, scores_from_confusion

    rng = np.random.default_rng(3)
    y = rng.choice(LABELS, size=200, p=[0.3, 0.2, 0.5])
    preds = np.array([rng.choice(LABELS, size=200), np.where(rng.random(200) < 0.7, y, "neutral"),
                      np.full(200, "neutral")], dtype=object)   # three "seeds", one never predicts 2 classes
    groups = rng.choice([f"g{i}" for i in range(9)], size=200)
    cm, articles = confusion_by_article(y, preds, groups)
    assert cm.shape == (3, 9, 3, 3) and articles == sorted(set(groups))
    assert cm.sum() == 3 * 200
    sc = scores_from_confusion(cm.sum(axis=1))
    for s in range(3):
        p, r, f, _ = precision_recall_fscore_support(y, preds[s], labels=list(LABELS), zero_division=0)
        np.testing.assert_allclose(sc["precision"][s], p)
        np.testing.assert_allclose(sc["recall"][s], r)
        np.testing.assert_allclose(sc["f1"][s], f)
        assert sc["macro_f1"][s] == pytest.approx(f1_score(y, preds[s], labels=list(LABELS), average="macro",
                                                           zero_division=0))
        assert sc["accuracy"][s] == pytest.approx(accuracy_score(y, preds[s]))
        assert sc["f_avg"][s] == pytest.approx((f[0] + f[1]) / 2)  # LABELS = support, oppose, neutral


def test_bootstrap_weights_resample_articles():
    from pipeline.evaluate.metrics import bootstrap_weights

    w = bootstrap_weights(7, 500, seed=1)
    assert w.shape == (500, 7)
    assert (w.sum(axis=1) == 7).all()
    assert (w == bootstrap_weights(7, 500, seed=1)).all()
    assert not (w == bootstrap_weights(7, 500, seed=2)).all()


def test_bootstrap_unit_is_the_article():
    """Resampling articles: identical articles give a zero-width interval, whatever the
    sentence-level errors; a replicate that draws one article only scores that article."""
    from pipeline.evaluate.metrics import summarize

    # Three articles with the same content and the same (partly wrong) predictions.
    y = ["support", "oppose", "neutral", "neutral"] * 3
    pred = np.array([["support", "neutral", "neutral", "oppose"] * 3], dtype=object)
    groups = ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    rng = np.random.default_rng(0)
    weights = rng.multinomial(3, [1 / 3] * 3, size=300)
    out = summarize(y, {"model": pred}, groups, weights)["model"]
    assert out["macro_f1"]["ci_low"] == out["macro_f1"]["value"] == out["macro_f1"]["ci_high"]
    # Different articles: all mass on article "a" (perfect) vs on "b" (all wrong).
    y2 = ["support", "oppose"] * 2
    pred2 = np.array([["support", "oppose", "oppose", "support"]], dtype=object)
    groups2 = ["a", "a", "b", "b"]
    only_a = summarize(y2, {"model": pred2}, groups2, np.array([[2, 0]] * 10))["model"]
    only_b = summarize(y2, {"model": pred2}, groups2, np.array([[0, 2]] * 10))["model"]
    assert only_a["accuracy"]["ci_low"] == only_a["accuracy"]["ci_high"] == 1.0
    assert only_b["accuracy"]["ci_low"] == only_b["accuracy"]["ci_high"] == 0.0
    assert only_a["accuracy"]["value"] == only_b["accuracy"]["value"] == 0.5  # the point estimate uses all data


def test_interpolated_pr_curves():
    from pipeline.evaluate.metrics import interpolated_pr_curves

    y = ["support", "support", "oppose", "neutral"]
    proba = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    recs = interpolated_pr_curves(y, proba, n_points=11)
    assert len(recs) == 11 and [r["recall"] for r in recs] == pytest.approx(np.linspace(0, 1, 11))
    assert set(recs[0]) == {"recall", *LABELS}
    sup = [r["support"] for r in recs]
    assert sup == sorted(sup, reverse=True)  # interpolated precision never increases with recall
    assert sup[5] == 1.0      # recall 0.5: the top-scored sentence is a support one
    assert sup[10] == pytest.approx(2 / 3)  # recall 1: both support sentences in the top 3
    assert all(r["neutral"] == 1.0 for r in recs)


# ----------------------------------------------------------------------------- OOF & folds

def _engine(params=None):
    from pipeline.train.engine import CVEngine

    params = params or small_params()
    return CVEngine(TEXTS, LABELS_Y, GROUPS, params["train"], inner_folds=params["evaluate"]["inner_folds"])


def test_nested_oof_grouped_and_complete():
    from pipeline.evaluate.protocols import nested_oof

    oof = nested_oof(_engine(), [0, 7], 5)
    assert oof["model"].shape == oof["majority"].shape == oof["fold"].shape == (2, 48)
    assert oof["proba"].shape == (2, 48, 3)
    np.testing.assert_allclose(oof["proba"].sum(axis=2), 1.0)
    groups = np.array(GROUPS)
    for s in range(2):
        assert set(oof["model"][s]) <= set(LABELS)
        for article in set(GROUPS):
            assert len(set(oof["fold"][s][groups == article])) == 1  # an article sits in one fold
        for k in range(oof["n_splits"]):
            held = oof["fold"][s] == k
            assert len(set(oof["majority"][s][held])) == 1  # majority: one label per fold
            # majority label = most frequent label of the *training* part of that fold
            train_labels = [lab for lab, h in zip(LABELS_Y, held) if not h]
            counts = {lab: train_labels.count(lab) for lab in LABELS}
            assert counts[oof["majority"][s][held][0]] == max(counts.values())
    assert not (oof["fold"][0] == oof["fold"][1]).all()  # seeds give different folds
    assert len(oof["selected"]) == 2 and all(len(x) == oof["n_splits"] for x in oof["selected"])


def test_engine_equals_the_saved_pipeline_fit():
    """The cached feature blocks give exactly what build_pipeline(...).fit().predict_proba gives."""
    from pipeline.model.features import build_pipeline
    from pipeline.train.grid import apply_overrides

    params = small_params(char=True)
    engine = _engine(params)
    tr, te = np.arange(0, 32), np.arange(32, 48)
    for overrides in ({"C": 1.0}, {"C": 0.3, "features.cues.enabled": False}):
        p = apply_overrides(params["train"], overrides)
        got = engine.fit_predict(p, tr, te)
        model = build_pipeline(p).fit([TEXTS[i] for i in tr], [LABELS_Y[i] for i in tr])
        raw = model.predict_proba([TEXTS[i] for i in te])
        want = raw[:, [list(model.classes_).index(c) for c in LABELS]]
        np.testing.assert_allclose(got, want, atol=1e-9)


def test_nested_selection_never_sees_the_outer_test_fold(monkeypatch):
    """Hyperparameters are chosen on the outer-training articles only."""
    from pipeline.evaluate.protocols import nested_oof
    from pipeline.train.engine import CVEngine
    from pipeline.train.folds import grouped_splits

    params = small_params()
    params["train"]["grid"]["logreg"] = {"C": [0.3, 3.0]}
    seen = []
    original = CVEngine.select

    def spy(self, train_idx, seed):
        seen.append(set(np.asarray(train_idx).tolist()))
        return original(self, train_idx, seed)

    monkeypatch.setattr(CVEngine, "select", spy)
    oof = nested_oof(_engine(params), [3], 3)
    splits = grouped_splits(LABELS_Y, GROUPS, 3, 3)
    assert len(seen) == len(splits)
    for used, (tr, te) in zip(seen, splits):
        assert used == set(tr.tolist()) and not used & set(te.tolist())
    assert {tuple(sorted(i["best_params"].items())) for i in oof["selected"][0]} <= {(("C", 0.3),), (("C", 3.0),)}


def test_article_kinds_from_source_and_id():
    from pipeline.evaluate.protocols import article_kinds

    kinds = {"official": [r"\bun\.org", "usmission"], "news": "voanews|wikinews"}
    sources = {"a": "https://press.un.org/en/2017/sc12902.doc.htm", "b": "https://www.voanews.com/x",
               "c": "", "d": "https://usun.usmission.gov/remarks"}
    got = article_kinds(["a", "b", "c", "d", "e_wikinews-x"], sources, kinds, "news")
    assert got == {"a": "official", "b": "news", "c": "news", "d": "official", "e_wikinews-x": "news"}
    assert article_kinds(["x"], {"x": "https://fun.organisation.example"}, kinds, "other") == {"x": "other"}
    with pytest.raises(StanceError, match="article 'c'.*matches no kind"):
        article_kinds(["c"], sources, kinds, None)
    with pytest.raises(StanceError, match="invalid regular expression"):
        article_kinds(["c"], sources, {"bad": "("}, "news")


def test_subsample_articles_is_deterministic_and_keeps_every_label():
    from pipeline.evaluate.protocols import subsample_articles

    y, g = np.asarray(LABELS_Y, dtype=object), np.asarray(GROUPS, dtype=object)
    tr = np.arange(48)
    a = subsample_articles(tr, g, y, 0.5, seed=5)
    assert a.tolist() == subsample_articles(tr, g, y, 0.5, seed=5).tolist()
    assert len(set(g[a].tolist())) == 3 and set(y[a].tolist()) == set(LABELS)
    assert len(set(g[subsample_articles(tr, g, y, 0.01, seed=1)].tolist())) >= 2
    assert subsample_articles(tr, g, y, 1.0, seed=1).tolist() == tr.tolist()


# ----------------------------------------------------------------------------- outputs

def test_metrics_file_has_every_field(evaluated):
    m = json.loads((evaluated["out"] / "metrics.json").read_text())
    assert m == json.loads(json.dumps(evaluated["result"]["metrics"]))
    for system in ("model", "majority", "lexicon"):
        block = m[system]
        for name in ("macro_f1", "f_avg", "accuracy"):
            v = block[name]
            assert set(v) == {"value", "ci_low", "ci_high"}
            assert 0 <= v["ci_low"] <= v["value"] + 1e-9 and v["value"] <= v["ci_high"] + 1e-9 <= 1 + 1e-9
        for label in LABELS:
            for metric in ("precision", "recall", "f1"):
                v = block["per_class"][label][metric]
                assert set(v) == {"value", "ci_low", "ci_high"} and v["ci_low"] <= v["ci_high"]
        assert set(block["fold_macro_f1"]) == {"mean", "std", "min", "max"}
        sup, opp = block["per_class"]["support"]["f1"]["value"], block["per_class"]["oppose"]["f1"]["value"]
        assert block["f_avg"]["value"] == pytest.approx((sup + opp) / 2, abs=2e-6)
    for base in ("majority", "lexicon"):
        diff = m["comparison"][f"model_minus_{base}"]
        for name in ("macro_f1", "f_avg", "accuracy"):
            assert diff[name]["value"] == pytest.approx(m["model"][name]["value"] - m[base][name]["value"], abs=2e-6)
            assert diff[name]["ci_low"] <= diff[name]["ci_high"]
    assert {k: v for k, v in m["data"].items() if k != "articles_per_kind"} == {
        "n_sentences": 48, "n_articles": 6, "n_support": 15, "n_oppose": 15, "n_neutral": 18}
    assert m["cv"] == {"nested": True, "n_splits": 5, "inner_folds": 2, "n_seeds": 2, "bootstrap": 200, "ci": 0.95}
    assert sum(m["selection"].values()) == 2 * 5
    # cross-source: fixture articles a1-a3 are official, a4-a6 news
    assert set(m["cross_source"]) == {"official_to_news", "news_to_official"}
    for block in m["cross_source"].values():
        assert block["data"]["n_train_articles"] == 3 and block["data"]["n_test_articles"] == 3
        assert block["data"]["n_test_sentences"] == 24
        for system in ("model", "majority", "lexicon"):
            assert set(block[system]["macro_f1"]) == {"value", "ci_low", "ci_high"}
        assert "model_minus_lexicon" in block["comparison"]
    assert m["data"]["articles_per_kind"] == {"news": 3, "official": 3}
    # learning curve: one entry per fraction, fewer training articles at 70%
    lc = m["learning_curve"]
    assert set(lc) == {"pct_070", "pct_100"}
    assert lc["pct_070"]["n_train_articles"] < lc["pct_100"]["n_train_articles"]
    assert lc["pct_100"]["macro_f1"]["value"] == pytest.approx(  # 100% reuses the nested run of seed 0
        evaluated["result"]["metrics"]["learning_curve"]["pct_100"]["macro_f1"]["value"])
    # Majority baseline: predicts one class, so macro-F1 <= 1/3 * max single-class F1.
    assert m["majority"]["macro_f1"]["value"] < 0.34


def test_point_estimates_match_sklearn_on_oof(evaluated, trained):
    """metrics.json values are the seed-mean of sklearn's metrics on each seed's OOF predictions."""
    from sklearn.metrics import accuracy_score, f1_score

    from pipeline.evaluate.protocols import nested_oof

    ev = trained["params"]["evaluate"]
    oof = nested_oof(_engine(trained["params"]), ev["seeds"], ev["cv_folds"])
    m = evaluated["result"]["metrics"]["model"]
    f1s = [f1_score(LABELS_Y, list(oof["model"][s]), labels=list(LABELS), average="macro", zero_division=0)
           for s in range(len(ev["seeds"]))]
    accs = [accuracy_score(LABELS_Y, list(oof["model"][s])) for s in range(len(ev["seeds"]))]
    assert m["macro_f1"]["value"] == pytest.approx(np.mean(f1s), abs=1e-6)
    assert m["accuracy"]["value"] == pytest.approx(np.mean(accs), abs=1e-6)


def test_lexicon_baseline_in_metrics_is_the_lexicon(evaluated, trained):
    from sklearn.metrics import accuracy_score

    from pipeline.model.features import lexicon_predict

    pred = lexicon_predict(TEXTS, **trained["params"]["evaluate"]["lexicon"])
    acc = evaluated["result"]["metrics"]["lexicon"]["accuracy"]["value"]
    assert acc == pytest.approx(accuracy_score(LABELS_Y, pred), abs=1e-6)


def test_plots_and_error_analysis_files(evaluated):
    out = evaluated["out"]
    cm = json.loads((out / "plots" / "confusion_matrix.json").read_text())
    assert len(cm) == 48 and all(set(r) == {"actual", "predicted"} for r in cm)
    assert [r["actual"] for r in cm] == LABELS_Y
    pr = json.loads((out / "plots" / "precision_recall.json").read_text())
    assert len(pr) == 101 and all(set(r) == {"recall", *LABELS} for r in pr)
    png = (out / "plots" / "confusion_matrix.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"matplotlib" not in png.lower() and b"Software" not in png
    with open(out / "misclassified.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    wrong = [r for r in cm if r["actual"] != r["predicted"]]
    assert len(rows) == len(wrong)
    with open(out / "misclassified.csv", encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    assert header == ["sentence_id", "article_id", "position", "text", "label", "predicted", "confidence",
                      "p_support", "p_oppose", "p_neutral", "fold", "wrong_in_seeds"]
    for r in rows:
        assert r["label"] != r["predicted"] and 1 <= int(r["wrong_in_seeds"]) <= 2
    lc = json.loads((out / "plots" / "learning_curve.json").read_text())
    assert [r["fraction"] for r in lc] == [0.7, 1.0]
    assert all(r["ci_low"] <= r["macro_f1"] <= r["ci_high"] for r in lc)
    assert (out / "plots" / "learning_curve.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    report = (out / "classification_report.txt").read_text()
    assert "== model ==" in report and "== majority ==" in report and "== lexicon ==" in report


def test_evaluation_outputs_are_byte_identical(evaluated, tmp_path):
    run_evaluate(evaluated, tmp_path)
    for rel in ("metrics.json", "plots/confusion_matrix.json", "plots/precision_recall.json",
                "plots/confusion_matrix.png", "plots/learning_curve.json", "plots/learning_curve.png",
                "plots/reliability.json", "plots/reliability.png", "misclassified.csv", "classification_report.txt",
                "share_errors.json"):
        assert (tmp_path / rel).read_bytes() == (evaluated["out"] / rel).read_bytes(), rel


def test_share_metrics_and_share_errors_from_the_outer_folds(evaluated):
    """metrics.json ``shares`` recomputed from the first seed's OOF predictions; share_errors.json
    holds one entry per seed and outer fold, readable by analyze."""
    import numpy as np

    from pipeline.evaluate.protocols import nested_oof  # noqa: F401 - the OOF below comes from the run
    from pipeline.model.errors import ErrorModel

    m = json.loads((evaluated["out"] / "metrics.json").read_text())["shares"]
    for method in ("count", "probability"):
        block = m[method]
        for key in ("article_share_mae", "fold_share_mae", "net_sign_accuracy"):
            assert 0.0 <= block[key] <= 1.0
        assert block["article_share_mae"] == pytest.approx(
            (block["article_share_mae_support"] + block["article_share_mae_oppose"]) / 2, abs=2e-6)
    em = ErrorModel.read(evaluated["out"] / "share_errors.json")
    n_seeds = len(evaluated["params"]["evaluate"]["seeds"])
    assert em.n_folds == n_seeds * evaluated["result"]["n_splits"]
    assert sum(em.sentences) == n_seeds * len(json.loads((evaluated["out"] / "plots/confusion_matrix.json")
                                                         .read_text()))
    assert np.isfinite(em.mean).all()


def test_png_is_identical_in_a_fresh_process(evaluated, tmp_path):
    """Font caches or import order must not change the PNG bytes."""
    code = ("import sys, numpy as np; from pipeline.evaluate.stage import _confusion_png; "
            "_confusion_png(sys.argv[1], np.array([[5,1,0],[2,7,1],[0,0,9]]), 'fixture')")
    for name in ("a.png", "b.png"):
        subprocess.run([sys.executable, "-c", code, str(tmp_path / name)], check=True, capture_output=True)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


# ----------------------------------------------------------------------------- CLI

def test_cli_without_mlflow(trained, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # must not be touched
    code = main(["evaluate", "--no-mlflow", "--params", str(trained["params_path"]), "--train-report",
                 str(trained["train_report"]), "--dataset", str(trained["dataset"]),
                 "--model", str(trained["model"]), "--metrics", str(tmp_path / "m.json"),
                 "--plots", str(tmp_path / "plots"), "--misclassified", str(tmp_path / "mis.csv"),
                 "--classification-report", str(tmp_path / "cr.txt")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "model" in err and "majority" in err and "lexicon" in err
    assert (tmp_path / "m.json").is_file() and (tmp_path / "plots" / "confusion_matrix.png").is_file()
    assert "MLflow run" not in err


def test_cli_mlflow_disabled_by_param(trained, tmp_path, capsys, monkeypatch):
    params = small_params()
    params["mlflow"]["enabled"] = False
    params_path = write_params(tmp_path / "params.yaml", params)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    code = main(["evaluate", "--params", str(params_path), "--train-report", str(trained["train_report"]),
                 "--dataset", str(trained["dataset"]),
                 "--model", str(trained["model"]), "--metrics", str(tmp_path / "m.json"),
                 "--plots", str(tmp_path / "plots"), "--misclassified", str(tmp_path / "mis.csv"),
                 "--classification-report", str(tmp_path / "cr.txt")])
    assert code == 0, capsys.readouterr().err


@pytest.mark.parametrize("what, message", [
    ("model", "missing.joblib not found"),
    ("seeds", "evaluate.seeds: expected a non-empty list of integers"),
    ("junk_model", "junk.joblib was not produced by this project's training"),
])
def test_cli_errors_exit_2(trained, tmp_path, capsys, what, message):
    params = small_params()
    model = trained["model"]
    if what == "model":
        model = tmp_path / "missing.joblib"
    elif what == "seeds":
        params["evaluate"]["seeds"] = []
    else:
        model = tmp_path / "junk.joblib"
        model.write_bytes(b"not a pickle")
    params_path = write_params(tmp_path / "params.yaml", params)
    code = main(["evaluate", "--no-mlflow", "--params", str(params_path), "--train-report",
                 str(trained["train_report"]), "--dataset", str(trained["dataset"]),
                 "--model", str(model), "--metrics", str(tmp_path / "m.json"), "--plots", str(tmp_path / "p"),
                 "--misclassified", str(tmp_path / "x.csv"), "--classification-report", str(tmp_path / "c.txt")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert err.startswith("stance evaluate: error: ")
    assert not (tmp_path / "m.json").exists()


def test_dvc_yaml_declares_metrics_and_plots_uncached():
    import yaml

    d = yaml.safe_load((REPO / "dvc.yaml").read_text())
    assert "reports/metrics.json" in d["metrics"]
    outs = {}
    for item in d["stages"]["evaluate"]["outs"]:
        (path, opts), = item.items() if isinstance(item, dict) else ((item, {}),)
        outs[path] = opts
    for path in ("reports/metrics.json", "reports/plots/confusion_matrix.json", "reports/plots/precision_recall.json",
                 "reports/plots/confusion_matrix.png", "reports/plots/learning_curve.json",
                 "reports/plots/learning_curve.png", "reports/plots/reliability.json",
                 "reports/plots/reliability.png", "reports/misclassified.csv"):
        assert outs[path] == {"cache": False}, path
    assert "data/articles_meta.csv" in d["stages"]["evaluate"]["deps"]  # the target column (cross-target)
    assert "data/interim/articles.csv" in d["stages"]["evaluate"]["deps"]
    plot_files = json.dumps(d["plots"])
    for path in ("reports/plots/confusion_matrix.json", "reports/plots/precision_recall.json",
                 "reports/plots/confusion_matrix.png", "reports/plots/learning_curve.json",
                 "reports/plots/learning_curve.png"):
        assert path in plot_files


@pytest.mark.slow
def test_dvc_repro_metrics_plots_and_experiments(tmp_path):
    """In a temporary git+DVC repo holding this project's train/evaluate stages and the fixture
    dataset: dvc repro, dvc metrics show, dvc plots show, dvc exp run -S, dvc exp show."""
    import yaml

    dvc = shutil.which("dvc", path=str(Path(sys.executable).parent)) or shutil.which("dvc")
    if dvc is None:
        pytest.skip("dvc not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(REPO / "pipeline", repo / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    write_params(repo / "params.yaml", small_params())
    for name in (".gitignore",):
        shutil.copy(REPO / name, repo / name)
    d = yaml.safe_load((REPO / "dvc.yaml").read_text())
    d["stages"] = {k: d["stages"][k] for k in ("train", "check_store", "evaluate")}  # upstream: fixture data
    (repo / "dvc.yaml").write_text(yaml.safe_dump(d, sort_keys=False))
    write_dataset(repo / "data" / "processed" / "dataset.csv")
    (repo / "data" / "interim").mkdir(parents=True)
    (repo / "data" / "interim" / "articles.csv").write_text(
        "article_id,source,title,license,n_sentences\n" + "".join(f"{a},,,,8\n" for a in ARTICLES), encoding="utf-8")
    (repo / "data" / "articles_meta.csv").write_text(  # no target column: cross-target is skipped
        "article_id,date,source\n" + "".join(f"{a},,\n" for a in ARTICLES), encoding="utf-8")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("DVC_", "MLFLOW_TRACKING"))}
    env.update({"PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}", "GIT_AUTHOR_NAME": "test",
                "GIT_AUTHOR_EMAIL": "test@example.invalid", "GIT_COMMITTER_NAME": "test",
                "GIT_COMMITTER_EMAIL": "test@example.invalid", "MLFLOW_DISABLE_TELEMETRY": "true",
                "DVC_NO_ANALYTICS": "1", "COLUMNS": "400"})

    def run(*cmd):
        done = subprocess.run(list(cmd), cwd=repo, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{cmd}: {done.stdout}\n{done.stderr}"
        return done.stdout

    run("git", "init", "-q")
    run("git", "config", "user.email", "test@example.invalid")
    run("git", "config", "user.name", "test")
    run(dvc, "init", "-q")
    run(dvc, "config", "core.analytics", "false")
    shutil.copytree(REPO / ".dvc" / "plots", repo / ".dvc" / "plots")  # the project's plot templates
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "fixture project")
    run(dvc, "repro")
    assert (repo / "mlflow.db").is_file() and (repo / "mlartifacts").is_dir()  # store anchored at the root
    metrics = json.loads(run(dvc, "metrics", "show", "--json"))
    shown = metrics[""]["data"]["reports/metrics.json"]["data"]
    assert shown == json.loads((repo / "reports" / "metrics.json").read_text())
    plots = json.loads(run(dvc, "plots", "show", "--json"))["data"]
    assert {k: [e["type"] for e in v] for k, v in plots.items()} == {
        "confusion_matrix": ["vega"], "precision_recall": ["vega"], "learning_curve": ["vega"], "reliability": ["vega"],
        "reports/plots/confusion_matrix.png": ["image"], "reports/plots/learning_curve.png": ["image"],
        "reports/plots/reliability.png": ["image"]}
    pr_values = plots["precision_recall"][0]["content"]["data"]["values"]
    assert sorted(v["field"] for v in pr_values) == sorted(list(LABELS) * 101)  # one 101-point line per class
    assert len(plots["confusion_matrix"][0]["content"]["data"]["values"]) == 48
    run(dvc, "plots", "show", "-o", str(tmp_path / "html"))
    assert (tmp_path / "html" / "index.html").is_file()
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "baseline results")
    lock_before = (repo / "dvc.lock").read_text()
    run(dvc, "repro")  # nothing changed: nothing reruns, lock unchanged
    assert (repo / "dvc.lock").read_text() == lock_before
    run(dvc, "exp", "run", "-S", "train.classifier=sgd", "-n", "try-sgd")
    table = json.loads(run(dvc, "exp", "show", "--json"))
    text = json.dumps(table)
    assert "try-sgd" in text and '"sgd"' in text
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{repo / 'mlflow.db'}")
    exp = client.get_experiment_by_name("sanctions-stance")
    runs = client.search_runs([exp.experiment_id])
    assert {r.data.tags.get("dvc_exp_name") for r in runs} >= {"try-sgd"}
    champion = client.get_model_version_by_alias("sanctions-stance", "champion")
    versions = {int(v.version): v for v in client.search_model_versions("name='sanctions-stance'")}
    assert sorted(versions) == list(range(1, len(runs) + 1))
    # the experiment's model takes @champion unless clearly worse (paired, on the same evaluation)
    first, latest = versions[1], versions[max(versions)]
    clearly_worse = "wholly below zero: clearly worse" in latest.tags["champion_reason"]
    assert "paired difference" in latest.tags["champion_reason"]
    assert latest.tags["evaluation_key"] == first.tags["evaluation_key"]
    assert int(champion.version) == (1 if clearly_worse else max(versions))


def test_evaluate_writes_a_deterministic_mlflow_record_next_to_the_model(trained, tmp_path):
    """models/mlflow.json: cached DVC output that makes a fresh clone log its own MLflow run."""
    import shutil

    model = tmp_path / "model.joblib"
    shutil.copy(trained["model"], model)
    args = ["evaluate", "--no-mlflow", "--params", str(trained["params_path"]), "--train-report",
            str(trained["train_report"]), "--dataset", str(trained["dataset"]),
            "--model", str(model), "--metrics", str(tmp_path / "m.json"), "--plots", str(tmp_path / "p"),
            "--misclassified", str(tmp_path / "x.csv"), "--classification-report", str(tmp_path / "c.txt")]
    assert main(args) == 0
    first = (tmp_path / "mlflow.json").read_bytes()
    record = json.loads(first)
    assert record["logged"] is False and len(record["model_sha256"]) == 64
    assert "run_id" not in record and str(tmp_path) not in first.decode()
    assert main(args) == 0
    assert (tmp_path / "mlflow.json").read_bytes() == first


def test_shares_average_the_calibrated_scores():
    """Probability averaging uses the scores the saved model gives (calibrated), not the raw ones."""
    import numpy as np

    from pipeline.evaluate.stage import analyst_shares

    labels = ["support", "oppose", "neutral", "neutral"] * 3
    groups = [f"a{i // 4}" for i in range(12)]
    raw = np.tile([[0.6, 0.3, 0.1]], (1, 12, 1))
    calibrated = np.zeros((1, 12, 3))
    for i, lab in enumerate(labels):
        calibrated[0, i, ["support", "oppose", "neutral"].index(lab)] = 1.0
    oof = {"model": np.array([labels], dtype=object), "proba": raw, "calibrated": calibrated,
           "fold": np.array([[i // 4 for i in range(12)]])}
    shares = analyst_shares(labels, oof, groups)
    assert shares["probability"]["article_share_mae"] == pytest.approx(0.0)
    assert shares["count"]["article_share_mae"] == pytest.approx(0.0)


def test_misclassified_csv_is_safe_to_open_in_a_spreadsheet(tmp_path):
    """misclassified.csv is read by people: a text a spreadsheet would run as a formula is written
    with a leading apostrophe (the dataset itself keeps the text as it is)."""
    from pipeline.evaluate.stage import evaluate

    articles = {a: [(("=", "+", "-", "@")[i % 4] + text, label) for i, (text, label) in enumerate(rows)]
                for a, rows in ARTICLES.items()}
    params = small_params()
    dataset = write_dataset(tmp_path / "dataset.csv", articles)
    params_path = write_params(tmp_path / "params.yaml", params)
    assert main(["train", "--params", str(params_path), "--dataset", str(dataset),
                 "--model", str(tmp_path / "model.joblib"), "--report", str(tmp_path / "train.json")]) == 0
    out = tmp_path / "out"
    evaluate(dataset, tmp_path / "model.joblib", params["evaluate"], train_params=params["train"],
             metrics_path=out / "metrics.json", plots_dir=out / "plots",
             misclassified_path=out / "misclassified.csv", report_path=out / "classification_report.txt",
             train_report=tmp_path / "train.json")
    with open(out / "misclassified.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for row in rows:
        assert row["text"][0] == "'" and row["text"][1] in "=+-@", row["text"]
    assert "=" in (tmp_path / "dataset.csv").read_text(encoding="utf-8")
