"""A faster, output-identical scoring view of a fitted model (used by ``Scorer``).

Three parts of the model are computed another way when ``stance predict`` scores text; the
matrices are the same numbers, so the probabilities are identical (tested exactly:
``tests/model/test_fast_features.py``):

``char_wb`` n-grams
    scikit-learn builds every character n-gram of every word in Python and looks each one up.
    Character n-grams of ``char_wb`` never cross a word boundary (each word is padded with one
    space and cut on its own), so a document's count vector is the sum of its words' count
    vectors, ``counts = D @ W``: ``D`` (documents x distinct words of the batch) counts the
    words of each document and ``W`` (distinct words x vocabulary) holds each word's n-gram
    counts, computed once per distinct word and remembered (text repeats its words).
word n-grams
    The same tokens and n-grams as the vectorizer's analyzer, looked up in the vocabulary in one
    pass per document instead of scikit-learn's per-feature counting loop.
the cue block
    Its four rewriting passes run only on sentences that hold a cue stem at the start of a word
    (one search per sentence): every feature of the block is a stem or ``not_<stem>``, and the
    rewriting only folds, marks, repeats or drops text around cues, so a sentence without a stem
    has an all-zero row.

The TF-IDF step is each vectorizer's own. Nothing in the model file changes: :func:`scoring_view`
returns shallow copies of the model's ``Pipeline``, ``FeatureUnion``, ``VotingClassifier``,
``StackingClassifier``, :class:`~pipeline.model.average.ProbabilityAverage` and
:class:`~pipeline.model.calibration.Calibrated` objects in which each eligible fitted part is
wrapped; anything it does not recognise is used as it is.
"""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["scoring_view"]

#: Cached words per vectorizer before the cache is emptied (memory stays bounded).
CACHE_WORDS = 200_000
# sklearn's char_wb analyzer squeezes runs of whitespace first (``_white_spaces``)
_WHITE_SPACES = re.compile(r"\s\s+")


def _eligible(step: Any) -> bool:
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    return (type(step) in (CountVectorizer, TfidfVectorizer) and step.analyzer == "char_wb"
            and step.input == "content" and hasattr(step, "vocabulary_")
            and (type(step) is CountVectorizer or hasattr(step, "_tfidf")))


def _word_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """The ``char_wb`` n-grams of one word, as sklearn makes them (padded with one space)."""
    w = f" {word} "
    size = len(w)
    grams: list[str] = []
    for n in range(min_n, max_n + 1):
        if size <= n:  # a short word counts once, whole
            grams.append(w)
            break
        grams.extend(w[i:i + n] for i in range(size - n + 1))
    return grams


class _CharWbView:
    """``transform`` of a fitted ``char_wb`` vectorizer, computed per distinct word."""

    def __init__(self, vectorizer) -> None:
        self.vectorizer = vectorizer
        self._preprocess = vectorizer.build_preprocessor()
        self._ngrams = tuple(vectorizer.ngram_range)
        self._n_features = len(vectorizer.vocabulary_)
        self._cache: dict[str, np.ndarray] = {}

    def _word_features(self, word: str) -> np.ndarray:
        found = self._cache.get(word)
        if found is None:
            if len(self._cache) >= CACHE_WORDS:
                self._cache.clear()
            vocabulary = self.vectorizer.vocabulary_
            idx = [vocabulary[g] for g in _word_ngrams(word, *self._ngrams) if g in vocabulary]
            found = self._cache[word] = np.asarray(idx, dtype=np.int64)
        return found

    def counts(self, raw_documents: Iterable[str]):
        """Document-term counts, shape (n_documents, n_features), as ``CountVectorizer.transform``."""
        if isinstance(raw_documents, str):
            raise ValueError("Iterable over raw text documents expected, string object received.")
        decode, preprocess = self.vectorizer.decode, self._preprocess
        columns: dict[str, int] = {}
        cols: list[int] = []
        indptr = [0]
        for doc in raw_documents:
            for word in _WHITE_SPACES.sub(" ", preprocess(decode(doc))).split():
                j = columns.get(word)
                if j is None:
                    j = columns[word] = len(columns)
                cols.append(j)
            indptr.append(len(cols))
        docs = sp.csr_matrix((np.ones(len(cols)), np.asarray(cols, dtype=np.int64), np.asarray(indptr)),
                             shape=(len(indptr) - 1, len(columns)))
        docs.sum_duplicates()
        rows = [self._word_features(w) for w in columns]
        sizes = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        words = sp.coo_matrix((np.ones(int(sizes.sum())),
                               (np.repeat(np.arange(len(rows)), sizes),
                                np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64))),
                              shape=(len(rows), self._n_features)).tocsr()
        x = sp.csr_array(docs @ words, dtype=self.vectorizer.dtype)
        x.sort_indices()
        if self.vectorizer.binary:
            x.data.fill(1)
        return x

    def fit(self, *_: Any, **__: Any):
        raise TypeError("a scoring view only predicts; fit the model itself")

    def __sklearn_is_fitted__(self) -> bool:  # checked by an enclosing Pipeline's transform
        return True

    def __sklearn_tags__(self):
        return self.vectorizer.__sklearn_tags__()

    def transform(self, raw_documents: Iterable[str], **_: Any):
        x = self.counts(raw_documents)
        tfidf = getattr(self.vectorizer, "_tfidf", None)
        return x if tfidf is None else tfidf.transform(x, copy=False)


def _word_eligible(step: Any) -> bool:
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    return (type(step) in (CountVectorizer, TfidfVectorizer) and step.analyzer == "word"
            and step.input == "content" and step.tokenizer is None and step.preprocessor is None
            and step.stop_words is None and hasattr(step, "vocabulary_")
            and (type(step) is CountVectorizer or hasattr(step, "_tfidf")))


class _WordView:
    """``transform`` of a fitted word n-gram vectorizer without sklearn's per-feature counting loop:
    the same tokens and n-grams, looked up in one pass (identical counts)."""

    def __init__(self, vectorizer) -> None:
        self.vectorizer = vectorizer
        self._preprocess = vectorizer.build_preprocessor()
        self._tokenize = vectorizer.build_tokenizer()
        self._n_features = len(vectorizer.vocabulary_)

    def counts(self, raw_documents: Iterable[str]):
        if isinstance(raw_documents, str):
            raise ValueError("Iterable over raw text documents expected, string object received.")
        get = self.vectorizer.vocabulary_.get
        decode, preprocess, tokenize = self.vectorizer.decode, self._preprocess, self._tokenize
        min_n, max_n = self.vectorizer.ngram_range
        cols: list[int] = []
        indptr = [0]
        for doc in raw_documents:
            tokens = tokenize(preprocess(decode(doc)))
            found = [get(t) for t in tokens] if min_n == 1 else []
            for n in range(max(min_n, 2), max_n + 1):
                if n == 2:
                    found += [get(f"{a} {b}") for a, b in zip(tokens, tokens[1:])]
                else:
                    found += [get(" ".join(tokens[i:i + n])) for i in range(len(tokens) - n + 1)]
            cols.extend(j for j in found if j is not None)
            indptr.append(len(cols))
        x = sp.csr_array((np.ones(len(cols)), np.asarray(cols, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
                         shape=(len(indptr) - 1, self._n_features), dtype=self.vectorizer.dtype)
        x.sum_duplicates()
        x.sort_indices()
        if self.vectorizer.binary:
            x.data.fill(1)
        return x

    fit = _CharWbView.fit
    __sklearn_is_fitted__ = _CharWbView.__sklearn_is_fitted__
    __sklearn_tags__ = _CharWbView.__sklearn_tags__
    transform = _CharWbView.transform


#: Step names of the cue block (:func:`pipeline.model.features.build_cue_features`).
_CUE_STEPS = ("apostrophes", "but_clause", "stem", "negation", "materialise", "count")


def _cue_eligible(step: Any) -> bool:
    from sklearn.feature_extraction.text import CountVectorizer

    pipeline = sys.modules.get("sklearn.pipeline")
    if pipeline is None or type(step) is not pipeline.Pipeline:
        return False
    names = [name for name, _ in step.steps]
    last = step.steps[-1][1]
    return (names in (list(_CUE_STEPS), [n for n in _CUE_STEPS if n != "but_clause"])
            and type(last) is CountVectorizer and last.lowercase and last.token_pattern == r"(?u)\b\w+\b"
            and isinstance(last.vocabulary, list))


class _CueView:
    """The cue block, skipping its four rewriting passes for sentences that cannot hold a cue.

    Every feature of the block is a cue stem or ``not_<stem>``, and the rewriting steps only
    shorten inflected cues, mark negated ones and repeat or drop the text around a contrast
    word, so a sentence without a stem at the start of a word (case-insensitively, as the
    steps match) has an all-zero row. Those rows are left zero; the others go through the block
    itself (identical matrix, tested)."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        vocabulary = pipeline.steps[-1][1].vocabulary
        stems = sorted({v[4:] if v.startswith("not_") else v for v in vocabulary}, key=lambda s: (-len(s), s))
        self._search = re.compile(r"(?i)\b(?:" + "|".join(map(re.escape, stems)) + ")").search
        self._n_features = len(vocabulary)

    def transform(self, raw_documents: Iterable[str], **_: Any):
        if isinstance(raw_documents, str):
            raise ValueError("Iterable over raw text documents expected, string object received.")
        docs = list(raw_documents)
        search = self._search
        rows = [i for i, doc in enumerate(docs) if search(doc)]
        x = sp.csr_array((len(docs), self._n_features), dtype=self.pipeline.steps[-1][1].dtype)
        if not rows:
            return x
        part = sp.csr_array(self.pipeline.transform([docs[i] for i in rows]))
        place = sp.csr_array((np.ones(len(rows)), (np.asarray(rows), np.arange(len(rows)))),
                             shape=(len(docs), len(rows)))
        x = sp.csr_array(place @ part, dtype=part.dtype)
        x.sort_indices()
        return x

    def fit(self, *_: Any, **__: Any):
        raise TypeError("a scoring view only predicts; fit the model itself")

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def __sklearn_tags__(self):
        return self.pipeline.__sklearn_tags__()


def scoring_view(model: Any) -> Any:
    """Return ``model`` or a shallow copy whose fitted ``char_wb`` vectorizers compute faster.

    Parameters
    ----------
    model : estimator
        A fitted model (normally a ``Pipeline`` of a ``FeatureUnion`` and a classifier).

    Returns
    -------
    estimator
        Gives exactly the same ``predict_proba`` as ``model``; ``model`` is not modified.
    """
    # look classes up among loaded modules: a model that has none of them needs none imported
    ensembles = tuple(c for c in (getattr(sys.modules.get("sklearn.ensemble._voting"), "VotingClassifier", None),
                                  getattr(sys.modules.get("sklearn.ensemble._stacking"), "StackingClassifier", None))
                      if c is not None)
    pipeline = sys.modules.get("sklearn.pipeline")
    Pipeline, FeatureUnion = (getattr(pipeline, "Pipeline", None), getattr(pipeline, "FeatureUnion", None))
    text = sys.modules.get("sklearn.feature_extraction.text")
    if text is not None and _eligible(model):
        return _CharWbView(model)
    if text is not None and _word_eligible(model):
        return _WordView(model)
    if text is not None and _cue_eligible(model):
        return _CueView(model)
    calibrated = getattr(sys.modules.get("pipeline.model.calibration"), "Calibrated", None)
    average = getattr(sys.modules.get("pipeline.model.average"), "ProbabilityAverage", None)
    if calibrated is not None and type(model) is calibrated:
        view = copy.copy(model)
        view.estimator = scoring_view(model.estimator)
        return view
    if (type(model) in ensembles or (average is not None and type(model) is average)) and hasattr(model, "estimators_"):
        view = copy.copy(model)
        view.estimators_ = [scoring_view(step) for step in model.estimators_]
        return view
    if type(model) is Pipeline:
        view = copy.copy(model)
        view.steps = [(name, scoring_view(step)) for name, step in model.steps]
        return view
    if type(model) is FeatureUnion:
        view = copy.copy(model)
        view.transformer_list = [(name, scoring_view(step)) for name, step in model.transformer_list]
        return view
    return model
