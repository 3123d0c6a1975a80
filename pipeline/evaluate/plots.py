"""PNG figures of ``stance evaluate`` (private): reproducible bytes, no date or version metadata."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.core.data import LABELS, atomic_open


@contextmanager
def _png(path: str | Path, figsize: tuple[float, float]) -> Iterator[Any]:
    """A matplotlib Figure (Agg, fixed font) to draw on; on exit it is laid out and written to *path*
    atomically as a reproducible PNG: no "Software" chunk (it carries the matplotlib version), and
    Agg PNGs have no date."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.hashsalt": "stance", "font.family": "DejaVu Sans"}):
        fig = Figure(figsize=figsize, dpi=100)
        FigureCanvasAgg(fig)
        yield fig
        fig.tight_layout()
        with atomic_open(path, "wb") as fh:
            fig.savefig(fh, format="png", metadata={"Software": None})


def _confusion_png(path: str | Path, cm, title: str) -> None:
    """Write a confusion-matrix heat map (rows actual, columns predicted) as a reproducible PNG."""
    with _png(path, (4.8, 4.2)) as fig:
        ax = fig.add_subplot(1, 1, 1)
        ax.imshow(cm, cmap="Blues", vmin=0)
        ax.set_xticks(range(len(LABELS)), labels=list(LABELS))
        ax.set_yticks(range(len(LABELS)), labels=list(LABELS))
        ax.set_xlabel("predicted")
        ax.set_ylabel("actual")
        ax.set_title(title, fontsize=9)
        top = cm.max() if cm.size else 0
        for i in range(len(LABELS)):
            for j in range(len(LABELS)):
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center",
                        color="white" if top and cm[i, j] > top / 2 else "black")


def _learning_curve_png(path: str | Path, records: list[dict[str, Any]], title: str) -> None:
    """Macro-F1 against training articles, with the interval as a band, as a reproducible PNG."""
    x = [r["n_train_articles"] for r in records]
    with _png(path, (5.6, 4.0)) as fig:
        ax = fig.add_subplot(1, 1, 1)
        lines = (("macro_f1", "model", "tab:blue"), ("lexicon_macro_f1", "keyword lexicon", "tab:gray"))
        for key, label, color in lines:
            ax.plot(x, [r[key] for r in records], marker="o", color=color, label=label)
        ax.fill_between(x, [r["ci_low"] for r in records], [r["ci_high"] for r in records], color="tab:blue",
                        alpha=0.2, label="95% article bootstrap")
        ax.plot(x, [r["oppose_f1"] for r in records], marker="s", linestyle="--", color="tab:red",
                label="model, oppose F1")
        ax.set_xlabel("training articles per outer fold (mean)")
        ax.set_ylabel("macro-F1 (nested grouped CV)")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        ax.set_title(title, fontsize=9)
