"""The labels file (``data/labels/labels.csv``), the project's one precious input: reading and
validating it, its lock, and the one atomic, fsynced writer the labeling tools use.

Columns ``sentence_id,label,text,note`` (``note`` optional, extra columns kept untouched), one
row per sentence; ``label`` is one of :data:`pipeline.LABELS` or empty ("not labeled yet").
"""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.config import StanceError
from pipeline.core.data import (
    LABEL_COLUMNS,
    LABEL_REQUIRED,
    LABELS,
    atomic_open,
    file_lock,
    read_csv_rows,
    write_target,
)
from pipeline.core.data import short as _short

__all__ = ["LOCK_TIMEOUT", "LabelFile", "fsync_dir", "labels_lock", "read_labels", "restore_rows", "set_label",
           "validate_label_rows", "write_labels"]


_MAX_ERRORS = 5  # problems listed in one error message before "... and N more"


def _raise_all(problems: list[str]) -> None:
    """Raise one :class:`StanceError` listing the first few *problems* (no-op when empty)."""
    if not problems:
        return
    shown = "; ".join(problems[:_MAX_ERRORS])
    more = len(problems) - _MAX_ERRORS
    raise StanceError(shown + (f"; ... and {more} more problem(s)" if more > 0 else ""))


@dataclass
class LabelFile:
    """A validated labels file, kept close to its on-disk form so it can be rewritten faithfully.

    Attributes
    ----------
    path : Path
    fieldnames : list of str
        Header in file order (``note`` and other canonical columns are added when missing).
    rows : list of dict of str -> str
        The records, in file order, with their original values.
    lines : list of int
        The 1-based line each record starts on (0 for rows added in memory).
    duplicates_agreeing : int
        Extra rows that repeat a sentence_id with the same label (allowed, counted).
    blank : int
        Rows with an empty label (kept; the sentence counts as unlabeled).
    """

    path: Path
    fieldnames: list[str]
    rows: list[dict[str, str]]
    lines: list[int]
    duplicates_agreeing: int = 0
    blank: int = 0
    newline: str = "\n"
    bom: bool = False

    def labels(self) -> dict[str, str]:
        """Return ``{sentence_id: label}`` for rows with a (validated) non-empty label."""
        out: dict[str, str] = {}
        for row in self.rows:
            label = row.get("label", "").strip()
            if label:
                out.setdefault(row["sentence_id"].strip(), label)
        return out

    def first_line(self) -> dict[str, int]:
        """Return ``{sentence_id: line}`` of the first labeled row of each sentence."""
        out: dict[str, int] = {}
        for row, line in zip(self.rows, self.lines):
            if row.get("label", "").strip():
                out.setdefault(row["sentence_id"].strip(), line)
        return out

    def texts(self) -> dict[str, str]:
        """Return ``{sentence_id: text}`` (first labeled row's text) for labeled sentences."""
        out: dict[str, str] = {}
        for row in self.rows:
            if row.get("label", "").strip():
                out.setdefault(row["sentence_id"].strip(), row.get("text", ""))
        return out

    def indices(self, sentence_id: str) -> list[int]:
        """Return the positions in :attr:`rows` of every row for *sentence_id*."""
        return [i for i, row in enumerate(self.rows) if row["sentence_id"].strip() == sentence_id]


def validate_label_rows(path: str | os.PathLike, rows: Sequence[dict[str, str]],
                        lines: Sequence[int]) -> tuple[int, int]:
    """Check labels and sentence ids; return ``(duplicates_agreeing, blank)``.

    Raises
    ------
    StanceError
        Empty sentence_id, unknown label, or one sentence_id with two different labels
        (the message names both lines).
    """
    problems: list[str] = []
    seen: dict[str, tuple[str, int]] = {}
    duplicates = blank = 0
    for row, line in zip(rows, lines):
        sid = row["sentence_id"].strip()
        label = row["label"].strip()
        if not sid:
            problems.append(f"{path}, line {line}: empty sentence_id (label {label!r}, "
                            f"text {_short(row.get('text', ''), 40)})")
            continue
        if not label:
            blank += 1
            continue
        if label not in LABELS:
            problems.append(f"{path}, line {line}: unknown label {row['label']!r} for sentence {sid!r} "
                            f"(expected one of: {', '.join(LABELS)})")
            continue
        if sid in seen:
            other_label, other_line = seen[sid]
            if other_label == label:
                duplicates += 1
            else:
                problems.append(f"{path}: sentence_id {sid!r} has conflicting labels: line {other_line} "
                                f"says {other_label!r}, line {line} says {label!r}")
            continue
        seen[sid] = (label, line)
    _raise_all(problems)
    return duplicates, blank


def read_labels(path: str | os.PathLike, missing_ok: bool = False) -> LabelFile:
    """Read and validate a labels file.

    Parameters
    ----------
    path : str or path-like
    missing_ok : bool
        If true, a missing or empty file reads as an empty :class:`LabelFile` (used by the
        labeling tools, which create the file on the first answer).

    Returns
    -------
    LabelFile

    Raises
    ------
    StanceError
        See :func:`read_csv_rows` and :func:`validate_label_rows`.
    """
    p = Path(path)
    if missing_ok and not p.exists():
        return LabelFile(p, list(LABEL_COLUMNS), [], [])
    fieldnames, records = read_csv_rows(
        p, LABEL_REQUIRED, allow_empty=missing_ok,
        what="labels file (create it with `stance label`, or by hand with the header sentence_id,label,text,note)")
    for name in LABEL_COLUMNS:
        if name not in fieldnames:
            fieldnames.append(name)
    rows = [{name: rec.get(name, "") for name in fieldnames} for _line, rec in records]
    lines = [line for line, _rec in records]
    duplicates, blank = validate_label_rows(p, rows, lines)
    newline, bom = _file_style(p)
    return LabelFile(p, fieldnames, rows, lines, duplicates, blank, newline, bom)


def _file_style(p: Path) -> tuple[str, bool]:
    """``(line ending, has a UTF-8 byte-order mark)`` of an existing file, from its first line."""
    try:
        with open(p, "rb") as fh:
            head = fh.readline(1 << 16)
    except OSError:
        return "\n", False
    return ("\r\n" if head.endswith(b"\r\n") else "\n"), head.startswith(b"\xef\xbb\xbf")


def fsync_dir(path: str | os.PathLike) -> None:
    """fsync the directory holding *path*, so a rename into it survives a power cut."""
    try:
        fd = os.open(Path(path).resolve().parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


#: Seconds a labels writer waits for another writer's lock before giving up (``$STANCE_LOCK_TIMEOUT``).
LOCK_TIMEOUT = 30.0


@contextlib.contextmanager
def labels_lock(path: str | os.PathLike, timeout: float | None = None) -> Iterator[Path]:
    """Hold the labels file's write lock for a read-modify-write; yield the lock file's path.

    Every writer of the labels file (``stance label`` answers and undos, ``label --set``,
    ``import-labels``) re-reads, changes and rewrites the file inside this block, so two
    writers never lose each other's answers. The lock is an exclusive ``flock`` on
    ``<file>.lock`` beside the real file (a symlink's target), released when the block ends or
    the process dies. A second writer waits up to *timeout* seconds (default
    :data:`LOCK_TIMEOUT`, or ``$STANCE_LOCK_TIMEOUT``), then raises :class:`StanceError`.
    """
    if timeout is None:
        timeout = float(os.environ.get("STANCE_LOCK_TIMEOUT", LOCK_TIMEOUT))
    target = write_target(path)
    busy = f"{path}: another stance command is still writing this file"
    with file_lock(target.with_name(target.name + ".lock"), timeout, busy, "nothing saved, try again") as lock:
        yield lock


def write_labels(path: str | os.PathLike, label_file: LabelFile) -> None:
    """Rewrite the labels file atomically: temp file, fsync, rename, fsync of the directory.

    The rows are validated first (so an invalid table is never written); row order and
    extra columns are kept, and so are the file's line endings (``\\n`` or ``\\r\\n``) and a
    UTF-8 byte-order mark; quoting is minimal. A symlinked file is written through the link,
    the file's permission bits are kept, a read-only file is refused (see
    :func:`pipeline.core.data.atomic_open`). Callers doing read-modify-write hold :func:`labels_lock`.

    Parameters
    ----------
    path : str or path-like
    label_file : LabelFile
    """
    validate_label_rows(path, label_file.rows, [line or 0 for line in label_file.lines])
    with atomic_open(path, "w", encoding="utf-8-sig" if label_file.bom else "utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=label_file.fieldnames, lineterminator=label_file.newline,
                                extrasaction="ignore")
        writer.writeheader()
        for row in label_file.rows:
            writer.writerow({name: row.get(name, "") for name in label_file.fieldnames})
    fsync_dir(path)


def set_label(label_file: LabelFile, sentence_id: str, label: str, text: str = "",
              note: str | None = None) -> list[dict[str, str]]:
    """Set *sentence_id*'s label in memory: update its row(s) in place, or append a new row.

    Parameters
    ----------
    label_file : LabelFile
        Modified in place.
    sentence_id, label : str
        *label* must be in :data:`LABELS`.
    text : str
        Sentence text, written to new rows and to existing rows whose text is empty.
    note : str or None
        If given, replaces the note.

    Returns
    -------
    list of dict
        Copies of the rows as they were before (empty when the sentence had no row), for undo.
    """
    if label not in LABELS:
        raise StanceError(f"unknown label {label!r} (expected one of: {', '.join(LABELS)})")
    idx = label_file.indices(sentence_id)
    before = [dict(label_file.rows[i]) for i in idx]
    if idx:
        for i in idx:
            row = label_file.rows[i]
            row["label"] = label
            if not row.get("text", "").strip() and text:
                row["text"] = text
            if note is not None:
                row["note"] = note
    else:
        row = {name: "" for name in label_file.fieldnames}
        row.update({"sentence_id": sentence_id, "label": label, "text": text, "note": note or ""})
        label_file.rows.append(row)
        label_file.lines.append(0)
    return before


def restore_rows(label_file: LabelFile, sentence_id: str, before: list[dict[str, str]]) -> None:
    """Undo :func:`set_label`: put back the rows *before* (or drop the row it appended)."""
    idx = label_file.indices(sentence_id)
    if not before:
        for i in reversed(idx):
            del label_file.rows[i]
            del label_file.lines[i]
        return
    if len(idx) == len(before):
        for i, old in zip(idx, before):
            label_file.rows[i] = dict(old)
        return
    # The file changed shape meanwhile (edited by hand): put the old rows where the first was.
    at = idx[0] if idx else len(label_file.rows)
    for i in reversed(idx):
        del label_file.rows[i]
        del label_file.lines[i]
    for k, old in enumerate(before):
        label_file.rows.insert(at + k, dict(old))
        label_file.lines.insert(at + k, 0)
