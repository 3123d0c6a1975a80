"""Parameters, default paths, user-facing errors and atomic file writes.

Everything here is standard library only, so every module (including the fast
``stance predict`` path) can import it without paying for pandas, mlflow or dvc.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

from pipeline import LABELS

__all__ = [
    "LABELS",
    "PATHS",
    "StanceError",
    "atomic_open",
    "load_params",
    "repo_root",
    "write_csv_atomic",
    "write_json_atomic",
    "write_text_atomic",
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


def load_params(path: str | os.PathLike | None = None, section: str | None = None) -> dict[str, Any]:
    """Load ``params.yaml`` (or *path*) and return it, or just one stage's *section*.

    Raises :class:`StanceError` with the file name when the file is missing or is not
    valid YAML, or when *section* is absent.
    """
    import yaml  # local import: keeps `import pipeline.config` cheap

    p = Path(path) if path is not None else Path(PATHS["params"])
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StanceError(f"{p}: parameters file not found") from None
    except UnicodeDecodeError as exc:
        raise StanceError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    try:
        params = yaml.safe_load(text) or {}
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


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8",
                newline: str | None = "") -> Iterator[IO]:
    """Open a temporary file next to *path*; on success fsync it and rename it over *path*.

    If the block raises (or the process dies), *path* keeps its previous content and
    the temporary file is removed (or left as an ignorable ``.<name>.*.tmp``).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    binary = "b" in mode
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode, **({} if binary else {"encoding": encoding, "newline": newline})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write *text* to *path* atomically (UTF-8, ``\\n`` line endings kept as given)."""
    with atomic_open(path, "w") as fh:
        fh.write(text)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write *obj* as stable, human-readable JSON (sorted keys, 2-space indent, final newline)."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_csv_atomic(path: str | os.PathLike, frame) -> None:
    """Write a pandas DataFrame to CSV atomically, without index, with ``\\n`` line endings."""
    with atomic_open(path, "w") as fh:
        frame.to_csv(fh, index=False, lineterminator="\n")
