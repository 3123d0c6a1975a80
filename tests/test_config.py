"""pipeline.config: params loading, repo root, atomic writes."""

from __future__ import annotations

import json

import pytest

from pipeline.config import (StanceError, atomic_open, load_params, repo_root, write_json_atomic,
                             write_text_atomic)


def test_load_params_section(tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text("split:\n  min_words: 3\ntrain:\n  seed: 1\n")
    assert load_params(p) == {"split": {"min_words": 3}, "train": {"seed": 1}}
    assert load_params(p, "train") == {"seed": 1}


@pytest.mark.parametrize("content, message", [
    ("split: [unclosed\n", "invalid YAML"),
    ("- a\n- b\n", "expected a mapping"),
    ("train:\n  seed: 1\n", "no 'split' section"),
    ("split: 3\n", "must be a mapping"),
])
def test_load_params_errors_name_the_file(tmp_path, content, message):
    p = tmp_path / "params.yaml"
    p.write_text(content)
    with pytest.raises(StanceError) as err:
        load_params(p, "split")
    assert str(p) in str(err.value) and message in str(err.value)


def test_load_params_missing_file(tmp_path):
    with pytest.raises(StanceError, match="not found"):
        load_params(tmp_path / "nope.yaml")


def test_repo_root_prefers_dvc_root(tmp_path, monkeypatch):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "dvc.yaml").write_text("stages: {}\n")
    monkeypatch.delenv("DVC_ROOT", raising=False)
    assert repo_root(tmp_path / "a" / "b") == (tmp_path / "a").resolve()
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    assert repo_root(tmp_path / "a" / "b") == tmp_path.resolve()


def test_atomic_write_keeps_old_content_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as fh:
            fh.write("half of the new cont")
            raise RuntimeError("crash in the middle")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"], "temporary file left behind"


def test_atomic_writers(tmp_path):
    write_text_atomic(tmp_path / "sub" / "a.txt", "x\n")
    assert (tmp_path / "sub" / "a.txt").read_text() == "x\n"
    write_json_atomic(tmp_path / "b.json", {"b": 1, "a": [1, 2]})
    text = (tmp_path / "b.json").read_text()
    assert text.endswith("\n") and text.index('"a"') < text.index('"b"')
    assert json.loads(text) == {"a": [1, 2], "b": 1}
