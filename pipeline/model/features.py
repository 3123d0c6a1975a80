"""Feature extraction and model construction for the stance classifier.

Everything built here is a scikit-learn object whose callables are standard-library
picklables: ``functools.partial(re.sub, pattern_string, replacement)``,
``functools.partial(map, f)`` and ``list`` (all of which skops, MLflow's safe model format,
can also store), plus three small classes of this package that hold only arrays, strings and
numbers: :class:`~pipeline.model.static.StaticEmbeddings` (the static-embedding block),
:class:`~pipeline.model.average.ProbabilityAverage` (the TF-IDF and static classifiers'
probabilities averaged) and :class:`~pipeline.model.calibration.Calibrated` (calibrated scores,
added by ``stance train``). A saved model therefore loads where this package is installed
(the default install; no torch).

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
``phrases`` (optional)
    Phrase cues of the annotation guide (talks instead of pressure, "not the fundamental
    way", restraint and calm, lift/ease/relief, "act of war", "dead end", ...), each a regular
    expression; a phrase inside a negation scope counts as its negated form.
``static`` (``train.features.static.mode: block``)
    The static sentence embeddings as one more block. In the default mode, ``average``, they
    feed a classifier of their own instead, whose probabilities are averaged with the TF-IDF
    model's (:func:`build_pipeline`).

The word and char blocks can mask dates, numbers and names first (``mask``). Classifiers:
``logreg``, ``linearsvc`` (calibrated), ``sgd`` and ``nblr`` (NB-LR, stored as a plain
LogisticRegression); ``train.priors`` shifts a logistic regression's intercepts (class
thresholds); ``train.combine: vote`` averages one classifier per block. The opt-in
``train.features.embeddings`` block (:mod:`pipeline.model.embeddings`) is the one exception to the
"nothing from pipeline inside" rule: it needs the [embeddings] extra and this package to load.

All hyperparameters come from the ``train`` section of ``params.yaml``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pipeline.core.config import StanceError
from pipeline.core.params import (
    CLASSIFIERS,
    CueFeatures,
    FeaturesParams,
    PhraseFeatures,
    TrainParams,
    coerce,
    words,
)
from pipeline.model.embeddings import encode

__all__ = [
    "CLASSIFIERS",
    "BUT_CLAUSE_MODES",
    "build_classifier",
    "build_cue_features",
    "build_features",
    "build_phrase_features",
    "build_pipeline",
    "build_stack_combiner",
    "check_combine",
    "build_dense_model",
    "embeddings_enabled",
    "fit_classifier",
    "apply_priors",
    "mask_steps",
    "phrase_steps",
    "preprocess_phrases",
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
    spaces; StanceError naming ``where.key`` otherwise (see :func:`pipeline.core.params.words`)."""
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


#: ``train.features.<word|char>.mask`` values: what is replaced by a placeholder before the
#: TF-IDF block sees the text, so that the model learns stance words rather than who or when.
MASKS = {
    # Month names (with an optional day and year) and years 1900-2099.
    "dates": (r"\b(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
              r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?)?"
              r"(?:,?\s+(?:19|20)\d\d)?\b|\b(?:19|20)\d\d\b", " zzdate "),
    "numbers": (r"\b\d[\d,.]*\b", " zznum "),
    # Capitalised words not at the start of the sentence (names of people, places, bodies).
    "names": (r"(?<=[a-z,;:] )(?:[A-Z][\w'\u2019.-]*)(?:\s+(?:of\s+)?[A-Z][\w'\u2019.-]*)*", " zzname "),
}


def mask_steps(masks: Sequence[str], where: str = "train.features.word.mask") -> list[tuple[str, Any]]:
    """FunctionTransformer steps that replace dates, numbers and/or names by placeholders.

    Each step is ``FunctionTransformer(partial(map, partial(re.sub, pattern, placeholder)))``
    (plain, picklable, skops-friendly); dates go before numbers so that years become dates.
    """
    from sklearn.preprocessing import FunctionTransformer

    masks = list(masks or [])
    unknown = [m for m in masks if m not in MASKS]
    if unknown:
        raise StanceError(f"{where}: unknown mask {unknown[0]!r}; choose from {', '.join(MASKS)}")
    return [(f"mask_{name}", FunctionTransformer(functools.partial(map, functools.partial(re.sub, *MASKS[name]))))
            for name in MASKS if name in masks]


def _masked(vectorizer, masks: Sequence[str], where: str):
    """*vectorizer* alone, or ``Pipeline(mask steps, list, vectorizer)`` when masks are set."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    steps = mask_steps(masks, where)
    if not steps:
        return vectorizer
    return Pipeline(steps + [("materialise", FunctionTransformer(list)), ("tfidf", vectorizer)])


#: Placeholder prefix of phrase-cue tokens (never an English word; ``_`` keeps it one token).
PHRASE_TOKEN = "zzph_"


def phrase_steps(patterns: dict[str, str], negators: Sequence[str], contrast: Sequence[str],
                 where: str = "train.features.phrases") -> list[tuple[str, Callable[[str], str]]]:
    """Rewriting steps of the phrase-cue block: a token ``zzph_<name>`` is inserted *before* every
    match of each pattern; a token inside a negation scope (from a negator to the next punctuation
    mark or contrast word) becomes ``zzph_not_<name>`` ("will not lift" -> ``zzph_not_relief``).

    Every step is ``functools.partial(re.sub, pattern, replacement)`` (patterns are strings).
    """
    if not patterns:
        raise StanceError(f"{where}.patterns: no phrase patterns (disable the block instead)")
    steps: list[tuple[str, Callable[[str], str]]] = [("apostrophes", functools.partial(re.sub, _APOSTROPHES, "'"))]
    for name, pattern in patterns.items():
        if not re.fullmatch(r"[a-z][a-z0-9]*", str(name)):
            raise StanceError(f"{where}.patterns: name {name!r} must be lower-case letters and digits")
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            raise StanceError(f"{where}.patterns.{name}: invalid regular expression {pattern!r}: {exc}") from None
        insert = f" {PHRASE_TOKEN}{name} \\g<0>"
        steps.append((f"phrase_{name}", functools.partial(re.sub, f"(?i)(?:{pattern})", insert)))
    neg_words = [n.strip().lower() for n in _words(negators) if n.strip()]
    stop = [c.strip().lower() for c in _words(contrast) if c.strip()]
    neg = rf"(?:\b(?:{_alternation(neg_words)})\b|n't\b)" if neg_words else r"n't\b"
    barrier = rf"(?!\b(?:{_alternation(stop)})\b)" if stop else ""
    scope = rf"(?i)({neg}(?:{barrier}[^,.;:!?])*?)\b{PHRASE_TOKEN}(?!not_)"
    # Two passes: up to two phrase tokens inside one negation scope are marked.
    for k in (1, 2):
        steps.append((f"negation{k}", functools.partial(re.sub, scope, rf"\1{PHRASE_TOKEN}not_")))
    return steps


def build_phrase_features(cfg: PhraseFeatures | Mapping[str, Any]):
    """Phrase-cue counts (the annotation guide's cues) as a scikit-learn Pipeline.

    Parameters
    ----------
    cfg : PhraseFeatures or mapping
        ``train.features.phrases``: ``patterns`` (name -> regex, matched case-insensitively),
        ``negators`` and ``contrast`` (word lists, as for the cue block), ``binary``.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Rewriting steps (:func:`phrase_steps`), ``list``, then a ``CountVectorizer`` with the fixed
        vocabulary ``zzph_<name>`` and ``zzph_not_<name>``; output ``(n_samples, 2 * n_patterns)``.
    """
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    c = coerce(PhraseFeatures, cfg, "train.features.phrases")
    steps = [(name, FunctionTransformer(functools.partial(map, fn)))
             for name, fn in phrase_steps(c.patterns, c.negators, c.contrast)]
    steps.append(("materialise", FunctionTransformer(list)))
    names = sorted(c.patterns)
    vocab = [f"{PHRASE_TOKEN}{n}" for n in names] + [f"{PHRASE_TOKEN}not_{n}" for n in names]
    # Only the inserted tokens are tokenised (they are lower case already): much faster than
    # splitting the whole sentence into words, with the same counts.
    steps.append(("count", CountVectorizer(vocabulary=vocab, lowercase=False, token_pattern=PHRASE_TOKEN + r"\w+",
                                           binary=c.binary, dtype=np.float64)))
    return Pipeline(steps)


def preprocess_phrases(text: str, cfg: PhraseFeatures | Mapping[str, Any]) -> str:
    """Apply the phrase-cue rewriting of ``train.features.phrases`` to one string (for tests)."""
    c = coerce(PhraseFeatures, cfg, "train.features.phrases")
    for _name, step in phrase_steps(c.patterns, c.negators, c.contrast):
        text = step(text)
    return text.lower()


def apply_priors(model, offsets: dict[str, float]):
    """Add log-prior offsets to a fitted logistic regression's intercepts, in place; return *model*.

    For a multinomial logistic regression, ``intercept_[c] += b_c`` multiplies the class
    probabilities by ``exp(b_c)`` before renormalising, so class-specific decision thresholds
    tuned for macro-F1 live inside a plain scikit-learn model.
    """
    import numpy as np

    clf = model.steps[-1][1] if hasattr(model, "steps") else model
    if not hasattr(clf, "intercept_") or getattr(clf, "coef_", np.zeros((1, 1))).shape[0] != len(clf.classes_):
        raise StanceError("train.priors.tune: needs the logreg classifier with 3 classes")
    clf.intercept_ = clf.intercept_ + np.array([float(offsets.get(str(c), 0.0)) for c in clf.classes_])
    return model


def build_features(cfg: FeaturesParams | Mapping[str, Any]):
    """The feature union of ``train.features`` (*cfg*).

    Parameters
    ----------
    cfg : FeaturesParams or mapping
        ``word`` (``ngram_range``, ``min_df``, ``max_df``, ``sublinear_tf``, ``max_features``,
        ``mask``), ``char`` (``enabled``, ``ngram_range``, ``min_df``, ``sublinear_tf``,
        ``max_features``, ``weight``, ``mask``), ``cues`` (``enabled``, ``weight``, see
        :func:`build_cue_features`), ``phrases`` (see :func:`build_phrase_features`).

    Returns
    -------
    union : sklearn.pipeline.FeatureUnion
        Input: iterable of str (length n_samples); output: sparse matrix ``(n_samples, n_features)``.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    f = coerce(FeaturesParams, cfg, "train.features")
    word, char, cues, phrases = f.word, f.char, f.cues, f.phrases
    blocks = [("word", _masked(TfidfVectorizer(
        analyzer="word", lowercase=True, ngram_range=tuple(word.ngram_range), min_df=word.min_df,
        max_df=word.max_df, sublinear_tf=word.sublinear_tf, max_features=word.max_features),
        word.mask, "train.features.word.mask"))]
    weights = {"word": 1.0}
    if char.enabled:
        blocks.append(("char", _masked(TfidfVectorizer(
            analyzer="char_wb", lowercase=True, ngram_range=tuple(char.ngram_range), min_df=char.min_df,
            sublinear_tf=char.sublinear_tf, max_features=char.max_features), char.mask, "train.features.char.mask")))
        weights["char"] = char.weight
    if cues.enabled:
        blocks.append(("cues", build_cue_features(cues)))
        weights["cues"] = cues.weight
    if phrases.enabled:
        blocks.append(("phrases", build_phrase_features(phrases)))
        weights["phrases"] = phrases.weight
    if f.static.enabled and f.static.mode == "block":
        # imported here: the static block's module loads scikit-learn (start-up of the stages)
        from pipeline.model.static import StaticEmbeddings

        blocks.append(("static", StaticEmbeddings(f.static.path)))
        weights["static"] = f.static.weight
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
    if p.classifier in ("logreg", "nblr"):  # nblr: fitted by fit_classifier, stored as a LogisticRegression
        return LogisticRegression(C=p.C, class_weight=p.class_weight, max_iter=p.max_iter, random_state=p.seed)
    if p.classifier == "linearsvc":
        svc = LinearSVC(C=p.C, class_weight=p.class_weight, max_iter=p.max_iter, random_state=p.seed)
        return CalibratedClassifierCV(svc, method="sigmoid", cv=p.calibration_folds)
    return SGDClassifier(loss=p.sgd_loss, alpha=p.alpha, class_weight=p.class_weight,
                         max_iter=p.max_iter, tol=1e-4, random_state=p.seed)


def fit_classifier(params: dict[str, Any], x, y):
    """Fit the classifier of ``train.classifier`` on a feature matrix; return it.

    ``nblr`` (NB-LR, Wang & Manning 2012, with logistic regression instead of an SVM): for each
    class c, the log-count ratio ``r_c = log((p_c/|p_c|) / (q_c/|q_c|))`` with
    ``p_c = nb_alpha + sum of the rows of class c``, ``q_c`` the same over the other rows; a
    binary logistic regression on ``x * r_c`` (class c against the rest) gives ``w_c, b_c``.
    Because ``(x * r_c) . w_c = x . (r_c * w_c)``, the scaled weights are stored in a plain
    ``LogisticRegression`` (``coef_[c] = r_c * w_c``, ``intercept_[c] = b_c``): its
    ``predict_proba`` is the softmax of the one-against-rest scores, and the saved model stays a
    plain scikit-learn object.
    """
    import numpy as np

    p = coerce(TrainParams, params, "train")
    if p.classifier != "nblr":
        return build_classifier(p).fit(x, y)
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(y, dtype=object)
    classes = np.array(sorted(set(y.tolist())), dtype=object)
    alpha = p.nb_alpha
    clf = build_classifier(p)  # LogisticRegression with C, class_weight, seed
    if len(classes) < 3:  # binary: one ratio, the usual NB-LR
        return clf.fit(x, y)
    coefs, intercepts = [], []
    for c in classes:
        pos = y == c
        p = alpha + np.asarray(x[pos].sum(axis=0)).ravel()
        q = alpha + np.asarray(x[~pos].sum(axis=0)).ravel()
        r = np.log((p / p.sum()) / (q / q.sum()))
        binary = LogisticRegression(C=clf.C, class_weight=clf.class_weight, max_iter=clf.max_iter,
                                    random_state=clf.random_state)
        binary.fit(x.multiply(r).tocsr() if hasattr(x, "multiply") else x * r, pos)
        coefs.append(binary.coef_[0] * r)
        intercepts.append(binary.intercept_[0])
    clf.fit(x, y)  # sets classes_, n_features_in_ ...; the weights are replaced below
    clf.coef_ = np.vstack(coefs)
    clf.intercept_ = np.asarray(intercepts, dtype=float)
    return clf


def build_dense_model(params: TrainParams | Mapping[str, Any]):
    """The optional embeddings model: ``Pipeline(FunctionTransformer(partial(encode)), LogisticRegression)``.

    ``train.features.embeddings``: ``package`` (module shipping the encoder), ``batch_size``,
    ``threads``, ``C``; class weights, iterations and seed as for the TF-IDF classifier.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    p = coerce(TrainParams, params, "train")
    cfg = p.features.embeddings
    embed = functools.partial(encode, package=cfg.package, batch_size=cfg.batch_size, threads=cfg.threads)
    return Pipeline([("embed", FunctionTransformer(embed)),
                     ("clf", LogisticRegression(C=cfg.C, class_weight=p.class_weight, max_iter=p.max_iter,
                                                random_state=p.seed))])


def embeddings_enabled(params: TrainParams | Mapping[str, Any]) -> bool:
    """Whether ``train.features.embeddings.enabled`` is on."""
    if isinstance(params, TrainParams):
        return params.features.embeddings.enabled
    return bool(((params.get("features") or {}).get("embeddings") or {}).get("enabled", False))


def check_combine(p: TrainParams) -> None:
    """StanceError for a ``train.combine`` that cannot go with the other settings."""
    if p.combine != "union" and (p.classifier == "nblr" or p.priors.tune):
        raise StanceError(f"train.combine: {p.combine} is not available with the nblr classifier or train.priors.tune")
    static = p.features.static
    if static.enabled and p.classifier == "nblr":
        raise StanceError("train.classifier: nblr is not available with train.features.static "
                          "(set train.features.static.enabled: false)")
    if static.enabled and static.mode == "average" and p.priors.tune:
        raise StanceError("train.priors.tune: not available with train.features.static.mode: average "
                          "(averaged probabilities)")
    if p.combine == "stack" and p.features.embeddings.enabled:
        raise StanceError("train.combine: stack is not available with train.features.embeddings "
                          "(set train.combine: union, the configuration measured in the README)")


def build_stack_combiner(params: TrainParams | Mapping[str, Any]):
    """The logistic regression of ``train.combine: stack`` (balanced classes, C ``train.stack_C``)."""
    from sklearn.linear_model import LogisticRegression

    p = coerce(TrainParams, params, "train")
    return LogisticRegression(C=p.stack_C, class_weight="balanced", max_iter=p.max_iter, random_state=p.seed)


def build_pipeline(params: TrainParams | Mapping[str, Any]):
    """Unfitted model: ``Pipeline([("features", FeatureUnion), ("clf", classifier)])``.

    With ``train.combine: vote``, one such pipeline per feature block (word, char, cues...) and a
    soft ``VotingClassifier`` averaging their probabilities with the block weights. With
    ``stack``, the same pipelines in a ``StackingClassifier`` whose final estimator
    (:func:`build_stack_combiner`) learns from their out-of-fold probabilities; its ``cv`` must be
    set to folds grouped by article before fitting (:func:`pipeline.train.stage.fit_final` does).

    With ``train.features.static`` in ``mode: average`` (the default): a
    :class:`~pipeline.model.average.ProbabilityAverage` of that model (share ``1 - weight``) and
    :func:`~pipeline.model.static.build_static_model` (share ``train.features.static.weight``).

    With ``train.features.embeddings.enabled`` (opt-in, needs the [embeddings] extra): a soft
    ``VotingClassifier`` of that pipeline (weight 1) and :func:`build_dense_model` (weight
    ``train.features.embeddings.weight``): a weighted average of the two models' probabilities.

    Parameters
    ----------
    params : dict
        The ``train`` section of ``params.yaml`` (grid overrides already applied).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline (or sklearn.ensemble.VotingClassifier)
        ``fit(texts, labels)`` with texts an iterable of n_samples str; ``predict`` gives labels,
        ``predict_proba`` an array ``(n_samples, n_classes)`` ordered by ``classes_``.
    """
    from sklearn.ensemble import StackingClassifier, VotingClassifier
    from sklearn.pipeline import FeatureUnion, Pipeline

    p = coerce(TrainParams, params, "train")
    check_combine(p)
    union = build_features(p.features)
    if p.combine == "union":
        tfidf = Pipeline([("features", union), ("clf", build_classifier(p))])
    else:  # vote, stack
        weights = union.transformer_weights or {}
        per_block = [(name, Pipeline([("features", FeatureUnion([(name, block)])), ("clf", build_classifier(p))]))
                     for name, block in union.transformer_list]
        if p.combine == "vote":
            tfidf = VotingClassifier(per_block, voting="soft",
                                     weights=[float(weights.get(name, 1.0)) for name, _ in union.transformer_list])
        else:
            tfidf = StackingClassifier(per_block, final_estimator=build_stack_combiner(p), stack_method="predict_proba")
    if p.features.static.enabled and p.features.static.mode == "average":
        # imported here: these modules load scikit-learn (start-up of the stages)
        from pipeline.model.average import ProbabilityAverage
        from pipeline.model.static import build_static_model

        share = p.features.static.weight
        tfidf = ProbabilityAverage([("tfidf", tfidf), ("static", build_static_model(p))], weights=[1.0 - share, share])
    if not p.features.embeddings.enabled:
        return tfidf
    if p.priors.tune:
        raise StanceError("train.priors.tune: not available with train.features.embeddings (averaged probabilities)")
    if p.classifier == "nblr":
        raise StanceError("train.classifier: nblr is not available with train.features.embeddings")
    return VotingClassifier([("tfidf", tfidf), ("dense", build_dense_model(p))], voting="soft",
                            weights=[1.0, p.features.embeddings.weight])


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
