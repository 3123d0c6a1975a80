"""Sentence segmentation of a paragraph (:func:`segment`): pysbd in bounded chunks.

pysbd is superlinear in its input, so paragraphs are cut into chunks of about
``split.chunk_chars`` characters at likely sentence boundaries before it sees them, and its
sentences are mapped back onto the chunk as consecutive slices (nothing lost or repeated).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable

from pipeline.split.rules import ABBREV_END, CHUNK_BOUNDARY, TERMINAL, TITLE_ABBREV_END

__all__ = ["segment"]

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


def segment(text: str, chunk_chars: int = 2000) -> list[str]:
    """Split one paragraph into sentences (pysbd, in bounded chunks). Returns stripped strings."""
    out: list[str] = []
    for chunk in _chunks(text, chunk_chars, _CHUNK_MARKS):
        for piece in _pieces(chunk):
            if not piece.strip():
                continue
            # pysbd sometimes cuts inside "paragraph 8(d) and 8(e)": a piece that does not
            # end like a sentence is continued by the next one; so is one ending with a
            # title such as "Amb." (pieces keep their original spacing, so gluing them
            # restores the source text).
            last = out[-1].rstrip() if out else ""
            if out and ((not TERMINAL.search(last) and not last.endswith(":"))
                        or TITLE_ABBREV_END.search(last)):
                out[-1] += piece
            else:
                out.append(piece)
    return [s.strip() for s in out]
