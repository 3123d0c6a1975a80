"""pipeline.model.calibration: bias-corrected temperature scaling, labels kept, the measures."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.core.config import StanceError
from pipeline.model.calibration import (
    Calibrated,
    brier_score,
    calibrate,
    calibration_summary,
    expected_calibration_error,
    fit_calibration,
    reliability_table,
    share_error,
    wrap,
)


def _synthetic(n=4000, seed=0, temperature=0.5, bias=(0.0, -0.8, 0.6)):
    """Scores p, and classes drawn from calibrate(p, temperature, bias): the truth is known."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 3)) * 0.8
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    q = calibrate(p, temperature, bias)
    y = np.array([rng.choice(3, p=row) for row in q])
    return p, y


def test_bcts_recovers_a_known_temperature_and_bias():
    p, y = _synthetic()
    fitted = fit_calibration(p, y, "bcts")
    assert fitted["method"] == "bcts" and fitted["bias"][0] == 0.0
    assert fitted["temperature"] == pytest.approx(0.5, rel=0.08)
    assert fitted["bias"][1:] == pytest.approx([-0.8, 0.6], abs=0.12)
    q = calibrate(p, fitted["temperature"], fitted["bias"])
    assert expected_calibration_error(q, y) < expected_calibration_error(p, y)
    assert brier_score(q, y) < brier_score(p, y)
    assert share_error(q, y) < 0.01 < share_error(p, y)  # fitted by likelihood: class shares match
    assert fit_calibration(p, y, "bcts") == fitted  # deterministic


def test_temperature_only_keeps_each_rows_ranking():
    p, y = _synthetic(bias=(0.0, 0.0, 0.0), temperature=2.0)
    fitted = fit_calibration(p, y, "temperature")
    assert fitted["bias"] == [0.0, 0.0, 0.0] and fitted["temperature"] == pytest.approx(2.0, rel=0.1)
    q = calibrate(p, fitted["temperature"])
    assert np.array_equal(np.argsort(q, axis=1), np.argsort(p, axis=1))
    assert fit_calibration(p, y, "none") == {"method": "none", "temperature": 1.0, "bias": [0.0, 0.0, 0.0]}
    with pytest.raises(StanceError, match="train.calibration: expected one of none, temperature, bcts"):
        fit_calibration(p, y, "isotonic")


def test_calibrated_wrapper_changes_scores_not_labels():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 4))
    y = np.where(x[:, 0] > 0.8, "oppose", np.where(x[:, 1] > 0, "support", "neutral"))
    clf = LogisticRegression(class_weight="balanced", max_iter=1000).fit(x, y)
    labels = ["support", "oppose", "neutral"]
    model = wrap(clf, {"method": "bcts", "temperature": 0.7, "bias": [0.0, -1.0, 1.5]}, labels)
    assert isinstance(model, Calibrated) and list(model.classes_) == list(clf.classes_)
    assert model.bias == [1.5, -1.0, 0.0]  # reordered to classes_ (neutral, oppose, support)
    raw = clf.predict_proba(x)
    q, best = model.scores_and_labels(x)
    assert np.array_equal(best, raw.argmax(axis=1))
    assert list(model.predict(x)) == list(clf.predict(x))
    np.testing.assert_allclose(q, calibrate(raw, 0.7, [1.5, -1.0, 0.0]))
    assert (q.argmax(axis=1) != best).any()  # a label can differ from the highest calibrated score
    np.testing.assert_allclose(q.sum(axis=1), 1.0)
    # with the bias taken off, the highest calibrated score is the label again
    assert np.array_equal((np.log(q) - np.asarray(model.bias)).argmax(axis=1), best)
    assert wrap(clf, {"method": "none", "temperature": 1.0, "bias": [0.0] * 3}, labels) is clf
    # refitting (re-scoring a saved model on other folds) keeps the calibration
    refit = model.fit(x[:150], y[:150])
    assert refit is model and model.temperature == 0.7 and model.bias == [1.5, -1.0, 0.0]


def test_measures_on_hand_made_scores():
    p = np.array([[0.9, 0.05, 0.05], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]])
    y = np.array([0, 1, 1, 2])
    # bins: 0.9 (right), 0.6 (wrong), 0.7 (right), 0.8 (right) -> |1-0.9|+|0-0.6|+|1-0.7|+|1-0.8| over 4
    assert expected_calibration_error(p, y) == pytest.approx((0.1 + 0.6 + 0.3 + 0.2) / 4)
    onehot = np.eye(3)[y]
    assert brier_score(p, y) == pytest.approx(np.mean(((p - onehot) ** 2).sum(axis=1)))
    assert share_error(p, y) == pytest.approx(np.mean(np.abs(p.mean(axis=0) - [0.25, 0.5, 0.25])))
    summary = calibration_summary(p, y)
    assert set(summary) == {"ece", "brier", "log_loss", "share_error"}
    assert summary["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.3, 0.7, 0.8])), abs=1e-6)
    table = reliability_table(p, y, ["a", "b", "c"], bins=10)
    assert len(table) == 10 and table[9]["bin"] == 0.95
    assert table[9]["a"] == 1.0 and table[9]["a_n"] == 1 and table[9]["a_score"] == 0.9
    assert table[3]["b"] == 1.0 and table[3]["b_n"] == 1  # b scores 0.3 for a b sentence
    assert table[4]["b"] is None and table[4]["b_n"] == 0 and table[4]["b_score"] is None  # an empty bin
    assert table[6]["a"] == 0.0 and table[6]["a_n"] == 1  # 0.6 for a, the sentence is b
