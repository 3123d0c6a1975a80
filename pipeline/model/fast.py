"""A faster, output-identical scoring view of a fitted model (private: used by ``Scorer``).

scikit-learn's ``char_wb`` analyzer builds every character n-gram of every word in Python and
looks each one up in the vocabulary: in the default model that is about 70% of the time
``stance predict`` spends per sentence. Character n-grams of ``char_wb`` never cross a word
boundary (each word is padded with one space and cut on its own), so a document's count
vector is the sum of its words' count vectors::

    counts = D @ W

where ``D`` (documents x distinct words of the batch) counts the words of each document and
``W`` (distinct words x vocabulary) holds each word's n-gram counts, computed once per
distinct word and cached (natural text repeats its words). The counts are the same integers
sklearn computes, the TF-IDF step is the vectorizer's own, so the matrix and the
probabilities are identical (tested: ``tests/test_fast_features.py`` compares them exactly).

Nothing in the model file changes: :func:`scoring_view` returns shallow copies of the
model's ``Pipeline``, ``FeatureUnion``, ``VotingClassifier`` and ``StackingClassifier``
objects in which each eligible fitted ``char_wb`` vectorizer is wrapped; anything it does
not recognise is used as it is.
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
    if type(model) in ensembles and hasattr(model, "estimators_"):
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
