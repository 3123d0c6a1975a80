"""Plots of ``stance analyze``: trends.png (per source) and actors.png (per actor).

Private module beside :mod:`pipeline.analyze.stage`. Expected shares are drawn with their
intervals (sampling and the model's error, :mod:`pipeline.analyze.shares`) as error bars and
the number of sentences behind each point, so a reader sees
at once which points rest on a handful of sentences. PNGs carry no date metadata and are
written atomically.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path

from pipeline.analyze.actors import NONE
from pipeline.analyze.stats import UNDATED
from pipeline.core.data import atomic_open

COLORS = {"support": "#1b7837", "oppose": "#b2182b"}
MAX_PANELS = 6
#: Points resting on fewer sentences are not drawn (their interval would span most of the axis).
MIN_POINT = 5


def _plain_text(draw):
    """Draw with every label as plain text: source and actor names come from the input, and
    mathtext (``$...$``) or TeX would parse them (``$\\frac{a}{$`` crashes the drawing)."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context({"text.usetex": False, "text.parse_math": False}):
            return draw(*args, **kwargs)

    return wrapper


def _x(period: str) -> float:
    """Decimal-year midpoint of a period: 2006 -> 2006.5, 2006-Q4 -> 2006.875, 2006-10 -> 2006.79."""
    year = int(period[:4])
    if len(period) == 4:
        return year + 0.5
    if "-Q" in period:
        return year + (int(period[-1]) - 0.5) / 4
    return year + (int(period[5:7]) - 0.5) / 12


def _panel(ax, rows: list[dict], title: str, xlim) -> None:
    """Expected support and oppose shares per period, with their intervals, from table rows."""
    rows = sorted((r for r in rows if r["period"] != UNDATED), key=lambda r: r["period"])
    n_total = sum(r["sentences"] for r in rows)
    for label, offset in (("support", -0.08), ("oppose", 0.08)):
        xs, ys, lo, hi = [], [], [], []
        for r in rows:
            if r["sentences"] < MIN_POINT:
                continue
            share = r[f"expected_{label}"]
            xs.append(_x(r["period"]) + offset)
            ys.append(share)
            lo.append(max(0.0, share - r[f"{label}_low"]))
            hi.append(max(0.0, r[f"{label}_high"] - share))
        if xs:
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o-", color=COLORS[label], ms=4, lw=1.2,
                        elinewidth=0.8, capsize=2, alpha=0.9, label=f"expected {label} share")
    for r in rows:
        if r["sentences"] >= MIN_POINT:
            ax.annotate(str(r["sentences"]), (_x(r["period"]), 1.02), ha="center", va="bottom", fontsize=6,
                        color="#555555", annotation_clip=False)
    ax.set_title(f"{title}  ({n_total} sentences)", fontsize=9, loc="left", pad=12)
    ax.set_ylim(0, 1)
    ax.set_xlim(*xlim)
    ax.yaxis.set_major_formatter(_percent())
    ax.grid(True, alpha=0.3)
    ax.tick_params(labelsize=7)


def _percent():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def _xlim(rows: list[dict]) -> tuple[float, float]:
    xs = [_x(r["period"]) for r in rows if r["period"] != UNDATED]
    if not xs:
        return 0.0, 1.0
    return math.floor(min(xs)) - 0.5, math.ceil(max(xs)) + 0.5


def _save(fig, path: Path) -> None:

    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110, metadata={"Software": None})


def _grid(n: int) -> tuple[int, int]:
    cols = 1 if n == 1 else 2 if n <= 4 else 3
    return math.ceil(n / cols), cols


@_plain_text
def _empty(path: Path, message: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    _save(fig, path)
    plt.close(fig)


@_plain_text
def plot_trends(rows: list[dict], path: Path, period: str, pooled: Callable[[list[str] | None], list[dict]]) -> None:
    """trends.png: expected support and oppose shares per period, all sources and then each source.

    The biggest sources (by sentences) get a panel each; the rest share a panel "other
    sources" (only in the plot; trends.csv keeps every source). *pooled(sources)* gives the
    per-period rows of several sources together (None: all), with their own intervals.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dated = [r for r in rows if r["period"] != UNDATED]
    undated = sum(r["sentences"] for r in rows if r["period"] == UNDATED)
    if not dated:
        _empty(path, "no dated sentences to plot")
        return
    size: dict[str, int] = {}
    for r in dated:
        size[r["source"]] = size.get(r["source"], 0) + r["sentences"]
    ranked = sorted(size, key=lambda s: (-size[s], s))
    own = ranked[: MAX_PANELS - 2] if len(ranked) > MAX_PANELS - 1 else ranked
    rest = [s for s in ranked if s not in own]
    panels = [("all sources", pooled(None))] + [(s or "(no source)", [r for r in dated if r["source"] == s])
                                                 for s in own]
    if rest:
        names = ", ".join(s or "(no source)" for s in rest)
        names = names if len(names) <= 40 else names[:39] + "\u2026"
        panels.append((f"other: {names}", pooled(rest)))
    nrows, ncols = _grid(len(panels))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 2.9 * nrows + 0.9), sharey=True, squeeze=False)
    xlim = _xlim(dated)
    for ax, (title, sub) in zip(axes.flat, panels):
        _panel(ax, sub, title, xlim)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    note = f"; {undated} undated sentences not shown" if undated else ""
    fig.suptitle(f"Expected share of sentences supporting / opposing sanctions, per {period} and source\n"
                 f"(bars: intervals with the model's error, docs/analyze.md; small numbers: sentences per point; "
                 f"points with fewer than "
                 f"{MIN_POINT} sentences not drawn{note})", fontsize=10)
    fig.legend(handles, labels, loc="upper right", fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    _save(fig, path)
    plt.close(fig)


@_plain_text
def plot_actors(rows: list[dict], path: Path, period: str, names: list[str], overall: list[dict]) -> None:
    """actors.png: expected stance mix per actor over all periods (bars, from *overall* rows), then
    expected support/oppose shares over time per actor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    totals = {r["actor"]: [r["sentences"], r["expected_support"], r["expected_oppose"], r["expected_neutral"]]
              for r in overall if r["actor"] != NONE and r["sentences"]}
    actors = [a for a in names if totals.get(a, [0])[0]] + sorted(a for a in totals if a not in names)
    if not actors:
        _empty(path, "no sentence attributed to an actor")
        return
    dated = [r for r in rows if r["period"] != UNDATED and r["actor"] != NONE]
    panels = [a for a in actors if any(r["actor"] == a for r in dated)]
    n = 1 + len(panels)
    nrows, ncols = _grid(n)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 2.9 * nrows + 0.9), squeeze=False)
    ax = axes.flat[0]
    ys = list(range(len(actors)))[::-1]
    left = [0.0] * len(actors)
    for label, color, j in (("support", COLORS["support"], 1), ("neutral", "#bbbbbb", 3),
                            ("oppose", COLORS["oppose"], 2)):
        widths = [totals[a][j] for a in actors]
        ax.barh(ys, widths, left=left, color=color, label=label, height=0.7)
        left = [lft + w for lft, w in zip(left, widths)]
    ax.set_yticks(ys, [f"{a} ({totals[a][0]})" for a in actors], fontsize=7)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(_percent())
    ax.tick_params(labelsize=7)
    ax.set_title("expected stance mix per actor, all periods (sentences)", fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, frameon=False)
    xlim = _xlim(dated)
    for ax, actor in zip(list(axes.flat)[1:], panels):
        _panel(ax, [r for r in dated if r["actor"] == actor], actor, xlim)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    handles, labels = (axes.flat[1].get_legend_handles_labels() if panels else ([], []))
    fig.suptitle(f"Who holds the stance: sentences attributed to each actor, per {period}\n"
                 "(bars: intervals with the model's error, docs/analyze.md; small numbers: sentences per point; "
                 "points with fewer than "
                 f"{MIN_POINT} sentences and sentences without an actor not drawn)", fontsize=10)
    if handles:
        fig.legend(handles, labels, loc="upper right", fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    _save(fig, path)
    plt.close(fig)
