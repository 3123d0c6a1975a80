"""Split stage: raw article text -> clean sentences with stable ids.

(First, thin version: the full cleaning rules land next.)
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
})


def normalize_text(text: str) -> str:
    """Return the comparison form of a sentence.

    NFKC, curly quotes and all dashes folded to ASCII, case folded, punctuation other
    than letters/digits dropped, whitespace collapsed. Two sentences that differ only in
    quoting, dashes, spacing or case normalise to the same string. Used for sentence ids,
    duplicate detection and re-attaching labels.
    """
    t = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    t = re.sub(r"[^\w\s]", " ", t)
    return " ".join(t.split())


def sentence_id(article_id: str, text: str) -> str:
    """Stable id of a sentence: 16 hex digits of sha1(article_id + NUL + normalised text).

    Depends only on the article and the sentence's own words, never on its position, so
    editing other parts of an article leaves the id (and its hand label) untouched.
    """
    digest = hashlib.sha1(f"{article_id}\0{normalize_text(text)}".encode("utf-8")).hexdigest()
    return digest[:16]
