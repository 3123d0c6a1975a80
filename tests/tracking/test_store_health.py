"""A damaged, garbage or locked SQLite store (mlflow.db) is one line and exit 2 in `stance
check-store` (so `dvc repro` stops), `stance evaluate` (before any work) and `stance promote`."""

from __future__ import annotations

import json
import sqlite3

import pytest

from pipeline.cli import main
from pipeline.tracking.uri import sqlite_problem

try:
    from trainkit import killed_mlflow_run, small_params, write_dataset, write_params
except ImportError:  # tests/ imported as a package
    from tests.trainkit import killed_mlflow_run, small_params, write_dataset, write_params


def _sound(db):
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE runs (run_uuid TEXT PRIMARY KEY, status TEXT)")
    con.executemany("INSERT INTO runs VALUES (?, ?)", [(f"{i:032x}", "FINISHED" * 20) for i in range(3000)])
    con.commit()
    con.close()
    return db


def _garbage(db):
    db.write_bytes(b"this is not a database\n" * 100)
    return db


def _truncated(db):
    data = _sound(db).read_bytes()
    db.write_bytes(data[: len(data) // 2])
    return db


@pytest.mark.parametrize("make,words", [(_garbage, "not a usable SQLite database"),
                                        (_truncated, "SQLite database")])
def test_sqlite_problem_names_a_broken_store(tmp_path, make, words):
    assert sqlite_problem(tmp_path / "absent.db") is None          # MLflow creates it
    assert sqlite_problem(_sound(tmp_path / "sound.db")) is None
    problem = sqlite_problem(make(tmp_path / "mlflow.db"))
    assert problem and words in problem and "\n" not in problem


def test_sqlite_problem_locked(tmp_path):
    db = _sound(tmp_path / "mlflow.db")
    holder = sqlite3.connect(db, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        problem = sqlite_problem(db, timeout=0.2)
    finally:
        holder.rollback()
        holder.close()
    assert problem and "locked by another process" in problem
    assert sqlite_problem(db, timeout=0.2) is None


def _record(tmp_path):
    (tmp_path / "models").mkdir()
    record = tmp_path / "models" / "mlflow.json"
    record.write_text(json.dumps({"logged": True, "model_sha256": "ab" * 32, "experiment": "sanctions-stance",
                                  "registered_model": "sanctions-stance", "alias": "champion"}))
    return record


@pytest.mark.parametrize("make", [_garbage, _truncated])
def test_check_store_fails_on_a_broken_store(tmp_path, capsys, make):
    db = make(tmp_path / "mlflow.db")
    before = db.read_bytes()
    record = _record(tmp_path)
    code = main(["check-store", "--record", str(record), "--out", str(tmp_path / "models" / "store.json"),
                 "--tracking-uri", f"sqlite:///{db}"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"MLflow tracking store {db}:" in err
    assert db.read_bytes() == before and record.exists()  # nothing changed
    assert not (tmp_path / "models" / "store.json").exists()  # the stage failed: evaluate does not run


def test_evaluate_and_promote_fail_fast_on_a_locked_or_broken_store(tmp_path, capsys):
    dataset = write_dataset(tmp_path / "dataset.csv")
    params = small_params()
    params["mlflow"]["connect_timeout"] = 0.3
    params_path = write_params(tmp_path / "params.yaml", params)
    db = _garbage(tmp_path / "mlflow.db")
    code = main(["evaluate", "--params", str(params_path), "--dataset", str(dataset),
                 "--model", str(tmp_path / "model-not-needed.joblib"), "--metrics", str(tmp_path / "m.json"),
                 "--tracking-uri", f"sqlite:///{db}"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "not a usable SQLite database" in err
    assert not (tmp_path / "m.json").exists()  # before the cross-validation
    assert main(["promote", "1", "--params", str(params_path), "--tracking-uri", f"sqlite:///{db}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "not a usable SQLite database" in err

    db.unlink()
    _sound(db)
    holder = sqlite3.connect(db, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert main(["promote", "1", "--params", str(params_path), "--tracking-uri", f"sqlite:///{db}"]) == 2
    finally:
        holder.rollback()
        holder.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "locked by another process" in err


def test_failure_reason_is_the_innermost_cause():
    from pipeline.tracking.store import failure_reason

    try:
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.OperationalError as inner:
            raise RuntimeError("(raised as a result of Query-invoked autoflush; consider ...)\n[SQL: INSERT]") \
                from inner
    except RuntimeError as exc:
        assert failure_reason(exc) == "database or disk is full"
    assert failure_reason(OSError(28, "No space left on device", "/x/model.skops")) == \
        "No space left on device (/x/model.skops)"


def test_disk_full_while_logging_is_one_line_and_the_run_failed(tmp_path, capsys, monkeypatch):
    """ENOSPC while MLflow copies an artifact: one line naming it, the run marked FAILED."""
    import errno
    import os

    import mlflow
    from mlflow.tracking import MlflowClient

    dataset = write_dataset(tmp_path / "dataset.csv")
    params_path = write_params(tmp_path / "params.yaml", small_params())
    common = ["--params", str(params_path), "--dataset", str(dataset), "--model", str(tmp_path / "model.joblib")]
    assert main(["train", *common, "--report", str(tmp_path / "train.json")]) == 0
    uri = f"sqlite:///{tmp_path}/mlflow.db"

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "mlartifacts" / "m.json"))

    monkeypatch.setattr(mlflow, "log_artifact", full)
    capsys.readouterr()
    code = main(["evaluate", *common, "--train-report", str(tmp_path / "train.json"),
                 "--metrics", str(tmp_path / "m.json"), "--plots", str(tmp_path / "plots"),
                 "--misclassified", str(tmp_path / "mis.csv"), "--classification-report", str(tmp_path / "cr.txt"),
                 "--tracking-uri", uri])
    err = capsys.readouterr().err
    last = err.splitlines()[-1]
    assert code == 2 and "Traceback" not in err
    assert last.startswith(f"stance evaluate: error: MLflow tracking store {uri}: No space left on device")
    assert "marked FAILED" in last
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("sanctions-stance")
    assert [r.info.status for r in client.search_runs([exp.experiment_id])] == ["FAILED"]
    assert not (tmp_path / "models" / "mlflow.json").exists()


def test_check_store_closes_a_killed_run_and_promote_refuses_an_incomplete_version(tmp_path, capsys):
    """kill -9 during logging leaves a RUNNING run and perhaps a version without tags: the next
    check-store (every dvc repro) marks the run KILLED, and promote refuses the version."""

    from mlflow.tracking import MlflowClient

    from pipeline.tracking.runs import ensure_experiment

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = ensure_experiment(client, "sanctions-stance", uri)
    dead = killed_mlflow_run(uri, exp, register=True, version=True)
    assert client.get_run(dead).info.status == "RUNNING"

    params_path = write_params(tmp_path / "params.yaml", small_params())
    assert main(["promote", "1", "--params", str(params_path), "--tracking-uri", uri]) == 2
    last = capsys.readouterr().err.splitlines()[-1]  # (after MLflow's own INFO lines on a first connection)
    assert last.startswith("stance promote: error: ") and "sanctions-stance version 1 is incomplete (no " \
        "model_sha256, evaluation_key, champion_reason tags)" in last

    (tmp_path / "models").mkdir()
    assert main(["check-store", "--record", str(tmp_path / "models" / "mlflow.json"),
                 "--out", str(tmp_path / "models" / "store.json"), "--tracking-uri", uri]) == 0
    assert f"MLflow run {dead} was left RUNNING by process" in capsys.readouterr().err
    assert client.get_run(dead).info.status == "KILLED"


def test_check_store_tags_a_version_created_just_before_a_kill(tmp_path, capsys):
    """A version registered just before kill -9 (no tags, its run left RUNNING) is tagged
    `incomplete` by the next check-store, with one line saying so; a version whose run is still
    RUNNING in a live process is left alone; a second check says nothing."""

    from mlflow.tracking import MlflowClient

    from pipeline.tracking.runs import ensure_experiment
    from pipeline.tracking.store import owner_tags

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = ensure_experiment(client, "sanctions-stance", uri)
    client.create_registered_model("sanctions-stance")
    killed_mlflow_run(uri, exp, version=True)
    live = client.create_run(exp, tags=owner_tags())  # this process: alive, still logging
    client.create_model_version("sanctions-stance", "file:///nowhere", run_id=live.info.run_id)

    (tmp_path / "models").mkdir()
    args = ["check-store", "--record", str(tmp_path / "models" / "mlflow.json"),
            "--out", str(tmp_path / "models" / "store.json"), "--tracking-uri", uri]
    capsys.readouterr()
    assert main(args) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "is incomplete" in line]
    assert lines == ["stance check-store: MLflow model sanctions-stance version 1 is incomplete (no model_sha256, "
                     "evaluation_key, champion_reason tags; its evaluate did not finish): tagged incomplete, "
                     "`stance promote` refuses it"]
    assert client.get_model_version("sanctions-stance", "1").tags["incomplete"].startswith("no model_sha256")
    assert "incomplete" not in client.get_model_version("sanctions-stance", "2").tags
    assert main(args) == 0
    assert "is incomplete" not in capsys.readouterr().err
    client.set_terminated(live.info.run_id)


def test_copied_checkout_store_is_refused(tmp_path, capsys):
    """A mlflow.db copied with a checkout still points at the original's artifact folder: refused."""
    import shutil

    from mlflow.tracking import MlflowClient

    from pipeline.tracking.runs import ensure_experiment
    from pipeline.tracking.uri import foreign_artifacts

    original, copy = tmp_path / "original", tmp_path / "copy"
    original.mkdir()
    uri = f"sqlite:///{original}/mlflow.db"
    ensure_experiment(MlflowClient(tracking_uri=uri, registry_uri=uri), "sanctions-stance", uri)
    assert foreign_artifacts(original / "mlflow.db") is None
    shutil.copytree(original, copy)
    problem = foreign_artifacts(copy / "mlflow.db")
    assert problem and f"keeps its artifacts in {original}" in problem and "copied from another checkout" in problem
    (copy / "models").mkdir()
    capsys.readouterr()
    assert main(["check-store", "--record", str(copy / "models" / "mlflow.json"),
                 "--out", str(copy / "models" / "store.json"), "--tracking-uri", f"sqlite:///{copy}/mlflow.db"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "copied from another checkout" in err
    params_path = write_params(tmp_path / "params.yaml", small_params())
    assert main(["promote", "1", "--params", str(params_path), "--tracking-uri", f"sqlite:///{copy}/mlflow.db"]) == 2
    assert "copied from another checkout" in capsys.readouterr().err


@pytest.mark.slow
def test_alias_decision_waits_for_a_concurrent_evaluate(tmp_path):
    """While another evaluate holds the alias lock, an evaluate finishes its cross-validation but
    registers nothing; it decides once the lock is free (so two never both take @champion)."""
    import os
    import subprocess
    import sys
    import time

    from pipeline.tracking.store import alias_lock

    dataset = write_dataset(tmp_path / "dataset.csv")
    params_path = write_params(tmp_path / "params.yaml", small_params())
    common = ["--params", str(params_path), "--dataset", str(dataset), "--model", str(tmp_path / "model.joblib")]
    assert main(["train", *common, "--report", str(tmp_path / "train.json")]) == 0
    uri = f"sqlite:///{tmp_path}/mlflow.db"

    def versions() -> int:
        try:
            con = sqlite3.connect(f"file:{tmp_path / 'mlflow.db'}?mode=ro", uri=True)
            try:
                return con.execute("SELECT count(*) FROM model_versions").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return 0

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING", "DVC_"))}
    cmd = [sys.executable, "-m", "pipeline.cli", "evaluate", *common, "--train-report", str(tmp_path / "train.json"),
           "--metrics", str(tmp_path / "m.json"), "--plots", str(tmp_path / "plots"), "--misclassified",
           str(tmp_path / "mis.csv"), "--classification-report", str(tmp_path / "cr.txt"), "--tracking-uri", uri]
    from mlflow.tracking import MlflowClient

    from pipeline.tracking.runs import ensure_experiment

    ensure_experiment(MlflowClient(tracking_uri=uri, registry_uri=uri), "sanctions-stance", uri)  # tables made
    with alias_lock(uri):
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        seen = []
        while not any("nested-CV macro-F1" in line for line in seen):
            line = proc.stderr.readline()
            assert line, "".join(seen)
            seen.append(line)
        deadline = time.monotonic() + 30  # unlocked, the version is registered within about 10 s
        while time.monotonic() < deadline:
            assert proc.poll() is None and versions() == 0
            time.sleep(0.5)
    rest = proc.stderr.read()
    assert proc.wait(timeout=300) == 0, rest
    proc.stderr.close()
    assert versions() == 1 and "version 1 is @champion (no version had @champion)" in rest
