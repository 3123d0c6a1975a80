"""pipeline.core.params: one typed schema for every params.yaml section, and its error messages."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from pipeline.cli import main
from pipeline.core.config import StanceError
from pipeline.core.params import (
    SECTIONS,
    EvaluateParams,
    TrainParams,
    from_mapping,
    load_all,
    load_section,
    schema_keys,
)

REPO = Path(__file__).resolve().parents[2]


def _leaves(node, prefix=""):
    out = set()
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key not in ("grid", "patterns", "kinds", "groups"):  # mapping-valued leaves
            out |= _leaves(value, name + ".")
        else:
            out.add(name)
    return out


def test_params_yaml_and_schema_agree():
    """Every section of params.yaml has a schema, every schema key is in params.yaml and vice versa,
    and the file validates."""
    raw = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    assert set(raw) == set(SECTIONS)
    for name, cls in SECTIONS.items():
        assert _leaves(raw[name]) == schema_keys(cls), name
    typed = load_all(REPO / "params.yaml")
    assert set(typed) == set(SECTIONS)


def test_every_field_has_kind_doc_and_default():
    def walk(cls):
        for f in dataclasses.fields(cls):
            assert f.metadata.get("kind") and f.metadata.get("doc"), f"{cls.__name__}.{f.name}"
            assert f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            if f.metadata["kind"] == "section":
                walk(f.default_factory)

    for cls in SECTIONS.values():
        walk(cls)
        cls()  # all defaults valid


@pytest.mark.parametrize("section, data, message", [
    ("train", {"clasifier": "sgd"}, "train.clasifier: unknown key (did you mean classifier?)"),
    ("mlflow", {"enabeld": False}, "mlflow.enabeld: unknown key (did you mean enabled?)"),
    ("train", {"seed": "x"}, "train.seed: expected an integer, got 'x'"),
    ("train", {"cv_folds": "five"}, "train.cv_folds: expected an integer, got 'five'"),
    ("train", {"cv_folds": 1}, "train.cv_folds: expected a number >= 2, got 1"),
    ("train", {"grid": "none"}, "train.grid: expected a mapping"),
    ("train", {"features": {"word": {"min_dff": 2}}},
     "train.features.word.min_dff: unknown key (did you mean min_df?)"),
    ("train", {"grid": {"logreg": {"C": ["big"]}}}, "train.grid.logreg.C: expected a number, got 'big'"),
    ("train", {"grid": {"logreg": {"CC": [1.0]}}}, "train.grid.logreg.CC: unknown key (did you mean C?)"),
    ("train", {"features": {"cues": {"negators": ["not", False]}}}, "is not a word"),
    ("mlflow", {"connect_timeout": "soon"}, "mlflow.connect_timeout: expected a number, got 'soon'"),
    ("mlflow", {"connect_timeout": 0}, "mlflow.connect_timeout: expected a number > 0"),
    ("evaluate", {"ci": 1.5}, "evaluate.ci: expected a number < 1"),
    ("evaluate", {"seeds": []}, "evaluate.seeds: expected a non-empty list of integers"),
    ("dataset", {"reattach_by_txt": True}, "dataset.reattach_by_txt: unknown key (did you mean reattach_by_text?)"),
    ("dataset", {"reattach_by_text": "yes please"}, "dataset.reattach_by_text: expected true or false"),
    ("split", {"min_wrds": 3}, "split.min_wrds: unknown key (did you mean min_words?)"),
])
def test_bad_values_name_section_and_key(section, data, message):
    with pytest.raises(StanceError) as exc:
        from_mapping(SECTIONS[section], data, section)
    assert message in str(exc.value)


def test_missing_keys_take_defaults_and_overrides_are_checked():
    p = from_mapping(TrainParams, {"C": 2}, "train")
    assert p.C == 2.0 and isinstance(p.C, float) and p.classifier == "logreg"
    q = p.with_overrides({"features.char.enabled": True, "C": 0.5})
    assert q.features.char.enabled is True and q.C == 0.5 and p.features.char.enabled is False
    with pytest.raises(StanceError, match="train.C: expected a number"):
        p.with_overrides({"C": "x"})
    assert from_mapping(EvaluateParams, None, "evaluate") == EvaluateParams()


def test_load_section_prefixes_the_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  clasifier: sgd\n", encoding="utf-8")
    with pytest.raises(StanceError) as exc:
        load_section("train", path)
    assert str(exc.value) == f"{path}: train.clasifier: unknown key (did you mean classifier?)"


def _params_with(tmp_path: Path, section: str, key: str, value_yaml: str) -> Path:
    raw = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    raw[section][key] = yaml.safe_load(value_yaml)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("command, section, key, value, message", [
    ("train", "train", "clasifier", "sgd", "train.clasifier: unknown key (did you mean classifier?)"),
    ("evaluate", "mlflow", "enabeld", "false", "mlflow.enabeld: unknown key (did you mean enabled?)"),
    ("train", "train", "seed", "x", "train.seed: expected an integer, got 'x'"),
    ("train", "train", "cv_folds", '"five"', "train.cv_folds: expected an integer, got 'five'"),
    ("train", "train", "grid", "none", "train.grid: expected a mapping"),
    ("evaluate", "mlflow", "connect_timeout", "soon", "mlflow.connect_timeout: expected a number, got 'soon'"),
    ("evaluate", "evaluate", "seedz", "[1]", "evaluate.seedz: unknown key (did you mean seeds?)"),
    ("dataset", "dataset", "reattach", "true", "dataset.reattach: unknown key (did you mean reattach_by_text?)"),
    ("split", "split", "min_word", "3", "split.min_word: unknown key (did you mean min_words?)"),
])
def test_cli_stops_with_one_line_and_exit_2(tmp_path, capsys, command, section, key, value, message):
    """A misspelled key, a wrong type or range in any section: one line, exit 2, no traceback, before any work."""
    params = _params_with(tmp_path, section, key, value)
    out = {"train": ["--dataset", str(tmp_path / "nope.csv"), "--model", str(tmp_path / "m.joblib"),
                     "--report", str(tmp_path / "r.json")],
           "evaluate": ["--dataset", str(tmp_path / "nope.csv"), "--model", str(tmp_path / "m.joblib"),
                        "--metrics", str(tmp_path / "m.json")],
           "dataset": ["--sentences", str(tmp_path / "s.csv"), "--labels", str(tmp_path / "l.csv"),
                       "--out", str(tmp_path / "d.csv")],
           "split": ["--raw", str(tmp_path / "raw"), "--sentences", str(tmp_path / "s.csv")]}[command]
    rc = main([command, "--params", str(params), *out])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith(f"stance {command}: error: {params}: {message}")
    assert err.count("\n") == 1 and err.count("\n") == 1 and "Traceback" not in err
