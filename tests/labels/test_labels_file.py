"""The labels file as a shared, precious file: concurrent writers, symlinks, modes, line endings, full disk."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from labelkit import HEADER, rows, write

from pipeline.cli import main
from pipeline.labels.file import labels_lock, read_labels

N_PER_WRITER = 100


def _sentences(path: Path, n: int) -> Path:
    lines = ["sentence_id,article_id,position,paragraph,start,end,text"]
    lines += [f"s{i:04d},art,{i},0,0,10,Sentence number {i} about sanctions." for i in range(n)]
    return write(path, "\n".join(lines) + "\n")


def _set(project: Path, labels: Path, sid: str, label: str = "neutral") -> list[str]:
    return ["label", "--sentences", str(project / "sentences.csv"), "--labels", str(labels), "--set", sid, label]


# --------------------------------------------------------------------------- item 1: concurrent writers

WRITER = textwrap.dedent("""
    import sys
    from pipeline.cli import main
    sentences, labels, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    for i in range(first, first + count):
        code = main(["label", "--sentences", sentences, "--labels", labels, "--set", f"s{i:04d}",
                     ("support", "oppose", "neutral")[i % 3]])
        assert code == 0, code
""")


def test_two_concurrent_writers_lose_no_answer(tmp_path):
    """Two processes x 100 `label --set` answers on one file: every acknowledged answer is there."""
    _sentences(tmp_path / "sentences.csv", 2 * N_PER_WRITER)
    labels = write(tmp_path / "labels.csv", HEADER)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "sentences.csv"), str(labels),
                               str(k * N_PER_WRITER), str(N_PER_WRITER)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
             for k in range(2)]
    for p in procs:
        _out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()
    got = {r[0]: r[1] for r in rows(labels)[1:]}
    want = {f"s{i:04d}": ("support", "oppose", "neutral")[i % 3] for i in range(2 * N_PER_WRITER)}
    assert got == want


def test_a_second_writer_waits_then_gives_up_with_one_line(tmp_path, capsys, monkeypatch):
    _sentences(tmp_path / "sentences.csv", 3)
    labels = write(tmp_path / "labels.csv", HEADER)
    monkeypatch.setenv("STANCE_LOCK_TIMEOUT", "0.3")
    with labels_lock(labels) as lock_path:
        assert lock_path == tmp_path / "labels.csv.lock"
        assert main(_set(tmp_path, labels, "s0000")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another stance command is still writing this file" in err
    assert labels.read_text() == HEADER                          # nothing written while locked
    assert main(_set(tmp_path, labels, "s0000")) == 0            # lock released: saved
    assert rows(labels)[1][:2] == ["s0000", "neutral"]


def test_import_labels_takes_the_same_lock(tmp_path, capsys, monkeypatch):
    import json

    _sentences(tmp_path / "sentences.csv", 2)
    labels = write(tmp_path / "labels.csv", HEADER)
    export = tmp_path / "export.json"
    data = {"sentence_id": "s0001", "text": "Sentence number 1 about sanctions."}
    export.write_text(json.dumps([{"id": 1, "data": data,
                                   "annotations": [{"result": [{"from_name": "stance", "type": "choices",
                                                                "value": {"choices": ["oppose"]}}]}]}]))
    monkeypatch.setenv("STANCE_LOCK_TIMEOUT", "0.2")
    argv = ["import-labels", str(export), "--labels", str(labels), "--sentences", str(tmp_path / "sentences.csv")]
    with labels_lock(labels):
        assert main(argv) == 2
    assert "still writing" in capsys.readouterr().err
    assert main(argv) == 0
    assert rows(labels)[1][:2] == ["s0001", "oppose"]


# --------------------------------------------------------------------------- item 10: symlink, mode, CRLF, BOM

def test_a_symlinked_labels_file_is_written_through_the_link(tmp_path):
    _sentences(tmp_path / "sentences.csv", 2)
    real = write(tmp_path / "elsewhere" / "labels.csv", HEADER)
    link = tmp_path / "labels.csv"
    link.symlink_to(real)
    assert main(_set(tmp_path, link, "s0001", "support")) == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert rows(real)[1][:2] == ["s0001", "support"]
    assert not list(tmp_path.glob(".labels.csv.*.tmp")) and not list(real.parent.glob(".*.tmp"))


def test_file_mode_is_kept(tmp_path):
    _sentences(tmp_path / "sentences.csv", 2)
    labels = write(tmp_path / "labels.csv", HEADER)
    labels.chmod(0o664)
    assert main(_set(tmp_path, labels, "s0000")) == 0
    assert stat.S_IMODE(labels.stat().st_mode) == 0o664


def test_a_read_only_labels_file_is_refused(tmp_path, capsys):
    _sentences(tmp_path / "sentences.csv", 2)
    labels = write(tmp_path / "labels.csv", HEADER)
    labels.chmod(0o444)
    assert main(_set(tmp_path, labels, "s0000")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "labels.csv: file is read-only" in err
    assert labels.read_text() == HEADER and stat.S_IMODE(labels.stat().st_mode) == 0o444


@pytest.mark.parametrize("bom,eol", [(b"", b"\r\n"), (b"\xef\xbb\xbf", b"\n"), (b"\xef\xbb\xbf", b"\r\n")])
def test_line_endings_and_bom_are_kept(tmp_path, bom, eol):
    _sentences(tmp_path / "sentences.csv", 3)
    body = [b"sentence_id,label,text,note", b"s0000,support,Sentence number 0 about sanctions.,",
            b"s0001,oppose,Sentence number 1 about sanctions.,kept"]
    labels = write(tmp_path / "labels.csv", bom + eol.join(body) + eol)
    assert main(_set(tmp_path, labels, "s0002", "neutral")) == 0
    assert main(_set(tmp_path, labels, "s0000", "oppose")) == 0
    body[1] = body[1].replace(b"support", b"oppose")
    body.append(b"s0002,neutral,Sentence number 2 about sanctions.,")
    assert labels.read_bytes() == bom + eol.join(body) + eol   # only the changed rows differ
    assert read_labels(labels).labels() == {"s0000": "oppose", "s0001": "oppose", "s0002": "neutral"}


# --------------------------------------------------------------------------- item 5: a full disk

def _enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_on_label_set_keeps_the_old_file(tmp_path, capsys, monkeypatch):
    _sentences(tmp_path / "sentences.csv", 2)
    labels = write(tmp_path / "labels.csv", HEADER + "s0001,oppose,x,\n")
    before = labels.read_bytes()
    monkeypatch.setattr(os, "fsync", _enospc)
    assert main(_set(tmp_path, labels, "s0000")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "previous file is unchanged" in err
    assert labels.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_full_disk_in_a_label_session(tmp_path, monkeypatch):
    """The interactive labeler stops with one line, exit 2, the file as it was."""
    import io

    _sentences(tmp_path / "sentences.csv", 2)
    labels = write(tmp_path / "labels.csv", HEADER)
    monkeypatch.setattr(sys, "stdin", io.StringIO("s\ns\nq\n"))
    monkeypatch.setattr(os, "fsync", _enospc)
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    code = main(["label", "--no-model", "--sentences", str(tmp_path / "sentences.csv"), "--labels", str(labels)])
    assert code == 2
    assert err.getvalue().count("\n") == 1 and "No space left on device" in err.getvalue()
    assert labels.read_text() == HEADER


def test_full_disk_while_writing_through_the_shared_writer(tmp_path):
    """A write that fails half-way (what fh.write raises on a full disk) leaves the old file and no temp file."""
    from pipeline.core.config import StanceError
    from pipeline.core.data import atomic_open

    out = write(tmp_path / "out.txt", "old\n")
    with pytest.raises(StanceError, match="out.txt: cannot write it .No space left on device"):
        with atomic_open(out) as fh:
            fh.write("new\n" * 1000)
            _enospc()
    assert out.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]
