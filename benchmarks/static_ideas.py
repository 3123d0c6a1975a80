"""The static-embedding configurations side by side, measured the way ``stance evaluate`` measures.

Run from the repository root (after ``dvc repro``, or ``stance split && stance dataset``)::

    nice python benchmarks/static_ideas.py                 # every row, writes the table
    nice python benchmarks/static_ideas.py --only tfidf,average --seeds 0

Each row is a change to the ``train`` section of ``params.yaml``; the whole training procedure
(grid search by inner grouped CV, refit, calibration) is scored by

* nested grouped CV (``--outer`` folds x ``--seeds``, ``--inner`` inner folds): macro-F1 and
  ``oppose`` F1, mean over seeds;
* cross-source (official -> news, news -> official; ``evaluate.cross_source``);
* cross-target (North Korea -> other regimes and the reverse; ``evaluate.cross_target``, from
  the ``target`` column of ``data/articles_meta.csv``; left out while the table has none);
* calibration on the outer folds: expected calibration error, Brier score and the error of the
  class shares estimated by averaging the scores (per outer fold, averaged), raw and calibrated
  (``train.calibration``); on the cross pairs, the share error of the test side.

Results: ``benchmarks/static_ideas.json`` and a Markdown table (``benchmarks/static_ideas.md``).
The MiniLM row needs the [embeddings] extra (skipped without it). Nothing here is a test.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from model_ideas import _set, add_protocol_arguments, protocol_inputs  # noqa: E402

GRID = {"C": [0.3, 1.0, 3.0], "features": {"char": {"enabled": [False, True]}}}
STATIC_GRID = {"C": [0.3, 1.0, 3.0], "features": {"char": {"enabled": [False, True]},
                                                  "static": {"weight": [0.2, 0.4, 0.6]}}}
#: The TF-IDF model as it was before the static block: the reference row.
TFIDF = {"features.static.enabled": False, "calibration": "none", "grid.logreg": GRID}

#: name -> (description, dotted overrides of the train section of params.yaml)
ROWS: dict[str, tuple[str, dict]] = {
    "tfidf": ("TF-IDF model alone (word 1-2, char 2-5 by grid, cues): the default before the static block", TFIDF),
    "tfidf_cal": ("TF-IDF model alone, scores calibrated (bcts)", {**TFIDF, "calibration": "bcts"}),
    "static_alone": ("static embeddings + logistic regression alone (share 1.0)",
                     {"features.static.enabled": True, "features.static.mode": "average",
                      "features.static.weight": 1.0, "calibration": "none",
                      "grid.logreg": {"features": {"static": {"C": [0.3, 1.0, 3.0]}}}}),
    "average": ("**default**: TF-IDF and static classifiers, probabilities averaged, static share 0.2/0.4/0.6 "
                "by inner CV; scores calibrated (bcts)",
                {"features.static.enabled": True, "features.static.mode": "average", "calibration": "bcts",
                 "grid.logreg": STATIC_GRID}),
    "average04": ("probabilities averaged, static share fixed at 0.4",
                  {"features.static.enabled": True, "features.static.mode": "average",
                   "features.static.weight": 0.4, "calibration": "bcts", "grid.logreg": GRID}),
    "union": ("union: static vectors as one more block of the feature union (weight 1)",
              {"features.static.enabled": True, "features.static.mode": "block", "features.static.weight": 1.0,
               "calibration": "bcts", "grid.logreg": GRID}),
    "union_cv": ("union, static block weight 0.5/1/2 by inner CV",
                 {"features.static.enabled": True, "features.static.mode": "block", "calibration": "bcts",
                  "grid.logreg": {**GRID, "features": {**GRID["features"], "static": {"weight": [0.5, 1.0, 2.0]}}}}),
    "stack": ("learned stack of per-block classifiers (word, char, cues, static)",
              {"features.static.enabled": True, "features.static.mode": "block", "features.static.weight": 1.0,
               "combine": "stack", "calibration": "bcts", "grid.logreg": GRID}),
    "minilm": ("opt-in: TF-IDF model and all-MiniLM-L6-v2 model averaged (weight 0.5/1/2 by inner CV)",
               {**TFIDF, "features.embeddings.enabled": True,
                "grid.logreg": {**GRID, "features": {**GRID["features"], "embeddings": {"weight": [0.5, 1.0, 2.0]}}}}),
}


def _f1s(y, pred):
    import numpy as np
    from sklearn.metrics import f1_score

    from pipeline.core.data import LABELS

    per = f1_score(y, pred, labels=list(LABELS), average=None, zero_division=0)
    return float(np.mean(per)), float(per[LABELS.index("oppose")])


def _pairs(engine, kind_of, pairs, seeds, y):
    import numpy as np

    from pipeline.core.data import LABELS
    from pipeline.evaluate.protocols import cross_source
    from pipeline.model.calibration import calibration_summary

    out = {}
    for a, b in pairs:
        res = cross_source(engine, kind_of, a, b, seeds)
        if res is None:
            continue
        yt = y[res["test_idx"]]
        truth = [LABELS.index(v) for v in yt]
        f = [_f1s(yt, res["model"][s]) for s in range(len(seeds))]
        cal = [calibration_summary(res["calibrated"][s], truth) for s in range(len(seeds))]
        out[f"{a}_to_{b}"] = {"macro_f1": round(float(np.mean([x[0] for x in f])), 4),
                              "oppose_f1": round(float(np.mean([x[1] for x in f])), 4),
                              "share_error": round(float(np.mean([c["share_error"] for c in cal])), 4)}
    return out


def measure(texts, labels, groups, kinds, targets, evaluate, train_params, seeds, outer, inner) -> dict:
    """Nested, cross-source, cross-target and calibration figures of one train section."""
    import numpy as np

    from pipeline.evaluate.protocols import nested_oof
    from pipeline.evaluate.reliability import calibration_metrics
    from pipeline.train.engine import CVEngine
    from pipeline.train.folds import single_threaded_blas

    y = np.asarray(labels, dtype=object)
    engine = CVEngine(texts, labels, groups, train_params, inner_folds=inner)
    t0 = time.perf_counter()
    with single_threaded_blas():
        oof = nested_oof(engine, seeds, outer)
        cs = _pairs(engine, kinds, evaluate["cross_source"]["pairs"], seeds, y)
        ct = _pairs(engine, targets, evaluate["cross_target"]["pairs"], seeds, y) if targets else {}
    f = [_f1s(y, oof["model"][s]) for s in range(len(seeds))]
    cal = calibration_metrics(oof["proba"], oof["calibrated"], labels, train_params.get("calibration", "none"),
                              oof["fold"])
    return {"nested_macro_f1": round(float(np.mean([x[0] for x in f])), 4),
            "oppose_f1": round(float(np.mean([x[1] for x in f])), 4),
            "cross_source": cs,
            "cross_source_macro_f1": round(float(np.mean([v["macro_f1"] for v in cs.values()])), 4) if cs else None,
            "cross_target": ct,
            "cross_target_macro_f1": round(float(np.mean([v["macro_f1"] for v in ct.values()])), 4) if ct else None,
            "calibration": {name: {k: round(v, 4) for k, v in cal[name].items()} for name in ("raw", "calibrated")},
            "seconds": round(time.perf_counter() - t0, 1)}


def _cell(block: dict, keys: list[str], field: str = "macro_f1") -> str:
    if not block:
        return "—"
    vals = [block[k][field] for k in keys if k in block]
    return f"{sum(vals) / len(vals):.3f} ({' / '.join(f'{v:.3f}' for v in vals)})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_protocol_arguments(ap, "static_ideas")
    ap.add_argument("--only", default="", help="comma-separated row names (default: all)")
    args = ap.parse_args(argv)

    all_params, df, kinds, targets, per_target = protocol_inputs(args)
    evaluate = all_params["evaluate"]
    cs, ct = evaluate["cross_source"], evaluate["cross_target"]
    texts, labels, groups = df["text"].tolist(), df["label"].tolist(), df["article_id"].tolist()
    seeds = [int(s) for s in args.seeds.split(",")]
    names = [n for n in (args.only.split(",") if args.only else ROWS) if n]
    results = {}
    for name in names:
        desc, overrides = ROWS[name]
        if overrides.get("features.embeddings.enabled") and importlib.util.find_spec("torch") is None:
            print(f"{name}: skipped (needs the [embeddings] extra)", file=sys.stderr)
            continue
        params = copy.deepcopy(all_params["train"])
        for k, v in overrides.items():
            _set(params, k, v)
        results[name] = {"idea": desc, "overrides": overrides,
                         **measure(texts, labels, groups, kinds, targets, evaluate, params, seeds, args.outer,
                                   args.inner)}
        print(json.dumps({name: results[name]}), file=sys.stderr, flush=True)
    info = {"n_sentences": len(df), "n_articles": int(df["article_id"].nunique()), "seeds": seeds,
            "outer_folds": args.outer, "inner_folds": args.inner, "targets": per_target or None}
    Path(args.json).write_text(json.dumps({"meta": info, "rows": results}, indent=2, sort_keys=True) + "\n",
                               encoding="utf-8")
    cs_keys = [f"{a}_to_{b}" for a, b in cs["pairs"]]
    ct_keys = [f"{a}_to_{b}" for a, b in ct["pairs"]]
    lines = [f"Nested grouped CV ({args.outer} outer x {len(seeds)} seeds, {args.inner} inner folds), cross-source, "
             f"cross-target and calibration on {info['n_sentences']} sentences / {info['n_articles']} articles "
             "(`benchmarks/static_ideas.py`):", "",
             "| configuration | nested macro-F1 | oppose F1 | cross-source macro-F1 (" + " / ".join(cs_keys)
             + ") | cross-target macro-F1 (" + " / ".join(ct_keys) + ") | ECE raw → calibrated "
             "| Brier raw → calibrated | share error raw → calibrated |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        c = r["calibration"]
        lines.append(f"| `{name}`: {r['idea']} | {r['nested_macro_f1']:.3f} | {r['oppose_f1']:.3f} "
                     f"| {_cell(r['cross_source'], cs_keys)} | {_cell(r['cross_target'], ct_keys)} "
                     f"| {c['raw']['ece']:.3f} → {c['calibrated']['ece']:.3f} "
                     f"| {c['raw']['brier']:.3f} → {c['calibrated']['brier']:.3f} "
                     f"| {c['raw']['share_error']:.3f} → {c['calibrated']['share_error']:.3f} |")
    Path(args.md).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
