"""pysbd sentence segmentation in bounded chunks (private: see :func:`pipeline.split.segment`).

pysbd is superlinear in its input, so paragraphs are cut into chunks of about
``split.chunk_chars`` characters at likely sentence boundaries before it sees them, and its
sentences are mapped back onto the chunk as consecutive slices (nothing lost or repeated).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable

from pipeline._split_rules import ABBREV_END, CHUNK_BOUNDARY

_SEGMENTER = None


def _segmenter():
    global _SEGMENTER
    if _SEGMENTER is None:
        import pysbd

        _SEGMENTER = pysbd.Segmenter(language="en", clean=False)
    return _SEGMENTER


_MARK = re.compile(r"[.!?]")
#: At most about this many ``.!?`` per chunk: pysbd's abbreviation and punctuation passes
#: re-scan the chunk once per mark, so text dense with marks ("No! No! ...", "U.S. U.S. ...")
#: gets smaller chunks. Ordinary prose has one mark per ~100 characters and is unaffected.
_CHUNK_MARKS = 100


def _chunks(text: str, limit: int, max_marks: int = _CHUNK_MARKS) -> Iterable[str]:
    """Cut *text* into pieces of about *limit* characters at likely sentence boundaries.

    pysbd's time grows faster than linearly with input length, so it must only see
    bounded pieces: at most about *limit* characters and *max_marks* sentence marks.
    Cuts are made after ``.!?`` that do not end an abbreviation; when a window has no
    such boundary the cut falls on whitespace (never inside a word).
    """
    n = len(text)
    marks = [m.start() for m in _MARK.finditer(text)]
    start = 0
    while True:
        window_end = start + limit
        i = bisect.bisect_left(marks, start)
        if i + max_marks < len(marks):
            window_end = min(window_end, marks[i + max_marks] + 1)
        if window_end >= n:
            break
        span = window_end - start
        cut = None
        for m in CHUNK_BOUNDARY.finditer(text, start + span // 4, min(n, start + 2 * span)):
            if ABBREV_END.search(text[max(start, m.start() - 12):m.start()]):
                continue
            cut = m.end()
            if cut >= window_end:
                break
        if cut is None:
            ws = text.rfind(" ", start + 1, window_end)
            cut = ws + 1 if ws > start else window_end
        yield text[start:cut]
        start = cut
    if start < n:
        yield text[start:]


def _pieces(chunk: str) -> list[str]:
    """pysbd's sentences of *chunk* as consecutive slices of it (nothing lost or repeated).

    pysbd's own non-destructive mode maps each sentence back with a regex search from
    the start of the text (quadratic in the number of repeated sentences) and silently
    drops a sentence it cannot find. Here each sentence is looked up from where the
    previous one ended; a sentence that cannot be found is kept as part of the next
    slice, so the slices always cover the whole chunk.
    """
    seg = _segmenter()
    try:
        sents = seg.processor(chunk).process()
    except AttributeError:  # pragma: no cover - other pysbd versions
        return list(seg.segment(chunk))
    out: list[str] = []
    done = 0
    for sent in sents or ():
        s = sent.strip()
        if not s:
            continue
        at = chunk.find(s, done)
        if at < 0:
            continue
        end = at + len(s)
        out.append(chunk[done:end])
        done = end
    if chunk[done:].strip():
        out.append(chunk[done:])
    return out
