"""Grouped cross-validation folds (an article is never split between training and validation)
and the guards every fit runs under: one BLAS thread, scikit-learn's errors as StanceError.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from pipeline.core.config import StanceError

__all__ = ["fit_errors", "group_stack_folds", "grouped_splits", "single_threaded_blas", "stack_folds"]


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS (OpenBLAS/MKL) to one thread inside the block.

    The models here are small: multi-threaded BLAS only adds synchronisation, and on a
    2-core machine it made LogisticRegression.fit about 100x slower (3.9 s instead of 0.03 s
    on 273 sentences, measured with OpenBLAS). One thread also keeps float sums in the same
    order on every machine. Parallelism, when wanted, comes from ``n_jobs`` (processes).
    """
    # Load every BLAS first (numpy's and scipy's are separate libraries): threadpoolctl only
    # limits libraries already loaded when the block starts.
    import scipy.linalg  # noqa: F401
    import scipy.optimize  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@contextlib.contextmanager
def fit_errors(what: str) -> Iterator[None]:
    """Turn scikit-learn's ValueError on unusable data or settings into a StanceError.

    E.g. ``linearsvc`` calibration needs ``calibration_folds`` sentences of each label in every
    training fold; an empty vocabulary after ``min_df``.
    """
    try:
        yield
    except ValueError as exc:
        raise StanceError(f"{what}: {str(exc).splitlines()[0]}") from None


def grouped_splits(labels, groups, n_splits: int, seed: int) -> list[tuple[Any, Any]]:
    """Grouped, stratified CV folds: an article is entirely in training or in validation.

    Parameters
    ----------
    labels : array-like of str, shape (n_samples,)
    groups : array-like of str, shape (n_samples,)
        Article ids.
    n_splits : int
        Folds wanted; capped at the number of articles.
    seed : int
        Shuffling seed of ``StratifiedGroupKFold``.

    Returns
    -------
    splits : list of (train_idx, test_idx)
        Integer index arrays; every sample is in exactly one ``test_idx``.
    """
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(labels, dtype=object)
    g = np.asarray(groups, dtype=object)
    n_groups = len(set(g.tolist()))
    if n_groups < 2:
        raise StanceError(f"grouped cross-validation needs labelled sentences from at least 2 articles, got {n_groups}")
    if len(set(y.tolist())) < 2:
        raise StanceError(f"all labelled sentences have the label {y[0]!r}; need at least 2 different labels")
    if int(n_splits) < 2:
        raise StanceError(f"cv_folds must be at least 2, got {n_splits!r}")
    k = min(int(n_splits), n_groups)
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=int(seed))
    splits = [(tr, te) for tr, te in cv.split(np.zeros(len(y)), y, g)]
    for fold, (tr, _te) in enumerate(splits):
        present = sorted(set(y[tr].tolist()))
        if len(present) < 2:
            raise StanceError(f"CV fold {fold}: the training part has only the label {present[0]!r}; "
                              f"label more sentences or lower cv_folds")
    return splits


def group_stack_folds(model, labels, groups, n_splits: int, seed: int):
    """Give a ``StackingClassifier`` (``train.combine: stack``) combiner folds grouped by article
    (:func:`grouped_splits` of *labels* and *groups*, the rows it will be fitted on), also inside
    the static-average and calibration wrappers; other models are returned unchanged."""
    kind = type(model).__name__
    if kind == "StackingClassifier":
        model.set_params(cv=grouped_splits(list(labels), list(groups), n_splits, seed))
    elif kind == "ProbabilityAverage":
        for _name, part in model.estimators:
            group_stack_folds(part, labels, groups, n_splits, seed)
    elif kind == "Calibrated":
        group_stack_folds(model.estimator, labels, groups, n_splits, seed)
    return model


def stack_folds(model) -> int:
    """How many grouped folds the ``StackingClassifier`` inside *model* was given (0: none)."""
    kind = type(model).__name__
    if kind == "StackingClassifier":
        return len(model.cv or ())
    if kind == "ProbabilityAverage":
        return max([stack_folds(part) for _name, part in model.estimators] or [0])
    if kind == "Calibrated":
        return stack_folds(model.estimator)
    return 0
