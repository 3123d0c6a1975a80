"""Share metrics of `stance evaluate` (pipeline.evaluate.shares) on hand-made predictions."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.evaluate.shares import share_errors, share_metrics
from pipeline.model.errors import ErrorModel

Y = ["support", "support", "neutral", "oppose", "oppose", "neutral", "neutral", "support"]
GROUPS = ["a", "a", "a", "b", "b", "b", "c", "c"]
FOLD = np.array([[0, 0, 0, 1, 1, 1, 1, 1]])


def _onehot(labels):
    return np.array([[lab == c for c in ("support", "oppose", "neutral")] for lab in labels], dtype=float)


def test_perfect_predictions_have_no_share_error():
    m = share_metrics(Y, np.array([Y]), _onehot(Y)[None], FOLD, GROUPS)
    for method in ("count", "probability"):
        assert m[method]["article_share_mae"] == 0 and m[method]["fold_share_mae"] == 0
        assert m[method]["net_sign_accuracy"] == 1
    assert (m["n_articles"], m["n_seeds"]) == (3, 1)


def test_counting_against_probability_averaging_by_hand():
    # every sentence predicted neutral, but with probabilities leaning to the truth
    pred = np.array([["neutral"] * 8])
    proba = 0.5 * _onehot(Y) + 0.5 * _onehot(["neutral"] * 8)
    m = share_metrics(Y, pred, proba[None], FOLD, GROUPS)
    # article a: true support 2/3, oppose 0; b: 0, 2/3; c: 1/2, 0 -> counting misses all of it
    assert m["count"]["article_share_mae_support"] == pytest.approx((2 / 3 + 0 + 1 / 2) / 3, abs=1e-6)
    assert m["count"]["article_share_mae_oppose"] == pytest.approx((2 / 3) / 3, abs=1e-6)
    # averaging halves every error
    assert m["probability"]["article_share_mae"] == pytest.approx(m["count"]["article_share_mae"] / 2, abs=1e-6)
    # signs: counting says 0 everywhere (truth: +, -, +); averaging keeps the direction
    assert m["count"]["net_sign_accuracy"] == 0 and m["probability"]["net_sign_accuracy"] == 1
    # fold 0 = article a: support 2/3 vs 0; fold 1 = b + c: support 1/5, oppose 2/5
    assert m["count"]["fold_share_mae_support"] == pytest.approx((2 / 3 + 1 / 5) / 2, abs=1e-6)


def test_share_errors_per_seed_and_fold():
    proba = np.stack([0.5 * _onehot(Y) + 0.5 / 3, _onehot(Y)])
    fold = np.vstack([FOLD, 1 - FOLD])
    em = ErrorModel.from_dict(share_errors(Y, proba, fold))
    assert em.n_folds == 4 and sorted(em.sentences) == [3, 3, 5, 5]
    np.testing.assert_allclose(em.mean[2:], 0, atol=1e-12)     # the second seed is perfect
