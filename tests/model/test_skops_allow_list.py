"""A .skops model is loaded only when every type and function it names is on an exact allow-list."""

from __future__ import annotations

import copy
import functools
import json

import pytest

from pipeline.cli import main
from pipeline.model.files import SKOPS_ALLOWED, skops_types

try:
    from trainkit import ARTICLES, small_params
except ImportError:  # pragma: no cover - run as a package
    from tests.trainkit import ARTICLES, small_params


def _evil_skops(path, marker):
    """A Pipeline whose FunctionTransformer wraps ``functools.partial`` of a scikit-learn test helper
    that runs a Python script: scoring (or the load-time check) would create *marker*."""
    import numpy as np
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.utils._testing import assert_run_python_script_without_output

    script = f"open({str(marker)!r}, 'w').write('ran')"
    step = FunctionTransformer(functools.partial(assert_run_python_script_without_output, script))
    clf = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0]]), ["support", "oppose", "neutral"])
    path.write_bytes(sio.dumps(Pipeline([("features", step), ("clf", clf)])))
    return path


def test_the_skops_payload_is_real(tmp_path):
    """Control: trusting what the file names (the old ``sklearn.`` prefix rule) runs the script."""
    import skops.io as sio

    marker = tmp_path / "RAN"
    path = _evil_skops(tmp_path / "evil.skops", marker)
    names = sio.get_untrusted_types(file=path)
    assert "sklearn.utils._testing.assert_run_python_script_without_output" in names
    model = sio.load(path, trusted=names)
    with pytest.raises(Exception):  # noqa: B017 - the helper fails after running the script
        model.predict_proba(["a sentence"])
    assert marker.exists()


@pytest.mark.parametrize("command", ["predict", "export-model", "analyze"])
def test_skops_payload_refused_before_anything_runs(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "RAN"
    evil = _evil_skops(tmp_path / "evil.skops", marker)
    (tmp_path / "in.jsonl").write_text(json.dumps({"article_id": "a1", "text": "Sanctions now."}) + "\n",
                                       encoding="utf-8")
    argv = {"predict": ["predict", "--model", str(evil), "Sanctions now."],
            "export-model": ["export-model", "--model", str(evil), "--out", str(tmp_path / "copy.skops")],
            "analyze": ["analyze", "--model", str(evil), "-i", str(tmp_path / "in.jsonl"),
                        "-o", str(tmp_path / "out"), "--no-progress"]}[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "refusing types outside the trusted list" in err
    assert "sklearn.utils._testing.assert_run_python_script_without_output" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not marker.exists()
    assert not (tmp_path / "copy.skops").exists() and not (tmp_path / "out").exists()


def test_allow_list_is_exact():
    assert not any(name.endswith(".") or "*" in name for name in SKOPS_ALLOWED)
    assert "sklearn.utils._testing.assert_run_python_script_without_output" not in SKOPS_ALLOWED


@pytest.mark.parametrize("combine,classifier", [("union", "logreg"), ("union", "linearsvc"), ("union", "sgd"),
                                                ("union", "nblr"), ("vote", "logreg"), ("vote", "linearsvc")])
def test_project_models_fit_the_allow_list(combine, classifier):
    """Every model the project trains (all feature blocks on) exports with nothing outside the list."""
    from pipeline.train.stage import fit_final

    params = copy.deepcopy(small_params()["train"])
    params.update(combine=combine, classifier=classifier)
    for name, block in params["features"].items():
        if name != "embeddings" and isinstance(block, dict) and "enabled" in block:
            block["enabled"] = True
    if classifier == "nblr":  # NB-LR does not combine with the static block
        params["features"]["static"]["enabled"] = False
    texts = [t for rows in ARTICLES.values() for t, _ in rows]
    labels = [y for rows in ARTICLES.values() for _, y in rows]
    found = skops_types(fit_final(texts, labels, params))
    assert set(found) <= set(SKOPS_ALLOWED)


def test_encoder_package_is_restricted(tmp_path, monkeypatch, capsys):
    """``pipeline.model.embeddings.encode`` is on the allow-list; its ``package`` argument must not
    import any installed module: a file naming another package is refused before the import."""
    import numpy as np
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from pipeline.model.embeddings import DIMENSIONS, ENCODER_PACKAGES, encode

    marker = tmp_path / "RAN"
    (tmp_path / "stance_evil_module.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    clf = LogisticRegression().fit(np.eye(3, DIMENSIONS), ["support", "oppose", "neutral"])
    step = FunctionTransformer(functools.partial(encode, package="stance_evil_module"))
    evil = tmp_path / "evil.skops"
    evil.write_bytes(sio.dumps(Pipeline([("features", step), ("clf", clf)])))
    assert set(sio.get_untrusted_types(file=evil)) <= set(SKOPS_ALLOWED)  # the types alone pass
    assert main(["predict", "--model", str(evil), "Sanctions now."]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "encoder package 'stance_evil_module'" in err and ENCODER_PACKAGES[0] in err
    assert not marker.exists()
