"""The full ``stance evaluate`` of the opt-in embeddings configuration, side by side with the default.

Run from the repository root after ``dvc repro`` (needs the [embeddings] extra)::

    nice python benchmarks/evaluate_embeddings.py      # writes benchmarks/embeddings_metrics.json

It copies ``params.yaml`` with ``train.features.embeddings.enabled: true`` (and
``train.combine: union``: the dense block is averaged with the union model) and the embeddings
weight searched by the inner CV (``train.grid.logreg.features.embeddings.weight``: 0.5, 1, 2),
then runs ``stance train`` and ``stance evaluate`` on the project's dataset into a temporary
folder (nothing in ``models/`` or ``reports/`` is touched, no MLflow run) and keeps the
evaluation's ``metrics.json``: the same nested grouped CV, baselines, paired differences,
cross-source figures and learning curve as the default model's ``reports/metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _value(node):
    return node["value"] if isinstance(node, dict) else node


def summary(metrics: dict) -> dict:
    """The headline figures of a metrics.json: nested, cross-source, cross-target, learning curve."""
    model = metrics["model"]
    diff = metrics["comparison"]["model_minus_lexicon"]["macro_f1"]
    return {
        "nested_macro_f1": [_value(model["macro_f1"]), model["macro_f1"]["ci_low"], model["macro_f1"]["ci_high"]],
        "oppose_f1": _value(model["per_class"]["oppose"]["f1"]),
        "lexicon_macro_f1": _value(metrics["lexicon"]["macro_f1"]),
        "model_minus_lexicon": diff,
        "cross_source": {k: {"model": _value(v["model"]["macro_f1"]), "lexicon": _value(v["lexicon"]["macro_f1"]),
                             "oppose_f1": _value(v["model"]["per_class"]["oppose"]["f1"])}
                         for k, v in (metrics.get("cross_source") or {}).items() if "model" in v},
        "cross_target": {k: {"model": _value(v["model"]["macro_f1"]), "lexicon": _value(v["lexicon"]["macro_f1"]),
                             "oppose_f1": _value(v["model"]["per_class"]["oppose"]["f1"])}
                         for k, v in (metrics.get("cross_target") or {}).items()
                         if isinstance(v, dict) and "model" in v},
        "learning_curve": {k: [_value(v["macro_f1"]), _value(v["oppose_f1"])]
                           for k, v in (metrics.get("learning_curve") or {}).items() if "macro_f1" in v},
    }


def main(argv=None) -> int:
    import yaml

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("--weights", default="0.5,1.0,2.0", help="embeddings weights for the inner CV to choose from")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/embeddings_metrics.json"))
    args = ap.parse_args(argv)

    params = yaml.safe_load(Path(args.params).read_text(encoding="utf-8"))
    params["train"]["features"]["embeddings"]["enabled"] = True
    params["train"]["combine"] = "union"  # the dense block is averaged with the union model (stack: refused)
    grid = params["train"]["grid"][params["train"]["classifier"]]
    grid.setdefault("features", {}).setdefault("embeddings", {})["weight"] = [float(w) for w in args.weights.split(",")]
    stance = [sys.executable, "-m", "pipeline.cli"]
    with tempfile.TemporaryDirectory(prefix="emb-eval-") as tmp:
        t = Path(tmp)
        (t / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
        common = ["--params", str(t / "params.yaml")]
        t0 = time.perf_counter()
        subprocess.run([*stance, "train", *common, "--model", str(t / "model.joblib"),
                        "--report", str(t / "train.json")], check=True, cwd=ROOT)
        t1 = time.perf_counter()
        subprocess.run([*stance, "evaluate", *common, "--model", str(t / "model.joblib"),
                        "--train-report", str(t / "train.json"), "--metrics", str(t / "metrics.json"),
                        "--plots", str(t / "plots"), "--misclassified", str(t / "misclassified.csv"),
                        "--classification-report", str(t / "report.txt"), "--no-mlflow", "--trust-model"],
                       check=True, cwd=ROOT)
        t2 = time.perf_counter()
        shutil.copyfile(t / "metrics.json", args.out)
        metrics = json.loads((t / "metrics.json").read_text(encoding="utf-8"))
    out = {"train_s": round(t1 - t0, 1), "evaluate_s": round(t2 - t1, 1), **summary(metrics)}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
