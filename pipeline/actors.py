"""Actors: who holds the stance a sentence reports (United States, China, Russia, ...).

The actor list is configurable (``analyze.actors`` in params.yaml: a name and its aliases).
:func:`attribute` applies one documented, deterministic rule to a sentence:

1. **Mentions.** Every alias is matched case-sensitively on word boundaries (longest alias
   first, so "Democratic People's Republic of Korea" is North Korea, not "Republic of
   Korea"; curly quotes are folded first). A mention right after a preposition (``against
   North Korea``, ``on Pyongyang``, ``with China``, ``of the U.S.``; an article or "fellow"
   between them is skipped) is *oblique*: a target or a circumstance, not a holder of a
   stance. ``by`` is not in the list: the agent of a passive ("adopted by the Council") acts.
2. **Speaker of a reporting verb.** If the sentence has a reporting verb (say, tell, urge,
   warn, announce, insist, stress, call for, according to, ...), the actor is the speaker:
   the non-oblique mention just before the verb (within 3 words: "..., Kerry said",
   "China has said"), else the first non-oblique mention before it ("Chinese Foreign
   Minister Wang Yi told reporters ..."), else a mention right after it ("said Russia's
   foreign ministry", "according to U.S. officials").
3. **Pronoun speakers.** A reporting verb whose speaker is a pronoun or an unnamed official
   ("He said", "The spokesman added") takes the actor of the previous sentence of the same
   article (the person being quoted was introduced there).
4. **Subject.** Otherwise the first non-oblique mention of the sentence (the subject of the
   main clause in the usual news sentence: "Japan imposed new sanctions ...").
5. Otherwise ``none``: nobody's position is reported.

Pure Python and regular expressions (no parser, no model): the same sentence always gets
the same actor, whatever the engine. The rule is measured against hand labels with
:func:`evaluate` (``stance analyze --evaluate-actors GOLD.csv``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config import StanceError

__all__ = ["NONE", "ActorRule", "attribute", "attribute_article", "compile_actors", "evaluate", "evaluate_actors"]

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
_REPORTING_RE = re.compile(rf"\b(?:{_REPORTING})\b")
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


_BEFORE = re.compile(r"([A-Za-z]+)\s+(?:(?:the|a|an|its|their|his|her|fellow|both)\s+)*$", re.IGNORECASE)
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
        if out and out[-1][2] == actor and _TITLES.match(text[out[-1][1]:m.start()]):
            oblique = out[-1][3]
        out.append((m.start(), m.end(), actor, oblique))
    return out


def _words_between(text: str, a: int, b: int) -> int:
    return len(_WORD.findall(text[a:b]))


def attribute(text: str, rule: ActorRule | Sequence[Mapping[str, Any]],
              previous: str | None = None) -> str:
    """The actor whose stance *text* reports (see the module docstring for the rule).

    Parameters
    ----------
    text : str
        One sentence.
    rule : ActorRule or list of {"name", "aliases"}
        From :func:`compile_actors` (compile once, reuse).
    previous : str, optional
        The actor of the previous sentence of the same article (used by step 3).

    Returns
    -------
    str
        An actor name, or ``"none"``.
    """
    rule = compile_actors(rule)
    text = text.translate(_FOLD)
    mentions = _mentions(text, rule)
    verb = _REPORTING_RE.search(text)
    if verb is not None:
        clause_start = text.rfind(";", 0, verb.start()) + 1
        near = " ".join(text[clause_start:verb.start()].split()[-4:])
        pronoun = previous not in (None, NONE) and _PRONOUN_SPEAKER.search(near) is not None
        before = [m for m in mentions if clause_start <= m[0] and m[1] <= verb.start() and not m[3]]
        if before:
            if _words_between(text, before[-1][1], verb.start()) <= 3:
                return before[-1][2]          # "..., Kerry said", "China has said"
            if pronoun:
                return previous               # "Speaking in Beijing on China's behalf, he said"
            return before[0][2]               # "Chinese Foreign Minister Wang Yi told reporters"
        after = [m for m in mentions if m[0] >= verb.end() and _words_between(text, verb.end(), m[0]) <= 3]
        if after:
            return after[0][2]                # "said Russia's foreign ministry", "according to ..."
        if pronoun:
            return previous                   # "He said ...", "The spokesman added ..."
    for m in mentions:
        if not m[3]:
            return m[2]
    return NONE


def attribute_article(texts: Iterable[str], rule: ActorRule | Sequence[Mapping[str, Any]]) -> list[str]:
    """Actors of the sentences of one article, in order (step 3 looks at the previous one)."""
    rule = compile_actors(rule)
    out: list[str] = []
    prev: str | None = None
    for t in texts:
        a = attribute(t, rule, prev)
        out.append(a)
        prev = a
    return out


def evaluate(gold, predicted) -> dict[str, Any]:
    """Accuracy of the rule against hand labels.

    Parameters
    ----------
    gold : pandas.DataFrame
        ``sentence_id, actor`` (the hand labels).
    predicted : pandas.DataFrame
        ``sentence_id, actor`` (the rule's output for the same sentences).

    Returns
    -------
    dict
        ``n`` (gold rows joined), ``missing`` (gold ids without a prediction), ``correct``,
        ``accuracy``, a 95% Wilson interval ``accuracy_low/high``, per-actor ``per_actor``
        (gold count, correct, recall) and ``confusion`` (``gold -> predicted -> count``).
    """
    from pipeline._analyze_stats import wilson

    pred = dict(zip(predicted["sentence_id"].astype(str), predicted["actor"].astype(str)))
    pairs = []
    missing = []
    for sid, actor in zip(gold["sentence_id"].astype(str), gold["actor"].astype(str)):
        if sid in pred:
            pairs.append((actor, pred[sid]))
        else:
            missing.append(sid)
    n = len(pairs)
    correct = sum(g == p for g, p in pairs)
    low, high = wilson(correct, n)
    per_actor: dict[str, dict[str, Any]] = {}
    confusion: dict[str, dict[str, int]] = {}
    for g, p in pairs:
        row = per_actor.setdefault(g, {"gold": 0, "correct": 0})
        row["gold"] += 1
        row["correct"] += int(g == p)
        confusion.setdefault(g, {}).setdefault(p, 0)
        confusion[g][p] += 1
    for row in per_actor.values():
        row["recall"] = round(row["correct"] / row["gold"], 4)
    return {
        "n": n,
        "missing": missing,
        "correct": correct,
        "accuracy": round(correct / n, 4) if n else 0.0,
        "accuracy_low": round(low, 4),
        "accuracy_high": round(high, 4),
        "per_actor": dict(sorted(per_actor.items())),
        "confusion": {g: dict(sorted(c.items())) for g, c in sorted(confusion.items())},
    }


def evaluate_actors(gold_path: str | os.PathLike, input_path: str | os.PathLike = "data/raw",
                    params: str | os.PathLike | None = None) -> dict[str, Any]:
    """Accuracy of the actor rule on hand labels (``sentence_id, actor[, note]``).

    The corpus (*input_path*, default ``data/raw``) is split with the pipeline's splitter
    and the rule applied article by article; the gold sentences are found by ``sentence_id``.
    Gold actors outside ``analyze.actors`` and ``none`` are a StanceError (file, line, value).
    """
    import pandas as pd

    from pipeline.analyze import _load_section
    from pipeline.split import split_corpus

    ap, split_params = _load_section(params)
    names = {a["name"] for a in ap.actors} | {NONE}
    gp = Path(gold_path)
    try:
        gold = pd.read_csv(gp, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise StanceError(f"{gp}: gold file not found") from None
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad file
        raise StanceError(f"{gp}: not a readable CSV ({' '.join(str(exc).split())[:120]})") from None
    for col in ("sentence_id", "actor"):
        if col not in gold.columns:
            raise StanceError(f"{gp} line 1: no '{col}' column")
    for i, a in enumerate(gold["actor"], 2):
        if a not in names:
            raise StanceError(f"{gp} line {i}: actor {a!r} is not one of {', '.join(sorted(names))}")
    params_split = dict(split_params or {})
    params_split["on_bad_file"] = "fail"
    sentences, _arts, _rep = split_corpus(input_path, params_split)
    rule = compile_actors(list(ap.actors))
    actors: list[str] = []
    for _aid, group in sentences.groupby("article_id", sort=True):
        actors.extend(attribute_article(group.sort_values("position")["text"].tolist(), rule))
    ordered = sentences.sort_values(["article_id", "position"])
    pred = pd.DataFrame({"sentence_id": ordered["sentence_id"].to_numpy(), "actor": actors})
    result = evaluate(gold, pred)
    result["gold"] = str(gp)
    return result
