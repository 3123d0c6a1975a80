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
  ``dateline``, ``short_sentence``, ``too_long``, ``duplicate``, ``repeated_quote``,
  ``media_player``, ``category_tags``, ``masthead``, ``delivery_note``, ``editorial_note``,
  ``dated_caption``, ``repeated_headline``, ``footnote_marker``, ``glued_words``,
  ``broken_line``, ``speech_opening`` and ``bad_file`` (a skipped file).

``sentence_id`` is a content hash of the article id and the normalised text, so it does
not move when other sentences are added, removed or reordered. Parameters: the ``split``
section of params.yaml (:class:`pipeline.params.SplitParams`).
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import _split_rules as R
from pipeline._segment import _CHUNK_MARKS, _chunks, _pieces
from pipeline._split_duplicates import _merge_duplicates
from pipeline._split_io import check_raw_file, list_articles, read_article
from pipeline.config import PATHS, StanceError, add_path_argument, repo_root
from pipeline.data import (
    ARTICLE_COLUMNS,
    SENTENCE_COLUMNS,
    SPLIT_REPORT_COLUMNS,
    sentence_id,
    write_csv_atomic,
)
from pipeline.params import SplitParams, coerce, load_section, to_dict

log = logging.getLogger("stance")

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


# --------------------------------------------------------------------------- line rules

def _words(text: str) -> list[str]:
    return R.WORD.findall(text)


def _is_title_line(text: str, max_words: int, verbs: dict[str, set[str]] | None = None) -> bool:
    """Short Title Case line without final punctuation or verb: a name, job title, banner or label.

    A line with a finite verb (see :func:`R.has_verb`) is a headline and is not a title line.
    """
    if R.TERMINAL.search(text):
        return False
    tokens = [t for t in re.split(r"[\s,]+", text) if t]
    if not tokens or len(tokens) > max_words:
        return False
    for tok in tokens:
        core = tok.strip("\"'“”‘’()[]:;")
        if not core:
            continue
        if core.lower() in R.CONNECTORS or not core[0].isalpha():
            continue
        if not core[0].isupper():
            return False
    return not (verbs and R.has_verb(tokens, verbs))


def _is_timestamp(text: str) -> bool:
    tokens = [t for t in re.split(r"[\s,|:–—-]+", text.strip()) if t]
    return bool(tokens) and all(R.DATE_TOKEN.match(t) for t in tokens) and any(ch.isdigit() for ch in text)


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
    rule = _news_furniture(text) or R.release_furniture(text)
    if rule:
        return rule
    if _is_timestamp(text):
        return "timestamp"
    if R.MEETING.match(text) or R.DOC_SYMBOL.match(text):
        return "meeting_or_symbol"
    if R.BRACKETED.match(text) and n_words <= params["max_ui_words"]:
        return "bracketed_note"
    if n_words == 0:
        return "no_words"
    if (not R.TERMINAL.search(text) and not R.ENDS_COMMA.search(text) and n_words < params["min_words_unpunctuated"]
            and not (n_words >= params["min_words"] and R.has_verb(text.split(), params["_verbs"]))):
        return "short_fragment"
    if _is_title_line(text, params["max_title_words"], params["_verbs"]):
        return "name_or_title_block"
    if R.MEETING_LABEL.search(text):
        return "meeting_or_symbol"
    return None


def _news_furniture(text: str) -> str | None:
    """Photo captions, reporters' sign-ins and the outlet's boilerplate about itself."""
    if R.CAPTION_PREFIX.match(text) or R.CAPTION_DATE_END.search(text):
        return "photo_caption"
    if R.REPORTER_SIGNIN.match(text):
        return "reporter_signin"
    if any(pat.search(text) for pat in R.OUTLET_BOILERPLATE):
        return "outlet_boilerplate"
    return None


def _first_letter_is_lower(text: str) -> bool:
    for ch in text:
        if ch.isalpha():
            return ch.islower()
        if ch.isdigit():
            return False
    return False


#: Words a sentence does not end on: a line ending with one continues on the next line.
def _open_ended(prev: str) -> bool:
    """Does line *prev* stop where no sentence can stop (after "of", "China’s", "Mr.")?"""
    if R.TITLE_ABBREV_END.search(prev):
        return True
    if R.TERMINAL.search(prev) or prev.endswith(":"):
        return False
    m = R.LAST_WORD.search(prev)
    if not m:
        return False
    word = m.group(1)
    if prev[m.end(1):].strip():          # ends with a quote, bracket or dash: leave it
        return False
    return word.lower() in R.OPEN_WORDS or bool(re.search(r"\w['’]s$", word))


def _headline_case(text: str, min_words: int = 6) -> bool:
    """Is *text* set like a headline: at least *min_words* words, nearly all capitalised?"""
    words = [w for w in _words(text) if w.lower() not in R.CONNECTORS]
    if len(words) < min_words:
        return False
    return sum(w[0].isupper() for w in words) >= 0.8 * len(words)


def _continues(prev: str, nxt: str) -> bool:
    """Does line *nxt* continue the sentence that line *prev* left open?"""
    if R.BULLET.match(nxt):
        return False
    if _headline_case(prev) and not _first_letter_is_lower(nxt) and not _headline_case(nxt, 1):
        return False                     # 'Peril Real, Stress Japan, ... Needed,' + 'The absence of ...'
    if R.ENDS_COMMA.search(prev):
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
    if all(R.TERMINAL.search(t) for t in body):
        return False
    return any(_continues(a, b) for a, b in zip(run, run[1:]))


def _repeated_lines(lines: list[str]) -> tuple[set[int], set[int]]:
    """``(captions, headlines)``: indices of lines equal to the next non-blank line, and of that line.

    Captions are printed twice in a row (alt text and caption), a sentence never is: both
    copies go. A sentence-case title without final punctuation printed twice ("Council
    condemns the launch") is a headline: only its second copy is returned, in *headlines*.
    """
    captions: set[int] = set()
    headlines: set[int] = set()
    prev = None
    for i, raw in enumerate(lines):
        text = " ".join(raw.split())
        if not text:
            continue
        if prev is not None and text == prev[1] and len(_words(text)) >= 3 and prev[0] not in headlines:
            if R.TERMINAL.search(text) or _headline_case(text, 1) or not R.one_sentence(text) or text[:1].islower():
                captions.update((prev[0], i))
            else:
                headlines.add(i)
        prev = (i, text)
    return captions, headlines


def _token_pieces(raw: str, long_token: re.Pattern, report: Report) -> list[tuple[str, int]]:
    """*raw* cut around over-long tokens (a 1 MB run of non-space is not text): ``(piece, offset)``."""
    pieces: list[tuple[str, int]] = []
    cursor = 0
    for m in long_token.finditer(raw):
        pieces.append((raw[cursor:m.start()], cursor))
        report.add("long_token", m.group(0)[:80])
        cursor = m.end()
    pieces.append((raw[cursor:], cursor))
    return [cut for piece, off in pieces for cut in R.unglue(piece, off, report.add)]


def _wrapped_flags(kept: list[tuple[Line, bool, bool]], max_chars: int) -> list[bool]:
    """For each kept line, whether it lies inside a run of adjacent, non-bullet, hard-wrapped lines
    (such runs are joined whole)."""
    wrapped = [False] * len(kept)
    i = 0
    while i < len(kept):
        j = i + 1
        while j < len(kept) and kept[j][2] and not kept[j][1]:
            j += 1
        if _wrapped([k[0].text for k in kept[i:j]], max_chars):
            for k in range(i + 1, j):
                wrapped[k] = True
        i = j
    return wrapped


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
    raw_lines = [R.blank_footnotes(raw, report.add) for raw in body.split("\n")]
    repeated, headline_copies = _repeated_lines(raw_lines)
    for index, raw in enumerate(raw_lines):
        start_of_line = pos
        pos += len(raw) + 1
        if not raw.strip() or index in repeated or index in headline_copies:
            if index in headline_copies:     # a page title printed twice: the first copy stays
                report.add("repeated_headline", raw.strip())
            elif raw.strip():                # a photo caption printed twice in a row
                report.add("photo_caption", raw.strip())
            adjacent = False
            continue
        pieces = _token_pieces(raw, long_token, report)
        if len(pieces) > 1:
            adjacent = False
        for piece, off in pieces:
            text = piece.strip()
            if not text:
                continue
            lead = len(piece) - len(piece.lstrip())
            bullet = R.BULLET.match(text)
            if bullet:
                text = text[bullet.end():]
                lead += bullet.end()
                if not text:
                    continue
            flat = " ".join(text.split())
            rule = _line_rule(flat, raw_lines[index + 1] if index + 1 < len(raw_lines) else "",
                              len(pieces) == 1, params, report)
            if rule:
                report.add(rule, text)
                adjacent = False
                continue
            # "Mr. Chairperson, ..." after a gap opens a speech: its own paragraph, like a bullet
            opening = bool(not bullet and kept and not adjacent and R.VOCATIVE.match(flat)
                           and _continues(kept[-1][0].text, text))
            if opening:
                report.add("speech_opening", flat)
            kept.append((Line(text, start_of_line + off + lead), bool(bullet) or opening, adjacent))
            adjacent = True
    return _paragraphs(kept, params["wrap_max_chars"], report)


def _paragraphs(kept: list[tuple[Line, bool, bool]], wrap_max_chars: int, report: Report) -> list[list[Line]]:
    """Group kept ``(line, is_bullet, adjacent)`` entries into paragraphs (see :func:`clean_lines`)."""
    wrapped = _wrapped_flags(kept, wrap_max_chars)
    paragraphs: list[list[Line]] = []
    for k, (line, bullet, adj) in enumerate(kept):
        prev = paragraphs[-1][-1].text if paragraphs else ""
        if paragraphs and not bullet and (wrapped[k] or _continues(prev, line.text)):
            paragraphs[-1].append(line)
        elif paragraphs and not bullet and adj and _ends_broken_sentence(prev, line.text):
            report.add("broken_line", line.text)
            paragraphs[-1].append(line)
        else:
            paragraphs.append([line])
    return paragraphs


def _line_rule(flat: str, next_raw: str, whole_line: bool, params: dict[str, Any], report: Report) -> str | None:
    """:func:`classify_line` knowing the next line: keeps a short line that starts a broken sentence
    (``broken_line``); drops a one-sentence line ending ", <full date>" (``dated_caption``)."""
    rule = classify_line(flat, params)
    nxt = next_raw.strip()              # "This" + "week, the North ...": no blank line, lower case
    if (rule in ("short_fragment", "name_or_title_block") and whole_line and nxt and len(_words(flat)) <= 3
            and not R.TERMINAL.search(flat) and not flat.endswith(":") and _first_letter_is_lower(nxt)
            and not R.BULLET.match(nxt)):
        report.add("broken_line", flat)
        return None
    if rule is None and R.dated_caption(flat):
        return "dated_caption"
    return rule


def _ends_broken_sentence(prev: str, text: str) -> bool:
    """Does this short line ("Monday.") end the sentence the line just above left open ("... starting")?"""
    return (len(prev) >= 40 and not R.TERMINAL.search(prev) and not prev.endswith(":")
            and not _headline_case(prev) and bool(R.TERMINAL.search(text)) and len(_words(text)) <= 3)


# --------------------------------------------------------------------------- sentences

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
            if out and ((not R.TERMINAL.search(last) and not last.endswith(":")) or R.TITLE_ABBREV_END.search(last)):
                out[-1] += piece
            else:
                out.append(piece)
    return [s.strip() for s in out]


def strip_dateline(text: str) -> tuple[str, int]:
    """Remove a leading dateline or speaker label; return the text and how many chars were cut."""
    m = R.DATELINE.match(text)
    if not m:
        return text, 0
    return text[m.end():], m.end()


def _strip_heads(text: str, report: Report) -> tuple[str, int]:
    """Cut a glued date prefix, a dateline and a speaker label off the start of a paragraph
    (each reported under its rule); return the rest and how many characters were cut."""
    body, cut = text, 0
    for rule, strip in (("date_prefix", R.DATE_PREFIX), ("dateline", R.DATELINE), ("speaker_label", R.SPEAKER_LABEL)):
        m = strip.match(body)
        rest = body[m.end():] if m else ""
        if (m and rule == "speaker_label" and any(c.islower() for c in body[:m.end()])
                and not R.TERMINAL.search(rest) and _headline_case(rest, 3)):
            continue                     # a headline "Russia: Extended Sanctions 'Destructive'" keeps its speaker
        if m and m.end():
            report.add(rule, body[:m.end()])
            body, cut = body[m.end():], cut + m.end()
    return body, cut


def _resolve(params: SplitParams | dict[str, Any] | None) -> dict[str, Any]:
    """Check the ``split`` params (:class:`~pipeline.params.SplitParams`, a mapping or None for the
    defaults) and return them as a dict with the patterns compiled (keys ``_ui``, ``_credit``,
    ``_always``, ``_verbs``). Raises :class:`StanceError` naming the key for a bad value.
    """
    if isinstance(params, dict) and "_ui" in params:
        return params
    p = to_dict(coerce(SplitParams, params, "split"))
    p["_ui"] = [re.compile(x, re.IGNORECASE) for x in R.UI_PATTERNS + p["ui_patterns"]]
    p["_credit"] = [re.compile(x) for x in R.CREDIT_PATTERNS + p["credit_patterns"]]
    p["_always"] = [re.compile(x) for x in R.ALWAYS_PATTERNS]
    p["_verbs"] = R.verb_forms(R.HEADLINE_VERBS + [v.lower() for v in p["headline_verbs"]])
    return p


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
        The ``split`` section of params.yaml; missing keys take their defaults.
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
        body, cut = _strip_heads(para.text, report)
        cursor = cut
        for sent in segment(body, p["chunk_chars"]):
            at = para.text.find(sent, cursor)
            if at < 0:  # pysbd changed the text (should not happen with clean=False)
                at = cursor
            cursor = at + len(sent)
            clean = " ".join(sent.split())
            if R.FOOTNOTE_MARKER.search(text, para.file_offset(at) - offset, para.file_offset(at + len(sent)) - offset):
                clean = re.sub(r"\s+(?=[.,;:!?])", "", clean)    # "the test [5]." -> "the test."
            n_words = len(_words(clean))
            if n_words < p["min_words"]:
                report.add("short_sentence", clean)
                continue
            if len(clean) > p["max_sentence_chars"]:
                report.add("too_long", clean)
                continue
            rule = classify_line(clean, p)
            if rule in R.SENTENCE_RULES:
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
    return [{c: r[c] for c in SENTENCE_COLUMNS} for r in out]


def split_article(path: str | Path, params: dict[str, Any] | None = None) -> tuple[dict[str, str], list[dict], Report]:
    """Read and split one article file.

    Parameters
    ----------
    path : str or Path
        A UTF-8 text file; its stem is the article id.
    params : dict, optional
        The ``split`` section of params.yaml (missing keys take their defaults).

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
        check_raw_file(path)
        meta, sents, report = split_article(path, p)
    except StanceError as exc:
        return path.stem, None, None, [], str(exc)
    return path.stem, meta, sents, report.rows(path.stem), None


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
    warn = warn or (lambda msg: log.warning(f"warning: {msg}"))
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
    return (
        pd.DataFrame(sentences, columns=list(SENTENCE_COLUMNS)),
        pd.DataFrame(articles, columns=list(ARTICLE_COLUMNS)),
        pd.DataFrame(report_rows, columns=list(SPLIT_REPORT_COLUMNS)),
    )


# --------------------------------------------------------------------------- CLI

def add_split_arguments(parser) -> None:
    add_path_argument(parser, "--raw", "raw", "folder of *.txt articles")
    add_path_argument(parser, "--sentences", "sentences", "output CSV")
    add_path_argument(parser, "--articles", "articles", "output CSV")
    add_path_argument(parser, "--report", "split_report", "per-article, per-rule counts of dropped/merged lines")
    parser.add_argument("--params", default=None,
                        help=f"parameters file, section 'split' (default: <repo>/{PATHS['params']} if present, "
                             "else built-in defaults)")
    parser.add_argument("--skip-bad", action="store_true",
                        help="skip unreadable files with a warning instead of failing (split.on_bad_file=skip)")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="worker processes (overrides split.n_jobs; the output does not depend on it)")


def run_split(args) -> int:
    default = repo_root() / PATHS["params"]
    if args.params is not None or default.is_file():
        params = load_section("split", args.params)
    else:
        params = SplitParams()
    changes: dict[str, Any] = {}
    if args.skip_bad:
        changes["on_bad_file"] = "skip"
    if args.jobs is not None:
        changes["n_jobs"] = args.jobs
    if changes:
        params = coerce(SplitParams, {**to_dict(params), **changes}, "split")
    sentences, articles, report = split_corpus(args.raw, params)
    # Everything is computed before anything is written: a bad file leaves old outputs intact.
    write_csv_atomic(args.sentences, sentences)
    write_csv_atomic(args.articles, articles)
    write_csv_atomic(args.report, report)
    dropped = int(report["count"].sum()) if len(report) else 0
    log.info(f"split {len(articles)} articles into {len(sentences)} sentences "
             f"({dropped} lines or sentences dropped or merged; see {args.report})")
    return 0
