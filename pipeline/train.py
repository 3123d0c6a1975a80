"""Train stage: select the classifier's hyperparameters by grouped CV, refit, save.

``stance train`` reads ``data/processed/dataset.csv`` and the ``train`` section of
``params.yaml``, scores every candidate of the search grid by macro-F1 in cross-validation
grouped by article (``StratifiedGroupKFold``: one article's sentences are never split between
training and validation), refits the best candidate on all labelled sentences and writes

* ``models/model.joblib`` -- a plain scikit-learn Pipeline (see :mod:`pipeline.features`);
  byte-identical for identical inputs and params;
* ``reports/train.json`` -- the CV results of the grid and the chosen parameters.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import itertools
import sys
from pathlib import Path
from typing import Any, Iterator

from pipeline import LABELS
from pipeline.config import PATHS, StanceError, atomic_open, load_params, repo_root, write_json_atomic

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

REQUIRED_COLUMNS = ("sentence_id", "article_id", "position", "text", "label")
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
    """Default location of ``PATHS[key]``, anchored at :func:`pipeline.config.repo_root`."""
    return repo_root() / PATHS[key]


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_dataset(path: str | Path):
    """Read and validate the labelled dataset.

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
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError:
        raise StanceError(f"{p}: dataset not found (run `stance dataset` first)") from None
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise StanceError(f"{p}: not a readable CSV file: {str(exc).splitlines()[0]}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise StanceError(f"{p}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, df.columns))}")
    for i, row in enumerate(df[list(REQUIRED_COLUMNS)].itertuples(index=False), start=2):
        if row.label not in LABELS:
            raise StanceError(f"{p}: line {i}: label {row.label!r} is not one of {', '.join(LABELS)}")
        if not row.text.strip():
            raise StanceError(f"{p}: line {i}: empty text (sentence_id {row.sentence_id!r})")
        if not row.sentence_id.strip() or not row.article_id.strip():
            raise StanceError(f"{p}: line {i}: empty sentence_id or article_id")
        if not row.position.strip().lstrip("-").isdigit():
            raise StanceError(f"{p}: line {i}: position {row.position!r} is not an integer")
    dup = df["sentence_id"].duplicated()
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        raise StanceError(f"{p}: line {i + 2}: duplicate sentence_id {df['sentence_id'].iloc[i]!r}")
    if df.empty:
        raise StanceError(f"{p}: no labelled sentences")
    df["position"] = df["position"].astype(int)
    return df


def _flatten_grid(node: Any, prefix: str, out: dict[str, list]) -> None:
    if isinstance(node, dict):
        for key in sorted(node):
            _flatten_grid(node[key], f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = list(node) if isinstance(node, list) else [node]


def grid_candidates(params: dict[str, Any]) -> list[dict[str, Any]]:
    """Candidates of ``train.grid.<classifier>``, in a fixed order.

    Parameters
    ----------
    params : dict
        The ``train`` section. The grid mirrors its nesting; each searched leaf is a list.

    Returns
    -------
    candidates : list of dict
        Each maps a dotted parameter path (e.g. ``"features.char.enabled"``) to one value;
        the Cartesian product of the axes, keys sorted, last key varying fastest. A grid that
        is missing or empty gives one candidate, ``{}`` (the params as they are).
    """
    name = params.get("classifier", "logreg")
    grid = (params.get("grid") or {}).get(name) or {}
    if not isinstance(grid, dict):
        raise StanceError(f"train.grid.{name}: expected a mapping of parameters to lists of values")
    axes: dict[str, list] = {}
    _flatten_grid(grid, "", axes)
    for key, values in axes.items():
        _lookup(params, key, f"train.grid.{name}.{key}")
        if not values:
            raise StanceError(f"train.grid.{name}.{key}: empty list of values")
    keys = list(axes)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(axes[k] for k in keys))]


def _lookup(params: dict[str, Any], dotted: str, where: str) -> Any:
    node: Any = params
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node or part == "grid":
            raise StanceError(f"{where}: no parameter train.{dotted} to search over")
        node = node[part]
    return node


def apply_overrides(params: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Return a deep copy of *params* with dotted-path *overrides* set (input untouched)."""
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
    :class:`pipeline.crossval.CVEngine`.

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

    from pipeline.crossval import CVEngine

    engine = CVEngine(texts, labels, groups, params)
    report = engine.select(np.arange(len(engine.texts)), int(params.get("seed", 0)))
    report.pop("oof_proba")
    report.pop("selected")
    if not report["priors"]:
        report.pop("priors")
    return report


def fit_final(texts, labels, params: dict[str, Any], overrides: dict[str, Any] | None = None):
    """Fit ``build_pipeline(params + overrides)`` on all labelled sentences.

    Returns
    -------
    model : sklearn.pipeline.Pipeline
        Fitted, with volatile state removed (:func:`strip_volatile_state`).
    """
    from pipeline.features import build_pipeline, fit_classifier

    chosen = apply_overrides(params, overrides or {})
    model = build_pipeline(chosen)
    with fit_errors("fitting the final model"):
        if chosen.get("classifier") == "nblr":  # NB-LR: weights set by fit_classifier
            x = model.named_steps["features"].fit_transform(list(texts))
            model.steps[-1] = ("clf", fit_classifier(chosen, x, list(labels)))
        else:
            model.fit(list(texts), list(labels))
    return strip_volatile_state(model)


def strip_volatile_state(model):
    """Remove fitted attributes that differ between identical runs, in place; return *model*.

    scikit-learn 1.9's text vectorizers cache ``_stop_words_id = id(self.stop_words)`` (a
    memory address) when they build their analyzer. It is only a "checked already" marker:
    without it the vectorizer re-checks its stop words on the next call, so dropping it
    changes no prediction but makes the pickled bytes reproducible. (``stop_words_``, a set
    with hash-seed-dependent order, is no longer stored by 1.9; it is removed if present.)
    """
    seen: set[int] = set()

    def visit(obj: Any) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, (list, tuple)):
            for item in obj:
                visit(item)
        elif isinstance(obj, dict):
            for item in obj.values():
                visit(item)
        elif hasattr(obj, "get_params") and hasattr(obj, "__dict__"):
            for attr in ("_stop_words_id", "stop_words_"):
                if attr in vars(obj):
                    delattr(obj, attr)
            for value in list(vars(obj).values()):
                visit(value)

    visit(model)
    return model


def save_model(model, path: str | Path) -> None:
    """Pickle *model* with joblib (zlib level 3) atomically to *path*."""
    import joblib

    with atomic_open(path, "wb") as fh:
        joblib.dump(model, fh, compress=("zlib", 3))


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
    df = load_dataset(dataset_path)
    texts, labels, groups = df["text"].tolist(), df["label"].tolist(), df["article_id"].tolist()
    with single_threaded_blas():
        report = select_model(texts, labels, groups, params)
        model = fit_final(texts, labels, params, report["best_params"])
        if report.get("priors"):
            from pipeline.features import apply_priors

            apply_priors(model, report["priors"])
    effective = apply_overrides(params, report["best_params"])
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
    params_path = Path(args.params) if args.params else default_path("params")
    params = load_params(params_path, "train")
    try:
        report = train(
            Path(args.dataset) if args.dataset else default_path("dataset"),
            params,
            Path(args.model) if args.model else default_path("model"),
            Path(args.report) if args.report else default_path("train_report"),
        )
    except StanceError as exc:
        msg = str(exc)
        if msg.startswith("train."):
            raise StanceError(f"{params_path}: {msg}") from None
        raise
    best = report["candidates"][report["best_index"]]
    print(f"stance train: {report['data']['n_sentences']} sentences from {report['data']['n_articles']} articles; "
          f"{len(report['candidates'])} candidate(s), {report['cv']['n_splits']}-fold grouped CV; "
          f"best {report['classifier']} {best['params']} macro-F1 {best['mean_macro_f1']:.3f} "
          f"+/- {best['std_macro_f1']:.3f}", file=sys.stderr)
    return 0
