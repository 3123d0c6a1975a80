"""Evaluate stage: nested grouped cross-validation, cross-source tests, learning curve.

``stance evaluate`` scores the *training procedure* of the ``train`` section, not one fitted
model: for each seed in ``evaluate.seeds``, ``StratifiedGroupKFold`` (``cv_folds`` outer folds,
grouped by article); inside every outer fold the hyperparameters are chosen by grouped CV
(``inner_folds``) on the outer-training articles only, the winner is refitted there and
predicts the held-out articles (nested CV, :mod:`pipeline.train.engine`). The two baselines -- the
training folds' majority class and a keyword lexicon -- are scored on the very same folds.

Also: cross-source evaluation (train on one kind of document, e.g. official UN/US texts, test
on another, e.g. news; kinds from regular expressions over the ``# source`` URL and article id,
``evaluate.cross_source``), cross-target evaluation (train on the articles about North Korea,
test on those about other sanctions regimes, and the reverse; targets from the ``target``
column of ``data/articles_meta.csv``, ``evaluate.cross_target``), the calibration of the scores
on held-out articles (raw and as ``train.calibration`` calibrates them inside every outer fold,
:mod:`pipeline.evaluate.reliability`) and a learning curve (nested CV on a share of the
training articles, ``evaluate.learning_curve``).

Outputs (all deterministic):

* ``reports/metrics.json`` ``shares`` (:mod:`pipeline.evaluate.shares`): the error of the stance
  shares an analyst reads (per article, per fold of test articles, the sign of an article's net
  stance), for counting labels and for averaging probabilities.
* ``reports/share_errors.json``: the out-of-fold error of the probabilities per seed and outer
  fold (:mod:`pipeline.model.errors`), which ``stance analyze`` includes in its share intervals.
* ``reports/metrics.json``: for ``model``, ``majority`` and ``lexicon``: macro-F1, F_avg
  (mean F1 of support and oppose, the SemEval-2016 stance metric), accuracy and per-class
  precision/recall/F1, each the mean over seeds with a bootstrap interval that resamples
  *articles*; paired differences model - baseline with their intervals; fold-score summaries;
  which grid candidate won how often; ``calibration`` (ECE, Brier score, log loss, share error
  of the raw and calibrated scores), ``cross_source``, ``cross_target`` and ``learning_curve``
  sections.
* ``reports/plots/confusion_matrix.json`` (DVC plot records ``{actual, predicted}``) and
  ``.png``; ``reports/plots/precision_recall.json`` (interpolated per-class PR curves);
  ``reports/plots/learning_curve.{json,png}``; ``reports/plots/reliability.{json,png}`` (the
  reliability diagram); ``reports/misclassified.csv``;
  ``reports/classification_report.txt``. These use the nested OOF predictions of the first seed.
* An MLflow run with the registered model (see :mod:`pipeline.tracking.runs`), unless disabled.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from pipeline.core.config import StanceError, add_path_argument, load_params, repo_root
from pipeline.core.data import (
    LABELS,
    check_folder_writable,
    check_writable,
    load_dataset,
    write_csv_atomic,
    write_json_atomic,
    write_text_atomic,
)
from pipeline.core.params import EvaluateParams, MlflowParams, TrainParams, coerce, load_section
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
from pipeline.evaluate.protocols import (
    article_kinds,
    article_targets,
    cross_source,
    learning_curve,
    nested_oof,
    target_groups,
)
from pipeline.evaluate.reliability import calibration_metrics, reliability_png, reliability_records
from pipeline.evaluate.rescore import rescore
from pipeline.evaluate.shares import share_errors, share_metrics
from pipeline.model.features import lexicon_predict
from pipeline.model.files import add_trust_argument, default_reports, file_sha256, load_model
from pipeline.tracking.registry import load_version_model
from pipeline.tracking.runs import log_evaluation
from pipeline.tracking.uri import check_tracking_uri, resolve_tracking_uri
from pipeline.train.engine import CVEngine
from pipeline.train.folds import single_threaded_blas

log = logging.getLogger("stance")

__all__ = ["add_evaluate_arguments", "article_sources", "cross_target_groups", "evaluate", "run_evaluate"]


def _reports(train_report: str | Path | None) -> list[Path]:
    """Training reports whose recorded sha256 make the model trusted: the project's, plus *train_report*."""
    return default_reports() + ([Path(train_report)] if train_report else [])


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


def article_sources(articles_path: str | Path | None) -> dict[str, str]:
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


def scored(oof):
    """The out-of-fold scores the saved model gives: calibrated as ``train.calibration`` says (the
    raw probabilities when it is ``none``). Stance shares and their errors are built on these."""
    return oof["calibrated"]


def analyst_shares(labels, oof, groups) -> dict[str, Any]:
    """metrics.json ``shares``: the share errors of counting the out-of-fold labels and of averaging
    the out-of-fold scores the saved model gives (:func:`scored`)."""
    return share_metrics(labels, oof["model"], scored(oof), oof["fold"], groups)


def _nested_metrics(oof, labels, groups, lexicon, p: EvaluateParams) -> tuple[dict, dict, dict]:
    """metrics.json's nested-CV part; also the predictions and fold scores per system."""
    import numpy as np

    predictions = {"model": oof["model"], "majority": oof["majority"],
                   "lexicon": np.tile(lexicon, (len(p.seeds), 1))}
    weights = bootstrap_weights(len(set(groups)), p.bootstrap, p.bootstrap_seed)
    metrics = summarize(labels, predictions, groups, weights, p.ci)
    folds = {name: fold_scores(labels, pred, oof["fold"]) for name, pred in predictions.items()}
    for name in SYSTEMS:
        metrics[name]["fold_macro_f1"] = _fold_summary(folds[name])
    metrics["cv"] = {"nested": True, "n_splits": oof["n_splits"], "inner_folds": p.inner_folds,
                     "n_seeds": len(p.seeds), "bootstrap": p.bootstrap, "ci": p.ci}
    metrics["selection"] = _selection_counts(oof["selected"])
    # what analysts read: stance shares per article and per fold, by counting and by averaging probabilities
    metrics["shares"] = analyst_shares(labels, oof, groups)
    return metrics, predictions, folds


def _cross_metrics(engine, kind_of: dict[str, str], pairs, what: str, lexicon, p: EvaluateParams,
                   method: str, log) -> dict[str, Any]:
    """``cross_source`` or ``cross_target`` (*what*) of metrics.json: per ``[train_kind, test_kind]``
    pair, every system's scores on the test kind with an article bootstrap over the test articles,
    and the calibration of the scores there."""
    import time

    import numpy as np

    out = {}
    y, g, seeds = engine.y, engine.groups, p.seeds
    for pair in pairs:
        t0 = time.perf_counter()
        with single_threaded_blas():
            res = cross_source(engine, kind_of, pair[0], pair[1], seeds)
        if res is None:
            log(f"{what} {pair[0]} -> {pair[1]}: skipped (no labelled sentences on one side)")
            continue
        te = res["test_idx"]
        test_groups = g[te].tolist()
        w = bootstrap_weights(len(set(test_groups)), p.bootstrap, p.bootstrap_seed)
        summary = summarize(y[te].tolist(), {"model": res["model"], "majority": res["majority"],
                                             "lexicon": np.tile(lexicon[te], (len(seeds), 1))},
                            test_groups, w, p.ci)
        summary["data"] = {"n_train_sentences": int(len(res["train_idx"])),
                           "n_train_articles": len(set(g[res["train_idx"]].tolist())),
                           "n_test_sentences": int(len(te)), "n_test_articles": len(set(test_groups))}
        summary["selection"] = _selection_counts([res["selected"]])
        summary["calibration"] = calibration_metrics(res["proba"], res["calibrated"], y[te].tolist(), method)
        out[f"{pair[0]}_to_{pair[1]}"] = summary
        log(f"{what} {pair[0]} -> {pair[1]}: macro-F1 {summary['model']['macro_f1']['value']:.3f} "
            f"({time.perf_counter() - t0:.1f} s)")
    return out


def cross_target_groups(p: EvaluateParams, groups, log=None) -> tuple[dict[str, str] | None, dict[str, int]]:
    """article id -> target group for the cross-target pairs (None: skipped), and the number of
    labelled articles per target (``none``: no target), for the articles in *groups*."""
    from collections import Counter

    log = log or (lambda msg: None)
    ct = p.cross_target
    path = Path(ct.meta) if Path(ct.meta).is_absolute() else repo_root() / ct.meta
    if not path.is_file():
        log(f"cross-target: skipped ({ct.meta} not found)")
        return None, {}
    targets = article_targets(path, ct.column, ct.targets)
    if targets is None:
        log(f"cross-target: skipped ({ct.meta} has no {ct.column!r} column)")
        return None, {}
    articles = sorted(set(groups))
    counts = Counter(targets.get(a, "none") for a in articles)
    return target_groups({a: targets[a] for a in articles if a in targets}, ct.groups), dict(sorted(counts.items()))


def _learning_curve_metrics(engine, oof, labels, groups, lexicon, p: EvaluateParams, log) -> tuple[dict, list[dict]]:
    """``learning_curve`` of metrics.json and the plot records (one per training fraction)."""
    import time

    import numpy as np

    seeds, lc_seeds = p.seeds, p.learning_curve.seeds
    fractions = sorted(float(f) for f in p.learning_curve.fractions)
    reuse = {}
    if set(lc_seeds) <= set(seeds):  # 100% = the nested run already made for these seeds
        rows = [seeds.index(s) for s in lc_seeds]
        k = oof["n_splits"]
        reuse[1.0] = {"model": oof["model"][rows],
                      "n_train_articles": [n for si in rows for n in oof["n_train_articles"][si * k:(si + 1) * k]]}
    t0 = time.perf_counter()
    with single_threaded_blas():
        curve = learning_curve(engine, lc_seeds, p.cv_folds, fractions, reuse=reuse, n_jobs=p.n_jobs)
    log(f"learning curve: fractions {fractions} x {len(lc_seeds)} seed(s) ({time.perf_counter() - t0:.1f} s)")
    weights = bootstrap_weights(len(set(groups)), p.bootstrap, p.bootstrap_seed)
    lex_tiled = np.tile(lexicon, (len(lc_seeds), 1))
    metrics, records = {}, []
    for f, res in curve.items():
        s = summarize(labels, {"model": res["model"], "lexicon": lex_tiled}, groups, weights, p.ci)
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
    write_json_atomic(paths["reliability"], reliability_records(oof["proba"][0], oof["calibrated"][0], labels))
    reliability_png(paths["reliability_png"], oof["proba"][0], oof["calibrated"][0], labels,
                    f"Reliability on held-out articles: nested CV, seed {seed}, n={len(df)}, "
                    f"calibration {metrics['calibration']['method']}")
    write_json_atomic(paths["learning_curve"], lc_records)
    if lc_records:
        _learning_curve_png(paths["learning_curve_png"], lc_records,
                            f"Learning curve: nested grouped CV, {oof['n_splits']} outer folds, n={len(df)}")
    write_csv_atomic(paths["misclassified"], _misclassified(df, oof, 0), safe=True)  # opened in spreadsheets
    write_text_atomic(paths["classification_report"], _classification_report(
        labels, {name: pred[0] for name, pred in predictions.items()}, seed, oof["n_splits"]))
    write_json_atomic(paths["share_errors"], share_errors(labels, scored(oof), oof["fold"]))
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
    p = coerce(EvaluateParams, params, "evaluate")
    train_params = coerce(TrainParams, train_params, "train")
    df = load_dataset(dataset_path)
    model = load_model(model_path, trust=trust_model, reports=_reports(train_report), labels=LABELS)
    texts, labels, groups = df["text"].tolist(), df["label"].tolist(), df["article_id"].tolist()
    lexicon = np.asarray(lexicon_predict(texts, p.lexicon.support, p.lexicon.oppose, p.lexicon.negators),
                         dtype=object)
    kind_of = None
    if p.cross_source.enabled:
        kind_of = article_kinds(sorted(set(groups)), article_sources(articles_path), p.cross_source.kinds or {},
                                p.cross_source.default_kind)
    engine = CVEngine(texts, labels, groups, train_params, inner_folds=p.inner_folds)
    t0 = time.perf_counter()
    with single_threaded_blas():
        oof = nested_oof(engine, p.seeds, p.cv_folds, n_jobs=p.n_jobs)
    log(f"nested CV: {len(p.seeds)} seed(s) x {oof['n_splits']} outer folds, {p.inner_folds} inner folds "
        f"({time.perf_counter() - t0:.1f} s)")
    metrics, predictions, folds = _nested_metrics(oof, labels, groups, lexicon, p)
    metrics["data"] = {"n_sentences": len(df), "n_articles": len(set(groups)),
                       **{f"n_{label}": int((df["label"] == label).sum()) for label in LABELS}}
    method = train_params.calibration
    metrics["calibration"] = calibration_metrics(oof["proba"], oof["calibrated"], labels, method, oof["fold"])
    if kind_of is not None:
        metrics["data"]["articles_per_kind"] = {k: sum(v == k for v in kind_of.values())
                                                for k in sorted(set(kind_of.values()))}
        metrics["cross_source"] = _cross_metrics(engine, kind_of, p.cross_source.pairs, "cross-source", lexicon, p,
                                                 method, log)
    if p.cross_target.enabled:
        target_of, per_target = cross_target_groups(p, groups, log)
        if target_of is not None:
            metrics["data"]["articles_per_target"] = per_target
            metrics["cross_target"] = _cross_metrics(engine, target_of, p.cross_target.pairs, "cross-target",
                                                     lexicon, p, method, log)
    lc_records: list[dict] = []
    if p.learning_curve.enabled:
        metrics["learning_curve"], lc_records = _learning_curve_metrics(engine, oof, labels, groups, lexicon, p, log)
    plots = Path(plots_dir)
    paths = {"metrics": Path(metrics_path), "confusion_json": plots / "confusion_matrix.json",
             "confusion_png": plots / "confusion_matrix.png", "precision_recall": plots / "precision_recall.json",
             "learning_curve": plots / "learning_curve.json", "learning_curve_png": plots / "learning_curve.png",
             "reliability": plots / "reliability.json", "reliability_png": plots / "reliability.png",
             "misclassified": Path(misclassified_path), "classification_report": Path(report_path)}
    if not lc_records:
        paths.pop("learning_curve_png")
    paths["share_errors"] = Path(metrics_path).with_name("share_errors.json")
    _write_outputs(paths, df, oof, predictions, metrics, lc_records, p.seeds[0])
    return {"metrics": metrics, "fold_scores": folds, "paths": paths, "n_splits": oof["n_splits"], "model": model}


# --------------------------------------------------------------------------- CLI

def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI flags of ``stance evaluate``."""
    add_path_argument(parser, "--params", "params", "parameters file")
    add_path_argument(parser, "--dataset", "dataset", "labelled dataset CSV")
    add_path_argument(parser, "--model", "model", "trained model")
    add_path_argument(parser, "--articles", "articles", "articles CSV with the source URLs for cross-source kinds")
    add_path_argument(parser, "--train-report", "train_report",
                      "CV report of `stance train`, logged to MLflow if present")
    add_path_argument(parser, "--metrics", "metrics", "output metrics JSON")
    add_path_argument(parser, "--plots", "plots", "output plots directory")
    add_path_argument(parser, "--misclassified", "misclassified", "output CSV of misclassified sentences")
    add_path_argument(parser, "--classification-report", "classification_report", "output text report")
    parser.add_argument("--no-mlflow", action="store_true", help="do not log an MLflow run (overrides mlflow.enabled)")
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///<repo>/mlflow.db)")
    add_trust_argument(parser)


def run_evaluate(args: argparse.Namespace) -> int:
    """Entry point of ``stance evaluate``; returns the exit status."""
    root = repo_root()
    params_path = Path(args.params)
    all_params = load_params(params_path)
    params = load_section("evaluate", params_path)
    train_params = load_section("train", params_path)
    ml = load_section("mlflow", params_path)
    use_mlflow = ml.enabled and not args.no_mlflow
    train_report = Path(args.train_report)
    if use_mlflow:
        # Fail fast, before minutes of cross-validation, if the store cannot be reached.
        uri = resolve_tracking_uri(args.tracking_uri, root)
        check_tracking_uri(uri, ml.connect_timeout)
        # what was logged is recorded beside the model: a read-only folder must stop us before
        # a version is registered or the alias moves
        records = Path(args.model).parent
        check_folder_writable(records, "nothing was evaluated, registered or moved")
        for name in ("mlflow.json", "champion.json"):
            check_writable(records / name)
    result = evaluate(
        Path(args.dataset),
        Path(args.model),
        params,
        train_params=train_params,
        articles_path=Path(args.articles),
        log=log.info,
        metrics_path=Path(args.metrics),
        plots_dir=Path(args.plots),
        misclassified_path=Path(args.misclassified),
        report_path=Path(args.classification_report),
        train_report=train_report, trust_model=args.trust_model,
    )
    m = result["metrics"]
    line = ", ".join(f"{name} {m[name]['macro_f1']['value']:.3f} [{m[name]['macro_f1']['ci_low']:.3f}, "
                     f"{m[name]['macro_f1']['ci_high']:.3f}]" for name in SYSTEMS)
    log.info(f"nested-CV macro-F1 (mean of {m['cv']['n_seeds']} seeds, {m['cv']['ci']:.0%} article bootstrap): "
             f"{line}")
    if use_mlflow:

        dataset_path = Path(args.dataset)
        model_name = ml.registered_model
        model_path = Path(args.model)
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
    _write_mlflow_record(Path(args.model), ml if use_mlflow else None)
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
