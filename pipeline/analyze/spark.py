"""The Spark engine of ``stance analyze`` (PySpark; optional extra ``pip install -e ".[spark]"``).

Private module beside :mod:`pipeline.analyze.stage`.

- The input is validated on the driver with the same streaming readers as the local
  engine (so bad rows give the same one-line errors), then read as a Spark DataFrame:
  Parquet, JSONL and CSV files with Spark's own readers; a folder as a DataFrame of file
  paths (each executor reads its files, so on a cluster the folder must be on storage all
  workers see).
- Scoring runs in ``mapInPandas``: the model is pickled once on the driver and
  broadcast, each Python worker unpickles it once and then calls
  :func:`pipeline.analyze.stage.score_batch`, the local engine's unit of work.
- The aggregates (per period and source, per actor and period) are Spark ``groupBy``
  jobs; the driver turns the collected counts into the same tables, with the same code,
  as the local engine. Sentences come back to the driver in input order and are written
  to one ``sentences.parquet`` file.

A local master (``local[*]``, ``local[2]``) binds the driver to 127.0.0.1 and the Spark UI
is off. A cluster master (``spark://host:7077``, ``yarn``) keeps Spark's network defaults,
since the executors must reach the driver.
"""

from __future__ import annotations

import os
import pickle
import sys
import uuid
import warnings
from typing import Any

from pipeline.analyze.batches import STAT_COLUMNS, Context, score_batch
from pipeline.analyze.io import SENTENCE_COLUMNS, Article, check_date, iter_articles, norm_source
from pipeline.core.config import StanceError
from pipeline.core.data import LABELS, write_text_atomic

__all__ = ["run_spark", "spark_log", "spark_session"]

#: Rows sent back to the driver per write of sentences.parquet.
_WRITE_ROWS = 20000

_STAT_INTS = ("sentences", *LABELS, "hand", "n_model", *(f"h_{lab}" for lab in LABELS))
_STAT_FLOATS = tuple(f"p_{lab}" for lab in LABELS)
#: One schema for the three kinds of rows: sentences ('s'), articles ('a'), articles x actors ('c';
#: ``position`` is then the row's rank within its article).
_OUT_SCHEMA = (
    "kind string, order long, article_id string, sentence_id string, date string, period string, "
    "source string, target string, title string, url string, position int, text string, label string, "
    "label_source string, model_label string, score_support double, score_oppose double, "
    "score_neutral double, explain string, actors array<string>, actor string, "
    + ", ".join(f"{c} int" for c in _STAT_INTS) + ", " + ", ".join(f"{c} double" for c in _STAT_FLOATS)
)

_CACHE: dict[int, Any] = {}


#: Spark's own log (errors, with their Java and Python stacks) goes to a file, not stderr:
#: ``stance analyze`` keeps stderr to its one line and names this file (:func:`spark_log`).
_LOG4J = """\
rootLogger.level = error
rootLogger.appenderRef.file.ref = file
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:stance.spark.log}
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{ISO8601} %p %c{1}: %m%n%ex
"""


def spark_log() -> str:
    """The file Spark logs to from this process (its JVM's errors, with their stacks)."""
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"stance-spark-{os.getpid()}.log")


def _log4j_config() -> str:
    """A log4j2 file that keeps Spark's console quiet (errors only); written once to the temp dir."""
    import hashlib
    import tempfile

    digest = hashlib.sha1(_LOG4J.encode()).hexdigest()[:8]
    path = os.path.join(tempfile.gettempdir(), f"stance-log4j2-{digest}.properties")
    if not os.path.exists(path):

        write_text_atomic(path, _LOG4J)
    return path


def spark_session(master: str | None = None):
    """Return ``(session, created)``: the active SparkSession, or a new one for *master*.

    *master* None means ``local[*]``, except under ``spark-submit`` (which sets
    ``PYSPARK_GATEWAY_PORT``), where the master given to spark-submit is used.
    """
    # PySpark 4 warns that pandas >= 3 is "not fully supported"; the engines' outputs are
    # compared in the tests instead (tests/test_analyze_spark.py)
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise StanceError('--engine spark needs PySpark: pip install -e ".[spark]" (and Java 17 or later)') from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    submitted = master is None and "PYSPARK_GATEWAY_PORT" in os.environ
    if master is None:
        master = "" if submitted else "local[*]"
    builder = SparkSession.builder
    if not submitted:
        builder = builder.master(master)
    builder = (builder.appName("stance-analyze")
               .config("spark.driver.extraJavaOptions",
                       f"-Dlog4j2.configurationFile=file:{_log4j_config()} -Dstance.spark.log={spark_log()}")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.sql.shuffle.partitions", "16")
               .config("spark.sql.session.timeZone", "UTC")
               # a busy machine must not fail a job on a late heartbeat (Spark's defaults: 120 s / 10 s)
               .config("spark.network.timeout", "600s")
               .config("spark.executor.heartbeatInterval", "60s"))
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (builder.config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1"))
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - Java missing, port trouble, bad master URL
        msg = " ".join(str(exc).split())[:200]
        raise StanceError(f"cannot start Spark (master {master or 'from spark-submit'}): {msg}; "
                          "PySpark 4 needs Java 17 or later") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark, True


def _context(bc_id: int, bc, ctx_args):
    """The worker's scoring context, built once per Python worker from the broadcast model."""
    ctx = _CACHE.get(bc_id)
    if ctx is None:

        ctx = Context(pickle.loads(bc.value), *ctx_args)
        _CACHE.clear()
        _CACHE[bc_id] = ctx
    return ctx


def _partition(batches, bc_id, bc, ctx_args, batch_size):
    """mapInPandas body: articles (pandas) -> sentence rows ('s'), article rows ('a'), actor rows ('c')."""
    import pandas as pd

    ctx = _context(bc_id, bc, ctx_args)
    for frame in batches:
        recs = frame.to_dict("records")
        for start in range(0, len(recs), batch_size):
            chunk = recs[start:start + batch_size]
            arts = []
            for r in chunk:
                r = {k: _value(v) for k, v in r.items()}
                where = r["path"] or f"row {r['order']}"
                arts.append(Article(int(r["order"]), str(r["article_id"]).strip(),
                                    check_date(r["date"], where), norm_source(r["source"]),
                                    text=r["text"], path=r["path"], target=r["target"] or "",
                                    title=r["title"] or "", url=r["url"] or ""))
            cols, rows, actor_rows = score_batch(arts, ctx)
            order = {a.article_id: a.order for a in arts}
            n = len(cols["article_id"])
            s = pd.DataFrame({
                "kind": ["s"] * n,
                "order": [order[a] for a in cols["article_id"]],
                **{c: cols[c] for c in SENTENCE_COLUMNS},
            }) if n else None
            a = pd.DataFrame({
                "kind": ["a"] * len(rows),
                "order": [order[r["article_id"]] for r in rows],
                **{c: [r[c] for r in rows] for c in ("article_id", "date", "period", "source", "target", "title",
                                                      "url", *STAT_COLUMNS)},
            })
            rank: dict[str, int] = {}
            ranks = []
            for r in actor_rows:
                rank[r["article_id"]] = rank.get(r["article_id"], -1) + 1
                ranks.append(rank[r["article_id"]])
            c = pd.DataFrame({
                "kind": ["c"] * len(actor_rows),
                "order": [order[r["article_id"]] for r in actor_rows],
                "position": ranks,
                **{k: [r[k] for r in actor_rows] for k in ("article_id", "period", "actor", *STAT_COLUMNS)},
            })
            for part in (s, a, c):
                if part is not None and len(part):
                    yield _conform(part)


def _value(v):
    """None for the missing values pandas puts in an object column (None, NaN, NA)."""
    if v is None or (isinstance(v, float) and v != v):
        return None
    try:
        import pandas as pd

        if v is pd.NA:
            return None
    except ImportError:  # pragma: no cover
        pass
    return v


_COLS = [c.split()[0] for c in _OUT_SCHEMA.split(", ")]
_INTS = {"position", *_STAT_INTS}
_FLOATS = {"score_support", "score_oppose", "score_neutral", *_STAT_FLOATS}


def _conform(frame):
    """All output columns, in schema order, with nullable dtypes."""
    import pandas as pd

    for c in _COLS:
        if c not in frame.columns:
            frame[c] = pd.Series([None] * len(frame), dtype=("Int64" if c in _INTS else
                                                             "float64" if c in _FLOATS else "object"))
    frame["order"] = frame["order"].astype("int64")
    for c in _INTS:
        frame[c] = frame[c].astype("Int64")
    return frame[_COLS]


def _articles_frame(spark, input_path, kind: str, table):
    """The input as a Spark DataFrame ``order, article_id, text, path, date, source`` (strings)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if kind == "dir":
        rows = [(a.order, a.article_id, None, a.path, a.date, a.source, a.target, a.title, a.url)
                for a in iter_articles(input_path, table)]
        schema = T.StructType([T.StructField("order", T.LongType()), T.StructField("article_id", T.StringType()),
                               T.StructField("text", T.StringType()), T.StructField("path", T.StringType()),
                               T.StructField("date", T.StringType()), T.StructField("source", T.StringType()),
                               *(T.StructField(c, T.StringType()) for c in ("target", "title", "url"))])
        n = max(1, min(len(rows), spark.sparkContext.defaultParallelism * 4))
        return spark.createDataFrame(rows, schema).repartition(n)
    # validate every row on the driver first (same readers and messages as the local engine)
    for _ in iter_articles(input_path):
        pass
    path = str(input_path)
    if kind == "parquet":
        df = spark.read.parquet(path)
    elif kind == "jsonl":
        names = ("article_id", "text", "date", "source", "target", "title", "url")
        df = spark.read.schema(T.StructType([T.StructField(c, T.StringType()) for c in names])).json(path)
    else:
        df = (spark.read.option("header", True).option("multiLine", True).option("escape", '"')
              .option("encoding", "UTF-8").csv(path))
    fields = {f.name: f.dataType for f in df.schema.fields}
    date = F.lit(None).cast("string")
    if "date" in fields:
        if isinstance(fields["date"], T.TimestampType):
            # a zoned timestamp (an instant): its UTC day, whatever the session's time zone
            # (the local engine's rule: pipeline.analyze.io.timestamp_day)
            date = F.expr("cast(date_from_unix_date(cast(floor(unix_micros(`date`) / 86400000000) as int)) "
                          "as string)")
        elif isinstance(fields["date"], T.TimestampNTZType):  # no zone: the day as written
            date = F.to_date(F.col("date")).cast("string")
        else:
            date = F.col("date").cast("string")
    def text_col(name):
        return F.col(name).cast("string") if name in fields else F.lit(None).cast("string")

    df = df.select(F.monotonically_increasing_id().alias("order"),
                   F.col("article_id").cast("string").alias("article_id"),
                   F.col("text").cast("string").alias("text"), F.lit(None).cast("string").alias("path"),
                   date.alias("date"), *(text_col(c).alias(c) for c in ("source", "target", "title", "url")))
    n = spark.sparkContext.defaultParallelism * 4
    return df.repartition(n) if df.rdd.getNumPartitions() < n else df


def run_spark(input_path, kind, table, ctx_args, master, tally, writers, batch_size: int = 32) -> None:
    """Run the analysis on Spark, filling *tally* (:class:`pipeline.analyze.tables.Tally`) and *writers*.

    *ctx_args* are those of :class:`pipeline.analyze.batches.Context` (the model first: it is
    broadcast once, pickled). Rows come back to the driver in input order, so the tables are
    computed from the same records, in the same order, as with the local engine.
    """
    from pyspark.sql import functions as F

    model, rest = ctx_args[0], tuple(ctx_args[1:])
    spark, created = spark_session(master)
    sc = spark.sparkContext
    bc = sc.broadcast(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    token = uuid.uuid4().int
    out = None
    try:
        df = _articles_frame(spark, input_path, kind, table)
        args = (token, bc, rest, batch_size)
        out = df.mapInPandas(lambda it: _partition(it, *args), schema=_OUT_SCHEMA).persist()

        actor_keys = ("article_id", "period", "actor", *STAT_COLUMNS)
        actor_rows = [{k: r[k] for k in actor_keys}
                      for r in out.filter(F.col("kind") == "c").orderBy("order", "position")
                      .select(*actor_keys).toLocalIterator()]
        art_keys = ("article_id", "date", "period", "source", "target", "title", "url", *STAT_COLUMNS)
        batch: list[dict] = []
        for r in out.filter(F.col("kind") == "a").orderBy("order").select(*art_keys).toLocalIterator():
            batch.append({k: r[k] if r[k] is not None or k in STAT_COLUMNS else "" for k in art_keys})
            if len(batch) >= _WRITE_ROWS:
                tally.add(batch, [])
                batch = []
        tally.add(batch, actor_rows)

        buf: dict[str, list] = {c: [] for c in SENTENCE_COLUMNS}
        for r in out.filter(F.col("kind") == "s").orderBy("order", "position").select(
                *SENTENCE_COLUMNS).toLocalIterator():
            for c in SENTENCE_COLUMNS:
                buf[c].append(list(r[c]) if c == "actors" else r[c])
            if len(buf["article_id"]) >= _WRITE_ROWS:
                for w in writers:
                    w.write(buf)
                buf = {c: [] for c in SENTENCE_COLUMNS}
        for w in writers:
            w.write(buf)
    except BaseException as exc:
        if type(exc).__name__ in ("PythonException", "Py4JJavaError", "AnalysisException"):
            raise StanceError(_spark_message(exc)) from None
        raise
    finally:
        if out is not None:
            out.unpersist()
        bc.destroy()
        if created:
            spark.stop()


def _spark_message(exc: BaseException) -> str:
    """One line from a Spark error: the StanceError text when a worker raised one (else the
    error's first line), and where Spark's log with the whole stack is."""
    text = str(exc)
    where = f" (Spark's log: {spark_log()})"
    for line in text.splitlines():
        if "StanceError:" in line:
            return line.split("StanceError:", 1)[1].strip() + where
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    return "Spark job failed: " + first[:300] + where
