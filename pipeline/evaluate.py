"""Evaluate stage: grouped, repeated cross-validation of the saved model's configuration.

``stance evaluate`` takes the hyperparameters of ``models/model.joblib`` (an unfitted
``sklearn.base.clone`` of it), and for each seed in ``evaluate.seeds`` makes out-of-fold (OOF)
predictions with ``StratifiedGroupKFold`` grouped by article. The two baselines -- the
training folds' majority class and a keyword lexicon -- are scored on the very same folds.

Outputs (all deterministic):

* ``reports/metrics.json``: for ``model``, ``majority`` and ``lexicon``: macro-F1, F_avg
  (mean F1 of support and oppose, the SemEval-2016 stance metric), accuracy and per-class
  precision/recall/F1, each the mean over seeds with a bootstrap interval that resamples
  *articles*; paired differences model - baseline with their intervals; fold-score summaries.
* ``reports/plots/confusion_matrix.json`` (DVC plot records ``{actual, predicted}``) and
  ``.png``; ``reports/plots/precision_recall.json`` (interpolated per-class PR curves);
  ``reports/misclassified.csv``; ``reports/classification_report.txt``. These use the OOF
  predictions of the first seed.
* An MLflow run with the registered model (see :mod:`pipeline.tracking`), unless disabled.

Caveat: hyperparameters were chosen by CV on the same sentences (``stance train``), so these
figures are slightly optimistic; with a small grid the effect is small but not nil.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from pipeline.config import PATHS, load_params, repo_root
from pipeline.data import LABELS, atomic_open, write_csv_atomic, write_json_atomic, write_text_atomic
from pipeline.model import add_trust_argument
from pipeline.params import EvaluateParams, MlflowParams, coerce, load_section

log = logging.getLogger("stance")

__all__ = [
    "METRIC_NAMES",
    "SYSTEMS",
    "add_evaluate_arguments",
    "bootstrap_weights",
    "confusion_by_article",
    "evaluate",
    "interpolated_pr_curves",
    "load_model",
    "oof_predictions",
    "rescore",
    "run_evaluate",
    "scores_from_confusion",
    "summarize",
]

#: Systems compared in ``metrics.json``: the model and the two baselines.
SYSTEMS = ("model", "majority", "lexicon")
#: Scalar metrics per system (besides per-class precision, recall, f1).
METRIC_NAMES = ("macro_f1", "f_avg", "accuracy")
_ROUND = 6


def default_path(key: str) -> Path:
    """Default location of ``PATHS[key]``, anchored at :func:`pipeline.config.repo_root`."""
    return repo_root() / PATHS[key]


# --------------------------------------------------------------------------- model & folds

def load_model(path: str | Path, *, trust: bool = False, train_report: str | Path | None = None):
    """Load the model with :func:`pipeline.model.load_model` and check it predicts only known labels.

    *train_report* adds a training report whose recorded sha256 is trusted.
    """
    from pipeline import model as M

    reports = M.default_reports() + ([Path(train_report)] if train_report else [])
    return M.load_model(path, trust=trust, reports=reports, labels=LABELS)


def _fit_predict(template, texts, labels, train_idx, test_idx):
    import numpy as np
    from sklearn.base import clone
    from sklearn.dummy import DummyClassifier

    x_train = [texts[i] for i in train_idx]
    y_train = [labels[i] for i in train_idx]
    x_test = [texts[i] for i in test_idx]
    est = clone(template).fit(x_train, y_train)
    proba = np.zeros((len(test_idx), len(LABELS)))
    raw = est.predict_proba(x_test)
    for j, c in enumerate(est.classes_):
        proba[:, LABELS.index(str(c))] = raw[:, j]
    majority = DummyClassifier(strategy="most_frequent").fit(x_train, y_train).predict(x_test)
    return np.asarray(est.predict(x_test), dtype=object), proba, np.asarray(majority, dtype=object)


def oof_predictions(template, texts: list[str], labels: list[str], groups: list[str],
                    seeds: list[int], n_splits: int, n_jobs: int = 1) -> dict[str, Any]:
    """Out-of-fold predictions of *template* and of the majority baseline, one pass per seed.

    Parameters
    ----------
    template : unfitted scikit-learn classifier (cloned for every fold)
    texts, labels, groups : lists of length n_samples (groups are article ids)
    seeds : list of int, length n_seeds
    n_splits : int
        Folds per seed (capped at the number of articles).

    Returns
    -------
    oof : dict
        ``model`` and ``majority``: object arrays ``(n_seeds, n_samples)`` of labels;
        ``proba``: float array ``(n_seeds, n_samples, 3)``, columns in ``LABELS`` order;
        ``fold``: int array ``(n_seeds, n_samples)``, the fold where each sample was held out;
        ``n_splits``: folds actually used.
    """
    import numpy as np
    from joblib import Parallel, delayed

    from pipeline.train import fit_errors, grouped_splits

    n, s = len(texts), len(seeds)
    jobs, where = [], []
    for si, seed in enumerate(seeds):
        for k, (tr, te) in enumerate(grouped_splits(labels, groups, n_splits, seed)):
            jobs.append(delayed(_fit_predict)(template, texts, labels, tr, te))
            where.append((si, k, te))
    with fit_errors("out-of-fold evaluation"):
        results = Parallel(n_jobs=n_jobs)(jobs)
    model = np.empty((s, n), dtype=object)
    majority = np.empty((s, n), dtype=object)
    proba = np.zeros((s, n, len(LABELS)))
    fold = np.full((s, n), -1, dtype=int)
    for (si, k, te), (pred, prob, maj) in zip(where, results):
        model[si, te], proba[si, te], majority[si, te], fold[si, te] = pred, prob, maj, k
    assert (fold >= 0).all(), "every sample is held out once per seed"
    return {"model": model, "majority": majority, "proba": proba, "fold": fold,
            "n_splits": int(fold.max()) + 1}


# --------------------------------------------------------------------------- metrics

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


# --------------------------------------------------------------------------- outputs

def _confusion_png(path: str | Path, cm, title: str) -> None:
    """Write a confusion-matrix heat map (rows actual, columns predicted) as a reproducible PNG."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.hashsalt": "stance", "font.family": "DejaVu Sans"}):
        fig = Figure(figsize=(4.8, 4.2), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        ax.imshow(cm, cmap="Blues", vmin=0)
        ax.set_xticks(range(len(LABELS)), labels=list(LABELS))
        ax.set_yticks(range(len(LABELS)), labels=list(LABELS))
        ax.set_xlabel("predicted")
        ax.set_ylabel("actual")
        ax.set_title(title, fontsize=9)
        top = cm.max() if cm.size else 0
        for i in range(len(LABELS)):
            for j in range(len(LABELS)):
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center",
                        color="white" if top and cm[i, j] > top / 2 else "black")
        fig.tight_layout()
        with atomic_open(path, "wb") as fh:
            # No "Software" chunk (it carries the matplotlib version); Agg PNGs have no date.
            fig.savefig(fh, format="png", metadata={"Software": None})


def _misclassified(df, oof, seed_index: int):
    import numpy as np
    import pandas as pd

    pred = oof["model"][seed_index]
    proba = oof["proba"][seed_index]
    y = df["label"].to_numpy(dtype=object)
    wrong_any = (oof["model"] != y[None, :]).sum(axis=0)
    out = df[["sentence_id", "article_id", "position", "text", "label"]].copy()
    out["predicted"] = pred
    out["confidence"] = np.round(proba.max(axis=1), 4)
    for j, label in enumerate(LABELS):
        out[f"p_{label}"] = np.round(proba[:, j], 4)
    out["fold"] = oof["fold"][seed_index]
    out["wrong_in_seeds"] = wrong_any
    out = out[pred != y]
    return pd.DataFrame(out).reset_index(drop=True)


def _classification_report(y, predictions: dict[str, Any], seed: int, n_splits: int) -> str:
    from sklearn.metrics import classification_report

    parts = [f"Out-of-fold predictions, seed {seed}, {n_splits}-fold StratifiedGroupKFold by article\n"]
    for name, pred in predictions.items():
        parts.append(f"== {name} ==\n")
        parts.append(classification_report(y, list(pred), labels=list(LABELS), digits=3, zero_division=0))
        parts.append("\n")
    return "".join(parts)


def evaluate(dataset_path: str | Path, model_path: str | Path, params: EvaluateParams | dict[str, Any], *,
             metrics_path: str | Path, plots_dir: str | Path, misclassified_path: str | Path,
             report_path: str | Path, train_report: str | Path | None = None,
             trust_model: bool = False) -> dict[str, Any]:
    """Compute and write every evaluation output (not the MLflow run).

    Parameters
    ----------
    dataset_path, model_path : inputs (``dataset.csv``, ``model.joblib``)
    params : EvaluateParams or mapping
        The ``evaluate`` section: ``seeds``, ``cv_folds``, ``bootstrap``, ``bootstrap_seed``,
        ``ci``, ``n_jobs``, ``lexicon`` (``support``, ``oppose``, ``negators``).
    metrics_path, plots_dir, misclassified_path, report_path : outputs.
    train_report : path, optional
        The training report of the model: its recorded sha256 makes the model trusted
        (see :mod:`pipeline.model`).
    trust_model : bool
        Load the model even if no report records its sha256 (``--trust-model``).

    Returns
    -------
    result : dict
        ``metrics`` (what went to metrics.json), ``fold_scores`` (system -> array
        ``(n_seeds, n_splits)``), ``paths`` (output name -> Path), ``n_splits``, ``model``
        (the loaded model).
    """
    import numpy as np
    from sklearn.base import clone

    from pipeline.features import lexicon_predict
    from pipeline.train import load_dataset, single_threaded_blas

    p = coerce(EvaluateParams, params, "evaluate")
    seeds, ci, n_boot = p.seeds, p.ci, p.bootstrap
    lex_words = {"support": p.lexicon.support, "oppose": p.lexicon.oppose, "negators": p.lexicon.negators}

    df = load_dataset(dataset_path)
    model = load_model(model_path, trust=trust_model, train_report=train_report)
    texts, labels, groups = df["text"].tolist(), df["label"].tolist(), df["article_id"].tolist()
    with single_threaded_blas():
        oof = oof_predictions(clone(model), texts, labels, groups, seeds, p.cv_folds, n_jobs=p.n_jobs)
    lexicon = np.asarray(lexicon_predict(texts, **lex_words), dtype=object)
    predictions = {"model": oof["model"], "majority": oof["majority"],
                   "lexicon": np.tile(lexicon, (len(seeds), 1))}
    n_articles = len(set(groups))
    weights = bootstrap_weights(n_articles, n_boot, p.bootstrap_seed)
    metrics = summarize(labels, predictions, groups, weights, ci)
    folds = {name: fold_scores(labels, pred, oof["fold"]) for name, pred in predictions.items()}
    for name in SYSTEMS:
        f = folds[name]
        metrics[name]["fold_macro_f1"] = {"mean": round(float(f.mean()), _ROUND), "std": round(float(f.std()), _ROUND),
                                          "min": round(float(f.min()), _ROUND), "max": round(float(f.max()), _ROUND)}
    metrics["data"] = {"n_sentences": len(df), "n_articles": n_articles,
                       **{f"n_{label}": int((df["label"] == label).sum()) for label in LABELS}}
    metrics["cv"] = {"n_splits": oof["n_splits"], "n_seeds": len(seeds), "bootstrap": n_boot, "ci": ci}

    plots = Path(plots_dir)
    paths = {"metrics": Path(metrics_path), "confusion_json": plots / "confusion_matrix.json",
             "confusion_png": plots / "confusion_matrix.png", "precision_recall": plots / "precision_recall.json",
             "misclassified": Path(misclassified_path), "classification_report": Path(report_path)}
    first = oof["model"][0]
    write_json_atomic(paths["confusion_json"], [{"actual": a, "predicted": str(p)} for a, p in zip(labels, first)])
    cm, _ = confusion_by_article(labels, first[None, :], groups)
    _confusion_png(paths["confusion_png"], cm.sum(axis=(0, 1)),
                   f"Out-of-fold, seed {seeds[0]}, {oof['n_splits']} grouped folds, n={len(df)}")
    write_json_atomic(paths["precision_recall"], interpolated_pr_curves(labels, oof["proba"][0]))
    write_csv_atomic(paths["misclassified"], _misclassified(df, oof, 0))
    write_text_atomic(paths["classification_report"], _classification_report(
        labels, {name: pred[0] for name, pred in predictions.items()}, seeds[0], oof["n_splits"]))
    write_json_atomic(paths["metrics"], metrics)
    return {"metrics": metrics, "fold_scores": folds, "paths": paths, "n_splits": oof["n_splits"], "model": model}


def rescore(template, dataset_path: str | Path, params: EvaluateParams | dict[str, Any]) -> float:
    """Macro-F1 of an unfitted copy of *template* on the evaluation of :func:`evaluate` (same
    data, seeds and folds; mean over seeds, like ``metrics.json``'s ``model.macro_f1.value``).
    Used to compare a new model with a champion that was evaluated on other data."""
    from sklearn.base import clone

    from pipeline.train import load_dataset, single_threaded_blas

    p = coerce(EvaluateParams, params, "evaluate")
    df = load_dataset(dataset_path)
    labels, groups = df["label"].tolist(), df["article_id"].tolist()
    with single_threaded_blas():
        oof = oof_predictions(clone(template), df["text"].tolist(), labels, groups, p.seeds, p.cv_folds,
                              n_jobs=p.n_jobs)
    cm, _ = confusion_by_article(labels, oof["model"], groups)
    return round(float(scores_from_confusion(cm.sum(axis=1))["macro_f1"].mean()), _ROUND)


# --------------------------------------------------------------------------- CLI

def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI flags of ``stance evaluate``."""
    parser.add_argument("--params", default=None, help=f"parameters file (default: <repo>/{PATHS['params']})")
    parser.add_argument("--dataset", default=None, help=f"labelled dataset CSV (default: <repo>/{PATHS['dataset']})")
    parser.add_argument("--model", default=None, help=f"trained model (default: <repo>/{PATHS['model']})")
    parser.add_argument("--train-report", default=None,
                        help=f"CV report of `stance train`, logged to MLflow if present "
                             f"(default: <repo>/{PATHS['train_report']})")
    parser.add_argument("--metrics", default=None, help=f"output metrics JSON (default: <repo>/{PATHS['metrics']})")
    parser.add_argument("--plots", default=None, help=f"output plots directory (default: <repo>/{PATHS['plots']})")
    parser.add_argument("--misclassified", default=None,
                        help=f"output CSV of misclassified sentences (default: <repo>/{PATHS['misclassified']})")
    parser.add_argument("--classification-report", default=None,
                        help=f"output text report (default: <repo>/{PATHS['classification_report']})")
    parser.add_argument("--no-mlflow", action="store_true", help="do not log an MLflow run (overrides mlflow.enabled)")
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///<repo>/mlflow.db)")
    add_trust_argument(parser)


def run_evaluate(args: argparse.Namespace) -> int:
    """Entry point of ``stance evaluate``; returns the exit status."""
    root = repo_root()
    params_path = Path(args.params) if args.params else root / PATHS["params"]
    all_params = load_params(params_path)
    params = load_section("evaluate", params_path)
    ml = load_section("mlflow", params_path)
    use_mlflow = ml.enabled and not args.no_mlflow
    train_report = Path(args.train_report) if args.train_report else root / PATHS["train_report"]
    tracking = None
    if use_mlflow:
        from pipeline import tracking

        # Fail fast, before minutes of cross-validation, if the store cannot be reached.
        uri = tracking.resolve_tracking_uri(args.tracking_uri, root)
        tracking.check_tracking_uri(uri, ml.connect_timeout)
    result = evaluate(
        Path(args.dataset) if args.dataset else root / PATHS["dataset"],
        Path(args.model) if args.model else root / PATHS["model"],
        params,
        metrics_path=Path(args.metrics) if args.metrics else root / PATHS["metrics"],
        plots_dir=Path(args.plots) if args.plots else root / PATHS["plots"],
        misclassified_path=Path(args.misclassified) if args.misclassified else root / PATHS["misclassified"],
        report_path=Path(args.classification_report) if args.classification_report
        else root / PATHS["classification_report"],
        train_report=train_report, trust_model=args.trust_model,
    )
    m = result["metrics"]
    line = ", ".join(f"{name} {m[name]['macro_f1']['value']:.3f} [{m[name]['macro_f1']['ci_low']:.3f}, "
                     f"{m[name]['macro_f1']['ci_high']:.3f}]" for name in SYSTEMS)
    log.info(f"macro-F1 (mean of {m['cv']['n_seeds']} seeds, {m['cv']['ci']:.0%} article bootstrap): {line}")
    if use_mlflow:
        from pipeline.registry import load_version_model

        dataset_path = Path(args.dataset) if args.dataset else root / PATHS["dataset"]
        model_name = ml.registered_model
        run = tracking.log_evaluation(
            uri, root=root, all_params=all_params, mlflow_params=ml, result=result,
            model_path=Path(args.model) if args.model else root / PATHS["model"],
            dataset_path=dataset_path,
            train_report_path=train_report if train_report.is_file() else None,
            params_path=params_path,
            rescore=lambda champion: rescore(load_version_model(model_name, champion.version), dataset_path, params),
        )
        log.info(f"MLflow run {run['run_id']} ({run['run_name']}) in experiment {run['experiment']!r}; "
                 f"model {run['model_name']} version {run['version']} "
                 + (f"is @{run['alias']} ({run['reason']})" if run["promoted"]
                    else f"is registered without @{run['alias']}: {run['reason']}"))
    _write_mlflow_record(Path(args.model) if args.model else root / PATHS["model"], ml if use_mlflow else None)
    return 0


def _write_mlflow_record(model_path: Path, mlflow_params: MlflowParams | None) -> None:
    """Write ``mlflow.json`` next to the model: what was logged, without run ids or paths.

    It is a cached (not git-tracked) DVC output of this stage, so a fresh clone lacks it and its
    first ``dvc repro`` re-runs ``evaluate`` and logs an MLflow run there too; its content is
    deterministic, so ``dvc.lock`` stays byte-identical.
    """
    from pipeline.model import file_sha256

    record: dict[str, Any] = {"logged": mlflow_params is not None, "model_sha256": file_sha256(model_path)}
    if mlflow_params is not None:
        record.update({
            "experiment": mlflow_params.experiment,
            "registered_model": mlflow_params.registered_model,
            "alias": mlflow_params.alias,
        })
    write_json_atomic(model_path.with_name("mlflow.json"), record)
