"""A weighted average of fitted classifiers' probabilities (``train.features.static.mode: average``).

Like scikit-learn's soft ``VotingClassifier``, without importing ``sklearn.ensemble`` (a
large import that would slow the start of ``stance predict``): ``predict_proba`` is
``sum(w_i * p_i) / sum(w_i)`` over the estimators, whose classes must be the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.base import BaseEstimator, ClassifierMixin, clone

__all__ = ["ProbabilityAverage", "weighted_mean"]


def weighted_mean(probas: Sequence[Any], weights: Sequence[float]):
    """``sum(w_i * p_i) / sum(w_i)`` (terms of weight 0 left out); the one formula of the average,
    shared with the CV engine so both give the same floats."""
    total = None
    for weight, p in zip(weights, probas):
        if weight == 0:
            continue
        term = weight * p
        total = term if total is None else total + term
    return total / sum(weights)


class ProbabilityAverage(ClassifierMixin, BaseEstimator):
    """Soft vote of named classifiers with fixed weights.

    Parameters
    ----------
    estimators : list of (name, estimator)
    weights : list of float, one per estimator (>= 0, not all 0)

    Attributes
    ----------
    estimators_ : list of fitted clones, in the order of *estimators*
    classes_ : the classes (those of the first estimator)
    """

    def __init__(self, estimators: Sequence[tuple[str, Any]] = (), weights: Sequence[float] | None = None) -> None:
        self.estimators = estimators
        self.weights = weights

    def _weights(self) -> list[float]:
        w = [1.0] * len(self.estimators) if self.weights is None else [float(v) for v in self.weights]
        if len(w) != len(self.estimators) or any(v < 0 for v in w) or sum(w) <= 0:
            raise ValueError(f"weights {self.weights!r}: one non-negative weight per estimator, not all 0")
        return w

    def fit(self, X, y):
        X = list(X)
        self._weights()
        self.estimators_ = [clone(est).fit(X, y) for _name, est in self.estimators]
        classes = [list(map(str, e.classes_)) for e in self.estimators_]
        if any(c != classes[0] for c in classes):
            raise ValueError(f"the averaged estimators have different classes: {classes}")
        self.classes_ = self.estimators_[0].classes_
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "estimators_")

    @property
    def named_estimators_(self) -> dict[str, Any]:
        return {name: est for (name, _), est in zip(self.estimators, self.estimators_)}

    def predict_proba(self, X):
        X = X if isinstance(X, list) else list(X)
        w = self._weights()
        return weighted_mean([est.predict_proba(X) if weight else None for weight, est in zip(w, self.estimators_)], w)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
