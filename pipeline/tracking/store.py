"""The health of the MLflow store: runs left ``RUNNING`` by dead processes, and ``stance
check-store``, the always-run DVC stage that makes ``dvc repro`` log again what a lost or damaged
store lacks (the run, the model version, the alias recorded in ``models/mlflow.json``).

SQLite stores are read directly with :mod:`sqlite3`, read-only: the check costs a fraction of a
second and never creates a database. Other stores are asked through the MLflow client.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.core.config import StanceError, add_path_argument, repo_root
from pipeline.core.data import file_lock, write_json_atomic
from pipeline.tracking.registry import alias_version, incomplete_version
from pipeline.tracking.uri import (
    check_tracking_uri,
    foreign_artifacts,
    resolve_tracking_uri,
    sqlite_path,
    sqlite_problem,
)

log = logging.getLogger("stance")

__all__ = [
    "STORE_CHECK_TEXT",
    "add_check_store_arguments",
    "alias_lock",
    "check_store",
    "close_dead_runs",
    "failure_reason",
    "finish_failed_run",
    "quiet_mlflow_errors",
    "owner_tags",
    "run_check_store",
    "store_gaps",
]


def _process_start(pid: int) -> str | None:
    """Start time of process *pid* (clock ticks since boot, from /proc), ``None`` if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _process_alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    now = _process_start(pid)
    return not (started and now and now != started)  # the pid was reused by another process


def owner_tags() -> dict[str, str]:
    """Tags naming the process that logs a run (host, pid, pid start time), so that a later run
    can tell a run whose process died from one still in progress."""
    pid = os.getpid()
    return {"stance.host": socket.gethostname(), "stance.pid": str(pid), "stance.pid_start": _process_start(pid) or ""}


def close_dead_runs(client, experiment_id: str) -> list[str]:
    """Mark ``KILLED`` the runs of the experiment left ``RUNNING`` by a process of this host
    that no longer exists (e.g. ``kill -9`` during ``stance evaluate``); one stderr line each.
    Runs of other hosts, of live processes or without owner tags are left alone.

    Returns
    -------
    run_ids : the runs marked KILLED.
    """
    host = socket.gethostname()
    closed = []
    for run in client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=1000):
        tags = run.data.tags
        if tags.get("stance.host") != host or not tags.get("stance.pid", "").isdigit():
            continue
        if _process_alive(int(tags["stance.pid"]), tags.get("stance.pid_start") or None):
            continue
        client.set_tag(run.info.run_id, "stance.closed_because", f"process {tags['stance.pid']} on {host} is gone")
        client.set_terminated(run.info.run_id, status="KILLED")
        log.warning(f"MLflow run {run.info.run_id} was left RUNNING by process {tags['stance.pid']}, which is "
                    f"gone: marked KILLED")
        closed.append(run.info.run_id)
    return closed


# ----------------------------------------------------------------------------- the alias decision

#: Seconds an evaluate waits for another one's alias decision (which may re-score the champion).
ALIAS_LOCK_TIMEOUT = 1800.0


def alias_lock(uri: str, timeout: float = ALIAS_LOCK_TIMEOUT):
    """The lock that serialises the alias decision of concurrent ``stance evaluate`` runs on one
    store (read the champion, register, decide, move the alias): ``<mlflow.db>.lock`` beside a
    SQLite store, else a lock file for the URI in the temporary folder (this machine only)."""
    import hashlib
    import tempfile

    db = sqlite_path(uri)
    if db is not None:
        path = db.with_name(db.name + ".lock")
    else:
        path = Path(tempfile.gettempdir()) / f"stance-alias-{hashlib.sha256(uri.encode()).hexdigest()[:16]}.lock"
    return file_lock(path, timeout, f"MLflow tracking store {uri}: another stance evaluate is still deciding the "
                                    "alias", "nothing was registered; run it again")


# ----------------------------------------------------------------------------- a run that fails

def failure_reason(exc: BaseException) -> str:
    """One line for a failure while logging to the store: the innermost cause in the exception
    chain (``database or disk is full``, ``No space left on device``), not the SQL or the
    wrapper's advice about autoflush."""
    seen, cause, last = set(), exc, exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        last = cause
        cause = cause.__cause__ or cause.__context__
    if isinstance(last, OSError) and last.strerror:
        where = f" ({last.filename})" if last.filename else ""
        return f"{last.strerror}{where}"
    text = str(getattr(last, "message", None) or last)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith(("[SQL", "[param", "(Back"))]
    picked = next((ln for ln in lines if "full" in ln or "space" in ln), lines[-1] if lines else type(last).__name__)
    return picked.split(") ", 1)[-1] if picked.startswith("(sqlite3.") else picked[:300]


def finish_failed_run(client, run_id: str | None) -> str:
    """Mark run *run_id* ``FAILED`` if it is still ``RUNNING``; say what became of it (words)."""
    if run_id is None:
        return "no run was started"
    try:
        status = client.get_run(run_id).info.status
        if status == "RUNNING":
            client.set_terminated(run_id, status="FAILED")
            status = "FAILED"
        return f"run {run_id} marked {status}"
    except Exception:  # noqa: BLE001 - the store itself is failing (e.g. disk full)
        return (f"run {run_id} could not be marked FAILED now; `stance check-store` (dvc repro) marks it "
                "KILLED later")


class _NoErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR


@contextlib.contextmanager
def quiet_mlflow_errors() -> Iterator[None]:
    """Hold back MLflow's own ERROR records (tracebacks of SQLAlchemy errors) while a run is
    logged: the failure they describe is raised, and reported in one line by the caller."""
    handlers = logging.getLogger("mlflow").handlers
    quiet = _NoErrors()
    for handler in handlers:
        handler.addFilter(quiet)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(quiet)


# ----------------------------------------------------------------------------- stance check-store

#: What ``stance check-store`` writes (constant, so ``dvc.lock`` never changes because of it).
STORE_CHECK_TEXT = {"checked": "models/mlflow.json against the MLflow store (run, model version, alias)"}


def _sqlite_gaps(db: Path, experiment: str, sha: str, name: str, alias: str) -> list[str]:
    import sqlite3

    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        runs = [r[0] for r in con.execute(
            "SELECT r.run_uuid FROM runs r JOIN experiments e ON r.experiment_id = e.experiment_id "
            "JOIN tags t ON t.run_uuid = r.run_uuid WHERE e.name = ? AND e.lifecycle_stage = 'active' "
            "AND r.lifecycle_stage = 'active' AND r.status = 'FINISHED' AND t.key = 'model_sha256' AND t.value = ?",
            (experiment, sha))]
        versions = [r[0] for r in con.execute(
            "SELECT version FROM model_versions WHERE name = ? AND current_stage != 'Deleted_Internal' "
            f"AND run_id IN ({','.join('?' * len(runs))})", (name, *runs))] if runs else []
        aliased = con.execute("SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
                              (name, alias)).fetchall()
    finally:
        con.close()
    return _gaps(bool(runs), bool(versions), bool(aliased), alias)


def _gaps(run: bool, version: bool, aliased: bool, alias: str) -> list[str]:
    return [what for what, present in (("the run", run), ("the model version", version),
                                       (f"the @{alias} alias", aliased)) if not present]


def _client_gaps(uri: str, experiment: str, sha: str, name: str, alias: str) -> list[str]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    runs = [] if exp is None else [r.info.run_id for r in client.search_runs(
        [exp.experiment_id], filter_string=f"tags.model_sha256 = '{sha}' and attributes.status = 'FINISHED'")]
    versions = [v for v in client.search_model_versions(f"name = '{name}'") if v.run_id in runs] if runs else []
    return _gaps(bool(runs), bool(versions), alias_version(client, name, alias) is not None, alias)


def store_gaps(uri: str, record: dict[str, Any]) -> list[str]:
    """What the tracking store lacks of what ``models/mlflow.json`` (*record*) says was logged:
    a finished run of the experiment with the model's sha256, a model version from such a run,
    the alias. An empty list when complete (or when nothing was logged).

    SQLite stores are read directly (read-only, a fraction of a second); other stores through
    the MLflow client.
    """
    if not record.get("logged"):
        return []
    args = (str(record.get("experiment", "sanctions-stance")), str(record.get("model_sha256", "")),
            str(record.get("registered_model", "sanctions-stance")), str(record.get("alias", "champion")))
    db = sqlite_path(uri)
    if db is not None:
        if not db.is_file():
            return _gaps(False, False, False, args[3])
        import sqlite3

        try:
            return _sqlite_gaps(db, *args)
        except sqlite3.Error:
            pass  # another schema version: ask MLflow
    return _client_gaps(uri, *args)


def check_store(record_path: Path, out_path: Path, uri: str, timeout: float = 3.0) -> list[str]:
    """The ``check_store`` DVC stage: if the store lacks what *record_path* says was logged,
    remove that record (an output of the ``evaluate`` stage) so that ``dvc repro`` runs
    ``evaluate`` again, which logs the run, the model version and the alias anew. Then write
    *out_path* (constant content; ``evaluate`` depends on it, so this stage runs first).

    Returns
    -------
    gaps : what was missing ([] when the store is complete, the record is absent or nothing
        was logged). An unreachable server is reported on stderr and changes nothing.

    Raises
    ------
    StanceError
        The SQLite store is damaged, not a database, locked or not writable
        (:func:`pipeline.tracking.uri.sqlite_problem`): the stage fails, and `dvc repro` with it.
    """
    gaps: list[str] = []
    db = sqlite_path(uri)
    problem = (sqlite_problem(db, timeout) or foreign_artifacts(db)) if db is not None else None
    if problem:  # a damaged or locked store fails the stage, so `dvc repro` stops before evaluate
        raise StanceError(f"MLflow tracking store {db}: {problem}")
    if db is not None and _running_runs(db):
        _close_dead_runs_in(uri)
    if db is not None and _untagged_versions(db):
        _tag_incomplete_versions(uri)
    if record_path.is_file():
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {"logged": False}
            record_path.unlink()  # unreadable: let evaluate write it again
        if record.get("logged"):
            try:
                check_tracking_uri(uri, timeout)
                gaps = store_gaps(uri, record)
            except StanceError as exc:
                log.warning(f"warning: cannot check the MLflow store: {exc}")
            except Exception as exc:  # the store answered strangely: report, change nothing
                first = (str(exc).splitlines() or [""])[0][:300]
                log.warning(f"warning: cannot check the MLflow store {uri}: {type(exc).__name__}: {first}")
        if gaps:
            record_path.unlink()
            what = gaps[0] if len(gaps) == 1 else ", ".join(gaps[:-1]) + " and " + gaps[-1]
            log.info(f"the MLflow store {uri} lacks {what} of the model {str(record.get('model_sha256', ''))[:12]}...: "
                     f"removed {record_path.name}, so `dvc repro` re-runs evaluate, which logs them again")

    write_json_atomic(out_path, STORE_CHECK_TEXT)
    return gaps


def _running_runs(db: Path) -> int:
    """How many runs of the SQLite store are ``RUNNING`` (read-only; 0 when there is no store)."""
    import sqlite3

    if not db.is_file():
        return 0
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return con.execute("SELECT count(*) FROM runs WHERE status = 'RUNNING'").fetchone()[0]
    except sqlite3.Error:
        return 0  # no runs table yet
    finally:
        con.close()


#: Tag of a model version whose ``stance evaluate`` did not finish (value: what it lacks).
INCOMPLETE_TAG = "incomplete"


def _untagged_versions(db: Path) -> int:
    """How many model versions of the SQLite store lack the ``champion_reason`` tag every finished
    evaluate sets and are not yet tagged :data:`INCOMPLETE_TAG` (read-only; 0 without a store)."""
    import sqlite3

    if not db.is_file():
        return 0
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return con.execute(
            "SELECT count(*) FROM model_versions v WHERE v.current_stage != 'Deleted_Internal' AND NOT EXISTS "
            "(SELECT 1 FROM model_version_tags t WHERE t.name = v.name AND t.version = v.version "
            "AND t.key IN ('champion_reason', ?))", (INCOMPLETE_TAG,)).fetchone()[0]
    except sqlite3.Error:
        return 0  # no registry tables yet
    finally:
        con.close()


def _tag_incomplete_versions(uri: str) -> list[str]:
    """Tag :data:`INCOMPLETE_TAG` every model version registered by an evaluate that did not
    finish (no tags, its run KILLED, FAILED or gone; a version whose run is still RUNNING belongs
    to an evaluate in progress and is left alone); one stderr line each. ``stance promote``
    refuses such a version. Returns ``["<name> version <n>", ...]``."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    tagged: list[str] = []
    for version in client.search_model_versions():
        if INCOMPLETE_TAG in (version.tags or {}):
            continue
        missing = incomplete_version(client, version)
        if not missing or missing.endswith(" is RUNNING"):
            continue
        if version.run_id:
            try:
                if client.get_run(version.run_id).info.status == "RUNNING":
                    continue  # an evaluate still logging
            except Exception:  # noqa: BLE001 - the run is gone: the version is incomplete
                pass
        client.set_model_version_tag(version.name, version.version, INCOMPLETE_TAG, missing)
        tagged.append(f"{version.name} version {version.version}")
        log.info(f"MLflow model {version.name} version {version.version} is incomplete ({missing}; its evaluate "
                 f"did not finish): tagged {INCOMPLETE_TAG}, `stance promote` refuses it")
    return tagged


def _close_dead_runs_in(uri: str) -> list[str]:
    """:func:`close_dead_runs` in every experiment of the store (imports mlflow: only when some
    run is RUNNING, so the usual check stays cheap)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    closed: list[str] = []
    for exp in client.search_experiments():
        closed += close_dead_runs(client, exp.experiment_id)
    return closed


def add_check_store_arguments(parser) -> None:
    """Options of ``stance check-store``."""
    add_path_argument(parser, "--record", "mlflow_record", "what evaluate logged, next to the model")
    add_path_argument(parser, "--out", "mlflow_store", "stage output")
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///<repo>/mlflow.db)")


def run_check_store(args) -> int:
    """Entry point of ``stance check-store``."""

    root = repo_root()
    check_store(Path(args.record), Path(args.out), resolve_tracking_uri(args.tracking_uri, root))
    return 0
