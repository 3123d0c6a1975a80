"""The sentences table and the ``dataset`` stage: hand labels joined onto sentences, and the queue.

The labels file (``data/labels/labels.csv``, :mod:`pipeline.labels.file`) is only read here: an
empty ``label`` means "not labeled yet" (the sentence stays in the queue). Nothing writes to it
except :func:`pipeline.labels.file.write_labels`, which the labeling tools (``stance label``,
``stance import-labels``) call.

Public functions
----------------
read_sentences(path) -> SentenceTable
join_labels(sentences, label_file, reattach_by_text=True) -> JoinResult
build_dataset(sentences_path, labels_path, reattach_by_text=True) -> (dataset_rows, queue_rows, report)

Columns and the strict CSV reader are in :mod:`pipeline.core.data`; inter-annotator agreement in
:mod:`pipeline.labels.agreement`.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections import Counter
from dataclasses import dataclass, field

from pipeline.core.config import add_path_argument
from pipeline.core.data import (
    DATASET_COLUMNS,
    LABELS,
    QUEUE_COLUMNS,
    SENTENCE_REQUIRED,
    normalize_text,
    read_csv_rows,
    write_json_atomic,
    write_rows_csv,
)
from pipeline.core.data import short as _short
from pipeline.core.params import load_section
from pipeline.labels.file import LabelFile, _raise_all, read_labels

log = logging.getLogger("stance")


#: Orphan labels listed (in file order) in the dataset report and on stderr; the rest are counted.
MAX_ORPHANS_LISTED = 20


# --------------------------------------------------------------------------------------------
# Strict CSV reading
# --------------------------------------------------------------------------------------------


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
