"""Evaluation protocols on the CV engine (:class:`pipeline.train.engine.CVEngine`): nested grouped
CV (out-of-fold predictions of the whole selection procedure), cross-source generalisation (train
on one kind of outlet, test on another) and the learning curve (shares of the training articles).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pipeline.core.config import StanceError
from pipeline.core.data import LABELS, read_csv_rows
from pipeline.train.engine import CVEngine
from pipeline.train.folds import grouped_splits

__all__ = ["article_kinds", "article_targets", "cross_source", "learning_curve", "nested_oof", "subsample_articles",
           "target_groups"]


def _majority(labels) -> str:
    """Most frequent label; ties go to the alphabetically first (like DummyClassifier)."""
    from collections import Counter

    counts = Counter(labels)
    return sorted(counts, key=lambda c: (-counts[c], str(c)))[0]


def subsample_articles(train_idx, groups, labels, fraction: float, seed: int):
    """A random ``fraction`` of the articles of ``train_idx`` (at least 2; more if needed so that
    every label of the training part is present). Deterministic for a given seed.

    Returns
    -------
    idx : int array, the sentences of the chosen articles (ascending)
    """
    import numpy as np

    train_idx = np.asarray(train_idx)
    arts = sorted(set(groups[train_idx].tolist()))
    rng = np.random.default_rng(int(seed))
    order = [arts[i] for i in rng.permutation(len(arts))]
    n = min(len(arts), max(2, int(round(fraction * len(arts)))))
    wanted = set(labels[train_idx].tolist())
    chosen = order[:n]
    by_article = {a: set(labels[train_idx][groups[train_idx] == a].tolist()) for a in arts}
    have = set().union(*(by_article[a] for a in chosen))
    for a in order[n:]:
        if have >= wanted:
            break
        if by_article[a] - have:
            chosen.append(a)
            have |= by_article[a]
    keep = np.isin(groups[train_idx], chosen)
    return np.sort(train_idx[keep])


def _outer_job(texts, labels, groups, params, inner_folds, tr, te, seed, fraction, sub_seed):
    """One outer fold in a fresh engine (for parallel runs)."""
    engine = CVEngine(texts, labels, groups, params, inner_folds)
    if fraction < 1.0:
        tr = subsample_articles(tr, engine.groups, engine.y, fraction, sub_seed)
    proba, info = engine.select_fit_predict(tr, te, seed)
    return tr, proba, info


def nested_oof(engine: CVEngine, seeds: Sequence[int], outer_folds: int, fraction: float = 1.0,
               n_jobs: int = 1, progress=None) -> dict[str, Any]:
    """Nested grouped CV: out-of-fold predictions of the whole training procedure.

    For every seed, ``StratifiedGroupKFold(outer_folds)`` by article; in each outer fold the
    hyperparameters are chosen by :meth:`CVEngine.select` on the outer-training articles only
    (``fraction`` < 1: on that share of them, for the learning curve), the winner is refitted
    there and predicts the held-out articles. The majority baseline is the outer-training part's
    most frequent label. ``n_jobs`` > 1 runs outer folds in worker processes (same results).

    Returns
    -------
    oof : dict
        ``model``, ``majority``: object arrays ``(n_seeds, n_samples)``; ``proba`` and
        ``calibrated`` (the scores calibrated as ``stance train`` does, inside each outer fold)
        ``(n_seeds, n_samples, 3)``; ``fold`` ``(n_seeds, n_samples)``; ``n_splits``;
        ``selected``: list (per seed, per fold) of ``{"best_params", "selection"}``;
        ``n_train_articles``: list of the training article counts (per seed and fold).
    """
    import numpy as np
    from joblib import Parallel, delayed

    n, s = len(engine.texts), len(seeds)
    model = np.empty((s, n), dtype=object)
    majority = np.empty((s, n), dtype=object)
    proba = np.zeros((s, n, len(LABELS)))
    fold = np.full((s, n), -1, dtype=int)
    tasks = []
    for si, seed in enumerate(seeds):
        for k, (tr, te) in enumerate(grouped_splits(engine.y, engine.groups, outer_folds, seed)):
            sub_seed = int(seed) * 100_003 + k * 1_009 + int(round(fraction * 1000))
            tasks.append((si, seed, k, tr, te, sub_seed))
    if n_jobs and n_jobs != 1 and len(tasks) > 1:
        results = Parallel(n_jobs=n_jobs)(
            delayed(_outer_job)(engine.texts, engine.y.tolist(), engine.groups.tolist(), engine.params,
                                engine.inner_folds, tr, te, seed, fraction, sub_seed)
            for _si, seed, _k, tr, te, sub_seed in tasks)
    else:
        results = []
        for _si, seed, k, tr, te, sub_seed in tasks:
            if fraction < 1.0:
                tr = subsample_articles(tr, engine.groups, engine.y, fraction, sub_seed)
            p, info = engine.select_fit_predict(tr, te, seed)
            results.append((tr, p, info))
            if progress:
                progress(f"seed {seed} fold {k}: {info['selection']} {info['best_params']}")
    selected: list[list[dict]] = [[] for _ in seeds]
    n_train = []
    calibrated = np.zeros_like(proba)
    for (si, _seed, k, _tr, te, _ss), (tr, p, info) in zip(tasks, results):
        calibrated[si, te] = info.pop("calibrated")
        proba[si, te] = p
        model[si, te] = np.asarray(LABELS, dtype=object)[p.argmax(axis=1)]
        majority[si, te] = _majority(engine.y[tr].tolist())
        fold[si, te] = k
        selected[si].append(info)
        n_train.append(len(set(engine.groups[tr].tolist())))
    assert (fold >= 0).all(), "every sample is held out once per seed"
    return {"model": model, "majority": majority, "proba": proba, "calibrated": calibrated, "fold": fold,
            "n_splits": int(fold.max()) + 1, "selected": selected, "n_train_articles": n_train}


def article_kinds(article_ids: Sequence[str], sources: dict[str, str], kinds: dict[str, Any],
                  default: str | None) -> dict[str, str]:
    """Kind of document of every article, from regular expressions over its source and id.

    Parameters
    ----------
    article_ids : article ids to classify
    sources : article id -> ``# source`` URL ("" when the article has none)
    kinds : kind name -> regex (or list of regexes), searched case-insensitively in
        ``"<source URL> <article id>"``; the first kind (in order) with a match wins.
    default : kind of an article that matches nothing (None: an error naming the article).

    Returns
    -------
    kinds : dict, article id -> kind name
    """
    compiled = []
    for name, patterns in kinds.items():
        pats = [patterns] if isinstance(patterns, str) else list(patterns or [])
        for pat in pats:
            try:
                compiled.append((str(name), re.compile(pat, re.IGNORECASE)))
            except re.error as exc:
                raise StanceError(f"evaluate.cross_source.kinds.{name}: invalid regular expression "
                                  f"{pat!r}: {exc}") from None
    out = {}
    for art in article_ids:
        hay = f"{sources.get(art, '')} {art}"
        kind = next((name for name, rx in compiled if rx.search(hay)), default)
        if kind is None:
            raise StanceError(f"evaluate.cross_source: article {art!r} (source {sources.get(art, '')!r}) matches "
                              f"no kind in evaluate.cross_source.kinds and default_kind is null")
        out[art] = str(kind)
    return out


def article_targets(path, column: str, allowed: Sequence[str]) -> dict[str, str] | None:
    """Each article's sanctions target from the metadata table *path* (``article_id`` and *column*).

    Returns
    -------
    dict (article id -> target) or None when the table has no *column* (the cross-target
    evaluation is then skipped). Articles with an empty value are left out.

    Raises
    ------
    StanceError
        Missing or malformed table, an empty or repeated ``article_id``, or a value outside
        *allowed* (the message names the file, line and value).
    """
    header, rows = read_csv_rows(path, ["article_id"], what="article metadata table")
    if column not in header:
        return None
    allowed = list(allowed)
    out: dict[str, str] = {}
    first: dict[str, int] = {}
    for line, row in rows:
        where = f"{path} line {line}"
        aid = (row.get("article_id") or "").strip()
        if not aid:
            raise StanceError(f"{where}: empty article_id")
        if aid in first:
            raise StanceError(f"{where}: article_id {aid!r} repeated (first on line {first[aid]})")
        first[aid] = line
        value = (row.get(column) or "").strip()
        if not value:
            continue
        if value not in allowed:
            raise StanceError(f"{where}: {column} {value!r} of article {aid!r} is not one of {', '.join(allowed)} "
                              "(evaluate.cross_target.targets)")
        out[aid] = value
    return out


def target_groups(targets: dict[str, str], groups: dict[str, Sequence[str]]) -> dict[str, str]:
    """article id -> group name (of ``evaluate.cross_target.groups``) for the articles whose target
    is in a group."""
    group_of = {t: name for name, members in groups.items() for t in members}
    return {aid: group_of[t] for aid, t in targets.items() if t in group_of}


def cross_source(engine: CVEngine, kind_of: dict[str, str], train_kind: str, test_kind: str,
                 seeds: Sequence[int]) -> dict[str, Any] | None:
    """Train on the articles of one kind (selection by inner grouped CV there), test on another.

    *kind_of* maps article ids to kinds (of outlet for cross-source, of sanctions target for
    cross-target); an article it does not name is on neither side.

    Returns
    -------
    result : dict or None (when either side has no labelled sentence)
        ``train_idx``, ``test_idx`` (int arrays), ``model`` and ``majority`` (object arrays
        ``(n_seeds, n_test)``), ``proba`` and ``calibrated`` ``(n_seeds, n_test, 3)``,
        ``selected`` (per seed).
    """
    import numpy as np

    kinds = np.asarray([kind_of.get(g) for g in engine.groups], dtype=object)
    tr = np.flatnonzero(kinds == train_kind)
    te = np.flatnonzero(kinds == test_kind)
    if len(tr) == 0 or len(te) == 0 or len(set(engine.y[tr].tolist())) < 2:
        return None
    s = len(seeds)
    model = np.empty((s, len(te)), dtype=object)
    proba = np.zeros((s, len(te), len(LABELS)))
    calibrated = np.zeros_like(proba)
    selected = []
    for si, seed in enumerate(seeds):
        p, info = engine.select_fit_predict(tr, te, seed)
        calibrated[si] = info.pop("calibrated")
        proba[si] = p
        model[si] = np.asarray(LABELS, dtype=object)[p.argmax(axis=1)]
        selected.append(info)
    majority = np.full((s, len(te)), _majority(engine.y[tr].tolist()), dtype=object)
    return {"train_idx": tr, "test_idx": te, "model": model, "majority": majority, "proba": proba,
            "calibrated": calibrated, "selected": selected}


def learning_curve(engine: CVEngine, seeds: Sequence[int], outer_folds: int, fractions: Sequence[float],
                   reuse: dict[float, dict[str, Any]] | None = None, n_jobs: int = 1,
                   progress=None) -> dict[float, dict[str, Any]]:
    """:func:`nested_oof` at every training fraction (``reuse``: results already computed)."""
    out = {}
    for f in fractions:
        f = float(f)
        if not 0 < f <= 1:
            raise StanceError(f"evaluate.learning_curve.fractions: {f!r} is not in (0, 1]")
        out[f] = (reuse or {}).get(f) or nested_oof(engine, seeds, outer_folds, fraction=f,
                                                            n_jobs=n_jobs, progress=progress)
    return out
