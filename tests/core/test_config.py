"""pipeline.core.config: raw params loading, repo root."""

from __future__ import annotations

import pytest

from pipeline.core.config import StanceError, load_params, repo_root


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
