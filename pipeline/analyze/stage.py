"""Analyze: stance over whole corpora, by period, outlet and actor (``stance analyze``).

Every article goes through the pipeline's own splitter (:mod:`pipeline.split.stage`) and the
saved model (:func:`pipeline.predict.api.load_model`); each sentence also gets the actor whose
stance it reports (:mod:`pipeline.analyze.actors`). The counts are aggregated per period and
source (``trends.csv``), per actor and period (``actors.csv``) and per article
(``articles.csv``), plotted (``trends.png``, ``actors.png``), and every sentence is kept
in ``sentences.parquet``. The outputs are written into a temporary folder that then replaces the
output folder in one step (:func:`pipeline.core.data.output_set`).

Python API
----------
>>> from pipeline.analyze.stage import analyze
>>> summary = analyze("data/raw", "reports/analysis", period="year")   # doctest: +SKIP

Engines: ``local`` (streaming, flat memory, ``jobs`` worker processes) and ``spark``
(Apache Spark through PySpark: :mod:`pipeline.analyze.spark`). Both compute the per-batch
work with :func:`score_batch` and the tables with the same code, so their aggregates are
equal row for row.

This is a command, not a DVC stage: it reads any corpus (not only ``data/raw``) and its
inputs (a model, articles, a metadata table) are all named on the command line.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.analyze.actor_evaluation import evaluate_actors
from pipeline.analyze.batches import Context, Selection, batches, score_batch
from pipeline.analyze.io import (
    Article,
    CsvWriter,
    SentenceCsvWriter,
    SentenceWriter,
    input_kind,
    iter_articles,
)
from pipeline.analyze.known import KnownLabels, read_known_labels
from pipeline.analyze.plots import plot_actors, plot_trends
from pipeline.analyze.report import write_report
from pipeline.analyze.settings import issuer_map, load_settings, meta_table
from pipeline.analyze.spark import run_spark
from pipeline.analyze.stats import PERIODS, UNDATED
from pipeline.analyze.tables import (
    ACTOR_COLUMNS,
    ARTICLE_COLUMNS,
    TARGET_COLUMNS,
    TREND_COLUMNS,
    Settings,
    Tally,
)
from pipeline.core.config import PATHS, StanceError, add_path_argument, jobs_count, repo_root
from pipeline.core.data import LABELS, output_set, write_csv_atomic
from pipeline.model.errors import ErrorModel
from pipeline.model.files import add_trust_argument, load_model
from pipeline.split.io import list_articles

__all__ = [
    "ENGINES",
    "OUTPUTS",
    "analyze",
]

log = logging.getLogger("stance")

ENGINES = ("local", "spark")
#: Files written into the output folder.
OUTPUTS = ("sentences.parquet", "sentences.csv", "articles.csv", "trends.csv", "targets.csv", "actors.csv",
           "trends.png", "actors.png", "report.html")


# --------------------------------------------------------------------------- local engine

_WORKER: Context | None = None


#: Most worker processes ``--jobs`` may ask for (more is a typo, not a machine).
MAX_JOBS = 1024


def _die_with_parent() -> None:
    """Linux: have the kernel kill this worker when the process that started it dies (``kill -9``
    of ``stance analyze`` must not leave workers behind). Elsewhere: nothing."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _init_worker(parent: int, *ctx_args) -> None:
    global _WORKER
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    _WORKER = Context(*ctx_args)


def _work(batch: list[Article]):
    assert _WORKER is not None
    return score_batch(batch, _WORKER)


def _run_local(articles: Iterator[Article], jobs: int, batch_size: int, ctx_args: tuple) -> Iterator[tuple]:
    """Yield ``score_batch`` results in input order; at most ``2 * jobs`` batches in flight.

    No more workers than batches (the first *jobs* batches are read before any is started);
    each worker dies with this process."""
    work = batches(articles, batch_size)
    head = list(itertools.islice(work, max(1, jobs)))
    jobs = min(jobs, len(head))
    if jobs <= 1:
        ctx = Context(*ctx_args)
        for batch in itertools.chain(head, work):
            yield score_batch(batch, ctx)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(os.getpid(), *ctx_args)) as pool:
        pending: deque = deque()
        try:
            for batch in itertools.chain(head, work):
                pending.append(pool.submit(_work, batch))
                if len(pending) >= 2 * jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()


# --------------------------------------------------------------------------- outputs

def _write_table(path: Path, rows: list[dict], columns: tuple[str, ...]) -> None:
    import pandas as pd

    write_csv_atomic(path, pd.DataFrame(rows, columns=list(columns)), safe=True)  # names may start with = + - @


def _project_file(value: str | None) -> Path | None:
    if not value:
        return None
    p = Path(value)
    return p if p.is_absolute() else repo_root() / p


def _known_labels(ap, labels) -> KnownLabels:
    """*labels*: a path, True (``analyze.labels`` when it exists) or None/False (none)."""
    if labels is True:
        p = _project_file(ap.labels)
        return read_known_labels(p) if p is not None and p.is_file() else KnownLabels()
    return read_known_labels(labels) if labels else KnownLabels()


def _error_model(ap, share_errors) -> ErrorModel | None:
    """*share_errors*: a path, True (``analyze.share_errors`` when it exists) or None/False (none)."""
    p = _project_file(ap.share_errors) if share_errors is True else Path(share_errors) if share_errors else None
    if p is None or (share_errors is True and not p.is_file()):
        return None
    try:
        return ErrorModel.read(p)
    except ValueError as exc:
        raise StanceError(str(exc)) from None


# --------------------------------------------------------------------------- API

def analyze(input_path: str | os.PathLike, out_dir: str | os.PathLike, *, engine: str = "local",
            period: str | None = None, jobs: int | None = None, master: str | None = None,
            model: Any = None, meta: str | os.PathLike | None | bool = True,
            params: str | os.PathLike | None = None, progress: bool | None = None,
            batch_articles: int | None = None, trust_model: bool = False,
            labels: str | os.PathLike | None | bool = True, share_errors: str | os.PathLike | None | bool = True,
            selection: Selection | None = None) -> dict[str, Any]:
    """Analyse a corpus and write :data:`OUTPUTS` into *out_dir*.

    Parameters
    ----------
    input_path : str or path-like
        A folder of ``*.txt`` articles (article id = file stem; optional ``# date:``,
        ``# source:`` and ``# title:`` header lines), or one ``.jsonl``/``.csv``/``.parquet``
        file with columns ``article_id``, ``text`` and optional ``date`` (ISO ``YYYY-MM-DD``),
        ``source``, ``target``, ``title``, ``url``.
    out_dir : str or path-like
        Output folder (created when missing); its outputs are replaced as one set
        (:func:`pipeline.core.data.output_set`): never a mix of old and new files.
    engine : {"local", "spark"}
    period : {"month", "quarter", "year"}, optional
        Default: ``analyze.period`` in params.yaml.
    jobs : int, optional
        Local engine: worker processes (0: one per CPU). Default ``analyze.n_jobs``.
    master : str, optional
        Spark master URL (default ``local[*]``; under ``spark-submit``, the master given to it).
    model : estimator or path, optional
        Default: ``models/model.joblib``, loaded by :func:`pipeline.model.files.load_model` (a joblib
        file only when training recorded its sha256, or with *trust_model*; ``.skops`` files).
    meta : path, True or None/False
        Folder inputs: the metadata table (``article_id, date, source`` and optional
        ``target, title, url``). True: the ``analyze.meta`` file of params.yaml when it
        exists. None/False: none. Table values win over header lines.
    params : path, optional
        params.yaml (default: the project's; defaults when there is none).
    progress : bool, optional
        Local engine: a progress bar on stderr (default: when stderr is a terminal).
    labels : path, True or None/False
        Hand labels that replace the model's label (True: ``analyze.labels`` when it exists).
    share_errors : path, True or None/False
        The out-of-fold errors the intervals include (True: ``analyze.share_errors`` when it
        exists; without them the intervals cover sampling only).
    selection : Selection, optional
        ``--actor``, ``--from``, ``--to``, ``--source``, ``--target``.

    Returns
    -------
    dict
        ``articles``, ``undated`` (articles in the period ``undated``), ``undated_ids`` (the
        first 10), ``sentences``, ``counts`` (per label), ``hand`` (sentences with a hand
        label), ``expected`` (expected shares over everything, with their interval),
        ``interval`` (what the intervals cover), ``periods``, ``sources``, ``actors``,
        ``engine``, ``out``.

    Raises
    ------
    StanceError
        Bad input (file, row and value named), bad params, a missing or untrusted model.
    """

    ap, split_params = load_settings(params)
    if engine not in ENGINES:
        raise StanceError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    period = period or ap.period
    if period not in PERIODS:
        raise StanceError(f"unknown period {period!r}; choose one of {', '.join(PERIODS)}")
    jobs = ap.n_jobs if jobs is None else jobs
    if jobs == 0:
        jobs = os.cpu_count() or 1
    if jobs > MAX_JOBS:
        raise StanceError(f"--jobs {jobs}: at most {MAX_JOBS} worker processes (0: one per CPU, "
                          f"{os.cpu_count() or 1} here)")
    batch_size = batch_articles or ap.batch_articles
    selection = selection or Selection()
    names = [a["name"] for a in ap.actors]
    if selection.actor is not None and selection.actor not in [*names, "none"]:
        raise StanceError(f"--actor {selection.actor!r} is not one of {', '.join([*names, 'none'])}")
    kind = input_kind(input_path)
    table = meta_table(meta, ap) if kind == "dir" else None
    known = _known_labels(ap, labels)
    error = _error_model(ap, share_errors)
    if model is None or isinstance(model, (str, os.PathLike)):
        model_obj = load_model(model, trust=trust_model)     # the project's trust rule
    else:
        model_obj = model
    out = Path(out_dir)
    _check_out_folder(out, input_path, kind)
    who = (list(ap.actors), issuer_map(ap))
    ctx_args = (model_obj, split_params, who, period, known, selection)
    settings = Settings(ap.ci, ap.bootstrap, ap.bootstrap_seed, error)
    with output_set(out, OUTPUTS) as new:  # all outputs replaced as one set, or none
        articles_csv = CsvWriter(new / "articles.csv", ARTICLE_COLUMNS)
        tally = Tally(settings, articles_csv)
        writers = [SentenceWriter(new / "sentences.parquet"), SentenceCsvWriter(new / "sentences.csv")]
        try:
            if engine == "spark":
                run_spark(input_path, kind, table, ctx_args, master, tally, writers, batch_size=batch_size)
            else:
                _analyze_local(input_path, table, ctx_args, jobs, batch_size, tally, writers, progress)
        except BaseException:
            for w in (*writers, articles_csv):
                w.abort()
            raise
        summary = _summary(engine, out, tally, known, settings, ap, selection)
        trends, actors = _write_outputs(new, tally, articles_csv, writers, period, names, summary, ap)
    summary.update({
        "periods": sorted({t["period"] for t in trends if t["period"] != UNDATED}),
        "sources": sorted({t["source"] for t in trends}),
        "actors": {n: sum(r["sentences"] for r in actors if r["actor"] == n) for n in names},
    })
    return summary


def _summary(engine: str, out: Path, tally: Tally, known: KnownLabels, settings: Settings, ap,
             selection: Selection) -> dict[str, Any]:
    """The summary before the tables: counts, hand labels, the expected shares over everything."""
    overall = tally.overall(None)[0] if tally.articles else None
    return {
        "engine": engine,
        "out": str(out),
        "articles": tally.n_articles,
        "undated": tally.n_undated,
        "undated_ids": list(tally.undated_ids),
        "sentences": tally.n_sentences,
        "counts": dict(tally.labels),
        "hand": tally.n_hand,
        "labels_file": known.source,
        "interval": settings.covers,
        "level": ap.ci,
        "expected": {k: overall[k] for k in overall if k.startswith("expected_") or k.endswith(("_low", "_high"))}
        if overall else {},
        "selection": {k: v for k, v in vars(selection).items() if v},
    }


def _check_out_folder(out: Path, input_path, kind: str) -> None:
    """Refuse an output folder inside the input folder or inside ``data/raw`` (DVC tracks the raw
    corpus: outputs written there would change it, and a folder input would read them next time)."""
    target = Path(os.path.realpath(out))
    inside = [(Path(os.path.realpath(input_path)), "the input folder")] if kind == "dir" else []
    inside.append((Path(os.path.realpath(repo_root() / PATHS["raw"])), "data/raw, the corpus DVC tracks"))
    for folder, what in inside:
        if target == folder or target.is_relative_to(folder):
            raise StanceError(f"--out {out} is inside {what} ({folder}); choose an output folder elsewhere")


def _write_outputs(out: Path, tally: Tally, articles_csv, writers, period: str, names: list[str],
                   summary: dict, ap):
    """Tables, plots and the report from *tally*; every file atomic; returns the trend and actor rows."""

    trends = tally.trend_rows()
    targets = tally.target_rows()
    actors = tally.actor_rows(names)
    try:
        articles_csv.commit()
        _write_table(out / "trends.csv", trends, TREND_COLUMNS)
        _write_table(out / "targets.csv", targets, TARGET_COLUMNS)
        _write_table(out / "actors.csv", actors, ACTOR_COLUMNS)
        plot_trends(trends, out / "trends.png", period, tally.period_rows)
        plot_actors(actors, out / "actors.png", period, names, tally.overall("actor"))
        for w in writers:
            w.commit()
    except BaseException:
        for w in (*writers, articles_csv):
            w.abort()
        raise
    write_report(out / "report.html", out / "sentences.parquet", tally, summary,
                 {"source": trends, "target": targets, "actor": actors}, ap, names)
    return trends, actors


def _analyze_local(input_path, table, ctx_args, jobs, batch_size, tally: Tally, writers, progress) -> None:
    total = None
    if input_kind(input_path) == "dir":

        total = len(list_articles(input_path))
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="article", file=sys.stderr, desc="stance analyze", dynamic_ncols=True)
    try:
        for cols, rows, actor_rows in _run_local(iter_articles(input_path, table), jobs, batch_size, ctx_args):
            for w in writers:
                w.write(cols)
            tally.add(rows, actor_rows)
            if bar is not None:
                bar.update(len(rows))
    finally:
        if bar is not None:
            bar.close()


def empty_input(input_path: str | os.PathLike) -> str | None:
    """What makes a file input empty, or None: ``empty JSONL file`` (no line with a record),
    ``CSV file with a header only``, ``Parquet file with 0 rows``. A folder or a file that cannot be
    read here is left to the readers (None)."""
    import csv

    p = Path(input_path)
    try:
        kind = input_kind(p)
        if kind == "jsonl":
            with p.open("rb") as fh:
                return None if any(line.strip() for line in fh) else "empty JSONL file"
        if kind == "csv":
            with p.open(encoding="utf-8-sig", newline="") as fh:
                rows = csv.reader(fh)
                if next(rows, None) is None:
                    return None  # no header at all: the reader says so
                return None if any(any(c.strip() for c in row) for row in rows) else "CSV file with a header only"
        if kind == "parquet":
            import pyarrow.parquet as pq

            return "Parquet file with 0 rows" if pq.ParquetFile(p).metadata.num_rows == 0 else None
    except Exception:  # unreadable, not UTF-8, broken Parquet ...: the readers report it with file and row
        return None
    return None


def summary_text(summary: dict[str, Any]) -> str:
    """The short summary printed on stderr."""
    n = summary["sentences"]
    shares = ", ".join(f"{lab} {summary['counts'][lab]} ({summary['counts'][lab] / n:.1%})" if n else f"{lab} 0"
                       for lab in LABELS)
    periods = summary["periods"]
    span = f"{periods[0]} to {periods[-1]} ({len(periods)} periods)" if periods else "no dated periods"
    lines = [
        f"{summary['engine']} engine: {summary['articles']} articles, {n} sentences: {shares}",
        f"  {span}; {len(summary['sources'])} sources",
    ]
    if n:
        e = summary["expected"]
        lines.append("  expected shares (mean probability; hand labels certain): " + ", ".join(
            f"{lab} {e[f'expected_{lab}']:.1%} [{e[f'{lab}_low']:.1%}, {e[f'{lab}_high']:.1%}]" for lab in LABELS)
            + f"; intervals cover {summary['interval']}")
        lines.append(f"  {summary['hand']} sentence(s) took their hand label"
                     + (f" from {summary['labels_file']}" if summary["labels_file"] else " (no label file)")
                     + f" (label_source hand); {n - summary['hand']} the model's")
    if summary["interval"] == "articles":
        lines.append("  warning: no share errors (stance evaluate writes reports/share_errors.json): "
                     "the intervals cover the sampling of articles only, not the model's error")
    if summary["selection"]:
        lines.append("  selection: " + ", ".join(f"{k} {v}" for k, v in summary["selection"].items()))
    if summary["undated"]:
        ids = ", ".join(summary["undated_ids"]) + (", ..." if summary["undated"] > len(summary["undated_ids"]) else "")
        lines.append(f"  {summary['undated']} article(s) without a date (period '{UNDATED}'): {ids}")
    if summary["actors"]:
        top = sorted(summary["actors"].items(), key=lambda kv: -kv[1])
        lines.append("  sentences per actor: " + ", ".join(f"{a} {k}" for a, k in top if k))
    lines.append(f"  wrote {', '.join(OUTPUTS)} to {summary['out']}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- CLI

def add_analyze_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``stance analyze``."""

    parser.add_argument("--input", "-i", metavar="ARTICLES",
                        help="folder of .txt articles, or a .jsonl/.csv/.parquet file with article_id, text "
                             "and optional date, source")
    parser.add_argument("--out", "-o", metavar="DIR", help="output folder")
    parser.add_argument("--engine", choices=ENGINES, default="local", help="local (default) or spark")
    parser.add_argument("--master", metavar="URL", default=None,
                        help="Spark master (default: local[*]; e.g. spark://host:7077)")
    parser.add_argument("--period", choices=PERIODS, default=None,
                        help="time bucket of trends.csv and actors.csv (default: analyze.period in params.yaml)")
    parser.add_argument("--jobs", "-j", type=jobs_count, default=None, metavar="N",
                        help="local engine: worker processes (default: analyze.n_jobs; 0: all CPUs)")
    parser.add_argument("--meta", metavar="CSV", default=None,
                        help="folder input: metadata table article_id,date,source "
                             "(default: analyze.meta in params.yaml when it exists)")
    parser.add_argument("--no-meta", action="store_true", help="ignore any metadata table (header lines only)")
    add_path_argument(parser, "--model", "model", "model file", aliases=("-m",), metavar="PATH")
    add_trust_argument(parser)
    add_path_argument(parser, "--params", "params", "params file; built-in defaults without one", if_exists=True,
                      metavar="FILE")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar on stderr (default: only when stderr is a terminal)")
    parser.add_argument("--labels", metavar="CSV", default=None,
                        help="hand labels that replace the model's label of the same sentence "
                             "(default: analyze.labels in params.yaml when it exists)")
    parser.add_argument("--no-labels", action="store_true", help="use the model's label for every sentence")
    parser.add_argument("--share-errors", metavar="JSON", default=None,
                        help="out-of-fold errors the intervals include (default: analyze.share_errors, "
                             "written by stance evaluate)")
    sel = parser.add_argument_group("selection (every output)")
    sel.add_argument("--actor", metavar="NAME", default=None,
                     help="only sentences attributed to this actor (alone or jointly)")
    sel.add_argument("--from", dest="date_from", metavar="DATE", default=None,
                     help="only articles dated on or after DATE (YYYY, YYYY-MM or YYYY-MM-DD)")
    sel.add_argument("--to", dest="date_to", metavar="DATE", default=None,
                     help="only articles dated on or before DATE (inclusive at DATE's precision)")
    sel.add_argument("--source", metavar="NAME", default=None, help="only articles of this source")
    sel.add_argument("--target", metavar="NAME", default=None,
                     help="only articles about this target regime (metadata column target)")
    parser.add_argument("--evaluate-actors", metavar="GOLD_CSV", default=None,
                        help="instead of analysing: accuracy of the actor rule on hand labels "
                             "(sentence_id, actor) over the --input folder (default: data/raw)")
    parser.add_argument("--json", action="store_true", help="with --evaluate-actors: print JSON")
    parser.add_argument("--strict", action="store_true",
                        help="an input file without articles (empty JSONL, header-only CSV, 0-row Parquet) "
                             "is an error (exit 2) instead of a warning")


def run_analyze(args: argparse.Namespace) -> int:
    """Run ``stance analyze``; errors raise :class:`StanceError` (one line, exit 2)."""
    if args.evaluate_actors:

        result = evaluate_actors(args.evaluate_actors, args.input or PATHS["raw"], args.params)
        if args.json:
            import json

            print(json.dumps(result, indent=2, ensure_ascii=False))
            return 0
        print(f"actor rule on {result['gold']}: {result['correct']} of {result['n']} correct, "
              f"accuracy {result['accuracy']:.3f} (95% Wilson [{result['accuracy_low']:.3f}, "
              f"{result['accuracy_high']:.3f}])")
        print(f"  names every gold actor (joint predictions may name more): {result['covered']} of "
              f"{result['n']}, {result['coverage']:.3f}")
        h = result["halves"]
        print(f"  even sentence_id half (used to revise the rule): {h['even']['correct']} of {h['even']['n']}, "
              f"{h['even']['accuracy']:.3f}; odd half (held out): {h['odd']['correct']} of {h['odd']['n']}, "
              f"{h['odd']['accuracy']:.3f}")
        if result["missing"]:
            print(f"  {len(result['missing'])} gold sentence(s) not found in the corpus: "
                  f"{', '.join(result['missing'][:5])}")
        for actor, row in result["per_actor"].items():
            wrong = {p: k for p, k in result["confusion"][actor].items() if p != actor}
            detail = ", ".join(f"{p} {k}" for p, k in sorted(wrong.items(), key=lambda kv: -kv[1]))
            print(f"  {actor:<15} {row['correct']:>3}/{row['gold']:<3} recall {row['recall']:.2f}"
                  + (f"   (missed as: {detail})" if detail else ""))
        return 0
    if not args.input or not args.out:
        raise StanceError("give --input ARTICLES and --out DIR")
    if args.engine != "spark" and args.master:
        raise StanceError("--master is for --engine spark")
    meta: Any = True
    if args.no_meta:
        meta = None
    elif args.meta:
        meta = args.meta
    labels: Any = None if args.no_labels else (args.labels or True)
    empty = empty_input(args.input)
    if empty and args.strict:
        raise StanceError(f"{args.input}: no articles ({empty}); nothing analysed (--strict)")
    if empty:
        log.warning("warning: %s: no articles (%s); the outputs are empty", args.input, empty)
    selection = Selection(args.actor, args.date_from, args.date_to, args.source, args.target)
    summary = analyze(args.input, args.out, engine=args.engine, period=args.period, jobs=args.jobs,
                      master=args.master, model=args.model, meta=meta, params=args.params, progress=args.progress,
                      trust_model=args.trust_model, labels=labels, share_errors=args.share_errors or True,
                      selection=selection)
    lines = summary_text(summary).splitlines()
    log.info("%s", lines[0])
    for line in lines[1:]:
        log.info("%s", line, extra={"plain": True})
    return 0
