"""The project's data vocabulary and file I/O: labels, columns, one strict CSV reader, one atomic writer.

* :data:`LABELS` -- ``support``, ``oppose``, ``neutral``: the only labels.
* Column tuples of every table the pipeline reads or writes (:data:`SENTENCE_COLUMNS`,
  :data:`ARTICLE_COLUMNS`, :data:`SPLIT_REPORT_COLUMNS`, :data:`LABEL_COLUMNS`,
  :data:`DATASET_COLUMNS`, :data:`QUEUE_COLUMNS`).
* :func:`read_csv_rows` -- the strict CSV reader (file, line and value named in every error).
* :func:`atomic_open` and the ``write_*`` helpers -- the atomic writer (temporary file, fsync,
  rename) behind every output of every stage.
* :func:`normalize_text` and :func:`sentence_id` -- the comparison form of a sentence and its
  stable id (used by the splitter, the dataset join and the label tools).

Standard library only, so every module (including the fast ``stance predict`` path) can import it.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import io
import json
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from pipeline.core.config import StanceError

__all__ = [
    "ARTICLE_COLUMNS",
    "DATASET_COLUMNS",
    "LABELS",
    "LABEL_COLUMNS",
    "LABEL_REQUIRED",
    "QUEUE_COLUMNS",
    "SENTENCE_COLUMNS",
    "SENTENCE_REQUIRED",
    "SPLIT_REPORT_COLUMNS",
    "atomic_open",
    "check_folder_writable",
    "check_header",
    "check_writable",
    "csv_records",
    "has_surrogate",
    "load_json",
    "file_lock",
    "make_folder",
    "normalize_text",
    "output_set",
    "read_csv_rows",
    "sentence_id",
    "spreadsheet_safe",
    "write_csv_atomic",
    "write_json_atomic",
    "write_rows_csv",
    "write_target",
    "write_text_atomic",
]

#: The labels, in the order used for every output (columns, reports, plots).
LABELS: tuple[str, ...] = ("support", "oppose", "neutral")

#: ``data/interim/sentences.csv`` (``start``/``end``: character offsets into the article file).
SENTENCE_COLUMNS: tuple[str, ...] = ("sentence_id", "article_id", "position", "paragraph", "start", "end", "text")
#: Columns the label tools and the dataset stage need from ``sentences.csv``.
SENTENCE_REQUIRED: tuple[str, ...] = ("sentence_id", "article_id", "position", "text")
#: ``data/interim/articles.csv``.
ARTICLE_COLUMNS: tuple[str, ...] = ("article_id", "source", "title", "license", "n_sentences")
#: ``reports/split_report.csv``.
SPLIT_REPORT_COLUMNS: tuple[str, ...] = ("article_id", "rule", "count", "example")
#: Columns of the labels file, in the order new files are written.
LABEL_COLUMNS: tuple[str, ...] = ("sentence_id", "label", "text", "note")
#: Columns a labels file must have (``note`` may be absent; it is added when the file is rewritten).
LABEL_REQUIRED: tuple[str, ...] = ("sentence_id", "label", "text")
#: ``data/processed/dataset.csv``: the labelled sentences.
DATASET_COLUMNS: tuple[str, ...] = ("sentence_id", "article_id", "position", "text", "label")
#: ``data/processed/queue.csv``: the unlabelled sentences.
QUEUE_COLUMNS: tuple[str, ...] = ("sentence_id", "article_id", "position", "text")


# --------------------------------------------------------------------------- text and ids

_FOLD = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
})


def normalize_text(text: str) -> str:
    """Return the comparison form of a sentence.

    NFKC, curly quotes and all dashes folded to ASCII, case folded, punctuation other
    than letters/digits dropped, whitespace collapsed. Two sentences that differ only in
    quoting, dashes, spacing or case normalise to the same string. Used for sentence ids,
    duplicate detection and re-attaching labels.
    """
    t = unicodedata.normalize("NFKC", text).translate(_FOLD).casefold()
    t = re.sub(r"[^\w\s]", " ", t)
    return " ".join(t.split())


def sentence_id(article_id: str, text: str) -> str:
    """Stable id of a sentence: 16 hex digits of sha1(article_id + NUL + normalised text).

    Depends only on the article and the sentence's own words, never on its position, so
    editing other parts of an article leaves the id (and its hand label) untouched.
    """
    digest = hashlib.sha1(f"{article_id}\0{normalize_text(text)}".encode()).hexdigest()
    return digest[:16]



# --------------------------------------------------------------------------- strict CSV reading

def short(value: str, limit: int = 60) -> str:
    """``repr`` of *value*, cut to *limit* characters for error messages."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _decode(p: Path, what: str) -> str:
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise StanceError(f"{p}: {what} not found") from None
    except IsADirectoryError:
        raise StanceError(f"{p}: is a directory, expected a {what}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start: exc.start + 4]
        raise StanceError(f"{p}, line {line}: not UTF-8 text (byte {bad[:1]!r} at offset {exc.start}); "
                          f"save the file as UTF-8") from None


def _header(p: Path, record: list[str], start: int, required: Sequence[str]) -> list[str]:
    fieldnames = [name.strip() for name in record]
    seen: set[str] = set()
    for name in fieldnames:
        if not name:
            raise StanceError(f"{p}, line {start}: empty column name in header {short(','.join(record))}")
        if name in seen:
            raise StanceError(f"{p}, line {start}: duplicate column {name!r} in header")
        seen.add(name)
    missing = [c for c in required if c not in seen]
    if missing:
        raise StanceError(f"{p}, line {start}: missing column(s) {', '.join(missing)} in header "
                          f"{short(','.join(record))} (expected {','.join(required)})")
    return fieldnames


def _csv_error(p: Path, start: int, snippet: str, exc: csv.Error) -> StanceError:
    if "unexpected end of data" in str(exc):
        return StanceError(f"{p}, line {start}: malformed CSV (unexpected end of data): a double "
                           f"quote opened in {short(snippet)} is never closed")
    return StanceError(f"{p}, line {start}: malformed CSV ({exc}) in {short(snippet)}; "
                       f"fields containing commas, quotes or newlines must be wrapped in double "
                       f"quotes, with inner quotes doubled")


def csv_records(lines: Iterable[str], name: str | os.PathLike) -> Iterator[tuple[int, list[str]]]:
    """Stream the records of a CSV (any iterable of lines) strictly: ``(start_line, fields)``.

    The one CSV record reader of the commands that stream their input (``analyze``, ``predict``).
    Quoting is strict, so a double quote that is never closed does not swallow the rest of the
    file into one field: it stops the run with :class:`StanceError` naming the line on which the
    record holding the open quote starts (not the file's last line), as does any other bad quoting.
    """
    reader = csv.reader(lines, strict=True)
    prev_end = 0
    while True:
        start = prev_end + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise StanceError(f"{name} line {start}: malformed CSV: a double quote opened in the record "
                                  f"starting on this line is never closed") from None
            raise StanceError(f"{name} line {start}: malformed CSV ({exc}) in the record starting on this line; "
                              "fields containing commas, quotes or newlines must be wrapped in double quotes, "
                              "with inner quotes doubled") from None
        prev_end = reader.line_num
        yield start, record


#: A JSON ``\\uD800``-``\\uDFFF`` escape: the only way a surrogate gets into a decoded string.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def load_json(text: str, where: str) -> Any:
    """``json.loads`` with one-line errors: invalid JSON, JSON nested too deeply (Python's
    recursion limit), or a lone surrogate escape (``"\\ud800"``: not Unicode text, it cannot be
    written back as UTF-8). *where* names the file and line or row in the message."""
    try:
        obj = json.loads(text)
    except RecursionError:
        raise StanceError(f"{where}: JSON nested too deeply to read") from None
    except ValueError as exc:
        raise StanceError(f"{where}: invalid JSON ({getattr(exc, 'msg', exc)})") from None
    if SURROGATE_ESCAPE.search(text) and has_surrogate(obj):
        raise StanceError(f"{where}: a string holds a lone surrogate escape (\\ud800-\\udfff), not Unicode text")
    return obj


def has_surrogate(obj: Any) -> bool:
    """True if a string in *obj* (a JSON value) holds an unpaired surrogate code point."""
    if isinstance(obj, str):
        try:
            obj.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(obj, dict):
        return any(has_surrogate(k) or has_surrogate(v) for k, v in obj.items())
    if isinstance(obj, list):
        return any(has_surrogate(v) for v in obj)
    return False


def check_header(name: str | os.PathLike, columns: Sequence[str]) -> None:
    """Refuse a CSV header that names a column twice (which one would be used is a guess)."""
    seen: set[str] = set()
    for col in columns:
        if col in seen:
            raise StanceError(f"{name} line 1: duplicate column {col!r} in the header")
        seen.add(col)


def read_csv_rows(path: str | os.PathLike, required: Sequence[str], *, what: str = "CSV file",
                  allow_empty: bool = False) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Read a CSV file strictly and return its header and rows.

    Parameters
    ----------
    path : str or path-like
        The file. Must be UTF-8 (a leading byte-order mark is accepted).
    required : sequence of str
        Column names that must appear in the header.
    what : str
        Name of the file's role, used in the "not found" message.
    allow_empty : bool
        If true, a file that is empty (or only whitespace) reads as ``(list(required), [])``.

    Returns
    -------
    fieldnames : list of str
        The header, in file order.
    rows : list of (int, dict of str -> str)
        ``(line, row)`` for every non-blank record, where *line* is the 1-based line on which
        the record starts.

    Raises
    ------
    StanceError
        File missing, not UTF-8, empty, header without a required column or with a duplicate
        or empty column name, a record with the wrong number of fields, or bad quoting. The
        message names the file, the line and the offending value.
    """
    p = Path(path)
    text = _decode(p, what)
    if not text.strip():
        if allow_empty:
            return list(required), []
        raise StanceError(f"{p}: empty file, expected a header line {','.join(required)}")
    physical = text.split("\n")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, dict[str, str]]] = []
    fieldnames: list[str] | None = None
    prev_end = 0
    while True:
        start = prev_end + 1
        snippet = physical[start - 1] if start - 1 < len(physical) else ""
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _csv_error(p, start, snippet, exc) from None
        prev_end = reader.line_num
        if not record or (len(record) == 1 and not record[0].strip() and fieldnames is not None):
            continue  # blank line
        if fieldnames is None:
            fieldnames = _header(p, record, start, required)
        elif len(record) != len(fieldnames):
            raise StanceError(f"{p}, line {start}: expected {len(fieldnames)} fields "
                              f"({','.join(fieldnames)}), found {len(record)} in {short(snippet)}")
        else:
            rows.append((start, dict(zip(fieldnames, record))))
    if fieldnames is None:  # pragma: no cover - guarded by the strip() check above
        raise StanceError(f"{p}: no header line")
    return fieldnames, rows


# --------------------------------------------------------------------------- atomic writing

#: errno values that mean "the disk (or quota, or file system) refused the write".
_WRITE_ERRNOS = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG,
                                      errno.EROFS, errno.EIO) if e is not None)


def write_target(path: str | os.PathLike) -> Path:
    """The file an atomic write of *path* replaces: a symlink's final target (so the link is kept
    and the file it points to is updated), else *path* itself."""
    p = Path(path)
    return Path(os.path.realpath(p)) if p.is_symlink() else p


def check_writable(path: str | os.PathLike) -> int | None:
    """The permission bits of an existing *path* (None if it does not exist yet).

    Raises :class:`StanceError` for a read-only file: an atomic rename would replace it
    anyway, so it is refused rather than silently made writable.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StanceError(f"{path}: cannot write it ({exc.strerror or exc})") from None
    if not st.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise StanceError(f"{path}: file is read-only; not changed (make it writable, e.g. chmod u+w, to save)")
    return stat.S_IMODE(st.st_mode)


def write_failed(path: str | os.PathLike, exc: OSError) -> StanceError:
    """The one-line message of a failed write (disk full, quota, read-only file system ...)."""
    return StanceError(f"{path}: cannot write it ({exc.strerror or exc}); the previous file is unchanged")


def make_folder(path: str | os.PathLike) -> Path:
    """Create folder *path* and its parents (an existing folder is fine); return it.

    The one place output folders are made: a parent that is a regular file, a path under
    ``/proc`` or ``/sys``, or any other refusal raises :class:`StanceError` with one line."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((q for q in [p, *p.parents] if q.exists() and not q.is_dir()), None)
        why = f"{blocker} is a file, not a folder" if blocker is not None else (exc.strerror or str(exc))
        raise StanceError(f"{p}: cannot create the output folder ({why})") from None
    if not p.is_dir():
        raise StanceError(f"{p}: cannot create the output folder (it is a file)")
    return p


def check_folder_writable(folder: str | os.PathLike, consequence: str) -> None:
    """Raise :class:`StanceError` (one line, ending with *consequence*) unless a file can be
    created in *folder* now: a probe file, removed at once. For commands that must not start
    work whose results they could not record (a read-only ``models/``)."""
    where = make_folder(folder)
    try:
        fd, probe = tempfile.mkstemp(prefix=".stance-probe-", dir=where)
    except OSError as exc:
        raise StanceError(f"{where}: cannot write in this folder ({exc.strerror or exc}); {consequence}") from None
    os.close(fd)
    os.unlink(probe)


@contextlib.contextmanager
def file_lock(lock_path: str | os.PathLike, timeout: float, busy: str, advice: str = "try again") -> Iterator[Path]:
    """Hold an exclusive ``flock`` on *lock_path* (created if missing) for the block: the one
    lock of read-modify-write sections that concurrent ``stance`` processes share. Released
    when the block ends or the process dies. Waits up to *timeout* seconds for another holder,
    then raises :class:`StanceError`: *busy*, the wait, the lock's path and *advice*."""
    import fcntl
    import time

    lock = Path(lock_path)
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StanceError(f"{lock}: cannot create the lock file ({exc.strerror or exc})") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StanceError(f"{busy} after {timeout:g} s (lock {lock}); {advice}") from None
                time.sleep(0.02)
        yield lock
    finally:
        os.close(fd)  # closing the descriptor releases the lock


#: Prefix of the temporary folder :func:`output_set` writes in, beside the output folder.
_NEW_SET = ".{name}.new-{pid}-"


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _drop_stale_sets(out: Path) -> None:
    """Remove temporary folders of :func:`output_set` left by killed processes (their pid is gone)."""
    import shutil

    for tmp in out.parent.glob(f".{out.name}.new-*"):
        pid = tmp.name[len(f".{out.name}.new-"):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            pass


def _carry_over(out: Path, tmp: Path, owned: Sequence[str]) -> None:
    """Hard-link (or copy) into *tmp* the files of *out* that are not outputs of the set, so the
    swap keeps them; a foreign sub-folder is refused (the folder is not the command's own)."""
    import shutil

    for entry in out.iterdir():
        if entry.name in owned or (tmp / entry.name).exists() or entry.name.startswith(f".{out.name}.new-"):
            continue
        if entry.is_dir() and not entry.is_symlink():
            raise StanceError(f"{out}: holds the folder {entry.name!r}, which is not an output of this command; "
                              "give an output folder of its own")
        try:
            os.link(entry, tmp / entry.name, follow_symlinks=False)
        except OSError:
            shutil.copy2(entry, tmp / entry.name, follow_symlinks=False)


def _swap_in(out: Path, tmp: Path) -> None:
    """Put folder *tmp* in place of *out* as a whole; the old set ends in *tmp*, or is gone."""
    import shutil

    if not out.exists():
        try:
            os.rename(tmp, out)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):  # not a concurrent run's set
                raise
    if not _exchange(tmp, out):  # no atomic exchange: two renames (a short window without *out*)
        old = tmp.with_name(tmp.name + "old")
        os.rename(out, old)
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
        return
    shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def output_set(folder: str | os.PathLike, owned: Sequence[str]) -> Iterator[Path]:
    """Replace the outputs in *folder* as a whole: yields a new temporary folder beside it to
    write every output in; when the block ends without error, that folder takes *folder*'s
    place in one step (an atomic exchange on Linux), so readers see the old set or the new one,
    never a mix, and of two concurrent runs the last to finish wins whole.

    *owned* names the outputs: other files in *folder* are kept (hard-linked into the new set);
    a foreign sub-folder is refused. On any error (or ``kill -9``) *folder* is unchanged and the
    temporary folder is removed (a killed run's, at the next run); a failed write names *folder*.
    """
    import shutil

    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise StanceError(f"{out}: output exists and is not a folder")
    make_folder(out.absolute().parent)
    _drop_stale_sets(out)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_NEW_SET.format(name=out.name, pid=os.getpid()), dir=out.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # a folder as mkdir makes it (mkdtemp's is private: 0700)
    except OSError as exc:
        raise StanceError(f"{out}: cannot write the outputs ({exc.strerror or exc})") from None
    try:
        yield tmp
        if out.is_dir():
            _carry_over(out, tmp, owned)
        _swap_in(out, tmp)
    except StanceError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        msg = str(exc).replace(str(tmp), str(out)).replace("the previous file is unchanged",
                                                          "the previous outputs are unchanged")
        raise StanceError(msg) from None
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StanceError(f"{out}: cannot write the outputs ({exc.strerror or exc}); "
                          "the previous outputs are unchanged") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8",
                newline: str | None = "") -> Iterator[IO]:
    """Open a temporary file next to *path*; on success fsync it and rename it over *path*.

    If the block raises (or the process dies), *path* keeps its previous content and
    the temporary file is removed (or left as an ignorable ``.<name>.*.tmp``). A symlinked
    *path* is written through (the link stays, its target is replaced); an existing file
    keeps its permission bits (new files get 0644); a read-only file is refused. A full disk
    (or any other failed write, fsync or rename) raises :class:`StanceError` with one line.
    """
    target = write_target(path)
    make_folder(target.parent)
    perms = check_writable(target)
    binary = "b" in mode
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise write_failed(path, exc) from None
    try:
        with os.fdopen(fd, mode, **({} if binary else {"encoding": encoding, "newline": newline})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644 if perms is None else perms)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if exc.errno in _WRITE_ERRNOS:
            raise write_failed(path, exc) from None
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write *text* to *path* atomically (UTF-8, ``\\n`` line endings kept as given)."""
    with atomic_open(path, "w") as fh:
        fh.write(text)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write *obj* as stable, human-readable JSON (sorted keys, 2-space indent, final newline)."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


#: First characters that make a spreadsheet read a cell as a formula (``=1+1``, ``@SUM(…)``, ``-2+3``).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell safe to open in a spreadsheet: a string starting with ``=``, ``+``, ``-``,
    ``@``, a tab, a line break, ``|`` or ``%`` gets a leading apostrophe ``'`` (shown as text, never run
    as a formula); numbers and other strings are unchanged. Strip one leading ``'`` from such a
    cell to get the original text back."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv_atomic(path: str | os.PathLike, frame, *, safe: bool = False) -> None:
    """Write a pandas DataFrame to CSV atomically, without index, with ``\\n`` line endings;
    with *safe*, text cells go through :func:`spreadsheet_safe` (report CSVs for people)."""
    if safe:
        frame = frame.copy()
        for col in frame.columns:
            if frame[col].dtype == object or str(frame[col].dtype).startswith(("string", "str")):
                frame[col] = frame[col].map(spreadsheet_safe)
    with atomic_open(path, "w") as fh:
        frame.to_csv(fh, index=False, lineterminator="\n")


def write_rows_csv(path: str | os.PathLike, columns: Sequence[str], rows: Iterable[dict], *,
                   safe: bool = False) -> None:
    """Write dict rows to a CSV atomically (``\\n`` line ends, minimal quoting, fixed columns); with
    *safe*, every cell goes through :func:`spreadsheet_safe` (report CSVs for people)."""
    cell = spreadsheet_safe if safe else (lambda v: v)
    with atomic_open(path, "w") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell(row[c]) for c in columns])


def load_dataset(path: str | Path):
    """Read and validate the labelled dataset with the strict reader of :mod:`pipeline.core.data`.

    Parameters
    ----------
    path : str or Path
        CSV with columns ``sentence_id, article_id, position, text, label`` (others ignored).

    Returns
    -------
    frame : pandas.DataFrame, shape (n_sentences, >= 5)
        All columns as str except ``position`` (int); file order kept.

    Raises
    ------
    StanceError
        Missing file or column, empty text/id, label outside ``support/oppose/neutral``,
        duplicate ``sentence_id``; the message names the file, the line and the value.
    """
    import pandas as pd

    p = Path(path)
    fields, records = read_csv_rows(p, DATASET_COLUMNS, what="dataset (run `stance dataset` first)")
    seen: dict[str, int] = {}
    for line, row in records:
        if row["label"] not in LABELS:
            raise StanceError(f"{p}, line {line}: label {row['label']!r} is not one of {', '.join(LABELS)}")
        if not row["text"].strip():
            raise StanceError(f"{p}, line {line}: empty text (sentence_id {row['sentence_id']!r})")
        if not row["sentence_id"].strip() or not row["article_id"].strip():
            raise StanceError(f"{p}, line {line}: empty sentence_id or article_id")
        if not row["position"].strip().lstrip("-").isdigit():
            raise StanceError(f"{p}, line {line}: position {row['position']!r} is not an integer")
        if row["sentence_id"] in seen:
            raise StanceError(f"{p}, line {line}: duplicate sentence_id {row['sentence_id']!r} "
                              f"(first on line {seen[row['sentence_id']]})")
        seen[row["sentence_id"]] = line
    if not records:
        raise StanceError(f"{p}: no labelled sentences")
    df = pd.DataFrame([row for _, row in records], columns=fields)
    df["position"] = df["position"].astype(int)
    return df
