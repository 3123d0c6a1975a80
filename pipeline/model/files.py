"""Model files: load, check and save the classifier, and decide which files may be unpickled.

Every command that reads a model (``predict``, ``evaluate``, ``label``, ``export-queue``,
``export-model``) goes through :func:`load_model`; ``train`` writes through :func:`save_model`
and records the file's sha256 in its report (:func:`record_model`).

Trust rule. Unpickling (joblib) can run code hidden in the file, so a ``.joblib`` file is
unpickled only when its sha256 is recorded in a training report the project wrote
(``reports/train.json``, git-tracked; ``stance evaluate --train-report`` adds the one it is
given). Any other joblib file is refused with one line, unless the caller trusts it
(``--trust-model``: loaded with a warning). ``.skops`` files (:func:`export_model`) are safe to
share: they are loaded by skops, which builds only the types in :data:`SKOPS_ALLOWED` plus
scikit-learn's own, and refuses a file that holds anything else.

The saved ``.joblib`` file holds scikit-learn objects and three small classes of this package
(:data:`PROJECT_TYPES`: the static-embedding block, the probability average, the calibrated
scores), which keep only arrays, strings and numbers: ``joblib.load`` works where this package
is installed (the default install, no torch).

Standard library only at import time (joblib, skops and scikit-learn load lazily), so the
``stance predict`` start-up stays cheap.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.core.config import PATHS, StanceError, add_path_argument, repo_root
from pipeline.core.data import atomic_open

__all__ = [
    "PROJECT_TYPES",
    "SKOPS_ALLOWED",
    "add_export_model_arguments",
    "champion_note",
    "check_model",
    "export_model",
    "file_sha256",
    "load_model",
    "record_model",
    "run_export_model",
    "save_model",
    "strip_volatile_state",
    "trusted_hashes",
    "write_champion_record",
]

log = logging.getLogger("stance")

#: Types and functions, beyond those skops trusts by itself, that the project's own models contain:
#: ``functools.partial(map, functools.partial(re.sub, "pattern", "repl"))``, ``list``,
#: ``operator.itemgetter("text")``, scikit-learn's ``Bunch`` (fitted voting ensembles), the calibration
#: wrappers of ``linearsvc``, the project's classes a model of the default configuration holds
#: (:data:`PROJECT_TYPES`: their state is arrays, strings and numbers; loading them runs no code of
#: the file's choosing) and, in a model with the opt-in embeddings block,
#: ``pipeline.model.embeddings.encode`` (under its old path too, as files saved before the
#: subpackages name it; see :data:`pipeline.MOVED`). An exact list: a ``.skops`` file naming any
#: other type or function (even one inside ``sklearn.``, whose test helpers run scripts) is refused
#: before anything in it is built or called.
PROJECT_TYPES = ("pipeline.model.static.StaticEmbeddings", "pipeline.model.average.ProbabilityAverage",
                 "pipeline.model.calibration.Calibrated")
SKOPS_ALLOWED = ("functools.partial", "operator.itemgetter", "re.sub", "builtins.map", "builtins.list",
                 "sklearn.utils._bunch.Bunch", "sklearn.calibration._CalibratedClassifier",
                 "sklearn.calibration._SigmoidCalibration", "pipeline.model.embeddings.encode",
                 "pipeline.embeddings.encode",  # the old module path of encode, in files saved before the move
                 *PROJECT_TYPES)

#: Beside the model file: which registered version it is and whether it holds the alias (written
#: by ``stance evaluate`` when it logs to MLflow; per machine, like the store, not tracked by DVC).
CHAMPION_RECORD = "champion.json"

#: Key of the model's sha256 in a training report.
REPORT_KEY = "model_sha256"


def _shown(path: Path) -> str:
    """*path* relative to the working directory when it is below it (for messages)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- trust

def default_reports() -> list[Path]:
    """Training reports whose recorded hashes are trusted by default: ``<repo>/reports/train.json``."""
    return [repo_root() / PATHS["train_report"]]


def trusted_hashes(reports: Iterable[str | os.PathLike] | None = None) -> set[str]:
    """sha256 values recorded by ``stance train`` in *reports* (default :func:`default_reports`).

    Missing or unreadable reports contribute nothing.
    """
    out: set[str] = set()
    for path in default_reports() if reports is None else reports:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        value = data.get(REPORT_KEY) if isinstance(data, dict) else None
        for h in [value] if isinstance(value, str) else value if isinstance(value, list) else []:
            if isinstance(h, str):
                out.add(h.lower())
    return out


def record_model(report: dict[str, Any], model_path: str | os.PathLike) -> dict[str, Any]:
    """Put the sha256 of *model_path* into *report* (a training report about to be written)."""
    report[REPORT_KEY] = file_sha256(model_path)
    return report


# --------------------------------------------------------------------------- load

def _untrusted_message(name: str) -> str:
    return (f"model file {name} was not produced by this project's training (its sha256 is not in "
            f"{PATHS['train_report']}); unpickling it could run code: pass --trust-model if you trust "
            "it, or ask for a .skops file (stance export-model)")


def _default_missing(p: Path) -> str:
    """Why the default model file is missing, naming the repository it was looked for in."""
    root = p.parent.parent
    if not any((root / marker).is_file() for marker in ("dvc.yaml", "params.yaml")):
        return (f"no model given and {Path.cwd()} is not inside the project (no dvc.yaml or params.yaml here or "
                f"above): run stance in the repository, or pass --model PATH")
    return (f"model file {_shown(p)} not found; run `dvc repro` in the repository {root} (found from "
            f"{Path.cwd()}) to train it, or pass --model PATH")


def _load_joblib(p: Path, name: str, trust: bool, reports) -> Any:
    import io

    import joblib  # local import: keeps `import pipeline.model.files` (and the CLI start-up) cheap

    data = p.read_bytes()  # hash and unpickle the same bytes
    if reports is None:  # by hash: the project's report, and the one of the repository holding the file
        reports = [*default_reports(), repo_root(p.resolve().parent) / PATHS["train_report"]]
    if hashlib.sha256(data).hexdigest() not in trusted_hashes(reports):
        if not trust:
            raise StanceError(_untrusted_message(name))
        log.warning("warning: loading %s although its sha256 is not recorded by training (--trust-model)", name)
    return joblib.load(io.BytesIO(data))


def _load_skops(p: Path, name: str) -> Any:
    import skops.io as sio

    untrusted = sorted(sio.get_untrusted_types(file=p))
    refused = [t for t in untrusted if t not in SKOPS_ALLOWED]
    if refused:
        raise StanceError(f"model file {name}: refusing types outside the trusted list: {', '.join(refused[:5])}")
    return sio.load(p, trusted=untrusted)


def load_model(path: str | os.PathLike | None = None, *, trust: bool = False,
               reports: Iterable[str | os.PathLike] | None = None, scores: str = "proba",
               labels: Iterable[str] | None = None):
    """Load a model file and check that it can score text.

    Parameters
    ----------
    path : str or path-like, optional
        A ``.joblib`` (or other pickle) file, or a ``.skops`` file. Default:
        ``models/model.joblib`` under the repository root.
    trust : bool
        Unpickle a joblib file even when its sha256 is not recorded (with a warning).
    reports : iterable of paths, optional
        Training reports whose ``model_sha256`` is trusted (default: ``reports/train.json`` of
        the project, and of the repository that holds the model file, so a trained model is
        trusted by its hash wherever the command runs).
    scores : {"proba", "any"}
        ``"proba"``: require ``predict_proba``; ``"any"``: ``decision_function`` is enough.
    labels : iterable of str, optional
        When given, every class of the model must be one of them.

    Returns
    -------
    model : fitted estimator taking an iterable of str, with ``classes_``.

    Raises
    ------
    StanceError
        Missing file (the message says to run ``dvc repro``), a directory, an untrusted joblib
        file, a corrupt file, or an object that is not a fitted text classifier.
    """
    p = Path(path) if path is not None else repo_root() / PATHS["model"]
    name = _shown(p)
    if not p.exists() and path is None:
        raise StanceError(_default_missing(p))
    if not p.exists():
        raise StanceError(f"model file {name} not found; run `dvc repro` to train it (or pass --model PATH)")
    if p.is_dir():
        raise StanceError(f"model file {name} is a directory, expected a .joblib or .skops file")
    try:
        model = _load_skops(p, name) if p.suffix.lower() == ".skops" else _load_joblib(p, name, trust, reports)
    except StanceError:
        raise
    except OSError as exc:
        raise StanceError(f"model file {name}: cannot read it ({exc.strerror or exc})") from None
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise StanceError(f"model file {name} is corrupt or not a model file ({detail}); "
                          "re-create it with `dvc repro` or pass another --model") from None
    check_model(model, name, scores=scores, labels=labels)
    return model


#: A sentence used to check that a loaded model scores text.
_PROBE = ["The Security Council decided to tighten the sanctions."]


def check_model(model: Any, name: str = "model", *, scores: str = "proba",
                labels: Iterable[str] | None = None, probe: bool = True) -> None:
    """Raise :class:`StanceError` unless *model* is a fitted classifier (with *probe*: one that
    scores a sentence without error: a model whose ``predict_proba`` rejects strings is refused)."""
    method = "predict_proba" if scores == "proba" or hasattr(model, "predict_proba") else "decision_function"
    if not callable(getattr(model, method, None)):
        wanted = "predict_proba" if scores == "proba" else "predict_proba or decision_function"
        raise StanceError(f"{name}: {type(model).__name__} has no {wanted}; expected a fitted classifier")
    try:
        classes = [str(c) for c in model.classes_]
    except AttributeError:
        raise StanceError(f"{name}: the classifier is not fitted (no classes_)") from None
    if not classes:
        raise StanceError(f"{name}: the classifier has no classes")
    if labels is not None:
        allowed = list(labels)
        unknown = [c for c in classes if c not in allowed]
        if unknown:
            raise StanceError(f"{name}: not a stance model (classes {classes}, expected a subset of {allowed})")
    if not probe:
        return
    try:
        getattr(model, method)(_PROBE)
    except Exception as exc:  # noqa: BLE001 - whatever the model raises, it cannot score text
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
        raise StanceError(f"{name}: the model cannot score text ({method} failed on a sentence: {detail})") from None


# --------------------------------------------------------------------------- save

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


def save_model(model, path: str | os.PathLike) -> None:
    """Pickle *model* with joblib atomically to *path* (a plain scikit-learn object), uncompressed:
    the static block's float16 vectors hardly compress (17.8 MB against 15.6 MB with zlib), and
    an uncompressed file loads in less than half the time, which `stance predict`'s start-up feels."""
    import joblib

    with atomic_open(path, "wb") as fh:
        joblib.dump(model, fh, compress=0)


def skops_types(model) -> list[str]:
    """Types of *model* that skops does not trust by default; each must be allowed (see :data:`SKOPS_ALLOWED`)."""
    import skops.io as sio

    found = sorted(sio.get_untrusted_types(data=sio.dumps(model)))
    unexpected = [t for t in found if t not in SKOPS_ALLOWED]
    if unexpected:
        raise StanceError(f"the model contains types that are not allowed (outside the trusted list): {unexpected}")
    return found


def export_model(model, path: str | os.PathLike) -> None:
    """Write *model* as a ``.skops`` file (atomically): safe to share, loaded without unpickling code."""
    import skops.io as sio

    skops_types(model)
    data = sio.dumps(model)
    with atomic_open(path, "wb") as fh:
        fh.write(data)


# --------------------------------------------------------------------------- CLI

def add_trust_argument(parser: argparse.ArgumentParser) -> None:
    """``--trust-model``, shared by every command that loads a model."""
    parser.add_argument("--trust-model", action="store_true",
                        help="unpickle a .joblib model even if training did not record its sha256 "
                             "(it can run code: only for files you trust)")


def add_export_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``stance export-model``."""
    add_path_argument(parser, "--model", "model", "model to export", aliases=("-m",))
    parser.add_argument("--out", "-o", default=None,
                        help="output file (default: the model path with the .skops suffix)")
    parser.add_argument("--format", choices=("skops",), default="skops", help="output format (default: skops)")
    add_trust_argument(parser)


def run_export_model(args: argparse.Namespace) -> int:
    """Run ``stance export-model``: write the model as a shareable .skops file."""
    src = Path(args.model)
    out = Path(args.out) if args.out else src.with_suffix(".skops")
    if out.resolve() == src.resolve():
        raise StanceError(f"--out {out} is the model file itself; choose another path")
    model = load_model(src, trust=args.trust_model)
    export_model(model, out)
    log.info("wrote %s (skops; loads with `stance predict --model %s`, no flag needed)", out, out)
    return 0


# ----------------------------------------------------------------------------- champion notice

def write_champion_record(model_path: str | os.PathLike, record: dict[str, Any]) -> dict[str, Any]:
    """Write :data:`CHAMPION_RECORD` beside *model_path* (atomically) and return *record*."""
    from pipeline.core.data import write_json_atomic

    write_json_atomic(Path(model_path).with_name(CHAMPION_RECORD), record)
    return record


def champion_note(model_path: str | os.PathLike | None, record: dict[str, Any] | None = None) -> str | None:
    """One line when the model file at *model_path* is a registered version that is not the
    alias holder (both versions and the reason), from :data:`CHAMPION_RECORD` beside it (or
    *record*); ``None`` when it is the champion, or nothing is known (no record, another file)."""
    p = Path(model_path) if model_path is not None else repo_root() / PATHS["model"]
    if record is None:
        try:
            record = json.loads(p.with_name(CHAMPION_RECORD).read_text(encoding="utf-8"))
            if record.get("model_sha256") != file_sha256(p):
                return None  # retrained since: the record is about an older file
        except (OSError, ValueError, AttributeError):
            return None
    if not isinstance(record, dict) or record.get("is_champion", True):
        return None
    name, alias = record.get("registered_model", "?"), record.get("alias", "champion")
    holder = record.get("champion_version")
    held = f"version {holder} holds @{alias}" if holder else f"no version holds @{alias}"
    return (f"note: {_shown(p)} is {name} version {record.get('version', '?')}, not @{alias}; {held} and is what "
            f"`stance serve --champion` and MLflow serving (models:/{name}@{alias}) answer with. "
            f"Why: {record.get('reason', '?')}")
