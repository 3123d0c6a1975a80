"""`stance serve`: the model `stance predict` uses, on 127.0.0.1, with the input checks and caps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

pytest.importorskip("mlflow")

from pipeline.core.data import LABELS  # noqa: E402
from pipeline.tracking.serve import body_limit, make_server  # noqa: E402


@pytest.fixture
def server(tiny_model):
    srv = make_server(tiny_model, 50, "127.0.0.1", 0, "tiny model")
    worker = threading.Thread(target=srv.serve_forever, daemon=True)
    worker.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _post(base, payload, raw: bytes | None = None, headers=None):
    data = raw if raw is not None else json.dumps(payload).encode()
    request = urllib.request.Request(f"{base}/invocations", data=data, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.mark.parametrize("payload", [
    {"dataframe_records": [{"text": "Lift the sanctions."}, {"text": "Tighten them."}]},
    {"dataframe_split": {"columns": ["text"], "data": [["Lift the sanctions."], ["Tighten them."]]}},
    {"inputs": ["Lift the sanctions.", "Tighten them."]},
])
def test_scores_like_mlflow_serving(server, tiny_model, payload):
    status, body = _post(server, payload)
    assert status == 200
    rows = body["predictions"]
    assert [r["label"] for r in rows] == list(tiny_model.predict(["Lift the sanctions.", "Tighten them."]))
    assert all(abs(sum(r[c] for c in LABELS) - 1) < 1e-9 for r in rows)


@pytest.mark.parametrize("value,message", [(None, "got null"), (3, "got int"), (True, "got bool"),
                                           (["a"], "got list"), ({"a": 1}, "got dict"), ("", "is empty"),
                                           ("x" * 51, "longer than 50 characters")])
def test_bad_texts_are_400(server, value, message):
    status, body = _post(server, {"dataframe_records": [{"text": value}]})
    assert status == 400 and message in body["message"]


def test_request_caps(server):
    status, body = _post(server, {"inputs": ["Lift the sanctions now."] * 3})
    assert status == 400 and "request longer than 50 characters in all" in body["message"]
    for raw in (b"{not json", b"[" * 100_000 + b"]" * 100_000):
        status, body = _post(server, None, raw=raw[: body_limit(50)])
        assert status == 400, raw[:20]
    status, body = _post(server, {"dataframe_records": [{"txt": "x"}]})
    assert status == 400 and "'text'" in body["message"]


def test_over_size_body_is_413_before_reading(server):
    """A Content-Length over the byte limit is refused from the header alone (no body sent)."""
    import http.client

    host, port = server.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.putrequest("POST", "/invocations")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(30 * 1024 * 1024))
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 413 and "over the limit" in json.loads(resp.read())["message"]
    conn.close()
    request = urllib.request.Request(f"{server}/health")
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert json.loads(resp.read()) == {"status": "ok", "model": "tiny model"}


def test_stance_serve_command_serves_predicts_default_on_loopback(tmp_path, tiny_model_path):
    """The command in a subprocess: loopback by default, the model file predict uses, caps from params."""
    import yaml

    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"predict": {"max_chars": 40}}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING", "DVC_"))}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "serve", "--model", str(tiny_model_path),
                             "--port", "0", "--params", str(tmp_path / "params.yaml")],
                            cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert "serving model file" in line and "on http://127.0.0.1:" in line and "up to 40 characters" in line
        base = line.split("on ", 1)[1].split("/invocations")[0]
        status, body = _post(base, {"inputs": ["Lift the sanctions."]})
        assert status == 200 and body["predictions"][0]["label"] in LABELS
        status, body = _post(base, {"inputs": ["x" * 41]})
        assert status == 400 and "longer than 40 characters" in body["message"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stderr.close()
