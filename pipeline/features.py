"""Feature extraction and model construction for the stance classifier.

The fitted model must unpickle with nothing but scikit-learn (and its numpy/scipy) installed,
so everything built here is a plain scikit-learn object whose callables are standard-library
picklables: ``functools.partial(re.sub, pattern_string, replacement)``,
``functools.partial(map, f)`` and ``list`` (all of which skops, MLflow's safe model format,
can also store). No function or class from :mod:`pipeline` ends up
inside a fitted model.

Feature blocks (a :class:`~sklearn.pipeline.FeatureUnion`):

``word``
    TF-IDF over word n-grams.
``char`` (optional)
    TF-IDF over character n-grams inside word boundaries (``char_wb``).
``cues`` (optional)
    Counts of a small, fixed vocabulary of stance cue words (oppose, reject, veto, ease, lift,
    urge, impose, tighten, enforce, ...). Before counting (case-insensitively), inflected
    forms of a cue are folded onto its stem (``opposes``/``opposed``/``opposition`` ->
    ``oppos``), a negated cue becomes its own feature (``will not lift`` -> ``not_lift``)
    and the clause after the last contrast word ("but", "however") is kept alone or repeated
    (``but_clause``), because it usually carries the speaker's actual position.

All hyperparameters come from the ``train`` section of ``params.yaml``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pipeline.config import StanceError
from pipeline.params import CLASSIFIERS, CueFeatures, FeaturesParams, TrainParams, coerce, words

__all__ = [
    "CLASSIFIERS",
    "BUT_CLAUSE_MODES",
    "build_classifier",
    "build_cue_features",
    "build_features",
    "build_pipeline",
    "cue_stem",
    "cue_steps",
    "cue_vocabulary",
    "lexicon_predict",
    "preprocess_cues",
    "word_list",
]

#: Accepted values of ``train.features.cues.but_clause``.
BUT_CLAUSE_MODES = ("none", "after", "upweight")

#: Inflectional/derivational endings folded onto a cue's stem (``impos`` + ``ition``).
#: Closed list on purpose: ``impos`` must not swallow ``impossible``, nor ``urg`` ``urgent``.
SUFFIXES = (
    "e", "es", "ed", "d", "s", "ing", "er", "ers", "ion", "ions", "ition", "itions",
    "ation", "ations", "ment", "ments", "ement", "ements", "ive",
)

_APOSTROPHES = "[\u2019\u2018\u02bc`\u00b4]"


def cue_stem(word: str) -> str:
    """Return the stem a cue word's inflections are folded onto.

    Lowercase, and a final silent ``e`` dropped (``oppose`` -> ``oppos``, ``ease`` -> ``eas``),
    so ``oppose, opposes, opposed, opposing, opposition`` all map to one feature.

    Parameters
    ----------
    word : str
        One cue word (letters only).

    Returns
    -------
    stem : str
    """
    w = word.strip().lower()
    if not re.fullmatch(r"[a-z]+", w):
        raise StanceError(f"train.features.cues: cue words must be single words of letters, got {word!r}")
    return w[:-1] if len(w) > 3 and w.endswith("e") else w


def _words(value: str | Iterable[str]) -> list[str]:
    """A word list given as a sequence or as one space-separated string."""
    return value.split() if isinstance(value, str) else list(value)


def _alternation(words: Iterable[str]) -> str:
    # Longest first so that a stem that prefixes another (e.g. "lift"/"lifting") cannot shadow it.
    return "|".join(sorted({re.escape(w) for w in words}, key=lambda s: (-len(s), s)))


def cue_steps(cues: Sequence[str], negators: Sequence[str], contrast: Sequence[str],
              but_clause: str = "upweight") -> list[tuple[str, Callable[[str], str]]]:
    """Text rewriting steps of the cue features, each a picklable ``str -> str`` callable.

    Parameters
    ----------
    cues : sequence of str (or one space-separated str, as are the next two)
        Cue words (any inflection of them is folded onto :func:`cue_stem`).
    negators : sequence of str
        Words that negate a following cue within two words (``not``, ``never``, ``no``...).
        The contraction ``n't`` always counts as a negator.
    contrast : sequence of str
        Contrast words whose *last* occurrence starts the clause that ``but_clause`` acts on.
    but_clause : {"none", "after", "upweight"}
        ``after`` keeps only the text after the last contrast word; ``upweight`` appends that
        text a second time (so its cues count double); ``none`` leaves the text alone.

    Returns
    -------
    steps : list of (name, callable)
        Apply in order. Every callable is ``functools.partial(re.sub, pattern, repl)`` with a
        pattern *string* (skops cannot store compiled patterns); patterns ignore case and keep the
        input's case (lowercase afterwards).
    """
    cues, negators, contrast = (_words(v) for v in (cues, negators, contrast))
    if but_clause not in BUT_CLAUSE_MODES:
        raise StanceError(f"train.features.cues.but_clause: expected one of {', '.join(BUT_CLAUSE_MODES)}, "
                          f"got {but_clause!r}")
    stems = sorted({cue_stem(c) for c in cues})
    if not stems:
        raise StanceError("train.features.cues.words: the cue list is empty (disable cues instead)")
    steps: list[tuple[str, Callable[[str], str]]] = [
        ("apostrophes", functools.partial(re.sub, _APOSTROPHES, "'")),
    ]
    contrast_words = [c.strip().lower() for c in contrast if c.strip()]
    if but_clause != "none" and contrast_words:
        alt = _alternation(contrast_words)
        if but_clause == "after":
            pattern = rf"(?si)^.*\b(?:{alt})\b"
            steps.append(("but_clause", functools.partial(re.sub, pattern, " ")))
        else:
            pattern = rf"(?si)^(.*\b(?:{alt})\b)(.*)$"
            steps.append(("but_clause", functools.partial(re.sub, pattern, r"\1\2 \2")))
    suffixes = _alternation(SUFFIXES)
    stem_pattern = rf"(?i)\b({_alternation(stems)})(?:{suffixes})?\b"
    steps.append(("stem", functools.partial(re.sub, stem_pattern, r"\1")))
    neg_words = [n.strip().lower() for n in negators if n.strip()]
    neg_alt = rf"\b(?:{_alternation(neg_words)})\b|n't\b" if neg_words else r"n't\b"
    neg_pattern = rf"(?i)(?:{neg_alt})\s+(?:\w+\s+){{0,2}}?({_alternation(stems)})\b"
    steps.append(("negation", functools.partial(re.sub, neg_pattern, r" not_\1")))
    return steps


def word_list(cfg: Mapping[str, Any], key: str, where: str) -> list[str]:
    """``cfg[key]`` as a list of str: a YAML list of words, or one string of words separated by
    spaces; StanceError naming ``where.key`` otherwise (see :func:`pipeline.params.words`)."""
    return words(cfg.get(key), f"{where}.{key}")


def _cues(cfg: CueFeatures | Mapping[str, Any]) -> CueFeatures:
    return coerce(CueFeatures, cfg, "train.features.cues")


def preprocess_cues(text: str, cfg: CueFeatures | Mapping[str, Any]) -> str:
    """Apply the cue rewriting steps of ``train.features.cues`` (*cfg*) to one string.

    Example: ``"We will not ease sanctions"`` -> ``"we will  not_eas sanctions"`` (with the
    default cue list; lowercased at the end, like the vectorizer does). Used by tests.
    """
    c = _cues(cfg)
    for _name, step in cue_steps(c.words, c.negators, c.contrast, c.but_clause):
        text = step(text)
    return text.lower()


def cue_vocabulary(cues: Sequence[str]) -> list[str]:
    """Fixed vocabulary of the cue block: every stem and its negated form, sorted.

    Returns
    -------
    vocabulary : list of str, length ``2 * n_stems``
    """
    stems = sorted({cue_stem(c) for c in _words(cues)})
    return stems + [f"not_{s}" for s in stems]


def build_cue_features(cfg: CueFeatures | Mapping[str, Any]):
    """Cue-word counts as a scikit-learn Pipeline (input: iterable of str).

    Parameters
    ----------
    cfg : CueFeatures or mapping
        ``train.features.cues``: ``words``, ``negators``, ``contrast``, ``but_clause``,
        ``binary`` (bool: presence instead of counts).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        ``FunctionTransformer(partial(map, step))`` for each rewriting step, ``list`` to
        materialise, then a lowercasing ``CountVectorizer`` with a fixed vocabulary. Output shape
        ``(n_samples, 2 * n_stems)``.
    """
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    c = _cues(cfg)
    steps = [(name, FunctionTransformer(functools.partial(map, fn)))
             for name, fn in cue_steps(c.words, c.negators, c.contrast, c.but_clause)]
    steps.append(("materialise", FunctionTransformer(list)))
    steps.append(("count", CountVectorizer(
        vocabulary=cue_vocabulary(c.words), lowercase=True, token_pattern=r"(?u)\b\w+\b",
        binary=c.binary, dtype=np.float64)))
    return Pipeline(steps)


def build_features(cfg: FeaturesParams | Mapping[str, Any]):
    """The feature union of ``train.features`` (*cfg*).

    Parameters
    ----------
    cfg : FeaturesParams or mapping
        ``word`` (``ngram_range``, ``min_df``, ``max_df``, ``sublinear_tf``, ``max_features``),
        ``char`` (``enabled``, ``ngram_range``, ``min_df``, ``sublinear_tf``, ``max_features``),
        ``cues`` (``enabled``, ``weight``, see :func:`build_cue_features`).

    Returns
    -------
    union : sklearn.pipeline.FeatureUnion
        Input: iterable of str (length n_samples); output: sparse matrix ``(n_samples, n_features)``.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    f = coerce(FeaturesParams, cfg, "train.features")
    word, char, cues = f.word, f.char, f.cues
    blocks = [("word", TfidfVectorizer(
        analyzer="word", lowercase=True, ngram_range=tuple(word.ngram_range), min_df=word.min_df,
        max_df=word.max_df, sublinear_tf=word.sublinear_tf, max_features=word.max_features))]
    weights = {"word": 1.0}
    if char.enabled:
        blocks.append(("char", TfidfVectorizer(
            analyzer="char_wb", lowercase=True, ngram_range=tuple(char.ngram_range), min_df=char.min_df,
            sublinear_tf=char.sublinear_tf, max_features=char.max_features)))
        weights["char"] = char.weight
    if cues.enabled:
        blocks.append(("cues", build_cue_features(cues)))
        weights["cues"] = cues.weight
    return FeatureUnion(blocks, transformer_weights=weights)


def build_classifier(params: TrainParams | Mapping[str, Any]):
    """The linear classifier named by ``train.classifier``.

    ``logreg`` -> LogisticRegression (lbfgs); ``linearsvc`` -> LinearSVC wrapped in
    CalibratedClassifierCV (sigmoid, ``calibration_folds`` stratified folds) so that
    ``predict_proba`` exists; ``sgd`` -> SGDClassifier with a probabilistic loss
    (``log_loss`` or ``modified_huber``).

    Parameters
    ----------
    params : TrainParams or mapping
        The ``train`` section: ``classifier``, ``C``, ``alpha``, ``class_weight``, ``max_iter``,
        ``calibration_folds``, ``sgd_loss``, ``seed``.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.svm import LinearSVC

    p = coerce(TrainParams, params, "train")
    if p.classifier == "logreg":
        return LogisticRegression(C=p.C, class_weight=p.class_weight, max_iter=p.max_iter, random_state=p.seed)
    if p.classifier == "linearsvc":
        svc = LinearSVC(C=p.C, class_weight=p.class_weight, max_iter=p.max_iter, random_state=p.seed)
        return CalibratedClassifierCV(svc, method="sigmoid", cv=p.calibration_folds)
    return SGDClassifier(loss=p.sgd_loss, alpha=p.alpha, class_weight=p.class_weight,
                         max_iter=p.max_iter, tol=1e-4, random_state=p.seed)


def build_pipeline(params: TrainParams | Mapping[str, Any]):
    """Unfitted model: ``Pipeline([("features", FeatureUnion), ("clf", classifier)])``.

    Parameters
    ----------
    params : TrainParams or mapping
        The ``train`` section of ``params.yaml`` (grid overrides already applied); a mapping is
        validated by :mod:`pipeline.params`.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        ``fit(texts, labels)`` with texts an iterable of n_samples str; ``predict`` gives labels,
        ``predict_proba`` an array ``(n_samples, n_classes)`` ordered by ``classes_``.
    """
    from sklearn.pipeline import Pipeline

    p = coerce(TrainParams, params, "train")
    return Pipeline([("features", build_features(p.features)), ("clf", build_classifier(p))])


def lexicon_predict(texts: Iterable[str], support: Sequence[str], oppose: Sequence[str],
                    negators: Sequence[str]) -> list[str]:
    """Keyword-lexicon baseline: count support and oppose cue words, a negated cue counts
    for the other side; more support -> ``support``, more oppose -> ``oppose``, else ``neutral``.

    Parameters
    ----------
    texts : iterable of str, length n_samples
    support, oppose : sequence of str, or one space-separated str
        Cue words (inflections folded as in :func:`cue_stem`) signalling each stance.
    negators : sequence of str, or one space-separated str

    Returns
    -------
    labels : list of str, length n_samples
    """
    sup = {cue_stem(w) for w in _words(support)}
    opp = {cue_stem(w) for w in _words(oppose)}
    overlap = sup & opp
    if overlap:
        raise StanceError(f"evaluate.lexicon: words in both the support and oppose lists: {sorted(overlap)}")
    steps = cue_steps(sorted(sup | opp), negators, contrast=(), but_clause="none")
    out = []
    for text in texts:
        for _name, step in steps:
            text = step(text)
        score = 0
        for token in re.findall(r"\w+", text.lower()):
            negated = token.startswith("not_")
            stem = token[4:] if negated else token
            sign = 1 if stem in sup else -1 if stem in opp else 0
            score += -sign if negated else sign
        out.append("support" if score > 0 else "oppose" if score < 0 else "neutral")
    return out
