"""Streaming input and output of ``stance predict`` (private: use :mod:`pipeline.predict.api`).

Readers turn a text, CSV or JSONL file (or stdin) into *chunks* ``(texts, lines, extras)``: a
list of n strings, their n 1-based input line numbers and either None or n tuples of leading
output columns. :class:`Formatter` writes scored chunks as JSONL (``json``), CSV (``csv``) or an
aligned table; :func:`stream` scores chunks in order, optionally in a pool of worker processes,
with a tqdm progress line on stderr. Standard library only at import time.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pipeline.core.config import StanceError
from pipeline.core.data import SURROGATE_ESCAPE, atomic_open, has_surrogate, spreadsheet_safe
from pipeline.model.explain import format_contributions
from pipeline.model.scorer import Scorer

#: Output formats of the CLI and :func:`predict_file`.
FORMATS = ("jsonl", "csv", "table")
#: Input formats; ``auto`` picks by file extension (.csv, .jsonl/.ndjson/.json, else text).
INPUT_FORMATS = ("auto", "text", "csv", "jsonl")
#: Rows scored per ``predict_proba`` call (and per task sent to a worker process).
DEFAULT_CHUNK_SIZE = 5000
#: Error message of a row whose text is empty or whitespace only.
EMPTY_TEXT = "empty text"
#: Default longest text scored, in characters (``predict.max_chars``, ``--max-chars``).
DEFAULT_MAX_CHARS = 100_000
#: Error message of a JSON text holding an unpaired surrogate escape such as ``"\\ud800"``.
LONE_SURROGATE = "text holds a lone surrogate escape (\\ud800-\\udfff), not Unicode text"
#: Characters of an over-long text kept in its error record.
OVERLONG_SHOWN = 80
_PIECE = 1 << 16  # bytes read at a time while skipping the rest of an over-long line


def too_long(max_chars: int) -> str:
    """Error message of a text over the limit."""
    return f"text longer than {max_chars} characters (max_chars)"


class Overlong(str):
    """Stands in for a text over the length limit: its first characters (possibly none), with
    the error message of its record in :attr:`error`. Never scored."""

    def __new__(cls, shown: str, error: str):
        obj = super().__new__(cls, shown)
        obj.error = error
        return obj

    def __reduce__(self):  # picklable for the worker processes
        return (Overlong, (str(self), self.error))


class _Cut:
    """The first bytes (:attr:`head`) of an input line too long to read whole."""

    __slots__ = ("head",)

    def __init__(self, head: bytes) -> None:
        self.head = head


def overlong(text: str, max_chars: int) -> Overlong:
    """The stand-in of the over-long *text* (only its first characters are kept)."""
    return Overlong(text[:OVERLONG_SHOWN] + "\u2026", too_long(max_chars))

_SUFFIX_INPUT = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
_SUFFIX_OUTPUT = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


# --------------------------------------------------------------------------- input
#
# A *chunk* is ``(texts, lines, extras)``: a list of n strings, their n 1-based input line
# numbers (a list or range) and either None or n tuples of leading output columns.


def _decode_error(name: str, lineno: int, raw: bytes, exc: UnicodeDecodeError) -> StanceError:
    return StanceError(
        f"{name} line {lineno}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
        "save the file as UTF-8"
    )


class Input:
    """An input file (or stdin) read as chunks; counts the bytes read for the progress line."""

    def __init__(self, in_path: str | os.PathLike, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        self.max_chars = max_chars
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
            yield self._cap([t for _, t in block]), [n for n, _ in block], None

    def _raw_lines(self, limit: int) -> Iterator[bytes | _Cut]:
        """Raw lines of at most *limit* bytes; for a longer line, a :class:`_Cut` holding its
        first bytes, after skipping the rest in bounded pieces. Never holds a whole long line."""
        readline = self.fh.readline
        while True:
            raw = readline(limit)
            if not raw:
                return
            self.nbytes += len(raw)
            if len(raw) < limit or raw.endswith(b"\n"):
                yield raw
                continue
            cut = _Cut(raw[: 4 * OVERLONG_SHOWN])
            while raw and not raw.endswith(b"\n"):
                raw = readline(_PIECE)
                self.nbytes += len(raw)
            yield cut

    def _text_chunks(self, size: int) -> Iterator[tuple]:
        """Plain text: one row per line; decoded a block at a time (fast path). A line longer
        than ``max_chars`` (in bytes: 4 per character at most, plus the line end) is never read
        whole: it becomes an :class:`Overlong` stand-in."""
        from itertools import islice

        lines = self._raw_lines(4 * self.max_chars + 3)
        lineno = 0
        while True:
            raw = list(islice(lines, size))
            if not raw:
                return
            cut = {i: self._cut_text(r) for i, r in enumerate(raw) if isinstance(r, _Cut)}
            if cut:
                raw = [b"\n" if isinstance(r, _Cut) else r for r in raw]
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
            for i, shown in cut.items():
                parts[i] = shown
            yield self._cap(parts), range(lineno + 1, lineno + 1 + len(parts)), None
            lineno += len(raw)

    def _cut_text(self, cut: _Cut) -> Overlong:
        return overlong(cut.head.decode("utf-8", "replace").lstrip("\ufeff"), self.max_chars)

    def _cap(self, texts: list[str]) -> list[str]:
        """*texts* with every text over ``max_chars`` replaced by its :class:`Overlong` stand-in."""
        m = self.max_chars
        return [overlong(t, m) if len(t) > m and not isinstance(t, Overlong) else t for t in texts]

    def _lines(self, keepends: bool) -> Iterator[str]:
        """Decoded lines, one at a time; ``self.lineno`` is the number of the last one.

        A line too long to hold a text of ``max_chars`` characters (8 bytes per character, the
        worst case of JSON escapes or CSV quote doubling, plus 64 KiB for other fields) is not
        read whole: it yields an :class:`Overlong` stand-in (JSONL) or stops the run (CSV, where
        a record may span lines)."""
        self.lineno = 0
        limit = 8 * self.max_chars + _PIECE
        for raw in self._raw_lines(limit):
            self.lineno += 1
            if isinstance(raw, _Cut):
                message = f"line longer than {limit} bytes (max_chars {self.max_chars})"
                if keepends:
                    raise StanceError(f"{self.name} line {self.lineno}: {message}; a CSV record this long "
                                      f"cannot be skipped safely")
                yield Overlong("", message)
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _decode_error(self.name, self.lineno, raw, exc) from None
            if self.lineno == 1 and line.startswith("\ufeff"):
                line = line[1:]
            if not keepends:
                line = line.rstrip("\r\n")
            yield line


def _records_jsonl(lines: Iterator[str], src: Input) -> Iterator[tuple[int, str]]:
    name = src.name
    loads = json.loads
    for line in lines:
        if isinstance(line, Overlong):
            yield src.lineno, line
            continue
        if not line.strip():
            continue  # blank lines between JSON objects carry no row
        n = src.lineno
        try:
            obj = loads(line)
        except ValueError as exc:
            msg = getattr(exc, "msg", str(exc))
            raise StanceError(f"{name} line {n}: invalid JSON ({msg})") from None
        except RecursionError:
            raise StanceError(f"{name} line {n}: JSON nested too deeply to read") from None
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
        elif SURROGATE_ESCAPE.search(line) and has_surrogate(text):
            shown = text.encode("utf-8", "backslashreplace").decode("utf-8")[:OVERLONG_SHOWN]
            text = Overlong(shown, LONE_SURROGATE)
        yield n, text


def _records_csv(lines: Iterator[str], src: Input) -> Iterator[tuple[int, str]]:
    import csv

    from pipeline.core.data import check_header, csv_records

    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a sentence may be megabytes long
    name = src.name
    records = csv_records(lines, name)
    first = next(records, None)
    if first is None:
        raise StanceError(f"{name}: empty CSV file, expected a header row with a 'text' column")
    cols = [h.strip() for h in first[1]]
    if "text" not in cols:
        shown = ", ".join(repr(c) for c in cols[:10])
        raise StanceError(f"{name} line 1: no 'text' column in the CSV header (columns: {shown})")
    check_header(name, cols)
    idx = cols.index("text")
    for n, row in records:
        if not row:
            continue  # blank line
        if len(row) <= idx:
            raise StanceError(
                f"{name} line {n}: row has {len(row)} field(s), no value for the "
                f"'text' column (column {idx + 1})"
            )
        yield n, row[idx]


_READERS = {"jsonl": _records_jsonl, "csv": _records_csv}


def resolve_input_format(in_path: str | os.PathLike, input_format: str | None) -> str:
    fmt = input_format or "auto"
    if fmt not in INPUT_FORMATS:
        raise StanceError(f"unknown input format {fmt!r}; choose one of {', '.join(INPUT_FORMATS)}")
    if fmt == "auto":
        fmt = "text" if str(in_path) == "-" else _SUFFIX_INPUT.get(Path(in_path).suffix.lower(), "text")
    return fmt


# --------------------------------------------------------------------------- output

def clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "\u2026"


def table_width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


class Formatter:
    """Turns scored chunks into output text: JSONL (json), CSV (csv) or an aligned table.

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
    explain : int
        Contributions listed per scored row (0: none): JSONL ``"explain": [{"feature",
        "contribution"}]``, a CSV column ``explain`` (``feature +0.83, ...``), an indented
        ``why:`` line under each table row.
    """

    def __init__(self, classes: list[str], fmt: str, width: int | None = None,
                 extra: tuple[str, ...] = (), explain: int = 0) -> None:
        if fmt not in FORMATS:
            raise StanceError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
        self.classes = list(classes)
        self.fmt = fmt
        self.extra = tuple(extra)
        self.explain = int(explain)
        self.width = width or 100
        self._ew = [max(len(e), 4) for e in self.extra]
        self._lw = max([5] + [len(c) for c in self.classes])
        self._sw = [max(6, len(c)) for c in self.classes]

    def header(self) -> str:
        """Text written once before the rows (CSV header, table header, nothing for JSONL)."""
        if self.fmt == "csv":
            return _csv_text([[*self.extra, "text", "label", *(f"score_{c}" for c in self.classes),
                               *(["explain"] if self.explain else []), "error"]])
        if self.fmt == "table":
            return self._table_line(list(self.extra), "label", list(self.classes), "text")
        return ""

    def format(self, chunk: tuple, bad, labels: list[str], scores, explanations=None) -> str:
        """Format a chunk; rows whose index is in *bad* (index -> error message) become error
        records, the others take the next of *labels* / *scores* (rounded probabilities,
        :attr:`classes` order) and, with :attr:`explain`, of *explanations*."""
        texts, lines, extras = chunk
        rows = _rows(scores) if len(labels) else []
        out: list = []
        k = 0
        for i, text in enumerate(texts):
            ex = tuple(extras[i]) if extras is not None else ()
            if i in bad:
                out.append(self._error(lines[i], ex, str(text), bad[i]))
            else:
                why = explanations[k] if self.explain and explanations is not None else None
                out.append(self._scored(ex, text, labels[k], rows[k], why))
                k += 1
        return _csv_text(out) if self.fmt == "csv" else "".join(out)

    def _scored(self, ex: tuple, text: str, label: str, row: list[float], why=None):
        if self.fmt == "jsonl":
            rec = {**dict(zip(self.extra, ex)), "text": text, "label": label, "scores": dict(zip(self.classes, row))}
            if self.explain:
                rec["explain"] = why or []
            return json.dumps(rec, ensure_ascii=False) + "\n"
        if self.fmt == "csv":
            return [*ex, text, label, *row, *([format_contributions(why or [])] if self.explain else []), ""]
        line = self._table_line(list(ex), label, [f"{s:.4f}" for s in row], text)
        if self.explain:
            why_text = format_contributions(why or []) or "(no feature pushed towards the label)"
            line += "    " + clip(f"why: {why_text}", max(self.width - 4, 10)) + "\n"
        return line

    def _error(self, line: int, ex: tuple, text: str, error: str = EMPTY_TEXT):
        if self.fmt == "jsonl":
            rec = {"line": line, **dict(zip(self.extra, ex)), "text": text, "error": error}
            return json.dumps(rec, ensure_ascii=False) + "\n"
        if self.fmt == "csv":
            return [*ex, text, "", *([""] * len(self.classes)), *([""] if self.explain else []), error]
        return self._table_line(list(ex), "ERROR", [""] * len(self.classes), f"line {line}: {error}")

    def _table_line(self, extras: list, label: str, scores: list, text: str) -> str:
        cells = [f"{str(e):>{w}}" for e, w in zip(extras, self._ew)]
        cells.append(f"{label:<{self._lw}}")
        cells.extend(f"{s:>{w}}" for s, w in zip(scores, self._sw))
        prefix = "  ".join(cells) + "  "
        return prefix + clip(text, max(self.width - len(prefix), 10)) + "\n"


def _csv_text(rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([[spreadsheet_safe(v) for v in row] for row in rows])
    return buf.getvalue()


def _columns(scores) -> list[list[float]]:
    """Columns of an (n, k) array or list of rows, as lists of Python floats."""
    import numpy as np

    return np.asarray(scores, dtype=float).reshape(len(scores), -1).T.tolist()


def _rows(scores) -> list[list[float]]:
    """Rows of an (n, k) array or list of rows, as lists of Python floats (never numpy scalars)."""
    import numpy as np

    return np.asarray(scores, dtype=float).reshape(len(scores), -1).tolist()


def _score_chunk(scorer: Scorer, formatter: Formatter, chunk: tuple) -> tuple[str, int, int]:
    """Score one chunk and format it. Returns ``(output text, n_scored, n_errors)``."""
    texts = chunk[0]
    bad_idx = [i for i, t in enumerate(texts) if not t or t.isspace() or isinstance(t, Overlong)]
    if bad_idx:
        bad = {i: getattr(texts[i], "error", EMPTY_TEXT) for i in bad_idx}
        good = [t for i, t in enumerate(texts) if i not in bad]
    else:
        bad, good = {}, texts
    labels: list[str] = []
    scores: Any = []
    explanations = None
    if good:
        import numpy as np

        labels, proba = scorer.score(good)
        scores = np.round(proba, 4)
        if formatter.explain:
            explanations = scorer.explain(good, labels, formatter.explain)
    return formatter.format(chunk, bad, labels, scores, explanations), len(good), len(bad_idx)


# worker-process state (set by _worker_init, once per worker)
_WORKER: tuple[Scorer, Formatter] | None = None


def _worker_init(model, formatter: Formatter) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    global _WORKER
    _WORKER = (Scorer(model), formatter)


def _worker_run(chunk):
    assert _WORKER is not None, "worker not initialised"
    return _score_chunk(_WORKER[0], _WORKER[1], chunk)


def _make_pool(jobs: int, model, formatter: Formatter):
    import multiprocessing as mp

    # fork (Linux) hands the already loaded model to the workers without copying it; elsewhere
    # the pool initializer receives it pickled, once per worker.
    method = "fork" if sys.platform.startswith("linux") and "fork" in mp.get_all_start_methods() else None
    return mp.get_context(method).Pool(jobs, initializer=_worker_init, initargs=(model, formatter))


class Progress:
    """A tqdm progress line on stderr (bytes read, rows and rows/s); silent until *delay* seconds pass."""

    def __init__(self, total_bytes: int | None, enabled: bool, delay: float, interval: float) -> None:
        self.bar = None
        if not enabled:
            return
        from tqdm import tqdm  # installed with dvc; imported only when a progress line is wanted

        fmt = "{desc}: {percentage:3.0f}% [{bar:30}] {postfix}" if total_bytes else "{desc}: {postfix}"
        self.bar = tqdm(total=total_bytes or None, file=sys.stderr, desc="stance predict", bar_format=fmt,
                        delay=delay, mininterval=interval, miniters=1, ascii=" #", leave=True)

    def update(self, rows: int, nbytes: int) -> None:
        if self.bar is None:
            return
        elapsed = self.bar.format_dict["elapsed"]
        rate = rows / elapsed if elapsed > 0 else 0.0
        self.bar.set_postfix_str(f"{rows:,} rows  {rate:,.0f} rows/s", refresh=False)
        self.bar.update(max(nbytes - self.bar.n, 0))

    def close(self, rows: int, nbytes: int) -> None:
        if self.bar is None:
            return
        self.update(rows, nbytes)
        self.bar.close()


def progress_for(progress: bool | None, total: int | None, delay: float, interval: float) -> Progress:
    """A :class:`Progress`; *progress* None means "only when stderr is a terminal"."""
    if progress is None:
        isatty = getattr(sys.stderr, "isatty", None)
        progress = bool(isatty and isatty())
    return Progress(total, bool(progress), delay, interval)


def stream(scorer: Scorer, formatter: Formatter, chunks: Iterator[tuple], out: IO[str], *,
            jobs: int = 1, progress: Progress | None = None, position=None) -> dict[str, int]:
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


class Output:
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


def refuse_same_file(in_path: str | os.PathLike | None, out_path: str | os.PathLike | None) -> None:
    """Raise :class:`StanceError` when *out_path* is the input file itself (also through a symlink
    or a hard link): the atomic rename would replace the input with the predictions."""
    if in_path is None or out_path is None or "-" in (str(in_path), str(out_path)):
        return
    try:
        same = os.path.samefile(in_path, out_path)
    except OSError:  # one of them does not exist (yet)
        return
    if same:
        raise StanceError(f"output file {out_path} is the input file {in_path}; "
                          "choose another --output (the input is left untouched)")


def resolve_output_format(fmt: str | None, out_path: str | os.PathLike | None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise StanceError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
        return fmt
    if out_path is not None and str(out_path) != "-":
        return _SUFFIX_OUTPUT.get(Path(out_path).suffix.lower(), "jsonl")
    return "jsonl"
