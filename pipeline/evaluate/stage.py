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
from pipeline.core.data import LABELS, load_dataset, write_csv_atomic, write_json_atomic, write_text_atomic
from pipeline.core.params import EvaluateParams, MlflowParams, TrainParams, coerce, load_section, to_dict
from pipeline.evaluate.metrics import (
    _ROUND,
    SYSTEMS,
    bootstrap_weights,
    confusion_by_article,
    fold_scores,
    interpolated_pr_curves,
    summarize,
)
from pipeline.evaluate.plots import _confusion_png, _learning_curve_png
from pipeline.evaluate.protocols import article_kinds, cross_source, learning_curve, nested_oof
from pipeline.evaluate.rescore import rescore
from pipeline.model.features import lexicon_predict, word_list
from pipeline.model.files import add_trust_argument, default_reports, file_sha256, load_model
from pipeline.tracking.registry import load_version_model
from pipeline.tracking.runs import log_evaluation
from pipeline.tracking.uri import check_tracking_uri, resolve_tracking_uri
from pipeline.train.engine import CVEngine
from pipeline.train.folds import single_threaded_blas

log = logging.getLogger("stance")

__all__ = ["add_evaluate_arguments", "evaluate", "run_evaluate"]


def _reports(train_report: str | Path | None) -> list[Path]:
    """Training reports whose recorded sha256 make the model trusted: the project's, plus *train_report*."""
    return default_reports() + ([Path(train_report)] if train_report else [])


def default_path(key: str) -> Path:
    """Default location of ``PATHS[key]``, anchored at :func:`pipeline.core.config.repo_root`."""
    return repo_root() / PATHS[key]


# --------------------------------------------------------------------------- model & folds


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

    log = log or (lambda msg: None)
    params = to_dict(coerce(EvaluateParams, params, "evaluate"))
    train_params = to_dict(coerce(TrainParams, train_params, "train"))
    cfg = _settings(params, train_params)
    df = load_dataset(dataset_path)
    model = load_model(model_path, trust=trust_model, reports=_reports(train_report), labels=LABELS)
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
    if use_mlflow:
        # Fail fast, before minutes of cross-validation, if the store cannot be reached.
        uri = resolve_tracking_uri(args.tracking_uri, root)
        check_tracking_uri(uri, ml.connect_timeout)
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

        dataset_path = Path(args.dataset) if args.dataset else root / PATHS["dataset"]
        model_name = ml.registered_model
        model_path = Path(args.model) if args.model else root / PATHS["model"]
        run = log_evaluation(
            uri, root=root, all_params=all_params, mlflow_params=ml, result=result,
            model_path=model_path,
            dataset_path=dataset_path,
            train_report_path=train_report if train_report.is_file() else None,
            params_path=params_path,
            rescore=lambda champion: rescore(load_version_model(model_name, champion.version), dataset_path, params),
            rescore_new=lambda: rescore(load_model(model_path, trust=args.trust_model, reports=_reports(train_report),
                                                    labels=LABELS),
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

    record: dict[str, Any] = {"logged": mlflow_params is not None, "model_sha256": file_sha256(model_path)}
    if mlflow_params is not None:
        record.update({
            "experiment": mlflow_params.experiment,
            "registered_model": mlflow_params.registered_model,
            "alias": mlflow_params.alias,
        })
    write_json_atomic(model_path.with_name("mlflow.json"), record)
