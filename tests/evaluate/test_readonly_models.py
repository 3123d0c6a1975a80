"""A models/ folder evaluate cannot write: one line and exit 2 before anything is evaluated,
registered or moved (not after the alias moved)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from pipeline.cli import main

try:
    from trainkit import small_params, write_dataset, write_params
except ImportError:  # tests/ imported as a package
    from tests.trainkit import small_params, write_dataset, write_params

SETPRIV = shutil.which("setpriv")


@pytest.mark.skipif(os.geteuid() != 0 or SETPRIV is None, reason="runs evaluate as user nobody (needs root, setpriv)")
def test_read_only_models_folder_stops_evaluate_before_registering():
    base = Path(tempfile.mkdtemp(prefix="stance-ro-"))
    try:
        os.chmod(base, 0o777)
        dataset = write_dataset(base / "dataset.csv")
        params_path = write_params(base / "params.yaml", small_params())
        models = base / "models"
        common = ["--params", str(params_path), "--dataset", str(dataset), "--model", str(models / "model.joblib")]
        assert main(["train", *common, "--report", str(base / "reports" / "train.json")]) == 0
        for folder in (base / "reports", base / "store", base / "out"):
            folder.mkdir(exist_ok=True)
            os.chmod(folder, 0o777)
        os.chmod(models, 0o555)  # nobody may read the model, not write beside it
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING", "DVC_"))}
        env["HOME"] = str(base)
        uri = f"sqlite:///{base}/store/mlflow.db"
        done = subprocess.run(
            [SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "pipeline.cli",
             "evaluate", *common, "--train-report", str(base / "reports" / "train.json"),
             "--metrics", str(base / "out" / "m.json"), "--plots", str(base / "out" / "plots"),
             "--misclassified", str(base / "out" / "mis.csv"), "--classification-report",
             str(base / "out" / "cr.txt"), "--tracking-uri", uri],
            cwd=base, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 2, done.stderr[-3000:]
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert f"{models}: cannot write in this folder (Permission denied); nothing was evaluated" in done.stderr
        assert not (base / "out" / "m.json").exists()
        db = base / "store" / "mlflow.db"
        if db.exists():
            con = sqlite3.connect(db)
            try:
                assert con.execute("SELECT count(*) FROM model_versions").fetchone()[0] == 0
            except sqlite3.OperationalError:
                pass  # no tables: nothing registered
            finally:
                con.close()
    finally:
        os.chmod(base / "models", 0o755) if (base / "models").exists() else None
        shutil.rmtree(base, ignore_errors=True)
