"""The settings of ``stance analyze``: the typed ``analyze`` and ``split`` sections of params.yaml,
the issuer map (source -> actor) and the metadata table of a folder input."""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.analyze.io import ArticleMeta, read_meta_table
from pipeline.core.config import PATHS, StanceError, load_params, repo_root
from pipeline.core.params import AnalyzeParams, SplitParams, from_mapping

__all__ = ["issuer_map", "load_settings", "meta_table"]


def load_settings(params_path: str | os.PathLike | None) -> tuple[AnalyzeParams, SplitParams | None]:
    """The typed ``analyze`` and ``split`` sections of params.yaml (defaults when there is no file)."""
    p = Path(params_path) if params_path is not None else repo_root() / PATHS["params"]
    if params_path is None and not p.is_file():
        return AnalyzeParams(), None
    raw = load_params(p)
    try:
        split = from_mapping(SplitParams, raw["split"], "split") if "split" in raw else None
        return from_mapping(AnalyzeParams, raw.get("analyze"), "analyze"), split
    except StanceError as exc:
        raise StanceError(f"{p}: {exc}") from None


def issuer_map(ap: AnalyzeParams) -> dict[str, str]:
    """``analyze.issuers`` as ``{source: actor}``."""
    return {e["source"]: e["actor"] for e in ap.issuers}


def meta_table(meta, ap: AnalyzeParams) -> dict[str, ArticleMeta] | None:
    """The metadata table of a folder input: *meta* True = ``analyze.meta`` when it exists."""
    if meta is True:
        if not ap.meta:
            return None
        mp = Path(ap.meta)
        if not mp.is_absolute():
            mp = repo_root() / mp
        return read_meta_table(mp) if mp.is_file() else None
    return read_meta_table(meta) if meta else None
