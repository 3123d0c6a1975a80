"""The date rule of `stance analyze`: a zoned timestamp's day is its UTC day, a naive one's the day as written."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from analyzekit import ZONED, make_params, write_zoned_parquet

from pipeline.analyze.io import check_date, timestamp_day
from pipeline.analyze.stage import analyze


@pytest.mark.parametrize("value,day", [
    (dt.datetime(2018, 1, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))), "2017-12-31"),
    (dt.datetime(2017, 12, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))), "2018-01-01"),
    (dt.datetime(2018, 1, 1, 0, 30), "2018-01-01"),
    (pd.Timestamp("2018-01-01 00:30", tz="Europe/Berlin"), "2017-12-31"),
    (pd.Timestamp("2018-01-01 00:30"), "2018-01-01"),
    (dt.date(2018, 1, 1), "2018-01-01"),
])
def test_timestamp_day_rule(value, day):
    assert check_date(value, "x") == day
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        assert timestamp_day(value) == day


@pytest.mark.parametrize("zoned", [True, False])
def test_local_engine_parquet_timestamps(tmp_path, monkeypatch, tiny_model_path, zoned):
    monkeypatch.chdir(tmp_path)
    src = write_zoned_parquet(tmp_path / "in.parquet", zoned=zoned)
    analyze(src, tmp_path / "out", model=tiny_model_path, params=make_params(tmp_path / "params.yaml"),
            period="month")
    got = pd.read_csv(tmp_path / "out" / "articles.csv", dtype=str).set_index("article_id")["date"].to_dict()
    want = {a: (utc if zoned else stamp[:10]) for a, (stamp, _zone, utc) in ZONED.items()}
    assert got == want
