"""How well the actor rule (:mod:`pipeline.analyze.actors`) agrees with hand labels
(``stance analyze --evaluate-actors``): accuracy with a Wilson interval, per-actor recall,
confusion, on the even and odd halves of the gold sentences."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from pipeline.analyze.actors import NONE, actor_key, attribute_article, compile_actors
from pipeline.analyze.io import norm_source
from pipeline.analyze.settings import issuer_map, load_settings, meta_table
from pipeline.analyze.stats import wilson
from pipeline.core.config import StanceError
from pipeline.core.params import SplitParams
from pipeline.split.stage import split_corpus

__all__ = ["corpus_actors", "evaluate", "evaluate_actors"]


def evaluate(gold, predicted) -> dict[str, Any]:
    """Accuracy of the rule against hand labels.

    Parameters
    ----------
    gold : pandas.DataFrame
        ``sentence_id, actor`` (the hand labels).
    predicted : pandas.DataFrame
        ``sentence_id, actor`` (the rule's output for the same sentences).

    Returns
    -------
    dict
        ``n`` (gold rows joined), ``missing`` (gold ids without a prediction), ``correct``,
        ``accuracy``, a 95% Wilson interval ``accuracy_low/high``, per-actor ``per_actor``
        (gold count, correct, recall) and ``confusion`` (``gold -> predicted -> count``).
    """

    pred = dict(zip(predicted["sentence_id"].astype(str), predicted["actor"].map(actor_key)))
    pairs = []
    missing = []
    for sid, actor in zip(gold["sentence_id"].astype(str), gold["actor"].map(actor_key)):
        if sid in pred:
            pairs.append((actor, pred[sid]))
        else:
            missing.append(sid)
    n = len(pairs)
    correct = sum(g == p for g, p in pairs)
    # joint gold or prediction: the prediction names every gold actor (and maybe more)
    covered = sum(set(g.split("; ")) <= set(p.split("; ")) for g, p in pairs)
    low, high = wilson(correct, n)
    per_actor: dict[str, dict[str, Any]] = {}
    confusion: dict[str, dict[str, int]] = {}
    for g, p in pairs:
        row = per_actor.setdefault(g, {"gold": 0, "correct": 0})
        row["gold"] += 1
        row["correct"] += int(g == p)
        confusion.setdefault(g, {}).setdefault(p, 0)
        confusion[g][p] += 1
    for row in per_actor.values():
        row["recall"] = round(row["correct"] / row["gold"], 4)
    return {
        "n": n,
        "missing": missing,
        "correct": correct,
        "accuracy": round(correct / n, 4) if n else 0.0,
        "accuracy_low": round(low, 4),
        "accuracy_high": round(high, 4),
        "covered": covered,
        "coverage": round(covered / n, 4) if n else 0.0,
        "per_actor": dict(sorted(per_actor.items())),
        "confusion": {g: dict(sorted(c.items())) for g, c in sorted(confusion.items())},
    }


def corpus_actors(input_path: str | os.PathLike = "data/raw", params: str | os.PathLike | None = None):
    """The rule's actors for every sentence of a folder corpus: DataFrame ``sentence_id, article_id, actor``
    (joint actors joined by ``"; "``).

    Split with the pipeline's splitter; each article's issuer comes from its source (the
    metadata table ``analyze.meta``, else its ``# source:`` header) through ``analyze.issuers``.
    """

    import pandas as pd

    ap, split_params = load_settings(params)
    split_params = dataclasses.replace(split_params or SplitParams(), on_bad_file="fail")
    sentences, arts, _rep = split_corpus(input_path, split_params)
    table = meta_table(True, ap) or {}
    sources = {aid: (table[aid].source if aid in table else "") or norm_source(src)
               for aid, src in zip(arts["article_id"], arts["source"])}
    rule = compile_actors(list(ap.actors))
    issuers = issuer_map(ap)
    ordered = sentences.sort_values(["article_id", "position"])
    actors: list[str] = []
    for aid, group in ordered.groupby("article_id", sort=True):
        actors.extend("; ".join(a) for a in attribute_article(group["text"].tolist(), rule,
                                                              issuers.get(sources.get(aid, ""))))
    return pd.DataFrame({"sentence_id": ordered["sentence_id"].to_numpy(),
                         "article_id": ordered["article_id"].to_numpy(), "actor": actors})


def _read_gold(gp: Path, names: set[str]):
    import pandas as pd

    try:
        gold = pd.read_csv(gp, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise StanceError(f"{gp}: gold file not found") from None
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad file
        raise StanceError(f"{gp}: not a readable CSV ({' '.join(str(exc).split())[:120]})") from None
    for col in ("sentence_id", "actor"):
        if col not in gold.columns:
            raise StanceError(f"{gp} line 1: no '{col}' column")
    if gold.empty:
        raise StanceError(f"{gp}: no gold rows, only a header; add rows sentence_id,actor to evaluate the actor rule")
    for i, a in enumerate(gold["actor"], 2):
        if not a.strip() or any(n.strip() not in names for n in a.split(";")):
            raise StanceError(f"{gp} line {i}: actor {a!r} is not one of {', '.join(sorted(names))}")
    return gold


def evaluate_actors(gold_path: str | os.PathLike, input_path: str | os.PathLike = "data/raw",
                    params: str | os.PathLike | None = None) -> dict[str, Any]:
    """Accuracy of the actor rule on hand labels (``sentence_id, actor[, note]``; joint actors
    joined by ``;``: a prediction is correct when it names the same set of actors).

    The rule runs over the corpus *input_path* (default ``data/raw``; :func:`corpus_actors`)
    and the gold sentences are found by ``sentence_id``. Gold actors outside
    ``analyze.actors`` and ``none`` are a StanceError (file, line, value).
    """

    ap, _split = load_settings(params)
    gold = _read_gold(Path(gold_path), {a["name"] for a in ap.actors} | {NONE})
    pred = corpus_actors(input_path, params)
    result = evaluate(gold, pred)
    result["gold"] = str(gold_path)
    # the rule was revised after reading the errors of the even half only (see README)
    even = gold["sentence_id"].map(lambda s: int(s, 16) % 2 == 0 if _is_hex(s) else False)
    result["halves"] = {name: {k: evaluate(part, pred)[k] for k in ("n", "correct", "accuracy")}
                        for name, part in (("even", gold[even]), ("odd", gold[~even]))}
    return result


def _is_hex(s: str) -> bool:
    try:
        int(s, 16)
    except ValueError:
        return False
    return True
