"""Train stage: select the classifier's hyperparameters by grouped CV, refit, save.

``stance train`` reads ``data/processed/dataset.csv`` and the ``train`` section of
``params.yaml``, scores every candidate of the search grid by macro-F1 in cross-validation
grouped by article (``StratifiedGroupKFold``: one article's sentences are never split between
training and validation), refits the best candidate on all labelled sentences and writes

* ``models/model.joblib`` -- a plain scikit-learn Pipeline (see :mod:`pipeline.model.features`);
  byte-identical for identical inputs and params;
* ``reports/train.json`` -- the CV results of the grid and the chosen parameters.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import itertools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.core.config import PATHS, StanceError, resolve_path
from pipeline.core.data import DATASET_COLUMNS, LABELS, read_csv_rows, write_json_atomic
from pipeline.core.params import TrainParams, coerce, load_section, to_dict
from pipeline.model.files import file_sha256, record_model, save_model, strip_volatile_state

log = logging.getLogger("stance")

__all__ = [
    "REQUIRED_COLUMNS",
    "add_train_arguments",
    "apply_overrides",
    "file_sha256",
    "fit_errors",
    "fit_final",
    "grid_candidates",
    "grouped_splits",
    "load_dataset",
    "run_train",
    "save_model",
    "select_model",
    "single_threaded_blas",
    "strip_volatile_state",
    "train",
]

REQUIRED_COLUMNS = DATASET_COLUMNS
_ROUND = 6


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


def default_path(key: str) -> Path:
    """Default location of ``PATHS[key]``, anchored at :func:`pipeline.core.config.repo_root`."""
    return resolve_path(None, key)


def load_dataset(path: str | Path):
    """Read and validate the labelled dataset with the strict reader of :mod:`pipeline.core.data`.

    Parameters
    ----------
    path : str or Path
        CSV with columns ``sentence_id, article_id, position, text, label`` (others ignored).

    Returns
    -------
    frame : pandas.DataFrame, shape (n_sentences, >= 5)
        All columns as str except ``position`` (int); file order kept.

    Raises
    ------
    StanceError
        Missing file or column, empty text/id, label outside ``support/oppose/neutral``,
        duplicate ``sentence_id``; the message names the file, the line and the value.
    """
    import pandas as pd

    p = Path(path)
    fields, records = read_csv_rows(p, DATASET_COLUMNS, what="dataset (run `stance dataset` first)")
    seen: dict[str, int] = {}
    for line, row in records:
        if row["label"] not in LABELS:
            raise StanceError(f"{p}, line {line}: label {row['label']!r} is not one of {', '.join(LABELS)}")
        if not row["text"].strip():
            raise StanceError(f"{p}, line {line}: empty text (sentence_id {row['sentence_id']!r})")
        if not row["sentence_id"].strip() or not row["article_id"].strip():
            raise StanceError(f"{p}, line {line}: empty sentence_id or article_id")
        if not row["position"].strip().lstrip("-").isdigit():
            raise StanceError(f"{p}, line {line}: position {row['position']!r} is not an integer")
        if row["sentence_id"] in seen:
            raise StanceError(f"{p}, line {line}: duplicate sentence_id {row['sentence_id']!r} "
                              f"(first on line {seen[row['sentence_id']]})")
        seen[row["sentence_id"]] = line
    if not records:
        raise StanceError(f"{p}: no labelled sentences")
    df = pd.DataFrame([row for _, row in records], columns=fields)
    df["position"] = df["position"].astype(int)
    return df


def _flatten_grid(node: Any, prefix: str, out: dict[str, list]) -> None:
    if isinstance(node, dict):
        for key in sorted(node):
            _flatten_grid(node[key], f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = list(node) if isinstance(node, list) else [node]


def grid_candidates(params: TrainParams | dict[str, Any]) -> list[dict[str, Any]]:
    """Candidates of ``train.grid.<classifier>``, in a fixed order.

    Parameters
    ----------
    params : TrainParams or mapping
        The ``train`` section (a mapping is validated, grid included, by :mod:`pipeline.core.params`).

    Returns
    -------
    candidates : list of dict
        Each maps a dotted parameter path (e.g. ``"features.char.enabled"``) to one value;
        the Cartesian product of the axes, keys sorted, last key varying fastest. A grid that
        is missing or empty gives one candidate, ``{}`` (the params as they are).
    """
    p = coerce(TrainParams, params, "train")
    axes: dict[str, list] = {}
    _flatten_grid((p.grid or {}).get(p.classifier) or {}, "", axes)
    keys = list(axes)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(axes[k] for k in keys))]


def apply_overrides(params: TrainParams | dict[str, Any], overrides: dict[str, Any]):
    """Return a copy of *params* with dotted-path *overrides* set (input untouched).

    A :class:`~pipeline.core.params.TrainParams` gives a checked TrainParams; a mapping a deep-copied dict.
    """
    if isinstance(params, TrainParams):
        return params.with_overrides(overrides)
    out = copy.deepcopy(params)
    for dotted, value in overrides.items():
        node = out
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = copy.deepcopy(value)
    return out


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


def select_model(texts, labels, groups, params: dict[str, Any]) -> dict[str, Any]:
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
    """
    import numpy as np

    from pipeline.train.engine import CVEngine

    p = coerce(TrainParams, params, "train")
    engine = CVEngine(texts, labels, groups, p)
    report = engine.select(np.arange(len(engine.texts)), p.seed)
    report.pop("oof_proba")
    report.pop("selected")
    if not report["priors"]:
        report.pop("priors")
    return report


def group_stack_folds(model, labels, groups, n_splits: int, seed: int):
    """Give a ``StackingClassifier`` (``train.combine: stack``) combiner folds grouped by article
    (:func:`grouped_splits` of *labels* and *groups*, the rows it will be fitted on); other
    models are returned unchanged."""
    if type(model).__name__ == "StackingClassifier":
        model.set_params(cv=grouped_splits(list(labels), list(groups), n_splits, seed))
    return model


def fit_final(texts, labels, params: dict[str, Any], overrides: dict[str, Any] | None = None, groups=None):
    """Fit ``build_pipeline(params + overrides)`` on all labelled sentences.

    ``groups`` (article ids, one per sentence) is needed by ``train.combine: stack``: its
    out-of-fold probabilities come from ``train.stack_folds`` folds grouped by article.

    Returns
    -------
    model : sklearn.pipeline.Pipeline
        Fitted, with volatile state removed (:func:`strip_volatile_state`).
    """
    from pipeline.model.features import build_pipeline, fit_classifier

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
        report = select_model(texts, labels, groups, params)
        model = fit_final(texts, labels, params, report["best_params"], groups)
        if report.get("priors"):
            from pipeline.model.features import apply_priors

            apply_priors(model, report["priors"])
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
    parser.add_argument("--params", default=None, help=f"parameters file (default: <repo>/{PATHS['params']})")
    parser.add_argument("--dataset", default=None, help=f"labelled dataset CSV (default: <repo>/{PATHS['dataset']})")
    parser.add_argument("--model", default=None, help=f"output model (default: <repo>/{PATHS['model']})")
    parser.add_argument("--report", default=None,
                        help=f"output CV report JSON (default: <repo>/{PATHS['train_report']})")


def run_train(args: argparse.Namespace) -> int:
    """Entry point of ``stance train``; returns the exit status."""
    params = load_section("train", args.params)
    report = train(
        Path(args.dataset) if args.dataset else default_path("dataset"),
        params,
        Path(args.model) if args.model else default_path("model"),
        Path(args.report) if args.report else default_path("train_report"),
    )
    best = report["candidates"][report["best_index"]]
    log.info(f"{report['data']['n_sentences']} sentences from {report['data']['n_articles']} articles; "
             f"{len(report['candidates'])} candidate(s), {report['cv']['n_splits']}-fold grouped CV; "
             f"best {report['classifier']} {best['params']} macro-F1 {best['mean_macro_f1']:.3f} "
             f"+/- {best['std_macro_f1']:.3f}")
    return 0
