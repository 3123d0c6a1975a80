"""End to end: a clean copy of the committed tree, `git init`, `dvc repro`, then the saved model predicts.

Also checks the reproducibility promises of docs/reproducibility.md: the rebuilt dvc.lock is byte-identical
to the committed one, `dvc status` is clean afterwards and a second `dvc repro` runs no stage.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def committed_copy(root: Path, dest: Path) -> None:
    """A clean copy of what git tracks at HEAD in *root*: the committed state, as a fresh clone
    has it. Local edits and new files (an article a user added, new labels) are left out, so the
    README's example outputs are checked against the state they were written for."""
    import io
    import tarfile

    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=root, check=True,
                             capture_output=True).stdout
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env.update({
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "HOME": str(tmp / "home"),               # no user-level git/dvc config leaks in
        "GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@example.invalid",
        "GIT_COMMITTER_NAME": "e2e", "GIT_COMMITTER_EMAIL": "e2e@example.invalid",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    })
    return env


def _run(args, cwd, env, timeout=1200):
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    repo = tmp / "repo"
    committed_copy(ROOT, repo)
    (tmp / "home").mkdir()
    env = _env(tmp)
    _run(["git", "init", "-q", "-b", "main"], repo, env)
    _run(["git", "add", "-A"], repo, env)
    _run(["git", "commit", "-q", "-m", "snapshot"], repo, env)
    committed_lock = (repo / "dvc.lock").read_bytes() if (repo / "dvc.lock").exists() else None
    repro = _run([str(BIN / "dvc"), "repro"], repo, env)
    return {"repo": repo, "env": env, "committed_lock": committed_lock, "repro": repro}


def test_outputs_exist(built):
    repo = built["repo"]
    for rel in ["data/interim/sentences.csv", "data/interim/articles.csv", "data/processed/dataset.csv",
                "data/processed/queue.csv", "models/model.joblib", "reports/metrics.json",
                "reports/plots/confusion_matrix.json", "reports/plots/confusion_matrix.png",
                "reports/split_report.csv", "mlflow.db"]:
        assert (repo / rel).is_file(), rel
    metrics = json.loads((repo / "reports/metrics.json").read_text())
    assert metrics, "metrics.json is empty"


def test_saved_model_predicts(built):
    code = (
        "import joblib; m = joblib.load('models/model.joblib'); "
        "print(m.predict(['China opposes unilateral sanctions against North Korea.'])[0])"
    )
    out = _run([sys.executable, "-c", code], built["repo"], built["env"]).stdout.strip()
    assert out in {"support", "oppose", "neutral"}


def test_stance_predict_cli(built):
    out = _run([str(BIN / "stance"), "predict", "The Council voted to tighten sanctions."],
               built["repo"], built["env"]).stdout
    record = json.loads(out.splitlines()[0])
    assert record["label"] in {"support", "oppose", "neutral"}


def test_dvc_lock_is_reproduced_byte_for_byte(built):
    if built["committed_lock"] is None:
        pytest.fail("dvc.lock is not committed: run `dvc repro` and commit dvc.lock")
    assert (built["repo"] / "dvc.lock").read_bytes() == built["committed_lock"]


def _ran(proc) -> list[str]:
    import re

    return re.findall(r"Running stage '([^']+)'", proc.stdout + proc.stderr)


def test_second_repro_is_a_no_op(built):
    """Nothing is rebuilt or logged; only the cheap always-changed store check runs."""
    repo, env = built["repo"], built["env"]
    status = _run([str(BIN / "dvc"), "status"], repo, env).stdout
    assert status.split() == ["check_store:", "always", "changed"], status
    before = (repo / "mlflow.db").read_bytes()
    again = _run([str(BIN / "dvc"), "repro"], repo, env)
    assert _ran(again) == ["check_store"], again.stdout + again.stderr
    assert (repo / "dvc.lock").read_bytes() == built["committed_lock"]
    assert (repo / "mlflow.db").read_bytes() == before


def test_repro_restores_a_lost_mlflow_store(built):
    """After `rm mlflow.db`, `dvc repro` logs the run, registers the model and sets the alias again;
    dvc.lock stays byte-identical and the next `dvc repro` runs nothing but the check."""
    import sqlite3

    repo, env = built["repo"], built["env"]
    (repo / "mlflow.db").unlink()
    proc = _run([str(BIN / "dvc"), "repro"], repo, env)
    assert _ran(proc) == ["check_store", "evaluate"], proc.stdout + proc.stderr
    assert "lacks the run, the model version and the @champion alias" in proc.stderr
    con = sqlite3.connect(repo / "mlflow.db")
    try:
        runs = con.execute("SELECT run_uuid, status FROM runs").fetchall()
        versions = con.execute("SELECT version, run_id FROM model_versions WHERE name = 'sanctions-stance'").fetchall()
        aliases = con.execute("SELECT alias, version FROM registered_model_aliases").fetchall()
    finally:
        con.close()
    assert [status for _, status in runs] == ["FINISHED"]
    assert versions == [(1, runs[0][0])] and aliases == [("champion", 1)]
    assert (repo / "dvc.lock").read_bytes() == built["committed_lock"]
    again = _run([str(BIN / "dvc"), "repro"], repo, env)
    assert _ran(again) == ["check_store"], again.stdout + again.stderr


def test_broken_store_stops_repro_before_training(built):
    """With a damaged mlflow.db and a train stage to run (a changed train seed), `dvc repro` stops at
    check_store, before training: non-zero exit, the store named, the model untouched."""
    repo, env = built["repo"], built["env"]
    db, params = repo / "mlflow.db", repo / "params.yaml"
    good_db, good_params = db.read_bytes(), params.read_bytes()
    model = (repo / "models" / "model.joblib").read_bytes()
    text = good_params.decode("utf-8")
    head, tail = text.split("\ntrain:\n", 1)
    assert "\n  seed: 42\n" in tail
    try:
        db.write_bytes(b"not a database " * 200)
        params.write_text(head + "\ntrain:\n" + tail.replace("\n  seed: 42\n", "\n  seed: 43\n", 1),
                          encoding="utf-8")
        proc = subprocess.run([str(BIN / "dvc"), "repro"], cwd=repo, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode != 0, proc.stdout + proc.stderr
        assert _ran(proc)[-1:] == ["check_store"] and "train" not in _ran(proc), proc.stdout + proc.stderr
        assert "mlflow.db" in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
        assert (repo / "models" / "model.joblib").read_bytes() == model
    finally:
        db.write_bytes(good_db)
        params.write_bytes(good_params)
    again = _run([str(BIN / "dvc"), "repro"], repo, env)
    assert _ran(again) == ["check_store"], again.stdout + again.stderr


def test_metrics_show_works_after_clone(built):
    out = _run([str(BIN / "dvc"), "metrics", "show", "--json"], built["repo"], built["env"]).stdout
    assert "reports/metrics.json" in out


def test_plots_page_renders_offline(built):
    """`dvc plots show` uses the project's template: vega, vega-lite and vega-embed inlined, no CDN."""
    import re

    repo, env = built["repo"], built["env"]
    _run([str(BIN / "dvc"), "plots", "show"], repo, env)
    page = (repo / "dvc_plots" / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", page), "a script is loaded from outside the page"
    assert "cdn.jsdelivr" not in page and "cdn.plot.ly" not in page
    for name in ("vega 5.20.2", "vega-lite 5.2.0", "vega-embed 6.18.2"):
        assert f"<!-- {name} (npm)" in page, name
    assert page.count("vegaEmbed('#") >= 2          # both interactive plots are on the page
    ignored = subprocess.run(["git", "check-ignore", "-q", "dvc_plots/index.html"], cwd=repo)
    assert ignored.returncode == 0, "dvc_plots/ must be git-ignored"


def test_failed_stage_outputs_come_back(built):
    """DVC deletes a stage's outputs before running it; `dvc checkout` and `git restore reports`
    (the recovery commands of docs/pipeline.md) bring back the last good ones. Runs last: it edits the copy."""
    repo, env = built["repo"], built["env"]
    before = {rel: (repo / rel).read_bytes() for rel in
              ["data/processed/dataset.csv", "data/processed/queue.csv", "reports/dataset_report.json"]}
    labels = repo / "data/labels/labels.csv"
    good = labels.read_bytes()
    labels.write_bytes(good + b"0123456789abcdef,maybe,broken row,\n")
    proc = subprocess.run([str(BIN / "dvc"), "repro", "dataset"], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode != 0
    assert "maybe" in proc.stdout + proc.stderr
    assert not (repo / "data/processed/dataset.csv").exists()     # DVC removed it before running
    _run([str(BIN / "dvc"), "checkout"], repo, env)
    _run(["git", "restore", "reports"], repo, env)
    for rel, data in before.items():
        assert (repo / rel).read_bytes() == data, rel
    labels.write_bytes(good)


def test_readme_example_outputs_come_from_the_current_model(built):
    """The `stance predict` and REST example outputs of the documentation (README.md and docs/*.md;
    they are in docs/predict.md) are what the freshly built model says (tools/readme_examples.py
    rewrites them; this fails when they are stale)."""
    proc = subprocess.run([sys.executable, "tools/readme_examples.py", "--check"], cwd=built["repo"],
                          env=built["env"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_copy_is_the_committed_state(tmp_path):
    """A user's uncommitted article or edit does not reach the copy the README checks run on."""
    src = tmp_path / "src"
    (src / "data" / "raw").mkdir(parents=True)
    env = _env(tmp_path)
    (tmp_path / "home").mkdir()
    (src / "data" / "raw" / "a1.txt").write_text("committed\n", encoding="utf-8")
    _run(["git", "init", "-q", "-b", "main"], src, env)
    _run(["git", "add", "-A"], src, env)
    _run(["git", "commit", "-q", "-m", "one article"], src, env)
    (src / "data" / "raw" / "a1.txt").write_text("edited\n", encoding="utf-8")
    (src / "data" / "raw" / "a2.txt").write_text("a user's new article\n", encoding="utf-8")
    committed_copy(src, tmp_path / "copy")
    assert sorted(p.name for p in (tmp_path / "copy" / "data" / "raw").iterdir()) == ["a1.txt"]
    assert (tmp_path / "copy" / "data" / "raw" / "a1.txt").read_text(encoding="utf-8") == "committed\n"
