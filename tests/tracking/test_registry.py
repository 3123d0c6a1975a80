"""The MLflow registry and store: the champion alias moves only to a model at least as good on the
same evaluation; `stance promote` moves it by hand; runs of dead processes are closed; `stance
check-store` notices a store that lost its run, model version or alias. Every MLflow store here is a
temporary SQLite file."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from pipeline.cli import main

try:
    from trainkit import ARTICLES, killed_mlflow_run, small_params, write_dataset, write_params
except ImportError:  # tests/ imported as a package
    from tests.trainkit import ARTICLES, killed_mlflow_run, small_params, write_dataset, write_params


def version(v: str, macro_f1: float | None, key: str | None):
    tags = {}
    if macro_f1 is not None:
        tags["macro_f1"] = repr(macro_f1)
    if key is not None:
        tags["evaluation_key"] = key
    return SimpleNamespace(version=v, tags=tags)


def test_champion_decision_rules():
    from pipeline.tracking.registry import champion_decision

    assert champion_decision(None, 0.4, "k") == (True, "no version had @champion")
    ok, why = champion_decision(version("3", 0.577, "k"), 0.577, "k")
    assert ok and why == "macro-F1 0.5770 >= 0.5770 of the champion, version 3, on the same evaluation"
    ok, why = champion_decision(version("3", 0.577, "k"), 0.515, "k")
    assert not ok and why.startswith("macro-F1 0.5150 < 0.5770 of the champion, version 3, on the same evaluation; "
                                     "registered without @champion (`stance promote VERSION`")
    # another evaluation (other data or folds): not comparable unless the champion is re-scored
    ok, why = champion_decision(version("3", 0.9, "old"), 0.5, "k")
    assert not ok and "was evaluated on other data or folds" in why
    ok, why = champion_decision(version("3", 0.9, "old"), 0.5, "k", rescore=lambda v: 0.45)
    assert ok and why == "macro-F1 0.5000 >= 0.4500 of the champion, version 3, re-evaluated on the same data and folds"
    ok, why = champion_decision(version("3", 0.9, "old"), 0.5, "k", rescore=lambda v: 0.55)
    assert not ok and why.startswith("macro-F1 0.5000 < 0.5500 of the champion, version 3, re-evaluated")

    def broken(v):
        raise OSError("artifact gone")

    ok, why = champion_decision(version("3", None, None), 0.5, "k", rescore=broken)
    assert not ok and "could not be re-evaluated on this one (OSError: artifact gone)" in why


def test_evaluation_key_depends_on_data_and_folds_only():
    from pipeline.tracking.registry import evaluation_key

    base = {"seeds": [0, 1], "cv_folds": 5, "bootstrap": 1000, "lexicon": {"support": ["impose"]}}
    key = evaluation_key("abc", base)
    assert key == evaluation_key("abc", {**base, "bootstrap": 10, "lexicon": {}})   # intervals, baseline: same folds
    assert key != evaluation_key("abd", base)
    assert key != evaluation_key("abc", {**base, "seeds": [0]})
    assert key != evaluation_key("abc", {**base, "cv_folds": 4})
    assert key != evaluation_key("abc", {**base, "inner_folds": 2})      # the nested protocol is part of it


def _rescored(correct_per_article, seeds: int = 2):
    """A Rescored figure from per-article counts: each article has 10 sentences of each label, of
    which *correct* are predicted right (the rest predicted as the next label)."""
    import numpy as np

    from pipeline.evaluate.metrics import scores_from_confusion
    from pipeline.evaluate.rescore import Rescored

    cm = np.zeros((seeds, len(correct_per_article), 3, 3), dtype=np.int64)
    for a, correct in enumerate(correct_per_article):
        for i in range(3):
            cm[:, a, i, i] = correct
            cm[:, a, i, (i + 1) % 3] = 10 - correct
    value = float(np.mean(scores_from_confusion(cm.sum(axis=1))["macro_f1"]))
    return Rescored(value, cm)


def test_paired_rule_moves_the_alias_unless_clearly_worse():
    """The issue's case: 0.5767 against 0.5780 is noise, the alias moves; a model worse on every
    article is held back."""
    from pipeline.tracking.registry import champion_decision

    champion = _rescored([6, 5, 7, 4, 6, 8, 5, 6, 7, 5])
    close = _rescored([6, 5, 7, 4, 6, 8, 5, 6, 7, 4])      # one article a little worse: noise
    bad = _rescored([3, 2, 4, 1, 3, 5, 2, 3, 4, 2])        # worse on every article
    assert float(close) < float(champion)
    ok, why = champion_decision(version("3", 0.9, "k"), 0.1, "k", rescore=lambda v: champion,
                                rescore_new=lambda: close)
    assert ok and "paired difference -0.0" in why and "not wholly below zero: not clearly worse" in why
    ok, why = champion_decision(version("3", 0.9, "k"), 0.99, "k", rescore=lambda v: champion, rescore_new=lambda: bad)
    assert not ok and "wholly below zero: clearly worse, registered without @champion" in why
    point, low, high = bad.difference(champion)
    assert low <= point <= high < 0


def test_champion_decision_with_both_models_rescored():
    """A champion from another evaluation: with rescore_new, the two re-scored figures are compared
    (the new headline may come from nested CV, which a fitted champion cannot repeat)."""
    from pipeline.tracking.registry import champion_decision

    ok, why = champion_decision(version("3", 0.9, "old"), 0.70, "k", rescore=lambda v: 0.55, rescore_new=lambda: 0.50)
    assert not ok and why.startswith("macro-F1 0.5000 < 0.5500 of the champion, version 3, both re-evaluated with "
                                     "their settings fixed on the same data and folds")
    ok, why = champion_decision(version("3", 0.9, "old"), 0.40, "k", rescore=lambda v: 0.55, rescore_new=lambda: 0.60)
    assert ok and why.startswith("macro-F1 0.6000 >= 0.5500")
    ok, why = champion_decision(version("3", 0.6, "k"), 0.61, "k", rescore=lambda v: 1 / 0, rescore_new=lambda: 1 / 0)
    assert ok and why.endswith("on the same evaluation")                 # same key: no re-scoring at all


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Two models trained on the fixture: `good` (the default model: logreg, word + cues, averaged
    with the static embeddings) and `weak` (no cue features, one word feature and no static
    embeddings: clearly worse), with their macro-F1 measured without MLflow."""
    base = tmp_path_factory.mktemp("champion")
    dataset = write_dataset(base / "dataset.csv")
    good = small_params()
    weak = small_params()
    weak["train"]["features"]["cues"]["enabled"] = False
    weak["train"]["features"]["word"]["max_features"] = 1
    weak["train"]["features"]["static"]["enabled"] = False
    out = {"base": base, "dataset": dataset}
    for name, params in (("good", good), ("weak", weak)):
        params_path = write_params(base / f"{name}.yaml", params)
        assert main(["train", "--params", str(params_path), "--dataset", str(dataset),
                     "--model", str(base / f"{name}.joblib"), "--report", str(base / f"{name}.json")]) == 0
        assert main(["evaluate", *eval_args(base, name, dataset), "--no-mlflow"]) == 0
        out[name] = json.loads((base / f"{name}-metrics.json").read_text())["model"]["macro_f1"]["value"]
    assert out["good"] != out["weak"]
    if out["good"] < out["weak"]:  # name them by what was measured
        out["good"], out["weak"] = out["weak"], out["good"]
        for suffix in (".yaml", ".joblib", ".json"):
            (base / f"good{suffix}").rename(base / f"tmp{suffix}")
            (base / f"weak{suffix}").rename(base / f"good{suffix}")
            (base / f"tmp{suffix}").rename(base / f"weak{suffix}")
    return out


def eval_args(base, name, dataset) -> list[str]:
    return ["--params", str(base / f"{name}.yaml"), "--dataset", str(dataset), "--model", str(base / f"{name}.joblib"),
            "--train-report", str(base / f"{name}.json"), "--metrics", str(base / f"{name}-metrics.json"),
            "--plots", str(base / f"{name}-plots"), "--misclassified", str(base / f"{name}-mis.csv"),
            "--classification-report", str(base / f"{name}-report.txt")]


@pytest.mark.slow
def test_worse_model_does_not_take_the_alias_and_promote_moves_it(project, tmp_path, monkeypatch, capsys):
    from mlflow.tracking import MlflowClient

    base, dataset = project["base"], project["dataset"]
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    assert main(["evaluate", *eval_args(base, "good", dataset)]) == 0
    assert "version 1 is @champion (no version had @champion)" in capsys.readouterr().err
    assert main(["evaluate", *eval_args(base, "weak", dataset)]) == 0
    err = capsys.readouterr().err
    # both re-scored on the same folds: the paired article-bootstrap difference is wholly below zero
    line = "model sanctions-stance version 2 is registered without @champion: macro-F1 "
    assert line in err and "of the champion, version 1, both re-evaluated" in err, err
    assert "wholly below zero: clearly worse" in err
    assert str(client.get_model_version_by_alias("sanctions-stance", "champion").version) == "1"
    weak_run = client.get_run(client.get_model_version("sanctions-stance", "2").run_id)
    assert weak_run.data.tags["champion"] == "false"
    assert "wholly below zero: clearly worse" in weak_run.data.tags["champion_reason"]
    # the model file is not what MLflow serving answers with: evaluate and predict say so, in one line
    note = (f"note: {base / 'weak.joblib'} is sanctions-stance version 2, not @champion; version 1 holds "
            "@champion and is what `stance serve --champion` and MLflow serving")
    assert note in err and "Why: macro-F1 " in err
    assert main(["predict", "--trust-model", "--model", str(base / "weak.joblib"), "Lift the sanctions."]) == 0
    notes = [ln for ln in capsys.readouterr().err.splitlines() if "note:" in ln]
    assert len(notes) == 1 and note in notes[0] and "wholly below zero" in notes[0]
    assert main(["predict", "--trust-model", "--model", str(base / "good.joblib"), "Lift the sanctions."]) == 0
    assert "note:" not in capsys.readouterr().err  # the record is about another file
    # `stance serve --champion` serves the alias holder, version 1; by default the file predict uses
    from pipeline.tracking.serve import served_model

    champion_model, description, _ = served_model(None, True, base / "good.yaml", uri)
    assert description == "sanctions-stance version 1 (@champion)" and hasattr(champion_model, "predict_proba")
    _, description, note_line = served_model(str(base / "weak.joblib"), False, base / "good.yaml", None, trust=True)
    assert description.startswith("model file ") and note in note_line
    assert "not @champion: macro-F1" in weak_run.data.tags["mlflow.note.content"]

    # the good model again (same evaluation, equal score): not clearly worse, so the alias moves
    assert main(["evaluate", *eval_args(base, "good", dataset)]) == 0
    assert "version 3 is @champion (macro-F1" in capsys.readouterr().err

    # by hand
    assert main(["promote", "2", "--params", str(base / "good.yaml")]) == 0
    assert capsys.readouterr().err == "stance promote: sanctions-stance version 2 is now @champion (was version 3)\n"
    champion = client.get_model_version_by_alias("sanctions-stance", "champion")
    assert str(champion.version) == "2" and champion.tags["champion_reason"].startswith("promoted by hand")
    assert main(["promote", "9", "--params", str(base / "good.yaml")]) == 2
    assert "model 'sanctions-stance' has no version '9'" in capsys.readouterr().err
    assert main(["promote", "two"]) == 2
    assert "version must be a model version number, got 'two'" in capsys.readouterr().err

    # new data: the champion (version 2, the weak model) is re-scored on the new evaluation
    import joblib

    from pipeline.evaluate.rescore import rescore

    fewer = dict(list(ARTICLES.items())[:-1])
    new_data = write_dataset(base / "dataset-fewer.csv", fewer)
    params = small_params()["evaluate"]
    weak_there = rescore(joblib.load(base / "weak.joblib"), new_data, params)
    assert main(["evaluate", *eval_args(base, "good", new_data)]) == 0
    err = capsys.readouterr().err
    good_there = rescore(joblib.load(base / "good.joblib"), new_data, params)
    assert (f"{good_there:.4f} vs {weak_there:.4f} of the champion, "
            "version 2, both re-evaluated with their settings fixed on the same data and folds") in err, err
    assert good_there > weak_there and "not wholly below zero" in err
    assert str(client.get_model_version_by_alias("sanctions-stance", "champion").version) == "4"


@pytest.mark.slow
def test_runs_left_running_by_a_killed_process_are_closed(project, tmp_path, monkeypatch, capsys):
    import os

    from mlflow.tracking import MlflowClient

    from pipeline.tracking.runs import ensure_experiment
    from pipeline.tracking.store import owner_tags

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = ensure_experiment(client, "sanctions-stance", uri)
    dead = killed_mlflow_run(uri, exp)
    assert client.get_run(dead).info.status == "RUNNING"
    live = client.create_run(exp, tags=owner_tags()).info.run_id          # this process: alive
    foreign = client.create_run(exp, tags={"stance.host": "elsewhere", "stance.pid": "1"}).info.run_id
    untagged = client.create_run(exp).info.run_id

    base, dataset = project["base"], project["dataset"]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert main(["evaluate", *eval_args(base, "good", dataset)]) == 0
    err = capsys.readouterr().err
    pid = client.get_run(dead).data.tags["stance.pid"]
    assert f"stance evaluate: MLflow run {dead} was left RUNNING by process {pid}, which is gone: marked KILLED" in err
    assert client.get_run(dead).info.status == "KILLED"
    assert client.get_run(dead).data.tags["stance.closed_because"].startswith(f"process {pid} on ")
    for run_id in (live, foreign, untagged):
        assert client.get_run(run_id).info.status == "RUNNING"
    newest = client.search_runs([exp], order_by=["attributes.start_time DESC"], max_results=1)[0]
    assert newest.info.status == "FINISHED" and newest.data.tags["stance.pid"] == str(os.getpid())


@pytest.mark.slow
def test_check_store_notices_a_store_that_lost_the_run_model_or_alias(project, tmp_path, monkeypatch, capsys):
    import shutil
    import sqlite3

    from mlflow.tracking import MlflowClient

    from pipeline.tracking.store import STORE_CHECK_TEXT, _client_gaps, check_store

    base, dataset = project["base"], project["dataset"]
    work = tmp_path / "work"
    work.mkdir()
    for suffix in (".yaml", ".joblib", ".json"):
        shutil.copy(base / f"good{suffix}", work / f"good{suffix}")
    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert main(["evaluate", *eval_args(work, "good", dataset)]) == 0
    record = work / "mlflow.json"                       # written next to the model
    assert json.loads(record.read_text())["logged"] is True
    saved = record.read_bytes()
    out = tmp_path / "mlflow_store.json"
    capsys.readouterr()

    assert check_store(record, out, uri) == []          # complete: nothing changes
    assert record.read_bytes() == saved and json.loads(out.read_text()) == STORE_CHECK_TEXT
    assert capsys.readouterr().err == ""
    args = ("sanctions-stance", json.loads(saved)["model_sha256"], "sanctions-stance", "champion")
    assert _client_gaps(uri, *args) == []               # the MLflow-client path agrees

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.delete_registered_model_alias("sanctions-stance", "champion")
    assert check_store(record, out, uri) == ["the @champion alias"]
    assert not record.exists()                          # evaluate's output is gone: DVC re-runs evaluate
    assert "lacks the @champion alias of the model" in capsys.readouterr().err
    assert _client_gaps(uri, *args) == ["the @champion alias"]

    record.write_bytes(saved)
    con = sqlite3.connect(db)
    con.execute("UPDATE runs SET status = 'FAILED'")
    con.commit()
    con.close()
    assert check_store(record, out, uri) == ["the run", "the model version", "the @champion alias"]

    record.write_bytes(saved)
    db.unlink()
    assert check_store(record, out, uri) == ["the run", "the model version", "the @champion alias"]
    assert "lacks the run, the model version and the @champion alias" in capsys.readouterr().err
    assert not db.exists()                              # the check never creates a store

    # nothing logged (mlflow disabled) or no record yet: nothing to do
    record.write_text(json.dumps({"logged": False, "model_sha256": "x"}))
    assert check_store(record, out, uri) == [] and record.exists()
    record.unlink()
    assert check_store(record, out, uri) == []
    # an unreachable server is a warning, not a failure, and changes nothing
    record.write_bytes(saved)
    assert check_store(record, out, "http://[::1") == [] and record.exists()
    assert "warning: cannot check the MLflow store: MLflow tracking URI 'http://[::1' is malformed" in \
        capsys.readouterr().err


def test_check_store_command_is_cheap_and_never_creates_a_store(tmp_path):
    """`stance check-store` on a SQLite store imports no mlflow (it runs at every `dvc repro`)."""
    import subprocess
    import sys

    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "models").mkdir()
    record = tmp_path / "models" / "mlflow.json"
    record.write_text(json.dumps({"logged": True, "model_sha256": "ab" * 32, "experiment": "sanctions-stance",
                                  "registered_model": "sanctions-stance", "alias": "champion"}))
    code = ("import sys; from pipeline.cli import main; code = main(['check-store']); "
            "print(code, 'mlflow' in sys.modules, 'sklearn' in sys.modules)")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("MLFLOW_TRACKING", "DVC_"))}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.stdout.split() == ["0", "False", "False"], done.stderr
    assert "lacks the run, the model version and the @champion alias" in done.stderr
    assert not record.exists() and not (tmp_path / "mlflow.db").exists()
    assert json.loads((tmp_path / "models" / "mlflow_store.json").read_text()) == \
        {"checked": "models/mlflow.json against the MLflow store (run, model version, alias)"}


@pytest.mark.slow
def test_rescore_is_fixed_settings_cv_on_the_outer_folds(project):
    """Re-scoring refits a copy of the fitted pipeline (settings fixed) on the outer folds of the
    evaluation: deterministic, and the better-configured model scores higher on the fixture."""
    import joblib

    from pipeline.evaluate.rescore import rescore

    base = project["base"]
    scores = {name: rescore(joblib.load(base / f"{name}.joblib"), project["dataset"], small_params()["evaluate"])
              for name in ("good", "weak")}
    again = rescore(joblib.load(base / "good.joblib"), project["dataset"], small_params()["evaluate"])
    assert again == scores["good"]
    assert 0.0 <= scores["weak"] <= 1.0 and 0.0 <= scores["good"] <= 1.0
    assert (scores["good"] >= scores["weak"]) == (project["good"] >= project["weak"])


def test_logged_requirements_name_the_package_only_when_the_model_holds_its_classes():
    """A model with the static block (or calibrated scores) needs this package and tokenizers to load;
    the TF-IDF model alone is plain scikit-learn; neither needs torch."""
    from pipeline.model.files import PROJECT_TYPES, skops_types
    from pipeline.tracking.registry import _requirements
    from pipeline.train.stage import fit_final

    try:
        from trainkit import tfidf_only
    except ImportError:  # tests/ imported as a package
        from tests.trainkit import tfidf_only
    texts = [t for rows in ARTICLES.values() for t, _ in rows]
    labels = [y for rows in ARTICLES.values() for _, y in rows]
    default = fit_final(texts, labels, small_params()["train"])
    plain = fit_final(texts, labels, tfidf_only(small_params())["train"])
    assert {t for t in skops_types(default) if t.startswith("pipeline.")} == {
        "pipeline.model.static.StaticEmbeddings", "pipeline.model.average.ProbabilityAverage"}
    assert set(PROJECT_TYPES) >= {t for t in skops_types(default) if t.startswith("pipeline.")}
    assert not [t for t in skops_types(plain) if t.startswith("pipeline.")]
    names = {r.split("==")[0] for r in _requirements(project=True)}
    assert {"sanctions-stance", "tokenizers", "scikit-learn", "skops"} <= names and "torch" not in names
    assert not {"sanctions-stance", "tokenizers", "torch"} & {r.split("==")[0] for r in _requirements()}
