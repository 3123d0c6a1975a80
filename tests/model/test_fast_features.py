"""pipeline.model.fast: the scoring view gives exactly the model's probabilities, faster."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

try:
    from trainkit import ARTICLES, project_params, tfidf_only
except ImportError:  # pragma: no cover - run as a package
    from tests.trainkit import ARTICLES, project_params, tfidf_only

TEXTS = [t for sentences in ARTICLES.values() for t, _ in sentences]
LABELS_ = [y for sentences in ARTICLES.values() for _, y in sentences]

#: Hand-written edge cases: whitespace of every kind, case folding that changes length,
#: accents, emoji, words shorter than the smallest n-gram, a very long word, empty text.
ODD = ["", "   ", "a", "I", "ab cd ef", "\u00c9COLE  \u00dcber\u00a0stra\u00dfe", "I\u0130 \u0130stanbul",
       "x\u2003\u2003y\tz\n\nw", "\x1c\x1dab\x1fcd\x1e", "\U0001F642 sanctions \U0001F642", "A" * 300,
       "China will NOT ease sanctions, but urges restraint.", "tab\tseparated\t\twords", "\r\nline\r\n"]


def _random_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    words = " ".join(TEXTS).split() + ["\u00e9t\u00e9", "STRASSE", "x", "ab"]
    seps = [" ", "  ", "\t", "\n", "\u00a0", "\u2003", " \u3000 "]
    return ["".join(rng.choice(words) + rng.choice(seps) for _ in range(rng.randint(0, 30))) for _ in range(n)]


def _fitted(**features):
    from pipeline.model.features import build_pipeline

    train = tfidf_only(project_params())["train"]
    train["features"]["char"].update(enabled=True, **features.pop("char", {}))
    train.update(features)
    return build_pipeline(train).fit(TEXTS, LABELS_)


def _views(model) -> list:
    from pipeline.model.fast import _CharWbView

    found = []

    def walk(obj):
        if isinstance(obj, _CharWbView):
            found.append(obj)
        for attr in ("steps", "transformer_list"):
            for _, step in getattr(obj, attr, []):
                walk(step)
        for step in getattr(obj, "estimators_", []):
            walk(step)

    walk(model)
    return found


@pytest.mark.parametrize("options", [
    {},
    {"char": {"ngram_range": [1, 3], "min_df": 1}},
    {"char": {"mask": ["numbers", "dates"]}},
    {"combine": "vote"},
    {"combine": "stack"},  # unfitted cv: sklearn's default folds, enough for this test
])
def test_view_gives_identical_probabilities(options):
    from pipeline.model.fast import scoring_view

    model = _fitted(**options)
    view = scoring_view(model)
    assert len(_views(view)) == 1, "the char_wb block was not replaced"
    texts = TEXTS + ODD + _random_texts(300)
    assert np.array_equal(view.predict_proba(texts), model.predict_proba(texts))
    assert np.array_equal(view.predict_proba(texts[::-1]), model.predict_proba(texts[::-1]))  # cached words


def test_char_block_matrix_is_identical_and_cache_stays_bounded(monkeypatch):
    import pipeline.model.fast as fast

    model = _fitted()
    vectorizer = dict(model.named_steps["features"].transformer_list)["char"]
    monkeypatch.setattr(fast, "CACHE_WORDS", 5)
    view = fast._CharWbView(vectorizer)
    texts = TEXTS + ODD + _random_texts(100, seed=1)
    expected, got = vectorizer.transform(texts), view.transform(texts)
    assert len(view._cache) <= 5
    assert type(got) is type(expected) and got.dtype == expected.dtype and got.shape == expected.shape
    for part in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(got, part), getattr(expected, part)), part
    with pytest.raises(ValueError, match="string object received"):
        view.transform("one string")


def test_model_is_not_modified_and_other_models_pass_through(tiny_model):
    from pipeline.model.fast import scoring_view

    model = _fitted()
    before = pickle.dumps(model)
    scoring_view(model).predict_proba(TEXTS)
    assert pickle.dumps(model) == before
    assert _views(scoring_view(tiny_model)) == []  # word analyzer: nothing to replace
    assert np.array_equal(scoring_view(tiny_model).predict_proba(ODD), tiny_model.predict_proba(ODD))


def test_scorer_uses_the_view():
    from pipeline.model.scorer import Scorer

    model = _fitted()
    scorer = Scorer(model)
    assert len(_views(scorer.model)) == 1
    labels, proba = scorer.score(TEXTS)
    assert labels == list(model.predict(TEXTS))
    assert np.array_equal(proba, model.predict_proba(TEXTS)[:, scorer.columns])


def test_word_and_cue_views_give_identical_matrices():
    """The word n-gram and cue-block views: the same sparse matrices as the fitted blocks."""
    from pipeline.model.fast import _CueView, _WordView

    model = _fitted()
    blocks = dict(model.named_steps["features"].transformer_list)
    texts = TEXTS + ODD + _random_texts(200, seed=2) + [
        "\u017fupport \u212aELVIN \uff2c\uff29\uff26\uff34 lifts", "however the council will not lift it but",
        "\u0130MPOSE Sanct\u0131ons", "we don\u2019t support it; however, we oppose. But we\u2019ll ease"]
    for name, view in (("word", _WordView(blocks["word"])), ("cues", _CueView(blocks["cues"]))):
        expected, got = blocks[name].transform(texts), view.transform(texts)
        assert got.shape == expected.shape and got.dtype == expected.dtype, name
        expected, got = expected.tocsr(), got.tocsr()
        for part in ("indptr", "indices", "data"):
            assert np.array_equal(getattr(got, part), getattr(expected, part)), (name, part)
        with pytest.raises(ValueError, match="string object received"):
            view.transform("one string")
    assert _CueView(blocks["cues"]).transform(["No cue here at all."]).nnz == 0


def test_view_of_the_default_model_is_identical():
    """Calibrated(ProbabilityAverage(tfidf, static)): the view sees through both wrappers."""
    from pipeline.model.calibration import wrap
    from pipeline.model.fast import _CueView, _WordView, scoring_view
    from pipeline.model.features import build_pipeline

    train = project_params()["train"]
    train["features"]["char"]["enabled"] = True
    fitted = {"method": "bcts", "temperature": 0.8, "bias": [0.0, 0.2, -0.1]}
    model = wrap(build_pipeline(train).fit(TEXTS, LABELS_), fitted, ["support", "oppose", "neutral"])
    view = scoring_view(model)
    texts = TEXTS + ODD + _random_texts(100, seed=3)
    assert np.array_equal(view.predict_proba(texts), model.predict_proba(texts))
    assert np.array_equal(view.scores_and_labels(texts)[1], model.scores_and_labels(texts)[1])
    union = view.estimator.estimators_[0].steps[0][1]
    assert [type(b).__name__ for _n, b in union.transformer_list] == ["_WordView", "_CharWbView", "_CueView"]
    assert type(model.estimator.estimators_[0].steps[0][1].transformer_list[0][1]).__name__ == "TfidfVectorizer"
    assert isinstance(union.transformer_list[0][1], _WordView) and isinstance(union.transformer_list[2][1], _CueView)
