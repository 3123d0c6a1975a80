"""Predict: label new sentences, files or whole articles with the saved model.

Python API
----------
>>> from pipeline.predict import load_model, predict
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

Speed: this module imports only the standard library and :mod:`pipeline.config` at
module level. scikit-learn and joblib are imported when the model is loaded; this module
imports pandas only in :func:`predict` (the CLI works without pandas installed, although
scikit-learn imports it when it is); mlflow and dvc are never imported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from pipeline import LABELS
from pipeline.config import PATHS, StanceError, atomic_open, repo_root
from pipeline.model import add_trust_argument

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

#: Output formats of the CLI and :func:`predict_file`.
FORMATS = ("jsonl", "csv", "table")
#: Input formats; ``auto`` picks by file extension (.csv, .jsonl/.ndjson/.json, else text).
INPUT_FORMATS = ("auto", "text", "csv", "jsonl")
#: Rows scored per ``predict_proba`` call (and per task sent to a worker process).
DEFAULT_CHUNK_SIZE = 5000
#: Error message of a row whose text is empty or whitespace only.
EMPTY_TEXT = "empty text"

_SUFFIX_INPUT = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
_SUFFIX_OUTPUT = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


# --------------------------------------------------------------------------- model

def load_model(path: str | os.PathLike | None = None, *, trust: bool = False):
    """Load a model file and check that it can score text (see :func:`pipeline.model.load_model`).

    Parameters
    ----------
    path : str or path-like, optional
        Model file (``.joblib`` or ``.skops``). Default: ``models/model.joblib`` under the project root.
    trust : bool
        Unpickle a joblib file even when training did not record its sha256 (``--trust-model``).

    Returns
    -------
    model : estimator
        A fitted scikit-learn estimator (normally a Pipeline) taking an iterable of
        strings, with ``predict_proba`` and ``classes_``.

    Raises
    ------
    StanceError
        The file is missing (the message says to run ``dvc repro``), unreadable, untrusted,
        corrupt, or holds something that is not a fitted classifier.
    """
    from pipeline.model import load_model as load

    return load(path, trust=trust)


def _as_model(model: Any):
    """Accept a loaded model or a path to one."""
    if isinstance(model, (str, os.PathLike)):
        return load_model(model)
    from pipeline.model import check_model

    check_model(model, probe=False)
    return model


def model_classes(model) -> list[str]:
    """Class names in output order: ``support, oppose, neutral`` (those the model has), then any others.

    Parameters
    ----------
    model : fitted classifier with ``classes_``

    Returns
    -------
    list of str
    """
    names = [str(c) for c in model.classes_]
    return [c for c in LABELS if c in names] + [c for c in names if c not in LABELS]


class _Scorer:
    """Scores lists of strings: labels (argmax of the probabilities) and per-class scores."""

    def __init__(self, model) -> None:
        self.model = model
        names = [str(c) for c in model.classes_]
        self.classes = model_classes(model)
        self.columns = [names.index(c) for c in self.classes]
        self.names = names

    def score(self, texts: list[str]):
        """Return ``(labels, proba)``: a list of n labels and an (n, k) float array in :attr:`classes` order."""
        proba = self.model.predict_proba(texts)
        best = proba.argmax(axis=1).tolist()
        names = self.names
        return [names[i] for i in best], proba[:, self.columns]


# --------------------------------------------------------------------------- Python API

def predict(model, texts: Iterable[str]):
    """Label sentences.

    Parameters
    ----------
    model : fitted classifier, str or path-like
        A model from :func:`load_model`, or a path to a model file.
    texts : str or iterable of str, length n
        Sentences. A pandas Series keeps its index.

    Returns
    -------
    pandas.DataFrame, shape (n, 2 + k)
        Columns ``text``, ``label`` and one ``score_<class>`` column per class of the
        model (``score_support, score_oppose, score_neutral`` for the project's model),
        probabilities as floats (not rounded). ``label`` is the class with the highest score.

    Raises
    ------
    StanceError
        A text is not a string, or is empty/whitespace only (its index is named).
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
    scorer = _Scorer(model)
    if texts:
        labels, proba = scorer.score(texts)
    else:
        import numpy as np

        labels, proba = [], np.zeros((0, len(scorer.classes)))
    data: dict[str, Any] = {"text": texts, "label": labels}
    for j, c in enumerate(scorer.classes):
        data[f"score_{c}"] = proba[:, j]
    return pd.DataFrame(data, index=index)


# --------------------------------------------------------------------------- input
#
# A *chunk* is ``(texts, lines, extras)``: a list of n strings, their n 1-based input line
# numbers (a list or range) and either None or n tuples of leading output columns.


def _decode_error(name: str, lineno: int, raw: bytes, exc: UnicodeDecodeError) -> StanceError:
    return StanceError(
        f"{name} line {lineno}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
        "save the file as UTF-8"
    )


class _Input:
    """An input file (or stdin) read as chunks; counts the bytes read for the progress line."""

    def __init__(self, in_path: str | os.PathLike) -> None:
        self.nbytes = 0
        self.size: int | None = None
        self._close = False
        if str(in_path) == "-":
            self.fh: IO[bytes] = sys.stdin.buffer
            self.name = "<stdin>"
            return
        p = Path(in_path)
        try:
            self.fh = open(p, "rb")
        except FileNotFoundError:
            raise StanceError(f"input file {p} not found") from None
        except IsADirectoryError:
            raise StanceError(f"input file {p} is a directory") from None
        except OSError as exc:
            raise StanceError(f"input file {p}: cannot read it ({exc.strerror or exc})") from None
        self._close = True
        self.name = str(p)
        try:
            self.size = os.fstat(self.fh.fileno()).st_size
        except OSError:
            self.size = None

    def close(self) -> None:
        if self._close:
            self.fh.close()

    def chunks(self, fmt: str, size: int) -> Iterator[tuple]:
        """Yield chunks of at most *size* rows read as *fmt* (text, csv or jsonl)."""
        if fmt == "text":
            yield from self._text_chunks(size)
            return
        from itertools import islice

        records = _READERS[fmt](self._lines(keepends=(fmt == "csv")), self)
        while True:
            block = list(islice(records, size))
            if not block:
                return
            yield [t for _, t in block], [n for n, _ in block], None

    def _text_chunks(self, size: int) -> Iterator[tuple]:
        """Plain text: one row per line; decoded a block at a time (fast path)."""
        from itertools import islice

        lineno = 0
        while True:
            raw = list(islice(self.fh, size))
            if not raw:
                return
            self.nbytes += sum(map(len, raw))
            try:
                text = b"".join(raw).decode("utf-8")
            except UnicodeDecodeError:
                for i, r in enumerate(raw):
                    try:
                        r.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        raise _decode_error(self.name, lineno + i + 1, r, exc) from None
                raise  # pragma: no cover - a block fails only if one of its lines does
            if lineno == 0 and text.startswith("\ufeff"):
                text = text[1:]
            parts = text.split("\n")
            if parts[-1] == "":
                parts.pop()  # the last line ended with a newline
            if "\r" in text:
                parts = [s[:-1] if s.endswith("\r") else s for s in parts]
            yield parts, range(lineno + 1, lineno + 1 + len(parts)), None
            lineno += len(raw)

    def _lines(self, keepends: bool) -> Iterator[str]:
        """Decoded lines, one at a time; ``self.lineno`` is the number of the last one."""
        self.lineno = 0
        for raw in self.fh:
            self.lineno += 1
            self.nbytes += len(raw)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _decode_error(self.name, self.lineno, raw, exc) from None
            if self.lineno == 1 and line.startswith("\ufeff"):
                line = line[1:]
            if not keepends:
                line = line.rstrip("\r\n")
            yield line


def _records_jsonl(lines: Iterator[str], src: _Input) -> Iterator[tuple[int, str]]:
    name = src.name
    loads = json.loads
    for line in lines:
        if not line.strip():
            continue  # blank lines between JSON objects carry no row
        n = src.lineno
        try:
            obj = loads(line)
        except ValueError as exc:
            msg = getattr(exc, "msg", str(exc))
            raise StanceError(f"{name} line {n}: invalid JSON ({msg})") from None
        if not isinstance(obj, dict):
            raise StanceError(f"{name} line {n}: expected a JSON object with a 'text' field, got {type(obj).__name__}")
        if "text" not in obj:
            fields = ", ".join(map(str, list(obj)[:10])) or "none"
            raise StanceError(f"{name} line {n}: no 'text' field (fields: {fields})")
        text = obj["text"]
        if text is None:
            text = ""
        elif not isinstance(text, str):
            raise StanceError(f"{name} line {n}: 'text' must be a string, got {type(text).__name__} {text!r:.60}")
        yield n, text


def _records_csv(lines: Iterator[str], src: _Input) -> Iterator[tuple[int, str]]:
    import csv

    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a sentence may be megabytes long
    name = src.name
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None:
            raise StanceError(f"{name}: empty CSV file, expected a header row with a 'text' column")
        cols = [h.strip() for h in header]
        if "text" not in cols:
            shown = ", ".join(repr(c) for c in cols[:10])
            raise StanceError(f"{name} line 1: no 'text' column in the CSV header (columns: {shown})")
        idx = cols.index("text")
        for row in reader:
            if not row:
                continue  # blank line
            if len(row) <= idx:
                raise StanceError(
                    f"{name} line {reader.line_num}: row has {len(row)} field(s), no value for the "
                    f"'text' column (column {idx + 1})"
                )
            yield reader.line_num, row[idx]
    except csv.Error as exc:
        raise StanceError(f"{name} line {reader.line_num}: malformed CSV ({exc})") from None


_READERS = {"jsonl": _records_jsonl, "csv": _records_csv}


def _input_format(in_path: str | os.PathLike, input_format: str | None) -> str:
    fmt = input_format or "auto"
    if fmt not in INPUT_FORMATS:
        raise StanceError(f"unknown input format {fmt!r}; choose one of {', '.join(INPUT_FORMATS)}")
    if fmt == "auto":
        fmt = "text" if str(in_path) == "-" else _SUFFIX_INPUT.get(Path(in_path).suffix.lower(), "text")
    return fmt


# --------------------------------------------------------------------------- output

def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "\u2026"


def _table_width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


class _Formatter:
    """Turns scored chunks into output text: JSONL, CSV or an aligned table.

    Picklable (plain attributes), so worker processes format their own chunks.

    Parameters
    ----------
    classes : list of str
        Score columns, in output order (see :func:`model_classes`).
    fmt : {"jsonl", "csv", "table"}
    width : int, optional
        Table width in characters (text is truncated to fit).
    extra : tuple of str
        Names of leading columns given per row in the chunk's ``extras``.
    """

    def __init__(self, classes: list[str], fmt: str, width: int | None = None,
                 extra: tuple[str, ...] = ()) -> None:
        if fmt not in FORMATS:
            raise StanceError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
        enc = json.encoder.encode_basestring  # the ensure_ascii=False string encoder
        self.classes = list(classes)
        self.fmt = fmt
        self.extra = tuple(extra)
        self.width = width or 100
        self._lab = {c: enc(c) for c in self.classes}
        scores = ", ".join(f"{enc(c)}: %r" for c in self.classes)
        self._tmpl = '{%s"text": %s, "label": %s, "scores": {' + scores + "}}\n"
        self._ew = [max(len(e), 4) for e in self.extra]
        self._lw = max([5] + [len(c) for c in self.classes])
        self._sw = [max(6, len(c)) for c in self.classes]

    def header(self) -> str:
        """Text written once before the rows (CSV header, table header, nothing for JSONL)."""
        if self.fmt == "csv":
            return self._csv_rows([[*self.extra, "text", "label", *(f"score_{c}" for c in self.classes), "error"]])
        if self.fmt == "table":
            return self._table_line(list(self.extra), "label", list(self.classes), "text")
        return ""

    def format(self, chunk: tuple, bad, labels: list[str], scores: list[list[float]]) -> str:
        """Format a chunk; rows whose index is in *bad* become error records, the others
        take the next of *labels* / *scores* (rounded probabilities, :attr:`classes` order)."""
        return getattr(self, f"_{self.fmt}")(chunk, bad, labels, scores)

    def _jsonl(self, chunk, bad, labels, scores) -> str:
        texts, lines, extras = chunk
        enc, lab, tmpl = json.encoder.encode_basestring, self._lab, self._tmpl
        if not bad and extras is None:  # the common case, kept tight (column-wise repr)
            keys = [f"{enc(c)}: " for c in self.classes]
            cols = [list(map(k.__add__, map(repr, col))) for k, col in zip(keys, _columns(scores))]
            inner = list(map(", ".join, zip(*cols)))
            return "".join([f'{{"text": {enc(t)}, "label": {lab[y]}, "scores": {{{s}}}}}\n'
                            for t, y, s in zip(texts, labels, inner)])
        out = []
        k = 0
        scores = _rows(scores)
        for i, t in enumerate(texts):
            head = "".join(f"{enc(e)}: {json.dumps(v, ensure_ascii=False)}, "
                           for e, v in zip(self.extra, extras[i])) if extras is not None else ""
            if i in bad:
                out.append(f'{{"line": {lines[i]}, {head}"text": {enc(t)}, "error": "{EMPTY_TEXT}"}}\n')
            else:
                out.append(tmpl % (head, enc(t), lab[labels[k]], *scores[k]))
                k += 1
        return "".join(out)

    @staticmethod
    def _csv_rows(rows) -> str:
        import csv
        import io

        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        return buf.getvalue()

    def _csv(self, chunk, bad, labels, scores) -> str:
        texts, _lines, extras = chunk
        if not bad and extras is None:
            cols = [list(map(repr, col)) for col in _columns(scores)]
            return self._csv_rows([t, y, *s, ""] for t, y, *s in zip(texts, labels, *cols))
        rows = []
        k = 0
        scores = _rows(scores)
        blank = [""] * len(self.classes)
        for i, t in enumerate(texts):
            ex = extras[i] if extras is not None else ()
            if i in bad:
                rows.append([*ex, t, "", *blank, EMPTY_TEXT])
            else:
                rows.append([*ex, t, labels[k], *map(repr, scores[k]), ""])
                k += 1
        return self._csv_rows(rows)

    def _table_line(self, extras: list, label: str, scores: list, text: str) -> str:
        cells = [f"{str(e):>{w}}" for e, w in zip(extras, self._ew)]
        cells.append(f"{label:<{self._lw}}")
        cells.extend(f"{s:>{w}}" for s, w in zip(scores, self._sw))
        prefix = "  ".join(cells) + "  "
        return prefix + _clip(text, max(self.width - len(prefix), 10)) + "\n"

    def _table(self, chunk, bad, labels, scores) -> str:
        texts, lines, extras = chunk
        out = []
        k = 0
        scores = _rows(scores)
        blank = [""] * len(self.classes)
        for i, t in enumerate(texts):
            ex = list(extras[i]) if extras is not None else []
            if i in bad:
                out.append(self._table_line(ex, "ERROR", blank, f"line {lines[i]}: {EMPTY_TEXT}"))
            else:
                out.append(self._table_line(ex, labels[k], [f"{s:.4f}" for s in scores[k]], t))
                k += 1
        return "".join(out)


def _columns(scores) -> list[list[float]]:
    """Columns of an (n, k) array or list of rows, as lists of Python floats."""
    import numpy as np

    return np.asarray(scores, dtype=float).reshape(len(scores), -1).T.tolist()


def _rows(scores) -> list[list[float]]:
    """Rows of an (n, k) array or list of rows, as lists of Python floats (never numpy scalars)."""
    import numpy as np

    return np.asarray(scores, dtype=float).reshape(len(scores), -1).tolist()


def _score_chunk(scorer: _Scorer, formatter: _Formatter, chunk: tuple) -> tuple[str, int, int]:
    """Score one chunk and format it. Returns ``(output text, n_scored, n_errors)``."""
    texts = chunk[0]
    bad_idx = [i for i, t in enumerate(texts) if not t or t.isspace()]
    if bad_idx:
        bad = set(bad_idx)
        good = [t for i, t in enumerate(texts) if i not in bad]
    else:
        bad, good = set(), texts
    labels: list[str] = []
    scores: Any = []
    if good:
        import numpy as np

        labels, proba = scorer.score(good)
        scores = np.round(proba, 4)
    return formatter.format(chunk, bad, labels, scores), len(good), len(bad_idx)


# worker-process state (set by _worker_init, once per worker)
_WORKER: tuple[_Scorer, _Formatter] | None = None


def _worker_init(model, formatter: _Formatter) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    global _WORKER
    _WORKER = (_Scorer(model), formatter)


def _worker_run(chunk):
    assert _WORKER is not None, "worker not initialised"
    return _score_chunk(_WORKER[0], _WORKER[1], chunk)


def _make_pool(jobs: int, model, formatter: _Formatter):
    import multiprocessing as mp

    # fork (Linux) hands the already loaded model to the workers without copying it; elsewhere
    # the pool initializer receives it pickled, once per worker.
    method = "fork" if sys.platform.startswith("linux") and "fork" in mp.get_all_start_methods() else None
    return mp.get_context(method).Pool(jobs, initializer=_worker_init, initargs=(model, formatter))


#: The progress line appears only after this many seconds (small inputs stay quiet) ...
PROGRESS_DELAY = 0.5
#: ... and is redrawn at most this often.
PROGRESS_INTERVAL = 0.2


class _Progress:
    """A one-line progress display on a terminal stream (plain stdlib, redrawn with ``\\r``).

    Draws nothing until *delay* seconds have passed, so small inputs stay quiet.
    """

    def __init__(self, stream: IO[str], total_bytes: int | None, enabled: bool,
                 delay: float | None = None, interval: float | None = None) -> None:
        self.stream = stream
        self.total = total_bytes
        self.enabled = enabled
        self.start = time.monotonic()
        self.delay = PROGRESS_DELAY if delay is None else delay
        self.interval = PROGRESS_INTERVAL if interval is None else interval
        self.last = 0.0
        self.drawn = False

    def update(self, rows: int, nbytes: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        elapsed = now - self.start
        if not force and (elapsed < self.delay or now - self.last < self.interval):
            return
        self.last = now
        rate = rows / elapsed if elapsed > 0 else 0.0
        if self.total:
            frac = min(nbytes / self.total, 1.0)
            bar = "#" * int(frac * 30)
            msg = f"\rstance predict: {frac:4.0%} [{bar:<30}] {rows:,} rows  {rate:,.0f} rows/s"
        else:
            msg = f"\rstance predict: {rows:,} rows  {rate:,.0f} rows/s"
        self.stream.write(msg)
        self.stream.flush()
        self.drawn = True

    def close(self, rows: int, nbytes: int) -> None:
        if self.enabled and self.drawn:
            self.update(rows, nbytes, force=True)
            self.stream.write("\n")
            self.stream.flush()


def _stream(scorer: _Scorer, formatter: _Formatter, chunks: Iterator[tuple], out: IO[str], *,
            jobs: int = 1, progress: _Progress | None = None, position=None) -> dict[str, int]:
    """Score *chunks* one by one and write them to *out*, in input order.

    With ``jobs > 1`` and more than one chunk, chunks go to a pool of *jobs* worker
    processes; at most ``2 * jobs`` chunks are in flight, so memory stays flat.
    """
    stats = {"rows": 0, "scored": 0, "errors": 0}
    position = position or (lambda: 0)

    def emit(result) -> None:
        text, n_ok, n_err = result
        out.write(text)
        stats["scored"] += n_ok
        stats["errors"] += n_err
        stats["rows"] += n_ok + n_err
        if progress is not None:
            progress.update(stats["rows"], position())

    head = formatter.header()
    if head:
        out.write(head)
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        return stats
    second = next(chunks, None) if jobs > 1 else None
    if second is None:  # one process: small input or jobs == 1
        emit(_score_chunk(scorer, formatter, first))
        for chunk in chunks:
            emit(_score_chunk(scorer, formatter, chunk))
        return stats
    from collections import deque
    from itertools import chain

    pool = _make_pool(jobs, scorer.model, formatter)
    try:
        pending: deque = deque()
        for chunk in chain((first, second), chunks):
            pending.append(pool.apply_async(_worker_run, (chunk,)))
            while len(pending) >= 2 * jobs:
                emit(pending.popleft().get())
        while pending:
            emit(pending.popleft().get())
        pool.close()
        pool.join()
    finally:
        pool.terminate()
    return stats


class _Output:
    """Context manager: stdout (for None or ``-``) or an atomically written file."""

    def __init__(self, out_path: str | os.PathLike | None) -> None:
        self.path = None if out_path is None or str(out_path) == "-" else Path(out_path)
        self._cm = None

    def __enter__(self) -> IO[str]:
        if self.path is None:
            return sys.stdout
        if self.path.is_dir():
            raise StanceError(f"output file {self.path} is a directory")
        self._cm = atomic_open(self.path, "w")
        try:
            return self._cm.__enter__()
        except OSError as exc:
            raise StanceError(f"output file {self.path}: cannot write it ({exc.strerror or exc})") from None

    def __exit__(self, *exc_info):
        if self._cm is None:
            sys.stdout.flush()
            return False
        try:
            return self._cm.__exit__(*exc_info)
        except OSError as exc:
            raise StanceError(f"output file {self.path}: cannot write it ({exc.strerror or exc})") from None


def _output_format(fmt: str | None, out_path: str | os.PathLike | None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise StanceError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
        return fmt
    if out_path is not None and str(out_path) != "-":
        return _SUFFIX_OUTPUT.get(Path(out_path).suffix.lower(), "jsonl")
    return "jsonl"


def _progress_for(progress: bool | None, total: int | None) -> _Progress:
    stream = sys.stderr
    if progress is None:
        isatty = getattr(stream, "isatty", None)
        progress = bool(isatty and isatty())
    return _Progress(stream, total, bool(progress))


def predict_file(model, in_path: str | os.PathLike, out_path: str | os.PathLike | None = None,
                 fmt: str | None = None, *, input_format: str | None = None, jobs: int = 1,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, progress: bool | None = False) -> dict[str, int]:
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

    Returns
    -------
    dict
        ``{"rows": n, "scored": n_scored, "errors": n_error_records}``.

    Output rows: JSONL ``{"text", "label", "scores": {"support", "oppose", "neutral"}}``
    (scores rounded to 4 decimals); CSV ``text,label,score_support,score_oppose,
    score_neutral,error``. A row with empty text gives an error record
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
    model = _as_model(model)
    out_fmt = _output_format(fmt, out_path)
    in_fmt = _input_format(in_path, input_format)
    scorer = _Scorer(model)
    formatter = _Formatter(scorer.classes, out_fmt, width=_table_width() if out_fmt == "table" else None)
    src = _Input(in_path)
    try:
        bar = _progress_for(progress, src.size)
        with _Output(out_path) as out:
            stats = _stream(scorer, formatter, src.chunks(in_fmt, chunk_size), out, jobs=jobs,
                            progress=bar, position=lambda: src.nbytes)
        bar.close(stats["rows"], src.nbytes)
    finally:
        src.close()
    return stats


def predict_texts(model, texts: list[str], out: IO[str], fmt: str = "jsonl") -> dict[str, int]:
    """Label *texts* and write them to the open text stream *out* (what ``stance predict "..."`` does).

    Empty texts give error records (line = 1-based position in *texts*). Returns the
    same counts as :func:`predict_file`.
    """
    model = _as_model(model)
    scorer = _Scorer(model)
    formatter = _Formatter(scorer.classes, fmt, width=_table_width() if fmt == "table" else None)
    texts = list(texts)
    return _stream(scorer, formatter, iter([(texts, range(1, len(texts) + 1), None)]), out)


# --------------------------------------------------------------------------- articles

def _split_params() -> dict[str, Any] | None:
    """The project's ``split`` parameters when a params.yaml is found, else None (splitter defaults)."""
    from pipeline.config import load_params

    p = repo_root() / PATHS["params"]
    if not p.is_file():
        return None
    params = load_params(p)
    section = params.get("split")
    return section if isinstance(section, dict) else None


def summarize_article(model, path: str | os.PathLike, top: int = 3,
                      params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Split an article with the pipeline's splitter, label each sentence and summarise.

    Parameters
    ----------
    model : fitted classifier, str or path-like
    path : str or path-like
        A UTF-8 article file (``# key: value`` header lines allowed, as in data/raw).
    top : int
        How many of the most confident sentences to list for each side.
    params : dict, optional
        The ``split`` parameters (default: the project's params.yaml when found, else
        the splitter's defaults).

    Returns
    -------
    dict
        ``article_id`` (file stem), ``n_sentences``, ``counts`` and ``shares`` (per
        class, in support/oppose/neutral order; shares rounded to 4 decimals),
        ``most_confident`` (``support`` and ``oppose``: up to *top* sentences predicted
        so, highest score first, each ``sentence_id, position, text, score``) and
        ``sentences`` (every sentence: ``sentence_id, position, text, label, scores``).
    """
    from pipeline.split import split_article

    model = _as_model(model)
    if params is None:
        params = _split_params()
    p = Path(path)
    if p.is_dir():
        raise StanceError(f"article {p} is a directory, expected a text file")
    if not p.exists():
        raise StanceError(f"article file {p} not found")
    _meta, sentences, _report = split_article(p, params)
    scorer = _Scorer(model)
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
        "sentences": rows,
    }


def _summary_text(summary: dict[str, Any], width: int = 100) -> str:
    lines = [f"\nArticle {summary['article_id']}: {summary['n_sentences']} sentences"]
    for c, k in summary["counts"].items():
        lines.append(f"  {c:<8} {k:>5}  {summary['shares'][c]:6.1%}")
    for side, items in summary["most_confident"].items():
        lines.append(f"Most confident {side}:")
        if not items:
            lines.append("  (none)")
        for it in items:
            prefix = f"  [{it['position']:>3}] {it['score']:.4f}  "
            lines.append(prefix + _clip(it["text"], max(width - len(prefix), 10)))
    return "\n".join(lines) + "\n"


def _write_article(summary: dict[str, Any], classes: list[str], fmt: str, out: IO[str]) -> None:
    if fmt == "jsonl":
        for r in summary["sentences"]:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
        head = {k: v for k, v in summary.items() if k != "sentences"}
        out.write(json.dumps({"summary": head}, ensure_ascii=False) + "\n")
        return
    width = _table_width()
    formatter = _Formatter(classes, fmt, width=width, extra=("sentence_id", "position") if fmt == "csv" else ("position",))
    rows = summary["sentences"]
    extras = [(r["sentence_id"], r["position"]) if fmt == "csv" else (r["position"],) for r in rows]
    chunk = ([r["text"] for r in rows], [r["position"] for r in rows], extras)
    out.write(formatter.header())
    out.write(formatter.format(chunk, set(), [r["label"] for r in rows],
                               [[r["scores"][c] for c in classes] for r in rows]))
    if fmt == "table":
        out.write(_summary_text(summary, width))
    else:  # CSV holds the sentences only; the summary goes to the terminal
        sys.stderr.write(_summary_text(summary, width).lstrip("\n"))


# --------------------------------------------------------------------------- CLI

def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def _jobs(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (all CPUs) or more, got {n}")
    return n


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
    out = parser.add_argument_group("output")
    out.add_argument("--output", "-o", metavar="FILE",
                     help="write here (atomically) instead of standard output")
    out.add_argument("--format", "-f", choices=FORMATS, default=None,
                     help="jsonl (default), csv, or an aligned table for the terminal; "
                          "default from the --output extension (.csv -> csv)")
    parser.add_argument("--model", "-m", metavar="PATH",
                        help=f"model file, .joblib or .skops (default: {PATHS['model']})")
    add_trust_argument(parser)
    perf = parser.add_argument_group("large inputs")
    perf.add_argument("--jobs", "-j", type=_jobs, default=1, metavar="N",
                      help="worker processes for inputs longer than one chunk (default: 1; 0: all CPUs)")
    perf.add_argument("--chunk-size", type=_positive_int, default=DEFAULT_CHUNK_SIZE, metavar="N",
                      help=f"rows scored per batch (default: {DEFAULT_CHUNK_SIZE})")
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
    for i, s in enumerate(args.sentences, 1):
        if not s.strip():
            raise StanceError(f"sentence {i} on the command line is empty; give some text")
    model = load_model(args.model, trust=args.trust_model)
    fmt = _output_format(args.format, args.output)

    if args.article is not None:
        summary = summarize_article(model, args.article, top=args.top)
        with _Output(args.output) as out:
            _write_article(summary, model_classes(model), fmt, out)
        return 0

    if args.input is not None:
        stats = predict_file(model, args.input, args.output, fmt, input_format=args.input_format,
                             jobs=args.jobs, chunk_size=args.chunk_size, progress=args.progress)
    else:
        with _Output(args.output) as out:
            stats = predict_texts(model, args.sentences, out, fmt)
    if stats["errors"]:
        print(f"stance predict: {stats['errors']} of {stats['rows']} rows not scored ({EMPTY_TEXT}); "
              "see their error records", file=sys.stderr)
    if args.output not in (None, "-"):
        print(f"stance predict: wrote {stats['rows']} rows to {args.output}", file=sys.stderr)
    return 0
