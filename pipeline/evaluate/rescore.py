"""Re-scoring a fitted model on the current evaluation, to compare it with the champion.

Private helper of :mod:`pipeline.evaluate.stage` (see :func:`pipeline.tracking.registry.champion_decision`).
"""

from __future__ import annotations

import os

from pipeline.core.data import load_dataset
from pipeline.core.params import EvaluateParams, coerce
from pipeline.evaluate.metrics import _ROUND, bootstrap_weights, confusion_by_article, scores_from_confusion
from pipeline.train.folds import group_stack_folds, grouped_splits, single_threaded_blas, stack_folds

__all__ = ["Rescored", "rescore"]


class Rescored(float):
    """A re-scored macro-F1 (a float) that also carries its confusion counts per seed and article
    (``confusion``: int array ``(n_seeds, n_articles, 3, 3)``), so that two models re-scored on
    the same folds can be compared article by article (a paired bootstrap)."""

    confusion = None
    params: EvaluateParams | None = None

    def __new__(cls, value: float, confusion=None, params: EvaluateParams | None = None):
        obj = super().__new__(cls, value)
        obj.confusion, obj.params = confusion, params
        return obj

    def difference(self, other: Rescored) -> tuple[float, float, float]:
        """``(point, low, high)``: macro-F1 of this model minus *other*'s, re-scored on the same
        data and folds, with a paired article-bootstrap interval (``evaluate.bootstrap``
        replicates, ``evaluate.bootstrap_seed``, coverage ``evaluate.ci``): each replicate draws
        the same articles for both models; macro-F1 per seed, then the mean over seeds."""
        import numpy as np

        p = self.params or EvaluateParams()
        new, old = np.asarray(self.confusion), np.asarray(other.confusion)
        if new.shape != old.shape:
            raise ValueError(f"not re-scored on the same folds ({new.shape} vs {old.shape})")
        weights = bootstrap_weights(new.shape[1], p.bootstrap, p.bootstrap_seed)

        def macro(cm, w=None):  # -> (replicates,) or a scalar: mean over seeds
            pooled = cm.sum(axis=1) if w is None else np.einsum("ba,saij->bsij", w, cm)
            return np.asarray(scores_from_confusion(pooled)["macro_f1"]).mean(axis=-1)

        diff = macro(new, weights) - macro(old, weights)
        low, high = np.percentile(diff, [50 * (1 - p.ci), 50 * (1 + p.ci)])
        return (round(float(macro(new) - macro(old)), _ROUND), round(float(low), _ROUND),
                round(float(high), _ROUND))


def rescore(template, dataset_path: str | os.PathLike, params) -> Rescored:
    """Macro-F1 of an unfitted copy of *template*, its settings fixed, on the outer folds of
    :func:`pipeline.evaluate.stage.evaluate` (*params*: its ``evaluate`` section; same data, seeds and
    ``cv_folds``; mean over seeds).

    Used to compare a new model with a champion evaluated on other data or by another
    protocol: both fitted pipelines are re-scored this way, so the two figures share data,
    folds and procedure (no inner selection: a fitted pipeline has its settings already).
    """
    import numpy as np
    from sklearn.base import clone

    p = coerce(EvaluateParams, params, "evaluate")
    df = load_dataset(dataset_path)
    texts = df["text"].tolist()
    labels, groups = df["label"].tolist(), df["article_id"].tolist()
    scores, counts = [], []
    with single_threaded_blas():
        for seed in p.seeds:
            pred = np.empty(len(texts), dtype=object)
            for tr, te in grouped_splits(labels, groups, p.cv_folds, seed):
                model = group_stack_folds(clone(template), [labels[i] for i in tr], [groups[i] for i in tr],
                                          stack_folds(template), seed)
                model = model.fit([texts[i] for i in tr], [labels[i] for i in tr])
                pred[te] = model.predict([texts[i] for i in te])
            cm, _ = confusion_by_article(labels, pred[None, :], groups)
            counts.append(cm[0])
            scores.append(float(scores_from_confusion(cm.sum(axis=(0, 1)))["macro_f1"]))
    return Rescored(round(float(np.mean(scores)), _ROUND), np.stack(counts), p)
