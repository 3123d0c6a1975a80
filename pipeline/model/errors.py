"""The out-of-fold error of a model's class probabilities, per outer fold of the grouped CV.

``stance evaluate`` measures it (:func:`fold_residuals` over the nested cross-validation's
out-of-fold probabilities) and writes it to ``reports/share_errors.json``; ``stance analyze``
reads it (:meth:`ErrorModel.read`) so that the intervals of its expected shares include the
model's error (:mod:`pipeline.analyze.shares`). A sentence's residual is its hand label as a
one-hot vector minus its out-of-fold probabilities; each fold keeps the mean and covariance
of its sentences' residuals.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.core.data import LABELS

__all__ = ["ErrorModel", "fold_residuals"]


@dataclass(frozen=True)
class ErrorModel:
    """Per outer fold (and seed) of the evaluation: mean and covariance of the sentence residuals."""

    mean: np.ndarray          # (n_folds, 3)
    root: np.ndarray          # (n_folds, 3, 3): root @ root.T == covariance
    sentences: tuple[int, ...]

    @property
    def n_folds(self) -> int:
        return int(self.mean.shape[0])

    def to_dict(self) -> dict[str, Any]:
        return {"labels": list(LABELS), "folds": [
            {"sentences": int(n), "mean_residual": [round(float(x), 8) for x in m],
             "covariance": [[round(float(x), 8) for x in row] for row in (r @ r.T)]}
            for n, m, r in zip(self.sentences, self.mean, self.root)]}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "share errors") -> ErrorModel:
        try:
            if list(data["labels"]) != list(LABELS):
                raise ValueError(f"labels {data['labels']} are not {list(LABELS)}")
            folds = data["folds"]
            if not folds:
                raise ValueError("no folds")
            mean = np.array([f["mean_residual"] for f in folds], dtype=float)
            cov = np.array([f["covariance"] for f in folds], dtype=float)
            if mean.shape != (len(folds), 3) or cov.shape != (len(folds), 3, 3) or not np.isfinite(cov).all() \
                    or not np.isfinite(mean).all():
                raise ValueError("mean_residual must be 3 numbers and covariance 3x3 per fold")
            sentences = tuple(int(f["sentences"]) for f in folds)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: not a share-error file ({exc})") from None
        return cls(mean, np.stack([_root(c) for c in cov]), sentences)

    @classmethod
    def read(cls, path: str | Path) -> ErrorModel:
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{p}: cannot read the share errors ({exc})") from None
        return cls.from_dict(data, str(p))


def _root(cov: np.ndarray) -> np.ndarray:
    """A square root of a (possibly singular) covariance matrix: R with R @ R.T == cov."""
    w, v = np.linalg.eigh((cov + cov.T) / 2)
    return v * np.sqrt(np.clip(w, 0.0, None))


def fold_residuals(y_true: Sequence[str], proba: np.ndarray, fold: np.ndarray) -> ErrorModel:
    """The error model of out-of-fold probabilities: one entry per distinct *fold* value.

    *proba* ``(n, 3)`` in :data:`LABELS` order; *fold* ``(n,)`` (for several seeds, give
    distinct fold values per seed).
    """
    y = np.array([[lab == c for c in LABELS] for lab in y_true], dtype=float)
    resid = y - np.asarray(proba, dtype=float)
    fold = np.asarray(fold)
    means, roots, sizes = [], [], []
    for f in sorted(set(fold.tolist())):
        r = resid[fold == f]
        means.append(r.mean(axis=0))
        cov = np.cov(r, rowvar=False, bias=True) if len(r) > 1 else np.zeros((3, 3))
        roots.append(_root(cov))
        sizes.append(len(r))
    return ErrorModel(np.array(means), np.array(roots), tuple(sizes))
