"""Evaluate stage: nested grouped cross-validation, cross-source tests, learning curve.

``stance evaluate`` scores the *training procedure* of the ``train`` section, not one fitted
model: for each seed in ``evaluate.seeds``, ``StratifiedGroupKFold`` (``cv_folds`` outer folds,
grouped by article); inside every outer fold the hyperparameters are chosen by grouped CV
(``inner_folds``) on the outer-training articles only, the winner is refitted there and
predicts the held-out articles (nested CV, :mod:`pipeline.train.engine`). The two baselines -- the
training folds' majority class and a keyword lexicon -- are scored on the very same folds.

Also: cross-source evaluation (train on one kind of document, e.g. official UN/US texts, test
on another, e.g. news; kinds from regular expressions over the ``# source`` URL and article id,
``evaluate.cross_source``) and a learning curve (nested CV on a share of the training articles,
``evaluate.learning_curve``).

Outputs (all deterministic):

* ``reports/metrics.json``: for ``model``, ``majority`` and ``lexicon``: macro-F1, F_avg
  (mean F1 of support and oppose, the SemEval-2016 stance metric), accuracy and per-class
  precision/recall/F1, each the mean over seeds with a bootstrap interval that resamples
  *articles*; paired differences model - baseline with their intervals; fold-score summaries;
  which grid candidate won how often; ``cross_source`` and ``learning_curve`` sections.
* ``reports/plots/confusion_matrix.json`` (DVC plot records ``{actual, predicted}``) and
  ``.png``; ``reports/plots/precision_recall.json`` (interpolated per-class PR curves);
  ``reports/plots/learning_curve.{json,png}``; ``reports/misclassified.csv``;
  ``reports/classification_report.txt``. These use the nested OOF predictions of the first seed.
* An MLflow run with the registered model (see :mod:`pipeline.tracking.runs`), unless disabled.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from pipeline.core.config import PATHS, StanceError, load_params, repo_root
from pipeline.core.data import LABELS, write_csv_atomic, write_json_atomic, write_text_atomic
from pipeline.core.params import EvaluateParams, MlflowParams, TrainParams, coerce, load_section, to_dict
from pipeline.evaluate.plots import _confusion_png, _learning_curve_png
from pipeline.model.files import add_trust_argument

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
    """Default location of ``PATHS[key]``, anchored at :func:`pipeline.core.config.repo_root`."""
    return repo_root() / PATHS[key]


# --------------------------------------------------------------------------- model & folds

def load_model(path: str | Path, *, trust: bool = False, train_report: str | Path | None = None):
    """Load the model with :func:`pipeline.model.files.load_model` and check it predicts only known labels.

    *train_report* adds a training report whose recorded sha256 is trusted.
    """
    from pipeline.model import files

    reports = files.default_reports() + ([Path(train_report)] if train_report else [])
    return files.load_model(path, trust=trust, reports=reports, labels=LABELS)


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

    parts = [f"Nested CV out-of-fold predictions, seed {seed}, {n_splits}-fold StratifiedGroupKFold by article "
             f"(hyperparameters chosen inside each outer fold)\n"]
    for name, pred in predictions.items():
        parts.append(f"== {name} ==\n")
        parts.append(classification_report(y, list(pred), labels=list(LABELS), digits=3, zero_division=0))
        parts.append("\n")
    return "".join(parts)


def _selection_counts(selected) -> dict[str, int]:
    """How often each grid candidate won the inner selection (over seeds and outer folds)."""
    counts: dict[str, int] = {}
    for per_seed in selected:
        for info in per_seed:
            key = " ".join(f"{k}:{v}" for k, v in sorted(info["best_params"].items())) or "as configured"
            if info["selection"] != "inner_cv":
                key += " no inner CV"
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def _fold_summary(scores) -> dict[str, float]:
    return {"mean": round(float(scores.mean()), _ROUND), "std": round(float(scores.std()), _ROUND),
            "min": round(float(scores.min()), _ROUND), "max": round(float(scores.max()), _ROUND)}


def _article_sources(articles_path: str | Path | None) -> dict[str, str]:
    """article id -> ``# source`` URL from ``data/interim/articles.csv`` ({} without the file)."""
    import csv

    if articles_path is None or not Path(articles_path).is_file():
        return {}
    p = Path(articles_path)
    try:
        with open(p, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise StanceError(f"{p}: not a readable CSV file: {exc}") from None
    if rows and ("article_id" not in rows[0] or "source" not in rows[0]):
        raise StanceError(f"{p}: needs the columns article_id and source")
    return {r["article_id"]: r["source"] or "" for r in rows}


def _int_list(value, where: str) -> list[int]:
    if not isinstance(value, list) or not value or not all(isinstance(v, int) and not isinstance(v, bool)
                                                           for v in value):
        raise StanceError(f"{where}: expected a non-empty list of integers, got {value!r}")
    return list(value)


def _settings(params: dict[str, Any], train_params: dict[str, Any]) -> dict[str, Any]:
    """The ``evaluate`` section checked and with defaults filled in."""
    from pipeline.model.features import word_list

    seeds = _int_list(params.get("seeds", [0]), "evaluate.seeds")
    ci = float(params.get("ci", 0.95))
    if not 0 < ci < 1:
        raise StanceError(f"evaluate.ci: expected a coverage between 0 and 1, got {ci!r}")
    n_boot = int(params.get("bootstrap", 1000))
    if n_boot < 1:
        raise StanceError(f"evaluate.bootstrap: expected a positive number of replicates, got {n_boot!r}")
    outer = int(params.get("cv_folds", 5))
    inner = int(params.get("inner_folds") or train_params.get("cv_folds", 5))
    if outer < 2 or inner < 2:
        raise StanceError(f"evaluate.cv_folds / inner_folds: need at least 2 folds, got {outer} / {inner}")
    lex = params.get("lexicon") or {}
    lc = params.get("learning_curve") or {}
    fractions = lc.get("fractions") or [1.0]
    if not isinstance(fractions, list) or not all(isinstance(f, (int, float)) and not isinstance(f, bool)
                                                   for f in fractions):
        raise StanceError(f"evaluate.learning_curve.fractions: expected a list of numbers, got {fractions!r}")
    return {"seeds": seeds, "ci": ci, "n_boot": n_boot, "outer": outer, "inner": inner,
            "n_jobs": int(params.get("n_jobs", 1) or 1), "boot_seed": int(params.get("bootstrap_seed", 0)),
            "lexicon": {k: word_list(lex, k, "evaluate.lexicon") for k in ("support", "oppose", "negators")},
            "cross_source": params.get("cross_source") or {}, "lc_enabled": bool(lc.get("enabled", True)),
            "lc_seeds": _int_list(lc.get("seeds", seeds[:1]), "evaluate.learning_curve.seeds"),
            "fractions": sorted(float(f) for f in fractions)}


def _nested_metrics(oof, labels, groups, lexicon, cfg) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """metrics.json's nested-CV part; also the predictions and fold scores per system."""
    import numpy as np

    predictions = {"model": oof["model"], "majority": oof["majority"],
                   "lexicon": np.tile(lexicon, (len(cfg["seeds"]), 1))}
    weights = bootstrap_weights(len(set(groups)), cfg["n_boot"], cfg["boot_seed"])
    metrics = summarize(labels, predictions, groups, weights, cfg["ci"])
    folds = {name: fold_scores(labels, pred, oof["fold"]) for name, pred in predictions.items()}
    for name in SYSTEMS:
        metrics[name]["fold_macro_f1"] = _fold_summary(folds[name])
    metrics["cv"] = {"nested": True, "n_splits": oof["n_splits"], "inner_folds": cfg["inner"],
                     "n_seeds": len(cfg["seeds"]), "bootstrap": cfg["n_boot"], "ci": cfg["ci"]}
    metrics["selection"] = _selection_counts(oof["selected"])
    return metrics, predictions, folds


def _cross_source_metrics(engine, kind_of: dict[str, str], lexicon, cfg, log) -> dict[str, Any]:
    """``cross_source`` of metrics.json: per ``[train_kind, test_kind]`` pair, every system's
    scores on the test kind with an article bootstrap over the test articles."""
    import time

    import numpy as np

    from pipeline.train.engine import cross_source
    from pipeline.train.stage import single_threaded_blas

    out = {}
    y, g, seeds = engine.y, engine.groups, cfg["seeds"]
    for pair in cfg["cross_source"].get("pairs") or []:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(k, str) for k in pair)):
            raise StanceError(f"evaluate.cross_source.pairs: expected [train_kind, test_kind] pairs, got {pair!r}")
        t0 = time.perf_counter()
        with single_threaded_blas():
            res = cross_source(engine, kind_of, pair[0], pair[1], seeds)
        if res is None:
            log(f"cross-source {pair[0]} -> {pair[1]}: skipped (no labelled sentences on one side)")
            continue
        te = res["test_idx"]
        test_groups = g[te].tolist()
        w = bootstrap_weights(len(set(test_groups)), cfg["n_boot"], cfg["boot_seed"])
        summary = summarize(y[te].tolist(), {"model": res["model"], "majority": res["majority"],
                                             "lexicon": np.tile(lexicon[te], (len(seeds), 1))},
                            test_groups, w, cfg["ci"])
        summary["data"] = {"n_train_sentences": int(len(res["train_idx"])),
                           "n_train_articles": len(set(g[res["train_idx"]].tolist())),
                           "n_test_sentences": int(len(te)), "n_test_articles": len(set(test_groups))}
        summary["selection"] = _selection_counts([res["selected"]])
        out[f"{pair[0]}_to_{pair[1]}"] = summary
        log(f"cross-source {pair[0]} -> {pair[1]}: macro-F1 {summary['model']['macro_f1']['value']:.3f} "
            f"({time.perf_counter() - t0:.1f} s)")
    return out


def _learning_curve_metrics(engine, oof, labels, groups, lexicon, cfg, log) -> tuple[dict, list[dict]]:
    """``learning_curve`` of metrics.json and the plot records (one per training fraction)."""
    import time

    import numpy as np

    from pipeline.train.engine import learning_curve
    from pipeline.train.stage import single_threaded_blas

    seeds, lc_seeds = cfg["seeds"], cfg["lc_seeds"]
    reuse = {}
    if set(lc_seeds) <= set(seeds):  # 100% = the nested run already made for these seeds
        rows = [seeds.index(s) for s in lc_seeds]
        k = oof["n_splits"]
        reuse[1.0] = {"model": oof["model"][rows],
                      "n_train_articles": [n for si in rows for n in oof["n_train_articles"][si * k:(si + 1) * k]]}
    t0 = time.perf_counter()
    with single_threaded_blas():
        curve = learning_curve(engine, lc_seeds, cfg["outer"], cfg["fractions"], reuse=reuse, n_jobs=cfg["n_jobs"])
    log(f"learning curve: fractions {cfg['fractions']} x {len(lc_seeds)} seed(s) ({time.perf_counter() - t0:.1f} s)")
    weights = bootstrap_weights(len(set(groups)), cfg["n_boot"], cfg["boot_seed"])
    lex_tiled = np.tile(lexicon, (len(lc_seeds), 1))
    metrics, records = {}, []
    for f, res in curve.items():
        s = summarize(labels, {"model": res["model"], "lexicon": lex_tiled}, groups, weights, cfg["ci"])
        macro, oppose = s["model"]["macro_f1"], s["model"]["per_class"]["oppose"]["f1"]
        n_train = round(float(np.mean(res["n_train_articles"])), 2)
        records.append({"fraction": round(f, 4), "n_train_articles": n_train, "macro_f1": macro["value"],
                        "ci_low": macro["ci_low"], "ci_high": macro["ci_high"], "oppose_f1": oppose["value"],
                        "lexicon_macro_f1": s["lexicon"]["macro_f1"]["value"]})
        metrics[f"pct_{int(round(f * 100)):03d}"] = {"n_train_articles": n_train, "macro_f1": macro,
                                                     "oppose_f1": oppose}
    return metrics, records


def _write_outputs(paths: dict[str, Path], df, oof, predictions, metrics, lc_records, seed: int) -> None:
    labels, groups = df["label"].tolist(), df["article_id"].tolist()
    first = oof["model"][0]
    write_json_atomic(paths["confusion_json"], [{"actual": a, "predicted": str(p)} for a, p in zip(labels, first)])
    cm, _ = confusion_by_article(labels, first[None, :], groups)
    _confusion_png(paths["confusion_png"], cm.sum(axis=(0, 1)),
                   f"Nested CV out-of-fold, seed {seed}, {oof['n_splits']} grouped folds, n={len(df)}")
    write_json_atomic(paths["precision_recall"], interpolated_pr_curves(labels, oof["proba"][0]))
    write_json_atomic(paths["learning_curve"], lc_records)
    if lc_records:
        _learning_curve_png(paths["learning_curve_png"], lc_records,
                            f"Learning curve: nested grouped CV, {oof['n_splits']} outer folds, n={len(df)}")
    write_csv_atomic(paths["misclassified"], _misclassified(df, oof, 0))
    write_text_atomic(paths["classification_report"], _classification_report(
        labels, {name: pred[0] for name, pred in predictions.items()}, seed, oof["n_splits"]))
    write_json_atomic(paths["metrics"], metrics)


def evaluate(dataset_path: str | Path, model_path: str | Path, params: EvaluateParams | dict[str, Any], *,
             train_params: TrainParams | dict[str, Any], metrics_path: str | Path, plots_dir: str | Path,
             misclassified_path: str | Path, report_path: str | Path, articles_path: str | Path | None = None,
             train_report: str | Path | None = None, trust_model: bool = False, log=None) -> dict[str, Any]:
    """Compute and write every evaluation output (not the MLflow run).

    Parameters
    ----------
    dataset_path, model_path : inputs (``dataset.csv``, ``model.joblib``; the model is checked
        and registered, the scores come from refitting the training procedure)
    params : EvaluateParams or mapping
        The ``evaluate`` section: ``seeds``, ``cv_folds`` (outer), ``inner_folds``,
        ``bootstrap``, ``bootstrap_seed``, ``ci``, ``n_jobs``, ``lexicon`` (``support``,
        ``oppose``, ``negators``), ``cross_source`` (``enabled``, ``kinds``,
        ``default_kind``, ``pairs``), ``learning_curve`` (``enabled``, ``fractions``, ``seeds``).
    train_params : TrainParams or mapping
        The ``train`` section: the procedure (grid, features, classifier) that nested CV runs
        inside every outer fold.
    metrics_path, plots_dir, misclassified_path, report_path : outputs.
    articles_path : ``data/interim/articles.csv`` (``# source`` URLs for the cross-source
        kinds); without it the kinds are matched on article ids only.
    log : callable(str), optional; progress messages.
    train_report : path, optional
        The training report of the model: its recorded sha256 makes the model trusted
        (see :mod:`pipeline.model.files`).
    trust_model : bool
        Load the model even if no report records its sha256 (``--trust-model``).

    Returns
    -------
    result : dict
        ``metrics`` (what went to metrics.json), ``fold_scores`` (system -> array
        ``(n_seeds, n_splits)``), ``paths`` (output name -> Path), ``n_splits``, ``model``
        (the loaded model).
    """
    import time

    import numpy as np

    from pipeline.model.features import lexicon_predict
    from pipeline.train.engine import CVEngine, article_kinds, nested_oof
    from pipeline.train.stage import load_dataset, single_threaded_blas

    log = log or (lambda msg: None)
    params = to_dict(coerce(EvaluateParams, params, "evaluate"))
    train_params = to_dict(coerce(TrainParams, train_params, "train"))
    cfg = _settings(params, train_params)
    df = load_dataset(dataset_path)
    model = load_model(model_path, trust=trust_model, train_report=train_report)
    texts, labels, groups = df["text"].tolist(), df["label"].tolist(), df["article_id"].tolist()
    lexicon = np.asarray(lexicon_predict(texts, **cfg["lexicon"]), dtype=object)
    cs = cfg["cross_source"]
    kind_of = None
    if cs.get("enabled", True):
        kind_of = article_kinds(sorted(set(groups)), _article_sources(articles_path), cs.get("kinds") or {},
                                cs.get("default_kind"))
    engine = CVEngine(texts, labels, groups, train_params, inner_folds=cfg["inner"])
    t0 = time.perf_counter()
    with single_threaded_blas():
        oof = nested_oof(engine, cfg["seeds"], cfg["outer"], n_jobs=cfg["n_jobs"])
    log(f"nested CV: {len(cfg['seeds'])} seed(s) x {oof['n_splits']} outer folds, {cfg['inner']} inner folds "
        f"({time.perf_counter() - t0:.1f} s)")
    metrics, predictions, folds = _nested_metrics(oof, labels, groups, lexicon, cfg)
    metrics["data"] = {"n_sentences": len(df), "n_articles": len(set(groups)),
                       **{f"n_{label}": int((df["label"] == label).sum()) for label in LABELS}}
    if kind_of is not None:
        metrics["data"]["articles_per_kind"] = {k: sum(v == k for v in kind_of.values())
                                                for k in sorted(set(kind_of.values()))}
        metrics["cross_source"] = _cross_source_metrics(engine, kind_of, lexicon, cfg, log)
    lc_records: list[dict] = []
    if cfg["lc_enabled"]:
        metrics["learning_curve"], lc_records = _learning_curve_metrics(engine, oof, labels, groups, lexicon, cfg, log)
    plots = Path(plots_dir)
    paths = {"metrics": Path(metrics_path), "confusion_json": plots / "confusion_matrix.json",
             "confusion_png": plots / "confusion_matrix.png", "precision_recall": plots / "precision_recall.json",
             "learning_curve": plots / "learning_curve.json", "learning_curve_png": plots / "learning_curve.png",
             "misclassified": Path(misclassified_path), "classification_report": Path(report_path)}
    if not lc_records:
        paths.pop("learning_curve_png")
    _write_outputs(paths, df, oof, predictions, metrics, lc_records, cfg["seeds"][0])
    return {"metrics": metrics, "fold_scores": folds, "paths": paths, "n_splits": oof["n_splits"], "model": model}


# --------------------------------------------------------------------------- CLI

def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI flags of ``stance evaluate``."""
    parser.add_argument("--params", default=None, help=f"parameters file (default: <repo>/{PATHS['params']})")
    parser.add_argument("--dataset", default=None, help=f"labelled dataset CSV (default: <repo>/{PATHS['dataset']})")
    parser.add_argument("--model", default=None, help=f"trained model (default: <repo>/{PATHS['model']})")
    parser.add_argument("--articles", default=None,
                        help=f"articles CSV with the source URLs for cross-source kinds "
                             f"(default: <repo>/{PATHS['articles']})")
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
    train_params = load_section("train", params_path)
    ml = load_section("mlflow", params_path)
    use_mlflow = ml.enabled and not args.no_mlflow
    train_report = Path(args.train_report) if args.train_report else root / PATHS["train_report"]
    tracking = None
    if use_mlflow:
        from pipeline.tracking import runs as tracking

        # Fail fast, before minutes of cross-validation, if the store cannot be reached.
        uri = tracking.resolve_tracking_uri(args.tracking_uri, root)
        tracking.check_tracking_uri(uri, ml.connect_timeout)
    result = evaluate(
        Path(args.dataset) if args.dataset else root / PATHS["dataset"],
        Path(args.model) if args.model else root / PATHS["model"],
        params,
        train_params=train_params,
        articles_path=Path(args.articles) if args.articles else root / PATHS["articles"],
        log=log.info,
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
    log.info(f"nested-CV macro-F1 (mean of {m['cv']['n_seeds']} seeds, {m['cv']['ci']:.0%} article bootstrap): "
             f"{line}")
    if use_mlflow:
        from pipeline.evaluate.rescore import rescore
        from pipeline.tracking.registry import load_version_model

        dataset_path = Path(args.dataset) if args.dataset else root / PATHS["dataset"]
        model_name = ml.registered_model
        model_path = Path(args.model) if args.model else root / PATHS["model"]
        run = tracking.log_evaluation(
            uri, root=root, all_params=all_params, mlflow_params=ml, result=result,
            model_path=model_path,
            dataset_path=dataset_path,
            train_report_path=train_report if train_report.is_file() else None,
            params_path=params_path,
            rescore=lambda champion: rescore(load_version_model(model_name, champion.version), dataset_path, params),
            rescore_new=lambda: rescore(load_model(model_path, trust=args.trust_model, train_report=train_report),
                                         dataset_path, params),
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
    from pipeline.model.files import file_sha256

    record: dict[str, Any] = {"logged": mlflow_params is not None, "model_sha256": file_sha256(model_path)}
    if mlflow_params is not None:
        record.update({
            "experiment": mlflow_params.experiment,
            "registered_model": mlflow_params.registered_model,
            "alias": mlflow_params.alias,
        })
    write_json_atomic(model_path.with_name("mlflow.json"), record)
