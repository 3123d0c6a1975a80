"""Train stage: select the classifier's hyperparameters by grouped CV, refit, save.

``stance train`` reads ``data/processed/dataset.csv`` and the ``train`` section of
``params.yaml``, scores every candidate of the search grid by macro-F1 in cross-validation
grouped by article (``StratifiedGroupKFold``: one article's sentences are never split between
training and validation), refits the best candidate on all labelled sentences and writes

* ``models/model.joblib`` -- the fitted model (see :mod:`pipeline.model.features`), its scores
  calibrated on the selection CV's out-of-fold probabilities (``train.calibration``, see
  :mod:`pipeline.model.calibration`); byte-identical for identical inputs and params;
* ``reports/train.json`` -- the CV results of the grid, the chosen parameters and the calibration.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from pipeline.core.config import StanceError, add_path_argument
from pipeline.core.data import DATASET_COLUMNS, LABELS, load_dataset, write_json_atomic
from pipeline.core.params import TrainParams, coerce, load_section, to_dict
from pipeline.model.features import apply_priors, build_pipeline, fit_classifier
from pipeline.model.files import file_sha256, record_model, save_model, strip_volatile_state
from pipeline.train.engine import CVEngine, shift_proba
from pipeline.train.folds import fit_errors, group_stack_folds, single_threaded_blas

log = logging.getLogger("stance")

__all__ = [
    "REQUIRED_COLUMNS",
    "add_train_arguments",
    "fit_final",
    "run_train",
    "select_model",
    "train",
]

REQUIRED_COLUMNS = DATASET_COLUMNS
_ROUND = 6


def select_model(texts, labels, groups, params: dict[str, Any], keep_oof: bool = False) -> dict[str, Any]:
    """Score every grid candidate by grouped CV (macro-F1) and pick the best.

    The same procedure runs inside every outer fold of ``stance evaluate`` (nested CV); see
    :class:`pipeline.train.engine.CVEngine`.

    Parameters
    ----------
    texts : list of str, length n_samples
    labels, groups : array-like of str, shape (n_samples,)
    params : dict
        The ``train`` section.

    Returns
    -------
    report : dict
        ``candidates`` (list, in grid order, each with ``params``, ``fold_macro_f1``,
        ``mean_macro_f1``, ``std_macro_f1``, ``rank``), ``best_index``, ``best_params``,
        ``best_mean_macro_f1``, ``best_std_macro_f1``, ``cv`` (``n_splits``, ``seed``).
        The best candidate has the highest mean; ties go to the earliest in grid order.
        With *keep_oof*, also ``oof_proba``: the best candidate's out-of-fold probabilities
        (class priors applied), columns in ``LABELS`` order.
    """
    import numpy as np

    p = coerce(TrainParams, params, "train")
    engine = CVEngine(texts, labels, groups, p)
    report = engine.select(np.arange(len(engine.texts)), p.seed)
    oof = report.pop("oof_proba")
    if keep_oof:
        report["oof_proba"] = shift_proba(oof, report["priors"])
    report.pop("selected")
    if not report["priors"]:
        report.pop("priors")
    return report


def fit_final(texts, labels, params: dict[str, Any], overrides: dict[str, Any] | None = None, groups=None):
    """Fit ``build_pipeline(params + overrides)`` on all labelled sentences.

    ``groups`` (article ids, one per sentence) is needed by ``train.combine: stack``: its
    out-of-fold probabilities come from ``train.stack_folds`` folds grouped by article.

    Returns
    -------
    model : sklearn.pipeline.Pipeline
        Fitted, with volatile state removed (:func:`strip_volatile_state`).
    """
    chosen = to_dict(coerce(TrainParams, params, "train").with_overrides(overrides or {}))
    model = build_pipeline(chosen)
    if chosen.get("combine") == "stack":
        if groups is None:
            raise StanceError("train.combine: stack needs the article id of every sentence (groups)")
        group_stack_folds(model, labels, groups, chosen["stack_folds"], chosen["seed"])
    with fit_errors("fitting the final model"):
        if chosen.get("classifier") == "nblr":  # NB-LR: weights set by fit_classifier
            x = model.named_steps["features"].fit_transform(list(texts))
            model.steps[-1] = ("clf", fit_classifier(chosen, x, list(labels)))
        else:
            model.fit(list(texts), list(labels))
    return strip_volatile_state(model)


def train(dataset_path: str | Path, params: dict[str, Any], model_path: str | Path,
          report_path: str | Path) -> dict[str, Any]:
    """Run the whole stage: load, select by grouped CV, refit, write model and report.

    Parameters
    ----------
    dataset_path : path to ``dataset.csv``
    params : dict
        The ``train`` section of ``params.yaml``.
    model_path, report_path : output paths (``model.joblib``, ``train.json``).

    Returns
    -------
    report : dict
        What was written to *report_path* (see :func:`select_model`), plus ``data``
        (``n_sentences``, ``n_articles``, ``label_counts``, ``sha256``) and
        ``effective_params`` (the ``train`` section with the best candidate applied).
    """
    params = coerce(TrainParams, params, "train")
    df = load_dataset(dataset_path)
    texts, labels, groups = df["text"].tolist(), df["label"].tolist(), df["article_id"].tolist()
    with single_threaded_blas():
        report = select_model(texts, labels, groups, params, keep_oof=True)
        model = fit_final(texts, labels, params, report["best_params"], groups)
        if report.get("priors"):
            apply_priors(model, report["priors"])
        # imported here: the calibration module loads scikit-learn (start-up of the stages)
        from pipeline.model.calibration import calibrate, calibration_summary, fit_calibration, wrap

        oof = report.pop("oof_proba")
        truth = [LABELS.index(label) for label in labels]
        fitted = fit_calibration(oof, truth, params.calibration)
        report["calibration"] = {
            "method": fitted["method"], "temperature": round(fitted["temperature"], 6),
            "bias": {label: round(b, 6) for label, b in zip(LABELS, fitted["bias"])},
            "fitted_on": "out-of-fold probabilities of the selection CV (grouped by article); the figures "
                         "below are on those same probabilities (stance evaluate measures held-out articles)",
            "out_of_fold": {"raw": calibration_summary(oof, truth),
                            "calibrated": calibration_summary(
                                calibrate(oof, fitted["temperature"], fitted["bias"]), truth)},
        }
        model = wrap(model, fitted, list(LABELS))
    effective = to_dict(params.with_overrides(report["best_params"]))
    effective.pop("grid", None)
    report["effective_params"] = effective
    report["data"] = {
        "n_sentences": len(df),
        "n_articles": int(df["article_id"].nunique()),
        "label_counts": {label: int((df["label"] == label).sum()) for label in LABELS},
        "sha256": file_sha256(dataset_path),
    }
    report["classes"] = [str(c) for c in model.classes_]
    save_model(model, model_path)
    record_model(report, model_path)  # stance unpickles only models whose sha256 training recorded
    write_json_atomic(report_path, report)
    return report


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI flags of ``stance train``."""
    add_path_argument(parser, "--params", "params", "parameters file")
    add_path_argument(parser, "--dataset", "dataset", "labelled dataset CSV")
    add_path_argument(parser, "--model", "model", "output model")
    add_path_argument(parser, "--report", "train_report", "output CV report JSON")


def run_train(args: argparse.Namespace) -> int:
    """Entry point of ``stance train``; returns the exit status."""
    params = load_section("train", args.params)
    report = train(
        Path(args.dataset),
        params,
        Path(args.model),
        Path(args.report),
    )
    best = report["candidates"][report["best_index"]]
    log.info(f"{report['data']['n_sentences']} sentences from {report['data']['n_articles']} articles; "
             f"{len(report['candidates'])} candidate(s), {report['cv']['n_splits']}-fold grouped CV; "
             f"best {report['classifier']} {best['params']} macro-F1 {best['mean_macro_f1']:.3f} "
             f"+/- {best['std_macro_f1']:.3f}")
    return 0
