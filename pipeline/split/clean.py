"""Line-level cleaning of an article body: page furniture, captions and credits, datelines,
title blocks, timestamps and meeting numbers dropped (each counted in a :class:`Report`), and
lines broken inside a sentence rejoined into paragraphs. The rule tables are in
:mod:`pipeline.split.rules`; :mod:`pipeline.split.stage` applies this module per article.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pipeline.split import rules


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
    return rules.WORD.findall(text)


def _is_title_line(text: str, max_words: int, verbs: dict[str, set[str]] | None = None) -> bool:
    """Short Title Case line without final punctuation or verb: a name, job title, banner or label.

    A line with a finite verb (see :func:`rules.has_verb`) is a headline and is not a title line.
    """
    if rules.TERMINAL.search(text):
        return False
    tokens = [t for t in re.split(r"[\s,]+", text) if t]
    if not tokens or len(tokens) > max_words:
        return False
    for tok in tokens:
        core = tok.strip("\"'“”‘’()[]:;")
        if not core:
            continue
        if core.lower() in rules.CONNECTORS or not core[0].isalpha():
            continue
        if not core[0].isupper():
            return False
    return not (verbs and rules.has_verb(tokens, verbs))


def _is_timestamp(text: str) -> bool:
    tokens = [t for t in re.split(r"[\s,|:–—-]+", text.strip()) if t]
    return bool(tokens) and all(rules.DATE_TOKEN.match(t) for t in tokens) and any(ch.isdigit() for ch in text)


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
    rule = _news_furniture(text) or rules.release_furniture(text)
    if rule:
        return rule
    if _is_timestamp(text):
        return "timestamp"
    if rules.MEETING.match(text) or rules.DOC_SYMBOL.match(text):
        return "meeting_or_symbol"
    if rules.BRACKETED.match(text) and n_words <= params["max_ui_words"]:
        return "bracketed_note"
    if n_words == 0:
        return "no_words"
    if (not rules.TERMINAL.search(text) and not rules.ENDS_COMMA.search(text)
            and n_words < params["min_words_unpunctuated"]
            and not (n_words >= params["min_words"] and rules.has_verb(text.split(), params["_verbs"]))):
        return "short_fragment"
    if _is_title_line(text, params["max_title_words"], params["_verbs"]):
        return "name_or_title_block"
    if rules.MEETING_LABEL.search(text):
        return "meeting_or_symbol"
    return None


def _news_furniture(text: str) -> str | None:
    """Photo captions, reporters' sign-ins and the outlet's boilerplate about itself."""
    if rules.CAPTION_PREFIX.match(text) or rules.CAPTION_DATE_END.search(text):
        return "photo_caption"
    if rules.REPORTER_SIGNIN.match(text):
        return "reporter_signin"
    if any(pat.search(text) for pat in rules.OUTLET_BOILERPLATE):
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
    if rules.TITLE_ABBREV_END.search(prev):
        return True
    if rules.TERMINAL.search(prev) or prev.endswith(":"):
        return False
    m = rules.LAST_WORD.search(prev)
    if not m:
        return False
    word = m.group(1)
    if prev[m.end(1):].strip():          # ends with a quote, bracket or dash: leave it
        return False
    return word.lower() in rules.OPEN_WORDS or bool(re.search(r"\w['’]s$", word))


def _headline_case(text: str, min_words: int = 6) -> bool:
    """Is *text* set like a headline: at least *min_words* words, nearly all capitalised?"""
    words = [w for w in _words(text) if w.lower() not in rules.CONNECTORS]
    if len(words) < min_words:
        return False
    return sum(w[0].isupper() for w in words) >= 0.8 * len(words)


def _continues(prev: str, nxt: str) -> bool:
    """Does line *nxt* continue the sentence that line *prev* left open?"""
    if rules.BULLET.match(nxt):
        return False
    if _headline_case(prev) and not _first_letter_is_lower(nxt) and not _headline_case(nxt, 1):
        return False                     # 'Peril Real, Stress Japan, ... Needed,' + 'The absence of ...'
    if rules.ENDS_COMMA.search(prev):
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
    if all(rules.TERMINAL.search(t) for t in body):
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
            if (rules.TERMINAL.search(text) or _headline_case(text, 1) or not rules.one_sentence(text)
                    or text[:1].islower()):
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
    return [cut for piece, off in pieces for cut in rules.unglue(piece, off, report.add)]


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
        Resolved ``split`` params (see :func:`pipeline.split.stage.resolve_params`).
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
    raw_lines = [rules.blank_footnotes(raw, report.add) for raw in body.split("\n")]
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
            bullet = rules.BULLET.match(text)
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
            opening = bool(not bullet and kept and not adjacent and rules.VOCATIVE.match(flat)
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
            and not rules.TERMINAL.search(flat) and not flat.endswith(":") and _first_letter_is_lower(nxt)
            and not rules.BULLET.match(nxt)):
        report.add("broken_line", flat)
        return None
    if rule is None and rules.dated_caption(flat):
        return "dated_caption"
    return rule


def _ends_broken_sentence(prev: str, text: str) -> bool:
    """Does this short line ("Monday.") end the sentence the line just above left open ("... starting")?"""
    return (len(prev) >= 40 and not rules.TERMINAL.search(prev) and not prev.endswith(":")
            and not _headline_case(prev) and bool(rules.TERMINAL.search(text)) and len(_words(text)) <= 3)


def strip_dateline(text: str) -> tuple[str, int]:
    """Remove a leading dateline or speaker label; return the text and how many chars were cut."""
    m = rules.DATELINE.match(text)
    if not m:
        return text, 0
    return text[m.end():], m.end()


def _strip_heads(text: str, report: Report) -> tuple[str, int]:
    """Cut a glued date prefix, a dateline and a speaker label off the start of a paragraph
    (each reported under its rule); return the rest and how many characters were cut."""
    body, cut = text, 0
    for rule, strip in (("date_prefix", rules.DATE_PREFIX), ("dateline", rules.DATELINE),
                        ("speaker_label", rules.SPEAKER_LABEL)):
        m = strip.match(body)
        rest = body[m.end():] if m else ""
        if (m and rule == "speaker_label" and any(c.islower() for c in body[:m.end()])
                and not rules.TERMINAL.search(rest) and _headline_case(rest, 3)):
            continue                     # a headline "Russia: Extended Sanctions 'Destructive'" keeps its speaker
        if m and m.end():
            report.add(rule, body[:m.end()])
            body, cut = body[m.end():], cut + m.end()
    return body, cut
