"""Helpers shared by the `stance analyze` tests: a small hand-written corpus in several forms."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Hand-written articles for the tests (not from data/): id -> (date, source, text).
ARTICLES: dict[str, tuple[str, str, str]] = {
    "a1": ("2016-03-02", "Wire", (
        "The Security Council must tighten sanctions on North Korea, the United States said.\n\n"
        "China and Russia oppose further sanctions on Pyongyang.\n\n"
        "The committee met on Tuesday in New York to discuss the agenda.")),
    "a2": ("2016-11-30", "Wire", (
        "Japan welcomes the stronger sanctions resolution adopted by the Council.\n\n"
        "Moscow vetoed the draft that would have extended the sanctions.\n\n"
        "Delegates discussed the agenda of the session at length.")),
    "a3": ("2017-06-02", "Paper", (
        "Sanctions should be eased to relieve humanitarian suffering, Chinese officials said.\n\n"
        "The panel of experts published its annual report on Friday.\n\n"
        "We urge all states to enforce the sanctions fully and without delay.")),
    "a4": ("", "Paper", (
        "North Korea rejected the new sanctions as an act of war against the country.\n\n"
        "The resolution was adopted at the meeting in March by all fifteen members.")),
}


def write_dir(path: Path, with_headers: bool = True) -> Path:
    """The corpus as a folder of .txt files with `# date:` / `# source:` header lines."""
    path.mkdir(parents=True, exist_ok=True)
    for aid, (date, source, text) in ARTICLES.items():
        head = ""
        if with_headers:
            head = (f"# date: {date}\n" if date else "") + f"# source: {source}\n"
        (path / f"{aid}.txt").write_text(head + text + "\n", encoding="utf-8")
    return path


def write_jsonl(path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for aid, (date, source, text) in ARTICLES.items():
            fh.write(json.dumps({"article_id": aid, "text": text, "date": date or None, "source": source}) + "\n")
    return path


def write_csv(path: Path) -> Path:
    import pandas as pd

    rows = [{"article_id": a, "text": t, "date": d, "source": s} for a, (d, s, t) in ARTICLES.items()]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def write_parquet(path: Path) -> Path:
    import pandas as pd

    rows = [{"article_id": a, "text": t, "date": d or None, "source": s} for a, (d, s, t) in ARTICLES.items()]
    pd.DataFrame(rows).to_parquet(path, index=False)
    return path


def make_params(path: Path) -> Path:
    """A params file with the project's split and analyze sections but no metadata table."""
    import yaml

    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    section = dict(params["analyze"])
    section["meta"] = None
    section["labels"] = None          # no hand labels and no share errors unless a test gives them
    section["share_errors"] = None
    section["bootstrap"] = 200
    path.write_text(yaml.safe_dump({"split": params["split"], "analyze": section}), encoding="utf-8")
    return path


def read_bytes(out: Path, names=("trends.csv", "targets.csv", "actors.csv", "articles.csv", "sentences.csv",
                                 "report.html")) -> dict[str, bytes]:
    return {n: (out / n).read_bytes() for n in names}


#: Timestamps near midnight for the date rule (a zoned timestamp's day is its UTC day): id -> (timestamp, UTC day).
ZONED = {"a1": ("2018-01-01 00:30", "Europe/Berlin", "2017-12-31"),
         "a2": ("2017-06-30 23:30", "America/New_York", "2017-07-01"),
         "a3": ("2017-03-04 12:00", "Asia/Tokyo", "2017-03-04")}


def write_zoned_parquet(path: Path, zoned: bool = True) -> Path:
    """The corpus as Parquet with a timestamp ``date`` column, with a time zone per row (a
    column holds one zone: each is converted to Europe/Berlin, the instant unchanged) or naive."""
    import pandas as pd

    stamps = [pd.Timestamp(ZONED[a][0], tz=ZONED[a][1]).tz_convert("Europe/Berlin") if zoned
              else pd.Timestamp(ZONED[a][0]) for a in ZONED]
    pd.DataFrame({"article_id": list(ZONED), "text": [ARTICLES[a][2] for a in ZONED], "date": stamps,
                  "source": "Wire"}).to_parquet(path, index=False)
    return path
