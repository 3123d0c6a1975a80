"""The tables of ``stance analyze``: articles.csv, trends.csv, targets.csv and actors.csv.

Both engines feed :class:`Tally` with the article rows and the article-and-actor rows of
:func:`pipeline.analyze.batches.score_batch`, in input order; the tables are computed from
them by the same code, so the engines' tables are equal row for row. Each row has the
counts, the share of hard labels (``share_<label>``), the expected share (mean of the class
probabilities, hand labels counted as certain: ``expected_<label>``) and its interval
(``<label>_low``, ``<label>_high``; :mod:`pipeline.analyze.shares`), and what the interval
covers (``interval``).

Memory: one small record per article and per article and actor (the interval of a row
resamples its articles); the sentences themselves are not kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pipeline.analyze.actors import NONE
from pipeline.analyze.batches import STAT_COLUMNS
from pipeline.analyze.shares import share_interval
from pipeline.analyze.stats import UNDATED
from pipeline.core.data import LABELS
from pipeline.model.errors import ErrorModel

__all__ = ["ACTOR_COLUMNS", "ARTICLE_COLUMNS", "TARGET_COLUMNS", "TREND_COLUMNS", "Tally", "article_rows"]

COUNT_COLUMNS = ("sentences", *LABELS, "hand")
SHARE_COLUMNS = (*(f"share_{lab}" for lab in LABELS), *(f"expected_{lab}" for lab in LABELS),
                 *(f"{lab}_{end}" for lab in LABELS for end in ("low", "high")), "interval")
ARTICLE_COLUMNS = ("article_id", "date", "source", "target", "title", "url") + COUNT_COLUMNS + SHARE_COLUMNS
TREND_COLUMNS = ("period", "source", "articles") + COUNT_COLUMNS + SHARE_COLUMNS
TARGET_COLUMNS = ("target", "period", "articles") + COUNT_COLUMNS + SHARE_COLUMNS
ACTOR_COLUMNS = ("actor", "period", "articles") + COUNT_COLUMNS + SHARE_COLUMNS

_P = [f"p_{lab}" for lab in LABELS]
_H = [f"h_{lab}" for lab in LABELS]


class Settings:
    """How the intervals are computed: level, replicates, seed and the model's error (or None)."""

    def __init__(self, level: float = 0.95, n_boot: int = 1000, seed: int = 0, error: ErrorModel | None = None):
        self.level, self.n_boot, self.seed, self.error = level, n_boot, seed, error

    @property
    def covers(self) -> str:
        return "articles+model" if self.error is not None else "articles"


def _shares(row: dict, stats: Sequence[dict], settings: Settings, key: Sequence[str], covers: str) -> dict:
    """Add the share columns to *row* from the per-article *stats* behind it."""
    n = row["sentences"]
    for lab in LABELS:
        row[f"share_{lab}"] = round(row[lab] / n, 4) if n else 0.0
    nm = np.array([s["n_model"] for s in stats], dtype=float)
    nh = np.array([s["hand"] for s in stats], dtype=float)
    ps = np.array([[s[c] for c in _P] for s in stats], dtype=float).reshape(-1, 3)
    hs = np.array([[s[c] for c in _H] for s in stats], dtype=float).reshape(-1, 3)
    error = settings.error if covers != "articles" else None
    if covers == "model":                      # one article: no resampling, the model's error only
        nm, nh, ps, hs = nm.sum(keepdims=True), nh.sum(keepdims=True), ps.sum(0, keepdims=True), \
            hs.sum(0, keepdims=True)
    exp, low, high = share_interval(nm, ps, nh, hs, error, key=key, level=settings.level,
                                    n_boot=settings.n_boot, seed=settings.seed)
    for j, lab in enumerate(LABELS):
        row[f"expected_{lab}"] = round(float(exp[j]), 4)
        row[f"{lab}_low"] = round(float(low[j]), 4)
        row[f"{lab}_high"] = round(float(high[j]), 4)
    row["interval"] = covers
    return row


def article_rows(rows: list[dict], settings: Settings) -> list[dict]:
    """``articles.csv`` rows (:data:`ARTICLE_COLUMNS`): an article's interval covers the model's error only."""
    out = []
    covers = "model" if settings.error is not None else "none"
    for r in rows:
        row = {c: r[c] for c in ("article_id", "date", "source", "target", "title", "url", *COUNT_COLUMNS)}
        if covers == "none":
            _shares(row, [r], Settings(settings.level, 1, settings.seed, None), ("article", r["article_id"]),
                    "model")
            for lab in LABELS:
                row[f"{lab}_low"] = row[f"{lab}_high"] = row[f"expected_{lab}"]
            row["interval"] = "none"
        else:
            _shares(row, [r], settings, ("article", r["article_id"]), covers)
        out.append(row)
    return out


def _period_key(period: str) -> tuple:
    return (period == UNDATED, period)


class Tally:
    """Article records, article-and-actor records and the totals of the summary.

    Article rows go to *sink* (the articles.csv writer) as they come.
    """

    def __init__(self, settings: Settings | None = None, sink=None) -> None:
        self.settings = settings or Settings()
        self.sink = sink
        self.articles: list[dict] = []
        self.actor_stats: list[dict] = []
        self.n_articles = 0
        self.n_sentences = 0
        self.n_hand = 0
        self.labels = {lab: 0 for lab in LABELS}
        self.n_undated = 0
        self.undated_ids: list[str] = []

    def add(self, rows: list[dict], actor_rows: list[dict]) -> None:
        """One :func:`score_batch` result's article rows and actor rows (input order)."""
        keep = ("article_id", "date", "period", "source", "target", "title", "url", *STAT_COLUMNS)
        for row in rows:
            self.articles.append({c: row[c] for c in keep})
            self.n_articles += 1
            self.n_sentences += row["sentences"]
            self.n_hand += row["hand"]
            for lab in LABELS:
                self.labels[lab] += row[lab]
            if row["period"] == UNDATED:
                self.n_undated += 1
                if len(self.undated_ids) < 10:
                    self.undated_ids.append(row["article_id"])
        self.actor_stats.extend({c: r[c] for c in ("article_id", "period", "actor", *STAT_COLUMNS)}
                                for r in actor_rows)
        if self.sink is not None:
            self.sink.write(article_rows(rows, self.settings))

    # ----------------------------------------------------------------- tables

    def _grouped(self, records: list[dict], key: Callable[[dict], tuple], first: tuple[str, ...]) -> list[dict]:
        groups: dict[tuple, list[dict]] = {}
        for r in records:
            groups.setdefault(key(r), []).append(r)
        out = []
        for k, stats in groups.items():
            row: dict[str, Any] = dict(zip(first, k))
            row["articles"] = len({s["article_id"] for s in stats})
            for c in COUNT_COLUMNS:
                row[c] = sum(s[c] for s in stats)
            out.append(_shares(row, stats, self.settings, (first[0], *k), self.settings.covers))
        return out

    def trend_rows(self) -> list[dict]:
        """``trends.csv``: per period and source, periods in order (undated last), then sources."""
        rows = self._grouped(self.articles, lambda r: (r["period"], r["source"]), ("period", "source"))
        return sorted(rows, key=lambda r: (_period_key(r["period"]), r["source"]))

    def target_rows(self) -> list[dict]:
        """``targets.csv``: per target and period."""
        rows = self._grouped(self.articles, lambda r: (r["target"], r["period"]), ("target", "period"))
        return sorted(rows, key=lambda r: (r["target"] == "", r["target"], _period_key(r["period"])))

    def actor_rows(self, names: list[str]) -> list[dict]:
        """``actors.csv``: actors in params order (then others, ``none`` last), periods in order."""
        order = {n: i for i, n in enumerate(names)}
        rows = self._grouped(self.actor_stats, lambda r: (r["actor"], r["period"]), ("actor", "period"))
        return sorted(rows, key=lambda r: (r["actor"] == NONE, order.get(r["actor"], len(order)), r["actor"],
                                           _period_key(r["period"])))

    def overall(self, field: str | None, records: list[dict] | None = None) -> list[dict]:
        """All periods together, per *field* (``source``, ``target``, ``actor``) or over everything (None)."""
        records = self.actor_stats if field == "actor" else self.articles if records is None else records
        if field is None:
            return self._grouped(records, lambda r: ("all",), ("period",))
        rows = self._grouped(records, lambda r: (r[field], "all"), (field, "period"))
        return sorted(rows, key=lambda r: (-r["sentences"], r[field]))

    def period_rows(self, sources: list[str] | None = None) -> list[dict]:
        """Per period over several sources together (None: all), for the plots."""
        keep = None if sources is None else set(sources)
        records = [r for r in self.articles if keep is None or r["source"] in keep]
        rows = self._grouped(records, lambda r: (r["period"],), ("period",))
        return sorted(rows, key=lambda r: _period_key(r["period"]))
