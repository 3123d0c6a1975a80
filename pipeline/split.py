"""Split stage: raw article text -> clean sentences with stable ids.

Input is a folder of UTF-8 ``*.txt`` articles (article id = file stem). Each file may
start with ``# key: value`` header lines (``source``, ``title``, ``license``), which are
article metadata, never sentences. The text is cleaned line by line with general rules
(page furniture, captions, credits, datelines, title blocks, timestamps, meeting
numbers), lines broken in the middle of a sentence are rejoined, paragraphs are split
into sentences with pysbd (in bounded chunks, so time stays linear), and repeated or
near-identical sentences of one article (pull quotes) are merged.

Outputs (see :func:`run_split`):

- ``sentences.csv``: ``sentence_id, article_id, position, paragraph, start, end, text``
- ``articles.csv``: ``article_id, source, title, license, n_sentences``
- ``split_report.csv``: ``article_id, rule, count, example`` - what each rule removed.

``sentence_id`` is a content hash of the article id and the normalised text, so it does
not move when other sentences are added, removed or reordered.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from pipeline.config import PATHS, StanceError, load_params, write_csv_atomic

# --------------------------------------------------------------------------- ids

_FOLD = str.maketrans({
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
    t = unicodedata.normalize("NFKC", text).translate(_FOLD).casefold()
    t = re.sub(r"[^\w\s]", " ", t)
    return " ".join(t.split())


def sentence_id(article_id: str, text: str) -> str:
    """Stable id of a sentence: 16 hex digits of sha1(article_id + NUL + normalised text).

    Depends only on the article and the sentence's own words, never on its position, so
    editing other parts of an article leaves the id (and its hand label) untouched.
    """
    digest = hashlib.sha1(f"{article_id}\0{normalize_text(text)}".encode("utf-8")).hexdigest()
    return digest[:16]


# --------------------------------------------------------------------------- params

DEFAULTS: dict[str, Any] = {
    "on_bad_file": "fail",           # fail | skip
    "min_words": 3,                  # a sentence needs this many words
    "min_words_unpunctuated": 4,     # ... a line without final punctuation needs this many
    "max_title_words": 8,            # shorter Title Case lines without a verb are name/title blocks
    "max_ui_words": 12,              # page-furniture patterns apply to lines up to this long
    "max_token_chars": 100,          # a longer whitespace-free run is not text
    "max_sentence_chars": 1000,      # a longer "sentence" is not a sentence
    "chunk_chars": 2000,             # pysbd sees at most ~this many characters at a time
    "min_words_contained": 5,        # a sentence repeated inside a longer one is merged from this size
    "ui_patterns": [],
    "credit_patterns": [],
}

#: Page furniture: navigation, sharing, audio players, subscription prompts, ads.
UI_PATTERNS = [
    r"^advertisement$",
    r"^reading time\b",
    r"^(select|choose) (a |your )?(voice|listening speed)\b",
    r"\blistening speed\b",
    r"\barticles? \d+(\.\d+)?x faster\b",
    r"^\d+(\.\d+)?x$",
    r"^\d+ ?wpm$",
    r"^(slow|average|fast|normal|play|pause|listen)$",
    r"^why you can trust\b",
    r"^(subscribe|sign up|log ?in|register)\b",
    r"\byour homepage\b",
    r"^(like|follow|join) us\b",
    r"^(share|print|email|tweet)( this( article| story)?)?$",
    r"^(read|see) (more|also)\b",
    r"^related( articles| stories| coverage)?\s*:?",
    r"^back to top$",
    r"^(click|tap) here\b",
    r"^(clear|close|menu|search|home|next|previous)$",
    r"^real time analytics$",
    r"^press release$",
    r"^as prepared for delivery\b",
    r"^thank you\b.{0,40}$",
    r"^(all rights reserved|copyright|©)",
]

#: Link teasers and credits that mark a line as furniture whatever its length.
ALWAYS_PATTERNS = [
    r"^(?i:read|see) (?i:more|also)\s*:",
    r"^(?i:related( articles| stories| coverage)?)\s*:",
    r"^(?i:(reporting|writing|editing|additional reporting|compiled|edited) by)\b",
]

#: Photo captions and credits.
CREDIT_PATTERNS = [
    r"\b(?i:(file )?(photo|photograph|picture|image)s?)\s*:",
    r"^\(\s*(?i:photo|image|picture)\b",
    r"\b[A-Z]{3,}/[A-Z][\w.'-]+(\s[A-Z][\w.'-]+)*\s*$",   # REUTERS/Jung Yeon-Je
    r"\((left|right|centre|center|top|bottom|front|L|R|C|[Ll]-[Rr])\)",
    r"^(?i:by|source|credit)\s*:",
]

_MONTHS = ("jan|january|feb|february|mar|march|apr|april|may|jun|june|jul|july|aug|august|"
           "sep|sept|september|oct|october|nov|november|dec|december")
_DAYS = "mon|monday|tue|tues|tuesday|wed|wednesday|thu|thur|thurs|thursday|fri|friday|sat|saturday|sun|sunday"
_DATE_TOKEN = re.compile(
    rf"^(?:{_MONTHS}|{_DAYS}|\d{{1,4}}(?:st|nd|rd|th)?|\d{{1,4}}([/.:-]\d{{1,4}}){{1,2}}|am|pm|a\.m\.|p\.m\.|"
    r"gmt|utc|est|edt|cet|kst|updated|published|posted|last|modified|at|on|of|the)\.?$",
    re.IGNORECASE,
)
_MEETING = re.compile(r"^\d+(st|nd|rd|th)\s+meeting\b", re.IGNORECASE)
_DOC_SYMBOL = re.compile(r"^[A-Z]{1,5}(/[A-Z0-9.]+)+$")
_BRACKETED = re.compile(r"^[(\[].*[)\]]$")
_TERMINAL = re.compile(r"[.!?…]['\"’”»)\]]*$")
_ENDS_COMMA = re.compile(r"[,;]['\"’”»]*$")
_WORD = re.compile(r"[^\W\d_][\w'’.-]*", re.UNICODE)
_CONNECTORS = {"of", "the", "to", "for", "and", "on", "in", "at", "a", "an", "by", "with", "de", "&", "-", "–", "—"}
_BULLET = re.compile(r"^\s*([•●▪◦‣∙·*]|-(?=\s)|\d{1,2}[.)](?=\s))\s*")

# Datelines at the start of a paragraph: "BEIJING (Reuters) -", "Beijing (Telephost) -",
# "Sept. 1, 2017 (EIRNS)—", "WASHINGTON —", "11/30/16 –". And speaker labels: "SECRETARY TILLERSON:".
_DATE_WORDS = (rf"(?:(?i:{_MONTHS})\.?\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+(?i:{_MONTHS})\.?\s+\d{{4}}"
               r"|\d{1,2}/\d{1,2}/\d{2,4})")
_DATELINE = re.compile(
    r"^(?:"
    rf"(?:[A-Z][\w.'-]*(?:[ ,]+[A-Z][\w.'-]*){{0,3}}|{_DATE_WORDS})\s*\([A-Z][\w .&'-]{{1,30}}\)\s*[-–—]+\s*"
    r"|[A-Z]{2,}(?:[ ,]+[A-Z]{2,}){0,3}\s*[-–—]+\s*"
    rf"|{_DATE_WORDS}\s*[-–—]+\s*"
    r"|[A-Z][A-Z.'-]+(?:\s[A-Z][A-Z.'-]+){0,3}:\s+"
    r")(?=[\"“‘'(\[]?[A-Z0-9])"
)

# Where a long paragraph may be cut before pysbd sees it: after ., ! or ? (and closing
# quotes), before a capital or an opening quote, and not after an initial or a common
# abbreviation.
_CHUNK_BOUNDARY = re.compile(r"(?<=[.!?])['\"’”)\]]*\s+(?=['\"“‘(\[]?[A-Z])")
_ABBREV_END = re.compile(
    r"(?:\b[A-Z]|\b(?:[A-Za-z]\.){2,}|\b(?:Mr|Mrs|Ms|Dr|Prof|Gen|Sen|Rep|Gov|Lt|Col|Sgt|Capt|St|No|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|vs|etc|Inc|Ltd|Co|Corp|Jr|Sr))\.$"
)


@dataclass
class Line:
    """One physical line (or piece of one) of an article: its text and file offset."""

    text: str
    start: int


@dataclass
class Paragraph:
    """Rejoined lines. ``segments`` maps paragraph offsets back to file offsets."""

    text: str = ""
    segments: list[tuple[int, int]] = field(default_factory=list)  # (paragraph offset, file offset)

    def add(self, line: Line) -> None:
        if self.text:
            self.text += " "
        self.segments.append((len(self.text), line.start))
        self.text += line.text

    def file_offset(self, pos: int) -> int:
        i = bisect.bisect_right([s[0] for s in self.segments], pos) - 1
        para_pos, file_pos = self.segments[max(i, 0)]
        return file_pos + (pos - para_pos)


class Report:
    """Counts of what each cleaning rule removed, with one example each."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.examples: dict[str, str] = {}

    def add(self, rule: str, text: str) -> None:
        self.counts[rule] = self.counts.get(rule, 0) + 1
        self.examples.setdefault(rule, " ".join(text.split())[:80])

    def rows(self, article_id: str) -> list[dict[str, Any]]:
        return [
            {"article_id": article_id, "rule": r, "count": self.counts[r], "example": self.examples[r]}
            for r in sorted(self.counts)
        ]


# --------------------------------------------------------------------------- reading

def read_article(path: str | Path) -> tuple[dict[str, str], str, int]:
    """Read one article file.

    Returns ``(metadata, body, body_offset)``: the ``# key: value`` header lines as a
    dict, the text after them, and the character offset of that text in the file.
    Raises :class:`StanceError` naming the file for an empty, binary or non-UTF-8 file.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise StanceError(f"{p}: cannot read: {exc.strerror}") from None
    if not data.strip():
        raise StanceError(f"{p}: empty file")
    if b"\0" in data:
        nul = data.index(b"\0")
        raise StanceError(f"{p}: binary file (NUL byte at offset {nul}), expected UTF-8 text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise StanceError(
            f"{p}: line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    meta: dict[str, str] = {}
    offset = 0
    for raw in text.split("\n"):
        m = re.match(r"^#\s*([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$", raw)
        if not m:
            break
        meta[m.group(1).lower()] = m.group(2)
        offset += len(raw) + 1
    body = text[offset:]
    if not body.strip():
        raise StanceError(f"{p}: no article text after the header lines")
    return meta, body, offset


# --------------------------------------------------------------------------- line rules

def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _is_title_line(text: str, max_words: int) -> bool:
    """Short Title Case line without final punctuation: a name, job title, banner or label."""
    if _TERMINAL.search(text):
        return False
    tokens = [t for t in re.split(r"[\s,]+", text) if t]
    if not tokens or len(tokens) > max_words:
        return False
    for tok in tokens:
        core = tok.strip("\"'“”‘’()[]:;")
        if not core:
            continue
        if core.lower() in _CONNECTORS or not core[0].isalpha():
            continue
        if not core[0].isupper():
            return False
    return True


def _is_timestamp(text: str) -> bool:
    tokens = [t for t in re.split(r"[\s,|:–—-]+", text.strip()) if t]
    return bool(tokens) and all(_DATE_TOKEN.match(t) for t in tokens) and any(ch.isdigit() for ch in text)


def classify_line(text: str, params: dict[str, Any]) -> str | None:
    """Return the name of the rule that drops this (stripped, non-empty) line, or None to keep it."""
    low = text.lower()
    n_words = len(_words(text))
    for pat in params["_always"]:
        if pat.search(text):
            return "link_or_credit"
    if n_words <= params["max_ui_words"]:
        for pat in params["_ui"]:
            if pat.search(low) or pat.search(text):
                return "page_furniture"
    for pat in params["_credit"]:
        if pat.search(text):
            return "caption_or_credit"
    if _is_timestamp(text):
        return "timestamp"
    if _MEETING.match(text) or _DOC_SYMBOL.match(text):
        return "meeting_or_symbol"
    if _BRACKETED.match(text) and n_words <= params["max_ui_words"]:
        return "bracketed_note"
    if n_words == 0:
        return "no_words"
    if not _TERMINAL.search(text) and not _ENDS_COMMA.search(text) and n_words < params["min_words_unpunctuated"]:
        return "short_fragment"
    if _is_title_line(text, params["max_title_words"]):
        return "name_or_title_block"
    return None


def _first_letter_is_lower(text: str) -> bool:
    for ch in text:
        if ch.isalpha():
            return ch.islower()
        if ch.isdigit():
            return False
    return False


def _continues(prev: str, nxt: str) -> bool:
    """Does line *nxt* continue the sentence that line *prev* left open?"""
    if _BULLET.match(nxt):
        return False
    if _ENDS_COMMA.search(prev):
        return True                      # '..., including Japan,"' + 'Wang said.'
    if _first_letter_is_lower(nxt):
        return True                      # '... adoption of China’s' + '"‘suspension for ...'
    return False


def clean_lines(body: str, body_offset: int, params: dict[str, Any], report: Report) -> list[list[Line]]:
    """Drop junk lines and group the kept ones into paragraphs (lists of lines to rejoin)."""
    max_tok = params["max_token_chars"]
    long_token = re.compile(r"\S{%d,}" % (max_tok + 1))
    paragraphs: list[list[Line]] = []
    pos = body_offset
    for raw in body.split("\n"):
        start_of_line = pos
        pos += len(raw) + 1
        # pieces between over-long tokens (a 1 MB run of non-space is not text)
        pieces: list[tuple[str, int]] = []
        cursor = 0
        for m in long_token.finditer(raw):
            pieces.append((raw[cursor:m.start()], cursor))
            report.add("long_token", m.group(0)[:80])
            cursor = m.end()
        pieces.append((raw[cursor:], cursor))
        for piece, off in pieces:
            stripped = piece.strip()
            if not stripped:
                continue
            lead = len(piece) - len(piece.lstrip())
            text = " ".join(stripped.split()) if "  " in stripped or "\t" in stripped else stripped
            bullet = _BULLET.match(text)
            if bullet:
                text = text[bullet.end():]
                lead += bullet.end()
                if not text:
                    continue
            rule = classify_line(text, params)
            if rule:
                report.add(rule, text)
                continue
            line = Line(text, start_of_line + off + lead)
            if paragraphs and not bullet and _continues(paragraphs[-1][-1].text, text):
                paragraphs[-1].append(line)
            else:
                paragraphs.append([line])
    return paragraphs


# --------------------------------------------------------------------------- sentences

_SEGMENTER = None


def _segmenter():
    global _SEGMENTER
    if _SEGMENTER is None:
        import pysbd

        _SEGMENTER = pysbd.Segmenter(language="en", clean=False)
    return _SEGMENTER


def _chunks(text: str, limit: int) -> Iterable[str]:
    """Cut *text* into pieces of about *limit* characters at likely sentence boundaries.

    pysbd's time grows faster than linearly with input length, so it must only see
    bounded pieces. Cuts are made after ``.!?`` that do not end an abbreviation; when a
    window has no such boundary the cut falls on whitespace (never inside a word).
    """
    start = 0
    n = len(text)
    while n - start > limit:
        window_end = start + limit
        cut = None
        for m in _CHUNK_BOUNDARY.finditer(text, start + limit // 4, min(n, start + 2 * limit)):
            if _ABBREV_END.search(text[max(start, m.start() - 12):m.start()]):
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


def segment(text: str, chunk_chars: int = 2000) -> list[str]:
    """Split one paragraph into sentences (pysbd, in bounded chunks). Returns stripped strings."""
    seg = _segmenter()
    out: list[str] = []
    for chunk in _chunks(text, chunk_chars):
        for piece in seg.segment(chunk):
            if not piece.strip():
                continue
            # pysbd sometimes cuts inside "paragraph 8(d) and 8(e)": a piece that does not
            # end like a sentence is continued by the next one (pieces keep their original
            # spacing, clean=False, so gluing them restores the source text).
            last = out[-1].rstrip() if out else ""
            if out and not _TERMINAL.search(last) and not last.endswith(":"):
                out[-1] += piece
            else:
                out.append(piece)
    return [s.strip() for s in out]


def strip_dateline(text: str) -> tuple[str, int]:
    """Remove a leading dateline or speaker label; return the text and how many chars were cut."""
    m = _DATELINE.match(text)
    if not m:
        return text, 0
    return text[m.end():], m.end()


def _resolve(params: dict[str, Any] | None) -> dict[str, Any]:
    p = dict(DEFAULTS)
    p.update({k: v for k, v in (params or {}).items() if v is not None})
    if p["on_bad_file"] not in ("fail", "skip"):
        raise StanceError(f"params split.on_bad_file: expected 'fail' or 'skip', got {p['on_bad_file']!r}")
    try:
        p["_ui"] = [re.compile(x, re.IGNORECASE) for x in UI_PATTERNS + list(p["ui_patterns"] or [])]
        p["_credit"] = [re.compile(x) for x in CREDIT_PATTERNS + list(p["credit_patterns"] or [])]
        p["_always"] = [re.compile(x) for x in ALWAYS_PATTERNS]
    except re.error as exc:
        raise StanceError(f"params split: invalid regular expression {exc.pattern!r}: {exc}") from None
    return p


def _merge_duplicates(sentences: list[dict[str, Any]], min_contained: int, report: Report) -> list[dict[str, Any]]:
    """Merge repeats inside one article.

    Sentences whose normalised text is equal are one example (the first is kept). A
    sentence of at least *min_contained* words whose normalised text appears, on word
    boundaries, inside a longer sentence of the same article (a pull quote repeated in
    the body with its attribution) is dropped in favour of the longer one.
    """
    norms = [normalize_text(s["text"]) for s in sentences]
    seen: set[str] = set()
    keep = [True] * len(sentences)
    for i, n in enumerate(norms):
        if n in seen:
            keep[i] = False
            report.add("duplicate", sentences[i]["text"])
        seen.add(n)
    # index 3-word shingles -> sentences containing them, to find containment in linear-ish time
    shingles: dict[tuple[str, ...], set[int]] = {}
    toks = [n.split() for n in norms]
    for i, words in enumerate(toks):
        if keep[i]:
            for j in range(len(words) - 2):
                shingles.setdefault(tuple(words[j:j + 3]), set()).add(i)
    for i, words in enumerate(toks):
        if not keep[i] or len(words) < min_contained:
            continue
        needle = f" {norms[i]} "
        for k in sorted(shingles.get(tuple(words[:3]), ())):
            if k != i and keep[k] and len(toks[k]) > len(words) and needle in f" {norms[k]} ":
                keep[i] = False
                report.add("repeated_quote", sentences[i]["text"])
                break
    return [s for s, k in zip(sentences, keep) if k]


def split_text(text: str, article_id: str, params: dict[str, Any] | None = None,
               report: Report | None = None, offset: int = 0) -> list[dict[str, Any]]:
    """Split article text (without header lines) into clean sentences.

    Parameters
    ----------
    text : str
        The article body.
    article_id : str
        Goes into every row and into the sentence ids.
    params : dict, optional
        The ``split`` section of params.yaml; missing keys take :data:`DEFAULTS`.
    report : Report, optional
        Collects what each rule dropped.
    offset : int
        Added to the character offsets (the length of the header lines).

    Returns
    -------
    list of dict
        One dict per sentence, in article order, with keys ``sentence_id, article_id,
        position, paragraph, start, end, text``; ``start``/``end`` are character
        offsets in the file.
    """
    p = params if params is not None and "_ui" in params else _resolve(params)
    report = report if report is not None else Report()
    out: list[dict[str, Any]] = []
    for para_no, lines in enumerate(clean_lines(text, offset, p, report)):
        para = Paragraph()
        for line in lines:
            para.add(line)
        body, cut = strip_dateline(para.text)
        if cut:
            report.add("dateline", para.text[:cut])
        cursor = cut
        for sent in segment(body, p["chunk_chars"]):
            at = para.text.find(sent, cursor)
            if at < 0:  # pysbd changed the text (should not happen with clean=False)
                at = cursor
            cursor = at + len(sent)
            clean = " ".join(sent.split())
            n_words = len(_words(clean))
            if n_words < p["min_words"]:
                report.add("short_sentence", clean)
                continue
            if len(clean) > p["max_sentence_chars"]:
                report.add("too_long", clean)
                continue
            rule = classify_line(clean, p)
            if rule in ("page_furniture", "caption_or_credit", "link_or_credit"):
                report.add(rule, clean)
                continue
            out.append({
                "article_id": article_id,
                "paragraph": para_no,
                "start": para.file_offset(at),
                "end": para.file_offset(at + len(sent) - 1) + 1,
                "text": clean,
            })
    out = _merge_duplicates(out, p["min_words_contained"], report)
    for position, row in enumerate(out):
        row["position"] = position
        row["sentence_id"] = sentence_id(article_id, row["text"])
    cols = ("sentence_id", "article_id", "position", "paragraph", "start", "end", "text")
    return [{c: r[c] for c in cols} for r in out]


def split_article(path: str | Path, params: dict[str, Any] | None = None) -> tuple[dict[str, str], list[dict], Report]:
    """Read and split one article file: ``(metadata, sentences, report)``."""
    p = _resolve(params)
    meta, body, offset = read_article(path)
    report = Report()
    sentences = split_text(body, Path(path).stem, p, report, offset)
    return meta, sentences, report


def split_corpus(raw_dir: str | Path, params: dict[str, Any] | None = None, warn=None):
    """Split every ``*.txt`` file of *raw_dir*, in file-name order.

    Returns three DataFrames: sentences, articles, report (see the module docstring).
    Bad files raise :class:`StanceError`, or are skipped with a warning (passed to
    *warn*, default stderr) when ``params['on_bad_file'] == 'skip'``.
    """
    import pandas as pd

    p = _resolve(params)
    raw = Path(raw_dir)
    if not raw.is_dir():
        raise StanceError(f"{raw}: input folder not found")
    files = sorted(raw.glob("*.txt"))
    if not files:
        raise StanceError(f"{raw}: no *.txt articles found")
    warn = warn or (lambda msg: print(f"stance split: warning: {msg}", file=sys.stderr))
    sentences: list[dict] = []
    articles: list[dict] = []
    report_rows: list[dict] = []
    for f in files:
        try:
            meta, sents, report = split_article(f, p)
        except StanceError as exc:
            if p["on_bad_file"] == "skip":
                warn(f"skipping {exc}")
                report_rows.append({"article_id": f.stem, "rule": "bad_file", "count": 1, "example": str(exc)[:80]})
                continue
            raise
        sentences.extend(sents)
        articles.append({
            "article_id": f.stem,
            "source": meta.get("source", ""),
            "title": meta.get("title", ""),
            "license": meta.get("license", ""),
            "n_sentences": len(sents),
        })
        report_rows.extend(report.rows(f.stem))
    cols = ["sentence_id", "article_id", "position", "paragraph", "start", "end", "text"]
    return (
        pd.DataFrame(sentences, columns=cols),
        pd.DataFrame(articles, columns=["article_id", "source", "title", "license", "n_sentences"]),
        pd.DataFrame(report_rows, columns=["article_id", "rule", "count", "example"]),
    )


# --------------------------------------------------------------------------- CLI

def add_split_arguments(parser) -> None:
    parser.add_argument("--raw", default=PATHS["raw"], help="folder of *.txt articles (default: %(default)s)")
    parser.add_argument("--sentences", default=PATHS["sentences"], help="output CSV (default: %(default)s)")
    parser.add_argument("--articles", default=PATHS["articles"], help="output CSV (default: %(default)s)")
    parser.add_argument("--report", default=PATHS["split_report"], help="output CSV (default: %(default)s)")
    parser.add_argument("--params", default=PATHS["params"], help="parameters file (default: %(default)s)")
    parser.add_argument("--skip-bad", action="store_true",
                        help="skip unreadable files with a warning instead of failing (split.on_bad_file=skip)")


def run_split(args) -> int:
    params = load_params(args.params, "split") if Path(args.params).exists() else {}
    if args.skip_bad:
        params["on_bad_file"] = "skip"
    sentences, articles, report = split_corpus(args.raw, params)
    # Everything is computed before anything is written: a bad file leaves old outputs intact.
    write_csv_atomic(args.sentences, sentences)
    write_csv_atomic(args.articles, articles)
    write_csv_atomic(args.report, report)
    dropped = int(report["count"].sum()) if len(report) else 0
    print(f"split {len(articles)} articles into {len(sentences)} sentences "
          f"({dropped} lines or sentences dropped or merged; see {args.report})", file=sys.stderr)
    return 0
