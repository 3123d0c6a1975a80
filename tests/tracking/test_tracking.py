"""Tests of MLflow tracking: store location, fail-fast checks, the logged run, the registry alias
and the pyfunc round trip. Every MLflow store here is a temporary SQLite file."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pipeline import LABELS
from pipeline.cli import main
from pipeline.core.config import StanceError, repo_root

try:
    from trainkit import ARTICLES, small_params, write_dataset, write_params
except ImportError:  # tests/ imported as a package
    from tests.trainkit import ARTICLES, small_params, write_dataset, write_params


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- store & checks

def test_tracking_uri_precedence(tmp_path, monkeypatch):
    from pipeline.tracking.uri import resolve_tracking_uri

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri(None, tmp_path) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert resolve_tracking_uri(None, tmp_path) == "http://127.0.0.1:5000"
    assert resolve_tracking_uri("sqlite:////x/y.db", tmp_path) == "sqlite:////x/y.db"


def test_store_is_anchored_at_dvc_root(tmp_path, monkeypatch):
    from pipeline.tracking.uri import artifact_location, resolve_tracking_uri

    elsewhere = tmp_path / "exp-tmp-copy"
    elsewhere.mkdir()
    (elsewhere / "dvc.yaml").write_text("stages: {}\n")
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = resolve_tracking_uri(None, repo_root())
    assert uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert artifact_location(uri) == (tmp_path.resolve() / "mlartifacts").as_uri()
    assert artifact_location("http://127.0.0.1:5000") is None


def test_unreachable_server_is_reported_quickly(monkeypatch):
    from pipeline.tracking.uri import check_tracking_uri

    port = free_port()  # nothing listens there
    with pytest.raises(StanceError, match=rf"http://127.0.0.1:{port} is unreachable .*--no-mlflow"):
        check_tracking_uri(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(StanceError, match="cannot resolve the host name"):
        check_tracking_uri("http://mlflow.invalid:5000", timeout=2)
    with pytest.raises(StanceError, match="does not exist"):
        check_tracking_uri("sqlite:////nonexistent-dir-for-stance/mlflow.db")
    check_tracking_uri("file:///tmp/whatever")  # nothing cheap to check: accepted
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] and os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"]


@pytest.mark.parametrize("health, api, ok", [(200, 404, True), (404, 200, True), (404, 401, True),
                                              (404, 404, False), (500, 502, False)])
def test_http_server_must_answer_like_mlflow(health, api, ok):
    from pipeline.tracking.uri import check_tracking_uri

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(health if self.path == "/health" else
                               api if self.path.startswith("/api/2.0/mlflow/") else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    uri = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        if ok:
            check_tracking_uri(uri, timeout=2)
        else:
            match = rf"{uri}: does not look like an MLflow tracking server \(HTTP {health}"
            with pytest.raises(StanceError, match=match):
                check_tracking_uri(uri, timeout=2)
    finally:
        server.shutdown()
        server.server_close()


def test_metric_items_and_flatten():
    from pipeline.tracking.runs import flatten, metric_items

    metrics = {"model": {"macro_f1": {"value": 0.5, "ci_low": 0.4, "ci_high": 0.6},
                         "per_class": {"oppose": {"f1": {"value": 0.7, "ci_low": 0.1, "ci_high": 0.9}},
                                       "support": {"f1": {"value": 0.8}}}},
               "lexicon": {"macro_f1": {"value": 0.3}},
               "comparison": {"model_minus_lexicon": {"macro_f1": {"value": 0.2, "ci_low": 0.1, "ci_high": 0.3}}},
               "cross_source": {"news_to_official": {"model": {"macro_f1": {"value": 0.42}}}},
               "data": {"n_sentences": 863, "n_articles": 78},
               "cv": {"n_splits": 5, "name": "x", "flag": True}}
    assert metric_items(metrics) == {
        "macro_f1": 0.5, "macro_f1_ci_low": 0.4, "macro_f1_ci_high": 0.6, "oppose_f1": 0.7,
        "lexicon_macro_f1": 0.3, "model_minus_lexicon_macro_f1": 0.2, "model_minus_lexicon_macro_f1_ci_low": 0.1,
        "model_minus_lexicon_macro_f1_ci_high": 0.3, "cross_source_news_to_official_macro_f1": 0.42,
        "n_sentences": 863.0, "n_articles": 78.0}
    assert flatten({"a": {"b": [1, 2]}, "c": None}) == {"a.b": [1, 2], "c": None}


def test_only_headline_metrics_are_logged_from_the_real_metrics_file():
    """About twenty readable names from the committed reports/metrics.json; the other ~450
    numbers are not MLflow metrics (they are in the metrics.json artifact)."""
    from pipeline.tracking.runs import HEADLINE_METRICS, flatten, metric_items

    metrics = json.loads((repo_root() / "reports" / "metrics.json").read_text(encoding="utf-8"))
    flat = flatten(metrics)
    for short, path in HEADLINE_METRICS.items():
        assert path in flat, (short, path)
    items = metric_items(metrics)
    assert 15 <= len(items) <= 25 < len(flat)
    assert items["macro_f1"] == metrics["model"]["macro_f1"]["value"]
    assert items["accuracy_ci_high"] == metrics["model"]["accuracy"]["ci_high"]
    assert items["oppose_f1"] == metrics["model"]["per_class"]["oppose"]["f1"]["value"]
    assert items["majority_macro_f1"] == metrics["majority"]["macro_f1"]["value"]
    assert items["model_minus_lexicon_macro_f1"] == metrics["comparison"]["model_minus_lexicon"]["macro_f1"]["value"]
    assert items["n_sentences"] == metrics["data"]["n_sentences"]
    for direction, block in metrics["cross_source"].items():
        assert items[f"cross_source_{direction}_macro_f1"] == block["model"]["macro_f1"]["value"]
    assert not [k for k in items if "/" in k or "." in k]


def test_run_name_tells_runs_apart():
    from pipeline.tracking.runs import run_name

    params = {"classifier": "logreg", "features": {"cues": {"enabled": True}, "char": {"enabled": True},
                                                   "word": {"ngram_range": [1, 2]}}, "C": 1.0}
    name = run_name(params, 1814)
    assert re.fullmatch(r"logreg-word-char-cues-1814s-[0-9a-f]{6}", name), name
    assert run_name(params, 1814) == name  # deterministic
    assert run_name(params, 1900) != name  # more data
    assert run_name({**params, "C": 3.0}, 1814).split("-")[-1] != name.split("-")[-1]  # other params
    assert re.fullmatch(r"sgd-word-cues-[0-9a-f]{6}", run_name(
        {"classifier": "sgd", "features": {"char": {"enabled": False}, "word": {}, "cues": {"enabled": True}}}))


def _markdown_tables(text: str) -> list[list[str]]:
    """Blocks of consecutive lines starting with '|'."""
    tables, current = [], []
    for line in text.split("\n") + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


def test_run_description_markdown_table_renders():
    from pipeline.tracking.runs import run_description

    metrics = {"model": {"macro_f1": {"value": 0.5771, "ci_low": 0.53, "ci_high": 0.62}},
               "lexicon": {"macro_f1": {"value": 0.43, "ci_low": 0.35, "ci_high": 0.5}},
               "majority": {"macro_f1": {"value": 0.25}},
               "comparison": {"model_minus_lexicon": {"macro_f1": {"value": 0.147, "ci_low": 0.07, "ci_high": 0.2}}},
               "data": {"n_sentences": 863, "n_articles": 78}, "cv": {"n_seeds": 5, "n_splits": 5, "ci": 0.95}}
    text = run_description("logreg-word-cues", metrics, {"C": 3.0})
    assert text.startswith("**logreg-word-cues**, selected by grouped CV: C=3.0.")
    assert "863 sentences from 78 articles; 5 seeds x 5 folds" in text
    assert "model minus lexicon: macro-F1 0.147 [0.070, 0.200]" in text
    lines = text.split("\n")
    [table] = _markdown_tables(text)
    start = lines.index(table[0])
    assert lines[start - 1] == "" and lines[start + len(table)] == ""  # blank line before and after
    assert re.fullmatch(r"\|( -{3,} \|)+", table[1])  # header separator row
    n_cols = table[0].count("|")
    assert all(row.count("|") == n_cols for row in table)  # one row per line, same columns
    assert table[0] == "| system | macro-F1 | F_avg | accuracy |"
    assert table[2:] == ["| model | 0.577 [0.530, 0.620] | n/a | n/a |",
                         "| lexicon | 0.430 [0.350, 0.500] | n/a | n/a |",
                         "| majority | 0.250 | n/a | n/a |"]
    assert lines[1] == ""  # the name line and the data line are separate paragraphs


def test_git_commit_outside_a_repo(tmp_path):
    from pipeline.tracking.runs import git_commit

    assert git_commit(tmp_path) == ("unknown", "unknown")


def test_skops_types_are_checked():
    import functools
    import json as jsonmod

    from sklearn.preprocessing import FunctionTransformer

    from pipeline.tracking.registry import skops_trusted_types

    with pytest.raises(StanceError, match="not allowed"):
        skops_trusted_types(FunctionTransformer(functools.partial(jsonmod.dumps)))


def test_importing_stage_modules_does_not_import_mlflow():
    code = ("import sys, pipeline.tracking.runs, pipeline.tracking.registry, pipeline.tracking.store, "
            "pipeline.evaluate.stage, "
            "pipeline.train.stage, pipeline.model.features; "
            "print(sorted(m for m in ('mlflow', 'sklearn', 'pandas', 'dvc') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_bad_tracking_uri_fails_before_evaluating(tmp_path, monkeypatch, capsys):
    dataset = write_dataset(tmp_path / "dataset.csv")
    params_path = write_params(tmp_path / "params.yaml", small_params())
    port = free_port()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    code = main(["evaluate", "--params", str(params_path), "--dataset", str(dataset),
                 "--model", str(tmp_path / "model-not-needed.joblib"), "--metrics", str(tmp_path / "m.json"),
                 "--plots", str(tmp_path / "plots"), "--misclassified", str(tmp_path / "x.csv"),
                 "--classification-report", str(tmp_path / "c.txt")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"stance evaluate: error: MLflow tracking server http://127.0.0.1:{port} is unreachable")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.json").exists()  # failed before the (long) cross-validation


@pytest.mark.parametrize("uri, message", [
    ("http://[::1", "Invalid IPv6 URL"),
    ("http://127.0.0.1:port", "Port could not be cast to integer value as 'port'")])
def test_malformed_tracking_uri_is_one_line(tmp_path, monkeypatch, capsys, uri, message):
    dataset = write_dataset(tmp_path / "dataset.csv")
    params_path = write_params(tmp_path / "params.yaml", small_params())
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    code = main(["evaluate", "--params", str(params_path), "--dataset", str(dataset),
                 "--metrics", str(tmp_path / "m.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert err == f"stance evaluate: error: MLflow tracking URI {uri!r} is malformed: {message}\n"
    assert not (tmp_path / "m.json").exists()


def test_bad_tracking_uri_in_a_subprocess_exits_2(tmp_path):
    dataset = write_dataset(tmp_path / "dataset.csv")
    params_path = write_params(tmp_path / "params.yaml", small_params())
    env = dict(os.environ, MLFLOW_TRACKING_URI="http://mlflow.invalid:5000")
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "evaluate", "--params", str(params_path),
                           "--dataset", str(dataset), "--metrics", str(tmp_path / "m.json")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "stance evaluate: error: MLflow tracking server http://mlflow.invalid:5000 is unreachable" in done.stderr


# ----------------------------------------------------------------------------- the logged run

@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """Train on the fixture, then `stance evaluate` twice into a temporary SQLite store."""
    base = tmp_path_factory.mktemp("mlflow")
    dataset = write_dataset(base / "dataset.csv")
    params = small_params()
    params_path = write_params(base / "params.yaml", params)
    args = ["--params", str(params_path), "--dataset", str(dataset), "--model", str(base / "model.joblib")]
    assert main(["train", *args, "--report", str(base / "train.json")]) == 0
    store = base / "store"
    store.mkdir()
    uri = f"sqlite:///{store}/mlflow.db"
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", uri)
    mp.setenv("DVC_EXP_NAME", "fixture-exp")
    outs = ["--train-report", str(base / "train.json"), "--metrics", str(base / "metrics.json"),
            "--plots", str(base / "plots"), "--misclassified", str(base / "misclassified.csv"),
            "--classification-report", str(base / "classification_report.txt")]
    try:
        assert main(["evaluate", *args, *outs]) == 0
        first_metrics = json.loads((base / "metrics.json").read_text())
        mp.delenv("DVC_EXP_NAME")
        assert main(["evaluate", *args, *outs]) == 0
    finally:
        mp.undo()
    import mlflow
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.get_experiment_by_name("sanctions-stance")
    runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])
    yield {"base": base, "uri": uri, "store": store, "client": client, "experiment": exp, "runs": runs,
           "params": params, "dataset": dataset, "metrics": first_metrics, "mlflow": mlflow}


@pytest.mark.slow
def test_one_experiment_with_artifacts_next_to_the_store(logged):
    exp = logged["experiment"]
    assert exp.artifact_location == (logged["store"].resolve() / "mlartifacts").as_uri()
    assert [e.name for e in logged["client"].search_experiments()] .count("sanctions-stance") == 1
    assert len(logged["runs"]) == 2
    for run in logged["runs"]:
        assert run.info.artifact_uri.startswith(exp.artifact_location)


@pytest.mark.slow
def test_run_params_cover_params_yaml(logged):
    from pipeline.tracking.runs import flatten

    run = logged["runs"][0]
    params = run.data.params
    assert set(flatten(logged["params"])) <= set(params)
    assert params["train.classifier"] == "logreg"
    assert params["evaluate.bootstrap"] == "200"
    assert params["mlflow.alias"] == "champion"
    assert json.loads(params["train.features.cues.words"])[:3] == ["oppose", "reject", "veto"]
    assert params["selected.C"] == "1.0"


@pytest.mark.slow
def test_experiment_kind_and_description(logged):
    from pipeline.tracking.runs import EXPERIMENT_DESCRIPTION, EXPERIMENT_KIND, ensure_experiment

    tags = logged["experiment"].tags
    assert tags["mlflow.experimentKind"] == EXPERIMENT_KIND == "custom_model_development"
    assert tags["mlflow.note.content"] == EXPERIMENT_DESCRIPTION
    # An experiment created without them (by an older version) gets them on the next run.
    client = logged["client"]
    old = client.create_experiment("older-experiment")
    assert "mlflow.experimentKind" not in client.get_experiment(old).tags
    assert ensure_experiment(client, "older-experiment", logged["uri"]) == old
    assert client.get_experiment(old).tags["mlflow.experimentKind"] == "custom_model_development"


@pytest.mark.slow
def test_run_metrics_include_baselines_cis_and_folds(logged):
    run, client = logged["runs"][0], logged["client"]
    m, metrics = run.data.metrics, logged["metrics"]
    assert m["macro_f1"] == pytest.approx(metrics["model"]["macro_f1"]["value"])
    assert m["f_avg"] == pytest.approx(metrics["model"]["f_avg"]["value"])
    assert m["accuracy"] == pytest.approx(metrics["model"]["accuracy"]["value"])
    assert m["oppose_f1"] == pytest.approx(metrics["model"]["per_class"]["oppose"]["f1"]["value"])
    assert m["lexicon_macro_f1"] == pytest.approx(metrics["lexicon"]["macro_f1"]["value"])
    assert m["majority_macro_f1"] == pytest.approx(metrics["majority"]["macro_f1"]["value"])
    assert m["macro_f1_ci_low"] == pytest.approx(metrics["model"]["macro_f1"]["ci_low"])
    assert m["model_minus_lexicon_macro_f1"] == pytest.approx(
        metrics["comparison"]["model_minus_lexicon"]["macro_f1"]["value"])
    # the headline names and the per-fold histories, nothing else (the rest is the metrics.json artifact)
    from pipeline.tracking.runs import metric_items
    assert sorted(m) == sorted([*metric_items(metrics), "folds/model.macro_f1", "folds/majority.macro_f1",
                                "folds/lexicon.macro_f1", "selection/fold_macro_f1",
                                "selection/best_mean_macro_f1"])
    n_seeds, n_splits = len(logged["params"]["evaluate"]["seeds"]), metrics["cv"]["n_splits"]
    for system in ("model", "majority", "lexicon"):
        history = client.get_metric_history(run.info.run_id, f"folds/{system}.macro_f1")
        assert sorted(h.step for h in history) == list(range(n_seeds * n_splits))
    selection = client.get_metric_history(run.info.run_id, "selection/fold_macro_f1")
    assert len(selection) == 5


@pytest.mark.slow
def test_run_tags_name_and_description(logged):
    first, second = logged["runs"]
    tags = first.data.tags
    assert tags["data_sha256"] == hashlib.sha256(logged["dataset"].read_bytes()).hexdigest()
    assert tags["model_sha256"] == hashlib.sha256((logged["base"] / "model.joblib").read_bytes()).hexdigest()
    assert tags["dvc_exp_name"] == "fixture-exp"
    assert "dvc_exp_name" not in second.data.tags
    # named after what was trained: the fixture params have word n-grams, cues and the static
    # embeddings, no char n-grams; then the data size and a short hash of the train params
    n = logged["metrics"]["data"]["n_sentences"]
    assert first.info.run_name == second.info.run_name
    assert re.fullmatch(rf"logreg-word-cues-static-{n}s-[0-9a-f]{{6}}", first.info.run_name)
    head = subprocess.run(["git", "-C", str(repo_root()), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert tags["git_commit"] == (head.stdout.strip() if head.returncode == 0 else "unknown")
    assert tags["git_dirty"] in ("true", "false", "unknown")
    assert tags["classifier"] == "logreg"
    note = tags["mlflow.note.content"]
    macro = logged["metrics"]["model"]["macro_f1"]
    assert note.startswith(f"**{first.info.run_name}**")
    assert f"| model | {macro['value']:.3f} [{macro['ci_low']:.3f}, {macro['ci_high']:.3f}] |" in note
    assert "| lexicon |" in note and "| majority |" in note
    assert "Registered as sanctions-stance version 1; now @champion: no version had @champion." in note
    assert first.data.tags["champion"] == "true" and second.data.tags["champion"] == "true"


@pytest.mark.slow
def test_training_data_is_a_dataset_input(logged):
    run = logged["client"].get_run(logged["runs"][0].info.run_id)
    inputs = run.inputs.dataset_inputs
    assert len(inputs) == 1
    ds, tags = inputs[0].dataset, {t.key: t.value for t in inputs[0].tags}
    assert ds.name == "dataset.csv" and ds.source_type == "local"
    assert tags["mlflow.data.context"] == "training"
    assert tags["sha256"] == hashlib.sha256(logged["dataset"].read_bytes()).hexdigest()
    assert json.loads(ds.profile)["num_rows"] == len(logged["dataset"].read_text().splitlines()) - 1
    assert "label" in ds.schema


@pytest.mark.slow
def test_run_artifacts(logged):
    client, run = logged["client"], logged["runs"][0]
    listed = {a.path for a in client.list_artifacts(run.info.run_id, "reports")}
    assert listed == {"reports/metrics.json", "reports/classification_report.txt", "reports/misclassified.csv",
                      "reports/train.json", "reports/share_errors.json"}
    assert {a.path for a in client.list_artifacts(run.info.run_id, "plots")} == {
        "plots/confusion_matrix.png", "plots/confusion_matrix.json", "plots/precision_recall.json",
        "plots/precision_recall.png", "plots/learning_curve.png", "plots/learning_curve.json",
        "plots/reliability.json", "plots/reliability.png"}
    assert {a.path for a in client.list_artifacts(run.info.run_id, "params")} == {"params/params.yaml"}
    local = client.download_artifacts(run.info.run_id, "reports/metrics.json", str(logged["base"] / "dl"))
    assert json.loads(Path(local).read_text()) == logged["metrics"]
    png = Path(client.download_artifacts(run.info.run_id, "plots/precision_recall.png", str(logged["base"] / "dl")))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_model_registered_and_champion_alias_moves(logged):
    client = logged["client"]
    versions = client.search_model_versions("name='sanctions-stance'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    champion = client.get_model_version_by_alias("sanctions-stance", "champion")
    # the same model on the same evaluation is "at least as good": the alias moves
    assert str(champion.version) == "2"
    assert champion.run_id == logged["runs"][1].info.run_id
    assert champion.tags["run_id"] == logged["runs"][1].info.run_id
    assert float(champion.tags["macro_f1"]) == pytest.approx(logged["metrics"]["model"]["macro_f1"]["value"])
    assert champion.tags["champion_reason"].startswith("macro-F1 ")
    description = champion.description
    assert description.startswith(f"{logged['runs'][1].info.run_name} trained on data/processed/dataset.csv (sha256 ")
    assert f"{logged['metrics']['data']['n_sentences']} sentences" in description
    assert "classifier logreg, grid choice C=1.0" in description
    assert f"macro-F1 {logged['metrics']['model']['macro_f1']['value']:.3f}" in description
    assert "lexicon macro-F1" in description and "majority" in description


@pytest.mark.slow
def test_pyfunc_round_trip(logged):
    import joblib
    import numpy as np
    import pandas as pd

    mlflow = logged["mlflow"]
    mlflow.set_tracking_uri(logged["uri"])
    mlflow.set_registry_uri(logged["uri"])
    texts = [t for rows in ARTICLES.values() for t, _ in rows][:10] + ["Lift the sanctions now."]
    model = mlflow.pyfunc.load_model("models:/sanctions-stance@champion")
    got = model.predict(pd.DataFrame({"text": texts}))
    assert list(got.columns) == ["label", *LABELS]
    sk = joblib.load(logged["base"] / "model.joblib")
    assert list(got["label"]) == list(sk.predict(texts))
    proba = sk.predict_proba(texts)
    for j, c in enumerate(sk.classes_):
        np.testing.assert_allclose(got[str(c)].to_numpy(), proba[:, j])
    schema = model.metadata.get_input_schema()
    assert schema.input_names() == ["text"] and schema.input_types()[0].name == "string"
    assert model.metadata.get_output_schema().input_names() == ["label", *LABELS]
    mlmodel = model.metadata.to_dict()
    assert set(mlmodel["flavors"]) == {"python_function"}          # no pickled wrapper, no sklearn pickle
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    assert model.metadata.saved_input_example_info is not None
    # the wrapper is the model directory's own copy of the code; the default model's classes
    # (static block, average, calibrated scores) come from this package, which its requirements name
    local = Path(mlflow.artifacts.download_artifacts("models:/sanctions-stance@champion"))
    assert (local / "serving.py").is_file()
    requirements = (local / "requirements.txt").read_text()
    assert "sanctions-stance==" in requirements and "tokenizers==" in requirements
    assert "torch" not in requirements
    code = ("import sys, mlflow.pyfunc, pandas as pd; "
            f"m = mlflow.pyfunc.load_model({str(local)!r}); "
            "print(m.predict(pd.DataFrame({'text': ['Lift the sanctions now.']})).to_json(orient='records'))")
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true")
    env.pop("PYTHONPATH", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=logged["base"],
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1])[0]["label"] == got["label"].iloc[-1]
