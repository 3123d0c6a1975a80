"""Split stage: raw article text -> clean sentences with stable ids.

Input is a folder of UTF-8 ``*.txt`` articles (article id = file stem; hidden files are
ignored). Each file may start with ``# key: value`` header lines (``source``, ``title``,
``license``), which are article metadata, never sentences. The text is cleaned line by
line with general rules (page furniture, captions, credits, datelines, title blocks,
timestamps, meeting numbers), lines broken in the middle of a sentence are rejoined
(after a comma or an open word such as "of" or "China's", before a lower-case word, or in
a hard-wrapped run), paragraphs are split into sentences with pysbd (in bounded chunks,
so time stays linear in the input), and repeated or near-identical sentences of one
article (pull quotes) are merged.

Outputs (see :func:`run_split`):

- ``sentences.csv``: ``sentence_id, article_id, position, paragraph, start, end, text``;
  ``start``/``end`` are character offsets into the decoded file text (header included).
- ``articles.csv``: ``article_id, source, title, license, n_sentences``
- ``split_report.csv``: ``article_id, rule, count, example`` - what each rule removed or
  merged, per article. Rules: ``page_furniture``, ``link_or_credit``,
  ``caption_or_credit``, ``timestamp``, ``meeting_or_symbol``, ``bracketed_note``,
  ``no_words``, ``short_fragment``, ``name_or_title_block``, ``long_token``,
  ``dateline``, ``short_sentence``, ``too_long``, ``duplicate``, ``repeated_quote`` and
  ``bad_file`` (a skipped file).

``sentence_id`` is a content hash of the article id and the normalised text, so it does
not move when other sentences are added, removed or reordered. Parameters: the ``split``
section of params.yaml (:data:`DEFAULTS`, checked by :func:`_resolve`).
"""

from __future__ import annotations

import bisect
import hashlib
import re
import sys
import unicodedata
from dataclasses import dataclass
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
    "keep_duplicate": "fullest",     # first | fullest: which of several equal sentences is kept
    "wrap_max_chars": 100,           # hard-wrapped text: runs of lines at most this long are rejoined
    "n_jobs": 1,                     # worker processes for many files (output does not depend on it)
    "ui_patterns": [],               # extra page-furniture regexes (case-insensitive)
    "credit_patterns": [],           # extra caption/credit regexes
    "headline_verbs": [],            # extra verbs (base form) that make a short Title Case line a headline
}

#: Integer parameters and their smallest allowed value.
_INT_MIN = {
    "min_words": 1, "min_words_unpunctuated": 0, "max_title_words": 0, "max_ui_words": 0,
    "max_token_chars": 1, "max_sentence_chars": 1, "chunk_chars": 200, "min_words_contained": 3,
    "wrap_max_chars": 0, "n_jobs": 1,
}
_LIST_PARAMS = ("ui_patterns", "credit_patterns", "headline_verbs")

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
    r"^(subscribe|sign up)\b",
    r"^(log ?in|sign in|register)\b(\s+\S+){0,3}$",
    r"\byour homepage\b",
    r"^(like|follow|join|find) us (on|at|via)\b",
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
    # "Photo: AP" / "File photo: ..." at the start or as the credit at the end of a line
    # (not anywhere: "the image: a missile" in a paragraph is text)
    r"^(?i:(file |handout |ap |reuters |afp )?(photo|photograph|picture|image|video)s?)\s*:",
    r"\b(?i:(photo|photograph|picture|image)s?)\s*:\s*[^.!?:]{1,60}$",
    r"\(\s*(?i:(file )?(photo|image|picture)s?)\s*:[^)]*\)",
    r"^\(\s*(?i:photo|image|picture)\b",
    r"\b[A-Z]{3,}/[A-Z][\w.'-]+(\s[A-Z][\w.'-]+)*\s*$",   # REUTERS/Jung Yeon-Je
    r"\((left|right|centre|center|top|bottom|front|L|R|C|[Ll]-[Rr])\)",
    r"^(?i:by|source|credit)\s*:",
]

#: Verbs that make a short Title Case line a headline with a claim ("China Rejects New
#: Sanctions", "Japan to Tighten Sanctions") rather than a name, job title or label. Given
#: in the base form; the -s, past and to-/will- forms are recognised (see _verb_forms).
#: Words that are mostly nouns in their -s form (ban, call, test, plan...) are left out.
HEADLINE_VERBS = [
    "accuse", "adopt", "agree", "announce", "approve", "ask", "back", "condemn", "consider",
    "criticise", "criticize", "decry", "defy", "denounce", "deny", "dismiss", "ease", "evade",
    "expand", "extend", "fail", "impose", "insist", "lift", "oppose", "pass", "praise", "propose",
    "push", "reaffirm", "refuse", "reject", "relax", "renew", "resume", "say", "seek", "slam",
    "slap", "strengthen", "stress", "tell", "threaten", "tighten", "toughen", "urge", "veto",
    "violate", "vow", "want", "warn", "weaken", "welcome",
]
_IRREGULAR = {"say": ["said"], "tell": ["told"], "seek": ["sought"]}
#: Auxiliaries and modals: any of them makes a line a clause, not a label.
_FINITE = {
    "is", "are", "was", "were", "will", "would", "can", "could", "should", "must", "may", "might",
    "shall", "has", "have", "had", "does", "did", "won't", "can't", "isn't", "aren't", "wasn't",
    "won’t", "can’t", "isn’t", "aren’t", "wasn’t", "don't", "doesn't", "don’t", "doesn’t",
}


def _verb_forms(bases: Iterable[str]) -> dict[str, set[str]]:
    """``{"finite": {-s and past forms}, "base": {base forms}}`` of the given verbs."""
    finite: set[str] = set()
    base: set[str] = set()
    for b in bases:
        b = b.strip().lower()
        if not b:
            continue
        base.add(b)
        if re.search(r"(s|sh|ch|x|z|o)$", b):
            finite.add(b + "es")
        elif re.search(r"[^aeiou]y$", b):
            finite.add(b[:-1] + "ies")
        else:
            finite.add(b + "s")
        if b.endswith("e"):
            finite.add(b + "d")
        elif re.search(r"[^aeiou]y$", b):
            finite.add(b[:-1] + "ied")
        else:
            finite.add(b + "ed")
            if re.search(r"[^aeiou][aeiou][bdgklmnprt]$", b):
                finite.add(b + b[-1] + "ed")   # slam -> slammed, slap -> slapped
        finite.update(_IRREGULAR.get(b, []))
    return {"finite": finite, "base": base}


def _has_verb(tokens: list[str], verbs: dict[str, set[str]]) -> bool:
    """Does a (Title Case) line contain a finite verb: an auxiliary, a known verb in its
    -s or past form, or a known verb's base form after "to"/"will"/a modal?"""
    words = [t.strip("\"'“”‘’()[]:;,.!?").lower() for t in tokens]
    for i, w in enumerate(words):
        if w == "may" and i + 1 < len(words) and words[i + 1][:1].isdigit():
            continue                     # the month: "Briefing on May 31"
        if w in _FINITE or w in verbs["finite"]:
            return True
        if w in verbs["base"] and i > 0 and words[i - 1] in ({"to"} | _FINITE):
            return True
    return False


_MONTHS = ("jan|january|feb|february|mar|march|apr|april|may|jun|june|jul|july|aug|august|"
           "sep|sept|september|oct|october|nov|november|dec|december")
_DAYS = "mon|monday|tue|tues|tuesday|wed|wednesday|thu|thur|thurs|thursday|fri|friday|sat|saturday|sun|sunday"
_DATE_TOKEN = re.compile(
    rf"^(?:{_MONTHS}|{_DAYS}|\d{{1,4}}(?:st|nd|rd|th)?|\d{{1,4}}([/.:-]\d{{1,4}}){{1,2}}|am|pm|a\.m\.|p\.m\.|"
    r"gmt|utc|est|edt|cet|kst|updated|published|posted|last|modified|at|on|of|the)\.?$",
    re.IGNORECASE,
)
_MEETING = re.compile(r"^\d+(st|nd|rd|th)(\s*(&|and|,)\s*\d+(st|nd|rd|th))*\s+meetings?\b", re.IGNORECASE)
_DOC_SYMBOL = re.compile(r"^[A-Z]{1,5}(/[A-Z0-9.]+)+$")
_BRACKETED = re.compile(r"^[(\[].*[)\]]$")
_TERMINAL = re.compile(r"[.!?…]['\"’”»)\]]*$")
_ENDS_COMMA = re.compile(r"[,;]['\"’”»]*$")
_WORD = re.compile(r"[^\W\d_][\w'’.-]*", re.UNICODE)
_CONNECTORS = {"of", "the", "to", "for", "and", "on", "in", "at", "a", "an", "by", "with", "de", "&", "-", "–", "—"}
_BULLET = re.compile(r"^\s*([•●▪◦‣∙·*]|[-–](?=\s)|\d{1,2}[.)](?=\s))\s*")

# Datelines at the start of a paragraph: "BEIJING (Reuters) -", "Beijing (Telephost) -",
# "UNITED NATIONS, Sept 11 (Reuters) -", "Sept. 1, 2017 (EIRNS)—", "WASHINGTON —",
# "SEOUL, Sept. 12 --", "11/30/16 –". And speaker labels: "SECRETARY TILLERSON:".
# A hyphen needs a space before it ("US-China talks" is not a dateline); en/em dashes may
# be attached ("WASHINGTON—The ...").
_DATE_WORDS = (rf"(?:(?i:{_MONTHS})\.?\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+(?i:{_MONTHS})\.?\s+\d{{4}}"
               r"|\d{1,2}/\d{1,2}/\d{2,4})")
_DASH = r"(?:\s+-+|\s*[–—]+|\s*--+)\s*"
_DATELINE = re.compile(
    r"^(?:"
    rf"(?:[A-Z][\w.'-]*(?:,?\s+(?:[A-Z][\w.'-]*|\d{{1,4}}),?){{0,5}}|{_DATE_WORDS})\s*\([A-Z][\w .&'-]{{1,30}}\)\s*[-–—]+\s*"
    rf"|[A-Z]{{2,}}(?:[ ,]+[A-Z]{{2,}}){{0,3}}(?:,?\s+(?i:{_MONTHS})\.?\s+\d{{1,2}}(?:,?\s+\d{{4}})?)?{_DASH}"
    rf"|{_DATE_WORDS}{_DASH}"
    r"|[A-Z][A-Z.'-]+(?:\s[A-Z][A-Z.'-]+){0,3}:\s+"
    r")(?=[\"“‘'(\[]?[A-Z0-9])"
)

#: Photo captions: a "FILE -" / "FILE PHOTO" prefix, or a line that ends with a place and a
#: full date after a comma ("..., Seoul, South Korea, March 3, 2016.").
_CAPTION_PREFIX = re.compile(r"^(?:FILE|File)(?:\s+(?:PHOTO|Photo))?\s*(?:[-–—:]|$)")
_CAPTION_DATE_END = re.compile(rf",\s+[A-Z][^,]{{0,40}},\s+{_DATE_WORDS}\.?['\"’”]*$")
#: A reporter's sign-in: "VOA's David Gollust reports from the State Department."
_REPORTER_SIGNIN = re.compile(
    r"^(?:[A-Z]{2,6}['’]s\s+)?[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){1,3}\s+reports?\s+from\s+[^,;:]{1,60}\.$")
#: What the outlet says about itself or its sources, not what the article reports.
_OUTLET_BOILERPLATE = [
    re.compile(r"(?i)\binformation (?:for|in) this (?:report|article|story)\b.*\bprovided by\b"),
    re.compile(r"(?i)\b(?:weekly|monthly|daily) audience\b"),
    re.compile(r"(?i)\bbyline\b.*\b(?:journalists|reporters|wire services?)\b"),
]
#: A compact date glued to the text, as press summaries print it: "20161201 morning1All papers ...".
_DATE_PREFIX = re.compile(r"^(?:19|20)\d{6}(?:\s*[a-z]+\d*)?\s*(?=[\"“‘'(\[]?[A-Z])")
#: A transcript speaker label in Title Case: "Ambassador Craft: You know, ...".
_SPEAKER_LABEL = re.compile(r"^[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,2}:\s+(?=[\"“‘'(\[]?[A-Z0-9])")

# Where a long paragraph may be cut before pysbd sees it: after ., ! or ? (and closing
# quotes), before a capital or an opening quote, and not after an initial or a common
# abbreviation.
_CHUNK_BOUNDARY = re.compile(r"(?<=[.!?])['\"’”)\]]*\s+(?=['\"“‘(\[]?[A-Z])")
#: Titles written before a name: a sentence never ends on them.
TITLE_ABBREVIATIONS = ["Mr", "Mrs", "Ms", "Mx", "Dr", "Prof", "Gen", "Sen", "Rep", "Gov", "Lt", "Col", "Sgt",
                       "Capt", "Cmdr", "Adm", "Amb", "Maj", "Pres", "Rev", "Hon", "Fr", "Sec", "Supt"]
_TITLE_ABBREV_END = re.compile(r"(?<![\w.])(?:%s)\.$" % "|".join(TITLE_ABBREVIATIONS))
_ABBREV_END = re.compile(
    r"(?:\b[A-Z]|\b(?:[A-Za-z]\.){2,}|\b(?:%s|St|No|Nos|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|"
    r"vs|etc|Inc|Ltd|Co|Corp|Jr|Sr|approx|est|fig|vol|art|para|paras|cf))\.$" % "|".join(TITLE_ABBREVIATIONS)
)


@dataclass
class Line:
    """One physical line (or piece of one) of an article: its text and file offset."""

    text: str
    start: int


_RUN = re.compile(r"\S+(?: \S+)*")


class Paragraph:
    """Rejoined lines of one paragraph, with a map from paragraph offsets to file offsets.

    ``text`` is the lines joined with single spaces, every run of whitespace collapsed
    to one space (pysbd segments "end.  Next" differently from "end. Next"). Each run of
    text between irregular whitespace is recorded with its paragraph and file offsets,
    so :meth:`file_offset` is exact for every non-space character. Building and lookups
    are linear / logarithmic in the paragraph length.
    """

    def __init__(self, lines: Iterable[Line] = ()) -> None:
        parts: list[str] = []
        self._para_pos: list[int] = []   # paragraph offset where each run starts
        self._file_pos: list[int] = []   # file offset of the same character
        length = 0
        for line in lines:
            for m in _RUN.finditer(line.text):
                if parts:
                    length += 1
                self._para_pos.append(length)
                self._file_pos.append(line.start + m.start())
                parts.append(m.group(0))
                length += m.end() - m.start()
        self.text = " ".join(parts)

    def file_offset(self, pos: int) -> int:
        """File offset of the character at paragraph offset *pos*."""
        i = max(bisect.bisect_right(self._para_pos, pos) - 1, 0)
        return self._file_pos[i] + (pos - self._para_pos[i])


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

_UTF_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"),
)


def read_article(path: str | Path) -> tuple[dict[str, str], str, int]:
    """Read one article file.

    Returns ``(metadata, body, body_offset)``: the ``# key: value`` header lines as a
    dict (keys lower-cased), the text after them, and the character offset of that text
    in the decoded file. Offsets count every character of the file as decoded (a
    byte-order mark and the ``\\r`` of ``\\r\\n`` line ends included), so ``start``/``end``
    of the sentences index the file's text. Raises :class:`StanceError` naming the file
    for an unreadable, empty, binary, UTF-16/32 or otherwise non-UTF-8 file, or one with
    nothing after its header lines.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise StanceError(f"{p}: cannot read: {exc.strerror or exc}") from None
    if not data.strip():
        raise StanceError(f"{p}: empty file")
    for bom, name in _UTF_BOMS:
        if data.startswith(bom):
            raise StanceError(f"{p}: {name} text (byte-order mark), expected UTF-8; re-save the file as UTF-8")
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
    offset = 1 if text.startswith("\ufeff") else 0
    # a lone CR (old Mac line end) becomes LF: same length, so offsets do not move;
    # the CR of CRLF stays in the text and is stripped with the line's other whitespace
    text = re.sub(r"\r(?!\n)", "\n", text[offset:])
    meta: dict[str, str] = {}
    consumed = 0
    for raw in text.split("\n"):
        m = re.match(r"^#\s*([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$", raw)
        if not m:
            break
        meta[m.group(1).lower()] = m.group(2)
        consumed += len(raw) + 1
    body = text[consumed:]
    if not body.strip():
        what = "no article text after the header lines" if meta else "empty file"
        raise StanceError(f"{p}: {what}")
    return meta, body, offset + consumed


# --------------------------------------------------------------------------- line rules

def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _is_title_line(text: str, max_words: int, verbs: dict[str, set[str]] | None = None) -> bool:
    """Short Title Case line without final punctuation or verb: a name, job title, banner or label.

    A line with a finite verb (see :func:`_has_verb`) is a headline and is not a title line.
    """
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
    return not (verbs and _has_verb(tokens, verbs))


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
    if _CAPTION_PREFIX.match(text) or _CAPTION_DATE_END.search(text):
        return "photo_caption"
    if _REPORTER_SIGNIN.match(text):
        return "reporter_signin"
    if any(pat.search(text) for pat in _OUTLET_BOILERPLATE):
        return "outlet_boilerplate"
    if _is_timestamp(text):
        return "timestamp"
    if _MEETING.match(text) or _DOC_SYMBOL.match(text):
        return "meeting_or_symbol"
    if _BRACKETED.match(text) and n_words <= params["max_ui_words"]:
        return "bracketed_note"
    if n_words == 0:
        return "no_words"
    if (not _TERMINAL.search(text) and not _ENDS_COMMA.search(text) and n_words < params["min_words_unpunctuated"]
            and not (n_words >= params["min_words"] and _has_verb(text.split(), params["_verbs"]))):
        return "short_fragment"
    if _is_title_line(text, params["max_title_words"], params["_verbs"]):
        return "name_or_title_block"
    return None


def _first_letter_is_lower(text: str) -> bool:
    for ch in text:
        if ch.isalpha():
            return ch.islower()
        if ch.isdigit():
            return False
    return False


#: Words a sentence does not end on: a line ending with one continues on the next line.
_OPEN_WORDS = {
    "a", "an", "the", "of", "to", "for", "and", "or", "but", "nor", "with", "by", "from", "in", "on", "at",
    "as", "into", "onto", "upon", "than", "that", "which", "who", "whose", "whom", "its", "their", "his",
    "her", "our", "your", "my", "this", "these", "those", "between", "against", "about", "after",
    "before", "during", "including", "amid", "among", "over", "under", "via", "if", "because",
    "although", "while", "whether",
}
_LAST_WORD = re.compile(r"([\w’'.-]+)\W*$")


def _open_ended(prev: str) -> bool:
    """Does line *prev* stop where no sentence can stop (after "of", "China’s", "Mr.")?"""
    if _TITLE_ABBREV_END.search(prev):
        return True
    if _TERMINAL.search(prev) or prev.endswith(":"):
        return False
    m = _LAST_WORD.search(prev)
    if not m:
        return False
    word = m.group(1)
    if prev[m.end(1):].strip():          # ends with a quote, bracket or dash: leave it
        return False
    return word.lower() in _OPEN_WORDS or bool(re.search(r"\w['’]s$", word))


def _headline_case(text: str, min_words: int = 6) -> bool:
    """Is *text* set like a headline: at least *min_words* words, nearly all capitalised?"""
    words = [w for w in _words(text) if w.lower() not in _CONNECTORS]
    if len(words) < min_words:
        return False
    return sum(w[0].isupper() for w in words) >= 0.8 * len(words)


def _continues(prev: str, nxt: str) -> bool:
    """Does line *nxt* continue the sentence that line *prev* left open?"""
    if _BULLET.match(nxt):
        return False
    if _headline_case(prev) and not _first_letter_is_lower(nxt) and not _headline_case(nxt, 1):
        return False                     # 'Peril Real, Stress Japan, ... Needed,' + 'The absence of ...'
    if _ENDS_COMMA.search(prev):
        return True                      # '..., including Japan,"' + 'Wang said.'
    if _first_letter_is_lower(nxt):
        return True                      # '... adoption of China’s' + '"‘suspension for ...'
    return _open_ended(prev)             # '... talks with' + 'President Xi on Tuesday.'


def _wrapped(run: list[str], max_chars: int) -> bool:
    """Is this run of adjacent lines (no blank or dropped line between) hard-wrapped prose?

    Three or more lines; all but the last at most *max_chars* long, the longest at least
    40, none shorter than half the longest; not all of them ending with final
    punctuation; and at least one line break inside the run visibly in mid-sentence
    (:func:`_continues`: a comma or "of" before it, a lower-case word after it). A list
    of headlines or of one-line sentences does not look like this.
    """
    if max_chars <= 0 or len(run) < 3:
        return False
    body = run[:-1]
    longest = max(len(t) for t in body)
    if longest > max_chars or longest < 40 or any(len(t) < longest / 2 for t in body):
        return False
    if all(_TERMINAL.search(t) for t in body):
        return False
    return any(_continues(a, b) for a, b in zip(run, run[1:]))


def _repeated_lines(lines: list[str]) -> set[int]:
    """Indices of non-blank lines equal to the next non-blank line, and of that next line.

    Page captions are printed twice in a row (the image's alt text and its caption); a
    sentence of the article never is.
    """
    out: set[int] = set()
    prev = None
    for i, raw in enumerate(lines):
        text = " ".join(raw.split())
        if not text:
            continue
        if prev is not None and text == prev[1] and len(_words(text)) >= 3:
            out.update((prev[0], i))
        prev = (i, text)
    return out


def clean_lines(body: str, body_offset: int, params: dict[str, Any], report: Report) -> list[list[Line]]:
    """Drop junk lines and group the kept ones into paragraphs (lists of lines to rejoin).

    Parameters
    ----------
    body : str
        Article text without its header lines.
    body_offset : int
        File offset of *body* (added to every line's ``start``).
    params : dict
        Resolved ``split`` params (see :func:`_resolve`).
    report : Report
        Receives one entry per dropped line.

    Returns
    -------
    list of list of Line
        Paragraphs in article order. A line joins the previous paragraph when it
        continues its sentence (:func:`_continues`) or when both lie in a run of
        hard-wrapped lines (:func:`_wrapped`); a bullet always starts a paragraph.
        ``Line.text`` keeps the file's characters (inner spacing included), so offsets
        inside a line map one to one onto the file.
    """
    max_tok = params["max_token_chars"]
    long_token = re.compile(r"\S{%d,}" % (max_tok + 1))
    kept: list[tuple[Line, bool, bool]] = []     # (line, is_bullet, directly follows the previous kept line)
    adjacent = False
    pos = body_offset
    raw_lines = body.split("\n")
    repeated = _repeated_lines(raw_lines)
    for index, raw in enumerate(raw_lines):
        start_of_line = pos
        pos += len(raw) + 1
        if not raw.strip():
            adjacent = False
            continue
        if index in repeated:            # a photo caption printed twice in a row
            report.add("photo_caption", raw.strip())
            adjacent = False
            continue
        # pieces between over-long tokens (a 1 MB run of non-space is not text)
        pieces: list[tuple[str, int]] = []
        cursor = 0
        for m in long_token.finditer(raw):
            pieces.append((raw[cursor:m.start()], cursor))
            report.add("long_token", m.group(0)[:80])
            cursor = m.end()
        if cursor:
            adjacent = False
        pieces.append((raw[cursor:], cursor))
        for piece, off in pieces:
            text = piece.strip()
            if not text:
                continue
            lead = len(piece) - len(piece.lstrip())
            bullet = _BULLET.match(text)
            if bullet:
                text = text[bullet.end():]
                lead += bullet.end()
                if not text:
                    continue
            rule = classify_line(" ".join(text.split()), params)
            if rule:
                report.add(rule, text)
                adjacent = False
                continue
            kept.append((Line(text, start_of_line + off + lead), bool(bullet), adjacent))
            adjacent = True
    # runs of adjacent, non-bullet lines that look hard-wrapped are joined whole
    wrapped = [False] * len(kept)
    i = 0
    while i < len(kept):
        j = i + 1
        while j < len(kept) and kept[j][2] and not kept[j][1]:
            j += 1
        if _wrapped([k[0].text for k in kept[i:j]], params["wrap_max_chars"]):
            for k in range(i + 1, j):
                wrapped[k] = True
        i = j
    paragraphs: list[list[Line]] = []
    for k, (line, bullet, _adj) in enumerate(kept):
        if paragraphs and not bullet and (wrapped[k] or _continues(paragraphs[-1][-1].text, line.text)):
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
        for m in _CHUNK_BOUNDARY.finditer(text, start + span // 4, min(n, start + 2 * span)):
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
            if out and ((not _TERMINAL.search(last) and not last.endswith(":")) or _TITLE_ABBREV_END.search(last)):
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
    """Check the ``split`` params, fill in :data:`DEFAULTS` and compile the patterns.

    Raises :class:`StanceError` naming the key for an unknown key, a value of the wrong
    type or range, or an invalid regular expression.
    """
    if params is not None and "_ui" in params:
        return params
    if params is not None and not isinstance(params, dict):
        raise StanceError(f"params split: expected a mapping, got {params!r}")
    given = {k: v for k, v in (params or {}).items() if v is not None}
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise StanceError(f"params split: unknown key {unknown[0]!r} (known: {', '.join(sorted(DEFAULTS))})")
    p = dict(DEFAULTS)
    p.update(given)
    if p["on_bad_file"] not in ("fail", "skip"):
        raise StanceError(f"params split.on_bad_file: expected 'fail' or 'skip', got {p['on_bad_file']!r}")
    if p["keep_duplicate"] not in ("first", "fullest"):
        raise StanceError(f"params split.keep_duplicate: expected 'first' or 'fullest', got {p['keep_duplicate']!r}")
    for key, low in _INT_MIN.items():
        v = p[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise StanceError(f"params split.{key}: expected an integer >= {low}, got {v!r}")
    for key in _LIST_PARAMS:
        v = p[key]
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise StanceError(f"params split.{key}: expected a list of non-empty strings, got {v!r}")
    try:
        p["_ui"] = [re.compile(x, re.IGNORECASE) for x in UI_PATTERNS + p["ui_patterns"]]
        p["_credit"] = [re.compile(x) for x in CREDIT_PATTERNS + p["credit_patterns"]]
        p["_always"] = [re.compile(x) for x in ALWAYS_PATTERNS]
    except re.error as exc:
        raise StanceError(f"params split: invalid regular expression {exc.pattern!r}: {exc}") from None
    p["_verbs"] = _verb_forms(HEADLINE_VERBS + [v.lower() for v in p["headline_verbs"]])
    return p


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


#: Line rules that also drop a whole sentence found inside a longer line.
_SENTENCE_RULES = ("page_furniture", "caption_or_credit", "link_or_credit", "photo_caption", "reporter_signin",
                   "outlet_boilerplate", "bracketed_note")


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
    p = _resolve(params)
    report = report if report is not None else Report()
    out: list[dict[str, Any]] = []
    for para_no, lines in enumerate(clean_lines(text, offset, p, report)):
        para = Paragraph(lines)
        body, cut = para.text, 0
        for rule, strip in (("date_prefix", _DATE_PREFIX), ("dateline", _DATELINE), ("speaker_label", _SPEAKER_LABEL)):
            m = strip.match(body)
            if m and m.end():
                report.add(rule, body[:m.end()])
                body, cut = body[m.end():], cut + m.end()
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
            if rule in _SENTENCE_RULES:
                report.add(rule, clean)
                continue
            out.append({
                "article_id": article_id,
                "paragraph": para_no,
                "start": para.file_offset(at),
                "end": para.file_offset(at + len(sent) - 1) + 1,
                "text": clean,
            })
    out = _merge_duplicates(out, p["min_words_contained"], report, p["keep_duplicate"])
    for position, row in enumerate(out):
        row["position"] = position
        row["sentence_id"] = sentence_id(article_id, row["text"])
    cols = ("sentence_id", "article_id", "position", "paragraph", "start", "end", "text")
    return [{c: r[c] for c in cols} for r in out]


def split_article(path: str | Path, params: dict[str, Any] | None = None) -> tuple[dict[str, str], list[dict], Report]:
    """Read and split one article file.

    Parameters
    ----------
    path : str or Path
        A UTF-8 text file; its stem is the article id.
    params : dict, optional
        The ``split`` section of params.yaml (missing keys take :data:`DEFAULTS`).

    Returns
    -------
    (dict, list of dict, Report)
        The header metadata, the sentences (see :func:`split_text`) and what each rule
        dropped. Raises :class:`StanceError` for a bad file (see :func:`read_article`).
    """
    p = _resolve(params)
    meta, body, offset = read_article(path)
    report = Report()
    sentences = split_text(body, Path(path).stem, p, report, offset)
    return meta, sentences, report


_WORKER_PARAMS: dict[str, Any] | None = None


def _init_worker(params: dict[str, Any]) -> None:
    global _WORKER_PARAMS
    _WORKER_PARAMS = params


def _split_file(path: Path, params: dict[str, Any] | None = None):
    """``(article_id, meta, sentences, report rows, error message or None)`` for one file."""
    p = params if params is not None else _WORKER_PARAMS
    try:
        meta, sents, report = split_article(path, p)
    except StanceError as exc:
        return path.stem, None, None, [], str(exc)
    return path.stem, meta, sents, report.rows(path.stem), None


def list_articles(raw_dir: str | Path) -> list[Path]:
    """The ``*.txt`` files of *raw_dir* in name order (hidden ``.*`` files left out).

    Raises :class:`StanceError` when the folder is missing or holds no articles.
    """
    raw = Path(raw_dir)
    if not raw.is_dir():
        raise StanceError(f"{raw}: input folder not found")
    files = sorted((f for f in raw.glob("*.txt") if not f.name.startswith(".")), key=lambda f: f.name)
    if not files:
        raise StanceError(f"{raw}: no *.txt articles found")
    return files


def split_corpus(raw_dir: str | Path, params: dict[str, Any] | None = None, warn=None):
    """Split every ``*.txt`` file of *raw_dir*, in file-name order.

    Parameters
    ----------
    raw_dir : str or Path
        Folder of articles (see :func:`list_articles`).
    params : dict, optional
        The ``split`` section of params.yaml. ``n_jobs > 1`` splits the files in that
        many worker processes; the result is identical and in the same order.
    warn : callable, optional
        Receives one message per skipped file (default: print to stderr).

    Returns
    -------
    sentences, articles, report : pandas.DataFrame
        ``sentence_id, article_id, position, paragraph, start, end, text`` (sorted by
        article id and position); ``article_id, source, title, license, n_sentences``;
        ``article_id, rule, count, example`` (one row per article and rule; a skipped
        file has rule ``bad_file``).

    Bad files raise :class:`StanceError` (the first in name order), or are skipped with
    a warning when ``params['on_bad_file'] == 'skip'``; if no file at all can be read
    the stage fails either way.
    """
    import pandas as pd

    p = _resolve(params)
    raw = Path(raw_dir)
    files = list_articles(raw)
    warn = warn or (lambda msg: print(f"stance split: warning: {msg}", file=sys.stderr))
    sentences: list[dict] = []
    articles: list[dict] = []
    report_rows: list[dict] = []
    n_jobs = min(p["n_jobs"], len(files))
    pool = None
    if n_jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(n_jobs, initializer=_init_worker, initargs=(p,))
        results = pool.map(_split_file, files, chunksize=max(1, min(64, len(files) // (4 * n_jobs))))
    else:
        results = (_split_file(f, p) for f in files)
    try:
        for f, (stem, meta, sents, rows, error) in zip(files, results):
            if error is not None:
                if p["on_bad_file"] != "skip":
                    raise StanceError(error)
                warn(f"skipping {error}")
                short = error.replace(str(f), f.name, 1)     # no folder paths in the report
                report_rows.append({"article_id": stem, "rule": "bad_file", "count": 1, "example": short[:120]})
                continue
            sentences.extend(sents)
            articles.append({
                "article_id": stem,
                "source": meta.get("source", ""),
                "title": meta.get("title", ""),
                "license": meta.get("license", ""),
                "n_sentences": len(sents),
            })
            report_rows.extend(rows)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    if not articles:
        raise StanceError(f"{raw}: none of the {len(files)} *.txt files could be read")
    ids = [s["sentence_id"] for s in sentences]
    if len(set(ids)) != len(ids):  # would need a 64-bit hash collision
        raise StanceError("two different sentences got the same sentence_id; please report this")
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
    parser.add_argument("--report", default=PATHS["split_report"],
                        help="per-article, per-rule counts of dropped/merged lines (default: %(default)s)")
    parser.add_argument("--params", default=None,
                        help=f"parameters file, section 'split' (default: {PATHS['params']} if present, else built-in defaults)")
    parser.add_argument("--skip-bad", action="store_true",
                        help="skip unreadable files with a warning instead of failing (split.on_bad_file=skip)")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="worker processes (overrides split.n_jobs; the output does not depend on it)")


def run_split(args) -> int:
    if args.params is not None:
        params = load_params(args.params, "split")
    elif Path(PATHS["params"]).is_file():
        params = load_params(PATHS["params"], "split")
    else:
        params = {}
    params = dict(params)
    if args.skip_bad:
        params["on_bad_file"] = "skip"
    if args.jobs is not None:
        params["n_jobs"] = args.jobs
    sentences, articles, report = split_corpus(args.raw, params)
    # Everything is computed before anything is written: a bad file leaves old outputs intact.
    write_csv_atomic(args.sentences, sentences)
    write_csv_atomic(args.articles, articles)
    write_csv_atomic(args.report, report)
    dropped = int(report["count"].sum()) if len(report) else 0
    print(f"split {len(articles)} articles into {len(sentences)} sentences "
          f"({dropped} lines or sentences dropped or merged; see {args.report})", file=sys.stderr)
    return 0
