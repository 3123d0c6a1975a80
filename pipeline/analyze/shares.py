"""Expected stance shares and intervals that include the model's error.

The expected share of a label over a set of sentences is the mean of their class
probabilities (probabilistic classify-and-count); a sentence with a hand label counts as
that label with probability 1.

The interval of a share comes from a two-level bootstrap (:func:`share_interval`). Each
replicate

1. resamples the articles of the cell with replacement (the sampling of articles),
2. draws one outer fold of the evaluation's grouped cross-validation, and
3. adds to the model-scored sentences of the replicate the out-of-fold error of that fold:
   the sum of as many sentence residuals (hand label one-hot minus the out-of-fold class
   probabilities) as there are model-scored sentences, drawn from the fold's residuals
   (as their normal approximation: the fold's mean residual times n plus sqrt(n) times
   its covariance root times a standard normal draw; :class:`pipeline.model.errors.ErrorModel`,
   written by ``stance evaluate`` to ``reports/share_errors.json``).

Step 2 carries the error a whole batch of unseen articles shares (the fold's mean
residual does not shrink with more sentences); step 3 the sentence-level error.
Hand-labelled sentences carry no model error. Without an error model (no
``share_errors.json``) the interval covers step 1 only and says so
(``interval`` = ``articles``).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from pipeline.model.errors import ErrorModel

__all__ = ["ErrorModel", "share_interval"]

#: Elements of one bootstrap chunk (replicates x articles): bounds memory on large cells.
_CHUNK = 2_000_000


def _seed(key: Sequence[str], seed: int) -> np.random.Generator:
    """A generator that depends only on *seed* and the cell's key (not on the order of cells)."""
    return np.random.default_rng([seed, zlib.crc32("\x1f".join(key).encode("utf-8"))])


def share_interval(n_model: np.ndarray, psum: np.ndarray, n_hand: np.ndarray, hsum: np.ndarray,
                   error: ErrorModel | None, *, key: Sequence[str], level: float = 0.95, n_boot: int = 1000,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected shares and their interval for one cell (a period and source, an actor, an article).

    Parameters
    ----------
    n_model, n_hand : (m,) arrays
        Per article of the cell: sentences scored by the model, sentences with a hand label.
    psum, hsum : (m, 3) arrays
        Per article: sums of the model's class probabilities, counts of the hand labels.
    error : ErrorModel or None
        Out-of-fold error of the probabilities; None: the interval covers sampling only.
    key : the cell's name (seeds the bootstrap, so each cell's interval does not depend
        on which other cells exist).

    Returns ``(expected, low, high)``, each ``(3,)`` in :data:`LABELS` order.
    """
    n_model = np.asarray(n_model, dtype=float)
    n_hand = np.asarray(n_hand, dtype=float)
    psum = np.asarray(psum, dtype=float).reshape(-1, 3)
    hsum = np.asarray(hsum, dtype=float).reshape(-1, 3)
    total = n_model.sum() + n_hand.sum()
    if total <= 0:
        return np.zeros(3), np.zeros(3), np.ones(3)
    expected = (psum.sum(axis=0) + hsum.sum(axis=0)) / total
    m = len(n_model)
    rng = _seed(key, seed)
    chunk = max(1, _CHUNK // max(m, 1))
    shares = []
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        if m > 1:
            idx = rng.integers(0, m, size=(b, m))
            nm = n_model[idx].sum(axis=1)
            num = psum[idx].sum(axis=1) + hsum[idx].sum(axis=1)
            den = nm + n_hand[idx].sum(axis=1)
        else:
            nm = np.full(b, n_model.sum())
            num = np.tile(psum.sum(axis=0) + hsum.sum(axis=0), (b, 1))
            den = np.full(b, total)
        if error is not None:
            f = rng.integers(0, error.n_folds, size=b)
            z = rng.standard_normal((b, 3))
            noise = np.einsum("bij,bj->bi", error.root[f], z)
            num = num + nm[:, None] * error.mean[f] + np.sqrt(nm)[:, None] * noise
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.where(den[:, None] > 0, num / np.where(den > 0, den, 1)[:, None], np.nan)
        shares.append(np.clip(s, 0.0, 1.0))
    allb = np.concatenate(shares)
    alpha = (1 - level) / 2
    low = np.nanquantile(allb, alpha, axis=0)
    high = np.nanquantile(allb, 1 - alpha, axis=0)
    return expected, np.minimum(low, expected), np.maximum(high, expected)
