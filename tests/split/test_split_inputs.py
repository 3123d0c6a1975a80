"""`stance split` and odd things in data/raw: symlinks out of the folder, FIFOs, a full disk."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import cli

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = "# title: A test article\n\nThe Council voted to tighten the sanctions on Monday.\n"


def _project(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "good.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "params.yaml").write_text("split:\n  on_bad_file: fail\n", encoding="utf-8")
    return raw


def _argv(tmp_path: Path, *extra: str) -> list[str]:
    out = tmp_path / "out"
    return ["split", "--raw", str(tmp_path / "raw"), "--sentences", str(out / "sentences.csv"),
            "--articles", str(out / "articles.csv"), "--report", str(out / "report.csv"),
            "--params", str(tmp_path / "params.yaml"), *extra]


def test_symlink_to_a_file_outside_the_raw_folder_is_refused(tmp_path, capsys):
    raw = _project(tmp_path)
    secret = tmp_path / "private" / "notes.txt"
    secret.parent.mkdir()
    secret.write_text("Private line that must never reach a git-tracked report about sanctions.\n")
    (raw / "leak.txt").symlink_to(secret)
    assert cli.main(_argv(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "leak.txt: symbolic link to a file outside" in err
    assert not (tmp_path / "out").exists()


def test_symlink_outside_is_skipped_with_a_report_row(tmp_path, capsys):
    raw = _project(tmp_path)
    secret = tmp_path / "notes.txt"
    secret.write_text("Private line that must never reach a git-tracked report about sanctions.\n")
    (raw / "leak.txt").symlink_to(secret)
    (raw / "alias.txt").symlink_to(raw / "good.txt")  # inside the folder: fine
    assert cli.main(_argv(tmp_path, "--skip-bad")) == 0
    err = capsys.readouterr().err
    assert "warning: skipping" in err and "leak.txt: symbolic link to a file outside" in err
    report = (tmp_path / "out" / "report.csv").read_text()
    assert "leak,bad_file,1," in report and "Private line" not in report and str(tmp_path) not in report
    sentences = (tmp_path / "out" / "sentences.csv").read_text()
    assert "Private line" not in sentences and "alias," in sentences


@pytest.mark.parametrize("skip", [False, True])
def test_a_fifo_never_hangs_the_split(tmp_path, skip):
    raw = _project(tmp_path)
    os.mkfifo(raw / "pipe.txt")
    (raw / "folder.txt").mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", *_argv(tmp_path, *(["--skip-bad"] if skip else []))],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert "Traceback" not in proc.stderr
    if skip:
        assert proc.returncode == 0, proc.stderr
        assert "pipe.txt: a named pipe (FIFO), not a regular file" in proc.stderr
        assert "folder.txt: a directory, not a regular file" in proc.stderr
        report = (tmp_path / "out" / "report.csv").read_text()
        assert "pipe,bad_file" in report and "folder,bad_file" in report
    else:
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1
        assert "folder.txt: a directory, not a regular file" in proc.stderr   # the first in name order


def test_full_disk_during_split_keeps_old_outputs(tmp_path, capsys, monkeypatch):
    _project(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "sentences.csv").write_text("previous\n")

    def enospc(_fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", enospc)
    assert cli.main(_argv(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sentences.csv: cannot write it (No space left on device)" in err
    assert (out / "sentences.csv").read_text() == "previous\n"
    assert sorted(p.name for p in out.iterdir()) == ["sentences.csv"]
