"""MLflow tracking for ``stance evaluate``: one run per evaluation, model registered with an alias.

Store: ``$MLFLOW_TRACKING_URI`` if set (or ``--tracking-uri``), else SQLite at the project root,
``sqlite:///<root>/mlflow.db`` (git-ignored), with artifacts in ``<root>/mlartifacts`` (for any
SQLite store: ``mlartifacts`` next to the database file). The root comes from
:func:`pipeline.core.config.repo_root`, which follows ``$DVC_ROOT``, so ``dvc exp run`` logs into the
same store as ``dvc repro``.

What a run holds (:func:`log_evaluation`): a name after what was trained, a description with the
headline figures against the baselines, params, metrics (the headline figures of
:data:`HEADLINE_METRICS` under readable names; the whole metrics.json as an artifact), the
training data as a dataset input, reports and plots, and the model, registered and given the
``champion`` alias only if at least as good as the current champion on the same evaluation
(:mod:`pipeline.tracking.registry`, also ``stance promote``). :mod:`pipeline.tracking.store` closes runs of
dead processes and, as the ``check_store`` DVC stage, makes ``dvc repro`` log again what a lost
store lacks.

``import mlflow`` happens only inside these functions: importing this module is cheap, and
``stance predict`` never imports it. Telemetry is off (see :mod:`pipeline`); nothing here
reaches the network except a remote tracking server the user configured.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.core.config import StanceError
from pipeline.core.params import EvaluateParams, MlflowParams, PredictParams, coerce, to_dict
from pipeline.model.files import champion_note, file_sha256, write_champion_record
from pipeline.tracking.registry import alias_version, champion_decision, evaluation_key, log_registered_model
from pipeline.tracking.store import (
    alias_lock,
    close_dead_runs,
    failure_reason,
    finish_failed_run,
    owner_tags,
    quiet_mlflow_errors,
)
from pipeline.tracking.uri import artifact_location

log = logging.getLogger("stance")

__all__ = [
    "EXPERIMENT_DESCRIPTION",
    "EXPERIMENT_KIND",
    "HEADLINE_METRICS",
    "ensure_experiment",
    "flatten",
    "git_commit",
    "log_dataset",
    "log_evaluation",
    "metric_items",
    "precision_recall_png",
    "run_description",
    "run_name",
]


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts to ``{"a.b.c": leaf}``; lists stay leaves."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for key in sorted(obj, key=str):
            out.update(flatten(obj[key], f"{prefix}.{key}" if prefix else str(key)))
    else:
        out[prefix] = obj
    return out


def _param_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


#: Headline metrics: the only numbers logged as MLflow metrics, under readable names, each fed by
#: one dotted path of ``reports/metrics.json``. Everything else of metrics.json is in the run's
#: JSON artifact ``reports/metrics.json`` (one file, not hundreds of one-point charts).
#: Cross-source figures are added per direction by :func:`metric_items`.
HEADLINE_METRICS: dict[str, str] = {
    "macro_f1": "model.macro_f1.value",
    "macro_f1_ci_low": "model.macro_f1.ci_low",
    "macro_f1_ci_high": "model.macro_f1.ci_high",
    "f_avg": "model.f_avg.value",
    "f_avg_ci_low": "model.f_avg.ci_low",
    "f_avg_ci_high": "model.f_avg.ci_high",
    "accuracy": "model.accuracy.value",
    "accuracy_ci_low": "model.accuracy.ci_low",
    "accuracy_ci_high": "model.accuracy.ci_high",
    "oppose_f1": "model.per_class.oppose.f1.value",
    "lexicon_macro_f1": "lexicon.macro_f1.value",
    "majority_macro_f1": "majority.macro_f1.value",
    "model_minus_lexicon_macro_f1": "comparison.model_minus_lexicon.macro_f1.value",
    "model_minus_lexicon_macro_f1_ci_low": "comparison.model_minus_lexicon.macro_f1.ci_low",
    "model_minus_lexicon_macro_f1_ci_high": "comparison.model_minus_lexicon.macro_f1.ci_high",
    "n_sentences": "data.n_sentences",
    "n_articles": "data.n_articles",
}
_BAD_METRIC_CHARS = re.compile(r"[^A-Za-z0-9_\-. :/]")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def metric_items(metrics: dict[str, Any]) -> dict[str, float]:
    """MLflow metrics (name -> value) from the metrics.json dict: the names of
    :data:`HEADLINE_METRICS` whose path holds a number, plus ``cross_source_<direction>_macro_f1``
    (the model's macro-F1 trained on one kind of source, tested on the other) for each direction
    under ``cross_source``. Nothing else: the rest stays in the metrics.json artifact."""
    flat = flatten(metrics)
    out: dict[str, float] = {}
    for short, path in HEADLINE_METRICS.items():
        if _is_number(flat.get(path)):
            out[short] = float(flat[path])
    for direction, block in sorted((metrics.get("cross_source") or {}).items()):
        value = flatten(block).get("model.macro_f1.value") if isinstance(block, dict) else None
        if _is_number(value):
            out[_BAD_METRIC_CHARS.sub("_", f"cross_source_{direction}_macro_f1")] = float(value)
    return out


def git_commit(root: str | os.PathLike) -> tuple[str, str]:
    """``(commit, dirty)``: ``git rev-parse HEAD`` in *root* and ``"true"``/``"false"`` for
    uncommitted changes to tracked files; ``("unknown", "unknown")`` outside a git work tree."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown", "unknown"
    return head, "true" if dirty else "false"


#: ``mlflow.experimentKind`` makes the MLflow UI open the experiment in its machine-learning
#: view (runs, metrics, models) instead of the GenAI view (traces, prompts).
EXPERIMENT_KIND = "custom_model_development"
#: The experiment's description (tag ``mlflow.note.content``, shown by the UI).
EXPERIMENT_DESCRIPTION = (
    "Sentence-level stance towards North Korea sanctions: support, oppose or neutral. "
    "One run per `stance evaluate` (every `dvc repro` that retrains): a TF-IDF classifier "
    "evaluated by repeated cross-validation grouped by article, against a majority-class and a "
    "keyword-lexicon baseline, with article-bootstrap intervals. Headline metrics: macro_f1, "
    "f_avg (mean F1 of support and oppose), accuracy (each with _ci_low/_ci_high), oppose_f1, "
    "lexicon_macro_f1, majority_macro_f1, model_minus_lexicon_macro_f1, cross_source_<direction>_macro_f1, "
    "n_sentences, n_articles; every other figure is in the artifact reports/metrics.json. "
    "The model is registered with an alias for the best one (champion)."
)


def ensure_experiment(client, name: str, uri: str) -> str:
    """Id of the experiment *name*, created (artifacts per :func:`artifact_location`) if missing.

    New or existing, it gets the tags ``mlflow.experimentKind`` = :data:`EXPERIMENT_KIND` and
    ``mlflow.note.content`` = :data:`EXPERIMENT_DESCRIPTION` (set only when different).
    """
    from mlflow.exceptions import MlflowException

    tags = {"mlflow.experimentKind": EXPERIMENT_KIND, "mlflow.note.content": EXPERIMENT_DESCRIPTION}
    exp = client.get_experiment_by_name(name)
    if exp is None:
        try:
            return client.create_experiment(name, artifact_location=artifact_location(uri), tags=tags)
        except MlflowException:  # created meanwhile by a concurrent run
            exp = client.get_experiment_by_name(name)
            if exp is None:
                raise
    for key, value in tags.items():
        if exp.tags.get(key) != value:
            client.set_experiment_tag(exp.experiment_id, key, value)
    return exp.experiment_id


# ----------------------------------------------------------------------------- run contents

#: Feature blocks in the order they appear in run names.
_BLOCK_ORDER = ("word", "char", "cues")


def run_name(train_params: dict[str, Any], n_sentences: int | float | None = None) -> str:
    """Name of a run after what it trained, telling runs apart: classifier, enabled feature
    blocks, data size and a short hash of the train params, e.g. ``logreg-word-char-cues-1814s-3f9a2c``
    (from ``effective_params`` of reports/train.json, or the ``train`` section of params.yaml;
    *n_sentences* from metrics.json's ``data``, left out when unknown). A block is enabled unless
    it says ``enabled: false``. The hash is the first 6 hex digits of the sha256 of the params as
    sorted JSON: any change of a train param changes it."""
    features = train_params.get("features") or {}
    names = [b for b in _BLOCK_ORDER if b in features] + sorted(b for b in features if b not in _BLOCK_ORDER)
    blocks = [b for b in names if isinstance(features[b], dict) and features[b].get("enabled", True) is not False]
    size = [f"{int(n_sentences)}s"] if _is_number(n_sentences) else []
    digest = hashlib.sha256(json.dumps(train_params, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:6]
    return "-".join([str(train_params.get("classifier", "model")), *blocks, *size, digest])


def _figure(metrics: dict[str, Any], system: str, name: str) -> str:
    fig = (metrics.get(system) or {}).get(name)
    if not isinstance(fig, dict) or not _is_number(fig.get("value")):
        return "n/a"
    if _is_number(fig.get("ci_low")) and _is_number(fig.get("ci_high")):
        return f"{fig['value']:.3f} [{fig['ci_low']:.3f}, {fig['ci_high']:.3f}]"
    return f"{fig['value']:.3f}"


def run_description(name: str, metrics: dict[str, Any], selected: dict[str, Any] | None = None) -> str:
    """Markdown note of a run (``mlflow.note.content``): what was trained and its headline
    figures against the baselines, from metrics.json."""
    data, cv = metrics.get("data") or {}, metrics.get("cv") or {}
    lines = [f"**{name}**"
             + (f", selected by grouped CV: {', '.join(f'{k}={v}' for k, v in sorted(selected.items()))}"
                if selected else "") + "."]
    if data or cv:
        lines += ["", f"Out-of-fold on {data.get('n_sentences', '?')} sentences from {data.get('n_articles', '?')} "
                     f"articles; {cv.get('n_seeds', '?')} seeds x {cv.get('n_splits', '?')} folds grouped by "
                     f"article; {float(cv.get('ci', 0.95)):.0%} article-bootstrap intervals."]
    # A GitHub-style table: a blank line before and after, a separator row, one row per line.
    lines += ["", "| system | macro-F1 | F_avg | accuracy |", "| --- | --- | --- | --- |"]
    for system in [s for s in ("model", "lexicon", "majority") if s in metrics]:
        lines.append(f"| {system} | " + " | ".join(_figure(metrics, system, m)
                                                  for m in ("macro_f1", "f_avg", "accuracy")) + " |")
    lines.append("")
    for key, diff in sorted((metrics.get("comparison") or {}).items()):
        if isinstance(diff, dict) and "macro_f1" in diff:
            lines.append(f"{key.replace('_', ' ')}: macro-F1 {_figure({'c': diff}, 'c', 'macro_f1')}, "
                         f"F_avg {_figure({'c': diff}, 'c', 'f_avg')}.")
            lines.append("")
    return "\n".join(lines).rstrip("\n")


def log_dataset(dataset_path: str | os.PathLike, sha256: str) -> None:
    """Log the training data as an MLflow dataset input (context ``training``, tags ``sha256``
    and ``path``) of the active run: the run's Datasets panel shows it with its schema."""
    import mlflow
    import pandas as pd

    path = Path(dataset_path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    with warnings.catch_warnings():  # "can be interpreted in multiple ways": a local file, either way
        warnings.filterwarnings("ignore", message="The specified dataset source", category=UserWarning)
        dataset = mlflow.data.from_pandas(frame, source=str(path.resolve()),
                                          targets="label" if "label" in frame else None, name=path.name)
    mlflow.log_input(dataset, context="training", tags={"sha256": sha256, "path": path.name})


def precision_recall_png(records_path: str | os.PathLike, png_path: str | os.PathLike) -> None:
    """Draw reports/plots/precision_recall.json (records ``{recall, <class>: precision}``) as a
    PNG: one line per class."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    records = json.loads(Path(records_path).read_text(encoding="utf-8"))
    classes = [k for k in (records[0] if records else {}) if k != "recall"]
    fig = Figure(figsize=(5.2, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    recall = [r["recall"] for r in records]
    for label in classes:
        ax.plot(recall, [r[label] for r in records], label=label)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title("Interpolated precision-recall per class (out-of-fold, first seed)", fontsize=9)
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(str(png_path), format="png", metadata={"Software": None})


# ----------------------------------------------------------------------------- one evaluation run

def _version_description(title: str, metrics: dict[str, Any], data_sha: str, selected: dict[str, Any],
                         params: dict[str, Any], reason: str) -> str:
    data = metrics.get("data") or {}
    chosen = ", ".join(f"{k}={v}" for k, v in sorted(selected.items())) or "as in params.yaml"
    train = params.get("train") or {}

    def fig(system: str, name: str) -> str:
        return _figure(metrics, system, name)

    return (f"{title} trained on data/processed/dataset.csv (sha256 {data_sha[:12]}..., "
            f"{data.get('n_sentences', '?')} sentences, {data.get('n_articles', '?')} articles). "
            f"Params: classifier {train.get('classifier', '?')}, grid choice {chosen}, seed {train.get('seed', '?')}. "
            f"Out-of-fold: macro-F1 {fig('model', 'macro_f1')}, F_avg {fig('model', 'f_avg')}, "
            f"accuracy {fig('model', 'accuracy')}; lexicon macro-F1 {fig('lexicon', 'macro_f1')}, "
            f"majority {fig('majority', 'macro_f1')}. Champion decision: {reason}.")


def _run_tags(root: Path, data_sha: str, model_sha: str, key: str, train_report: dict | None) -> dict[str, str]:

    commit, dirty = git_commit(root)
    tags = {"git_commit": commit, "git_dirty": dirty, "data_sha256": data_sha, "model_sha256": model_sha,
            "evaluation_key": key, "stage": "evaluate", **owner_tags()}
    if os.environ.get("DVC_EXP_NAME"):
        tags["dvc_exp_name"] = os.environ["DVC_EXP_NAME"]
    if train_report:
        tags["classifier"] = str(train_report.get("classifier", ""))
    return tags


def _log_metrics(metrics: dict[str, Any], result: dict[str, Any], train_report: dict | None) -> None:
    """Metrics of the active run: the headline figures of metrics.json (:func:`metric_items`), per-fold
    macro-F1 of every system (seed x fold as steps) and of the chosen grid candidate."""
    import mlflow

    mlflow.log_metrics(metric_items(metrics))
    n_splits = result["n_splits"]
    for system, scores in sorted(result["fold_scores"].items()):
        for s in range(scores.shape[0]):
            for k in range(scores.shape[1]):
                mlflow.log_metric(f"folds/{system}.macro_f1", float(scores[s, k]), step=s * n_splits + k)
    if train_report:
        best = train_report["candidates"][train_report["best_index"]]
        for k, fold_score in enumerate(best["fold_macro_f1"]):
            mlflow.log_metric("selection/fold_macro_f1", float(fold_score), step=k)
        mlflow.log_metric("selection/best_mean_macro_f1", float(train_report["best_mean_macro_f1"]))


#: Outputs of :func:`pipeline.evaluate.stage.evaluate` (keys of its ``paths``) logged under ``reports/``;
#: every other output file it names is a plot or plot data, logged under ``plots/``.
REPORT_KEYS = ("metrics", "classification_report", "misclassified", "share_errors")


def _log_artifacts(paths: dict[str, Any], train_report_path: Path | None, params_path: Path) -> None:
    """Reports, every plot file evaluate wrote (PNG and DVC plot JSON), a precision-recall PNG
    drawn from its JSON, params.yaml."""
    import tempfile

    import mlflow

    for key, path in sorted(paths.items()):
        if Path(path).is_file():
            mlflow.log_artifact(str(path), artifact_path="reports" if key in REPORT_KEYS else "plots")
    if train_report_path:
        mlflow.log_artifact(str(train_report_path), artifact_path="reports")
    if Path(paths.get("precision_recall", "")).is_file():
        with tempfile.TemporaryDirectory(prefix="stance-plots-") as tmp:
            png = Path(tmp) / "precision_recall.png"
            precision_recall_png(paths["precision_recall"], png)
            mlflow.log_artifact(str(png), artifact_path="plots")
    mlflow.log_artifact(str(params_path), artifact_path="params")


def _register(client, model: Any, name: str, alias: str, score: float, key: str, tags: dict[str, str],
              rescore: Callable[[Any], float] | None,
              rescore_new: Callable[[], float] | None = None,
              max_chars: int | None = None) -> tuple[str, bool, str, str | None]:
    """Register the model of the active run (serving texts up to *max_chars*); move *alias* if
    :func:`champion_decision` allows. Returns ``(version, promoted, reason, holder)``, *holder*
    the version holding the alias afterwards."""

    champion = alias_version(client, name, alias)
    version = log_registered_model(model, name, client, max_chars=max_chars, tags={
        "macro_f1": repr(score), "evaluation_key": key, "data_sha256": tags["data_sha256"],
        "model_sha256": tags["model_sha256"]})
    promoted, reason = champion_decision(champion, score, key, alias, rescore, rescore_new)
    if promoted:
        client.set_registered_model_alias(name, alias, version)
    client.set_model_version_tag(name, version, "champion_reason", reason)
    holder = version if promoted else (None if champion is None else str(champion.version))
    return version, promoted, reason, holder


def _sql_error() -> type[BaseException]:
    """SQLAlchemy's base error (raised raw by a few MLflow store calls), if installed."""
    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:  # pragma: no cover - MLflow's SQL stores need it
        return OSError
    return SQLAlchemyError


def log_evaluation(uri: str, *, root: Path, all_params: dict[str, Any], mlflow_params: MlflowParams | dict[str, Any],
                   result: dict[str, Any], model_path: Path, dataset_path: Path,
                   train_report_path: Path | None, params_path: Path,
                   rescore: Callable[[Any], float] | None = None,
                   rescore_new: Callable[[], float] | None = None) -> dict[str, Any]:
    """Log one MLflow run for an evaluation and register its model, moving the alias only to a
    model at least as good as the current champion (:func:`pipeline.tracking.registry.champion_decision`).

    Parameters
    ----------
    uri : tracking (and registry) URI, see :func:`resolve_tracking_uri`.
    root : project root (for the git commit tag).
    all_params : the whole ``params.yaml``, logged flattened (``train.C`` ...).
    mlflow_params : its ``mlflow`` section (``experiment``, ``registered_model``, ``alias``).
    result : what :func:`pipeline.evaluate.stage.evaluate` returned (metrics, fold scores, paths).
    model_path, dataset_path, train_report_path, params_path : files logged or hashed.
    rescore : callable(model version) -> float, optional
        Macro-F1 of a champion's model on this evaluation, when the champion was evaluated on
        another one (see :func:`pipeline.tracking.registry.champion_decision`).
    rescore_new : callable() -> float, optional
        The new model scored the same way, compared with the re-scored champion.

    Logged: the run is named after what was trained (:func:`run_name`) and described
    (:func:`run_description`); params (all of params.yaml flattened, plus ``selected.<key>`` for
    the grid choice); metrics (:func:`metric_items`, everything else in the metrics.json artifact;
    ``folds/<system>.macro_f1`` per seed x fold and ``selection/fold_macro_f1`` as steps);
    the training data as a dataset input (:func:`log_dataset`); tags (``git_commit``,
    ``git_dirty``, ``data_sha256``, ``model_sha256``, ``evaluation_key``, ``classifier``,
    ``champion``, ``champion_reason``, ``dvc_exp_name`` when ``$DVC_EXP_NAME`` is set, and the
    owner tags of :func:`pipeline.tracking.store.owner_tags`); artifacts (reports, confusion-matrix and precision-recall
    PNGs, params file) and the model (:func:`pipeline.tracking.registry.log_registered_model`), whose version gets a
    description and the tags ``macro_f1``, ``evaluation_key``, ``data_sha256``, ``model_sha256``.
    Runs left RUNNING by a dead process are closed first
    (:func:`pipeline.tracking.store.close_dead_runs`).

    Returns
    -------
    info : dict
        ``run_id``, ``run_name``, ``experiment``, ``experiment_id``, ``model_name``, ``version``,
        ``alias``, ``promoted`` (bool), ``reason``, ``model_uri`` (``models:/<name>@<alias>``).

    Raises
    ------
    StanceError
        Any MLflow failure (a full disk too), one line with the URI and the cause; the run is marked FAILED.
    """
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    ml = coerce(MlflowParams, mlflow_params, "mlflow")
    experiment, name, alias = ml.experiment, ml.registered_model, ml.alias
    metrics = result["metrics"]
    train_report = json.loads(train_report_path.read_text(encoding="utf-8")) if train_report_path else None
    trained = (train_report or {}).get("effective_params") or all_params.get("train") or {}
    selected = (train_report or {}).get("best_params", {})
    data_sha = file_sha256(dataset_path)
    key = evaluation_key(data_sha, to_dict(coerce(EvaluateParams, all_params.get("evaluate"), "evaluate")))
    title = run_name(trained, (metrics.get("data") or {}).get("n_sentences"))
    score = float(metric_items(metrics).get("macro_f1", float("nan")))
    params = {k: _param_value(v) for k, v in flatten(all_params).items()}
    params.update({f"selected.{k}": _param_value(v) for k, v in selected.items()})
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no progress bars in DVC logs
    client, run_id = None, None
    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        exp_id = ensure_experiment(client, experiment, uri)
        close_dead_runs(client, exp_id)
        tags = _run_tags(root, data_sha, file_sha256(model_path), key, train_report)
        with quiet_mlflow_errors(), mlflow.start_run(experiment_id=exp_id, run_name=title) as run:
            run_id = run.info.run_id
            mlflow.set_tags(tags)
            mlflow.log_params(params)
            _log_metrics(metrics, result, train_report)
            log_dataset(dataset_path, data_sha)
            _log_artifacts(result["paths"], train_report_path, params_path)
            cap = coerce(PredictParams, all_params.get("predict"), "predict").max_chars
            with alias_lock(uri):  # concurrent evaluates decide one after the other
                version, promoted, reason, champion_version = _register(
                    client, result.get("model", model_path), name, alias, score, key, tags, rescore, rescore_new, cap)
            client.update_model_version(name, version, description=_version_description(
                title, metrics, data_sha, selected, all_params, reason))
            mlflow.set_tags({"champion": "true" if promoted else "false", "champion_reason": reason,
                             "mlflow.note.content": run_description(title, metrics, selected)
                             + f"\n\nRegistered as {name} version {version}; "
                             + (f"now @{alias}: {reason}." if promoted else f"not @{alias}: {reason}.")})
    except (MlflowException, OSError, _sql_error()) as exc:  # disk full, a broken store ...: one line
        done = finish_failed_run(client, run_id) if client is not None else "no run was started"
        raise StanceError(f"MLflow tracking store {uri}: {failure_reason(exc)}; {done}") from None
    record = write_champion_record(model_path, {
        "model_sha256": tags["model_sha256"], "registered_model": name, "alias": alias, "version": str(version),
        "champion_version": champion_version, "is_champion": bool(promoted), "reason": reason})
    note = champion_note(model_path, record)
    if note:
        log.warning(note)
    return {"run_id": run.info.run_id, "run_name": title, "experiment": experiment, "experiment_id": exp_id,
            "model_name": name, "version": version, "alias": alias, "promoted": promoted, "reason": reason,
            "model_uri": f"models:/{name}@{alias}", "champion_version": champion_version}
