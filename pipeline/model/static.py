"""Static sentence embeddings: a model2vec model distilled from the packaged all-MiniLM-L6-v2.

The default model's third view of a sentence (beside word and character n-grams and the cue
words): the mean of the sentence's token vectors, scaled to unit length, where the token
vectors come from a static model that ``stance build-static`` distils from the MiniLM encoder
(model2vec ``distill_from_model``, PCA to 256 dimensions). Encoding needs numpy and
``tokenizers`` only: no torch, no model2vec, nothing from the network.

:class:`StaticEmbeddings` is a scikit-learn transformer. ``fit`` reads the model folder
(``train.features.static.path``: ``model.safetensors``, ``tokenizer.json`` and the record
``static.json``, whose sha256 values it checks) and keeps the vectors and the tokenizer inside
the fitted object, so a saved model is self-contained: it loads and scores without the folder.

Encoding. WordPiece never joins two pieces of text separated by a space (its pre-tokenizer
splits there and its normaliser works character by character), so the text is cut on spaces
and each distinct piece is tokenised once and remembered: a sentence vector is the sum of its
pieces' vectors (each the sum of its token vectors, ``[UNK]`` left out). Sums are taken in
float64, which holds the float16 token vectors' sums exactly, so a sentence's vector does not
depend on the other sentences of the batch. Equal to tokenising whole sentences (tested), and
to model2vec's ``StaticModel.encode`` up to its float16 rounding, without its truncation to 512
tokens.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sklearn.base import BaseEstimator, TransformerMixin

from pipeline.core.config import StanceError, repo_root

__all__ = ["FILES", "RECORD", "SHIPPED", "StaticEmbeddings", "build_static_model", "read_record", "resolve_folder",
           "verify_folder"]

#: The static model shipped with the package (built by ``stance build-static``).
SHIPPED = Path(__file__).resolve().parent / "static_model"

#: Files of a static model folder.
WEIGHTS, TOKENIZER, RECORD = "model.safetensors", "tokenizer.json", "static.json"
FILES = (WEIGHTS, TOKENIZER)
#: Name of the tensor in the weights file (model2vec's).
TENSOR = "embeddings"
#: Distinct pieces remembered per transformer before the memory is emptied.
CACHE_PIECES = 200_000


def resolve_folder(path: str | os.PathLike | None) -> Path:
    """The folder of ``train.features.static.path``: None -> :data:`SHIPPED`; a relative path is
    taken from the repository root."""
    if path is None:
        return SHIPPED
    p = Path(path)
    return p if p.is_absolute() else repo_root() / p


def read_record(folder: str | os.PathLike) -> dict[str, Any]:
    """The record ``static.json`` of a static model folder (StanceError when missing or unreadable)."""
    path = Path(folder) / RECORD
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StanceError(f"{path}: no static model record; build the model with `stance build-static` "
                          f"(train.features.static.path is {str(folder)!r})") from None
    except (OSError, ValueError) as exc:
        raise StanceError(f"{path}: cannot read the static model record ({exc})") from None
    if not isinstance(record, dict) or not isinstance(record.get("sha256"), dict):
        raise StanceError(f"{path}: not a static model record (no sha256 of the files)")
    return record


def verify_folder(folder: str | os.PathLike) -> dict[str, Any]:
    """Check every file of *folder* against the sha256 in its record; return the record."""
    from pipeline.model.files import file_sha256

    record = read_record(folder)
    for name in FILES:
        path = Path(folder) / name
        if not path.is_file():
            raise StanceError(f"{path}: missing; rebuild the static model with `stance build-static`")
        want = record["sha256"].get(name)
        got = file_sha256(path)
        if got != want:
            raise StanceError(f"{path}: sha256 {got[:12]}... differs from {want!r:.15} in {Path(folder) / RECORD}; "
                              "restore the file (git checkout) or rebuild with `stance build-static`")
    return record


class StaticEmbeddings(TransformerMixin, BaseEstimator):
    """Unit-length mean token vectors of a static (model2vec) model.

    Parameters
    ----------
    path : str or None
        Folder of the static model (read by :meth:`fit` only; see :func:`resolve_folder`).
        Kept as given, so a saved model names no machine-specific path.

    Attributes
    ----------
    vectors_ : float16 array, shape (n_tokens, dim)
    tokenizer_ : str, the tokenizer's JSON
    record_ : dict, the folder's ``static.json`` (source model, versions, sha256)
    """

    def __init__(self, path: str | None = None) -> None:
        self.path = path

    def fit(self, X: Iterable[str] | None = None, y: Any = None) -> StaticEmbeddings:
        """Read the model folder (its files checked against the record); *X* and *y* are ignored."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        folder = resolve_folder(self.path)
        record = verify_folder(folder)
        try:
            tensors = load_file(folder / WEIGHTS)
            self.tokenizer_ = (folder / TOKENIZER).read_text(encoding="utf-8")
        except (OSError, SafetensorError, ValueError) as exc:
            raise StanceError(f"{folder}: cannot read the static model ({exc})") from None
        if TENSOR not in tensors or tensors[TENSOR].ndim != 2:
            raise StanceError(f"{folder / WEIGHTS}: no 2-dimensional tensor {TENSOR!r}")
        self.vectors_ = tensors[TENSOR]
        self.record_ = record
        self._runtime = None
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "vectors_")

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_runtime", None)  # the tokenizer object and the piece memory are rebuilt on use
        return state

    @property
    def dim(self) -> int:
        return int(self.vectors_.shape[1])

    def get_feature_names_out(self, input_features: Any = None):
        import numpy as np

        return np.asarray([f"static{i}" for i in range(self.dim)], dtype=object)

    def _tokenizer(self):
        runtime = getattr(self, "_runtime", None)
        if runtime is None:
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            from tokenizers import Tokenizer

            tok = Tokenizer.from_str(self.tokenizer_)
            tok.no_truncation()
            tok.no_padding()
            unk = getattr(tok.model, "unk_token", None)
            runtime = self._runtime = (tok, tok.token_to_id(unk) if unk else None, {})
        return runtime

    def _piece_vectors(self, pieces: list[str]):
        """float64 sum of the token vectors of each piece (zeros for a piece of no known token)."""
        import numpy as np

        tok, unk, _ = self._tokenizer()
        out = np.zeros((len(pieces), self.dim))
        ids = [[t for t in e.ids if t != unk] for e in tok.encode_batch_fast(pieces, add_special_tokens=False)]
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        keep = np.flatnonzero(lengths)
        if keep.size:
            flat = np.fromiter((t for i in keep for t in ids[i]), dtype=np.int64, count=int(lengths.sum()))
            starts = np.concatenate([[0], np.cumsum(lengths[keep])[:-1]])
            out[keep] = np.add.reduceat(self.vectors_[flat].astype(np.float64), starts, axis=0)
        return out

    def transform(self, X: Iterable[str]):
        """Sentence vectors: float64 array (n_samples, dim), unit length (zeros: no known token)."""
        import numpy as np
        import scipy.sparse as sp

        if isinstance(X, str):
            raise ValueError("Iterable over raw text documents expected, string object received.")
        _tok, _unk, memory = self._tokenizer()
        if len(memory) > CACHE_PIECES:
            memory.clear()
        columns: dict[str, int] = {}
        cols: list[int] = []
        indptr = [0]
        for doc in X:
            for piece in str(doc).split(" "):
                if piece:
                    j = columns.get(piece)
                    if j is None:
                        j = columns[piece] = len(columns)
                    cols.append(j)
            indptr.append(len(cols))
        pieces = list(columns)
        new = [p for p in pieces if p not in memory]
        if new:
            memory.update(zip(new, self._piece_vectors(new)))
        weights = np.stack([memory[p] for p in pieces]) if pieces else np.zeros((0, self.dim))
        counts = sp.csr_matrix((np.ones(len(cols)), np.asarray(cols, dtype=np.int64), np.asarray(indptr)),
                               shape=(len(indptr) - 1, len(pieces)))
        out = np.asarray(counts @ weights)
        norm = np.sqrt(np.einsum("ij,ij->i", out, out))[:, None]
        return np.divide(out, norm, out=np.zeros_like(out), where=norm > 0)


def build_static_model(params: Any):
    """The classifier of ``train.features.static.mode: average``: ``Pipeline(StaticEmbeddings,
    LogisticRegression)`` (C from ``train.features.static.C``; class weights, iterations and seed
    as for the TF-IDF classifier)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from pipeline.core.params import TrainParams, coerce

    p = coerce(TrainParams, params, "train")
    cfg = p.features.static
    return Pipeline([("embed", StaticEmbeddings(cfg.path)),
                     ("clf", LogisticRegression(C=cfg.C, class_weight=p.class_weight, max_iter=p.max_iter,
                                                random_state=p.seed))])
