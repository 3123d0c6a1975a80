"""`stance analyze --jobs`: no more workers than the work, a one-line error for absurd values,
and workers that die with the main process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from analyzekit import ARTICLES, make_params

from pipeline.cli import main


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(pid) and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def _jsonl(path: Path, n: int) -> Path:
    texts = [t for _d, _s, t in ARTICLES.values()]
    path.write_text("".join(json.dumps({"article_id": f"a{i}", "text": texts[i % len(texts)]}) + "\n"
                            for i in range(n)), encoding="utf-8")
    return path


def test_jobs_capped_at_the_work(tmp_path, monkeypatch, tiny_model_path, capsys):
    """--jobs 64 for two articles starts no pool at all (one batch of work)."""
    import concurrent.futures

    monkeypatch.chdir(tmp_path)
    started = []
    real = concurrent.futures.ProcessPoolExecutor

    def spy(n, *args, **kwargs):
        started.append(n)
        return real(n, *args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", spy)
    args = ["analyze", "-o", str(tmp_path / "out"), "--no-progress", "--model", str(tiny_model_path),
            "--params", str(make_params(tmp_path / "params.yaml")), "--jobs", "64"]
    assert main([*args, "-i", str(_jsonl(tmp_path / "two.jsonl", 2))]) == 0
    assert started == []  # 2 articles = 1 batch: scored in this process
    assert main([*args, "-i", str(_jsonl(tmp_path / "many.jsonl", 100)), "--jobs", "64"]) == 0
    assert started == [4]  # 100 articles = 4 batches of 32: 4 workers, not 64


@pytest.mark.parametrize("jobs", ["99999999999999999999", "5000"])
def test_absurd_jobs_is_one_line(tmp_path, monkeypatch, tiny_model_path, capsys, jobs):
    monkeypatch.chdir(tmp_path)
    rc = main(["analyze", "-i", str(_jsonl(tmp_path / "in.jsonl", 2)), "-o", str(tmp_path / "out"), "--no-progress",
               "--model", str(tiny_model_path), "--params", str(make_params(tmp_path / "params.yaml")),
               "--jobs", jobs])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err and "at most 1024 worker processes" in err


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_workers_die_with_the_main_process(tmp_path, tiny_model_path):
    src = _jsonl(tmp_path / "big.jsonl", 3000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVC_")}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "analyze", "-i", str(src), "-o",
                             str(tmp_path / "out"), "--no-progress", "--jobs", "2", "--model", str(tiny_model_path),
                             "--params", str(make_params(tmp_path / "params.yaml"))],
                            cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2 and proc.poll() is None:
        workers = _children(proc.pid)
        time.sleep(0.1)
    assert len(workers) >= 2, "the workers did not start"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.1)
    alive = [w for w in workers if Path(f"/proc/{w}").exists()]
    for w in alive:  # do not leave them behind if the test fails
        os.kill(w, signal.SIGKILL)
    assert alive == []
