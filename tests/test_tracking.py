"""Tests of MLflow tracking: store location, fail-fast checks, the logged run, the registry alias
and the pyfunc round trip. Every MLflow store here is a temporary SQLite file."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pipeline import LABELS
from pipeline.cli import main
from pipeline.config import StanceError, repo_root

try:
    from test_train import ARTICLES, small_params, write_dataset, write_params
except ImportError:  # tests/ imported as a package
    from tests.test_train import ARTICLES, small_params, write_dataset, write_params


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- store & checks

def test_tracking_uri_precedence(tmp_path, monkeypatch):
    from pipeline.tracking import resolve_tracking_uri

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri(None, tmp_path) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert resolve_tracking_uri(None, tmp_path) == "http://127.0.0.1:5000"
    assert resolve_tracking_uri("sqlite:////x/y.db", tmp_path) == "sqlite:////x/y.db"


def test_store_is_anchored_at_dvc_root(tmp_path, monkeypatch):
    from pipeline.tracking import artifact_location, resolve_tracking_uri

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
    from pipeline.tracking import check_tracking_uri

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
    from pipeline.tracking import check_tracking_uri

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
    from pipeline.tracking import flatten, metric_items

    metrics = {"model": {"macro_f1": {"value": 0.5, "ci_low": 0.4, "ci_high": 0.6},
                         "per_class": {"support": {"f1": {"value": 0.7, "ci_low": 0.1, "ci_high": 0.9}}}},
               "cv": {"n_splits": 5, "name": "x", "flag": True}}
    assert metric_items(metrics) == {"model.macro_f1": 0.5, "model.macro_f1.ci_low": 0.4, "model.macro_f1.ci_high": 0.6,
                                     "model.per_class.support.f1": 0.7, "model.per_class.support.f1.ci_low": 0.1,
                                     "model.per_class.support.f1.ci_high": 0.9, "cv.n_splits": 5.0}
    assert flatten({"a": {"b": [1, 2]}, "c": None}) == {"a.b": [1, 2], "c": None}


def test_git_commit_outside_a_repo(tmp_path):
    from pipeline.tracking import git_commit

    assert git_commit(tmp_path) == ("unknown", "unknown")


def test_skops_types_are_checked():
    import functools
    import json as jsonmod

    from sklearn.preprocessing import FunctionTransformer

    from pipeline.tracking import skops_trusted_types

    with pytest.raises(StanceError, match="not allowed"):
        skops_trusted_types(FunctionTransformer(functools.partial(jsonmod.dumps)))


def test_importing_stage_modules_does_not_import_mlflow():
    code = ("import sys, pipeline.tracking, pipeline.evaluate, pipeline.train, pipeline.features; "
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
    from pipeline.tracking import flatten

    run = logged["runs"][0]
    params = run.data.params
    assert set(flatten(logged["params"])) <= set(params)
    assert params["train.classifier"] == "logreg"
    assert params["evaluate.bootstrap"] == "200"
    assert params["mlflow.alias"] == "champion"
    assert json.loads(params["train.features.cues.words"])[:3] == ["oppose", "reject", "veto"]
    assert params["selected.C"] == "1.0"


@pytest.mark.slow
def test_run_metrics_include_baselines_cis_and_folds(logged):
    run, client = logged["runs"][0], logged["client"]
    m, metrics = run.data.metrics, logged["metrics"]
    for system in ("model", "majority", "lexicon"):
        for name in ("macro_f1", "f_avg", "accuracy"):
            assert m[f"{system}.{name}"] == pytest.approx(metrics[system][name]["value"])
            assert m[f"{system}.{name}.ci_low"] == pytest.approx(metrics[system][name]["ci_low"])
            assert m[f"{system}.{name}.ci_high"] == pytest.approx(metrics[system][name]["ci_high"])
        for label in LABELS:
            assert f"{system}.per_class.{label}.recall" in m
    assert m["comparison.model_minus_lexicon.macro_f1"] == pytest.approx(
        metrics["comparison"]["model_minus_lexicon"]["macro_f1"]["value"])
    n_seeds, n_splits = len(logged["params"]["evaluate"]["seeds"]), metrics["cv"]["n_splits"]
    for system in ("model", "majority", "lexicon"):
        history = client.get_metric_history(run.info.run_id, f"{system}.fold_macro_f1")
        assert sorted(h.step for h in history) == list(range(n_seeds * n_splits))
    selection = client.get_metric_history(run.info.run_id, "selection.fold_macro_f1")
    assert len(selection) == 5


@pytest.mark.slow
def test_run_tags(logged):
    first, second = logged["runs"]
    tags = first.data.tags
    assert tags["data_sha256"] == hashlib.sha256(logged["dataset"].read_bytes()).hexdigest()
    assert tags["model_sha256"] == hashlib.sha256((logged["base"] / "model.joblib").read_bytes()).hexdigest()
    assert tags["dvc_exp_name"] == "fixture-exp" and first.info.run_name == "fixture-exp"
    assert "dvc_exp_name" not in second.data.tags
    head = subprocess.run(["git", "-C", str(repo_root()), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert tags["git_commit"] == (head.stdout.strip() if head.returncode == 0 else "unknown")
    assert tags["git_dirty"] in ("true", "false", "unknown")
    assert tags["classifier"] == "logreg"


@pytest.mark.slow
def test_run_artifacts(logged):
    client, run = logged["client"], logged["runs"][0]
    listed = {a.path for a in client.list_artifacts(run.info.run_id, "reports")}
    assert listed == {"reports/metrics.json", "reports/classification_report.txt", "reports/misclassified.csv",
                      "reports/train.json"}
    assert {a.path for a in client.list_artifacts(run.info.run_id, "plots")} == {
        "plots/confusion_matrix.png", "plots/learning_curve.png", "plots/learning_curve.json"}
    assert {a.path for a in client.list_artifacts(run.info.run_id, "params")} == {"params/params.yaml"}
    local = client.download_artifacts(run.info.run_id, "reports/metrics.json", str(logged["base"] / "dl"))
    assert json.loads(Path(local).read_text()) == logged["metrics"]


@pytest.mark.slow
def test_model_registered_and_champion_alias_moves(logged):
    client = logged["client"]
    versions = client.search_model_versions("name='sanctions-stance'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    champion = client.get_model_version_by_alias("sanctions-stance", "champion")
    assert str(champion.version) == "2"
    assert champion.run_id == logged["runs"][1].info.run_id
    assert champion.tags["run_id"] == logged["runs"][1].info.run_id


@pytest.mark.slow
def test_pyfunc_round_trip(logged):
    import joblib
    import pandas as pd

    mlflow = logged["mlflow"]
    mlflow.set_tracking_uri(logged["uri"])
    mlflow.set_registry_uri(logged["uri"])
    texts = [t for rows in ARTICLES.values() for t, _ in rows][:10] + ["Lift the sanctions now."]
    model = mlflow.pyfunc.load_model("models:/sanctions-stance@champion")
    got = list(model.predict(pd.DataFrame({"text": texts})))
    assert set(got) <= set(LABELS) and len(got) == len(texts)
    assert got == list(joblib.load(logged["base"] / "model.joblib").predict(texts))
    schema = model.metadata.get_input_schema()
    assert schema.input_names() == ["text"] and schema.input_types()[0].name == "string"
    mlmodel = model.metadata.to_dict()
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == "skops"
    assert model.metadata.saved_input_example_info is not None
