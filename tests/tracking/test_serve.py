"""REST serving of the registered model with `mlflow models serve` (slow: starts a server).

A fixture model (trained on the hand-written fixture of test_train.py) is logged and registered
as ``sanctions-stance@champion`` in a temporary SQLite store; the server runs on a free loopback
port with that store and telemetry off, and is always stopped.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from pipeline import LABELS

try:
    from trainkit import ARTICLES, small_params
except ImportError:  # tests/ imported as a package
    from tests.trainkit import ARTICLES, small_params

STARTUP_LIMIT_S = 180  # bound on waiting for /ping (not a speed assertion)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def register_fixture_model(tmp_path, uri: str):
    import mlflow
    from mlflow.tracking import MlflowClient

    from pipeline.model.files import save_model
    from pipeline.tracking.registry import log_registered_model
    from pipeline.tracking.runs import ensure_experiment
    from pipeline.train.stage import fit_final

    texts = [t for rows in ARTICLES.values() for t, _ in rows]
    labels = [lab for rows in ARTICLES.values() for _, lab in rows]
    model_path = tmp_path / "model.joblib"
    model = fit_final(texts, labels, small_params()["train"])
    save_model(model, model_path)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    with mlflow.start_run(experiment_id=ensure_experiment(client, "sanctions-stance", uri)):
        log_registered_model(model, "sanctions-stance", client, alias="champion")
    return model_path


def stop(proc: subprocess.Popen) -> None:
    """Stop the server and the workers it started (its own process group), politely first."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.mark.slow
def test_mlflow_models_serve_answers_with_labels_and_scores(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    uri = f"sqlite:///{store}/mlflow.db"
    model_path = register_fixture_model(tmp_path, uri)

    port = free_port()
    # mlflow execs `uvicorn` through PATH: put this interpreter's bin directory first.
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri, MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="1",
               PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/sanctions-stance@champion",
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text(errors="replace")[-3000:]
            try:
                with urllib.request.urlopen(f"{base}/ping", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert time.monotonic() < deadline, "server did not answer /ping in time"
            time.sleep(0.5)

        texts = ["The Council must tighten the sanctions on the DPRK.", "Russia called for lifting the sanctions.",
                 "The meeting was held in New York."]
        body = json.dumps({"dataframe_records": [{"text": t} for t in texts]}).encode()
        request = urllib.request.Request(f"{base}/invocations", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as resp:
            assert resp.status == 200
            answer = json.loads(resp.read())
        (tmp_path / "answer.json").write_text(json.dumps(answer, indent=1))  # kept for the README example
        predictions = answer["predictions"]
        assert len(predictions) == len(texts)
        import joblib

        model = joblib.load(model_path)
        proba = model.predict_proba(texts)
        expected_labels = list(model.predict(texts))
        for row, text, label, p in zip(predictions, texts, expected_labels, proba):
            assert list(row) == ["label", *LABELS], row      # label, then the three class scores
            assert row["label"] == label, text
            scores = {str(c): float(v) for c, v in zip(model.classes_, p)}
            for c in LABELS:
                assert row[c] == pytest.approx(scores[c], abs=1e-9)
            assert row["label"] == max(LABELS, key=lambda c: row[c])
            assert sum(row[c] for c in LABELS) == pytest.approx(1.0)
        # bad texts and over-long requests: 400 with a clear message, never a confident label
        for value in (None, 3, True, ["a"], {"a": 1}, "", "x" * 100_001):
            body = json.dumps({"dataframe_records": [{"text": value}]}).encode()
            request = urllib.request.Request(f"{base}/invocations", data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            with pytest.raises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(request, timeout=60)
            assert caught.value.code == 400, value
            message = json.loads(caught.value.read()).get("message", "")
            assert "text" in message or "max_chars" in message, message

        bad = urllib.request.Request(f"{base}/invocations", data=b'{"dataframe_records": [{"txt": "x"}]}',
                                     method="POST", headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(bad, timeout=60)
        assert info.value.code == 400  # schema enforcement: the column must be called `text`
    finally:
        stop(proc)
        log.close()
    assert proc.poll() is not None
