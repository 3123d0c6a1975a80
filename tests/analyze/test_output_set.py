"""`stance analyze` writes its outputs as one set: plain-text plot labels, and a failure, a kill or
a concurrent run never leaves a mix of old and new files."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest
from analyzekit import ARTICLES, make_params

from pipeline.analyze.stage import OUTPUTS
from pipeline.cli import main
from pipeline.core.config import StanceError
from pipeline.core.data import output_set


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_ROOT", raising=False)


def _jsonl(path, source="Wire", date="2016-03-02"):
    path.write_text("".join(json.dumps({"article_id": a, "date": date, "source": source, "text": t}) + "\n"
                            for a, (_d, _s, t) in ARTICLES.items()), encoding="utf-8")
    return path


def _run(tmp_path, src, out):
    return main(["analyze", "-i", str(src), "-o", str(out), "--no-progress", "--model",
                 str(tmp_path / "model.joblib"), "--params", str(make_params(tmp_path / "params.yaml"))])


def _snapshot(out):
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@pytest.mark.parametrize("source", ["$\\frac{a}{$", "$x$ and $$", "a_b^c $\\alpha$"])
def test_mathtext_in_a_source_name_is_plain_text(tmp_path, tiny_model_path, capsys, source):
    out = tmp_path / "out"
    assert _run(tmp_path, _jsonl(tmp_path / "in.jsonl", source=source), out) == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    assert source in (out / "trends.csv").read_text(encoding="utf-8")


def test_failure_after_some_outputs_leaves_the_old_set(tmp_path, tiny_model_path, capsys, monkeypatch):
    out = tmp_path / "out"
    assert _run(tmp_path, _jsonl(tmp_path / "in.jsonl"), out) == 0
    (out / "notes.txt").write_text("mine", encoding="utf-8")  # a file of the user's: kept
    before = _snapshot(out)
    capsys.readouterr()

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("pipeline.analyze.stage.plot_actors", disk_full)  # after 4 of 6 outputs
    assert _run(tmp_path, _jsonl(tmp_path / "in.jsonl", date="2017-05-05"), out) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "No space left on device" in err and "previous outputs are unchanged" in err and str(out) in err
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.new-")] == []

    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert _run(tmp_path, _jsonl(tmp_path / "in.jsonl", date="2017-05-05"), out) == 0
    after = _snapshot(out)
    assert after["notes.txt"] == b"mine" and all(after[n] != before[n] for n in ("trends.csv", "articles.csv"))


def test_killed_run_leaves_the_old_set_and_its_leftovers_go(tmp_path, tiny_model_path):
    out = tmp_path / "out"
    assert _run(tmp_path, _jsonl(tmp_path / "in.jsonl"), out) == 0
    before = _snapshot(out)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".out.new-{dead.pid}-x1"  # the temporary set of a run killed with -9
    stale.mkdir()
    (stale / "trends.csv").write_text("half", encoding="utf-8")
    assert _snapshot(out) == before
    assert _run(tmp_path, _jsonl(tmp_path / "in.jsonl"), out) == 0
    assert not stale.exists()


def test_output_set_swaps_whole_and_refuses_a_foreign_folder(tmp_path):
    out = tmp_path / "set"
    with output_set(out, ("a", "b")) as new:
        (new / "a").write_text("1", encoding="utf-8")
        (new / "b").write_text("1", encoding="utf-8")
    with output_set(out, ("a", "b")) as new:
        (new / "a").write_text("2", encoding="utf-8")  # b is not written this time: gone with the old set
    assert _snapshot(out) == {"a": b"2"}
    (out / "sub").mkdir()
    with pytest.raises(StanceError, match="holds the folder 'sub'"):
        with output_set(out, ("a",)) as new:
            (new / "a").write_text("3", encoding="utf-8")
    assert (out / "a").read_text(encoding="utf-8") == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]


def test_output_set_concurrent_writers_never_mix(tmp_path):
    out = tmp_path / "set"
    code = ("import sys, time\nfrom pipeline.core.data import output_set\n"
            "for i in range(30):\n"
            "    with output_set(sys.argv[1], ('a', 'b')) as new:\n"
            "        (new / 'a').write_text(sys.argv[2] + str(i))\n"
            "        time.sleep(0.002)\n"
            "        (new / 'b').write_text(sys.argv[2] + str(i))\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(out), tag]) for tag in ("x", "y")]
    while any(p.poll() is None for p in procs):
        try:
            a, b = (out / "a").read_text(), (out / "b").read_text()
        except FileNotFoundError:
            continue
        assert a == b or (out / "a").read_text() != a  # equal unless swapped between the two reads
    assert [p.wait() for p in procs] == [0, 0]
    assert (out / "a").read_text() == (out / "b").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]


def test_output_set_folder_has_the_usual_permissions(tmp_path):
    """The swapped-in folder is made as mkdir would make it (umask applied), not private like a temp folder."""
    import os
    import stat

    out = tmp_path / "set"
    with output_set(out, ("a",)) as new:
        (new / "a").write_text("1", encoding="utf-8")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask
