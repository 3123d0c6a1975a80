"""Actors: who holds the stance a sentence reports (United States, China, Russia, ...).

The actor list is configurable (``analyze.actors`` in params.yaml: a name and its aliases).
:func:`attribute` applies one documented, deterministic rule to a sentence:

1. **Mentions.** Every alias is matched case-sensitively on word boundaries (longest alias
   first, so "Democratic People's Republic of Korea" is North Korea, not "Republic of
   Korea"; curly quotes are folded first). A mention right after a preposition (``against
   North Korea``, ``on Pyongyang``, ``with China``, ``of the U.S.``; articles and quantifiers
   between them skipped), or a conjunct of such a phrase (``on Iran and North Korea``), is
   *oblique*: a target or a circumstance, not a holder of a stance. ``by`` is not in the
   list: the agent of a passive ("adopted by the Council") acts.
2. **Speaker of a reporting verb.** If the sentence has a reporting verb (say, tell, urge,
   warn, announce, insist, stress, called for, according to, ...; "Says" in a headline too),
   the actor is the speaker: the non-oblique mention just before the verb (within 3 words:
   "..., Kerry said", "China has said"), else the first non-oblique mention before it
   ("Chinese Foreign Minister Wang Yi told reporters ..."). Mentions inside quotation marks
   are never the speaker. In an inverted attribution ('...," said Choo, spokesman for South
   Korea's foreign ministry'; "according to U.S. officials") the speaker is the first
   mention after the verb.
3. **Pronoun speakers.** A reporting verb whose speaker is a pronoun or an unnamed official
   ("He said", "The ministry says") takes the actor of the previous sentence of the same
   article (the person being quoted was introduced there).
4. **First person.** A sentence opening in the first person ("We will not reward ...",
   "And we must ...") belongs to the document's issuer (step 6), else to the previous
   sentence's actor.
5. **Subject.** Otherwise the first non-oblique mention of the sentence (the subject of the
   main clause in the usual news sentence: "Japan imposed new sanctions ...").
6. **Issuer.** Otherwise the actor that issued the document, when its source is one of
   ``analyze.issuers`` (a government's own press releases and speeches, UN press releases);
   else ``none``: nobody's position is reported.

Pure Python and regular expressions (no parser, no model): the same sentence always gets
the same actor, whatever the engine. The rule is measured against hand labels with
:func:`evaluate_actors` (``stance analyze --evaluate-actors GOLD.csv``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["NONE", "ActorRule", "attribute", "attribute_article", "compile_actors"]

#: Actor value of a sentence that reports nobody's stance.
NONE = "none"

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
    r"according\s+to"
)
_REPORTING_RE = re.compile(rf"\b(?:{_REPORTING})\b", re.IGNORECASE)   # "Says" in headlines too
#: A sentence opening in the first person ("We will not ...", "And I say ...").
_FIRST_PERSON = re.compile(r"^\W*(?:(?:and|but|so|now|today|here|yet|still|indeed|again|instead|however|moreover|"
                           r"furthermore|also|first|finally|together)\b,?\s+)*"
                           r"(?:we|our|i|let us|let's)\b", re.IGNORECASE)
#: Speakers that point back to someone named earlier ("He said", "The spokesman added").
_PRONOUN_SPEAKER = re.compile(
    r"\b(?:he|she|they|He|She|They|[Tt]he\s+(?:spokesman|spokeswoman|spokesperson|minister|"
    r"ambassador|envoy|official|officials|diplomat|diplomats|secretary|president|"
    r"representative|statement|ministry|negotiator|leader))\b"
)
_WORD = re.compile(r"[A-Za-z][\w'.-]*")


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
    between) is a preposition. A mention continuing a mention of the same actor through
    title words only ("Chinese Foreign Minister Wang Yi") shares its obliqueness.
    """
    out: list[tuple[int, int, str, bool]] = []
    for m in rule.pattern.finditer(text):
        actor = rule.alias_actor[" ".join(m.group(0).split())]
        w = _BEFORE.search(text, max(0, m.start() - 60), m.start())
        oblique = bool(w) and w.group(1).lower() in PREPOSITIONS
        if w and w.group(1).lower() in ("and", "or"):
            # the three words before the conjunction: "on Nonproliferation and the DPRK"
            head = _WORD.findall(text[max(0, m.start() - 80):w.start(1)])[-3:]
            oblique = any(x.lower() in PREPOSITIONS for x in head)
        if out and out[-1][2] == actor and _TITLES.match(text[out[-1][1]:m.start()]):
            oblique = out[-1][3]
        out.append((m.start(), m.end(), actor, oblique))
    return out


def _words_between(text: str, a: int, b: int) -> int:
    return len(_WORD.findall(text[a:b]))


def attribute(text: str, rule: ActorRule | Sequence[Mapping[str, Any]],
              previous: str | None = None, issuer: str | None = None) -> str:
    """The actor whose stance *text* reports (see the module docstring for the rule).

    Parameters
    ----------
    text : str
        One sentence.
    rule : ActorRule or list of {"name", "aliases"}
        From :func:`compile_actors` (compile once, reuse).
    previous : str, optional
        The actor of the previous sentence of the same article (steps 3 and 4).
    issuer : str, optional
        The actor that issued the document (a government's own press release, a speech
        transcript, a UN press release), from ``analyze.issuers`` (steps 4 and 6).

    Returns
    -------
    str
        An actor name, or ``"none"``.
    """
    rule = compile_actors(rule)
    text = text.translate(_FOLD)
    mentions = _mentions(text, rule)
    speaker = _speaker(text, mentions, previous)
    if speaker is not None:
        return speaker
    if _FIRST_PERSON.match(text):                   # "We will not reward ..." in a speech
        voice = issuer or previous
        if voice and voice != NONE:
            return voice
    for m in mentions:
        if not m[3]:
            return m[2]
    return issuer or NONE


def _quoted(text: str) -> list[tuple[int, int]]:
    """Spans inside double quotation marks (curly quotes already folded to ")."""
    marks = [i for i, c in enumerate(text) if c == '"']
    return [(marks[i], marks[i + 1]) for i in range(0, len(marks) - 1, 2)]


def _speaker(text: str, mentions: list, previous: str | None) -> str | None:
    """Steps 2 and 3: the speaker of the first reporting verb, or None.

    Mentions inside quotation marks are never the speaker. Mentions after the verb count
    only in inverted attributions ('...," said Russia's foreign ministry'; "according to").
    """
    verb = _REPORTING_RE.search(text)
    if verb is None:
        return None
    quotes = _quoted(text)
    outside = [m for m in mentions if not any(a < m[0] < b for a, b in quotes)]
    clause_start = text.rfind(";", 0, verb.start()) + 1
    near = " ".join(text[clause_start:verb.start()].split()[-4:])
    pronoun = previous not in (None, NONE) and _PRONOUN_SPEAKER.search(near) is not None
    before = [m for m in outside if clause_start <= m[0] and m[1] <= verb.start() and not m[3]]
    inverted = verb.group(0).lower().startswith("according") or text[:verb.start()].rstrip().endswith(('"', ","))
    if before and not inverted:
        if _words_between(text, before[-1][1], verb.start()) <= 3:
            return before[-1][2]              # "..., Kerry said", "China has said"
        if pronoun:
            return previous                   # "Speaking in Beijing on China's behalf, he said"
        return before[0][2]                   # "Chinese Foreign Minister Wang Yi told reporters"
    if pronoun:
        return previous                       # "He said ...", "The ministry says ..."
    if inverted:
        after = [m for m in outside if m[0] >= verb.end()]
        if after:
            return after[0][2]                # '...," said Choo, spokesman for South Korea's ministry'
        if before:
            return before[0][2]
    return None


def attribute_article(texts: Iterable[str], rule: ActorRule | Sequence[Mapping[str, Any]],
                      issuer: str | None = None) -> list[str]:
    """Actors of the sentences of one article, in order (steps 3-4 look at the previous one)."""
    rule = compile_actors(rule)
    out: list[str] = []
    prev: str | None = None
    for t in texts:
        a = attribute(t, rule, prev, issuer)
        out.append(a)
        prev = a
    return out


