"""Evaluation metrics: per-article confusion counts, macro-F1 / F_avg / accuracy from a confusion
matrix, article-bootstrap intervals, per-fold scores and interpolated precision-recall curves.
"""

from __future__ import annotations

from typing import Any

from pipeline.core.data import LABELS

__all__ = ["METRIC_NAMES", "SYSTEMS", "bootstrap_weights", "confusion_by_article", "fold_scores",
           "interpolated_pr_curves", "scores_from_confusion", "summarize"]


#: Systems compared in ``metrics.json``: the model and the two baselines.
SYSTEMS = ("model", "majority", "lexicon")


#: Scalar metrics per system (besides per-class precision, recall, f1).
METRIC_NAMES = ("macro_f1", "f_avg", "accuracy")


_ROUND = 6


def confusion_by_article(y_true, y_pred, groups):
    """Confusion counts per seed and article.

    Parameters
    ----------
    y_true : array-like of str, shape (n_samples,)
    y_pred : array-like of str, shape (n_seeds, n_samples)
    groups : array-like of str, shape (n_samples,)

    Returns
    -------
    counts : int array, shape (n_seeds, n_articles, 3, 3)
        ``counts[s, a, i, j]``: sentences of article ``a`` with true label ``LABELS[i]``
        predicted ``LABELS[j]`` under seed ``s``. Articles in sorted order of their ids.
    articles : list of str, length n_articles
    """
    import numpy as np

    index = {label: i for i, label in enumerate(LABELS)}
    y_pred = np.asarray(y_pred, dtype=object)
    articles = sorted(set(groups))
    a_index = {a: i for i, a in enumerate(articles)}
    a = np.array([a_index[g] for g in groups])
    t = np.array([index[v] for v in y_true])
    counts = np.zeros((y_pred.shape[0], len(articles), len(LABELS), len(LABELS)), dtype=np.int64)
    for s in range(y_pred.shape[0]):
        p = np.array([index[str(v)] for v in y_pred[s]])
        np.add.at(counts[s], (a, t, p), 1)
    return counts, articles


def scores_from_confusion(cm) -> dict[str, Any]:
    """Metrics from confusion matrices, vectorised over leading axes.

    Parameters
    ----------
    cm : array, shape (..., 3, 3)
        Rows: true label, columns: predicted label, in ``LABELS`` order.

    Returns
    -------
    scores : dict of arrays
        ``precision``, ``recall``, ``f1``: shape (..., 3); ``macro_f1``, ``f_avg``,
        ``accuracy``: shape (...). A ratio with a zero denominator counts as 0 (like
        scikit-learn's ``zero_division=0``).
    """
    import numpy as np

    cm = np.asarray(cm, dtype=float)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    predicted = cm.sum(axis=-2)
    actual = cm.sum(axis=-1)
    total = cm.sum(axis=(-2, -1))

    def ratio(num, den):
        return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den > 0)

    f1 = ratio(2 * tp, predicted + actual)
    sup, opp = LABELS.index("support"), LABELS.index("oppose")
    return {
        "precision": ratio(tp, predicted),
        "recall": ratio(tp, actual),
        "f1": f1,
        "macro_f1": f1.mean(axis=-1),
        "f_avg": (f1[..., sup] + f1[..., opp]) / 2,
        "accuracy": ratio(tp.sum(axis=-1), total),
    }


def bootstrap_weights(n_articles: int, n_boot: int, seed: int):
    """How often each article is drawn in each bootstrap replicate.

    Returns
    -------
    weights : int array, shape (n_boot, n_articles)
        Rows are multinomial draws of ``n_articles`` articles with replacement.
    """
    import numpy as np

    rng = np.random.default_rng(int(seed))
    return rng.multinomial(n_articles, np.full(n_articles, 1.0 / n_articles), size=int(n_boot))


def _flat_scores(cm) -> dict[str, Any]:
    """Scores as a flat dict ``name -> array(...)``, seeds averaged over axis -1 later."""
    sc = scores_from_confusion(cm)
    out = {name: sc[name] for name in METRIC_NAMES}
    for j, label in enumerate(LABELS):
        for m in ("precision", "recall", "f1"):
            out[f"{label}.{m}"] = sc[m][..., j]
    return out


def _interval(point, samples, ci: float) -> dict[str, float]:
    import numpy as np

    lo, hi = np.percentile(samples, [50 * (1 - ci), 50 * (1 + ci)])
    return {"value": round(float(point), _ROUND), "ci_low": round(float(lo), _ROUND),
            "ci_high": round(float(hi), _ROUND)}


def _nest(flat: dict[str, dict]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if "." in key:
            label, metric = key.split(".")
            out.setdefault("per_class", {}).setdefault(label, {})[metric] = value
        else:
            out[key] = value
    return out


def summarize(y_true, predictions: dict[str, Any], groups, weights, ci: float = 0.95) -> dict[str, Any]:
    """Point estimates and article-bootstrap intervals for every system, and paired differences.

    Parameters
    ----------
    y_true : array-like of str, shape (n_samples,)
    predictions : dict
        System name -> object array of labels, shape (n_seeds, n_samples).
    groups : array-like of str, shape (n_samples,)
    weights : int array, shape (n_boot, n_articles)
        From :func:`bootstrap_weights`; the same draws for every system (paired comparison).
    ci : float
        Coverage of the percentile intervals.

    Returns
    -------
    summary : dict
        ``{system: {macro_f1, f_avg, accuracy: {value, ci_low, ci_high}, per_class: {label:
        {precision, recall, f1: {...}}}}}`` where ``value`` is the mean over seeds of the metric
        on all OOF predictions, and the interval comes from the seed-averaged metric on
        article-resampled data; plus ``comparison``: ``model_minus_<baseline>`` for macro_f1 and
        f_avg (paired bootstrap).
    """
    import numpy as np

    point, boot = {}, {}
    for name, pred in predictions.items():
        cm, _articles = confusion_by_article(y_true, pred, groups)     # (S, A, 3, 3)
        point[name] = {k: v.mean(axis=0) for k, v in _flat_scores(cm.sum(axis=1)).items()}
        resampled = np.einsum("ba,saij->bsij", weights, cm)            # (B, S, 3, 3)
        boot[name] = {k: v.mean(axis=1) for k, v in _flat_scores(resampled).items()}
    out: dict[str, Any] = {}
    for name in predictions:
        out[name] = _nest({k: _interval(point[name][k], boot[name][k], ci) for k in point[name]})
    if "model" in predictions:
        comparison = {}
        for base in predictions:
            if base == "model":
                continue
            comparison[f"model_minus_{base}"] = {
                m: _interval(point["model"][m] - point[base][m], boot["model"][m] - boot[base][m], ci)
                for m in ("macro_f1", "f_avg", "accuracy")}
        out["comparison"] = comparison
    return out


def fold_scores(y_true, pred, fold) -> Any:
    """Macro-F1 (labels present in the fold, like scikit-learn's ``f1_macro``) per seed and fold.

    Returns
    -------
    scores : float array, shape (n_seeds, n_splits)
    """
    import numpy as np
    from sklearn.metrics import f1_score

    y = np.asarray(y_true, dtype=object)
    n_splits = int(fold.max()) + 1
    out = np.zeros((pred.shape[0], n_splits))
    for s in range(pred.shape[0]):
        for k in range(n_splits):
            m = fold[s] == k
            out[s, k] = f1_score(y[m], pred[s][m], average="macro", zero_division=0)
    return out


def interpolated_pr_curves(y_true, proba, n_points: int = 101) -> list[dict[str, float]]:
    """Per-class one-vs-rest precision-recall curves, interpolated on a common recall grid.

    The interpolated precision at recall ``r`` is the highest precision reached at any
    threshold whose recall is at least ``r`` (as in PASCAL VOC / COCO), so the three
    classes share the ``recall`` axis and DVC can draw them as three lines of one plot.

    Parameters
    ----------
    y_true : array-like of str, shape (n_samples,)
    proba : float array, shape (n_samples, 3), columns in ``LABELS`` order

    Returns
    -------
    records : list of dict, length n_points
        ``{"recall": r, "support": p, "oppose": p, "neutral": p}``, recall ascending.
    """
    import numpy as np
    from sklearn.metrics import precision_recall_curve

    y = np.asarray(y_true, dtype=object)
    grid = np.linspace(0.0, 1.0, n_points)
    curves = {}
    for j, label in enumerate(LABELS):
        positive = y == label
        if not positive.any():
            curves[label] = np.zeros(n_points)
            continue
        precision, recall, _ = precision_recall_curve(positive, proba[:, j])
        # Running max from the high-recall end: best precision at recall >= r.
        order = np.argsort(recall, kind="stable")
        rec, prec = recall[order], np.maximum.accumulate(precision[order][::-1])[::-1]
        idx = np.searchsorted(rec, grid, side="left")
        curves[label] = np.where(idx < len(rec), prec[np.minimum(idx, len(rec) - 1)], 0.0)
    return [{"recall": round(float(r), 4), **{label: round(float(curves[label][i]), 6) for label in LABELS}}
            for i, r in enumerate(grid)]
