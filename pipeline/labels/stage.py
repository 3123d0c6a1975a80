"""Hand labels: the label file, the sentences table, and the ``dataset`` stage (the join and the queue).

The labels file (``data/labels/labels.csv``) is the project's one precious input. It has the
columns ``sentence_id,label,text,note`` (``note`` optional, extra columns kept untouched), one
row per sentence. ``label`` is one of :data:`pipeline.LABELS`; an empty ``label`` means "not
labeled yet" (the row is kept, the sentence stays in the queue).

Nothing in this module ever writes to the labels file except :func:`write_labels`, which the
labeling tools (``stance label``, ``stance import-labels``) call; the ``dataset`` stage only
reads it.

Public functions
----------------
read_sentences(path) -> SentenceTable
read_labels(path, missing_ok=False) -> LabelFile
write_labels(path, label_file) -> None           (atomic, fsynced)
labels_lock(path) -> context manager             (held by every read-modify-write of the file)
join_labels(sentences, label_file, reattach_by_text=True) -> JoinResult
build_dataset(sentences_path, labels_path, reattach_by_text=True) -> (dataset_rows, queue_rows, report)

Columns and the strict CSV reader are in :mod:`pipeline.core.data`; inter-annotator agreement in
:mod:`pipeline.labels.agreement`.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core.config import StanceError, add_path_argument
from pipeline.core.data import (
    DATASET_COLUMNS,
    LABEL_COLUMNS,
    LABEL_REQUIRED,
    LABELS,
    QUEUE_COLUMNS,
    SENTENCE_REQUIRED,
    atomic_open,
    normalize_text,
    read_csv_rows,
    write_json_atomic,
    write_rows_csv,
    write_target,
)
from pipeline.core.data import short as _short
from pipeline.core.params import load_section

log = logging.getLogger("stance")


_MAX_ERRORS = 5  # problems listed in one error message before "... and N more"
#: Orphan labels listed (in file order) in the dataset report and on stderr; the rest are counted.
MAX_ORPHANS_LISTED = 20


# --------------------------------------------------------------------------------------------
# Strict CSV reading
# --------------------------------------------------------------------------------------------

def _raise_all(problems: list[str]) -> None:
    """Raise one :class:`StanceError` listing the first few *problems* (no-op when empty)."""
    if not problems:
        return
    shown = "; ".join(problems[:_MAX_ERRORS])
    more = len(problems) - _MAX_ERRORS
    raise StanceError(shown + (f"; ... and {more} more problem(s)" if more > 0 else ""))


# --------------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------------

@dataclass
class SentenceTable:
    """The sentences of ``sentences.csv`` that the label tools need.

    Attributes
    ----------
    rows : list of dict
        One dict per sentence with keys ``sentence_id, article_id, position (int), text``,
        sorted by ``(article_id, position)``.
    by_id : dict of str -> int
        Index into *rows* for each sentence_id.
    """

    rows: list[dict]
    by_id: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {row["sentence_id"]: i for i, row in enumerate(self.rows)}

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, sentence_id: str) -> dict | None:
        """Return the sentence dict for *sentence_id*, or None."""
        i = self.by_id.get(sentence_id)
        return None if i is None else self.rows[i]

    def neighbours(self, sentence_id: str) -> tuple[dict | None, dict | None]:
        """Return the sentences just before and after *sentence_id* in the same article."""
        i = self.by_id[sentence_id]
        art = self.rows[i]["article_id"]
        before = self.rows[i - 1] if i > 0 and self.rows[i - 1]["article_id"] == art else None
        after = (self.rows[i + 1] if i + 1 < len(self.rows) and self.rows[i + 1]["article_id"] == art
                 else None)
        return before, after


def read_sentences(path: str | os.PathLike) -> SentenceTable:
    """Read and validate ``sentences.csv``.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    SentenceTable
        Sorted by ``(article_id, position)``.

    Raises
    ------
    StanceError
        Malformed CSV (see :func:`read_csv_rows`), empty ``sentence_id`` or ``article_id``,
        non-integer ``position``, or a sentence_id that appears twice.
    """
    _fields, records = read_csv_rows(path, SENTENCE_REQUIRED, what="sentences file (run `stance split`)")
    problems: list[str] = []
    rows: list[dict] = []
    first_line: dict[str, int] = {}
    for line, rec in records:
        sid = rec["sentence_id"].strip()
        art = rec["article_id"].strip()
        if not sid:
            problems.append(f"{path}, line {line}: empty sentence_id")
            continue
        if not art:
            problems.append(f"{path}, line {line}: empty article_id for sentence {sid!r}")
            continue
        try:
            pos = int(rec["position"])
        except ValueError:
            problems.append(f"{path}, line {line}: position {_short(rec['position'])} is not an integer")
            continue
        if sid in first_line:
            problems.append(f"{path}, line {line}: sentence_id {sid!r} already used on line {first_line[sid]}")
            continue
        first_line[sid] = line
        rows.append({"sentence_id": sid, "article_id": art, "position": pos, "text": rec["text"]})
    _raise_all(problems)
    rows.sort(key=lambda r: (r["article_id"], r["position"], r["sentence_id"]))
    return SentenceTable(rows)


# --------------------------------------------------------------------------------------------
# Label files
# --------------------------------------------------------------------------------------------

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
    import fcntl

    if timeout is None:
        timeout = float(os.environ.get("STANCE_LOCK_TIMEOUT", LOCK_TIMEOUT))
    target = write_target(path)
    lock_path = target.with_name(target.name + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StanceError(f"{lock_path}: cannot create the labels lock file ({exc.strerror or exc})") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StanceError(f"{path}: another stance command is still writing this file after "
                                      f"{timeout:g} s (lock {lock_path}); nothing saved, try again") from None
                time.sleep(0.02)
        yield lock_path
    finally:
        os.close(fd)  # closing the descriptor releases the lock


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


# --------------------------------------------------------------------------------------------
# Joining labels onto sentences
# --------------------------------------------------------------------------------------------

@dataclass
class JoinResult:
    """Labels attached to the current sentences.

    Attributes
    ----------
    labels : dict of str -> str
        ``{sentence_id: label}`` for every current sentence that has a label.
    reattached : list of dict
        Labels re-attached by normalised text: ``{line, old_sentence_id, sentence_id, label}``.
    orphans : list of dict
        Labeled rows whose sentence_id is not a current sentence (re-attached or not):
        ``{line, sentence_id, label, text, status}``, status one of ``reattached``,
        ``no_match``, ``ambiguous`` (text matches several unlabeled sentences),
        ``already_labeled`` (text matches only sentences labeled by id), ``conflict``
        (several orphans with different labels match the same sentence), ``disabled``
        (re-attachment switched off).
    """

    labels: dict[str, str]
    reattached: list[dict]
    orphans: list[dict]


def join_labels(sentences: SentenceTable, label_file: LabelFile,
                reattach_by_text: bool = True) -> JoinResult:
    """Attach labels to sentences by sentence_id, then orphans by normalised text.

    A label whose sentence_id no longer exists is re-attached to the one current sentence
    with the same :func:`pipeline.split.stage.normalize_text` text that is not already labeled by
    id. No match, several matches, or orphans disagreeing about one target are reported and
    left alone. Nothing is deleted from (or written to) the labels file.

    Parameters
    ----------
    sentences : SentenceTable
    label_file : LabelFile
    reattach_by_text : bool

    Returns
    -------
    JoinResult
    """
    by_id = label_file.labels()
    lines = label_file.first_line()
    texts = label_file.texts()
    labels = {sid: lab for sid, lab in by_id.items() if sid in sentences.by_id}
    orphan_ids = [sid for sid in by_id if sid not in sentences.by_id]
    orphans: list[dict] = []
    reattached: list[dict] = []
    if not orphan_ids:
        return JoinResult(labels, reattached, orphans)

    norm_index: dict[str, list[str]] = {}
    if reattach_by_text:
        for row in sentences.rows:
            norm_index.setdefault(normalize_text(row["text"]), []).append(row["sentence_id"])

    targets: dict[str, list[dict]] = {}
    for sid in orphan_ids:
        entry = {"line": lines[sid], "sentence_id": sid, "label": by_id[sid], "text": texts[sid]}
        orphans.append(entry)
        if not reattach_by_text:
            entry["status"] = "disabled"
            continue
        norm = normalize_text(texts[sid])
        candidates = norm_index.get(norm, []) if norm else []
        free = [c for c in candidates if c not in labels]
        if not candidates:
            entry["status"] = "no_match"
        elif not free:
            entry["status"] = "already_labeled"
        elif len(free) > 1:
            entry["status"] = "ambiguous"
        else:
            targets.setdefault(free[0], []).append(entry)
    for target, entries in targets.items():
        found = {e["label"] for e in entries}
        if len(found) > 1:
            for e in entries:
                e["status"] = "conflict"
            continue
        labels[target] = entries[0]["label"]
        for e in entries:
            e["status"] = "reattached"
            e["new_sentence_id"] = target
            reattached.append({"line": e["line"], "old_sentence_id": e["sentence_id"],
                               "sentence_id": target, "label": e["label"]})
    orphans.sort(key=lambda e: (e["line"], e["sentence_id"]))
    reattached.sort(key=lambda e: (e["line"], e["old_sentence_id"]))
    return JoinResult(labels, reattached, orphans)


def build_dataset(sentences_path: str | os.PathLike, labels_path: str | os.PathLike,
                  reattach_by_text: bool = True) -> tuple[list[dict], list[dict], dict]:
    """Join hand labels onto sentences.

    Parameters
    ----------
    sentences_path, labels_path : str or path-like
    reattach_by_text : bool
        Re-attach labels whose sentence_id vanished by normalised text.

    Returns
    -------
    dataset : list of dict
        Labeled sentences, keys :data:`DATASET_COLUMNS`, in ``(article_id, position)`` order.
    queue : list of dict
        Unlabeled sentences, keys :data:`QUEUE_COLUMNS`, same order.
    report : dict
        Counts (``sentences, label_rows, labeled, labeled_by_id, per_label, unlabeled, orphans,
        reattached, orphans_unresolved, duplicates_agreeing, blank_labels``), the orphans' counts
        per status (``orphan_status``) and the first :data:`MAX_ORPHANS_LISTED` of them in file
        order (``orphan_details``: line, sentence_id, label, status, text; how many more in
        ``orphan_details_omitted``). JSON-serialisable, deterministic, bounded in size.
    """
    sentences = read_sentences(sentences_path)
    label_file = read_labels(labels_path)
    joined = join_labels(sentences, label_file, reattach_by_text)
    dataset: list[dict] = []
    queue: list[dict] = []
    for row in sentences.rows:
        label = joined.labels.get(row["sentence_id"])
        base = {k: row[k] for k in QUEUE_COLUMNS}
        if label is None:
            queue.append(base)
        else:
            dataset.append({**base, "label": label})
    per_label = {lab: 0 for lab in LABELS}
    for row in dataset:
        per_label[row["label"]] += 1
    unresolved = [o for o in joined.orphans if o["status"] != "reattached"]
    report = {
        "sentences": len(sentences),
        "label_rows": len(label_file.rows),
        "labeled": len(dataset),
        "labeled_by_id": len(dataset) - len(joined.reattached),
        "per_label": per_label,
        "unlabeled": len(queue),
        "orphans": len(joined.orphans),
        "reattached": len(joined.reattached),
        "orphans_unresolved": len(unresolved),
        "duplicates_agreeing": label_file.duplicates_agreeing,
        "blank_labels": label_file.blank,
        "reattach_by_text": bool(reattach_by_text),
        "orphan_status": {st: n for st, n in sorted(Counter(o["status"] for o in joined.orphans).items())},
        "orphan_details_omitted": max(len(joined.orphans) - MAX_ORPHANS_LISTED, 0),
        "orphan_details": [
            {"line": o["line"], "sentence_id": o["sentence_id"], "label": o["label"],
             "status": o["status"], "new_sentence_id": o.get("new_sentence_id", ""), "text": o["text"]}
            for o in joined.orphans[:MAX_ORPHANS_LISTED]
        ],
    }
    return dataset, queue, report


# --------------------------------------------------------------------------------------------
# CLI: stance dataset
# --------------------------------------------------------------------------------------------

def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``stance dataset``."""
    add_path_argument(parser, "--sentences", "sentences", "sentences CSV")
    add_path_argument(parser, "--labels", "labels", "hand labels CSV, only read")
    add_path_argument(parser, "--params", "params", "parameters file")
    add_path_argument(parser, "--out", "dataset", "training table")
    add_path_argument(parser, "--queue", "queue", "unlabeled sentences")
    add_path_argument(parser, "--report", "dataset_report", "counts as JSON")


def run_dataset(args: argparse.Namespace) -> int:
    """Run the ``dataset`` stage: validate, join, write dataset, queue and report."""
    params = load_section("dataset", args.params)
    dataset, queue, report = build_dataset(args.sentences, args.labels, params.reattach_by_text)
    write_rows_csv(args.out, DATASET_COLUMNS, dataset)
    write_rows_csv(args.queue, QUEUE_COLUMNS, queue)
    write_json_atomic(args.report, report)
    per = ", ".join(f"{lab} {report['per_label'][lab]}" for lab in LABELS)
    log.info(f"{report['sentences']} sentences, {report['labeled']} labeled ({per}), "
             f"{report['unlabeled']} unlabeled -> {args.queue}")
    if report["duplicates_agreeing"] or report["blank_labels"]:
        log.info(f"{report['duplicates_agreeing']} duplicate row(s) that agree, "
                 f"{report['blank_labels']} row(s) with an empty label (kept, not used)")
    if report["orphans"]:
        log.info(f"{report['orphans']} label(s) whose sentence_id no longer exists: "
                 f"{report['reattached']} re-attached by text, {report['orphans_unresolved']} unresolved")
        for o in report["orphan_details"]:
            where = f" -> {o['new_sentence_id']}" if o["new_sentence_id"] else ""
            log.info(f"  {args.labels}, line {o['line']}: {o['sentence_id']} ({o['label']}): "
                     f"{o['status']}{where}: {_short(o['text'])}", extra={"plain": True})
        if report["orphan_details_omitted"]:
            counts = ", ".join(f"{n} {st}" for st, n in report["orphan_status"].items())
            log.info(f"  ... and {report['orphan_details_omitted']} more ({counts} in all; the first "
                     f"{MAX_ORPHANS_LISTED} are listed in {args.report})", extra={"plain": True})
    return 0
