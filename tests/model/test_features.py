"""pipeline.model.features: stance cues, the feature union, the classifiers and the lexicon baseline."""

from __future__ import annotations

import re

import pytest

from pipeline import LABELS
from pipeline.core.config import StanceError

try:
    from trainkit import ARTICLES, project_params
except ImportError:  # pragma: no cover - run as a package
    from tests.trainkit import ARTICLES, project_params


def cues_cfg() -> dict:
    return project_params()["train"]["features"]["cues"]


@pytest.mark.parametrize("text, expected", [
    ("We will NOT ease sanctions", "not_eas"),
    ("Russia doesn\u2019t support new measures", "not_support"),
    ("sanctions will not be lifted", "not_lift"),
    ("No easing, never lifted", "not_eas"),
    ("They oppose, opposed and keep opposing; opposition grows", "oppos"),
    ("imposition of an embargo", "impos"),
])
def test_cue_preprocessing_folds_inflections_and_marks_negation(text, expected):
    from pipeline.model.features import preprocess_cues

    assert expected in re.findall(r"\w+", preprocess_cues(text, cues_cfg()))


def test_cue_stemming_leaves_lookalike_words_alone():
    from pipeline.model.features import preprocess_cues

    out = preprocess_cues("It is impossible and urgent to go east, easy.", cues_cfg())
    assert re.findall(r"\w+", out) == ["it", "is", "impossible", "and", "urgent", "to", "go", "east", "easy"]


@pytest.mark.parametrize("mode, before, after", [("none", 1, 1), ("after", 0, 1), ("upweight", 1, 2)])
def test_but_clause_modes(mode, before, after):
    from pipeline.model.features import preprocess_cues

    cfg = dict(cues_cfg(), but_clause=mode)
    tokens = re.findall(r"\w+", preprocess_cues("We support dialogue, but we reject any lifting.", cfg))
    assert tokens.count("support") == before
    assert tokens.count("reject") == after


def test_cue_block_counts_fixed_vocabulary():
    from pipeline.model.features import build_cue_features, cue_vocabulary

    cfg = dict(cues_cfg(), binary=False)
    block = build_cue_features(cfg).fit(["x"])
    vocab = cue_vocabulary(cfg["words"])
    x = block.transform(["They will not lift sanctions but impose and impose more.", "Nothing here."]).toarray()
    assert x.shape == (2, len(vocab))
    row = dict(zip(vocab, x[0]))
    assert row["not_lift"] == 1 and row["lift"] == 0
    assert row["impos"] == 4  # two mentions after "but", counted twice (upweight)
    assert x[1].sum() == 0


def test_yaml_booleans_in_word_lists_are_reported():
    from pipeline.model.features import word_list

    with pytest.raises(StanceError, match="not a word.*boolean"):
        word_list({"negators": ["not", False]}, "negators", "train.features.cues")
    assert word_list({"negators": "not no never"}, "negators", "x") == ["not", "no", "never"]


def test_lexicon_baseline():
    from pipeline.model.features import lexicon_predict

    lex = project_params()["evaluate"]["lexicon"]
    got = lexicon_predict(["The Council must tighten sanctions.", "Russia wants to lift sanctions.",
                           "The meeting ended.", "We will not ease sanctions."], **lex)
    assert got == ["support", "oppose", "neutral", "support"]


@pytest.mark.parametrize("classifier", ["logreg", "linearsvc", "sgd"])
def test_every_classifier_gives_probabilities(classifier):
    import numpy as np

    from pipeline.model.features import build_pipeline

    params = dict(project_params()["train"], classifier=classifier)
    texts = [t for rows in ARTICLES.values() for t, _ in rows]
    labels = [lab for rows in ARTICLES.values() for _, lab in rows]
    model = build_pipeline(params).fit(texts, labels)
    proba = model.predict_proba(["We must lift the sanctions.", "The meeting ended."])
    assert proba.shape == (2, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert sorted(model.classes_) == sorted(LABELS)
    assert set(model.predict(texts)) <= set(LABELS)


def test_unknown_classifier_is_a_stance_error():
    from pipeline.model.features import build_pipeline

    with pytest.raises(StanceError,
                       match="train.classifier: expected one of logreg, linearsvc, sgd, nblr, got 'forest'"):
        build_pipeline(dict(project_params()["train"], classifier="forest"))
