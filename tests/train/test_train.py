"""Tests of the train stage: features, grouped CV, model selection, the saved-model contract.

The fixture (6 invented articles x 8 sentences, labels written by hand) is in tests/trainkit.py.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from trainkit import (  # noqa: F401
    ARTICLES,
    REPO,
    project_params,
    small_params,
    tfidf_only,
    train_fixture,
    write_dataset,
    write_params,
)

from pipeline import LABELS
from pipeline.cli import main
from pipeline.core.config import StanceError


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "dataset.csv")


# ----------------------------------------------------------------------------- grouped CV

@pytest.mark.parametrize("seed", [0, 1, 2, 42])
def test_grouped_folds_never_mix_an_article(seed):
    import numpy as np

    from pipeline.train.folds import grouped_splits

    labels = [lab for rows in ARTICLES.values() for _, lab in rows]
    groups = [a for a, rows in ARTICLES.items() for _ in rows]
    splits = grouped_splits(labels, groups, 5, seed)
    assert len(splits) == 5
    g = np.asarray(groups)
    seen = np.zeros(len(groups), dtype=int)
    for train_idx, test_idx in splits:
        assert not set(g[train_idx]) & set(g[test_idx])
        seen[test_idx] += 1
    assert (seen == 1).all()


def test_grouped_folds_capped_at_article_count_and_errors():
    from pipeline.train.folds import grouped_splits

    labels = ["support", "oppose", "neutral", "support", "oppose", "neutral"]
    assert len(grouped_splits(labels, ["a", "a", "a", "b", "b", "b"], 5, 0)) == 2
    with pytest.raises(StanceError, match="at least 2 articles"):
        grouped_splits(labels, ["a"] * 6, 5, 0)
    with pytest.raises(StanceError, match="at least 2 different labels"):
        grouped_splits(["neutral"] * 6, ["a", "a", "b", "b", "c", "c"], 3, 0)


def test_grid_candidates_order_and_validation():
    from pipeline.train.grid import apply_overrides, grid_candidates

    params = project_params()["train"]
    params["classifier"] = "logreg"
    params["grid"]["logreg"] = {"C": [0.5, 2.0], "features": {"char": {"enabled": [False, True]},
                                                              "word": {"ngram_range": [[1, 1], [1, 2]]}}}
    cands = grid_candidates(params)
    assert len(cands) == 8
    assert cands[0] == {"C": 0.5, "features.char.enabled": False, "features.word.ngram_range": [1, 1]}
    assert cands[1]["features.word.ngram_range"] == [1, 2]  # last key varies fastest
    before = copy.deepcopy(params)
    new = apply_overrides(params, cands[-1])
    assert params == before
    assert new["C"] == 2.0 and new["features"]["char"]["enabled"] is True
    params["grid"]["logreg"] = {"features": {"chr": {"enabled": [True]}}}
    with pytest.raises(StanceError, match=r"train.grid.logreg.features.chr: unknown key \(did you mean char\?\)"):
        grid_candidates(params)
    params["grid"] = {}
    assert grid_candidates(params) == [{}]


# ----------------------------------------------------------------------------- train stage

def test_train_writes_model_and_cv_report(tmp_path, dataset):
    import joblib
    import numpy as np

    from pipeline.train.stage import train

    params = project_params()["train"]
    report_path, model_path = tmp_path / "train.json", tmp_path / "model.joblib"
    report = train(dataset, params, model_path, report_path)
    on_disk = json.loads(report_path.read_text())
    assert on_disk == json.loads(json.dumps(report))
    n_grid = np.prod([len(v) for v in [params["grid"]["logreg"]["C"],
                                       params["grid"]["logreg"]["features"]["char"]["enabled"],
                                       params["grid"]["logreg"]["features"]["static"]["weight"]]])
    assert len(on_disk["candidates"]) == n_grid
    means = [c["mean_macro_f1"] for c in on_disk["candidates"]]
    assert on_disk["best_mean_macro_f1"] == max(means)
    assert on_disk["candidates"][on_disk["best_index"]]["rank"] == 1
    assert sorted(c["rank"] for c in on_disk["candidates"]) == list(range(1, len(means) + 1))
    for c in on_disk["candidates"]:
        assert len(c["fold_macro_f1"]) == on_disk["cv"]["n_splits"] == 5
        assert c["mean_macro_f1"] == pytest.approx(np.mean(c["fold_macro_f1"]), abs=1e-5)
    assert on_disk["data"]["n_sentences"] == 48 and on_disk["data"]["n_articles"] == 6
    assert on_disk["data"]["label_counts"] == {"support": 15, "oppose": 15, "neutral": 18}
    assert "grid" not in on_disk["effective_params"]
    model = joblib.load(model_path)
    assert set(model.predict(["We must lift the sanctions now."])) <= set(LABELS)
    # the default model: calibrated scores around the average of the TF-IDF and static classifiers
    cal = on_disk["calibration"]
    assert cal["method"] == params["calibration"] == "bcts"
    assert cal["temperature"] > 0 and set(cal["bias"]) == set(LABELS) and cal["bias"]["support"] == 0.0
    assert type(model).__name__ == "Calibrated" and type(model.estimator).__name__ == "ProbabilityAverage"
    assert [name for name, _ in model.estimator.estimators] == ["tfidf", "static"]
    share = on_disk["effective_params"]["features"]["static"]["weight"]
    assert model.estimator.weights == pytest.approx([1 - share, share])
    texts = ["We must lift the sanctions now.", "The Council met on Monday.", "Tighten the sanctions."]
    raw = model.estimator.predict_proba(texts)
    assert list(model.predict(texts)) == list(model.classes_[raw.argmax(axis=1)])  # calibration keeps labels
    assert not np.allclose(model.predict_proba(texts), raw)
    np.testing.assert_allclose(model.predict_proba(texts).sum(axis=1), 1.0)


def test_strip_volatile_state_keeps_predictions(dataset):
    import io

    import joblib

    from pipeline.core.data import load_dataset
    from pipeline.model.features import build_pipeline
    from pipeline.model.files import strip_volatile_state

    df = load_dataset(dataset)
    model = build_pipeline(tfidf_only(project_params())["train"]).fit(df["text"].tolist(), df["label"].tolist())
    word = model.named_steps["features"].transformer_list[0][1]
    assert hasattr(word, "_stop_words_id")  # what sklearn 1.9 stores; the reason for stripping
    before = model.predict_proba(df["text"].tolist())
    strip_volatile_state(model)
    assert not hasattr(word, "_stop_words_id")
    buf = io.BytesIO()
    joblib.dump(model, buf)
    buf.seek(0)
    assert (joblib.load(buf).predict_proba(df["text"].tolist()) == before).all()


def _train_in_subprocess(tmp_path: Path, name: str, hash_seed: str, params_path: Path, dataset: Path):
    out = tmp_path / name
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    subprocess.run([sys.executable, "-m", "pipeline.cli", "train", "--params", str(params_path),
                    "--dataset", str(dataset), "--model", str(out / "model.joblib"),
                    "--report", str(out / "train.json")], check=True, env=env, cwd=tmp_path,
                   capture_output=True)
    return (out / "model.joblib").read_bytes(), (out / "train.json").read_bytes()


def test_two_trainings_are_byte_identical(tmp_path, dataset):
    params = small_params(char=True)
    params["train"]["grid"]["logreg"] = {"C": [0.5, 1.0]}
    params_path = write_params(tmp_path / "params.yaml", params)
    first = _train_in_subprocess(tmp_path, "one", "1", params_path, dataset)
    second = _train_in_subprocess(tmp_path, "two", "2", params_path, dataset)
    assert first[0] == second[0]
    assert first[1] == second[1]


CONTRACT_SCRIPT = textwrap.dedent("""
    import importlib.abc, json, sys

    class BlockPipeline(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "pipeline" or name.startswith("pipeline."):
                raise ImportError("the project package is blocked in this test")
            return None

    sys.meta_path.insert(0, BlockPipeline())
    try:
        import pipeline  # noqa: F401
        blocked = False
    except ImportError:
        blocked = True
    import joblib
    model = joblib.load(sys.argv[1])
    texts = ["The Council must tighten sanctions on the DPRK.", "Russia called for lifting sanctions.", ""]
    labels = [str(x) for x in model.predict(texts)]
    proba = model.predict_proba(texts)
    print(json.dumps({"blocked": blocked, "labels": labels, "classes": [str(c) for c in model.classes_],
                      "shape": list(proba.shape), "sums": [float(s) for s in proba.sum(axis=1)],
                      "loaded": sorted(m for m in sys.modules if m == "pipeline" or m.startswith("pipeline."))}))
""")


def _all_ideas_on(params: dict) -> dict:
    """Every optional TF-IDF-side block of the model ideas switched on (phrases, masks, priors)."""
    t = params["train"]
    t["features"]["phrases"]["enabled"] = True
    t["features"]["word"]["mask"] = ["dates", "numbers", "names"]
    t["features"]["char"]["mask"] = ["numbers"]
    t["priors"]["tune"] = True
    return params


@pytest.mark.parametrize("classifier, ideas", [("logreg", False), ("linearsvc", False), ("nblr", False),
                                               ("logreg", True), ("nblr", True)])
def test_tfidf_only_model_loads_without_the_project_package(tmp_path, dataset, classifier, ideas):
    """With the static block off and no calibration, the model is plain scikit-learn."""
    params = tfidf_only(small_params(char=True))
    if ideas:
        _all_ideas_on(params)
    params["train"]["classifier"] = classifier
    params_path = write_params(tmp_path / "params.yaml", params)
    model_path = tmp_path / "model.joblib"
    assert main(["train", "--params", str(params_path), "--dataset", str(dataset), "--model", str(model_path),
                 "--report", str(tmp_path / "train.json")]) == 0
    script = tmp_path / "contract.py"
    script.write_text(CONTRACT_SCRIPT, encoding="utf-8")
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run([sys.executable, "-I", str(script), str(model_path)], cwd=empty, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["blocked"] is True
    assert out["loaded"] == []
    assert set(out["labels"]) <= set(LABELS) and len(out["labels"]) == 3
    assert sorted(out["classes"]) == sorted(LABELS)
    assert out["shape"] == [3, 3]
    assert out["sums"] == pytest.approx([1.0, 1.0, 1.0])


def test_tfidf_only_pickle_holds_no_project_objects(dataset):
    """Belt and braces: every global the pickle references comes from sklearn/numpy/scipy/stdlib."""
    import io

    from pipeline.core.data import load_dataset
    from pipeline.train.stage import fit_final

    df = load_dataset(dataset)
    model = fit_final(df["text"].tolist(), df["label"].tolist(),
                      tfidf_only(_all_ideas_on(small_params(char=True)))["train"])
    modules: set[str] = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            modules.add(module)
            return super().find_class(module, name)

    Recorder(io.BytesIO(pickle.dumps(model))).load()
    assert modules
    assert not [m for m in modules if m == "pipeline" or m.startswith("pipeline.")], modules
    assert {m.split(".")[0] for m in modules} <= {"sklearn", "numpy", "scipy", "functools", "re", "builtins",
                                                   "copyreg", "_codecs", "operator"}, modules


# ----------------------------------------------------------------------------- CLI & errors

def test_cli_defaults_are_anchored_at_the_repo_root(tmp_path, monkeypatch):
    write_params(tmp_path / "params.yaml", small_params())
    write_dataset(tmp_path / "data" / "processed" / "dataset.csv")
    sub = tmp_path / "somewhere" / "deeper"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    assert main(["train"]) == 0
    assert (tmp_path / "models" / "model.joblib").is_file()
    assert (tmp_path / "reports" / "train.json").is_file()


@pytest.mark.parametrize("edit, message", [
    (lambda rows: [r[:4] for r in rows], "missing column(s) label"),
    (lambda rows: rows[:3] + [rows[3][:4] + ["maybe"]] + rows[4:], "line 4: label 'maybe'"),
    (lambda rows: rows[:2] + [rows[2][:3] + ["  ", rows[2][4]]] + rows[3:], "line 3: empty text"),
    (lambda rows: rows + [rows[1]], "duplicate sentence_id 'a1-00'"),
])
def test_bad_dataset_exits_2_with_file_and_line(tmp_path, dataset, capsys, edit, message):
    with open(dataset, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    bad = tmp_path / "bad.csv"
    with open(bad, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(edit(rows))
    original = bad.read_bytes()
    params_path = write_params(tmp_path / "params.yaml", small_params())
    code = main(["train", "--params", str(params_path), "--dataset", str(bad), "--model", str(tmp_path / "m.joblib"),
                 "--report", str(tmp_path / "t.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("stance train: error: ") and str(bad) in err and message in err
    assert "Traceback" not in err
    assert bad.read_bytes() == original
    assert not (tmp_path / "m.joblib").exists()


def test_bad_params_exit_2_naming_the_params_file(tmp_path, dataset, capsys):
    params = small_params()
    params["train"]["classifier"] = "forest"
    params_path = write_params(tmp_path / "params.yaml", params)
    code = main(["train", "--params", str(params_path), "--dataset", str(dataset),
                 "--model", str(tmp_path / "m.joblib"), "--report", str(tmp_path / "t.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{params_path}: train.classifier: expected one of logreg, linearsvc, sgd, nblr, got 'forest'" in err


def test_unusable_settings_exit_2_not_a_traceback(tmp_path, dataset, capsys):
    params = small_params()
    params["train"].update(classifier="linearsvc", calibration_folds=20)  # > sentences per label per fold
    params_path = write_params(tmp_path / "params.yaml", params)
    code = main(["train", "--params", str(params_path), "--dataset", str(dataset),
                 "--model", str(tmp_path / "m.joblib"), "--report", str(tmp_path / "t.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("stance train: error: cross-validating candidate") and "20-fold" in err
    assert not (tmp_path / "m.joblib").exists()


# ----------------------------------------------------------------------------- model ideas

PHRASES = {"patterns": {"relief": r"\b(?:lift\w*|eas(?:e|es|ed|ing)|relief)\b",
                        "notway": r"\bnot (?:the )?(?:fundamental )?way\b", "talks": r"\b(?:talks|dialogue)\b"},
           "negators": "not no never", "contrast": ["but"]}


@pytest.mark.parametrize("text, tokens", [
    ("Russia called for lifting the sanctions.", ["zzph_relief"]),
    ("We will not lift the sanctions, but talks may resume.", ["zzph_not_relief", "zzph_talks"]),
    ("Sanctions are not the fundamental way to solve the issue.", ["zzph_notway"]),
    ("We will never ease sanctions or hold talks", ["zzph_not_relief", "zzph_not_talks"]),
    ("They don't want talks but we will ease.", ["zzph_not_talks", "zzph_relief"]),
])
def test_phrase_cues_and_negation_scope(text, tokens):
    from pipeline.model.features import preprocess_phrases

    assert re.findall(r"zzph_\w+", preprocess_phrases(text, PHRASES)) == tokens


def test_phrase_block_vocabulary_and_errors():
    from pipeline.model.features import build_phrase_features

    block = build_phrase_features(PHRASES)
    x = block.fit_transform(["We will not lift the sanctions.", "Talks resumed."])
    vocab = block.named_steps["count"].get_feature_names_out().tolist()
    assert vocab == ["zzph_notway", "zzph_relief", "zzph_talks", "zzph_not_notway", "zzph_not_relief",
                     "zzph_not_talks"]
    assert x.toarray().tolist() == [[0, 0, 0, 0, 1, 0], [0, 0, 1, 0, 0, 0]]
    with pytest.raises(StanceError, match="train.features.phrases.patterns.bad: invalid regular expression"):
        build_phrase_features({"patterns": {"bad": "("}})
    with pytest.raises(StanceError, match="train.features.phrases.patterns: expected a mapping"):
        build_phrase_features({"patterns": {}})


def test_masks_replace_numbers_dates_and_names():
    from pipeline.model.features import mask_steps

    text = ["On 14 October 2006 the Council adopted resolution 1718, said Ambassador John Bolton."]
    for _name, step in mask_steps(["dates", "numbers", "names"]):
        text = step.transform(text)
    out = list(text)[0]
    assert "1718" not in out and "2006" not in out and "Bolton" not in out and "October" not in out
    assert "zznum" in out and "zzdate" in out and "zzname" in out and "adopted resolution" in out
    with pytest.raises(StanceError, match="unknown mask 'people'"):
        mask_steps(["people"])


def test_priors_shift_the_saved_logreg_like_the_engine(dataset):
    """apply_priors on the intercepts == shift_proba on the probabilities."""
    import numpy as np

    from pipeline.core.data import load_dataset
    from pipeline.model.features import apply_priors
    from pipeline.train.engine import shift_proba
    from pipeline.train.stage import fit_final

    df = load_dataset(dataset)
    model = fit_final(df["text"].tolist(), df["label"].tolist(), tfidf_only(small_params())["train"])
    before = model.predict_proba(df["text"].tolist())
    order = [list(model.classes_).index(c) for c in LABELS]
    offsets = {"support": 0.5, "oppose": 1.0, "neutral": 0.0}
    apply_priors(model, offsets)
    after = model.predict_proba(df["text"].tolist())
    np.testing.assert_allclose(after[:, order], shift_proba(before[:, order], offsets), atol=1e-12)


def test_tune_priors_picks_offsets_that_raise_macro_f1():
    import numpy as np

    from pipeline.train.engine import tune_priors

    # Oppose is under-predicted: raising its prior fixes it.
    proba = np.array([[0.6, 0.1, 0.3], [0.1, 0.35, 0.55], [0.1, 0.4, 0.5], [0.1, 0.1, 0.8], [0.2, 0.1, 0.7]])
    y = ["support", "oppose", "oppose", "neutral", "neutral"]
    got = tune_priors(proba, y, {"tune": True, "offsets": [-1.0, 0.0, 1.0]})
    assert got["oppose"] == 1.0 and got["neutral"] == 0.0
    assert tune_priors(proba, y, {"tune": False}) == {}


def test_nblr_equals_its_engine_and_scales_by_log_count_ratios(dataset):
    import numpy as np

    from pipeline.core.data import load_dataset
    from pipeline.train.engine import CVEngine
    from pipeline.train.stage import fit_final

    df = load_dataset(dataset)
    params = tfidf_only(small_params())["train"]
    params["classifier"] = "nblr"
    model = fit_final(df["text"].tolist(), df["label"].tolist(), params)
    clf = model.named_steps["clf"]
    assert type(clf).__name__ == "LogisticRegression" and clf.coef_.shape[0] == 3
    engine = CVEngine(df["text"].tolist(), df["label"].tolist(), df["article_id"].tolist(), params)
    idx = np.arange(len(df))
    got = engine.fit_predict(params, idx, idx)
    want = model.predict_proba(df["text"].tolist())[:, [list(model.classes_).index(c) for c in LABELS]]
    np.testing.assert_allclose(got, want, atol=1e-9)
    plain = fit_final(df["text"].tolist(), df["label"].tolist(), tfidf_only(small_params())["train"])
    assert not np.allclose(plain.named_steps["clf"].coef_, clf.coef_)


def test_block_vote_equals_its_engine_and_loads_without_the_package(dataset, tmp_path):
    import numpy as np

    from pipeline.core.data import load_dataset
    from pipeline.train.engine import CVEngine
    from pipeline.train.stage import fit_final

    df = load_dataset(dataset)
    params = tfidf_only(small_params(char=True))["train"]
    params["combine"] = "vote"
    model = fit_final(df["text"].tolist(), df["label"].tolist(), params)
    assert type(model).__name__ == "VotingClassifier"
    assert [n for n, _ in model.estimators] == ["word", "char", "cues"]
    engine = CVEngine(df["text"].tolist(), df["label"].tolist(), df["article_id"].tolist(), params)
    tr, te = np.arange(0, 30), np.arange(30, len(df))
    got = engine.fit_predict(params, tr, te)
    ref = fit_final([df["text"][i] for i in tr], [df["label"][i] for i in tr], params)
    want = ref.predict_proba([df["text"][i] for i in te])[:, [list(ref.classes_).index(c) for c in LABELS]]
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_block_stack_equals_its_engine_with_grouped_folds_and_loads_without_the_package(dataset, tmp_path):
    import subprocess
    import sys

    import joblib
    import numpy as np

    from pipeline.core.data import load_dataset
    from pipeline.train.engine import CVEngine
    from pipeline.train.stage import fit_final

    df = load_dataset(dataset)
    params = tfidf_only(small_params(char=True))["train"]
    params.update(combine="stack", stack_folds=2)
    texts, labels, groups = df["text"].tolist(), df["label"].tolist(), df["article_id"].tolist()
    tr, te = np.arange(0, 32), np.arange(32, len(df))  # four articles to fit, two to score
    ref = fit_final([texts[i] for i in tr], [labels[i] for i in tr], params, groups=[groups[i] for i in tr])
    assert type(ref).__name__ == "StackingClassifier"
    assert [n for n, _ in ref.estimators] == ["word", "char", "cues"]
    for fit_rows, out_rows in ref.cv:  # the combiner's folds never split an article
        assert not {groups[i] for i in fit_rows} & {groups[i] for i in out_rows}
    engine = CVEngine(texts, labels, groups, params)
    got = engine.fit_predict(params, tr, te)
    want = ref.predict_proba([texts[i] for i in te])[:, [list(ref.classes_).index(c) for c in LABELS]]
    np.testing.assert_allclose(got, want, atol=1e-9)
    vote = engine.fit_predict(dict(params, combine="vote"), tr, te)
    assert not np.allclose(got, vote)  # the learned combination is not the plain average
    with pytest.raises(StanceError, match="stack needs the article id"):
        fit_final(texts, labels, params)
    path = tmp_path / "stack.joblib"
    joblib.dump(ref, path)
    code = ("import sys, joblib; m = joblib.load(sys.argv[1]); "
            "assert 'pipeline' not in sys.modules; print(m.predict(['We urge tougher sanctions.'])[0])")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() in LABELS


def test_stack_is_refused_with_embeddings_or_nblr():
    from pipeline.model.features import build_pipeline

    params = small_params()["train"]
    params["combine"] = "stack"
    params["classifier"] = "nblr"
    with pytest.raises(StanceError, match="stack is not available with the nblr"):
        build_pipeline(params)
    params["classifier"] = "logreg"
    params["features"]["embeddings"]["enabled"] = True
    with pytest.raises(StanceError, match="stack is not available with train.features.embeddings"):
        build_pipeline(params)


def test_rescore_refits_a_stack_with_grouped_folds_of_each_training_part(dataset):
    from pipeline.core.data import load_dataset
    from pipeline.evaluate.rescore import rescore
    from pipeline.train.stage import fit_final

    df = load_dataset(dataset)
    params = tfidf_only(small_params(char=False))["train"]
    params.update(combine="stack", stack_folds=2)
    model = fit_final(df["text"].tolist(), df["label"].tolist(), params, groups=df["article_id"].tolist())
    evaluate = {**project_params()["evaluate"], "seeds": [0], "cv_folds": 2}
    score = rescore(model, dataset, evaluate)
    assert 0.0 <= score <= 1.0
    assert len(model.cv) == 2  # the template is not modified


@pytest.mark.parametrize("mode", ["average", "block"])
def test_static_block_equals_its_engine(dataset, mode):
    """The CV engine scores what fit_final builds: the static classifier averaged in (the default),
    or the static vectors as one block of the union; the grid's static weights share their fits."""
    import numpy as np

    from pipeline.core.data import load_dataset
    from pipeline.train.engine import CVEngine
    from pipeline.train.stage import fit_final

    df = load_dataset(dataset)
    texts, labels, groups = df["text"].tolist(), df["label"].tolist(), df["article_id"].tolist()
    params = small_params(char=True)["train"]
    params["features"]["static"].update(mode=mode, weight=0.6 if mode == "average" else 1.5)
    tr, te = np.arange(0, 32), np.arange(32, len(df))
    ref = fit_final([texts[i] for i in tr], [labels[i] for i in tr], params)
    assert type(ref).__name__ == ("ProbabilityAverage" if mode == "average" else "Pipeline")
    engine = CVEngine(texts, labels, groups, params)
    got = engine.fit_predict(params, tr, te)
    want = ref.predict_proba([texts[i] for i in te])[:, [list(ref.classes_).index(c) for c in LABELS]]
    np.testing.assert_allclose(got, want, atol=1e-9)
    if mode == "average":
        fits = engine.fits
        other = engine.fit_predict(dict(params, features={**params["features"],
                                                          "static": {**params["features"]["static"], "weight": 0.2}}),
                                   tr, te)
        assert engine.fits == fits  # another share: no new fit
        assert not np.allclose(other, got)


def test_calibration_is_fitted_inside_every_outer_fold(dataset):
    """select_fit_predict calibrates the held-out scores with what the inner selection saw only."""
    import numpy as np

    from pipeline.core.data import load_dataset
    from pipeline.model.calibration import calibrate, fit_calibration
    from pipeline.train.engine import CVEngine, shift_proba

    df = load_dataset(dataset)
    texts, labels, groups = df["text"].tolist(), df["label"].tolist(), df["article_id"].tolist()
    params = small_params()["train"]
    engine = CVEngine(texts, labels, groups, params, inner_folds=2)
    tr, te = np.arange(0, 32), np.arange(32, len(df))
    proba, info = engine.select_fit_predict(tr, te, seed=0)
    report = engine.select(tr, 0)
    truth = [LABELS.index(labels[i]) for i in tr]
    fitted = fit_calibration(shift_proba(report["oof_proba"], report["priors"]), truth, "bcts")
    assert info["calibration"] == fitted
    np.testing.assert_allclose(info["calibrated"], calibrate(proba, fitted["temperature"], fitted["bias"]))
    engine = CVEngine(texts, labels, groups, dict(params, calibration="none"), inner_folds=2)
    proba, info = engine.select_fit_predict(tr, te, seed=0)
    assert info["calibrated"] is proba
