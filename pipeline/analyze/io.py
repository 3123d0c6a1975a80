"""Input of ``stance analyze``: articles from a folder or a JSONL/CSV/Parquet file, with dates.

Private module beside :mod:`pipeline.analyze.stage`. Every reader streams (one article at a
time) and stops at the first bad row with a :class:`StanceError` naming the file, the row
and the value. Both engines validate through these functions.
"""

from __future__ import annotations

import csv
import datetime as _dt
import logging
import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from pipeline.core.config import StanceError
from pipeline.core.data import atomic_open, check_header, csv_records, load_json, spreadsheet_safe
from pipeline.split.io import check_raw_file, list_articles

__all__ = ["FILE_FORMATS", "SENTENCE_COLUMNS", "Article", "ArticleMeta", "CsvWriter", "SentenceCsvWriter",
           "SentenceWriter", "check_date", "check_target", "input_kind", "iter_articles", "norm_source",
           "read_meta_table", "timestamp_day"]

log = logging.getLogger("stance")

#: File extensions read as one table of articles.
FILE_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
META_COLUMNS = ("article_id", "date", "source", "target", "title", "url")
#: Optional columns of a file input besides article_id and text.
ROW_COLUMNS = ("date", "source", "target", "title", "url")

_DATE = re.compile(r"^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?$")  # ASCII digits only
#: A target regime's name: ``north_korea``, ``iran``, ``general`` (ASCII lower case, digits, ``_``).
_TARGET = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class Article:
    """One article to analyse: its text (file inputs) or its path (folder inputs)."""

    order: int
    article_id: str
    date: str = ""
    source: str = ""
    text: str | None = None
    path: str | None = None
    where: str = ""
    target: str = ""
    title: str = ""
    url: str = ""


class ArticleMeta(NamedTuple):
    """One row of the metadata table of a folder input."""

    date: str = ""
    source: str = ""
    target: str = ""
    title: str = ""
    url: str = ""


def _plain(value: Any) -> str:
    """A metadata string: missing values empty, spaces collapsed."""
    return "" if _missing(value) else " ".join(str(value).split())


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip())


def check_target(value: Any, where: str) -> str:
    """Validate a target regime name (``north_korea``, ``iran``, ...); ``""`` when *value* is missing.

    Raises :class:`StanceError` ``"<where>: target '...' is not a regime name ..."``.
    """
    if _missing(value):
        return ""
    text = str(value).strip()
    if not _TARGET.match(text):
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise StanceError(f"{where}: target {shown!r} is not a regime name "
                          f"(ASCII lower-case letters, digits and '_', e.g. north_korea)")
    return text


def check_date(value: Any, where: str) -> str:
    """Validate a date: ISO ``YYYY-MM-DD`` (or ``YYYY-MM`` / ``YYYY`` when only the month or year is known).

    Digits must be ASCII (``٢٠١٧`` is refused: it would become a period of its own beside
    ``2017``). Returns the date as a string, or ``""`` when *value* is missing (None, NaN, blank).
    A ``datetime.date`` (Parquet date columns) becomes its ISO day. A timestamp (Parquet
    timestamp columns, ``datetime`` or ``pandas.Timestamp``) follows :func:`timestamp_day`: a
    timestamp with a time zone gives its day in UTC, one without gives the day as written; the
    Spark engine applies the same rule. Raises :class:`StanceError`
    ``"<where>: date '...' is not an ISO date (YYYY-MM-DD)"``.
    """
    if _missing(value):
        return ""
    if isinstance(value, _dt.datetime) or (hasattr(value, "tzinfo") and hasattr(value, "year")):
        return timestamp_day(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = str(value).strip()
    m = _DATE.match(text)
    ok = False
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2) or 1), m.group(3)
        try:
            _dt.date(y, mo, int(d) if d else 1)
            ok = y >= 1000
        except ValueError:
            ok = False
    if not ok:
        raise StanceError(f"{where}: date {text[:40]!r} is not an ISO date (YYYY-MM-DD, or YYYY-MM, YYYY)")
    return text


def timestamp_day(value: Any) -> str:
    """The ISO day of a timestamp: its day in UTC when it carries a time zone (a Parquet
    timestamp adjusted to UTC, whatever zone its writer named), else the day as written.

    UTC because a zoned Parquet timestamp stores an instant in UTC: the zone name is writer
    metadata that Spark does not read, so "the day in its own zone" cannot be computed by
    both engines, while the UTC day can."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        value = value.astimezone(_dt.UTC)
    return _dt.date(value.year, value.month, value.day).isoformat()


def norm_source(value: Any) -> str:
    """An outlet name: the value stripped; a URL becomes its host without ``www.``."""
    if _missing(value):
        return ""
    text = " ".join(str(value).split())
    m = re.match(r"^[a-z][a-z0-9+.-]*://([^/?#:]+)", text, re.IGNORECASE)
    if m:
        host = m.group(1).lower()
        return host[4:] if host.startswith("www.") else host
    return text


def _article_id(value: Any, where: str) -> str:
    if _missing(value):
        raise StanceError(f"{where}: empty article_id")
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise StanceError(f"{where}: article_id must be a string, got {type(value).__name__} {value!r:.40}")
    return str(value).strip()


def _text(value: Any, where: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise StanceError(f"{where}: no text")
    if not isinstance(value, str):
        raise StanceError(f"{where}: text must be a string, got {type(value).__name__} {value!r:.40}")
    if not value.strip():
        raise StanceError(f"{where}: empty text")
    return value


def input_kind(path: str | Path) -> str:
    """``dir``, ``jsonl``, ``csv`` or ``parquet``; :class:`StanceError` for anything else."""
    p = Path(path)
    if p.is_dir():
        return "dir"
    if not p.exists():
        raise StanceError(f"{p}: input not found (give a folder of .txt articles or a .jsonl/.csv/.parquet file)")
    kind = FILE_FORMATS.get(p.suffix.lower())
    if kind is None:
        raise StanceError(f"{p}: unknown input type {p.suffix!r}; expected a folder of .txt articles "
                          "or a .jsonl, .csv or .parquet file")
    return kind


# --------------------------------------------------------------------------- metadata table

def _csv_header(records, p: Path, empty: str, required: tuple[str, ...]) -> list[str]:
    """The header row of a CSV (spaces and a BOM stripped); StanceError when the file is empty
    (``f"{p}: empty {empty}"``), a column is named twice or a required column is missing."""
    first = next(records, None)
    if first is None:
        raise StanceError(f"{p}: empty {empty}")
    cols = [h.strip().lstrip("\ufeff") for h in first[1]]
    check_header(p, cols)
    for col in required:
        if col not in cols:
            raise StanceError(f"{p} line 1: no '{col}' column (columns: {', '.join(cols[:10])})")
    return cols


def read_meta_table(path: str | Path) -> dict[str, ArticleMeta]:
    """Read a metadata table ``article_id, date, source[, target, title, url]`` (CSV; other columns ignored).

    Returns ``{article_id: ArticleMeta}``. Raises :class:`StanceError` naming the file
    and line for missing columns, a bad date, an empty or repeated article_id, or bad CSV.
    """
    p = Path(path)
    try:
        fh = open(p, encoding="utf-8", newline="")
    except FileNotFoundError:
        raise StanceError(f"{p}: metadata table not found") from None
    out: dict[str, ArticleMeta] = {}
    with fh:
        records = csv_records(fh, p)
        try:
            cols = _csv_header(records, p, "metadata table, expected columns article_id, date, source",
                               ("article_id",))
            idx = {c: cols.index(c) for c in META_COLUMNS if c in cols}
            first_line: dict[str, int] = {}
            for n, row in records:
                if not row or not any(x.strip() for x in row):
                    continue
                where = f"{p} line {n}"
                if len(row) < len(cols):
                    raise StanceError(f"{where}: {len(row)} fields, expected {len(cols)}")
                aid = _article_id(row[idx["article_id"]], where)
                if aid in first_line:
                    raise StanceError(f"{where}: article_id {aid!r} repeated (first on line {first_line[aid]})")
                first_line[aid] = n
                date = check_date(row[idx["date"]], where) if "date" in idx else ""
                source = norm_source(row[idx["source"]]) if "source" in idx else ""
                target = check_target(row[idx["target"]], where) if "target" in idx else ""
                out[aid] = ArticleMeta(date, source, target, *(_plain(row[idx[c]]) if c in idx else ""
                                                               for c in ("title", "url")))
        except UnicodeDecodeError as exc:
            raise StanceError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    return out


# --------------------------------------------------------------------------- articles

def iter_articles(path: str | Path, meta: dict[str, ArticleMeta] | None = None) -> Iterator[Article]:
    """Yield the articles of *path* in input order (folder: file-name order).

    For a folder, each :class:`Article` carries the file path; the date and source come
    from *meta* (the metadata table) when it has them, otherwise from the file's
    ``# date:`` / ``# source:`` header lines (read by the worker that splits the file).
    For a file, rows carry ``article_id``, ``text`` and optional ``date``, ``source``,
    ``target``, ``title``, ``url``.
    """
    kind = input_kind(path)
    if kind == "dir":

        for i, f in enumerate(list_articles(path)):
            check_raw_file(f)  # as split does: no symbolic link to a file outside the folder
            m = (meta or {}).get(f.stem, ArticleMeta())
            yield Article(i, f.stem, m.date, m.source, path=str(f), where=str(f), target=m.target, title=m.title,
                          url=m.url)
        return
    seen: dict[str, int] = {}
    today = _dt.date.today().isoformat()
    future = False
    for i, (n, rec, where) in enumerate(_READERS[kind](Path(path))):
        aid = _article_id(rec.get("article_id"), where)
        if aid in seen:
            raise StanceError(f"{where}: article_id {aid!r} repeated (first on row {seen[aid]})")
        seen[aid] = n
        text = _text(rec.get("text"), where)
        date = check_date(rec.get("date"), where)
        if not future and date and date[:len(today)] > today[:len(date)]:
            future = True
            log.warning("warning: %s: date %s is in the future (a typo?); it is kept (only the first such date "
                        "is reported)", where, date)
        source = norm_source(rec.get("source"))
        yield Article(i, aid, date, source, text=text, where=where, target=check_target(rec.get("target"), where),
                      title=_plain(rec.get("title")), url=_plain(rec.get("url")))


def _jsonl_rows(p: Path) -> Iterator[tuple[int, dict, str]]:
    with open(p, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            where = f"{p} line {n}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise StanceError(f"{where}: not valid UTF-8 (byte 0x{raw[exc.start]:02x})") from None
            if not line.strip():
                continue
            obj = load_json(line, where)
            if not isinstance(obj, dict):
                raise StanceError(f"{where}: expected a JSON object, got {type(obj).__name__}")
            _need(obj, where)
            yield n, obj, where


def _need(rec: dict, where: str) -> None:
    for col in ("article_id", "text"):
        if col not in rec:
            raise StanceError(f"{where}: no '{col}' (fields: {', '.join(map(str, list(rec)[:10])) or 'none'})")


def _csv_rows(p: Path) -> Iterator[tuple[int, dict, str]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with open(p, encoding="utf-8", newline="") as fh:
        records = csv_records(fh, p)
        try:
            cols = _csv_header(records, p, "CSV file, expected columns article_id, text", ("article_id", "text"))
            for n, row in records:
                if not row:
                    continue
                where = f"{p} line {n}"
                if len(row) != len(cols):
                    raise StanceError(f"{where}: {len(row)} fields, expected {len(cols)}")
                yield n, dict(zip(cols, row)), where
        except UnicodeDecodeError as exc:
            raise StanceError(f"{p}: not UTF-8 text (byte {exc.start})") from None


def _parquet_rows(p: Path) -> Iterator[tuple[int, dict, str]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(p)
    except Exception as exc:  # noqa: BLE001 - any reader failure means a bad file
        raise StanceError(f"{p}: not a readable Parquet file ({' '.join(str(exc).split())[:120]})") from None
    names = pf.schema_arrow.names
    for col in ("article_id", "text"):
        if col not in names:
            raise StanceError(f"{p}: no '{col}' column (columns: {', '.join(names[:10])})")
    cols = [c for c in ("article_id", "text", *ROW_COLUMNS) if c in names]
    n = 0
    for batch in pf.iter_batches(batch_size=256, columns=cols):
        for rec in batch.to_pylist():
            n += 1
            yield n, rec, f"{p} row {n}"


_READERS = {"jsonl": _jsonl_rows, "csv": _csv_rows, "parquet": _parquet_rows}


# --------------------------------------------------------------------------- outputs

#: Columns of sentences.parquet, in order.
SENTENCE_COLUMNS = ("article_id", "sentence_id", "date", "period", "source", "target", "position", "text", "label",
                    "label_source", "model_label", "score_support", "score_oppose", "score_neutral", "explain",
                    "actors")


class SentenceWriter:
    """sentences.parquet, written batch by batch through :func:`pipeline.core.data.atomic_open`
    (a temporary file renamed over the target on :meth:`commit`, removed on :meth:`abort`)."""

    def __init__(self, path: Path) -> None:
        import pyarrow as pa

        self.path = path
        self.schema = pa.schema([
            ("article_id", pa.string()), ("sentence_id", pa.string()), ("date", pa.string()),
            ("period", pa.string()), ("source", pa.string()), ("target", pa.string()), ("position", pa.int32()),
            ("text", pa.string()), ("label", pa.string()), ("label_source", pa.string()),
            ("model_label", pa.string()), ("score_support", pa.float64()),
            ("score_oppose", pa.float64()), ("score_neutral", pa.float64()), ("explain", pa.string()),
            ("actors", pa.list_(pa.string())),
        ])
        self._cm = atomic_open(path, "wb")
        self.fh = self._cm.__enter__()
        self.writer = None
        self.rows = 0

    def write(self, cols: dict[str, list]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not cols["article_id"]:
            return
        table = pa.Table.from_pydict({c: cols[c] for c in SENTENCE_COLUMNS}, schema=self.schema)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.fh, self.schema, compression="zstd")
        self.writer.write_table(table)
        self.rows += table.num_rows

    def commit(self) -> None:
        import pyarrow.parquet as pq

        if self.writer is None:
            pq.write_table(self.schema.empty_table(), self.fh, compression="zstd")
        else:
            self.writer.close()
        self._cm.__exit__(None, None, None)

    def abort(self) -> None:
        try:
            if self.writer is not None:
                self.writer.close()
        except Exception:  # noqa: BLE001 - cleaning up after another error
            pass
        _discard(self._cm)


class SentenceCsvWriter:
    """sentences.csv: the rows of sentences.parquet for spreadsheet users (actors joined by ``"; "``,
    every text cell through :func:`pipeline.core.data.spreadsheet_safe`), written atomically like :class:`CsvWriter`."""

    def __init__(self, path: Path) -> None:
        self._csv = CsvWriter(path, SENTENCE_COLUMNS)

    def write(self, cols: dict[str, list]) -> None:
        n = len(cols["article_id"])
        out = []
        for i in range(n):
            row = {}
            for c in SENTENCE_COLUMNS:
                v = cols[c][i]
                if c == "actors":
                    v = "; ".join(v)
                elif isinstance(v, float):
                    v = repr(round(v, 6))
                row[c] = v
            out.append(row)
        self._csv.write(out)

    def commit(self) -> None:
        self._csv.commit()

    def abort(self) -> None:
        self._csv.abort()


class CsvWriter:
    """A CSV written row batch by row batch through :func:`pipeline.core.data.atomic_open`."""

    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:

        self.path = path
        self.columns = columns
        self._cm = atomic_open(path, "w")
        self.fh = self._cm.__enter__()
        self.writer = csv.writer(self.fh, lineterminator="\n")
        self.writer.writerow(columns)

    def write(self, rows: list[dict]) -> None:
        self.writer.writerows([[spreadsheet_safe(r[c]) for c in self.columns] for r in rows])

    def commit(self) -> None:
        self._cm.__exit__(None, None, None)

    def abort(self) -> None:
        _discard(self._cm)


def _discard(cm) -> None:
    """End an open :func:`atomic_open` block as failed: the temporary file is removed, the target kept."""
    try:
        cm.__exit__(RuntimeError, RuntimeError("aborted"), None)
    except RuntimeError:
        pass
