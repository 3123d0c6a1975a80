"""The MLflow tracking URI: where the store is (``$MLFLOW_TRACKING_URI``, ``--tracking-uri`` or
SQLite at the project root), where its artifacts go, and a fast check that it can be reached.

The bottom of :mod:`pipeline.tracking`: standard library only, no mlflow.
"""

from __future__ import annotations

import os
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from pipeline.core.config import PATHS, StanceError

__all__ = ["artifact_location", "check_tracking_uri", "resolve_tracking_uri", "foreign_artifacts", "sqlite_path",
           "sqlite_problem"]


#: Default ports of network tracking / database stores, for the reachability check.
_PORTS = {"http": 80, "https": 443, "postgresql": 5432, "mysql": 3306, "mssql": 1433}


def resolve_tracking_uri(explicit: str | None, root: str | os.PathLike) -> str:
    """Tracking URI: *explicit*, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///<root>/mlflow.db``."""
    if explicit:
        return explicit
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{(Path(root).resolve() / PATHS['mlflow_db']).as_posix()}"


def sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:///"):
        return None
    return Path(urllib.parse.unquote(uri[len("sqlite:///"):].split("?", 1)[0]))


def artifact_location(uri: str) -> str | None:
    """Artifact root for a new experiment: ``<dir of the SQLite file>/mlartifacts`` as a
    ``file://`` URI; ``None`` (server default) for other stores."""
    db = sqlite_path(uri)
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
    db = sqlite_path(uri)
    if db is not None:
        if not db.parent.is_dir():
            raise StanceError(f"MLflow tracking store {uri}: directory {db.parent} does not exist ({advice})")
        problem = sqlite_problem(db, timeout) or foreign_artifacts(db)
        if problem:
            raise StanceError(f"MLflow tracking store {db}: {problem}")
        return
    try:
        parsed = urllib.parse.urlsplit(uri)
        scheme = parsed.scheme.split("+", 1)[0].lower()
        if scheme not in _PORTS:
            return  # file stores, plain paths, databricks...: nothing cheap to check
        host, port = parsed.hostname, parsed.port or _PORTS[scheme]
    except ValueError as exc:  # e.g. "http://[::1" (unclosed IPv6 bracket), a non-numeric port
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


def sqlite_problem(db: Path, timeout: float = 3.0) -> str | None:
    """``None`` if the SQLite store *db* is absent (MLflow creates it) or a sound database that
    this process may write within *timeout* seconds; else what is wrong, in words: not a
    database (garbage), damaged (truncated), locked by another process, or not writable.
    Reads the file (``PRAGMA quick_check``) and takes the write lock for an instant, writing nothing."""
    import sqlite3

    if not db.exists():
        return None
    restore = "restore it from a backup, or move it away and run `dvc repro` to log anew"
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=rw", uri=True, timeout=timeout)
    except sqlite3.Error as exc:
        return f"cannot open it ({exc})"
    try:
        found = con.execute("PRAGMA quick_check").fetchone()
        if not found or found[0] != "ok":
            return f"the database is damaged ({str(found[0] if found else 'no answer')[:120]}); {restore}"
        con.execute("BEGIN IMMEDIATE")
        con.rollback()
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return (f"the database is locked by another process (waited {timeout:g} s); "
                    "wait for it to finish or stop it")
        if "readonly" in text or "read-only" in text:
            return "the database is not writable (a read-only file or folder)"
        return f"the database is damaged ({text}); {restore}"
    except sqlite3.DatabaseError as exc:
        return f"not a usable SQLite database ({exc}); {restore}"
    finally:
        con.close()
    return None


def foreign_artifacts(db: Path) -> str | None:
    """``None`` unless an experiment of the SQLite store *db* keeps its artifacts in an
    ``mlartifacts`` folder (the project's layout, :func:`artifact_location`) outside the store's
    own folder: a ``mlflow.db`` copied with a checkout keeps the original's absolute ``file://``
    artifact locations, so runs logged from the copy would write into the original's folder."""
    import sqlite3

    if not db.is_file():
        return None
    home = db.resolve().parent
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT name, artifact_location FROM experiments "
                               "WHERE lifecycle_stage = 'active'").fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return None  # no experiments table yet (or another schema): nothing to compare
    for name, location in rows:
        location = str(location or "")
        if not location.startswith("file:"):
            continue  # a remote artifact store, or MLflow's own Default experiment: not the project's
        where = Path(urllib.parse.unquote(urllib.parse.urlsplit(location).path))
        if where.name == PATHS["mlflow_artifacts"] and not where.is_relative_to(home):
            return (f"experiment {name!r} keeps its artifacts in {where}, outside {home}: this mlflow.db was "
                    f"copied from another checkout, and runs logged here would write into that one's folder; "
                    f"move {db.name} away (dvc repro then logs anew) or use the original checkout")
    return None


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
