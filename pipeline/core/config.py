"""Default paths, the repository root, the user-facing error type and raw params.yaml loading.

Typed, validated parameters are in :mod:`pipeline.core.params`; labels, columns, the CSV reader
and the atomic writer in :mod:`pipeline.core.data`. Standard library only (yaml on demand), so
every module, including the fast ``stance predict`` path, can import it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = [
    "PATHS",
    "add_path_argument",
    "jobs_count",
    "resolve_path_arguments",
    "StanceError",
    "load_params",
    "repo_root",
    "resolve_path",
]

#: Default locations, relative to the repository root (DVC runs stages from there).
PATHS: dict[str, str] = {
    "params": "params.yaml",
    "raw": "data/raw",
    "sentences": "data/interim/sentences.csv",
    "articles": "data/interim/articles.csv",
    "split_report": "reports/split_report.csv",
    "labels": "data/labels/labels.csv",
    "dataset": "data/processed/dataset.csv",
    "queue": "data/processed/queue.csv",
    "dataset_report": "reports/dataset_report.json",
    "model": "models/model.joblib",
    "train_report": "reports/train.json",
    "metrics": "reports/metrics.json",
    "plots": "reports/plots",
    "misclassified": "reports/misclassified.csv",
    "classification_report": "reports/classification_report.txt",
    "label_review": "reports/label_review.csv",
    "mlflow_record": "models/mlflow.json",
    "mlflow_store": "models/mlflow_store.json",
    "mlflow_db": "mlflow.db",
    "mlflow_artifacts": "mlartifacts",
}


class StanceError(Exception):
    """A problem with the user's input or environment.

    The CLI prints the message on one line (no traceback) and exits with status 2.
    Messages should name the file, the row and the offending value.
    """


def repo_root(start: str | os.PathLike | None = None) -> Path:
    """Return the project root.

    ``$DVC_ROOT`` wins (DVC sets it for stage commands, also under ``dvc exp run``,
    where the working copy lives in a temporary directory). Otherwise the nearest
    parent of *start* (default: the working directory) holding ``dvc.yaml`` or
    ``params.yaml``; failing that, *start* itself.
    """
    env = os.environ.get("DVC_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(start or os.getcwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "dvc.yaml").is_file() or (candidate / "params.yaml").is_file():
            return candidate
    return here


def resolve_path(value: str | os.PathLike | None, key: str) -> Path:
    """*value* as a Path when given (relative to the working directory, as typed), else the default
    ``PATHS[key]`` under :func:`repo_root`: every command resolves its default paths this way."""
    return Path(value) if value is not None else repo_root() / PATHS[key]


def add_path_argument(parser, flag: str, key: str, help: str, *, aliases: tuple[str, ...] = (),
                      if_exists: bool = False, **kwargs: Any) -> None:
    """Add ``--flag PATH`` (and its short *aliases*, e.g. ``-m``) whose default, ``PATHS[key]`` under
    :func:`repo_root`, is filled in by :func:`resolve_path_arguments` (the CLI calls it after parsing).

    The one way every command declares a path option with a project default. With *if_exists*
    the default applies only when that file exists; otherwise the option stays None (e.g. no
    params file: built-in defaults).
    """
    dest = kwargs.pop("dest", flag.lstrip("-").replace("-", "_"))
    when = " when it exists" if if_exists else ""
    parser.add_argument(flag, *aliases, dest=dest, default=None,
                        help=f"{help} (default: <repo>/{PATHS[key]}{when})", **kwargs)
    paths = dict(parser.get_default("_repo_paths") or {})
    paths[dest] = (key, if_exists)
    parser.set_defaults(_repo_paths=paths)


def _whole_number(value: str, minimum: int, meaning: str) -> int:
    import argparse

    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if n < minimum:
        raise argparse.ArgumentTypeError(f"must be {meaning}, got {n}")
    return n


def jobs_count(value: str) -> int:
    """argparse type of ``--jobs N``: a whole number, 0 meaning one worker per CPU."""
    return _whole_number(value, 0, "0 (all CPUs) or more")


def positive_int(value: str) -> int:
    """argparse type of a count that must be at least 1 (``--chunk-size``, ``--max-chars``)."""
    return _whole_number(value, 1, "at least 1")


def resolve_path_arguments(args) -> None:
    """Replace every unset path option added by :func:`add_path_argument` with its repo-root default."""
    for dest, (key, if_exists) in (getattr(args, "_repo_paths", None) or {}).items():
        if getattr(args, dest, None) is None:
            path = resolve_path(None, key)
            if not if_exists or path.exists():
                setattr(args, dest, str(path))


def load_params(path: str | os.PathLike | None = None, section: str | None = None) -> dict[str, Any]:
    """Load ``params.yaml`` (or *path*) and return it, or just one stage's *section*.

    Raises :class:`StanceError` with the file name when the file is missing or is not
    valid YAML, or when *section* is absent.
    """
    import yaml  # local import: keeps `import pipeline.core.config` cheap

    p = resolve_path(path, "params")
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StanceError(f"{p}: parameters file not found") from None
    except UnicodeDecodeError as exc:
        raise StanceError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    try:
        # libyaml's parser when PyYAML has it (same safe constructor, several times faster: this
        # file is read at every `stance predict` start-up)
        params = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except yaml.YAMLError as exc:
        raise StanceError(f"{p}: invalid YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(params, dict):
        raise StanceError(f"{p}: expected a mapping of stage names to parameters")
    if section is None:
        return params
    if section not in params:
        raise StanceError(f"{p}: no '{section}' section")
    value = params[section] or {}
    if not isinstance(value, dict):
        raise StanceError(f"{p}: section '{section}' must be a mapping, got {value!r}")
    return value
