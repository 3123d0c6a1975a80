"""Calibration of the scores on held-out articles: figures for metrics.json and the reliability diagram.

Scores of sentences the model did not see (the outer folds of nested CV, the test side of the
cross-source and cross-target pairs), before (``raw``) and after (``calibrated``) the
calibration that ``stance train`` applies (``train.calibration``), each fitted inside the outer
fold on the inner selection's out-of-fold probabilities:

``ece``
    Top-label expected calibration error (10 equal-width bins of the highest score).
``brier``
    Multi-class Brier score (squared distance to the one-hot truth, summed over classes).
``log_loss``
    Mean negative log-probability of the true class.
``share_error``
    Mean absolute difference, over classes, between the mean score and the class's share of the
    sentences: the error of a stance share estimated by averaging the scores (nested CV: of each
    outer fold's held-out articles, averaged over the folds; cross pairs: of the test side).

The reliability diagram (``reports/plots/reliability.json`` for DVC, ``reliability.png``) shows,
for each class and each bin of its score, the share of sentences of that class (first seed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.core.data import LABELS
from pipeline.evaluate.plots import _png

__all__ = ["BINS", "calibration_metrics", "reliability_png", "reliability_records"]

#: Equal-width bins of the reliability diagram and of the ECE.
BINS = 10


def _truth(labels) -> list[int]:
    return [LABELS.index(str(v)) for v in labels]


def calibration_metrics(raw, calibrated, labels, method: str, folds=None) -> dict[str, Any]:
    """Mean over seeds of :func:`~pipeline.model.calibration.calibration_summary` for the raw and the
    calibrated scores (*raw*, *calibrated*: arrays ``(n_seeds, n, 3)`` in ``LABELS`` order). With
    *folds* (the outer fold of every sentence, ``(n_seeds, n)``), the share error is that of each
    outer fold's held-out articles, averaged over the folds (a corpus the model did not see),
    not that of all sentences pooled."""
    import numpy as np

    # (loads scikit-learn: imported where needed)
    from pipeline.model.calibration import calibration_summary, share_error

    y = np.asarray(_truth(labels))
    out: dict[str, Any] = {"method": method}
    for name, scores in (("raw", raw), ("calibrated", calibrated)):
        per_seed = [calibration_summary(s, y) for s in scores]
        if folds is not None:
            for d, s, f in zip(per_seed, scores, folds):
                d["share_error"] = float(np.mean([share_error(s[f == k], y[f == k]) for k in np.unique(f)]))
        out[name] = {k: round(float(np.mean([d[k] for d in per_seed])), 6) for k in per_seed[0]}
    return out


def reliability_records(raw, calibrated, labels) -> list[dict[str, Any]]:
    """Reliability-diagram records of one seed's scores: per bin (``bin``: its centre) and class,
    the share of that class among the sentences in the bin, for the calibrated scores (``<class>``)
    and the raw ones (``raw_<class>``); ``ideal`` is the bin centre. A class with no sentence in
    a bin has null there (every record has every field: DVC reads the fields off the first one)."""
    from pipeline.model.calibration import reliability_table  # (loads scikit-learn: imported where needed)

    y = _truth(labels)
    cal = reliability_table(calibrated, y, list(LABELS), BINS)
    raw_rows = reliability_table(raw, y, list(LABELS), BINS)
    records = []
    for c, r in zip(cal, raw_rows):
        rec: dict[str, Any] = {"bin": c["bin"], "ideal": c["bin"]}
        rec.update({label: c[label] for label in LABELS})
        rec.update({f"raw_{label}": r[label] for label in LABELS})
        records.append(rec)
    return records


def reliability_png(path: str | Path, raw, calibrated, labels, title: str) -> None:
    """Reliability diagram (raw and calibrated side by side, one line per class, marker area by
    the number of sentences in the bin) as a reproducible PNG."""
    from pipeline.model.calibration import reliability_table  # (loads scikit-learn: imported where needed)

    y = _truth(labels)
    colors = {"support": "tab:green", "oppose": "tab:red", "neutral": "tab:gray"}
    with _png(path, (8.4, 4.2)) as fig:
        for k, (name, scores) in enumerate((("raw scores", raw), ("calibrated scores", calibrated))):
            ax = fig.add_subplot(1, 2, k + 1)
            ax.plot([0, 1], [0, 1], color="black", linewidth=0.8, linestyle=":", label="ideal")
            for label in LABELS:
                rows = [r for r in reliability_table(scores, y, list(LABELS), BINS) if r[label] is not None]
                ax.plot([r[f"{label}_score"] for r in rows], [r[label] for r in rows], color=colors.get(label),
                        marker="o", markersize=3, label=label)
                ax.scatter([r[f"{label}_score"] for r in rows], [r[label] for r in rows], color=colors.get(label),
                           s=[4 + r[f"{label}_n"] / 4 for r in rows], alpha=0.3)
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.set_xlabel("mean score in the bin")
            ax.set_ylabel("share of sentences of the class")
            ax.set_title(name, fontsize=9)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, loc="upper left")
        fig.suptitle(title, fontsize=9)
