"""Calibration methods compared on held-out articles: none, temperature, bcts, sigmoid, isotonic.

Run from the repository root (after ``dvc repro``)::

    nice python benchmarks/calibration_methods.py                    # the TF-IDF model, 5 seeds
    nice python benchmarks/calibration_methods.py --config default   # the default model

Nested grouped CV as in ``stance evaluate``: inside every outer fold the grid is searched by
inner grouped CV, the winner refitted and the held-out articles scored; each calibration method
is fitted on the inner selection's out-of-fold probabilities (folds grouped by article) and
applied to the held-out scores. ``sigmoid`` and ``isotonic`` are fitted per class (one against
the rest) and renormalised, as scikit-learn's ``CalibratedClassifierCV`` does for many classes.

Reported (mean over seeds): top-label ECE (10 bins), Brier score, log loss, the share error per
outer fold (mean absolute difference between mean score and true share per class, averaged over
the folds) and the macro-F1 of the highest calibrated score (the project keeps the classifier's
own labels; this column shows what choosing by the calibrated score would cost).
Writes ``benchmarks/calibration_methods.json``. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from model_ideas import _set  # noqa: E402
from static_ideas import ROWS  # noqa: E402

METHODS = ("none", "temperature", "bcts", "sigmoid", "isotonic")


def _per_class(kind: str):
    import numpy as np
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    def fit(p, y):
        cals = []
        for k in range(p.shape[1]):
            target = (y == k).astype(int)
            if kind == "isotonic":
                cals.append(IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(p[:, k], target))
            else:  # Platt scaling on the log-odds of the class's probability
                z = np.log(np.clip(p[:, k], 1e-12, None)) - np.log(np.clip(1 - p[:, k], 1e-12, None))
                cals.append(LogisticRegression(C=1e6, max_iter=1000).fit(z[:, None], target))
        return cals

    def apply(p, cals):
        cols = []
        for k, c in enumerate(cals):
            if kind == "isotonic":
                cols.append(c.predict(p[:, k]))
            else:
                z = np.log(np.clip(p[:, k], 1e-12, None)) - np.log(np.clip(1 - p[:, k], 1e-12, None))
                cols.append(c.predict_proba(z[:, None])[:, 1])
        q = np.column_stack(cols)
        s = q.sum(axis=1, keepdims=True)
        return np.divide(q, s, out=np.full_like(q, 1 / q.shape[1]), where=s > 0)

    return fit, apply


def main(argv=None) -> int:
    import numpy as np
    import yaml
    from sklearn.metrics import f1_score

    from pipeline.core.data import LABELS, load_dataset
    from pipeline.model.calibration import calibrate, calibration_summary, fit_calibration, share_error
    from pipeline.train.engine import CVEngine, shift_proba
    from pipeline.train.folds import grouped_splits, single_threaded_blas

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="tfidf", choices=["tfidf", "default"],
                    help="tfidf: the TF-IDF model alone; default: the default model (static average)")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--outer", type=int, default=5)
    ap.add_argument("--inner", type=int, default=3)
    ap.add_argument("--dataset", default=str(ROOT / "data/processed/dataset.csv"))
    ap.add_argument("--json", default=str(ROOT / "benchmarks/calibration_methods.json"))
    args = ap.parse_args(argv)

    params = copy.deepcopy(yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))["train"])
    for k, v in ROWS["tfidf" if args.config == "tfidf" else "average"][1].items():
        _set(params, k, v)
    params["calibration"] = "none"  # the methods are applied here, on the raw scores
    df = load_dataset(args.dataset)
    labels = df["label"].tolist()
    y = np.array([LABELS.index(v) for v in labels])
    engine = CVEngine(df["text"].tolist(), labels, df["article_id"].tolist(), params, inner_folds=args.inner)
    seeds = [int(s) for s in args.seeds.split(",")]
    scores = {m: np.zeros((len(seeds), len(y), len(LABELS))) for m in METHODS}
    folds = np.zeros((len(seeds), len(y)), dtype=int)
    per_class = {kind: _per_class(kind) for kind in ("sigmoid", "isotonic")}
    with single_threaded_blas():
        for si, seed in enumerate(seeds):
            for k, (tr, te) in enumerate(grouped_splits(engine.y, engine.groups, args.outer, seed)):
                rep = engine.select(tr, seed)
                oof = shift_proba(rep["oof_proba"], rep["priors"])
                raw = shift_proba(engine.fit_predict(rep["selected"], tr, te), rep["priors"])
                engine.clear()
                folds[si, te] = k
                scores["none"][si, te] = raw
                for m in ("temperature", "bcts"):
                    fitted = fit_calibration(oof, y[tr], m)
                    scores[m][si, te] = calibrate(raw, fitted["temperature"], fitted["bias"])
                for kind, (fit, apply) in per_class.items():
                    scores[kind][si, te] = apply(raw, fit(oof, y[tr]))
    out = {}
    for m, s in scores.items():
        rows = [calibration_summary(s[i], y) for i in range(len(seeds))]
        shares = [np.mean([share_error(s[i][folds[i] == k], y[folds[i] == k]) for k in range(args.outer)])
                  for i in range(len(seeds))]
        f1 = [f1_score(y, s[i].argmax(axis=1), labels=[0, 1, 2], average="macro", zero_division=0)
              for i in range(len(seeds))]
        out[m] = {"ece": round(float(np.mean([r["ece"] for r in rows])), 4),
                  "brier": round(float(np.mean([r["brier"] for r in rows])), 4),
                  "log_loss": round(float(np.mean([r["log_loss"] for r in rows])), 4),
                  "share_error_per_fold": round(float(np.mean(shares)), 4),
                  "macro_f1_of_highest_score": round(float(np.mean(f1)), 4)}
        print(m, json.dumps(out[m]), flush=True)
    Path(args.json).write_text(json.dumps({"config": args.config, "seeds": seeds, "outer_folds": args.outer,
                                           "inner_folds": args.inner, "n_sentences": len(y), "methods": out},
                                          indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
