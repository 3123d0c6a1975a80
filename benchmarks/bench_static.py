"""Benchmark of the static-embedding encoder alone (``pipeline.model.static.StaticEmbeddings``).

Run from the repository root::

    python benchmarks/bench_static.py --texts data/interim/sentences.csv     # 100,000 lines

Measures, in fresh processes (medians of ``--runs``):

1. import cost: ``import tokenizers, safetensors.numpy`` on top of numpy;
2. loading: ``StaticEmbeddings().fit()`` (reads and checks the shipped model) and the first
   ``transform`` (builds the tokenizer from its JSON);
3. encoding N lines (seeded shuffled repeats of the texts): the encoder as used (each distinct
   space-separated piece tokenised once), the same on lines that each end with a made-up word,
   and whole sentences through ``tokenizers`` without the piece memory (for comparison);
   whether torch, transformers or model2vec got imported.

One process, one thread for the tokenizer (``TOKENIZERS_PARALLELISM=false``). Prints JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ENCODE = r"""
import csv, json, os, random, sys, time
os.environ["TOKENIZERS_PARALLELISM"] = "false"
t0 = time.perf_counter()
from pipeline.model.static import StaticEmbeddings
t1 = time.perf_counter()
enc = StaticEmbeddings().fit()
t2 = time.perf_counter()
enc.transform(["warm up"])
t3 = time.perf_counter()
texts = [" ".join(r["text"].split()) for r in csv.DictReader(open(sys.argv[1], encoding="utf-8")) if r["text"].strip()]
rng = random.Random(0)
n = int(sys.argv[2])
lines = [rng.choice(texts) for _ in range(n)]
fresh = [f"{t} zq{i:x}" for i, t in enumerate(lines)]
t = time.perf_counter(); enc.transform(lines); cold = time.perf_counter() - t
t = time.perf_counter(); enc.transform(lines); warm = time.perf_counter() - t
other = StaticEmbeddings().fit()
t = time.perf_counter(); other.transform(fresh); fresh_s = time.perf_counter() - t
tok = enc._tokenizer()[0]
t = time.perf_counter(); tok.encode_batch_fast(lines, add_special_tokens=False); whole = time.perf_counter() - t
print(json.dumps({"import_s": t1 - t0, "fit_s": t2 - t1, "first_transform_s": t3 - t2, "lines": n,
                  "distinct_texts": len(set(texts)),
                  "lines_per_s_cold": n / cold, "lines_per_s_warm": n / warm, "lines_per_s_fresh_words": n / fresh_s,
                  "tokenizer_whole_sentences_per_s": n / whole,
                  "heavy_imports": sorted(m for m in ("torch", "transformers", "model2vec") if m in sys.modules)}))
"""


def _run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--texts", default=str(ROOT / "data/interim/sentences.csv"), help="CSV with a text column")
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    with open(args.texts, newline="", encoding="utf-8") as fh:
        if not any(r.get("text", "").strip() for r in csv.DictReader(fh)):
            raise SystemExit(f"{args.texts}: no text column with sentences")
    base = "import time; t = time.perf_counter(); import numpy; t1 = time.perf_counter(); {}; " \
           "import json; print(json.dumps({{'s': time.perf_counter() - t1}}))"
    imports = [_run(base.format("import tokenizers, safetensors.numpy"))["s"] for _ in range(args.runs)]
    runs = [_run(ENCODE, args.texts, str(args.lines)) for _ in range(args.runs)]
    result = {"load_average_1min_at_start": round(os.getloadavg()[0], 2),
              "import_tokenizers_safetensors_s": round(statistics.median(imports), 3)}
    for key in runs[0]:
        values = [r[key] for r in runs]
        result[key] = values[0] if not isinstance(values[0], float) else round(statistics.median(values), 3)
    result["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
