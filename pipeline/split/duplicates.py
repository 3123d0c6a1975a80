"""Merging repeated sentences inside one article (private: see :mod:`pipeline.split.stage`).

Sentences equal after :func:`pipeline.core.data.normalize_text` are merged (``duplicate``), and a
sentence repeated inside a longer one, a pull quote, is dropped (``repeated_quote``).
"""

from __future__ import annotations

from typing import Any

from pipeline.core.data import normalize_text
from pipeline.split.clean import Report


def _containers(toks: list[list[str]], keep: list[bool], min_words: int) -> dict[int, list[int]]:
    """For each kept sentence of at least *min_words* words, the longer kept sentences that
    contain its words as a contiguous run.

    Every run of a longer sentence that starts with a candidate's first three words and has
    a candidate's length is looked up in a hash table, so the work grows with the number of
    sentences times the square of their length (bounded by ``max_sentence_chars``), never
    with the square of the number of sentences: a 50 MB file of repetitive text stays linear.
    """
    targets: dict[tuple[str, ...], int] = {}
    lengths: dict[tuple[str, ...], set[int]] = {}
    for i, words in enumerate(toks):
        if keep[i] and len(words) >= min_words:
            targets[tuple(words)] = i
            lengths.setdefault(tuple(words[:3]), set()).add(len(words))
    found: dict[int, list[int]] = {}
    for k, words in enumerate(toks):
        if not keep[k] or len(words) <= min_words:
            continue
        n = len(words)
        for j in range(n - 2):
            for m in lengths.get(tuple(words[j:j + 3]), ()):
                if m < n and j + m <= n:
                    i = targets.get(tuple(words[j:j + m]))
                    if i is not None:
                        found.setdefault(i, []).append(k)
    return found


def _merge_duplicates(sentences: list[dict[str, Any]], min_contained: int, report: Report,
                      keep_duplicate: str = "first") -> list[dict[str, Any]]:
    """Merge repeats inside one article.

    Sentences whose normalised text (:func:`normalize_text`: quotes, dashes, spacing and
    case folded) is equal are one example: the first is kept, or with
    ``keep_duplicate="fullest"`` the one with the longest raw text (the body version of
    a pull quote, with its quote marks and final full stop; ties go to the first). A
    sentence of at least *min_contained* words whose normalised text appears, on word
    boundaries, inside a longer sentence of the same article (a pull quote repeated in
    the body with its attribution) is dropped in favour of the longer one. Both kinds of
    merge are counted in *report* (``duplicate``, ``repeated_quote``).
    """
    norms = [normalize_text(s["text"]) for s in sentences]
    keep = [True] * len(sentences)
    groups: dict[str, list[int]] = {}
    for i, n in enumerate(norms):
        groups.setdefault(n, []).append(i)
    dropped: list[int] = []
    for idx in groups.values():
        if len(idx) > 1:
            best = idx[0]
            if keep_duplicate == "fullest":
                best = max(idx, key=lambda i: (len(sentences[i]["text"]), -i))
            dropped.extend(i for i in idx if i != best)
    for i in sorted(dropped):
        keep[i] = False
        report.add("duplicate", sentences[i]["text"])
    toks = [n.split() for n in norms]
    containers = _containers(toks, keep, min_contained)
    for i, words in enumerate(toks):
        if keep[i] and len(words) >= min_contained and any(keep[k] for k in containers.get(i, ())):
            keep[i] = False
            report.add("repeated_quote", sentences[i]["text"])
    return [s for s, k in zip(sentences, keep) if k]
