"""Calibrated class scores: bias-corrected temperature scaling, and the measures of calibration.

The classifier is trained with balanced class weights (good decisions for macro-F1), so its
probabilities over-state the rare classes and are not probabilities of the classes as they
occur. ``train.calibration`` fixes the scores without changing a single label:

``bcts`` (bias-corrected temperature scaling; default)
    ``q = softmax(log p / T + b)``: one temperature ``T`` and one bias per class (the first
    class's is 0), fitted by maximum likelihood on out-of-fold probabilities of articles the
    model did not see (the selection CV's folds, grouped by article).
``temperature``
    ``q = softmax(log p / T)``: sharper or flatter scores, the class ranking of each sentence kept.
``none``
    The classifier's probabilities.

The label stays the classifier's decision, ``argmax p`` (with ``bcts`` it is ``argmax(log q - b)``,
the calibrated score weighed against the class's base rate): calibration changes what the
scores mean, not which label a sentence gets. So with ``bcts`` a sentence can be labelled
``oppose`` while ``neutral`` has the higher score: its ``oppose`` score is high *for an oppose
sentence*, which is rare.

:class:`Calibrated` wraps a fitted classifier with the fitted ``T`` and ``b``. numpy and
scikit-learn's base classes only (no ``sklearn.calibration``: ``stance predict`` starts fast).
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator, ClassifierMixin

from pipeline.core.config import StanceError

__all__ = ["METHODS", "Calibrated", "brier_score", "calibrate", "calibration_summary", "expected_calibration_error",
           "fit_calibration", "reliability_table", "share_error", "wrap"]

METHODS = ("none", "temperature", "bcts")
_EPS = 1e-12


def _log(p):
    import numpy as np

    return np.log(np.clip(np.asarray(p, dtype=np.float64), _EPS, None))


def _softmax(z):
    import numpy as np

    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def calibrate(proba, temperature: float = 1.0, bias=None):
    """``softmax(log proba / temperature + bias)``, row by row (an (n, k) float array)."""
    import numpy as np

    z = _log(proba) / float(temperature)
    if bias is not None:
        z = z + np.asarray(bias, dtype=np.float64)
    return _softmax(z)


def fit_calibration(proba, y, method: str = "bcts") -> dict[str, Any]:
    """Fit ``T`` (and ``b``) on out-of-fold probabilities *proba* (n, k) of true classes *y*
    (n integers, column indices) by minimising the log loss.

    Returns
    -------
    dict
        ``{"method", "temperature", "bias"}`` (``bias``: k floats, the first 0; all 0 unless bcts).
    """
    import numpy as np
    from scipy.optimize import minimize

    if method not in METHODS:
        raise StanceError(f"train.calibration: expected one of {', '.join(METHODS)}, got {method!r}")
    proba = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    k = proba.shape[1]
    if method == "none" or len(y) == 0:
        return {"method": method, "temperature": 1.0, "bias": [0.0] * k}
    logp = _log(proba)
    rows = np.arange(len(y))
    onehot = np.eye(k)[y]
    free_bias = method == "bcts"

    def loss(theta):
        inv_t = np.exp(theta[0])  # log of 1/T: T stays positive
        bias = np.concatenate([[0.0], theta[1:]]) if free_bias else np.zeros(k)
        q = _softmax(logp * inv_t + bias)
        value = -np.mean(np.log(np.clip(q[rows, y], _EPS, None)))
        diff = (q - onehot) / len(y)
        grad = [np.sum(diff * logp) * inv_t]
        if free_bias:
            grad += list(diff.sum(axis=0)[1:])
        return value, np.asarray(grad)

    start = np.zeros(k if free_bias else 1)
    res = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(-5.0, 5.0)] + [(-20.0, 20.0)] * (len(start) - 1))
    theta = res.x
    bias = [0.0] + [float(b) for b in theta[1:]] if free_bias else [0.0] * k
    return {"method": method, "temperature": float(np.exp(-theta[0])), "bias": bias}


class Calibrated(ClassifierMixin, BaseEstimator):
    """A fitted classifier whose scores are calibrated and whose labels are its own.

    ``predict_proba`` = ``softmax(log estimator.predict_proba / temperature + bias)``;
    ``predict`` = the estimator's label (``argmax`` of its probabilities).

    Parameters
    ----------
    estimator : fitted classifier with ``predict_proba`` and ``classes_``
    method : {"none", "temperature", "bcts"}
    temperature : float > 0
    bias : list of float, one per class of ``estimator.classes_`` (``None``: zeros)
    """

    def __init__(self, estimator: Any = None, method: str = "bcts", temperature: float = 1.0,
                 bias: list[float] | None = None) -> None:
        self.estimator = estimator
        self.method = method
        self.temperature = temperature
        self.bias = bias

    @property
    def classes_(self):
        return self.estimator.classes_

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self.estimator, "classes_")

    def fit(self, X, y):
        """Refit the estimator, keeping ``temperature`` and ``bias`` as they are (so that a saved
        model can be re-scored on other folds: the labels are the estimator's); returns self."""
        self.estimator.fit(X, y)
        return self

    def scores_and_labels(self, X):
        """``(calibrated probabilities (n, k), label indices (n,))`` from one pass of the estimator."""
        raw = self.estimator.predict_proba(X)
        return calibrate(raw, self.temperature, self.bias), raw.argmax(axis=1)

    def predict_proba(self, X):
        return self.scores_and_labels(X)[0]

    def predict(self, X):
        import numpy as np

        return np.asarray(self.classes_)[self.scores_and_labels(X)[1]]


def wrap(model: Any, fitted: dict[str, Any], labels: list[str]):
    """*model* with the calibration *fitted* (bias given in *labels* order) applied, or *model*
    itself for ``method: none``."""
    if fitted["method"] == "none":
        return model
    bias = dict(zip(labels, fitted["bias"]))
    order = [bias[str(c)] for c in model.classes_]
    return Calibrated(model, fitted["method"], float(fitted["temperature"]), [float(b) for b in order])


# --------------------------------------------------------------------------- measures

def expected_calibration_error(proba, y, bins: int = 10) -> float:
    """Top-label ECE: over equal-width bins of the highest score, the share-weighted gap between
    the mean highest score and the share of sentences whose highest-scored class is right."""
    import numpy as np

    proba = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y)
    if len(y) == 0:
        return float("nan")
    conf = proba.max(axis=1)
    hit = (proba.argmax(axis=1) == y).astype(float)
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.mean() * abs(hit[m].mean() - conf[m].mean())
    return float(total)


def brier_score(proba, y) -> float:
    """Multi-class Brier score: mean over sentences of the squared distance to the one-hot truth."""
    import numpy as np

    proba = np.asarray(proba, dtype=np.float64)
    return float(np.mean(np.sum((proba - np.eye(proba.shape[1])[np.asarray(y)]) ** 2, axis=1)))


def share_error(proba, y) -> float:
    """Mean absolute difference, over classes, between the mean score and the class's share."""
    import numpy as np

    proba = np.asarray(proba, dtype=np.float64)
    share = np.bincount(np.asarray(y), minlength=proba.shape[1]) / max(len(y), 1)
    return float(np.mean(np.abs(proba.mean(axis=0) - share)))


def reliability_table(proba, y, classes: list[str], bins: int = 10) -> list[dict[str, Any]]:
    """One row per bin of equal width: ``bin`` (its centre), and per class the mean score in the bin
    (``<class>_score``), the share of sentences of that class (``<class>``) and the count
    (``<class>_n``); None where a bin is empty."""
    import numpy as np

    proba = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y)
    rows = []
    for b in range(bins):
        row: dict[str, Any] = {"bin": round((b + 0.5) / bins, 4)}
        for k, name in enumerate(classes):
            p = proba[:, k]
            m = np.minimum((p * bins).astype(int), bins - 1) == b
            n = int(m.sum())
            row[f"{name}_score"] = round(float(p[m].mean()), 6) if n else None
            row[name] = round(float((y[m] == k).mean()), 6) if n else None
            row[f"{name}_n"] = n
        rows.append(row)
    return rows


def calibration_summary(proba, y) -> dict[str, float]:
    """ECE, Brier score, log loss and share error of probabilities *proba* (n, k) for classes *y*."""
    import numpy as np

    proba = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y)
    log_loss = float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], _EPS, None)))) if len(y) else float("nan")
    return {"ece": round(expected_calibration_error(proba, y), 6), "brier": round(brier_score(proba, y), 6),
            "log_loss": round(log_loss, 6), "share_error": round(share_error(proba, y), 6)}
