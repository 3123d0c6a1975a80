"""Benchmark of ``stance analyze``: articles per second and peak memory, local and Spark engines.

Run from the repository root (needs models/model.joblib; Spark runs need the spark extra)::

    nice python benchmarks/bench_analyze.py                        # 1,000 / 10,000 / 50,000 articles
    nice python benchmarks/bench_analyze.py --sizes 1000,10000 --engines local1,local2,spark

Articles are generated from the real corpus: the sentences of ``data/raw`` (split by the
pipeline's splitter) are recombined at random (fixed seed) into articles of as many
sentences as the corpus has on average, with a date in 2003-2024 and one of the corpus'
sources, and written to one JSONL file per size. Each configuration runs ``stance analyze``
as a separate process (start-up included, as a user would see it):

- ``local1``: ``--engine local --jobs 1``
- ``local2``: ``--engine local --jobs 2``
- ``spark``: ``--engine spark --master local[2]`` (JVM start-up included)

Reported: wall time, articles per second, sentences per second, the peak resident memory
of the largest process and the peak of the sum over the process tree (sampled every 0.2 s
with psutil when installed). Output: a Markdown table on stdout and ``--json`` results.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINES = {
    "local1": ["--engine", "local", "--jobs", "1"],
    "local2": ["--engine", "local", "--jobs", "2"],
    "spark": ["--engine", "spark", "--master", "local[2]"],
}


def corpus_sentences() -> tuple[list[list[str]], list[str]]:
    """The corpus' articles as lists of sentences (splitter output) and its sources."""
    import csv

    from pipeline.split.stage import split_corpus

    sents, _arts, _rep = split_corpus(ROOT / "data" / "raw")
    by_article: dict[str, list[str]] = {}
    for aid, text in zip(sents["article_id"], sents["text"]):
        by_article.setdefault(aid, []).append(text)
    sources = ["VOA", "UN", "US government", "Wikinews", "Reuters"]
    meta = ROOT / "data" / "articles_meta.csv"
    if meta.is_file():
        with open(meta, encoding="utf-8", newline="") as fh:
            sources = sorted({r["source"] for r in csv.DictReader(fh) if r["source"]})
    return list(by_article.values()), sources


def generate(path: Path, n: int, seed: int = 0) -> int:
    """Write *n* articles of recombined corpus sentences to JSONL; returns the number of sentences."""
    articles, sources = corpus_sentences()
    pool = [s for a in articles for s in a]
    mean = round(len(pool) / len(articles))
    rng = random.Random(seed)
    total = 0
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            k = max(2, min(40, int(rng.gauss(mean, mean / 2))))
            body = "\n\n".join(rng.choice(pool) for _ in range(k))
            year = rng.randint(2003, 2024)
            date = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            fh.write(json.dumps({"article_id": f"g{i:06d}", "text": body, "date": date,
                                 "source": rng.choice(sources)}) + "\n")
            total += k
    return total


def _tree_rss(proc) -> tuple[int, int]:
    """(sum, largest) resident set size over *proc* and its descendants, in bytes."""
    try:
        procs = [proc] + proc.children(recursive=True)
    except Exception:  # noqa: BLE001 - the process ended
        return 0, 0
    total = largest = 0
    for p in procs:
        try:
            rss = p.memory_info().rss
        except Exception:  # noqa: BLE001
            continue
        total += rss
        largest = max(largest, rss)
    return total, largest


def run_one(input_path: Path, out: Path, engine: str) -> dict:
    """Run ``stance analyze`` once; wall time, peak RSS of the largest process and of the tree."""
    cmd = [sys.executable, "-m", "pipeline.cli", "analyze", "--input", str(input_path), "--out", str(out),
           "--period", "year", "--no-progress", *ENGINES[engine]]
    env = dict(os.environ, PYTHONPATH=str(ROOT), MLFLOW_DISABLE_TELEMETRY="true")
    try:
        import psutil
    except ImportError:
        psutil = None
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak_tree = peak_one = 0
    if psutil is not None:
        ps = psutil.Process(proc.pid)
        while proc.poll() is None:
            total, largest = _tree_rss(ps)
            peak_tree, peak_one = max(peak_tree, total), max(peak_one, largest)
            time.sleep(0.2)
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    return {"wall_s": round(wall, 2), "peak_tree_mb": round(peak_tree / 2**20, 1) if peak_tree else None,
            "peak_largest_mb": round(peak_one / 2**20, 1) if peak_one else None,
            "stderr_tail": err.strip().splitlines()[-5:]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000,50000", help="article counts (default: %(default)s)")
    ap.add_argument("--engines", default="local1,local2,spark", help="configurations (default: %(default)s)")
    ap.add_argument("--json", default=None, help="write the results here too")
    ap.add_argument("--keep", default=None, help="folder for the generated inputs (default: a temporary one)")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    engines = [e for e in args.engines.split(",") if e]
    for e in engines:
        if e not in ENGINES:
            raise SystemExit(f"unknown engine {e!r}; choose from {', '.join(ENGINES)}")
    sys.path.insert(0, str(ROOT))
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-analyze-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    print("| articles | sentences | engine | wall s | articles/s | sentences/s | peak RSS, largest process MB "
          "| peak RSS, all processes MB |")
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        src = work / f"articles_{n}.jsonl"
        n_sent = generate(src, n)
        for engine in engines:
            r = run_one(src, work / f"out_{n}_{engine}", engine)
            largest = r["peak_largest_mb"]
            trends = (work / f"out_{n}_{engine}" / "trends.csv").read_bytes()
            r.update({"articles": n, "sentences": n_sent, "engine": engine,
                      "articles_per_s": round(n / r["wall_s"], 1), "sentences_per_s": round(n_sent / r["wall_s"], 1),
                      "trends_sha": __import__("hashlib").sha256(trends).hexdigest()[:12]})
            results.append(r)
            print(f"| {n:,} | {n_sent:,} | {engine} | {r['wall_s']:.1f} | {r['articles_per_s']:.1f} | "
                  f"{r['sentences_per_s']:.0f} | {largest if largest is not None else 'n/a'} | "
                  f"{r['peak_tree_mb'] if r['peak_tree_mb'] is not None else 'n/a'} |", flush=True)
        shas = {r["trends_sha"] for r in results if r["articles"] == n}
        print(f"<!-- {n}: trends.csv identical across engines: {len(shas) == 1} -->", flush=True)
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; CPUs: {os.cpu_count()}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
