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
from pipeline.analyze.actors import NONE
from pipeline.analyze.batches import Context, batches, score_batch
from pipeline.analyze.io import (
    Article,
    CsvWriter,
    SentenceWriter,
    input_kind,
    iter_articles,
)
from pipeline.analyze.plots import plot_actors, plot_trends
from pipeline.analyze.settings import issuer_map, load_settings, meta_table
from pipeline.analyze.spark import run_spark
from pipeline.analyze.stats import PERIODS, UNDATED, share_columns
from pipeline.core.config import PATHS, StanceError, add_path_argument, jobs_count, repo_root
from pipeline.core.data import LABELS, output_set, write_csv_atomic
from pipeline.model.files import add_trust_argument, load_model
from pipeline.split.io import list_articles

__all__ = [
    "ENGINES",
    "OUTPUTS",
    "Counts",
    "analyze",
]

log = logging.getLogger("stance")

ENGINES = ("local", "spark")
#: Files written into the output folder.
OUTPUTS = ("sentences.parquet", "articles.csv", "trends.csv", "trends.png", "actors.csv", "actors.png")
COUNT_COLUMNS = ("sentences",) + LABELS
SHARE_COLUMNS = tuple(f"share_{lab}" for lab in LABELS) + tuple(
    f"{lab}_{end}" for lab in LABELS for end in ("low", "high"))
ARTICLE_COLUMNS = ("article_id", "date", "source") + COUNT_COLUMNS + tuple(f"share_{lab}" for lab in LABELS)
TREND_COLUMNS = ("period", "source", "articles") + COUNT_COLUMNS + SHARE_COLUMNS
ACTOR_COLUMNS = ("actor", "period") + COUNT_COLUMNS + SHARE_COLUMNS


# --------------------------------------------------------------------------- params


# --------------------------------------------------------------------------- per batch


# --------------------------------------------------------------------------- counting

class Counts:
    """Running totals: per (period, source), per (actor, period), and over all articles.

    Article rows go to *sink* (the articles.csv writer) as they come; only counts stay in
    memory, so memory does not grow with the corpus (beyond the first undated ids).
    """

    def __init__(self, sink=None) -> None:
        self.trends: dict[tuple[str, str], list[int]] = {}
        self.actors: dict[tuple[str, str], list[int]] = {}
        self.sink = sink
        self.n_articles = 0
        self.n_sentences = 0
        self.labels = {lab: 0 for lab in LABELS}
        self.n_undated = 0
        self.undated_ids: list[str] = []

    def add(self, cols: dict[str, list], rows: list[dict]) -> None:
        """Local engine: count one :func:`score_batch` result."""
        for row in rows:
            key = (row["period"], row["source"])
            t = self.trends.setdefault(key, [0, 0, 0, 0, 0])
            t[0] += 1
            t[1] += row["sentences"]
            for j, lab in enumerate(LABELS):
                t[2 + j] += row[lab]
        index = {lab: j for j, lab in enumerate(LABELS)}
        for actor, period, label in zip(cols["actor"], cols["period"], cols["label"]):
            a = self.actors.setdefault((actor, period), [0, 0, 0, 0])
            a[0] += 1
            a[1 + index[label]] += 1
        self.add_articles(rows)

    def add_articles(self, rows: list[dict]) -> None:
        """Article rows in input order: to the sink, and into the totals of the summary."""
        for row in rows:
            self.n_articles += 1
            self.n_sentences += row["sentences"]
            for lab in LABELS:
                self.labels[lab] += row[lab]
            if row["period"] == UNDATED:
                self.n_undated += 1
                if len(self.undated_ids) < 10:
                    self.undated_ids.append(row["article_id"])
        if self.sink is not None:
            self.sink.write(article_rows(rows))


def _period_key(period: str) -> tuple:
    return (period == UNDATED, period)


def trend_rows(counts: Counts, ci: float) -> list[dict]:
    """``trends.csv`` rows, sorted by period (undated last) and source."""
    out = []
    for (period, source), t in sorted(counts.trends.items(), key=lambda kv: (_period_key(kv[0][0]), kv[0][1])):
        row = {"period": period, "source": source, "articles": t[0], "sentences": t[1]}
        row.update(dict(zip(LABELS, t[2:])))
        out.append(share_columns(row, ci))
    return out


def actor_rows(counts: Counts, ci: float, names: list[str]) -> list[dict]:
    """``actors.csv`` rows: actors in params order (then others, ``none`` last), periods in order."""

    order = {n: i for i, n in enumerate(names)}
    def key(kv):
        actor, period = kv[0]
        return (actor == NONE, order.get(actor, len(order)), actor, _period_key(period))
    out = []
    for (actor, period), a in sorted(counts.actors.items(), key=key):
        row = {"actor": actor, "period": period, "sentences": a[0]}
        row.update(dict(zip(LABELS, a[1:])))
        out.append(share_columns(row, ci))
    return out


def article_rows(rows: list[dict]) -> list[dict]:
    """``articles.csv`` rows (:data:`ARTICLE_COLUMNS`) from :func:`score_batch` article rows."""
    out = []
    for r in rows:
        row = {c: r[c] for c in ("article_id", "date", "source", "sentences", *LABELS)}
        n = row["sentences"]
        for lab in LABELS:
            row[f"share_{lab}"] = round(row[lab] / n, 4) if n else 0.0
        out.append(row)
    return out


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


def _init_worker(model, split_params, actors, period, parent: int) -> None:
    global _WORKER
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    _WORKER = Context(model, split_params, actors, period)


def _work(batch: list[Article]):
    assert _WORKER is not None
    return score_batch(batch, _WORKER)


def _run_local(articles: Iterator[Article], jobs: int, batch_size: int, model, split_params,
               actors, period) -> Iterator[tuple[dict, list]]:
    """Yield ``score_batch`` results in input order; at most ``2 * jobs`` batches in flight.

    No more workers than batches (the first *jobs* batches are read before any is started);
    each worker dies with this process."""
    work = batches(articles, batch_size)
    head = list(itertools.islice(work, max(1, jobs)))
    jobs = min(jobs, len(head))
    if jobs <= 1:
        ctx = Context(model, split_params, actors, period)
        for batch in itertools.chain(head, work):
            yield score_batch(batch, ctx)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(jobs, initializer=_init_worker,
                             initargs=(model, split_params, actors, period, os.getpid())) as pool:
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


# --------------------------------------------------------------------------- API

def analyze(input_path: str | os.PathLike, out_dir: str | os.PathLike, *, engine: str = "local",
            period: str | None = None, jobs: int | None = None, master: str | None = None,
            model: Any = None, meta: str | os.PathLike | None | bool = True,
            params: str | os.PathLike | None = None, progress: bool | None = None,
            batch_articles: int | None = None, trust_model: bool = False) -> dict[str, Any]:
    """Analyse a corpus and write :data:`OUTPUTS` into *out_dir*.

    Parameters
    ----------
    input_path : str or path-like
        A folder of ``*.txt`` articles (article id = file stem; optional ``# date:`` and
        ``# source:`` header lines), or one ``.jsonl``/``.csv``/``.parquet`` file with
        columns ``article_id``, ``text`` and optional ``date`` (ISO ``YYYY-MM-DD``) and
        ``source``.
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
        Folder inputs: the metadata table (``article_id, date, source``). True: the
        ``analyze.meta`` file of params.yaml when it exists. None/False: none. Table values
        win over header lines.
    params : path, optional
        params.yaml (default: the project's; defaults when there is none).
    progress : bool, optional
        Local engine: a progress bar on stderr (default: when stderr is a terminal).

    Returns
    -------
    dict
        ``articles``, ``undated`` (articles in the period ``undated``: no date, or a year-only
        date with a month or quarter period), ``undated_ids`` (the first 10),
        ``sentences``, ``counts`` (per label), ``periods``, ``sources``, ``engine``, ``out``.

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
    kind = input_kind(input_path)
    table = meta_table(meta, ap) if kind == "dir" else None
    if model is None or isinstance(model, (str, os.PathLike)):
        model_obj = load_model(model, trust=trust_model)     # the project's trust rule
    else:
        model_obj = model
    out = Path(out_dir)
    _check_out_folder(out, input_path, kind)
    names = [a["name"] for a in ap.actors]
    who = (list(ap.actors), issuer_map(ap))
    with output_set(out, OUTPUTS) as new:  # all outputs replaced as one set, or none
        articles_csv = CsvWriter(new / "articles.csv", ARTICLE_COLUMNS)
        counts = Counts(articles_csv)
        writer = SentenceWriter(new / "sentences.parquet")
        try:
            if engine == "spark":
                run_spark(input_path, kind, table, model_obj, split_params, who, period, master, counts, writer,
                          batch_size=batch_size)
            else:
                _analyze_local(input_path, table, model_obj, split_params, who, period, jobs, batch_size,
                               counts, writer, progress)
        except BaseException:
            writer.abort()
            articles_csv.abort()
            raise
        trends, actors = _write_outputs(new, counts, articles_csv, writer, ap.ci, period, names)
    return {
        "engine": engine,
        "out": str(out),
        "articles": counts.n_articles,
        "undated": counts.n_undated,
        "undated_ids": list(counts.undated_ids),
        "sentences": counts.n_sentences,
        "counts": dict(counts.labels),
        "periods": sorted({t["period"] for t in trends if t["period"] != UNDATED}),
        "sources": sorted({t["source"] for t in trends}),
        "actors": {n: sum(r["sentences"] for r in actors if r["actor"] == n) for n in names},
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


def _write_outputs(out: Path, counts: Counts, articles_csv, writer, ci: float, period: str, names: list[str]):
    """Tables and plots from *counts*; every file atomic; returns the trend and actor rows."""

    trends = trend_rows(counts, ci)
    actors = actor_rows(counts, ci, names)
    try:
        articles_csv.commit()
        _write_table(out / "trends.csv", trends, TREND_COLUMNS)
        _write_table(out / "actors.csv", actors, ACTOR_COLUMNS)
        plot_trends(trends, out / "trends.png", period)
        plot_actors(actors, out / "actors.png", period, names)
        writer.commit()
    except BaseException:
        writer.abort()
        articles_csv.abort()
        raise
    return trends, actors


def _analyze_local(input_path, table, model_obj, split_params, actors, period, jobs, batch_size,
                   counts: Counts, writer: SentenceWriter, progress) -> None:
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
        for cols, rows in _run_local(iter_articles(input_path, table), jobs, batch_size, model_obj,
                                     split_params, actors, period):
            writer.write(cols)
            counts.add(cols, rows)
            if bar is not None:
                bar.update(len(rows))
    finally:
        if bar is not None:
            bar.close()


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
    parser.add_argument("--evaluate-actors", metavar="GOLD_CSV", default=None,
                        help="instead of analysing: accuracy of the actor rule on hand labels "
                             "(sentence_id, actor) over the --input folder (default: data/raw)")
    parser.add_argument("--json", action="store_true", help="with --evaluate-actors: print JSON")


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
    summary = analyze(args.input, args.out, engine=args.engine, period=args.period, jobs=args.jobs,
                      master=args.master, model=args.model, meta=meta, params=args.params, progress=args.progress,
                      trust_model=args.trust_model)
    lines = summary_text(summary).splitlines()
    log.info("%s", lines[0])
    for line in lines[1:]:
        log.info("%s", line, extra={"plain": True})
    return 0
