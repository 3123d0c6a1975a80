"""Actors: who holds the stance a sentence reports (United States, China, Russia, ...).

The actor list is configurable (``analyze.actors`` in params.yaml: a name and its aliases).
:func:`attribute` applies one documented, deterministic rule to a sentence and returns one
actor, or several when they hold the reported position jointly:

1. **Mentions.** Every alias is matched case-sensitively on word boundaries (longest alias
   first, so "Democratic People's Republic of Korea" is North Korea, not "Republic of
   Korea"; curly quotes are folded first). A mention right after a preposition (``against
   North Korea``, ``on Pyongyang``, ``with China``, ``of the U.S.``; articles and quantifiers
   between them skipped), or a conjunct of such a phrase (``on Iran and North Korea``), is
   *oblique*: a target or a circumstance, not a holder of a stance. ``by`` is not in the
   list: the agent of a passive ("adopted by the Council") acts. After a speaker noun
   ("the representative of the United States", "a spokesman for Russia") the country is the
   speaker's, not oblique. A country's media ("Japanese media") are ``other``; its state
   media ("Chinese state media") and named state agencies (aliases such as KCNA, Xinhua)
   are the state.
2. **First person.** A sentence opening in the first person ("We will not reward ...", "And
   we must ...") or addressing the chair ("Mr. President, ...") belongs to the document's
   issuer (step 7), else to the previous sentence's actors (a quoted opening is left to
   step 3).
3. **Speaker of a reporting verb.** If the sentence has a reporting verb (say, tell, urge,
   warn, announce, insist, stress, called for, according to, ...; "Says" in a headline too),
   the actor is the speaker: the non-oblique mention just before the verb (within 3 words:
   "..., Kerry said", "China has said"), else the first non-oblique mention before it
   ("Chinese Foreign Minister Wang Yi told reporters ..."). Mentions inside quotation marks
   are never the speaker. In an inverted attribution ('...," said Choo, spokesman for South
   Korea's foreign ministry'; "according to U.S. officials"; a clause ending in a comma with
   no actor before the verb) the speaker is the first mention after the verb.
4. **Pronoun speakers.** A reporting verb whose speaker is a pronoun, an unnamed official
   ("He said", "The ministry says") or a title and surname ("Mr. Wang said") takes the actors
   of the previous sentence of the same article (the person being quoted was introduced there).
5. **First person in an issued document.** A sentence of an issued document (step 7) with a
   first-person subject outside quotes ("...; my government will oppose it") is the issuer's.
6. **Subject.** Otherwise the first non-oblique mention of the sentence (the subject of the
   main clause in the usual news sentence: "Japan imposed new sanctions ...").
7. **Issuer.** Otherwise the actor that issued the document, when its source is one of
   ``analyze.issuers`` (a government's own press releases and speeches, UN press releases);
   else ``none``: nobody's position is reported.

**Joint actors.** The mention chosen in steps 3 and 6 brings the mentions coordinated with it
("Russia and China blocked the statement", "the United States, Britain and France"): every
actor among them, in order of appearance.

Pure Python and regular expressions (no parser, no model): the same sentence always gets
the same actors, whatever the engine. The rule is measured against hand labels with
:func:`pipeline.analyze.actor_evaluation.evaluate_actors` (``stance analyze --evaluate-actors GOLD.csv``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["NONE", "OTHER", "ActorRule", "actor_key", "attribute", "attribute_article", "compile_actors"]

#: Actor value of a sentence that reports nobody's stance.
NONE = "none"
#: Actor of an identifiable holder of a stance who is none of the listed actors.
OTHER = "other"

_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                       "\u2010": "-", "\u2011": "-", "\u2013": "-", "\u2014": "-", "\u00a0": " "})

#: A mention directly after one of these words is oblique (a target or circumstance).
PREPOSITIONS = frozenset("""
against on onto upon to toward towards with without of from for into at in over about
between among amid amongst including include includes like than versus vs after before
following during despite regarding concerning via per across behind beyond near under
""".split())

_REPORTING = (
    r"say|says|said|saying|tell|tells|told|telling|stated|adds|added|"
    r"urge|urges|urged|urging|warn|warns|warned|warning|announce|announces|announced|"
    r"insist|insists|insisted|stresses|stressed|noted|argue|argues|argued|"
    r"declare|declares|declared|reiterate|reiterates|reiterated|emphasi[sz]e|emphasi[sz]es|"
    r"emphasi[sz]ed|called|calling|asked|claimed|"
    r"believe|believes|believed|maintains|maintained|suggested|"
    r"acknowledged|predicted|explained|quoted|reported|"
    r"described|voiced|cautioned|"
    r"according\s+to"
)
_REPORTING_RE = re.compile(rf"\b(?:{_REPORTING})\b", re.IGNORECASE)   # "Says" in headlines too
#: A sentence opening in the first person ("We will not ...", "And I say ...").
_FIRST_PERSON = re.compile(r"^\W*(?:(?:and|but|so|now|today|here|yet|still|indeed|again|instead|however|moreover|"
                           r"furthermore|also|first|finally|together)\b,?\s+)*"
                           r"(?:we|our|i|let us|let's)\b", re.IGNORECASE)
#: A speech's address to the chair ("Mr. President, ...", "Thank you, Madam President"): the speaker talks.
_VOCATIVE = re.compile(r"^\W*(?:(?:thank\s+you,?\s+)?(?:mr\.?|madam|madame)\s+(?:president|chair(?:man|person)?|"
                       r"secretary-general|speaker)\b|thank\s+you\b)", re.IGNORECASE)
#: First person anywhere in a sentence (outside quotes): in an issued document, the issuer speaks.
_FIRST_PERSON_ANY = re.compile(r"\b(?:[Ww]e|[Oo]ur|[Mm]y\s+(?:government|delegation|country|administration))\b")
#: Speakers that point back to someone named earlier ("He said", "The spokesman added", "Mr. Wang said").
_PRONOUN_SPEAKER = re.compile(
    r"\b(?:he|she|they|He|She|They|[Tt]he\s+(?:spokesman|spokeswoman|spokesperson|minister|"
    r"ambassador|envoy|official|officials|diplomat|diplomats|secretary|president|"
    r"representative|statement|ministry|negotiator|leader)|(?:Mr|Ms|Mrs|Dr)\.?\s+[A-Z][\w'-]+)\b"
)
_WORD = re.compile(r"[A-Za-z][\w'.-]*")
#: "The representative of the United States", "the spokesman for the Russian Federation": the
#: country after "of"/"for" is the one the speaker represents, not a target.
_SPEAKER_OF = re.compile(
    r"\b(?:representatives?|ambassadors?|delegates?|delegations?|envoys?|ministers?|ministry|ministries|"
    r"spokes(?:man|woman|person|men|women|people)|governments?|presidents?|president-elect|leaders?|"
    r"officials?|missions?|diplomats?|counterparts?|secretary|chancellor|premier|prime\s+minister|"
    r"foreign\s+office|embassy|embassies|mouthpiece)\s+(?:of|for)\s+(?:(?:the|its)\s+)?$", re.IGNORECASE)
#: Media of a country count as ``other`` (journalists, newspapers), except state media, which
#: speak for their state (see docs/actors.md): "Japanese media reports say" -> other,
#: "Chinese state media said" -> China. Named state outlets (KCNA, Xinhua) are aliases.
_MEDIA_AFTER = re.compile(r"(?:'s)?\s+(?:(state|state-run|state-owned|official|government)\s+)?"
                          r"(?:-?\s*)?(media|newspapers?|press|dailies|daily|broadcasters?|television|TV|"
                          r"news\s+agenc(?:y|ies)|news\s+outlets?|reporters?|journalists?|commentators?)\b",
                          re.IGNORECASE)
#: Between two coordinated mentions: "Russia and China", "the United States, Britain and France".
_CONJUNCT = re.compile(r"^(?:'s)?\s*(?:,\s*(?:and\s+|as\s+well\s+as\s+)?|\s+and\s+|\s+as\s+well\s+as\s+|"
                       r"\s+together\s+with\s+|\s+along\s+with\s+)(?:(?:the|its)\s+)?$", re.IGNORECASE)


@dataclass(frozen=True)
class ActorRule:
    """Compiled actor list: the alias pattern and which actor each alias names."""

    names: tuple[str, ...]
    pattern: re.Pattern
    alias_actor: Mapping[str, str]


def compile_actors(actors: Sequence[Mapping[str, Any]] | ActorRule) -> ActorRule:
    """Compile ``[{"name": ..., "aliases": [...]}, ...]`` into an :class:`ActorRule`.

    The name itself is an alias too. An alias claimed by two actors raises ValueError
    (the params schema reports it as a params error).
    """
    if isinstance(actors, ActorRule):
        return actors
    alias_actor: dict[str, str] = {}
    names: list[str] = []
    for entry in actors:
        name = str(entry["name"])
        names.append(name)
        for alias in [name, *entry.get("aliases", [])]:
            alias = " ".join(str(alias).translate(_FOLD).split())
            if not alias:
                continue
            other = alias_actor.get(alias)
            if other is not None and other != name:
                raise ValueError(f"alias {alias!r} is given for both {other!r} and {name!r}")
            alias_actor[alias] = name
    if not alias_actor:
        return ActorRule(tuple(names), re.compile(r"(?!x)x"), {})
    ordered = sorted(alias_actor, key=lambda a: (-len(a), a))
    body = "|".join(re.escape(a).replace(r"\ ", r"\s+") for a in ordered)
    pattern = re.compile(rf"(?<![\w'-])(?:{body})(?![\w-])")
    return ActorRule(tuple(names), pattern, alias_actor)


_DETERMINERS = r"the|a|an|its|their|his|her|fellow|both|several|some|many|all|other|any|certain|these|those|such"
_BEFORE = re.compile(rf"([A-Za-z]+)\s+(?:(?:{_DETERMINERS})\s+)*$", re.IGNORECASE)
_TITLES = re.compile(r"^(?:'s)?(?:\s+[A-Z][\w.'-]*)*\s*$")


def _mentions(text: str, rule: ActorRule) -> list[tuple[int, int, str, bool]]:
    """``(start, end, actor, oblique)`` for every alias match in *text* (already folded).

    A mention is oblique when the word before it (articles skipped, nothing but spaces
    between) is a preposition, except after a speaker noun ("the representative of the
    United States", "a spokesman for Russia": the speaker's country). A mention continuing a
    mention of the same actor through title words only ("Chinese Foreign Minister Wang Yi")
    shares its obliqueness. A country's media ("Japanese media", "South Korean newspapers")
    are ``other``; its state media ("Chinese state media") stay the country.
    """
    out: list[tuple[int, int, str, bool]] = []
    for m in rule.pattern.finditer(text):
        actor = rule.alias_actor[" ".join(m.group(0).split())]
        w = _BEFORE.search(text, max(0, m.start() - 60), m.start())
        oblique = bool(w) and w.group(1).lower() in PREPOSITIONS
        if oblique and _SPEAKER_OF.search(text, max(0, m.start() - 60), m.start()):
            oblique = False
        if w and w.group(1).lower() in ("and", "or"):
            # the three words before the conjunction: "on Nonproliferation and the DPRK"
            head = _WORD.findall(text[max(0, m.start() - 80):w.start(1)])[-3:]
            oblique = any(x.lower() in PREPOSITIONS for x in head)
            if oblique and out and not out[-1][3] and _CONJUNCT.match(text[out[-1][1]:m.start()]):
                oblique = False       # "the representative of Russia and China" follows its first conjunct
        media = _MEDIA_AFTER.match(text, m.end())
        if media and not media.group(1) and OTHER in rule.names:
            actor = OTHER
        if out and out[-1][2] == actor and _TITLES.match(text[out[-1][1]:m.start()]):
            oblique = out[-1][3]
        out.append((m.start(), m.end(), actor, oblique))
    return out


def _words_between(text: str, a: int, b: int) -> int:
    return len(_WORD.findall(text[a:b]))


def _group(text: str, mentions: list, i: int) -> list[str]:
    """The actors of mention *i* and of the mentions coordinated with it ("Russia and China")."""
    lo = hi = i
    while lo > 0 and mentions[lo - 1][3] == mentions[i][3] and _CONJUNCT.match(
            text[mentions[lo - 1][1]:mentions[lo][0]]):
        lo -= 1
    while hi + 1 < len(mentions) and mentions[hi + 1][3] == mentions[i][3] and _CONJUNCT.match(
            text[mentions[hi][1]:mentions[hi + 1][0]]):
        hi += 1
    names: list[str] = []
    for m in mentions[lo:hi + 1]:
        if m[2] not in names:
            names.append(m[2])
    return names


def attribute(text: str, rule: ActorRule | Sequence[Mapping[str, Any]],
              previous: Sequence[str] | str | None = None, issuer: str | None = None) -> list[str]:
    """The actors whose stance *text* reports (see the module docstring for the rule).

    Parameters
    ----------
    text : str
        One sentence.
    rule : ActorRule or list of {"name", "aliases"}
        From :func:`compile_actors` (compile once, reuse).
    previous : list of str, optional
        The actors of the previous sentence of the same article (steps 3 and 4).
    issuer : str, optional
        The actor that issued the document (a government's own press release, a speech
        transcript, a UN press release), from ``analyze.issuers`` (steps 4 and 6).

    Returns
    -------
    list of str
        One actor, several when they hold the position jointly ("Russia and China
        blocked the statement"), or ``["none"]``.
    """
    rule = compile_actors(rule)
    if isinstance(previous, str):
        previous = [previous]
    prev = list(previous) if previous and list(previous) != [NONE] else None
    text = text.translate(_FOLD)
    mentions = _mentions(text, rule)
    voice = [issuer] if issuer and issuer != NONE else prev
    if voice and not text.lstrip().startswith('"') and (_FIRST_PERSON.match(text) or _VOCATIVE.match(text)):
        return list(voice)                          # "We will not reward ..." in a speech
    speaker = _speaker(text, mentions, prev)
    if speaker is not None:
        return speaker
    if issuer and issuer != NONE:
        quotes = _quoted(text)
        if any(not any(a < m.start() < b for a, b in quotes) for m in _FIRST_PERSON_ANY.finditer(text)):
            return [issuer]                         # "...; my government will oppose it." in a statement
    for i, m in enumerate(mentions):
        if not m[3]:
            return _group(text, mentions, i)
    return [issuer or NONE]


def _quoted(text: str) -> list[tuple[int, int]]:
    """Spans inside double quotation marks (curly quotes already folded to ")."""
    marks = [i for i, c in enumerate(text) if c == '"']
    return [(marks[i], marks[i + 1]) for i in range(0, len(marks) - 1, 2)]


def _speaker(text: str, mentions: list, previous: list[str] | None) -> list[str] | None:
    """Steps 2 and 3: the speaker(s) of the first reporting verb, or None.

    Mentions inside quotation marks are never the speaker. Mentions after the verb count
    only in inverted attributions ('...," said Russia's foreign ministry'; "according to").
    """
    verb = _REPORTING_RE.search(text)
    if verb is None:
        return None
    quotes = _quoted(text)
    outside = [m for m in mentions if not any(a < m[0] < b for a, b in quotes)]

    def group(m) -> list[str]:
        return _group(text, outside, outside.index(m))

    clause_start = text.rfind(";", 0, verb.start()) + 1
    near = " ".join(text[clause_start:verb.start()].split()[-4:])
    pronoun = previous is not None and _PRONOUN_SPEAKER.search(near) is not None
    before = [m for m in outside if clause_start <= m[0] and m[1] <= verb.start() and not m[3]]
    head = text[:verb.start()].rstrip()
    close = before and _words_between(text, before[-1][1], verb.start()) <= 3
    # '...," said Choo' and "according to U.S. officials" put the speaker after the verb; a comma
    # alone does so only when no actor stands before it in the clause ("Russia's envoy, Ivanov, said")
    inverted = verb.group(0).lower().startswith("according") or head.endswith(('"', ',"', '",')) or (
        head.endswith(",") and not before)
    if before and not inverted:
        if close:
            return group(before[-1])          # "..., Kerry said", "Russia and China said"
        if pronoun:
            return list(previous)             # "Speaking in Beijing on China's behalf, he said"
        return group(before[0])               # "Chinese Foreign Minister Wang Yi told reporters"
    if pronoun:
        return list(previous)                 # "He said ...", "The ministry says ..."
    if inverted:
        after = [m for m in outside if m[0] >= verb.end()]
        if after:
            return group(after[0])            # '...," said Choo, spokesman for South Korea's ministry'
        if before:
            return group(before[0])
    return None


def attribute_article(texts: Iterable[str], rule: ActorRule | Sequence[Mapping[str, Any]],
                      issuer: str | None = None) -> list[list[str]]:
    """Actors of the sentences of one article, in order (steps 3-4 look at the previous one)."""
    rule = compile_actors(rule)
    out: list[list[str]] = []
    prev: list[str] | None = None
    for t in texts:
        a = attribute(t, rule, prev, issuer)
        out.append(a)
        prev = a
    return out


def actor_key(actors: str | Sequence[str]) -> str:
    """One comparable value for one or several actors: the names sorted, joined by ``"; "``."""
    names = actors.split(";") if isinstance(actors, str) else list(actors)
    return "; ".join(sorted({n.strip() for n in names if n.strip()})) or NONE
