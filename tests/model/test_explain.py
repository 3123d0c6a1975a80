"""pipeline.model.explain: contributions (coefficient x value) that add up to the decision values."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.core.config import StanceError
from pipeline.core.data import LABELS
from pipeline.model.explain import contributions, explain, format_contributions

try:
    from trainkit import ARTICLES, small_params, tfidf_only
except ImportError:  # pragma: no cover - run as a package
    from tests.trainkit import ARTICLES, small_params, tfidf_only

TEXTS = [t for rows in ARTICLES.values() for t, _ in rows]
LABELS_Y = [y for rows in ARTICLES.values() for _, y in rows]
NEW = ["China said it would not lift the sanctions.", "Russia urged the Council to ease the sanctions.",
       "The meeting was held on Tuesday.", "zzz"]


def _fit(params):
    from pipeline.train.stage import fit_final

    return fit_final(TEXTS, LABELS_Y, params["train"])


def _decision_minus_intercept(pipe, texts, labels):
    clf = pipe.steps[-1][1]
    d = clf.decision_function(pipe.steps[0][1].transform(texts))
    rows = [list(clf.classes_).index(lab) for lab in labels]
    return np.array([d[i, r] - clf.intercept_[r] for i, r in enumerate(rows)])


@pytest.mark.parametrize("mode", ["union", "static_block"])
def test_contributions_add_up_to_the_decision_value(mode):
    params = tfidf_only(small_params(char=True))
    if mode == "static_block":
        params["train"]["features"]["static"].update(enabled=True, mode="block", weight=1.5)
    model = _fit(params)
    labels = list(model.predict(NEW))
    found = contributions(model, NEW, labels)
    want = _decision_minus_intercept(model, NEW, labels)
    np.testing.assert_allclose([sum(c.values()) for c in found], want, atol=1e-9)
    names = set().union(*found)
    assert any(n.startswith("word:") for n in names) and any(n.startswith('char:"') for n in names)
    assert "cues:not_lift" in found[0]  # "would not lift": the negated cue is a feature of its own
    if mode == "static_block":
        assert "static" in names and not [n for n in names if n.startswith("static") and n != "static"]
    assert found[3] == {} or all(not n.startswith("word:") for n in found[3])  # an unknown word has no feature


def test_default_model_parts_are_weighted_by_their_share():
    """Calibrated(ProbabilityAverage(tfidf, static)): each part's contributions are its share times
    its own decision value minus intercept; the static part is one contribution."""
    from pipeline.model.calibration import wrap

    model = wrap(_fit(small_params(char=True)), {"method": "bcts", "temperature": 0.7, "bias": [0.0, 0.3, -0.2]},
                 list(LABELS))
    avg = model.estimator
    (w_t, w_s), (tfidf, static) = avg.weights, avg.estimators_
    labels = list(model.predict(NEW))
    found = contributions(model, NEW, labels)
    t_part = [sum(v for k, v in c.items() if k != "static") for c in found]
    s_part = [c.get("static", 0.0) for c in found]
    np.testing.assert_allclose(t_part, w_t * _decision_minus_intercept(tfidf, NEW, labels), atol=1e-9)
    np.testing.assert_allclose(s_part, w_s * _decision_minus_intercept(static, NEW, labels), atol=1e-9)
    top = explain(model, NEW, labels, top=3)
    for items, c in zip(top, found):
        assert len(items) <= 3 and all(d["contribution"] > 0 for d in items)
        values = [d["contribution"] for d in items]
        assert values == sorted(values, reverse=True)
        best = sorted((v for v in c.values() if v > 0), reverse=True)[:3]
        assert values == pytest.approx([round(v, 4) for v in best])
    assert format_contributions([{"feature": "word:lift", "contribution": 0.8312},
                                 {"feature": "static", "contribution": 0.3}]) == "word:lift +0.83, static +0.30"


def test_models_that_are_not_linear_are_refused():
    params = tfidf_only(small_params())
    params["train"]["combine"] = "vote"
    model = _fit(params)
    with pytest.raises(StanceError, match="--explain: not available for a VotingClassifier model"):
        explain(model, NEW, list(model.predict(NEW)))
    plain = _fit(tfidf_only(small_params()))
    with pytest.raises(StanceError, match="not a class of the model"):
        explain(plain, NEW[:1], ["maybe"])
    assert set(LABELS) == set(plain.classes_)


def test_the_scoring_view_explains_like_the_model():
    """Worker processes of `stance predict` hold the scoring view: same contributions."""
    from pipeline.model.fast import scoring_view

    model = _fit(small_params(char=True))
    labels = list(model.predict(NEW))
    assert explain(scoring_view(model), NEW, labels, top=50) == explain(model, NEW, labels, top=50)
