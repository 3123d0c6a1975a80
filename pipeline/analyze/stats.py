"""Counting helpers of ``stance analyze``: periods, Wilson intervals, count tables.

Standard library only; both engines (local and Spark) use these functions, so their
aggregates are computed by the same code from the same counts.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from pipeline.core.data import LABELS

__all__ = ["PERIODS", "UNDATED", "period_of", "share_columns", "wilson"]

#: Period kinds of ``--period``.
PERIODS = ("month", "quarter", "year")
#: Period value of a row without a date.
UNDATED = "undated"


def period_of(date: str | None, kind: str) -> str:
    """The period of an ISO date (``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``): ``2006-10``, ``2006-Q4`` or ``2006``.

    An empty date, or a year-only date with a month or quarter period, gives :data:`UNDATED`.
    """
    if not date:
        return UNDATED
    year = date[:4]
    if kind == "year":
        return year
    if len(date) < 7:
        return UNDATED
    month = int(date[5:7])
    if kind == "quarter":
        return f"{year}-Q{(month - 1) // 3 + 1}"
    return f"{year}-{month:02d}"


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion *k*/*n* (``(0.0, 1.0)`` when n is 0)."""
    if n <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def share_columns(row: dict, level: float = 0.95, labels=LABELS) -> dict:
    """Add ``share_<label>``, ``<label>_low`` and ``<label>_high`` (rounded to 4 places) to a count row."""
    n = row["sentences"]
    for lab in labels:
        k = row[lab]
        row[f"share_{lab}"] = round(k / n, 4) if n else 0.0
    for lab in labels:
        low, high = wilson(row[lab], n, level)
        row[f"{lab}_low"] = round(low, 4)
        row[f"{lab}_high"] = round(high, 4)
    return row
