"""Team labeling with Label Studio: export the queue as tasks, import the annotations back.

Export (``stance export-queue``) writes

* a task list in Label Studio's JSON import format, one task per unlabeled sentence::

    [{"id": 1,
      "data": {"text": "...", "sentence_id": "9f2c...", "article_id": "003_sc13506-...",
               "position": 14, "context_before": "...", "context_after": "..."}}, ...]

  ``id`` is the 1-based rank in the export (Label Studio assigns its own task ids on import;
  ``data.sentence_id`` is what links an annotation back to the sentence).
* the labeling configuration (:data:`LABEL_CONFIG`): the sentence with its neighbours and a
  single-choice ``Choices`` control named ``stance`` (``support`` / ``oppose`` /
  ``neutral``, hotkeys s / o / n) bound to the ``text`` object.

Import (``stance import-labels EXPORT.json``) reads Label Studio's JSON export: a list of
tasks, each ``{"id", "data": {... "sentence_id" ...}, "annotations": [{"result": [{"type":
"choices", "from_name": "stance", "to_name": "text", "value": {"choices": ["oppose"]}}],
"was_cancelled": false, ...}], ...}`` (the older key ``completions`` is read like
``annotations``; cancelled annotations are ignored; only results whose ``from_name`` is the
stance control are read -- ``stance``, or the one named in ``--config`` -- so extra controls
such as a confidence rating are ignored; an annotation marked ``ground_truth`` wins over
disagreeing ones). The JSON-MIN export (flat records with
``sentence_id`` and ``stance`` keys) is accepted too. Every value is validated (unknown choice,
missing sentence_id, malformed JSON -> error naming file, task and value; nothing is written).
Labels are then merged into the labels file in one atomic rewrite: new sentences appended,
empty labels filled in place; a different existing label is a conflict, reported and kept
unless ``--overwrite``; tasks whose annotators disagree are reported and skipped.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from pipeline.core.config import StanceError, add_path_argument
from pipeline.core.data import LABELS, normalize_text, write_json_atomic, write_text_atomic
from pipeline.labels.file import labels_lock, read_labels, set_label, write_labels
from pipeline.labels.labeler import _reattach_setting, build_queue, signals_deferred
from pipeline.labels.stage import join_labels, read_sentences
from pipeline.model.files import add_trust_argument, load_model

log = logging.getLogger("stance")

#: Name of the Choices control (``from_name`` in exported results) and of the Text object.
CONTROL_NAME = "stance"
OBJECT_NAME = "text"
DEFAULT_TASKS = "data/labelstudio/tasks.json"
DEFAULT_CONFIG = "data/labelstudio/config.xml"
_HOTKEYS = {"support": "s", "oppose": "o", "neutral": "n"}


def label_config() -> str:
    """The Label Studio labeling configuration (XML) matching the exported tasks."""
    choices = "\n".join(
        f'    <Choice value="{escape(lab)}" hotkey="{_HOTKEYS.get(lab, "")}"/>' for lab in LABELS)
    return f"""<View>
  <Header value="Stance of the bold sentence towards sanctions"/>
  <View style="color: #666">
    <Text name="context_before" value="$context_before"/>
  </View>
  <View style="font-weight: bold; padding: 6px 0">
    <Text name="{OBJECT_NAME}" value="$text"/>
  </View>
  <View style="color: #666">
    <Text name="context_after" value="$context_after"/>
  </View>
  <Choices name="{CONTROL_NAME}" toName="{OBJECT_NAME}" choice="single" showInline="true" required="true">
{choices}
  </Choices>
</View>
"""


LABEL_CONFIG = label_config()


def control_from_config(xml_text: str, where: str = "labeling config") -> str:
    """Name of the stance control in a Label Studio labeling config (XML).

    The control is the ``Choices`` element whose ``Choice`` values are exactly the labels
    (``support``, ``oppose``, ``neutral``); its ``name`` is the ``from_name`` of every result
    it produces in an export. Other controls (e.g. a ``confidence`` Choices) are ignored.

    Raises
    ------
    StanceError
        Not XML, no such control, or several of them.
    """
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise StanceError(f"{where}: not a Label Studio labeling config (invalid XML: {exc})") from None
    found = []
    for el in root.iter("Choices"):
        values = {c.get("value") for c in el.iter("Choice")}
        if values == set(LABELS) and el.get("name"):
            found.append(el.get("name"))
    if not found:
        raise StanceError(f"{where}: no Choices control with exactly the choices {', '.join(LABELS)}")
    if len(found) > 1:
        raise StanceError(f"{where}: several Choices controls with the stance labels ({', '.join(found)})")
    return found[0]


def read_control(config_path: str | os.PathLike | None) -> str:
    """Control name from the labeling config file *config_path* (``None``: the project's own
    config, control ``stance``)."""
    if config_path is None:
        return CONTROL_NAME
    p = Path(config_path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise StanceError(f"{p}: cannot read the labeling config ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise StanceError(f"{p}: not UTF-8 text (byte offset {exc.start})") from None
    return control_from_config(text, str(p))


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------

def build_tasks(sentences, queue: list[str]) -> list[dict]:
    """Label Studio tasks for the sentence ids in *queue*, in that order.

    Parameters
    ----------
    sentences : pipeline.labels.stage.SentenceTable
    queue : list of str

    Returns
    -------
    list of dict
        ``{"id": int, "data": {"text", "sentence_id", "article_id", "position",
        "context_before", "context_after"}}``.
    """
    tasks = []
    for rank, sid in enumerate(queue, start=1):
        row = sentences.get(sid)
        before, after = sentences.neighbours(sid)
        tasks.append({"id": rank, "data": {
            "text": row["text"], "sentence_id": sid, "article_id": row["article_id"],
            "position": row["position"],
            "context_before": before["text"] if before else "",
            "context_after": after["text"] if after else "",
        }})
    return tasks


def export_queue(sentences_path, labels_path, *, article: str | None = None, limit: int | None = None,
                 order: str = "article", model_path: str | None = None,
                 reattach_by_text: bool = True, trust_model: bool = False) -> list[dict]:
    """Tasks for the unlabeled sentences (same notion of "labeled" as ``stance dataset``).

    Parameters
    ----------
    sentences_path, labels_path : str or path-like
        A missing labels file means nothing is labeled yet.
    article : str or None
        Only this article_id.
    limit : int or None
        At most this many tasks (the first ones in *order*).
    order : {"article", "uncertainty"}
    model_path : str or None
        Model for ``uncertainty`` order (default: ``models/model.joblib`` under the repository root).
    trust_model : bool
        Unpickle a model whose sha256 training did not record (see :mod:`pipeline.model.files`).

    Returns
    -------
    list of dict
        See :func:`build_tasks`.
    """

    sentences = read_sentences(sentences_path)
    if article is not None and not any(r["article_id"] == article for r in sentences.rows):
        raise StanceError(f"{sentences_path}: no article with article_id {article!r}")
    joined = join_labels(sentences, read_labels(labels_path, missing_ok=True), reattach_by_text)
    model = load_model(model_path, trust=trust_model, scores="any") if order == "uncertainty" else None
    queue, _guesses = build_queue(sentences, joined.labels, article, order, model)
    if limit is not None:
        queue = queue[:limit]
    return build_tasks(sentences, queue)


def add_export_queue_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``stance export-queue``."""
    add_path_argument(parser, "--sentences", "sentences", "sentences CSV")
    add_path_argument(parser, "--labels", "labels", "labels CSV")
    parser.add_argument("--out", default=DEFAULT_TASKS,
                        help="task list JSON to write, '-' for stdout (default: %(default)s)")
    parser.add_argument("--config-out", default=DEFAULT_CONFIG,
                        help="labeling config XML to write (default: %(default)s)")
    parser.add_argument("--print-config", action="store_true", help="print the labeling config XML and exit")
    parser.add_argument("--article", default=None, help="only sentences of this article_id")
    parser.add_argument("--limit", type=int, default=None, help="at most N tasks")
    parser.add_argument("--order", choices=("article", "uncertainty"), default="article",
                        help="article: reading order (default); uncertainty: most uncertain first (needs a model)")
    add_path_argument(parser, "--model", "model", "model for --order uncertainty")
    add_path_argument(parser, "--params", "params", "parameters file, for dataset.reattach_by_text")
    add_trust_argument(parser)


def run_export_queue(args: argparse.Namespace) -> int:
    """Write the Label Studio task list and labeling config."""
    if args.print_config:
        sys.stdout.write(LABEL_CONFIG)
        return 0
    if args.limit is not None and args.limit < 0:
        raise StanceError(f"--limit must be >= 0, got {args.limit}")

    tasks = export_queue(args.sentences, args.labels, article=args.article, limit=args.limit,
                         order=args.order, model_path=args.model, trust_model=args.trust_model,
                         reattach_by_text=_reattach_setting(args.params))
    if args.out == "-":
        sys.stdout.write(json.dumps(tasks, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    else:
        write_json_atomic(args.out, tasks)
    write_text_atomic(args.config_out, LABEL_CONFIG)
    where = "stdout" if args.out == "-" else args.out
    log.info(f"{len(tasks)} task(s) -> {where}; labeling config -> {args.config_out}")
    return 0


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------

def _choices_of(where: str, result: object, control: str = CONTROL_NAME,
                others: set[str] | None = None) -> list[str]:
    """Choice values of the control *control* in one annotation's ``result`` list (validated).

    Results of other controls (another ``from_name``) are skipped and their names added to
    *others*; a result without ``from_name`` counts as the stance control.
    """
    if not isinstance(result, list):
        raise StanceError(f"{where}: 'result' must be a list, got {type(result).__name__}")
    found: list[str] = []
    for k, region in enumerate(result, start=1):
        if not isinstance(region, dict):
            raise StanceError(f"{where}, result {k}: expected an object, got {region!r}")
        if region.get("type", "choices") != "choices":
            continue
        if region.get("from_name", control) != control:
            if others is not None:
                others.add(str(region.get("from_name")))
            continue
        value = region.get("value")
        if not isinstance(value, dict) or "choices" not in value:
            raise StanceError(f"{where}, result {k}: no value.choices in {json.dumps(region)[:120]}")
        choices = value["choices"]
        if not isinstance(choices, list):
            raise StanceError(f"{where}, result {k}: value.choices must be a list, got {choices!r}")
        for choice in choices:
            if choice not in LABELS:
                raise StanceError(f"{where}, result {k}: unknown choice {choice!r} "
                                  f"(expected one of: {', '.join(LABELS)})")
            found.append(choice)
    return found


def _looks_tabular(path: Path, text: str) -> bool:
    """A CSV or TSV export (by extension, or a first line of comma/tab-separated names)."""
    if path.suffix.lower() in (".csv", ".tsv"):
        return True
    first = text.lstrip().split("\n", 1)[0]
    return bool(first) and first[0] not in "[{" and ("," in first or "\t" in first)


def parse_export(path: str | os.PathLike, control: str = CONTROL_NAME) -> list[dict]:
    """Read a Label Studio JSON (or JSON-MIN) export.

    Only results of the Choices control *control* (``from_name``; see :func:`read_control`)
    are read; other controls are ignored. An annotation marked ``ground_truth`` wins over the
    task's other annotations.

    Parameters
    ----------
    path : str or path-like
    control : name of the stance Choices control

    Returns
    -------
    list of dict
        One per task: ``{"task": int (1-based position in the file), "task_id", "sentence_id",
        "text", "labels": list of str, "ground_truth": bool}`` where *labels* holds one label
        per non-cancelled annotation that chose something (empty when unannotated), or only
        those of the ground-truth annotations when there are any (``ground_truth`` True).

    Raises
    ------
    StanceError
        Unreadable or invalid JSON (with line and column; a CSV/TSV export is named as such),
        not a list of tasks, a task without ``data.sentence_id``, an unknown choice, several
        choices in one annotation, or annotations that never use the control *control*.
    """
    p = Path(path)
    tasks = _read_json_list(p)
    out = []
    # other controls seen (from_names / JSON-MIN fields), whether the stance control is used
    # anywhere, whether anything was annotated at all
    seen: dict = {"others": set(), "used": False, "annotated": False}
    for n, task in enumerate(tasks, start=1):
        where = f"{p}, task {n}"
        if not isinstance(task, dict):
            raise StanceError(f"{where}: expected an object, got {json.dumps(task)[:80]}")
        if "id" in task:
            where += f" (id {task['id']})"
        minimal = "data" not in task and "sentence_id" in task
        data = task if minimal else task.get("data")
        if not isinstance(data, dict):
            raise StanceError(f"{where}: no 'data' object (is this a Label Studio JSON export?)")
        sid = data.get("sentence_id")
        if not isinstance(sid, str) or not sid.strip():
            raise StanceError(f"{where}: missing or empty data.sentence_id ({sid!r}); "
                              f"tasks must come from `stance export-queue`")
        sid = sid.strip()
        where += f" sentence_id {sid}"
        if minimal:
            labels, truth = _minimal_labels(task, where, control, seen), []
        else:
            labels, truth = _annotation_labels(task, where, control, seen)
        out.append({"task": n, "task_id": task.get("id"), "sentence_id": sid,
                    "text": data.get("text", "") if isinstance(data.get("text", ""), str) else "",
                    "labels": truth or labels, "ground_truth": bool(truth) and set(labels) != set(truth)})
    if seen["annotated"] and not seen["used"]:
        has = f" (it has: {', '.join(sorted(seen['others']))})" if seen["others"] else ""
        raise StanceError(f"{p}: no annotation uses the Choices control {control!r}{has}; pass the "
                          f"project's labeling config with --config, or export from a project that uses "
                          f"`stance export-queue`'s config.xml")
    return out


def _read_json_list(p: Path) -> list:
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise StanceError(f"{p}: Label Studio export not found") from None
    except UnicodeDecodeError as exc:
        raise StanceError(f"{p}: not UTF-8 text (byte offset {exc.start})") from None
    try:
        tasks = json.loads(text)
    except json.JSONDecodeError as exc:
        if _looks_tabular(p, text):
            raise StanceError(f"{p}: this looks like a CSV/TSV export; use Label Studio's JSON export "
                              f"(Export -> JSON)") from None
        raise StanceError(f"{p}, line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise StanceError(f"{p}: JSON nested too deeply to read") from None
    if not isinstance(tasks, list):
        raise StanceError(f"{p}: expected a JSON list of tasks (Label Studio 'JSON' export), "
                          f"got {type(tasks).__name__}")
    return tasks


def _minimal_labels(task: dict, where: str, control: str = CONTROL_NAME, seen: dict | None = None) -> list[str]:
    """The choice of a JSON-MIN task (``{"sentence_id": ..., "stance": ...}``; the field is the
    control's name). Fields of other Choices controls are noted in ``seen["others"]``."""
    seen = seen if seen is not None else {"others": set()}
    if "annotation_id" in task or "annotator" in task:
        seen["annotated"] = True
    if control in task:
        seen["used"] = True
    for key, v in task.items():
        if key != control and (v in LABELS or (isinstance(v, dict) and "choices" in v)):
            seen["others"].add(str(key))
    value = task.get(control)
    if isinstance(value, dict):
        value = value.get("choices")
    values = value if isinstance(value, list) else ([] if value in (None, "") else [value])
    for v in values:
        if v not in LABELS:
            raise StanceError(f"{where}: unknown choice {v!r} (expected one of: {', '.join(LABELS)})")
    if len(values) > 1:
        raise StanceError(f"{where}: several choices {values!r} in one annotation")
    return list(values)


def _annotation_labels(task: dict, where: str, control: str = CONTROL_NAME,
                       seen: dict | None = None) -> tuple[list[str], list[str]]:
    """``(labels, truth)``: one label per non-cancelled annotation of a full JSON task that chose
    something with the control *control*, and those of the annotations marked ``ground_truth``."""
    seen = seen if seen is not None else {"others": set()}
    anns = task.get("annotations", task.get("completions", []))
    if anns is None:
        anns = []
    if not isinstance(anns, list):
        raise StanceError(f"{where}: 'annotations' must be a list, got {type(anns).__name__}")
    labels: list[str] = []
    truth: list[str] = []
    for k, ann in enumerate(anns, start=1):
        if not isinstance(ann, dict):
            raise StanceError(f"{where}, annotation {k}: expected an object")
        if ann.get("was_cancelled"):
            continue
        result = ann.get("result", [])
        seen["annotated"] = seen.get("annotated", False) or bool(result)
        found = _choices_of(f"{where}, annotation {k}", result, control, seen["others"])
        if len(set(found)) > 1:
            raise StanceError(f"{where}, annotation {k}: several choices {found!r} in one annotation")
        if found:
            seen["used"] = True
            labels.append(found[0])
            if ann.get("ground_truth") is True:
                truth.append(found[0])
    return labels, truth


def import_labels(export_path, labels_path, sentences_path, *, overwrite: bool = False,
                  dry_run: bool = False, control: str = CONTROL_NAME) -> dict:
    """Merge a Label Studio export into the labels file (one atomic rewrite).

    Parameters
    ----------
    export_path, labels_path, sentences_path : str or path-like
    overwrite : bool
        Replace existing labels that differ (otherwise they are reported as conflicts and kept).
    dry_run : bool
        Compute and report, write nothing.
    control : name of the stance Choices control (see :func:`read_control`).

    Returns
    -------
    dict
        ``added``, ``filled`` (empty label filled in), ``updated`` (overwritten),
        ``unchanged``, ``unannotated``, ``ground_truth`` (tasks where a ground-truth annotation
        overrode disagreeing ones) (ints) and lists ``conflicts`` (``sentence_id, existing,
        imported``), ``disagreements`` (``sentence_id, labels``), ``reattached``
        (``old_sentence_id, sentence_id``: ids no longer in sentences.csv whose text matches
        exactly one current sentence) and ``unknown`` (ids not in sentences.csv, no unique match).
    """

    parsed = parse_export(export_path, control)
    sentences = read_sentences(sentences_path)
    report: dict = {"added": 0, "filled": 0, "updated": 0, "unchanged": 0, "unannotated": 0,
                    "ground_truth": sum(1 for item in parsed if item["ground_truth"]),
                    "conflicts": [], "disagreements": [], "unknown": [], "reattached": []}
    # One label per sentence: all annotations of all tasks for it must agree.
    wanted: dict[str, list[str]] = {}
    for item in parsed:
        if not item["labels"]:
            report["unannotated"] += 1
            continue
        wanted.setdefault(item["sentence_id"], []).extend(item["labels"])
    texts = {item["sentence_id"]: item["text"] for item in parsed}
    by_norm: dict[str, list[str]] = {}
    for row in sentences.rows:
        by_norm.setdefault(normalize_text(row["text"]), []).append(row["sentence_id"])
    decided: dict[str, str] = {}
    for sid, labs in wanted.items():
        if sentences.get(sid) is None:
            # The sentence was re-split since the export: re-attach by normalised text if unique.
            norm = normalize_text(texts.get(sid, ""))
            matches = by_norm.get(norm, []) if norm else []
            if len(matches) == 1 and matches[0] not in wanted and len(set(labs)) == 1:
                report["reattached"].append({"old_sentence_id": sid, "sentence_id": matches[0]})
                decided[matches[0]] = labs[0]
            else:
                report["unknown"].append(sid)
        elif len(set(labs)) > 1:
            report["disagreements"].append({"sentence_id": sid, "labels": sorted(labs)})
        else:
            decided[sid] = labs[0]

    with labels_lock(labels_path), signals_deferred():
        label_file = read_labels(labels_path, missing_ok=True)
        existing = label_file.labels()
        has_row = {row["sentence_id"].strip() for row in label_file.rows}
        changed = False
        for sid, label in decided.items():
            old = existing.get(sid)
            if old == label:
                report["unchanged"] += 1
                continue
            if old is not None and not overwrite:
                report["conflicts"].append({"sentence_id": sid, "existing": old, "imported": label})
                continue
            key = "updated" if old is not None else ("filled" if sid in has_row else "added")
            report[key] += 1
            set_label(label_file, sid, label, text=sentences.get(sid)["text"])
            changed = True
        if changed and not dry_run:
            write_labels(labels_path, label_file)
    report["written"] = bool(changed and not dry_run)
    return report


def add_import_labels_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``stance import-labels``."""
    parser.add_argument("export", help="Label Studio JSON export (Export -> JSON) of tasks from `stance export-queue`")
    add_path_argument(parser, "--labels", "labels", "labels CSV to merge into")
    add_path_argument(parser, "--sentences", "sentences", "sentences CSV")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing labels that differ (default: report them and keep the old label)")
    parser.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
    parser.add_argument("--config", default=None,
                        help="the Label Studio project's labeling config (XML), to read the name of its stance "
                             f"Choices control (default: the control {CONTROL_NAME!r} of `stance export-queue`)")


def run_import_labels(args: argparse.Namespace) -> int:
    """Validate a Label Studio export and merge it into the labels file."""
    r = import_labels(args.export, args.labels, args.sentences, overwrite=args.overwrite, dry_run=args.dry_run,
                      control=read_control(args.config))
    verb = "would be" if args.dry_run else "were"
    log.info(f"{r['added']} added, {r['filled']} filled in, {r['updated']} overwritten, "
             f"{r['unchanged']} unchanged, {r['unannotated']} task(s) without annotation; "
             + (f"changes {verb} written to {args.labels}" if (r["added"] or r["filled"] or r["updated"])
                else "nothing to write"))
    details = [f"  conflict: {c['sentence_id']}: {args.labels} says {c['existing']!r}, export says "
               f"{c['imported']!r} (kept; use --overwrite to replace)" for c in r["conflicts"]]
    if r["ground_truth"]:
        details.append(f"  {r['ground_truth']} task(s): the ground-truth annotation was taken over disagreeing ones")
    details += [f"  annotators disagree on {d['sentence_id']}: {', '.join(d['labels'])} (skipped)"
                for d in r["disagreements"]]
    details += [f"  {m['old_sentence_id']} is no longer in {args.sentences}; its text matches "
                f"{m['sentence_id']}, imported there" for m in r["reattached"]]
    details += [f"  unknown sentence_id {sid} (not in {args.sentences}; skipped)" for sid in r["unknown"]]
    for line in details:
        log.info(line, extra={"plain": True})
    if r["conflicts"] or r["disagreements"] or r["unknown"]:
        log.info(f"{len(r['conflicts'])} conflict(s), {len(r['disagreements'])} disagreement(s), "
                 f"{len(r['unknown'])} unknown sentence_id(s) not imported")
    return 0
