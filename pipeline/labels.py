"""Hand labels: the label-file schema, strict CSV reading, the ``dataset`` stage and agreement.

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
join_labels(sentences, label_file, reattach_by_text=True) -> JoinResult
build_dataset(sentences_path, labels_path, reattach_by_text=True) -> (dataset_rows, queue_rows, report)
cohen_kappa(a, b, labels=LABELS) -> float | None
agreement(path_a, path_b) -> dict
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from pipeline import LABELS
from pipeline.config import PATHS, StanceError, atomic_open, write_json_atomic
from pipeline.params import load_section

#: Columns of the labels file, in the order new files are written.
LABEL_COLUMNS: tuple[str, ...] = ("sentence_id", "label", "text", "note")
#: Columns a labels file must have (``note`` may be absent; it is added when the file is rewritten).
LABEL_REQUIRED: tuple[str, ...] = ("sentence_id", "label", "text")
#: Columns ``stance dataset`` needs from ``sentences.csv`` (others, e.g. offsets, are ignored).
SENTENCE_REQUIRED: tuple[str, ...] = ("sentence_id", "article_id", "position", "text")
DATASET_COLUMNS: tuple[str, ...] = ("sentence_id", "article_id", "position", "text", "label")
QUEUE_COLUMNS: tuple[str, ...] = ("sentence_id", "article_id", "position", "text")

_MAX_ERRORS = 5  # problems listed in one error message before "... and N more"


# --------------------------------------------------------------------------------------------
# Strict CSV reading
# --------------------------------------------------------------------------------------------

def _short(value: str, limit: int = 60) -> str:
    """``repr`` of *value*, cut to *limit* characters for error messages."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _raise_all(problems: list[str]) -> None:
    """Raise one :class:`StanceError` listing the first few *problems* (no-op when empty)."""
    if not problems:
        return
    shown = "; ".join(problems[:_MAX_ERRORS])
    more = len(problems) - _MAX_ERRORS
    raise StanceError(shown + (f"; ... and {more} more problem(s)" if more > 0 else ""))


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
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise StanceError(f"{p}: {what} not found") from None
    except IsADirectoryError:
        raise StanceError(f"{p}: is a directory, expected a {what}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start: exc.start + 4]
        raise StanceError(f"{p}, line {line}: not UTF-8 text (byte {bad[:1]!r} at offset {exc.start}); "
                          f"save the file as UTF-8") from None
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
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            snippet = physical[start - 1] if start - 1 < len(physical) else ""
            if "unexpected end of data" in str(exc):
                raise StanceError(f"{p}, line {start}: malformed CSV (unexpected end of data): a double "
                                  f"quote opened in {_short(snippet)} is never closed") from None
            raise StanceError(f"{p}, line {start}: malformed CSV ({exc}) in {_short(snippet)}; "
                              f"fields containing commas, quotes or newlines must be wrapped in double "
                              f"quotes, with inner quotes doubled") from None
        prev_end = reader.line_num
        if not record or (len(record) == 1 and not record[0].strip() and fieldnames is not None):
            continue  # blank line
        if fieldnames is None:
            fieldnames = [name.strip() for name in record]
            seen: set[str] = set()
            for name in fieldnames:
                if not name:
                    raise StanceError(f"{p}, line {start}: empty column name in header {_short(','.join(record))}")
                if name in seen:
                    raise StanceError(f"{p}, line {start}: duplicate column {name!r} in header")
                seen.add(name)
            missing = [c for c in required if c not in seen]
            if missing:
                raise StanceError(f"{p}, line {start}: missing column(s) {', '.join(missing)} in header "
                                  f"{_short(','.join(record))} (expected {','.join(required)})")
            continue
        if len(record) != len(fieldnames):
            snippet = physical[start - 1] if start - 1 < len(physical) else ""
            raise StanceError(f"{p}, line {start}: expected {len(fieldnames)} fields "
                              f"({','.join(fieldnames)}), found {len(record)} in {_short(snippet)}")
        rows.append((start, dict(zip(fieldnames, record))))
    if fieldnames is None:  # pragma: no cover - guarded by the strip() check above
        raise StanceError(f"{p}: no header line")
    return fieldnames, rows


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
    return LabelFile(p, fieldnames, rows, lines, duplicates, blank)


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


def write_labels(path: str | os.PathLike, label_file: LabelFile) -> None:
    """Rewrite the labels file atomically: temp file, fsync, rename, fsync of the directory.

    The rows are validated first (so an invalid table is never written); row order and
    extra columns are kept. Lines end in ``\\n``; quoting is minimal.

    Parameters
    ----------
    path : str or path-like
    label_file : LabelFile
    """
    validate_label_rows(path, label_file.rows, [line or 0 for line in label_file.lines])
    with atomic_open(path, "w") as fh:
        writer = csv.DictWriter(fh, fieldnames=label_file.fieldnames, lineterminator="\n",
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
    with the same :func:`pipeline.split.normalize_text` text that is not already labeled by
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
    from pipeline.split import normalize_text

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
        reattached, orphans_unresolved, duplicates_agreeing, blank_labels``) and the list of
        ``orphans`` (line, sentence_id, label, status, text). JSON-serialisable, deterministic.
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
        "orphan_details": [
            {"line": o["line"], "sentence_id": o["sentence_id"], "label": o["label"],
             "status": o["status"], "new_sentence_id": o.get("new_sentence_id", ""), "text": o["text"]}
            for o in joined.orphans
        ],
    }
    return dataset, queue, report


def write_rows_csv(path: str | os.PathLike, columns: Sequence[str], rows: Iterable[dict]) -> None:
    """Write dict rows to a CSV atomically (``\\n`` line ends, minimal quoting, fixed columns)."""
    with atomic_open(path, "w") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row[c] for c in columns])


# --------------------------------------------------------------------------------------------
# CLI: stance dataset
# --------------------------------------------------------------------------------------------

def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``stance dataset``."""
    parser.add_argument("--sentences", default=PATHS["sentences"], help="sentences CSV (default: %(default)s)")
    parser.add_argument("--labels", default=PATHS["labels"], help="hand labels CSV, only read (default: %(default)s)")
    parser.add_argument("--params", default=PATHS["params"], help="parameters file (default: %(default)s)")
    parser.add_argument("--out", default=PATHS["dataset"], help="training table (default: %(default)s)")
    parser.add_argument("--queue", default=PATHS["queue"], help="unlabeled sentences (default: %(default)s)")
    parser.add_argument("--report", default=PATHS["dataset_report"], help="counts as JSON (default: %(default)s)")


def run_dataset(args: argparse.Namespace) -> int:
    """Run the ``dataset`` stage: validate, join, write dataset, queue and report."""
    params = load_section("dataset", args.params)
    dataset, queue, report = build_dataset(args.sentences, args.labels, params.reattach_by_text)
    write_rows_csv(args.out, DATASET_COLUMNS, dataset)
    write_rows_csv(args.queue, QUEUE_COLUMNS, queue)
    write_json_atomic(args.report, report)
    per = ", ".join(f"{lab} {report['per_label'][lab]}" for lab in LABELS)
    print(f"dataset: {report['sentences']} sentences, {report['labeled']} labeled ({per}), "
          f"{report['unlabeled']} unlabeled -> {args.queue}")
    if report["duplicates_agreeing"] or report["blank_labels"]:
        print(f"dataset: {report['duplicates_agreeing']} duplicate row(s) that agree, "
              f"{report['blank_labels']} row(s) with an empty label (kept, not used)")
    if report["orphans"]:
        print(f"dataset: {report['orphans']} label(s) whose sentence_id no longer exists: "
              f"{report['reattached']} re-attached by text, {report['orphans_unresolved']} unresolved",
              file=sys.stderr)
        for o in report["orphan_details"]:
            where = f" -> {o['new_sentence_id']}" if o["new_sentence_id"] else ""
            print(f"  {args.labels}, line {o['line']}: {o['sentence_id']} ({o['label']}): "
                  f"{o['status']}{where}: {_short(o['text'])}", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------------------------
# Agreement
# --------------------------------------------------------------------------------------------

def confusion_matrix(a: Sequence[str], b: Sequence[str], labels: Sequence[str] = LABELS) -> list[list[int]]:
    """Counts ``m[i][j]`` of items labeled ``labels[i]`` by A and ``labels[j]`` by B.

    Parameters
    ----------
    a, b : sequence of str, same length n
    labels : sequence of str, length k

    Returns
    -------
    list of list of int, shape (k, k)
    """
    if len(a) != len(b):
        raise ValueError(f"a and b differ in length ({len(a)} != {len(b)})")
    index = {lab: i for i, lab in enumerate(labels)}
    m = [[0] * len(labels) for _ in labels]
    for x, y in zip(a, b):
        m[index[x]][index[y]] += 1
    return m


def cohen_kappa(a: Sequence[str], b: Sequence[str], labels: Sequence[str] = LABELS) -> float | None:
    """Cohen's kappa between two annotators' labels of the same items.

    ``kappa = (p_o - p_e) / (1 - p_e)`` where ``p_o`` is the observed agreement and ``p_e``
    the agreement expected by chance from each annotator's label frequencies.

    Parameters
    ----------
    a, b : sequence of str, same length n
    labels : sequence of str

    Returns
    -------
    float or None
        None when undefined (no items, or ``p_e == 1``: both annotators used one same label
        throughout).
    """
    n = len(a)
    if n == 0:
        return None
    m = confusion_matrix(a, b, labels)
    k = len(labels)
    p_o = sum(m[i][i] for i in range(k)) / n
    rows = [sum(m[i]) / n for i in range(k)]
    cols = [sum(m[i][j] for i in range(k)) / n for j in range(k)]
    p_e = sum(r * c for r, c in zip(rows, cols))
    if p_e >= 1.0:
        return None
    return (p_o - p_e) / (1.0 - p_e)


def join_annotators(file_a: LabelFile, file_b: LabelFile) -> dict:
    """Pair two annotators' labels: by sentence_id, then by normalised text for the rest.

    Text pairs are made only when a normalised text occurs once among A's leftovers and once
    among B's. Rows with empty labels are ignored.

    Returns
    -------
    dict
        ``pairs`` (list of ``(sentence_id_a, sentence_id_b, label_a, label_b)``), ``by_id``,
        ``by_text``, ``unmatched_a``, ``unmatched_b``, ``labeled_a``, ``labeled_b`` (ints).
    """
    from pipeline.split import normalize_text

    la, lb = file_a.labels(), file_b.labels()
    ta, tb = file_a.texts(), file_b.texts()
    pairs = [(sid, sid, la[sid], lb[sid]) for sid in la if sid in lb]
    rest_a = [sid for sid in la if sid not in lb]
    rest_b = [sid for sid in lb if sid not in la]

    def index(rest: list[str], texts: dict[str, str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for sid in rest:
            norm = normalize_text(texts.get(sid, ""))
            if norm:
                out.setdefault(norm, []).append(sid)
        return out

    ia, ib = index(rest_a, ta), index(rest_b, tb)
    by_text = 0
    for norm, ids_a in ia.items():
        ids_b = ib.get(norm, [])
        if len(ids_a) == 1 and len(ids_b) == 1:
            pairs.append((ids_a[0], ids_b[0], la[ids_a[0]], lb[ids_b[0]]))
            by_text += 1
    return {
        "pairs": pairs,
        "by_id": len(pairs) - by_text,
        "by_text": by_text,
        "unmatched_a": len(rest_a) - by_text,
        "unmatched_b": len(rest_b) - by_text,
        "labeled_a": len(la),
        "labeled_b": len(lb),
    }


def agreement(path_a: str | os.PathLike, path_b: str | os.PathLike) -> dict:
    """Inter-annotator agreement between two label files.

    Returns
    -------
    dict
        ``a``, ``b`` (path and number of labeled sentences), ``joined`` (``by_id``,
        ``by_text``, ``total``), ``unmatched`` (``a``, ``b``), ``agreements`` (int),
        ``percent_agreement`` (float in [0, 100] or None), ``kappa`` (float or None),
        ``confusion`` (``labels`` and ``matrix``: rows are A's labels, columns B's).
    """
    file_a, file_b = read_labels(path_a), read_labels(path_b)
    j = join_annotators(file_a, file_b)
    a = [p[2] for p in j["pairs"]]
    b = [p[3] for p in j["pairs"]]
    n = len(a)
    agree = sum(x == y for x, y in zip(a, b))
    return {
        "a": {"path": str(path_a), "labeled": j["labeled_a"]},
        "b": {"path": str(path_b), "labeled": j["labeled_b"]},
        "joined": {"by_id": j["by_id"], "by_text": j["by_text"], "total": n},
        "unmatched": {"a": j["unmatched_a"], "b": j["unmatched_b"]},
        "agreements": agree,
        "percent_agreement": (100.0 * agree / n) if n else None,
        "kappa": cohen_kappa(a, b),
        "confusion": {"labels": list(LABELS), "matrix": confusion_matrix(a, b)},
    }


def format_agreement(result: dict) -> str:
    """Human-readable text for an :func:`agreement` result (ends with a newline)."""
    j, u = result["joined"], result["unmatched"]
    out = [
        f"A: {result['a']['path']} ({result['a']['labeled']} labeled sentences)",
        f"B: {result['b']['path']} ({result['b']['labeled']} labeled sentences)",
        f"joined: {j['total']} (by sentence_id {j['by_id']}, by normalised text {j['by_text']}); "
        f"unmatched: A {u['a']}, B {u['b']}",
    ]
    if j["total"]:
        out.append(f"percent agreement: {result['percent_agreement']:.1f}% "
                   f"({result['agreements']} of {j['total']})")
    else:
        out.append("percent agreement: undefined (no sentences in common)")
    kappa = result["kappa"]
    out.append("Cohen's kappa: " + ("undefined (chance agreement is 1 or no sentences in common)"
                                    if kappa is None else f"{kappa:.3f}"))
    labels = result["confusion"]["labels"]
    matrix = result["confusion"]["matrix"]
    width = max(len(x) for x in [*labels, "total", "A \\ B"]) + 2
    out.append("confusion (rows: A, columns: B):")
    out.append("A \\ B".ljust(width) + "".join(lab.rjust(width) for lab in labels) + "total".rjust(width))
    for lab, row in zip(labels, matrix):
        out.append(lab.ljust(width) + "".join(str(v).rjust(width) for v in row) + str(sum(row)).rjust(width))
    cols = [sum(row[i] for row in matrix) for i in range(len(labels))]
    out.append("total".ljust(width) + "".join(str(v).rjust(width) for v in cols) + str(sum(cols)).rjust(width))
    return "\n".join(out) + "\n"


def add_agreement_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``stance agreement``."""
    parser.add_argument("a", metavar="A", help="first annotator's labels CSV (sentence_id,label,text[,note])")
    parser.add_argument("b", metavar="B", help="second annotator's labels CSV")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")


def run_agreement(args: argparse.Namespace) -> int:
    """Print Cohen's kappa, percent agreement and the confusion table for two label files."""
    result = agreement(args.a, args.b)
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(format_agreement(result))
    return 0
