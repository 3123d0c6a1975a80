"""Inter-annotator agreement: ``stance agreement A.csv B.csv``.

Joins two label files by sentence_id (then by normalised text), and reports percent agreement,
Cohen's kappa and the confusion table (scikit-learn's ``cohen_kappa_score`` and
``confusion_matrix``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from pipeline.core.data import LABELS, normalize_text
from pipeline.labels.file import LabelFile, read_labels

__all__ = ["agreement", "cohen_kappa", "confusion_matrix", "format_agreement", "join_annotators"]


def confusion_matrix(a: Sequence[str], b: Sequence[str], labels: Sequence[str] = LABELS) -> list[list[int]]:
    """Counts ``m[i][j]`` of items labeled ``labels[i]`` by A and ``labels[j]`` by B
    (:func:`sklearn.metrics.confusion_matrix`).

    Parameters
    ----------
    a, b : sequence of str, same length n
    labels : sequence of str, length k

    Returns
    -------
    list of list of int, shape (k, k)
    """
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    if len(a) != len(b):
        raise ValueError(f"a and b differ in length ({len(a)} != {len(b)})")
    if not a:
        return [[0] * len(labels) for _ in labels]
    return sk_confusion_matrix(list(a), list(b), labels=list(labels)).tolist()


def cohen_kappa(a: Sequence[str], b: Sequence[str], labels: Sequence[str] = LABELS) -> float | None:
    """Cohen's kappa between two annotators' labels of the same items
    (:func:`sklearn.metrics.cohen_kappa_score`).

    Parameters
    ----------
    a, b : sequence of str, same length n
    labels : sequence of str

    Returns
    -------
    float or None
        None when undefined (no items, or chance agreement 1: both annotators used one same
        label throughout).
    """
    import math
    import warnings

    from sklearn.metrics import cohen_kappa_score

    if len(a) == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        kappa = float(cohen_kappa_score(list(a), list(b), labels=list(labels)))
    return None if math.isnan(kappa) else kappa


def join_annotators(file_a: LabelFile, file_b: LabelFile) -> dict:
    """Pair two annotators' labels: by sentence_id, then by normalised text for the rest.

    Text pairs are made only when a normalised text occurs once among A's leftovers and once
    among B's. Rows with empty labels are ignored.

    Returns
    -------
    dict
        ``pairs`` (list of ``(sentence_id_a, sentence_id_b, label_a, label_b)``), ``by_id``,
        ``by_text``, ``unmatched_a``, ``unmatched_b``, ``labeled_a``, ``labeled_b`` (ints).
    """
    la, lb = file_a.labels(), file_b.labels()
    ta, tb = file_a.texts(), file_b.texts()
    pairs = [(sid, sid, la[sid], lb[sid]) for sid in la if sid in lb]
    rest_a = [sid for sid in la if sid not in lb]
    rest_b = [sid for sid in lb if sid not in la]

    def index(rest: list[str], texts: dict[str, str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for sid in rest:
            norm = normalize_text(texts.get(sid, ""))
            if norm:
                out.setdefault(norm, []).append(sid)
        return out

    ia, ib = index(rest_a, ta), index(rest_b, tb)
    by_text = 0
    for norm, ids_a in ia.items():
        ids_b = ib.get(norm, [])
        if len(ids_a) == 1 and len(ids_b) == 1:
            pairs.append((ids_a[0], ids_b[0], la[ids_a[0]], lb[ids_b[0]]))
            by_text += 1
    return {
        "pairs": pairs,
        "by_id": len(pairs) - by_text,
        "by_text": by_text,
        "unmatched_a": len(rest_a) - by_text,
        "unmatched_b": len(rest_b) - by_text,
        "labeled_a": len(la),
        "labeled_b": len(lb),
    }


def agreement(path_a: str | os.PathLike, path_b: str | os.PathLike) -> dict:
    """Inter-annotator agreement between two label files.

    Returns
    -------
    dict
        ``a``, ``b`` (path and number of labeled sentences), ``joined`` (``by_id``,
        ``by_text``, ``total``), ``unmatched`` (``a``, ``b``), ``agreements`` (int),
        ``percent_agreement`` (float in [0, 100] or None), ``kappa`` (float or None),
        ``confusion`` (``labels`` and ``matrix``: rows are A's labels, columns B's).
    """
    file_a, file_b = read_labels(path_a), read_labels(path_b)
    j = join_annotators(file_a, file_b)
    a = [p[2] for p in j["pairs"]]
    b = [p[3] for p in j["pairs"]]
    n = len(a)
    agree = sum(x == y for x, y in zip(a, b))
    return {
        "a": {"path": str(path_a), "labeled": j["labeled_a"]},
        "b": {"path": str(path_b), "labeled": j["labeled_b"]},
        "joined": {"by_id": j["by_id"], "by_text": j["by_text"], "total": n},
        "unmatched": {"a": j["unmatched_a"], "b": j["unmatched_b"]},
        "agreements": agree,
        "percent_agreement": (100.0 * agree / n) if n else None,
        "kappa": cohen_kappa(a, b),
        "confusion": {"labels": list(LABELS), "matrix": confusion_matrix(a, b)},
    }


def format_agreement(result: dict) -> str:
    """Human-readable text for an :func:`agreement` result (ends with a newline)."""
    j, u = result["joined"], result["unmatched"]
    out = [
        f"A: {result['a']['path']} ({result['a']['labeled']} labeled sentences)",
        f"B: {result['b']['path']} ({result['b']['labeled']} labeled sentences)",
        f"joined: {j['total']} (by sentence_id {j['by_id']}, by normalised text {j['by_text']}); "
        f"unmatched: A {u['a']}, B {u['b']}",
    ]
    if j["total"]:
        out.append(f"percent agreement: {result['percent_agreement']:.1f}% "
                   f"({result['agreements']} of {j['total']})")
    else:
        out.append("percent agreement: undefined (no sentences in common)")
    kappa = result["kappa"]
    out.append("Cohen's kappa: " + ("undefined (chance agreement is 1 or no sentences in common)"
                                    if kappa is None else f"{kappa:.3f}"))
    labels = result["confusion"]["labels"]
    matrix = result["confusion"]["matrix"]
    width = max(len(x) for x in [*labels, "total", "A \\ B"]) + 2
    out.append("confusion (rows: A, columns: B):")
    out.append("A \\ B".ljust(width) + "".join(lab.rjust(width) for lab in labels) + "total".rjust(width))
    for lab, row in zip(labels, matrix):
        out.append(lab.ljust(width) + "".join(str(v).rjust(width) for v in row) + str(sum(row)).rjust(width))
    cols = [sum(row[i] for row in matrix) for i in range(len(labels))]
    out.append("total".ljust(width) + "".join(str(v).rjust(width) for v in cols) + str(sum(cols)).rjust(width))
    return "\n".join(out) + "\n"


def add_agreement_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``stance agreement``."""
    parser.add_argument("a", metavar="A", help="first annotator's labels CSV (sentence_id,label,text[,note])")
    parser.add_argument("b", metavar="B", help="second annotator's labels CSV")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")


def run_agreement(args: argparse.Namespace) -> int:
    """Print Cohen's kappa, percent agreement and the confusion table for two label files."""
    result = agreement(args.a, args.b)
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(format_agreement(result))
    return 0
