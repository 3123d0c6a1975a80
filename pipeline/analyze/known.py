"""Hand labels that ``stance analyze`` uses instead of the model's prediction.

A sentence of the analysed corpus that has a hand label (the same ``sentence_id``, or the
same text once normalised: Unicode NFKC, curly quotes and dashes folded, spaces collapsed,
case folded) takes that label, and the outputs say so (``label_source`` ``hand``; the
model's own label and scores stay in ``model_label`` and ``score_*``). A normalised text
hand-labelled twice with different labels is ambiguous and matches by ``sentence_id`` only.
"""

from __future__ import annotations

import csv
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core.config import StanceError
from pipeline.core.data import LABELS

__all__ = ["KnownLabels", "normalise", "read_known_labels"]

_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2010": "-", "\u2011": "-",
                       "\u2013": "-", "\u2014": "-", "\u00a0": " "})


def normalise(text: str) -> str:
    """The text used to match a sentence to a hand-labelled one."""
    return " ".join(unicodedata.normalize("NFKC", text).translate(_FOLD).split()).casefold()


@dataclass
class KnownLabels:
    """Hand labels by ``sentence_id`` and by normalised text."""

    by_id: dict[str, str] = field(default_factory=dict)
    by_text: dict[str, str] = field(default_factory=dict)
    source: str = ""

    def __len__(self) -> int:
        """Hand-labelled sentences known by id or by text."""
        return max(len(self.by_id), len(self.by_text))

    def lookup(self, sentence_id: str, text: str) -> str | None:
        """The hand label of a sentence, or None."""
        label = self.by_id.get(sentence_id)
        if label is None and self.by_text:
            label = self.by_text.get(normalise(text))
        return label


def read_known_labels(path: str | os.PathLike) -> KnownLabels:
    """Read a label file (``sentence_id, label, text``; other columns ignored).

    Rows with an empty label are skipped (not labelled yet). A label outside
    support/oppose/neutral, a missing column or an unreadable file is a StanceError naming
    the file, line and value.
    """
    p = Path(path)
    known = KnownLabels(source=str(p))
    conflicts: set[str] = set()
    try:
        with open(p, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            for col in ("sentence_id", "label", "text"):
                if col not in header:
                    raise StanceError(f"{p} line 1: no '{col}' column")
            for line, row in enumerate(reader, 2):
                label = (row.get("label") or "").strip()
                if not label:
                    continue
                if label not in LABELS:
                    raise StanceError(f"{p} line {line}: label {label!r} is not one of {', '.join(LABELS)}")
                sid = (row.get("sentence_id") or "").strip()
                if sid:
                    known.by_id[sid] = label
                key = normalise(row.get("text") or "")
                if not key or key in conflicts:
                    continue
                if known.by_text.setdefault(key, label) != label:
                    conflicts.add(key)
                    del known.by_text[key]
    except FileNotFoundError:
        raise StanceError(f"{p}: label file not found") from None
    except UnicodeDecodeError as exc:
        raise StanceError(f"{p}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise StanceError(f"{p}: not a readable CSV ({exc})") from None
    return known
