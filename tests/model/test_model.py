"""pipeline.model.files: one module loads, checks and saves models; the trust rule for pickles; .skops export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import joblib
import pytest

from pipeline.cli import main
from pipeline.core.config import StanceError
from pipeline.model.files import file_sha256, load_model

try:
    from conftest import record_trusted
    from trainkit import ARTICLES, small_params, write_dataset, write_params
except ImportError:  # pragma: no cover - run as a package
    from tests.conftest import record_trusted
    from tests.trainkit import ARTICLES, small_params, write_dataset, write_params

SENTENCES = """sentence_id,article_id,position,paragraph,start,end,text
a0,art,0,0,0,10,The Council welcomed the new sanctions.
a1,art,1,0,11,20,Russia rejected any new sanctions.
"""


class _Payload:
    """Unpickling this runs ``touch MARKER``: what a hostile model file can do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def evil(tmp_path, monkeypatch):
    """A crafted joblib file whose loading would create ``marker``; cwd is an empty project dir."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.joblib"
    joblib.dump(_Payload(marker), path)
    (tmp_path / "sentences.csv").write_text(SENTENCES, encoding="utf-8")
    return path, marker


def test_the_payload_is_real(evil):
    """Control: plain joblib.load runs the payload, so the tests below can fail."""
    path, marker = evil
    joblib.load(path)
    assert marker.exists()


def _expect_refused(capsys, argv, marker, command):
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert not marker.exists(), f"{command} ran the payload"
    assert err.startswith(f"stance {command}: error: model file ") and "--trust-model" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_predict_refuses_an_unrecorded_pickle(evil, capsys):
    path, marker = evil
    _expect_refused(capsys, ["predict", "--model", str(path), "Sanctions must be enforced."], marker, "predict")


def test_label_refuses_an_unrecorded_pickle(evil, capsys, tmp_path):
    path, marker = evil
    _expect_refused(capsys, ["label", "--sentences", "sentences.csv", "--labels", "labels.csv", "--model", str(path)],
                    marker, "label")
    # the default model path is loaded by itself when it exists
    (tmp_path / "models").mkdir()
    os.replace(path, tmp_path / "models" / "model.joblib")
    _expect_refused(capsys, ["label", "--sentences", "sentences.csv", "--labels", "labels.csv"], marker, "label")


def test_export_queue_refuses_an_unrecorded_pickle(evil, capsys, tmp_path):
    path, marker = evil
    _expect_refused(capsys, ["export-queue", "--sentences", "sentences.csv", "--labels", "labels.csv",
                             "--order", "uncertainty", "--model", str(path), "--out", str(tmp_path / "t.json"),
                             "--config-out", str(tmp_path / "c.xml"), "--params", "none.yaml"],
                    marker, "export-queue")


def test_evaluate_refuses_an_unrecorded_pickle(evil, capsys, tmp_path):
    path, marker = evil
    dataset = write_dataset(tmp_path / "dataset.csv")
    params = write_params(tmp_path / "params.yaml", small_params())
    _expect_refused(capsys, ["evaluate", "--no-mlflow", "--params", str(params), "--dataset", str(dataset),
                             "--model", str(path), "--metrics", str(tmp_path / "m.json")], marker, "evaluate")
    assert not (tmp_path / "m.json").exists()


def test_export_model_refuses_an_unrecorded_pickle(evil, capsys):
    path, marker = evil
    _expect_refused(capsys, ["export-model", "--model", str(path)], marker, "export-model")


def test_python_api_refuses_too(evil):
    path, marker = evil
    with pytest.raises(StanceError, match="--trust-model"):
        load_model(path)
    assert not marker.exists()


def test_trust_model_loads_with_a_warning(tiny_model_path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "other" / "m.joblib"
    other.parent.mkdir()
    joblib.dump(joblib.load(tiny_model_path), other, compress=3)  # same model, other bytes: not recorded
    assert main(["predict", "--model", str(other), "Sanctions must go."]) == 2
    capsys.readouterr()
    assert main(["predict", "--model", str(other), "--trust-model", "Sanctions must go."]) == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out)["text"] == "Sanctions must go."
    assert cap.err.startswith("stance predict: warning: loading") and "--trust-model" in cap.err


def test_default_flow_needs_no_flag_and_the_file_loads_without_torch(tmp_path, monkeypatch, capsys):
    """`stance train` records the model's sha256 in reports/train.json; `stance predict` then just works."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    params = write_params(tmp_path / "params.yaml", small_params())
    dataset = write_dataset(tmp_path / "data" / "processed" / "dataset.csv")
    assert main(["train", "--params", str(params), "--dataset", str(dataset)]) == 0
    model_path = tmp_path / "models" / "model.joblib"
    report = json.loads((tmp_path / "reports" / "train.json").read_text())
    assert report["model_sha256"] == file_sha256(model_path)
    capsys.readouterr()
    assert main(["predict", "The Council must tighten sanctions."]) == 0
    assert json.loads(capsys.readouterr().out)["label"] in ("support", "oppose", "neutral")
    # A fresh interpreter in which torch, transformers and model2vec cannot be imported: the default
    # model (static block, averaged classifiers, calibrated scores) loads and scores with the
    # default install; the classes it names from this package are the three trusted ones.
    code = ("import importlib.abc, sys\n"
            "class Block(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('torch', 'transformers', 'model2vec', 'sentence_transformers'):\n"
            "            raise ImportError(name + ' is blocked in this test')\n"
            "sys.meta_path.insert(0, Block())\n"
            "import joblib\n"
            "m = joblib.load('models/model.joblib')\n"
            "print(type(m).__name__, m.predict(['Lift the sanctions.'])[0])\n"
            "print(sorted(n for n in sys.modules if n.startswith('pipeline.')))\n")
    done = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    first, modules = done.stdout.splitlines()
    kind, label = first.split()
    assert kind == "Calibrated" and label in ("support", "oppose", "neutral")
    from pipeline.model.files import PROJECT_TYPES

    assert {m.rsplit(".", 1)[0] for m in PROJECT_TYPES} <= set(eval(modules))


def test_skops_export_loads_without_a_flag(tmp_path, monkeypatch, capsys):
    """A project model exported as .skops is loaded with the trusted-type list, no --trust-model needed."""
    from pipeline.train.stage import fit_final

    monkeypatch.chdir(tmp_path)
    texts = [t for rows in ARTICLES.values() for t, _ in rows]
    labels = [y for rows in ARTICLES.values() for _, y in rows]
    model = fit_final(texts, labels, small_params()["train"])
    src = tmp_path / "model.joblib"
    joblib.dump(model, src)
    record_trusted(src, tmp_path)
    assert main(["export-model", "--model", str(src), "--out", str(tmp_path / "shared.skops")]) == 0
    assert (tmp_path / "shared.skops").read_bytes()[:2] == b"PK"  # a zip archive, not a pickle
    os.unlink(src)
    (tmp_path / "reports" / "train.json").unlink()  # nothing recorded: the .skops file needs no record
    capsys.readouterr()
    sentence = "Russia called for lifting the sanctions."
    assert main(["predict", "--model", str(tmp_path / "shared.skops"), sentence]) == 0
    rec = json.loads(capsys.readouterr().out)
    expected = dict(zip(model.classes_, model.predict_proba([sentence])[0]))
    assert rec["label"] == model.predict([sentence])[0]
    for c, v in rec["scores"].items():
        assert v == pytest.approx(expected[c], abs=5e-5)


def test_skops_file_with_an_untrusted_type_is_refused(tmp_path, capsys):
    import functools

    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    bad = tmp_path / "bad.skops"
    sio.dump(FunctionTransformer(functools.partial(json.dumps)), bad)
    assert main(["predict", "--model", str(bad), "x y z"]) == 2
    err = capsys.readouterr().err
    assert "refusing types outside the trusted list: json.dumps" in err and err.count("\n") == 1


def test_model_whose_predict_proba_rejects_strings(tmp_path, monkeypatch, capsys):
    """A classifier fitted on numbers (its predict_proba rejects strings): one clear line, exit 2."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "numeric.joblib"
    joblib.dump(LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]),
                                         ["support", "oppose", "support", "oppose"]), path)
    record_trusted(path, tmp_path)
    assert main(["predict", "--model", str(path), "Sanctions must go."]) == 2
    err = capsys.readouterr().err
    assert err.startswith("stance predict: error: numeric.joblib: the model cannot score text (predict_proba failed")
    assert err.count("\n") == 1 and "Traceback" not in err
