"""A trained model is trusted by its hash, wherever the command runs; a missing default model
names the repository it was looked for in."""

from __future__ import annotations

import json

import pytest

from pipeline.cli import main
from pipeline.core.config import StanceError
from pipeline.model.files import file_sha256, load_model


@pytest.fixture
def repo(tmp_path, tiny_model):
    import joblib

    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    (root / "reports").mkdir()
    (root / "dvc.yaml").write_text("stages: {}\n", encoding="utf-8")
    model = root / "models" / "model.joblib"
    joblib.dump(tiny_model, model)
    (root / "reports" / "train.json").write_text(json.dumps({"model_sha256": file_sha256(model)}), encoding="utf-8")
    return root


def test_model_given_by_path_from_outside_is_trusted_by_its_hash(repo, tmp_path, monkeypatch, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    model = repo / "models" / "model.joblib"
    assert hasattr(load_model(model), "predict_proba")
    assert main(["predict", "--model", str(model), "Lift the sanctions."]) == 0
    assert "label" in capsys.readouterr().out
    copy = elsewhere / "other.joblib"  # the same bytes elsewhere: still the trained model
    copy.write_bytes(model.read_bytes())
    with pytest.raises(StanceError, match="was not produced by this project's training"):
        load_model(copy)  # no repository holds it, and the working directory's has no record


def test_missing_default_model_names_where_it_looked(repo, tmp_path, monkeypatch):
    monkeypatch.delenv("DVC_ROOT", raising=False)
    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.chdir(outside)
    with pytest.raises(StanceError, match="is not inside the project .no dvc.yaml or params.yaml"):
        load_model()
    (repo / "models" / "model.joblib").unlink()
    monkeypatch.chdir(repo / "models")
    with pytest.raises(StanceError, match=f"not found; run `dvc repro` in the repository {repo} "):
        load_model()
