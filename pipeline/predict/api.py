"""Predict: label new sentences, files or whole articles with the saved model.

Python API
----------
>>> from pipeline.predict.api import load_model, predict
>>> model = load_model()                      # models/model.joblib
>>> frame = predict(model, ["The council must tighten sanctions.", "Sanctions should be lifted."])
>>> list(frame.columns)
['text', 'label', 'score_support', 'score_oppose', 'score_neutral']

- :func:`load_model` -- load and check a model file (``StanceError`` with a one-line
  message when it is missing or corrupt).
- :func:`predict` -- a list of strings -> DataFrame ``text, label, score_<class>...``.
- :func:`predict_file` -- stream a text/CSV/JSONL file (or stdin) to JSONL/CSV/table
  output in chunks (flat memory, optional worker processes, atomic output file).
- :func:`summarize_article` -- split an article with the pipeline's splitter, label
  every sentence, and count/share the stances (dict).

Command line: ``stance predict`` (see :func:`add_predict_arguments`).

Streaming I/O (readers, formatters, worker pool, tqdm progress) lives in the private
:mod:`pipeline.predict.io`; models are loaded by :mod:`pipeline.model.files`.

Speed: this module imports only the standard library and small pipeline modules at
module level. scikit-learn and joblib are imported when the model is loaded; this module
imports pandas only in :func:`predict` (the CLI works without pandas installed, although
scikit-learn imports it when it is); mlflow and dvc are never imported.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from pipeline.core.config import PATHS, StanceError, add_path_argument, jobs_count, load_params, positive_int, repo_root
from pipeline.core.data import LABELS
from pipeline.model.explain import TOP as EXPLAIN_TOP
from pipeline.model.files import add_trust_argument, champion_note, check_model, load_model
from pipeline.model.scorer import Scorer, model_classes
from pipeline.predict.io import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_MAX_CHARS,
    EMPTY_TEXT,
    FORMATS,
    INPUT_FORMATS,
    Formatter,
    Input,
    Output,
    clip,
    progress_for,
    refuse_same_file,
    resolve_input_format,
    resolve_output_format,
    stream,
    table_width,
    too_long,
)

log = logging.getLogger("stance")

#: The progress line appears only after this many seconds (small inputs stay quiet) ...
PROGRESS_DELAY = 0.5
#: ... and is redrawn at most this often.
PROGRESS_INTERVAL = 0.2

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FORMATS",
    "INPUT_FORMATS",
    "load_model",
    "model_classes",
    "predict",
    "predict_file",
    "predict_texts",
    "summarize_article",
]

# --------------------------------------------------------------------------- model


def _as_model(model: Any):
    """Accept a loaded model or a path to one."""
    if isinstance(model, (str, os.PathLike)):
        return load_model(model)

    check_model(model, probe=False)
    return model


# --------------------------------------------------------------------------- Python API

def _explain_count(explain: bool | int) -> int:
    """Contributions per row asked for: False/0 none, True the default (5), n > 0 that many."""
    if explain is True:
        return EXPLAIN_TOP
    if explain is False or explain is None:
        return 0
    if isinstance(explain, int) and explain >= 0:
        return explain
    raise StanceError(f"explain must be True, False or a number of features >= 0, got {explain!r}")


def predict(model, texts: Iterable[str], *, max_chars: int = DEFAULT_MAX_CHARS, explain: bool | int = False):
    """Label sentences.

    Parameters
    ----------
    model : fitted classifier, str or path-like
        A model from :func:`load_model`, or a path to a model file.
    texts : str or iterable of str, length n
        Sentences. A pandas Series keeps its index.
    max_chars : int
        Longest text accepted, in characters (``predict.max_chars``).
    explain : bool or int
        Add a column ``explain``: for each sentence the features that pushed it towards its
        label, a list of ``{"feature", "contribution"}`` (largest first; True: 5 of them, an
        int: that many; see :mod:`pipeline.model.explain`).

    Returns
    -------
    pandas.DataFrame, shape (n, 2 + k)
        Columns ``text``, ``label`` and one ``score_<class>`` column per class of the
        model (``score_support, score_oppose, score_neutral`` for the project's model),
        scores as floats (not rounded; calibrated probabilities for the default model), and
        ``explain`` when asked for. ``label`` is the model's decision: the class with the
        highest score, or with calibrated scores (``train.calibration``) the classifier's own
        label (see :mod:`pipeline.model.calibration`).

    Raises
    ------
    StanceError
        A text is not a string, is empty/whitespace only or longer than *max_chars* (its
        index is named).
    """
    import pandas as pd  # local import: the CLI path does not pay for it here

    model = _as_model(model)
    index = getattr(texts, "index", None) if isinstance(texts, pd.Series) else None
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise StanceError(f"texts[{i}]: expected a string, got {type(t).__name__} {t!r:.60}")
        if not t.strip():
            raise StanceError(f"texts[{i}]: {EMPTY_TEXT}")
        if len(t) > max_chars:
            raise StanceError(f"texts[{i}]: {too_long(max_chars)}")
    top = _explain_count(explain)
    scorer = Scorer(model)
    if texts:
        labels, proba = scorer.score(texts)
    else:
        import numpy as np

        labels, proba = [], np.zeros((0, len(scorer.classes)))
    data: dict[str, Any] = {"text": texts, "label": labels}
    for j, c in enumerate(scorer.classes):
        data[f"score_{c}"] = proba[:, j]
    if top:
        data["explain"] = scorer.explain(texts, labels, top) if texts else []
    return pd.DataFrame(data, index=index)


def predict_file(model, in_path: str | os.PathLike, out_path: str | os.PathLike | None = None,
                 fmt: str | None = None, *, input_format: str | None = None, jobs: int = 1,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, progress: bool | None = False,
                 max_chars: int = DEFAULT_MAX_CHARS, explain: bool | int = False) -> dict[str, int]:
    """Label every row of a file, streaming: read *chunk_size* rows, score, write, repeat.

    Parameters
    ----------
    model : fitted classifier, str or path-like
        A model from :func:`load_model`, or a path to a model file.
    in_path : str or path-like
        Input file, or ``"-"`` for standard input. Plain text (one sentence per line),
        CSV with a header row holding a ``text`` column, or JSONL with a ``text`` field.
    out_path : str or path-like, optional
        Output file, written atomically (never left partial; on failure the previous
        file is kept). ``None`` or ``"-"``: standard output.
    fmt : {"jsonl", "csv", "table"}, optional
        Output format. Default: from the extension of *out_path* (``.csv`` -> csv), else jsonl.
    input_format : {"auto", "text", "csv", "jsonl"}, optional
        Default ``auto``: by extension (.csv; .jsonl/.ndjson/.json; anything else and
        stdin: text).
    jobs : int
        Worker processes for inputs longer than one chunk (1: score in this process;
        0: one per CPU). Output order is the input order.
    chunk_size : int
        Rows per ``predict_proba`` call; memory use is bounded by about ``2 * jobs``
        chunks whatever the file length.
    progress : bool or None
        Progress line on stderr; ``None``: only when stderr is a terminal.
    max_chars : int
        Longest text scored, in characters. A longer row becomes an error record
        (``{"line", "text": first 80 characters + "…", "error": "text longer than ..."}``);
        a longer text line is read in bounded pieces, never whole.
    explain : bool or int
        Also write the features that pushed each sentence towards its label (as :func:`predict`).

    Returns
    -------
    dict
        ``{"rows": n, "scored": n_scored, "errors": n_error_records}``.

    Output rows: JSONL ``{"text", "label", "scores": {"support", "oppose", "neutral"}}``
    (scores rounded to 4 decimals; with *explain* also ``"explain": [{"feature",
    "contribution"}, ...]``); CSV ``text,label,score_support,score_oppose,
    score_neutral,error`` (with *explain* an ``explain`` column before ``error``:
    ``word:lift +0.83, static +0.30``); the table gets an indented ``why:`` line under each
    row. A row with empty text gives an error record
    (``{"line": n, "text": "", "error": "empty text"}``) and the rest goes on.

    Raises
    ------
    StanceError
        Missing or unreadable input, a line that is not UTF-8, malformed JSON/CSV, or a
        row without a ``text`` value (file and line are named).
    """
    if chunk_size < 1:
        raise StanceError(f"chunk_size must be at least 1, got {chunk_size}")
    if jobs == 0:
        jobs = os.cpu_count() or 1
    if jobs < 0:
        raise StanceError(f"jobs must be 0 (all CPUs) or more, got {jobs}")
    refuse_same_file(in_path, out_path)
    model = _as_model(model)
    out_fmt = resolve_output_format(fmt, out_path)
    in_fmt = resolve_input_format(in_path, input_format)
    scorer = Scorer(model)
    formatter = Formatter(scorer.classes, out_fmt, width=table_width() if out_fmt == "table" else None,
                          explain=_explain_count(explain))
    if max_chars < 1:
        raise StanceError(f"max_chars must be at least 1, got {max_chars}")
    src = Input(in_path, max_chars)
    try:
        bar = progress_for(progress, src.size, PROGRESS_DELAY, PROGRESS_INTERVAL)
        with Output(out_path) as out:
            stats = stream(scorer, formatter, src.chunks(in_fmt, chunk_size), out, jobs=jobs,
                            progress=bar, position=lambda: src.nbytes)
        bar.close(stats["rows"], src.nbytes)
    finally:
        src.close()
    return stats


def predict_texts(model, texts: list[str], out: IO[str], fmt: str = "jsonl",
                  explain: bool | int = False) -> dict[str, int]:
    """Label *texts* and write them to the open text stream *out* (what ``stance predict "..."`` does).

    Empty texts give error records (line = 1-based position in *texts*). Returns the
    same counts as :func:`predict_file`; *explain* as there.
    """
    model = _as_model(model)
    scorer = Scorer(model)
    formatter = Formatter(scorer.classes, fmt, width=table_width() if fmt == "table" else None,
                          explain=_explain_count(explain))
    texts = list(texts)
    return stream(scorer, formatter, iter([(texts, range(1, len(texts) + 1), None)]), out)


# --------------------------------------------------------------------------- articles

def _project_params(section: str):
    """The project's *section* of params.yaml (typed, validated) when it has one, else None (defaults)."""
    # imported here: the params schema is not needed to score sentences (start-up of `stance predict`)
    from pipeline.core.params import SECTIONS, from_mapping

    p = repo_root() / PATHS["params"]
    if not p.is_file():
        return None
    raw = load_params(p)
    if section not in raw:
        return None
    try:
        return from_mapping(SECTIONS[section], raw[section], section)
    except StanceError as exc:
        raise StanceError(f"{p}: {exc}") from None


def _split_params():
    """The project's ``split`` parameters, or None (the splitter's defaults)."""
    return _project_params("split")


def _max_chars(given: int | None) -> int:
    """``--max-chars``, else ``predict.max_chars`` of the project's params.yaml, else the default."""
    if given is not None:
        return given
    params = _project_params("predict")
    return params.max_chars if params is not None else DEFAULT_MAX_CHARS


def hand_labels(path: str | os.PathLike | None) -> dict[str, str]:
    """``sentence_id -> label`` of the non-empty labels in a labels CSV; ``{}`` when *path* is
    None or missing. Read with the csv module only (the predict path stays light)."""
    import csv

    if path is None or not Path(path).is_file():
        return {}
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return {r["sentence_id"].strip(): r["label"].strip() for r in csv.DictReader(fh)
                    if (r.get("sentence_id") or "").strip() and (r.get("label") or "").strip()}
    except (KeyError, AttributeError, UnicodeDecodeError, csv.Error) as exc:
        raise StanceError(f"{path}: not a labels file (sentence_id,label,...): {exc}") from None


def summarize_article(model, path: str | os.PathLike, top: int = 3, params=None,
                      labels: str | os.PathLike | None = None) -> dict[str, Any]:
    """Split an article with the pipeline's splitter, label each sentence and summarise.

    Parameters
    ----------
    model : fitted classifier, str or path-like
    path : str or path-like
        A UTF-8 article file (``# key: value`` header lines allowed, as in data/raw).
    top : int
        How many of the most confident sentences to list for each side.
    params : SplitParams or mapping, optional
        The ``split`` parameters (default: the project's params.yaml when found, else
        the splitter's defaults).
    labels : str or path-like, optional
        A labels CSV (``sentence_id,label,...``): sentences already labelled by hand get
        their ``hand_label`` beside the prediction.

    Returns
    -------
    dict
        ``article_id`` (file stem), ``n_sentences``, ``counts`` and ``shares`` (per
        class, in support/oppose/neutral order; shares rounded to 4 decimals),
        ``most_confident`` (``support`` and ``oppose``: up to *top* sentences predicted
        so, highest score first, each ``sentence_id, position, text, score``) and
        ``sentences`` (every sentence: ``sentence_id, position, text, label, scores,
        hand_label`` -- ``None`` when not labelled by hand), ``n_hand_labeled`` and
        ``hand_agree`` (how many of those the model predicts as labelled).
    """
    # imported here: the splitter's rule tables compile only for --article (start-up of `stance predict`)
    from pipeline.split.stage import split_article

    model = _as_model(model)
    if params is None:
        params = _split_params()
    p = Path(path)
    if p.is_dir():
        raise StanceError(f"article {p} is a directory, expected a text file")
    if not p.exists():
        raise StanceError(f"article file {p} not found")
    _meta, sentences, _report = split_article(p, params)
    scorer = Scorer(model)
    hand = hand_labels(labels)
    rows: list[dict[str, Any]] = []
    if sentences:
        import numpy as np

        labels, proba = scorer.score([s["text"] for s in sentences])
        full = proba.tolist()
        rounded = np.round(proba, 4).tolist()
        for s, lab, pr, rd in zip(sentences, labels, full, rounded):
            rows.append({
                "sentence_id": s["sentence_id"],
                "position": s["position"],
                "text": s["text"],
                "label": lab,
                "scores": dict(zip(scorer.classes, rd)),
                "hand_label": hand.get(s["sentence_id"]),
                "_score": pr[scorer.classes.index(lab)],
                "_rounded": rd[scorer.classes.index(lab)],
            })
    n = len(rows)
    kinds = [c for c in LABELS] + [c for c in scorer.classes if c not in LABELS]
    counts = {c: sum(r["label"] == c for r in rows) for c in kinds}
    shares = {c: round(counts[c] / n, 4) if n else 0.0 for c in kinds}
    most: dict[str, list] = {}
    for side in ("support", "oppose"):
        mine = sorted((r for r in rows if r["label"] == side), key=lambda r: (-r["_score"], r["position"]))
        most[side] = [
            {"sentence_id": r["sentence_id"], "position": r["position"], "text": r["text"],
             "score": r["_rounded"]}
            for r in mine[: max(top, 0)]
        ]
    for r in rows:
        del r["_score"], r["_rounded"]
    return {
        "article_id": p.stem,
        "n_sentences": n,
        "counts": counts,
        "shares": shares,
        "most_confident": most,
        "n_hand_labeled": sum(r["hand_label"] is not None for r in rows),
        "hand_agree": sum(r["hand_label"] == r["label"] for r in rows if r["hand_label"] is not None),
        "sentences": rows,
    }


def _summary_text(summary: dict[str, Any], width: int = 100) -> str:
    lines = [f"\nArticle {summary['article_id']}: {summary['n_sentences']} sentences"]
    for c, k in summary["counts"].items():
        lines.append(f"  {c:<8} {k:>5}  {summary['shares'][c]:6.1%}")
    if summary.get("n_hand_labeled"):
        lines.append(f"Hand-labelled: {summary['n_hand_labeled']} sentences; the model agrees on "
                     f"{summary['hand_agree']} (column 'hand label')")
    for side, items in summary["most_confident"].items():
        lines.append(f"Most confident {side}:")
        if not items:
            lines.append("  (none)")
        for it in items:
            prefix = f"  [{it['position']:>3}] {it['score']:.4f}  "
            lines.append(prefix + clip(it["text"], max(width - len(prefix), 10)))
    return "\n".join(lines) + "\n"


def _write_article(summary: dict[str, Any], classes: list[str], fmt: str, out: IO[str]) -> None:
    if fmt == "jsonl":
        for r in summary["sentences"]:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
        head = {k: v for k, v in summary.items() if k != "sentences"}
        out.write(json.dumps({"summary": head}, ensure_ascii=False) + "\n")
        return
    width = table_width()
    extra = ("sentence_id", "position", "hand_label") if fmt == "csv" else ("position", "hand label")
    formatter = Formatter(classes, fmt, width=width, extra=extra)
    rows = summary["sentences"]
    extras = [(r["sentence_id"], r["position"], r["hand_label"] or "") if fmt == "csv"
              else (r["position"], r["hand_label"] or "-") for r in rows]
    chunk = ([r["text"] for r in rows], [r["position"] for r in rows], extras)
    out.write(formatter.header())
    out.write(formatter.format(chunk, {}, [r["label"] for r in rows],
                               [[r["scores"][c] for c in classes] for r in rows]))
    if fmt == "table":
        out.write(_summary_text(summary, width))
    else:  # CSV holds the sentences only; the summary goes to the terminal
        sys.stderr.write(_summary_text(summary, width).lstrip("\n"))


# --------------------------------------------------------------------------- CLI

def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``stance predict``."""
    parser.add_argument("sentences", nargs="*", metavar="SENTENCE",
                        help="sentences to label (one output row each)")
    src = parser.add_argument_group("input (give sentences, --input or --article)")
    src.add_argument("--input", "-i", metavar="FILE",
                     help="text file (one sentence per line), CSV or JSONL with a 'text' column/field; "
                          "'-' reads standard input")
    src.add_argument("--input-format", choices=INPUT_FORMATS, default="auto",
                     help="how to read --input (default: by extension: .csv, .jsonl/.ndjson/.json, else text)")
    src.add_argument("--article", "-a", metavar="FILE",
                     help="split an article with the pipeline's splitter, label every sentence, then summarise")
    src.add_argument("--top", type=int, default=3, metavar="K",
                     help="with --article: most confident sentences shown per side (default: 3)")
    add_path_argument(src, "--labels", "labels", "with --article: show the hand labels of this labels CSV beside "
                      "the predictions, when it exists", metavar="FILE")
    out = parser.add_argument_group("output")
    out.add_argument("--output", "-o", metavar="FILE",
                     help="write here (atomically) instead of standard output")
    out.add_argument("--format", "-f", choices=FORMATS, default=None,
                     help="jsonl (default), csv, or an aligned table for the terminal; "
                          "default from the --output extension (.csv -> csv)")
    out.add_argument("--explain", action="store_true",
                     help="also show the features that pushed each sentence towards its label, with their "
                          "contributions (coefficient x value; the static embeddings as one)")
    out.add_argument("--explain-top", type=positive_int, default=EXPLAIN_TOP, metavar="N",
                     help=f"with --explain: features shown per sentence (default {EXPLAIN_TOP})")
    add_path_argument(parser, "--model", "model", "model file, .joblib or .skops", aliases=("-m",), metavar="PATH")
    add_trust_argument(parser)
    perf = parser.add_argument_group("large inputs")
    perf.add_argument("--jobs", "-j", type=jobs_count, default=1, metavar="N",
                      help="worker processes for inputs longer than one chunk (default: 1; 0: all CPUs)")
    perf.add_argument("--chunk-size", type=positive_int, default=DEFAULT_CHUNK_SIZE, metavar="N",
                      help=f"rows scored per batch (default: {DEFAULT_CHUNK_SIZE})")
    perf.add_argument("--max-chars", type=positive_int, default=None, metavar="N",
                      help=f"longest text scored, in characters; a longer line is an error record, read in "
                           f"bounded pieces (default: predict.max_chars in params.yaml, else {DEFAULT_MAX_CHARS})")
    out.add_argument("--strict", action="store_true",
                     help="exit 2 when a row is not scored (empty, too long, not Unicode text); its error "
                          "record is still written (default: exit 0, error records only)")
    perf.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                      help="progress line on stderr (default: only when stderr is a terminal)")


def run_predict(args: argparse.Namespace) -> int:
    """Run ``stance predict``; returns the exit status (errors raise :class:`StanceError`)."""
    given = [name for name, on in (("sentences", bool(args.sentences)), ("--input", args.input is not None),
                                   ("--article", args.article is not None)) if on]
    if not given:
        raise StanceError("nothing to label: give sentences, --input FILE ('-' for stdin) or --article FILE")
    if len(given) > 1:
        raise StanceError(f"give only one of sentences, --input or --article (got {' and '.join(given)})")
    max_chars = _max_chars(args.max_chars)
    for i, s in enumerate(args.sentences, 1):
        if not s.strip():
            raise StanceError(f"sentence {i} on the command line is empty; give some text")
        if len(s) > max_chars:
            raise StanceError(f"sentence {i} on the command line: {too_long(max_chars)}; "
                              "raise it with --max-chars N")
    if args.explain and args.article is not None:
        raise StanceError("--explain works with sentences and --input, not with --article")
    refuse_same_file(args.input if args.input is not None else args.article, args.output)
    model = load_model(args.model, trust=args.trust_model, labels=LABELS)  # stance classes only, as analyze
    note = champion_note(args.model)  # the default model is not what MLflow serving answers with
    if note:
        log.warning(note)
    fmt = resolve_output_format(args.format, args.output)

    if args.article is not None:
        summary = summarize_article(model, args.article, top=args.top, labels=args.labels)
        with Output(args.output) as out:
            _write_article(summary, model_classes(model), fmt, out)
        return 0

    if args.input is not None:
        stats = predict_file(model, args.input, args.output, fmt, input_format=args.input_format,
                             jobs=args.jobs, chunk_size=args.chunk_size, progress=args.progress,
                             max_chars=max_chars, explain=args.explain_top if args.explain else 0)
    else:
        with Output(args.output) as out:
            stats = predict_texts(model, args.sentences, out, fmt, explain=args.explain_top if args.explain else 0)
    if stats["errors"]:
        if getattr(args, "strict", False):
            raise StanceError(f"{stats['errors']} of {stats['rows']} rows not scored (empty, longer than {max_chars} "
                              "characters or not Unicode text; see their error records) and --strict is given")
        log.info("%d of %d rows not scored (empty, longer than %d characters or not Unicode text); "
                 "see their error records",
                 stats["errors"], stats["rows"], max_chars)
    if args.output not in (None, "-"):
        log.info("wrote %d rows to %s", stats["rows"], args.output)
    return 0
