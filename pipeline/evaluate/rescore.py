"""Re-scoring a fitted model on the current evaluation, to compare it with the champion.

Private helper of :mod:`pipeline.evaluate.stage` (see :func:`pipeline.tracking.registry.champion_decision`).
"""

from __future__ import annotations

import os

from pipeline.core.data import load_dataset
from pipeline.core.params import EvaluateParams, coerce
from pipeline.evaluate.metrics import _ROUND, confusion_by_article, scores_from_confusion
from pipeline.train.folds import group_stack_folds, grouped_splits, single_threaded_blas, stack_folds

__all__ = ["rescore"]


def rescore(template, dataset_path: str | os.PathLike, params) -> float:
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
    scores = []
    with single_threaded_blas():
        for seed in p.seeds:
            pred = np.empty(len(texts), dtype=object)
            for tr, te in grouped_splits(labels, groups, p.cv_folds, seed):
                model = group_stack_folds(clone(template), [labels[i] for i in tr], [groups[i] for i in tr],
                                          stack_folds(template), seed)
                model = model.fit([texts[i] for i in tr], [labels[i] for i in tr])
                pred[te] = model.predict([texts[i] for i in te])
            cm, _ = confusion_by_article(labels, pred[None, :], groups)
            scores.append(float(scores_from_confusion(cm.sum(axis=(0, 1)))["macro_f1"]))
    return round(float(np.mean(scores)), _ROUND)
