"""Model ideas, measured the way ``stance evaluate`` measures the model.

Run from the repository root (after ``stance split && stance dataset``)::

    nice python benchmarks/model_ideas.py                       # every idea, writes the table
    nice python benchmarks/model_ideas.py --only baseline,phrases --seeds 0

Each idea is a change to the ``train`` section of ``params.yaml`` (the rest as configured).
For every idea the *whole training procedure* (grid search by inner grouped CV, refit) is
scored by

* nested grouped CV (``--outer`` folds x ``--seeds``, ``--inner`` inner folds), as in
  ``stance evaluate``: macro-F1 and ``oppose`` F1, mean over seeds;
* cross-source: trained on official documents and tested on news, and the reverse (kinds from
  ``evaluate.cross_source``); the mean macro-F1 of the two directions.

An idea is *kept* when the mean of its nested and cross-source macro-F1 gains over the baseline
is at least ``--min-gain`` and neither drops by more than ``--max-loss``; the "combined" row
measures every kept idea together, and the opt-in rows (embeddings) are measured on top of it.
Results: ``benchmarks/model_ideas.json`` and a Markdown table (``benchmarks/model_ideas.md``)
pasted into the README. The static-embedding configurations (the default model since) are
compared by ``benchmarks/static_ideas.py``. Nothing here is a test, and the choice of ideas is made on the same
labelled data the README reports (a meta-level choice; the maintainers' held-out articles are
the unbiased check).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: The model before the ideas (the train section of params.yaml with every idea switched off),
#: so the table stays reproducible whatever the committed defaults are.
BASELINE = {"classifier": "logreg", "combine": "union", "features.word.ngram_range": [1, 2],
            "features.word.mask": [], "features.char.ngram_range": [2, 5], "features.char.mask": [],
            "features.cues.weight": 1.0, "features.phrases.enabled": False, "features.phrases.weight": 1.0,
            "priors.tune": False, "features.embeddings.enabled": False, "features.static.enabled": False,
            "calibration": "none",
            "grid.logreg": {"C": [0.3, 1.0, 3.0], "features": {"char": {"enabled": [False, True]}}}}

#: name -> (description, dotted overrides of the train section, on top of BASELINE)
IDEAS: dict[str, tuple[str, dict]] = {
    "baseline": ("logreg on word 1-2 + cues, grid C x char 2-5 on/off (the model before the ideas)", {}),
    "word13": ("word n-grams 1-3", {"features.word.ngram_range": [1, 3]}),
    "char36": ("char n-grams 3-6 (when the grid turns char on)", {"features.char.ngram_range": [3, 6]}),
    "phrases": ("phrase cues of the annotation guide with negation scope",
                {"features.phrases.enabled": True}),
    "phrases_w2": ("phrase cues, block weight 2", {"features.phrases.enabled": True, "features.phrases.weight": 2.0}),
    "mask_nd": ("mask numbers and dates (word and char blocks)",
                {"features.word.mask": ["dates", "numbers"], "features.char.mask": ["dates", "numbers"]}),
    "mask_ndn": ("mask names, numbers and dates",
                 {"features.word.mask": ["dates", "numbers", "names"],
                  "features.char.mask": ["dates", "numbers", "names"]}),
    "priors": ("class priors (thresholds) tuned for macro-F1 on the inner CV", {"priors.tune": True}),
    "cues_w2": ("cue block weight 2", {"features.cues.weight": 2.0}),
    "linearsvc": ("calibrated linear SVM instead of logistic regression", {"classifier": "linearsvc"}),
    "cwide": ("C grid 0.3, 1, 3, 10 (instead of 0.3, 1, 3)",
              {"grid.logreg": {"C": [0.3, 1.0, 3.0, 10.0], "features": {"char": {"enabled": [False, True]}}}}),
    "vote": ("one classifier per block (word, char, cues), probabilities averaged", {"combine": "vote"}),
    "nblr": ("NB-LR: log-count-ratio scaled features (Wang & Manning 2012), one ratio per class",
             {"classifier": "nblr"}),
    "stack": ("learned stacking (`combine: stack`): one classifier per block (word, char, cues), a logistic "
              "regression on their out-of-fold probabilities, folds grouped by article", {"combine": "stack"}),
    "stack_phrases": ("learned stacking with the phrase-cue block too",
                      {"combine": "stack", "features.phrases.enabled": True}),
}
#: Opt-in ideas beyond TF-IDF: measured, never folded into the default model.
OPT_IN: dict[str, tuple[str, dict]] = {
    "embeddings": ("opt-in: the kept ideas + an all-MiniLM-L6-v2 embeddings model, probabilities averaged "
                   "(weight 0.5/1/2 by inner CV)",
                   {"features.embeddings.enabled": True,
                    "grid.logreg.features.embeddings.weight": [0.5, 1.0, 2.0]}),
}


def _set(params: dict, dotted: str, value) -> None:
    node = params
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = copy.deepcopy(value)


def measure(texts, labels, groups, kinds, train_params, seeds, outer, inner) -> dict:
    """Nested-CV and cross-source figures of one train section."""
    import numpy as np
    from sklearn.metrics import f1_score

    from pipeline import LABELS
    from pipeline.evaluate.protocols import cross_source, nested_oof
    from pipeline.train.engine import CVEngine
    from pipeline.train.folds import single_threaded_blas

    y = np.asarray(labels, dtype=object)
    engine = CVEngine(texts, labels, groups, train_params, inner_folds=inner)
    t0 = time.perf_counter()
    with single_threaded_blas():
        oof = nested_oof(engine, seeds, outer)
        cs = {}
        for a, b in (("official", "news"), ("news", "official")):
            res = cross_source(engine, kinds, a, b, seeds)
            if res is not None:
                yt = y[res["test_idx"]]
                cs[f"{a}_to_{b}"] = float(np.mean([f1_score(yt, res["model"][s], labels=list(LABELS), average="macro",
                                                             zero_division=0) for s in range(len(seeds))]))
    macro = [f1_score(y, oof["model"][s], labels=list(LABELS), average="macro", zero_division=0)
             for s in range(len(seeds))]
    per_class = [f1_score(y, oof["model"][s], labels=list(LABELS), average=None, zero_division=0)
                 for s in range(len(seeds))]
    f1 = np.mean(per_class, axis=0)
    return {"nested_macro_f1": round(float(np.mean(macro)), 4),
            "oppose_f1": round(float(f1[LABELS.index("oppose")]), 4),
            "support_f1": round(float(f1[LABELS.index("support")]), 4),
            "neutral_f1": round(float(f1[LABELS.index("neutral")]), 4),
            "cross_source": {k: round(v, 4) for k, v in cs.items()},
            "cross_source_macro_f1": round(float(np.mean(list(cs.values()))), 4) if cs else None,
            "seconds": round(time.perf_counter() - t0, 1)}


def decide(r: dict, b: dict, args) -> str:
    """kept: the mean of the nested and the cross-source macro-F1 gains over the baseline is at
    least min_gain, and neither of the two drops by more than max_loss."""
    gain = r["nested_macro_f1"] - b["nested_macro_f1"]
    cross_gain = (r["cross_source_macro_f1"] or 0) - (b["cross_source_macro_f1"] or 0)
    ok = (gain + cross_gain) / 2 >= args.min_gain and min(gain, cross_gain) >= -args.max_loss
    return "kept" if ok else "dropped"


def _reusable(path: str | None) -> dict:
    """Rows measured before (a JSON written by this script, or its stderr log of one row per line)."""
    if not path or not Path(path).is_file():
        return {}
    text = Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(text)["ideas"]
    except (ValueError, KeyError, TypeError):
        pass  # a log: one JSON object per line
    rows = {}
    for line in text.splitlines():
        if line.startswith("{"):
            rows.update(json.loads(line))
    return rows


def add_protocol_arguments(ap: argparse.ArgumentParser, name: str) -> None:
    """The options this script and ``static_ideas.py`` share: inputs, seeds and folds, and the
    outputs ``benchmarks/<name>.json`` and ``.md``."""
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("--dataset", default=str(ROOT / "data/processed/dataset.csv"))
    ap.add_argument("--articles", default=str(ROOT / "data/interim/articles.csv"))
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--outer", type=int, default=5)
    ap.add_argument("--inner", type=int, default=3)
    ap.add_argument("--json", default=str(ROOT / f"benchmarks/{name}.json"))
    ap.add_argument("--md", default=str(ROOT / f"benchmarks/{name}.md"))


def protocol_inputs(args: argparse.Namespace):
    """What the protocols need, computed as ``stance evaluate`` does: the params (a dict), the
    dataset, article id -> kind (cross-source) and -> target group (cross-target, None without
    the metadata table), and the number of labelled articles per target."""
    import yaml

    from pipeline.core.data import load_dataset
    from pipeline.core.params import EvaluateParams, from_mapping
    from pipeline.evaluate.protocols import article_kinds
    from pipeline.evaluate.stage import article_sources, cross_target_groups

    all_params = yaml.safe_load(Path(args.params).read_text(encoding="utf-8"))
    p = from_mapping(EvaluateParams, all_params["evaluate"], "evaluate")
    df = load_dataset(args.dataset)
    groups = df["article_id"].tolist()
    kinds = article_kinds(sorted(set(groups)), article_sources(args.articles), p.cross_source.kinds or {},
                          p.cross_source.default_kind)
    targets, per_target = cross_target_groups(p, groups)
    return all_params, df, kinds, targets, per_target


def kept_overrides(results: dict) -> dict:
    """The overrides of every kept idea (later ideas win on a shared key)."""
    out: dict = {}
    for r in results.values():
        if r.get("decision") == "kept":
            out.update(r["overrides"])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_protocol_arguments(ap, "model_ideas")
    ap.add_argument("--only", default="", help="comma-separated idea names (default: all)")
    ap.add_argument("--min-gain", type=float, default=0.005,
                    help="keep an idea when the mean of its nested and cross-source gains is at least this")
    ap.add_argument("--max-loss", type=float, default=0.005,
                    help="... and neither the nested nor the cross-source macro-F1 drops by more than this")
    ap.add_argument("--reuse", default=None, help="reuse rows with the same overrides from this JSON or log "
                                                  "(same data, seeds and folds assumed)")
    args = ap.parse_args(argv)

    all_params, df, kinds, _targets, _per_target = protocol_inputs(args)
    base = all_params["train"]
    texts, labels, groups = df["text"].tolist(), df["label"].tolist(), df["article_id"].tolist()
    seeds = [int(s) for s in args.seeds.split(",")]
    names = [n for n in (args.only.split(",") if args.only else [*IDEAS, *OPT_IN]) if n]
    ideas = {**IDEAS, **OPT_IN}
    if "baseline" not in names:
        names.insert(0, "baseline")
    results = {}
    previous = _reusable(args.reuse)
    for name in names:
        desc, overrides = ideas[name]
        if name in previous and previous[name].get("overrides") == overrides and name not in OPT_IN:
            results[name] = {k: v for k, v in previous[name].items() if k != "decision"}
            results[name]["decision"] = ("reference" if name == "baseline"
                                         else decide(results[name], results["baseline"], args))
            continue
        params = copy.deepcopy(base)
        for k, v in {**BASELINE, **(kept_overrides(results) if name in OPT_IN else {}), **overrides}.items():
            _set(params, k, v)
        results[name] = {"idea": desc, "overrides": overrides,
                         **measure(texts, labels, groups, kinds, params, seeds, args.outer, args.inner)}
        print(json.dumps({name: results[name]}), file=sys.stderr, flush=True)
        if name == "baseline":
            results[name]["decision"] = "reference"
        elif name in OPT_IN:
            results[name]["decision"] = "opt-in, not in the default model"
        else:
            results[name]["decision"] = decide(results[name], results["baseline"], args)
    kept = kept_overrides(results)
    if kept and len([n for n in results if results[n]["decision"] == "kept"]) > 1:
        params = copy.deepcopy(base)
        for k, v in {**BASELINE, **kept}.items():
            _set(params, k, v)
        results["combined"] = {"idea": "every kept idea together", "overrides": kept,
                               **measure(texts, labels, groups, kinds, params, seeds, args.outer, args.inner),
                               "decision": "combination"}
    for name in names:  # opt-in rows (with --only) go last, after the combination
        if name in OPT_IN:
            results[name] = results.pop(name)
    meta = {"n_sentences": len(df), "n_articles": int(df["article_id"].nunique()), "seeds": seeds,
            "outer_folds": args.outer, "inner_folds": args.inner, "min_gain": args.min_gain,
            "max_loss": args.max_loss}
    Path(args.json).write_text(json.dumps({"meta": meta, "ideas": results}, indent=2, sort_keys=True) + "\n",
                               encoding="utf-8")
    lines = [f"Nested grouped CV ({args.outer} outer x {len(seeds)} seeds, {args.inner} inner folds) and "
             f"cross-source on {meta['n_sentences']} sentences / {meta['n_articles']} articles "
             f"(`benchmarks/model_ideas.py`):", "",
             "| idea | nested macro-F1 | cross-source macro-F1 (official→news / news→official) | oppose F1 "
             "| decision |",
             "|---|---|---|---|---|"]
    for name, r in results.items():
        c = r["cross_source"]
        lines.append(f"| `{name}`: {r['idea']} | {r['nested_macro_f1']:.3f} | {r['cross_source_macro_f1']:.3f} "
                     f"({c.get('official_to_news', float('nan')):.3f} / {c.get('news_to_official', float('nan')):.3f}) "
                     f"| {r['oppose_f1']:.3f} | {r['decision']} |")
    Path(args.md).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
