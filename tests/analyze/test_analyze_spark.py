"""`stance analyze --engine spark` (PySpark in local[2] mode, loopback only) against the local engine.

Few tests on purpose: Spark's start-up takes seconds. One Spark session serves the module.
Skipped when PySpark or Java is missing (`pip install -e ".[spark]"`; Java 17+).
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from analyzekit import make_params, read_bytes, write_csv, write_dir, write_jsonl

pytest.importorskip("pyspark")
if shutil.which("java") is None and not __import__("os").environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java 17 or later", allow_module_level=True)

from pipeline.analyze.stage import analyze  # noqa: E402
from pipeline.cli import main  # noqa: E402

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark():
    from pipeline.analyze.spark import spark_session

    session, created = spark_session("local[2]")
    assert session.sparkContext.getConf().get("spark.driver.host") == "127.0.0.1"
    assert session.sparkContext.getConf().get("spark.ui.enabled") == "false"
    yield session
    if created:
        session.stop()


@pytest.fixture
def setup(tmp_path, monkeypatch, tiny_model_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    return tmp_path, tiny_model_path, make_params(tmp_path / "params.yaml")


def _labels_and_errors(tmp):
    """A hand label for one sentence of the corpus and a share-error file."""
    labels = tmp / "labels.csv"
    labels.write_text("sentence_id,label,text\n,oppose,Moscow vetoed the draft that would have extended the "
                      "sanctions.\n", encoding="utf-8")
    errors = tmp / "errors.json"
    cov = [[0.09, 0, 0], [0, 0.09, 0], [0, 0, 0.36]]
    errors.write_text(json.dumps({"labels": ["support", "oppose", "neutral"], "folds": [
        {"sentences": 50, "mean_residual": [0.05, -0.05, 0.0], "covariance": cov},
        {"sentences": 50, "mean_residual": [-0.05, 0.05, 0.0], "covariance": cov}]}), encoding="utf-8")
    return labels, errors


def test_both_engines_identical_on_a_folder(spark, setup):
    tmp, model, params = setup
    corpus = write_dir(tmp / "corpus")
    meta = tmp / "meta.csv"
    meta.write_text("article_id,date,source,target\na3,2017-07-01,Paper Weekly,iran\na1,2016-03-02,Wire,"
                    "north_korea\n", encoding="utf-8")
    labels, errors = _labels_and_errors(tmp)
    for period in ("month",):
        a = analyze(corpus, tmp / f"local_{period}", model=model, params=params, period=period, meta=meta,
                    labels=labels, share_errors=errors)
        b = analyze(corpus, tmp / f"spark_{period}", model=model, params=params, period=period, meta=meta,
                    engine="spark", master="local[2]", labels=labels, share_errors=errors)
        assert a["hand"] == b["hand"] == 1 and a["interval"] == "articles+model"
        assert a["sentences"] == b["sentences"] > 0 and a["undated"] == b["undated"] == 1
        assert read_bytes(tmp / f"local_{period}") == read_bytes(tmp / f"spark_{period}"), period
        pd.testing.assert_frame_equal(pd.read_parquet(tmp / f"local_{period}/sentences.parquet"),
                                      pd.read_parquet(tmp / f"spark_{period}/sentences.parquet"))
        assert (tmp / f"spark_{period}/trends.png").read_bytes()[:4] == b"\x89PNG"


def test_both_engines_identical_on_jsonl_and_csv(spark, setup):
    tmp, model, params = setup
    for name, writer in (("in.jsonl", write_jsonl), ("in.csv", write_csv)):
        src = writer(tmp / name)
        analyze(src, tmp / "local", model=model, params=params)
        analyze(src, tmp / "spark", model=model, params=params, engine="spark")
        assert read_bytes(tmp / "local") == read_bytes(tmp / "spark"), name


def test_both_engines_apply_the_same_selection(spark, setup):
    tmp, model, params = setup
    corpus = write_dir(tmp / "corpus")
    labels, errors = _labels_and_errors(tmp)
    for args in (("--actor", "Russia"), ("--from", "2016-06", "--to", "2017"), ("--source", "Wire")):
        for engine in ("local", "spark"):
            rc = main(["analyze", "--input", str(corpus), "--out", str(tmp / engine), "--engine", engine,
                       "--model", str(model), "--params", str(params), "--labels", str(labels),
                       "--share-errors", str(errors), *args])
            assert rc == 0, (engine, args)
        assert read_bytes(tmp / "local") == read_bytes(tmp / "spark"), args
        local = pd.read_parquet(tmp / "local/sentences.parquet")
        assert 0 < len(local) < 11
        pd.testing.assert_frame_equal(local, pd.read_parquet(tmp / "spark/sentences.parquet"))


def test_spark_engine_bad_row_is_the_same_one_line_error(spark, setup, capsys):
    tmp, model, params = setup
    bad = tmp / "bad.jsonl"
    bad.write_text('{"article_id": "x", "text": "China opposes sanctions.", "date": "2016-13-01"}\n')
    rc = main(["analyze", "--input", str(bad), "--out", str(tmp / "o"), "--engine", "spark",
               "--model", str(model), "--params", str(params)])
    err = capsys.readouterr().err
    assert rc == 2 and "bad.jsonl line 1: date '2016-13-01' is not an ISO date" in err
    assert not (tmp / "o" / "trends.csv").exists()


@pytest.mark.parametrize("zoned", [True, False])
def test_both_engines_put_timestamps_on_the_same_day(spark, setup, zoned):
    """The date rule (a zoned timestamp's UTC day, a naive one's day as written) holds in Spark
    whatever the session's time zone."""
    from analyzekit import write_zoned_parquet

    tmp, model, params = setup
    src = write_zoned_parquet(tmp / "in.parquet", zoned=zoned)
    analyze(src, tmp / "local", model=model, params=params, period="month")
    before = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "Asia/Tokyo")
    try:
        analyze(src, tmp / "spark", model=model, params=params, period="month", engine="spark", master="local[2]")
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)
    assert read_bytes(tmp / "local") == read_bytes(tmp / "spark")
    days = pd.read_csv(tmp / "spark" / "articles.csv", dtype=str)["date"].tolist()
    assert ("2017-12-31" in days) == zoned


def test_spark_failure_in_a_worker_is_one_line_on_stderr(spark, setup, capfd):
    """A worker's error reaches stderr as one line naming Spark's log; the Java and Python stacks
    go to that file."""
    from pipeline.analyze.spark import spark_log

    tmp, model, params = setup
    corpus = write_dir(tmp / "corpus")
    (corpus / "zz.txt").write_bytes(b"The Council \xff\xfe met.\n")  # read by a worker: not UTF-8
    capfd.readouterr()
    rc = main(["analyze", "--input", str(corpus), "--out", str(tmp / "o"), "--engine", "spark", "--no-meta",
               "--model", str(model), "--params", str(params)])
    err = capfd.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "zz.txt" in err and f"(Spark's log: {spark_log()})" in err
