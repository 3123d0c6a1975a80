"""Shared test fixtures.

``tiny_model`` / ``tiny_model_path``: a small scikit-learn Pipeline(TfidfVectorizer,
LogisticRegression) fitted on a dozen hand-written sentences (:data:`TINY_SENTENCES`,
written for the tests, not taken from data/ and never written to data/labels/). It has
the same interface as models/model.joblib: takes strings, ``predict_proba`` columns in
``classes_`` order, classes support/oppose/neutral.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: (text, label) pairs written by hand for the tests.
TINY_SENTENCES: list[tuple[str, str]] = [
    ("The Security Council must tighten sanctions on North Korea.", "support"),
    ("We urge all states to enforce the sanctions fully.", "support"),
    ("New sanctions are needed to stop the missile programme.", "support"),
    ("The United States welcomes the stronger sanctions resolution.", "support"),
    ("Sanctions should be eased to relieve humanitarian suffering.", "oppose"),
    ("China and Russia oppose further sanctions on Pyongyang.", "oppose"),
    ("The sanctions are counterproductive and must be lifted.", "oppose"),
    ("Moscow vetoed the draft that would have extended the sanctions.", "oppose"),
    ("The committee met on Tuesday in New York.", "neutral"),
    ("The panel of experts published its annual report.", "neutral"),
    ("The resolution was adopted at the meeting in March.", "neutral"),
    ("Delegates discussed the agenda of the session.", "neutral"),
]


def _fit(pairs: list[tuple[str, str]]):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    texts = [t for t, _ in pairs]
    labels = [y for _, y in pairs]
    model = Pipeline([
        ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
        ("clf", LogisticRegression(C=10.0, max_iter=1000, random_state=0)),
    ])
    return model.fit(texts, labels)


@pytest.fixture(scope="session")
def tiny_sentences() -> list[tuple[str, str]]:
    """The hand-written ``(text, label)`` pairs the tiny model is fitted on."""
    return list(TINY_SENTENCES)


@pytest.fixture(scope="session")
def tiny_model():
    """A fitted sklearn Pipeline(TfidfVectorizer, LogisticRegression) on :data:`TINY_SENTENCES`
    (shared, do not mutate)."""
    return _fit(TINY_SENTENCES)


def record_trusted(model_path: Path, root: Path) -> None:
    """Record *model_path*'s sha256 in ``<root>/reports/train.json``, as ``stance train`` does, so that
    ``stance`` run with *root* as the project root unpickles it (see pipeline.model.files)."""
    import json

    from pipeline.model.files import file_sha256

    report = root / "reports" / "train.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(report.read_text()) if report.exists() else {}
    old = data.get("model_sha256", [])
    data["model_sha256"] = ([old] if isinstance(old, str) else old) + [file_sha256(model_path)]
    report.write_text(json.dumps(data))


@pytest.fixture
def tiny_model_path(tiny_model, tmp_path: Path) -> Path:
    """Path of ``tiny_model`` dumped with joblib into this test's tmp_path (``model.joblib``), its sha256
    recorded in ``tmp_path/reports/train.json`` (trusted when tmp_path is the project root)."""
    import joblib

    path = tmp_path / "model.joblib"
    joblib.dump(tiny_model, path)
    record_trusted(path, tmp_path)
    return path


@pytest.fixture
def two_class_model_path(tmp_path: Path) -> Path:
    """A tiny model that knows only ``support`` and ``oppose`` (no neutral class), dumped to tmp_path."""
    import joblib

    path = tmp_path / "model_two_classes.joblib"
    joblib.dump(_fit([p for p in TINY_SENTENCES if p[1] != "neutral"]), path)
    record_trusted(path, tmp_path)
    return path
