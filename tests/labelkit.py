"""Small helpers shared by the label tests (test_labels, test_labeler, test_labelstudio)."""

from __future__ import annotations

import csv
from pathlib import Path

#: Header of a labels file.
HEADER = "sentence_id,label,text,note\n"


def write(path: Path, text: str | bytes) -> Path:
    """Write *text* (or bytes) exactly as given, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def rows(path: Path) -> list[list[str]]:
    """The file as CSV rows, parsed strictly (so this also proves it is valid CSV)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh, strict=True))
