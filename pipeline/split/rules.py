"""Rule tables of the splitter (private: see :mod:`pipeline.split`).

Regular expressions and word lists that recognise page furniture, captions and credits,
datelines, timestamps, meeting numbers, headline verbs, abbreviations and the words after
which a broken line continues, with a few predicates built only on them (press-page furniture,
dated captions, footnote markers, glued words). :mod:`pipeline.split` holds the algorithm.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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
    r"^(?i:related (report|story|article|video|coverage)s?)\b",
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
    # "The border crossing. Photo from the agency." / a sentence "Photo courtesy of ..."
    r"(?:^|[.!?]\s+)(?i:(photo|photograph|picture|image)s?)\s+(?i:by|from|courtesy of|via)\s+[^.!?]{1,60}[.!?]?\s*$",
]

#: Verbs that make a short Title Case line a headline with a claim ("China Rejects New
#: Sanctions", "Japan to Tighten Sanctions") rather than a name, job title or label. Given
#: in the base form; the -s, past and to-/will- forms are recognised (see verb_forms).
#: Words that are mostly nouns in their -s form (ban, call, test, plan...) are left out.
HEADLINE_VERBS = [
    "accuse", "adopt", "agree", "announce", "approve", "ask", "back", "condemn", "consider",
    "criticise", "criticize", "decry", "defy", "denounce", "deny", "dismiss", "ease", "evade",
    "expand", "extend", "fail", "impose", "insist", "lift", "oppose", "pass", "praise", "propose",
    "push", "reaffirm", "refuse", "reject", "relax", "renew", "resume", "say", "seek", "send", "slam",
    "slap", "strengthen", "stress", "tell", "threaten", "tighten", "toughen", "urge", "veto",
    "violate", "vow", "want", "warn", "weaken", "welcome",
]
IRREGULAR = {"say": ["said"], "tell": ["told"], "seek": ["sought"], "send": ["sent"]}
#: Auxiliaries and modals: any of them makes a line a clause, not a label.
FINITE = {
    "is", "are", "was", "were", "will", "would", "can", "could", "should", "must", "may", "might",
    "shall", "has", "have", "had", "does", "did", "won't", "can't", "isn't", "aren't", "wasn't",
    "won’t", "can’t", "isn’t", "aren’t", "wasn’t", "don't", "doesn't", "don’t", "doesn’t",
}


def verb_forms(bases: Iterable[str]) -> dict[str, set[str]]:
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
        finite.update(IRREGULAR.get(b, []))
    return {"finite": finite, "base": base}


def has_verb(tokens: list[str], verbs: dict[str, set[str]]) -> bool:
    """Does a (Title Case) line contain a finite verb: an auxiliary, a known verb in its
    -s or past form, or a known verb's base form after "to"/"will"/a modal?"""
    words = [t.strip("\"'“”‘’()[]:;,.!?").lower() for t in tokens]
    for i, w in enumerate(words):
        if w == "may" and i + 1 < len(words) and words[i + 1][:1].isdigit():
            continue                     # the month: "Briefing on May 31"
        if w in FINITE or w in verbs["finite"]:
            return True
        if w in verbs["base"] and i > 0 and words[i - 1] in ({"to"} | FINITE):
            return True
    return False


MONTHS = ("jan|january|feb|february|mar|march|apr|april|may|jun|june|jul|july|aug|august|"
           "sep|sept|september|oct|october|nov|november|dec|december")
DAYS = "mon|monday|tue|tues|tuesday|wed|wednesday|thu|thur|thurs|thursday|fri|friday|sat|saturday|sun|sunday"
DATE_TOKEN = re.compile(
    rf"^(?:{MONTHS}|{DAYS}|\d{{1,4}}(?:st|nd|rd|th)?|\d{{1,4}}([/.:-]\d{{1,4}}){{1,2}}|am|pm|a\.m\.|p\.m\.|"
    r"gmt|utc|est|edt|cet|kst|updated|published|posted|last|modified|at|on|of|the)\.?$",
    re.IGNORECASE,
)
MEETING = re.compile(r"^\d+(st|nd|rd|th)(\s*(&|and|,)\s*\d+(st|nd|rd|th))*\s+meetings?\b", re.IGNORECASE)
DOC_SYMBOL = re.compile(r"^[A-Z]{1,5}(/[A-Z0-9.]+)+$")
BRACKETED = re.compile(r"^[(\[].*[)\]]$")
TERMINAL = re.compile(r"[.!?…]['\"’”»)\]]*$")
ENDS_COMMA = re.compile(r"[,;]['\"’”»]*$")
WORD = re.compile(r"[^\W\d_][\w'’.-]*", re.UNICODE)
CONNECTORS = {"of", "the", "to", "for", "and", "on", "in", "at", "a", "an", "by", "with", "de", "&", "-", "–", "—"}
BULLET = re.compile(r"^\s*([•●▪◦‣∙·*]|--+(?=\s)|[-–](?=\s)|\d{1,2}[.)](?=\s))\s*")

# Datelines at the start of a paragraph: "BEIJING (Reuters) -", "Beijing (Telephost) -",
# "UNITED NATIONS, Sept 11 (Reuters) -", "Sept. 1, 2017 (EIRNS)—", "WASHINGTON —",
# "SEOUL, Sept. 12 --", "11/30/16 –". And speaker labels: "SECRETARY TILLERSON:".
# A hyphen needs a space before it ("US-China talks" is not a dateline); en/em dashes may
# be attached ("WASHINGTON—The ...").
DATE_WORDS = (rf"(?:(?i:{MONTHS})\.?\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+(?i:{MONTHS})\.?\s+\d{{4}}"
               r"|\d{1,2}/\d{1,2}/\d{2,4})")
DASH = r"(?:\s+-+|\s*[–—]+|\s*--+)\s*"
DATELINE = re.compile(
    r"^(?:"
    rf"(?:[A-Z][\w.'-]*(?:,?\s+(?:[A-Z][\w.'-]*|\d{{1,4}}),?){{0,5}}|{DATE_WORDS})\s*\([A-Z][\w .&'-]{{1,30}}\)\s*[-–—]+\s*"
    rf"|[A-Z]{{2,}}(?:[ ,]+[A-Z]{{2,}}){{0,3}}(?:,?\s+(?i:{MONTHS})\.?\s+\d{{1,2}}(?:,?\s+\d{{4}})?)?{DASH}"
    rf"|{DATE_WORDS}{DASH}"
    r"|[A-Z][A-Z.'-]+(?:\s[A-Z][A-Z.'-]+){0,3}:\s+"
    r")(?=[\"“‘'(\[]?[A-Z0-9])"
)

#: Photo captions: a "FILE -" / "FILE PHOTO" prefix, or a line that ends with a place and a
#: full date after a comma ("..., Seoul, South Korea, March 3, 2016.").
CAPTION_PREFIX = re.compile(r"^(?:FILE|File)(?:\s+(?:PHOTO|Photo))?\s*(?:[-–—:]|$)")
CAPTION_DATE_END = re.compile(rf",\s+[A-Z][^,]{{0,40}},\s+{DATE_WORDS}\.?['\"’”]*$")
#: A reporter's sign-in: "VOA's David Gollust reports from the State Department."
REPORTER_SIGNIN = re.compile(
    r"^(?:[A-Z]{2,6}['’]s\s+)?[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){1,3}\s+reports?\s+from\s+[^,;:]{1,60}\.$"
    # "VOA White House correspondent Jane Roe reports."
    r"|^(?:[A-Z][\w.'’-]+\s+){0,4}(?:correspondent|reporter)\s+[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){1,2}"
    r"\s+reports\.$")
#: What the outlet says about itself or its sources, not what the article reports.
OUTLET_BOILERPLATE = [
    re.compile(r"(?i)\binformation (?:for|in) this (?:report|article|story)\b.*\bprovided by\b"),
    re.compile(r"(?i)\b(?:weekly|monthly|daily) audience\b"),
    re.compile(r"(?i)\bbyline\b.*\b(?:journalists|reporters|wire services?)\b"),
]
#: A compact date glued to the text, as press summaries print it: "20161201 morning1All papers ...".
DATE_PREFIX = re.compile(r"^(?:19|20)\d{6}(?:\s*[a-z]+\d*)?\s*(?=[\"“‘'(\[]?[A-Z])")
#: A transcript speaker label in Title Case: "Ambassador Craft: You know, ...".
SPEAKER_LABEL = re.compile(r"^[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,2}:\s+(?=[\"“‘'(\[]?[A-Z0-9])")
#: Audio/video player furniture and video teasers: "please wait", "No media source currently
#: available", "WATCH: The minister on the deal" (timecodes are caught as timestamps).
MEDIA_PLAYER = re.compile(r"^(?:please wait|no media source currently available)\.?$|^(?:watch|listen)\s*:",
                          re.IGNORECASE)
#: Blog and CMS taxonomy lines: "Categories: East Asia, Politics", "Tags: ...", "Filed under: ...".
CATEGORY_TAGS = re.compile(r"^(?:categories|category|tags|topics|filed under)\s*:", re.IGNORECASE)
#: Numbered footnote/link markers in running text: "experts doubted [2] whether ...".
FOOTNOTE_MARKER = re.compile(r"\[\d{1,3}\]")
#: A masthead or breadcrumb: three or more parts joined by " • " or " | ".
MASTHEAD = re.compile(r"^[^•|]+(?:\s[•|]\s[^•|]+){2,}$")
#: Delivery notes of speeches: "As Delivered", "Explanation of Vote ... as delivered by ...".
DELIVERY_NOTE = re.compile(r"\bas (?:delivered|prepared for delivery)\b", re.IGNORECASE)
#: Editorial notes in brackets: "(Note: A full summary will be issued tomorrow.)".
EDITORIAL_NOTE = re.compile(r"^[(\[]\s*(?:note|editor['’]?s note|ed\.? note)\s*:.*[)\]]$", re.IGNORECASE)
#: Session and meeting labels not caught by MEETING: "Sixty-ninth session," and a title ending
#: in ", 9643rd meeting".
ORDINAL_WORD = (r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)-)?(?:first|second|third|fourth|"
                r"fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|[a-z]+teenth|[a-z]+tieth)")
MEETING_LABEL = re.compile(
    rf"^(?i:{ORDINAL_WORD}|\d+(?:st|nd|rd|th))\s+(?i:session)\s*[,.]?$"
    r"|[,–—-]\s*\d+(?:st|nd|rd|th)\s+(?i:meeting|session)s?$")
#: A one-sentence photo caption that ends with a full date after a comma: "Officials talk
#: during a break in the consultations, Feb. 25, 2016." (not after a weekday: "on Tuesday,
#: March 9, 2016." is how a sentence gives a date).
CAPTION_DATE_TAIL = re.compile(
    rf"(?<![A-Za-z]{{3}}day),\s+(?i:{MONTHS})\.?\s+\d{{1,2}},\s+\d{{4}}\.?$")
#: Words glued together by a lost line break: "... for DevelopmentThe General Assembly ...".
#: Only before a word that opens sentences, so "inSecurity" or "McDonald" are left alone.
GLUED_WORDS = re.compile(r"(?<=[a-z]{3})(?=(?:The|This|These|Those|It|In|On|At|By|As|He|She|They|We)\s)")
#: A speaker's opening address: "Mr. Chairperson, ...", "Madam President, ...".
VOCATIVE = re.compile(r"^(?:Mr\.?|Madam|Madame|Mister)\s+(?:President|Chair|Chairman|Chairperson|Chairwoman|"
                      r"Speaker|Secretary-General|High Commissioner|Co-Chairs?)\b")

#: Line rules that also drop a whole sentence found inside a longer line.
SENTENCE_RULES = ("page_furniture", "caption_or_credit", "link_or_credit", "photo_caption", "reporter_signin",
                  "outlet_boilerplate", "bracketed_note", "editorial_note")

# Where a long paragraph may be cut before pysbd sees it: after ., ! or ? (and closing
# quotes), before a capital or an opening quote, and not after an initial or a common
# abbreviation.
CHUNK_BOUNDARY = re.compile(r"(?<=[.!?])['\"’”)\]]*\s+(?=['\"“‘(\[]?[A-Z])")
#: Titles written before a name: a sentence never ends on them.
TITLE_ABBREVIATIONS = ["Mr", "Mrs", "Ms", "Mx", "Dr", "Prof", "Gen", "Sen", "Rep", "Gov", "Lt", "Col", "Sgt",
                       "Capt", "Cmdr", "Adm", "Amb", "Maj", "Pres", "Rev", "Hon", "Fr", "Sec", "Supt"]
TITLE_ABBREV_END = re.compile(r"(?<![\w.])(?:%s)\.$" % "|".join(TITLE_ABBREVIATIONS))
ABBREV_END = re.compile(
    r"(?:\b[A-Z]|\b(?:[A-Za-z]\.){2,}|\b(?:%s|St|No|Nos|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|"
    r"vs|etc|Inc|Ltd|Co|Corp|Jr|Sr|approx|est|fig|vol|art|para|paras|cf))\.$" % "|".join(TITLE_ABBREVIATIONS)
)



OPEN_WORDS = {
    "a", "an", "the", "of", "to", "for", "and", "or", "but", "nor", "with", "by", "from", "in", "on", "at",
    "as", "into", "onto", "upon", "than", "that", "which", "who", "whose", "whom", "its", "their", "his",
    "her", "our", "your", "my", "this", "these", "those", "between", "against", "about", "after",
    "before", "during", "including", "amid", "among", "over", "under", "via", "if", "because",
    "although", "while", "whether",
}
LAST_WORD = re.compile(r"([\w’'.-]+)\W*$")


def release_furniture(text: str) -> str | None:
    """Media players and video teasers, blog category lines, mastheads, delivery notes and
    bracketed editorial notes of press releases and speeches."""
    if MEDIA_PLAYER.search(text):
        return "media_player"
    if CATEGORY_TAGS.match(text):
        return "category_tags"
    if EDITORIAL_NOTE.match(text):
        return "editorial_note"
    if not TERMINAL.search(text):
        if MASTHEAD.match(text):
            return "masthead"
        if DELIVERY_NOTE.search(text):
            return "delivery_note"
    return None


def one_sentence(text: str) -> bool:
    """No sentence boundary inside *text* (a full stop after "U.S." or "Mr." is not one)."""
    return not any(not ABBREV_END.search(text[max(0, m.start() - 12):m.start()])
                   for m in CHUNK_BOUNDARY.finditer(text))


def dated_caption(text: str) -> bool:
    """A one-sentence line (no quotes) ending in a full date after a comma: a photo caption."""
    return bool(CAPTION_DATE_TAIL.search(text)) and one_sentence(text) and not re.search("[\"“”]", text)


def blank_footnotes(raw: str, add) -> str:
    """*raw* with numbered footnote markers ("[2]") replaced by spaces (offsets do not move); each
    one is passed to ``add(rule, text)``."""
    if "[" not in raw:
        return raw
    def blank(m: re.Match) -> str:
        add("footnote_marker", m.group(0))
        return " " * len(m.group(0))
    return FOOTNOTE_MARKER.sub(blank, raw)


def unglue(piece: str, off: int, add) -> list[tuple[str, int]]:
    """*piece* (at offset *off*) cut where a lost line break glued two words ("DevelopmentThe"),
    as ``(text, offset)`` pieces; each cut is passed to ``add(rule, text)``."""
    out: list[tuple[str, int]] = []
    start = 0
    for m in GLUED_WORDS.finditer(piece):
        add("glued_words", piece[max(0, m.start() - 30):m.start() + 30])
        out.append((piece[start:m.start()], off + start))
        start = m.start()
    out.append((piece[start:], off + start))
    return out
