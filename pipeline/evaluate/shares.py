"""Share metrics of ``stance evaluate``: how close the stance shares an analyst reads come to the hand labels.

From the outer folds of the nested grouped cross-validation (every article is held out
once per seed), for two ways of turning sentences into shares:

* ``count``: the share of sentences whose predicted label is the label (classify and count);
* ``probability``: the mean of the predicted class probabilities (probabilistic classify
  and count).

Metrics, each the mean over seeds:

* ``article_share_mae``: mean absolute error of an article's support and oppose shares
  against its hand-labelled shares (mean over articles and the two labels; per label too);
* ``fold_share_mae``: the same for the share over all test articles of one outer fold
  (mean over folds), the error of a table's headline share;
* ``net_sign_accuracy``: how often an article's net stance (support share minus oppose
  share) has the right sign (positive, negative, or within ``net_zero`` of zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pipeline.core.data import LABELS
from pipeline.model.errors import fold_residuals

__all__ = ["METHODS", "share_errors", "share_metrics"]

METHODS = ("count", "probability")
_ROUND = 6


def _sign(x: np.ndarray, zero: float) -> np.ndarray:
    return np.where(x > zero, 1, np.where(x < -zero, -1, 0))


def _per_article(onehot: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of *onehot* rows per group: ``(groups_sorted, shares (n_groups, 3))``."""
    names, inv = np.unique(groups, return_inverse=True)
    sums = np.zeros((len(names), onehot.shape[1]))
    np.add.at(sums, inv, onehot)
    counts = np.bincount(inv, minlength=len(names)).astype(float)
    return names, sums / counts[:, None]


def share_metrics(y_true: Sequence[str], pred: np.ndarray, proba: np.ndarray, fold: np.ndarray,
                  groups: Sequence[str], net_zero: float = 0.05) -> dict[str, Any]:
    """Share metrics for every seed's out-of-fold predictions.

    Parameters
    ----------
    y_true : (n,) hand labels.
    pred : (n_seeds, n) predicted labels.
    proba : (n_seeds, n, 3) predicted class probabilities in :data:`LABELS` order.
    fold : (n_seeds, n) outer fold of each sentence.
    groups : (n,) article ids.
    net_zero : a net stance within this distance of 0 counts as neither positive nor negative.
    """
    y = np.array([[lab == c for c in LABELS] for lab in y_true], dtype=float)
    groups = np.asarray(groups)
    pred = np.asarray(pred)
    per_seed: dict[str, list[dict[str, float]]] = {m: [] for m in METHODS}
    for si in range(pred.shape[0]):
        est = {"count": np.array([[p == c for c in LABELS] for p in pred[si]], dtype=float),
               "probability": np.asarray(proba[si], dtype=float)}
        _, true_a = _per_article(y, groups)
        folds = sorted(set(fold[si].tolist()))
        for m in METHODS:
            _, est_a = _per_article(est[m], groups)
            err_a = np.abs(est_a - true_a)[:, :2]                     # support, oppose
            net_ok = _sign(est_a[:, 0] - est_a[:, 1], net_zero) == _sign(true_a[:, 0] - true_a[:, 1], net_zero)
            fold_err = np.array([np.abs(est[m][fold[si] == f].mean(axis=0) - y[fold[si] == f].mean(axis=0))[:2]
                                 for f in folds])
            per_seed[m].append({
                "article_share_mae": float(err_a.mean()),
                "article_share_mae_support": float(err_a[:, 0].mean()),
                "article_share_mae_oppose": float(err_a[:, 1].mean()),
                "fold_share_mae": float(fold_err.mean()),
                "fold_share_mae_support": float(fold_err[:, 0].mean()),
                "fold_share_mae_oppose": float(fold_err[:, 1].mean()),
                "net_sign_accuracy": float(net_ok.mean()),
            })
    out: dict[str, Any] = {}
    for m in METHODS:
        keys = per_seed[m][0].keys()
        out[m] = {k: round(float(np.mean([s[k] for s in per_seed[m]])), _ROUND) for k in keys}
    out["n_articles"] = int(len(set(groups.tolist())))
    out["n_seeds"] = int(pred.shape[0])
    out["net_zero"] = net_zero
    return out


def share_errors(y_true: Sequence[str], proba: np.ndarray, fold: np.ndarray) -> dict[str, Any]:
    """The out-of-fold error of the probabilities per (seed, outer fold), for ``share_errors.json``."""
    n_seeds, n = np.asarray(fold).shape
    labels = list(y_true) * n_seeds
    flat_fold = (np.arange(n_seeds)[:, None] * (int(np.max(fold)) + 1) + np.asarray(fold)).reshape(-1)
    return fold_residuals(labels, np.asarray(proba).reshape(n_seeds * n, -1), flat_fold).to_dict()
