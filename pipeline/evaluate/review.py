"""Label review: ``stance review-labels`` points at the hand labels most worth re-reading.

The out-of-fold class probabilities come from the grouped cross-validation that ``stance train``
runs to select its model (``train.cv_folds`` folds, ``StratifiedGroupKFold``: an article is
entirely in training or in validation, so no sentence is scored by a model that saw its article).
cleanlab's :func:`cleanlab.filter.find_label_issues` then estimates the per-class noise rates from
these probabilities (confident learning) and flags the labels that are likely wrong, ranked by
self-confidence (the out-of-fold probability of the given label; lowest first).

The command writes a review file and never changes a label: each flagged row is for a person to
re-read with the annotation guide, and any change is made by hand in ``data/labels/labels.csv``
with its reason in the ``note`` column.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from pipeline.core.config import StanceError, add_path_argument
from pipeline.core.data import LABELS, load_dataset, write_rows_csv
from pipeline.core.params import TrainParams, load_section
from pipeline.train.engine import CVEngine

__all__ = ["FILTERS", "REVIEW_COLUMNS", "find_review_rows", "out_of_fold_proba", "review_labels"]

log = logging.getLogger("stance")

#: cleanlab's methods of flagging a label (``find_label_issues(filter_by=...)``).
FILTERS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given")
#: Columns of the review file, in order.
REVIEW_COLUMNS = ["rank", "sentence_id", "article_id", "position", "label", "model_label", "p_label",
                  "p_support", "p_oppose", "p_neutral", "text"]


def out_of_fold_proba(frame, params: TrainParams):
    """Out-of-fold probabilities (columns in ``LABELS`` order) of the candidate that grouped-CV
    selection picks on all of *frame*, exactly as ``stance train`` selects it."""
    import numpy as np

    engine = CVEngine(frame["text"].tolist(), frame["label"].tolist(), frame["article_id"].tolist(), params)
    report = engine.select(np.arange(len(frame)), params.seed)
    return report["oof_proba"]


def find_review_rows(frame, proba, filter_by: str = "prune_by_noise_rate") -> list[dict[str, Any]]:
    """The labels cleanlab flags, most suspicious first, as rows of :data:`REVIEW_COLUMNS`.

    Parameters
    ----------
    frame : pandas.DataFrame
        The labelled dataset (``sentence_id, article_id, position, text, label``).
    proba : array of shape (len(frame), 3)
        Out-of-fold class probabilities in ``LABELS`` order.
    filter_by : str
        cleanlab's method (``prune_by_noise_rate``, ``prune_by_class``, ``both``,
        ``confident_learning``, ``predicted_neq_given``).
    """
    import numpy as np
    from cleanlab.filter import find_label_issues

    labels = np.asarray([LABELS.index(v) for v in frame["label"]])
    if len(set(labels.tolist())) < 2:
        raise StanceError("label review needs at least two different labels in the dataset")
    proba = np.asarray(proba, dtype=float)
    ranked = find_label_issues(labels, proba, filter_by=filter_by, return_indices_ranked_by="self_confidence")
    rows = []
    for rank, i in enumerate(ranked.tolist(), start=1):
        rec = frame.iloc[i]
        rows.append({
            "rank": rank, "sentence_id": rec["sentence_id"], "article_id": rec["article_id"],
            "position": int(rec["position"]), "label": rec["label"],
            "model_label": LABELS[int(proba[i].argmax())], "p_label": f"{proba[i, labels[i]]:.4f}",
            **{f"p_{name}": f"{proba[i, j]:.4f}" for j, name in enumerate(LABELS)},
            "text": rec["text"],
        })
    return rows


def review_labels(dataset_path: str | Path, out_path: str | Path, params: TrainParams,
                  filter_by: str = "prune_by_noise_rate") -> list[dict[str, Any]]:
    """Run the review: load the dataset, compute grouped out-of-fold probabilities, rank, write."""
    frame = load_dataset(dataset_path)
    if len(frame) == 0:
        raise StanceError(f"{dataset_path}: no labelled sentences to review")
    proba = out_of_fold_proba(frame, params)
    rows = find_review_rows(frame, proba, filter_by)
    write_rows_csv(out_path, REVIEW_COLUMNS, rows, safe=True)  # read in a spreadsheet: no formulas
    return rows


def add_review_labels_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``stance review-labels``."""
    add_path_argument(parser, "--dataset", "dataset", "labelled dataset CSV")
    add_path_argument(parser, "--out", "label_review", "review file to write (CSV)")
    add_path_argument(parser, "--params", "params", "parameters file (its train section is used)")
    parser.add_argument("--filter-by", choices=FILTERS, default="prune_by_noise_rate",
                        help="cleanlab's method for flagging labels (default: prune_by_noise_rate)")


def run_review_labels(args: argparse.Namespace) -> int:
    """Write the review file and print how many labels were flagged, per label."""
    params = load_section("train", args.params)
    rows = review_labels(args.dataset, args.out, params, args.filter_by)
    counts = {name: sum(1 for r in rows if r["label"] == name) for name in LABELS}
    log.info("%d labels flagged for re-reading (%s) -> %s", len(rows),
             ", ".join(f"{k} {v}" for k, v in counts.items()), args.out)
    return 0
