"""Benchmark of ``stance predict``: start-up, throughput, memory, worker processes.

Run from the repository root::

    /tmp/venv/bin/python benchmarks/bench_predict.py            # full run (a few minutes)
    /tmp/venv/bin/python benchmarks/bench_predict.py --quick    # smaller sizes, fewer runs

What it measures (every figure is a median of repeated runs, wall-clock):

1. start-up: ``stance predict --model M "x"`` against the import baseline
   ``python -c "import sklearn.linear_model, sklearn.feature_extraction.text, joblib"``,
   runs interleaved; target ratio <= 1.3.
2. throughput: scoring an N-line file (default 100,000) through the CLI
   (``stance predict --input F --output O``, whole process) against
   ``model.predict_proba(lines)`` in-process on the same list; target speed ratio >= 0.8. Also
   the CLI on the same lines each ending with a made-up word of its own (``fresh_words``):
   every line then brings a word the scoring view's per-word memories have not seen.
3. memory: peak RSS of the CLI process for N lines and 10 x N lines (flat = streaming works).
4. ``--jobs 2`` (and more with --jobs) on the N-line file, wall and CPU seconds, with the
   load average (other work on the machine takes the cores the workers would use).
5. one long line: peak RSS and wall time of the CLI on a file holding one line of
   ``--long-line-mb`` MB (default 200) of prose, then one sentence; target peak RSS < 1 GB
   (the line is over ``max_chars``: an error record, read in bounded pieces).

Model: ``--model PATH``; default models/model.joblib when it exists. Otherwise a stand-in
with the shape of the project's default model (TF-IDF word 1-2 grams, sublinear tf,
logistic regression) is fitted on the hand labels of data/labels/labels.csv and saved
in a temporary directory (it is never written into the project). The printed report says
which model was used. Input lines: the texts of data/interim/sentences.csv (or of the
labels file, or of ``--texts CSV``), repeated in a seeded shuffled order up to N lines.

Results are printed as JSON (``--json FILE`` also writes them). Nothing here is a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE_IMPORT = "import sklearn.linear_model, sklearn.feature_extraction.text, joblib"


def _stance() -> list[str]:
    exe = Path(sys.executable).with_name("stance")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline.cli"]


def _texts(source: str | None = None) -> list[str]:
    for rel in ([source] if source else ["data/interim/sentences.csv", "data/labels/labels.csv",
                                         "data/processed/dataset.csv"]):
        p = ROOT / rel
        if p.is_file():
            with open(p, newline="", encoding="utf-8") as fh:
                texts = [r["text"] for r in csv.DictReader(fh) if r.get("text", "").strip()]
            if texts:
                return texts
    raise SystemExit("no sentences found: run `stance split` (data/interim/sentences.csv) first")


def _stand_in_model(path: Path) -> str:
    """Fit a TF-IDF + logistic regression model on the project's hand labels; return a description."""
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    with open(ROOT / "data/labels/labels.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["label"] in ("support", "oppose", "neutral")]
    model = Pipeline([
        ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
        ("clf", LogisticRegression(max_iter=5000, class_weight="balanced", random_state=42)),
    ]).fit([r["text"] for r in rows], [r["label"] for r in rows])
    joblib.dump(model, path)
    return f"stand-in TF-IDF(1-2)+LogisticRegression fitted on {len(rows)} hand labels"


def _write_lines(path: Path, texts: list[str], n: int, seed: int = 0, fresh: bool = False) -> None:
    """*n* lines: the texts in seeded shuffled order, repeated; with *fresh*, each line also ends
    with a made-up word no other line has (``zq<number>``), so the per-word memories of the
    scoring view (character n-grams, static-embedding pieces) miss on every line."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        pool = list(texts)
        written = 0
        while written < n:
            rng.shuffle(pool)
            take = pool[: n - written]
            lines = [" ".join(t.split()) for t in take]
            if fresh:
                lines = [f"{line} zq{written + i:x}" for i, line in enumerate(lines)]
            fh.write("\n".join(lines) + "\n")
            written += len(take)


def _timed(cmd: list[str], **kw) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t


def _measure(cmd: list[str]) -> tuple[float, float, float]:
    """Run *cmd* in a fresh wrapper process.

    Returns ``(wall seconds, CPU seconds of all its processes, peak RSS in MB of the largest one)``.
    """
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "dt = time.perf_counter() - t\n"
        "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(dt, r.ru_utime + r.ru_stime, r.ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], check=True, capture_output=True, text=True).stdout
    dt, cpu, kb = out.split()
    return float(dt), float(cpu), int(kb) / 1024.0


def _long_line(stance: list[str], trust: list[str], model_path: Path, work: Path, mb: int) -> dict:
    """Peak RSS of ``stance predict`` on one line of *mb* MB followed by one ordinary sentence."""
    path = work / f"one_line_{mb}mb.txt"
    block = ("the council said sanctions must be tightened while others urged that they be lifted " * 1000).encode()
    with open(path, "wb") as fh:
        for _ in range(mb * 10**6 // len(block) + 1):
            fh.write(block)
        fh.write(b"\nSanctions must be enforced.\n")
    dt, _cpu, rss = _measure([*stance, "predict", *trust, "--model", str(model_path), "--input", str(path)])
    path.unlink()
    return {"line_mb": mb, "peak_rss_mb": round(rss, 1), "wall_s": round(dt, 2), "target_peak_rss_mb": 1000}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="model file (default: models/model.joblib, else a stand-in)")
    ap.add_argument("--lines", type=int, default=100_000, help="lines of the throughput file (default 100000)")
    ap.add_argument("--big-factor", type=int, default=10, help="memory run: this many times --lines (default 10)")
    ap.add_argument("--runs", type=int, default=7, help="start-up runs per command (default 7)")
    ap.add_argument("--tp-runs", type=int, default=3, help="throughput runs (default 3)")
    ap.add_argument("--jobs", type=int, nargs="*", default=[2], help="--jobs values to time (default: 2)")
    ap.add_argument("--long-line-mb", type=int, default=200, help="size of the one-line file (default 200)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["startup", "throughput", "jobs", "memory", "longline"],
                    help="sections to leave out")
    ap.add_argument("--texts", default=None, metavar="CSV",
                    help="CSV with a text column to draw the lines from (default: data/interim/sentences.csv)")
    ap.add_argument("--quick", action="store_true", help="10,000 lines, 3 runs (a smoke run)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    if args.quick:
        args.lines, args.runs, args.tp_runs = 10_000, 3, 1

    work = Path(tempfile.mkdtemp(prefix="bench_predict_"))
    results: dict = {"python": sys.version.split()[0], "cpus": os.cpu_count(),
                     "load_average_1min_at_start": round(os.getloadavg()[0], 2)}
    try:
        import sklearn

        results["sklearn"] = sklearn.__version__
        if args.model:
            model_path, results["model"] = Path(args.model), args.model
        elif (ROOT / "models/model.joblib").is_file():
            model_path, results["model"] = ROOT / "models/model.joblib", "models/model.joblib"
        else:
            model_path = work / "model.joblib"
            results["model"] = _stand_in_model(model_path)
        stance = _stance()
        # A stand-in model (or a --model file) is not recorded by training: trusted explicitly,
        # since this script made or was given it; the project's model needs no flag.
        from pipeline.model.files import file_sha256, trusted_hashes

        trust = [] if file_sha256(model_path) in trusted_hashes() else ["--trust-model"]
        results["trust_model_flag"] = bool(trust)
        base_cmd = [sys.executable, "-c", BASELINE_IMPORT]
        one_cmd = [*stance, "predict", *trust, "--model", str(model_path), "Sanctions on the DPRK must be enforced."]

        texts = _texts(args.texts)
        n = args.lines
        small = work / f"lines_{n}.txt"
        _write_lines(small, texts, n)
        out = work / "out.jsonl"

        # 1. start-up, interleaved so background load hits both alike
        if "startup" not in args.skip:
            _timed(one_cmd), _timed(base_cmd)  # warm the file cache
            t_base, t_one = [], []
            for _ in range(args.runs):
                t_base.append(_timed(base_cmd))
                t_one.append(_timed(one_cmd))
            results["startup"] = {
                "runs": args.runs,
                "baseline_import_s": round(statistics.median(t_base), 3),
                "stance_predict_one_s": round(statistics.median(t_one), 3),
                "ratio": round(statistics.median(t_one) / statistics.median(t_base), 3),
            }
            print(json.dumps({"startup": results["startup"]}), flush=True)

        # 2. throughput: CLI (whole process) vs predict_proba in-process, runs interleaved
        if "throughput" not in args.skip:
            import joblib

            model = joblib.load(model_path)
            with open(small, encoding="utf-8") as fh:
                lines = fh.read().splitlines()
            model.predict_proba(lines[:1000])  # warm-up
            t_inproc, t_cli = [], []
            for _ in range(args.tp_runs):
                t = time.perf_counter()
                model.predict_proba(lines)
                t_inproc.append(time.perf_counter() - t)
                t_cli.append(_timed([*stance, "predict", *trust, "--model", str(model_path), "--input", str(small),
                                     "--output", str(out)], stderr=subprocess.DEVNULL))
            del lines, model
            med_in, med_cli = statistics.median(t_inproc), statistics.median(t_cli)
            fresh = work / f"lines_{n}_fresh.txt"
            _write_lines(fresh, texts, n, fresh=True)
            t_fresh = [_timed([*stance, "predict", *trust, "--model", str(model_path), "--input", str(fresh),
                               "--output", str(out)], stderr=subprocess.DEVNULL) for _ in range(args.tp_runs)]
            fresh.unlink()
            results["throughput"] = {
                "lines": n,
                "distinct_texts": len(set(" ".join(t.split()) for t in texts)),
                "cli_lines_per_s_fresh_words": round(n / statistics.median(t_fresh)),
                "runs": args.tp_runs,
                "predict_proba_in_process_s": round(med_in, 3),
                "cli_total_s": round(med_cli, 3),
                "speed_ratio_cli_vs_in_process": round(med_in / med_cli, 3),
                "cli_lines_per_s": round(n / med_cli),
            }
            if "startup" in results:
                one = results["startup"]["stance_predict_one_s"]
                results["throughput"]["speed_ratio_excluding_startup"] = round(med_in / max(med_cli - one, 1e-9), 3)
            print(json.dumps({"throughput": results["throughput"]}), flush=True)

        # 3. worker processes: --jobs 1 and --jobs N interleaved; wall and CPU seconds (on a busy
        # machine the extra workers find no free core: compare the load average with the CPU count)
        if "jobs" not in args.skip:
            res: dict = {"lines": n, "runs": args.tp_runs}
            runs: dict[int, list] = {j: [] for j in [1, *args.jobs]}
            for _ in range(args.tp_runs):
                for j in runs:
                    runs[j].append(_measure([*stance, "predict", *trust, "--model", str(model_path),
                                             "--input", str(small), "--output", str(out), "--jobs", str(j)]))
            for j, rs in runs.items():
                res[f"jobs_{j}_s"] = round(statistics.median(r[0] for r in rs), 3)
                res[f"jobs_{j}_cpu_s"] = round(statistics.median(r[1] for r in rs), 3)
                if j != 1:
                    res[f"jobs_{j}_speedup"] = round(res["jobs_1_s"] / res[f"jobs_{j}_s"], 3)
            res["load_average_1min_after"] = round(os.getloadavg()[0], 2)
            results["jobs"] = res
            print(json.dumps({"jobs": res}), flush=True)

        # 4. memory: N vs big_factor * N lines, output to /dev/null (stdout)
        if "memory" not in args.skip:
            big_n = n * args.big_factor
            big = work / f"lines_{big_n}.txt"
            _write_lines(big, texts, big_n, seed=1)
            mem: dict = {}
            for path, cnt in ((small, n), (big, big_n)):
                dt, _cpu, rss = _measure([*stance, "predict", *trust, "--model", str(model_path), "--input", str(path)])
                mem[f"{cnt}_lines"] = {"peak_rss_mb": round(rss, 1), "wall_s": round(dt, 2),
                                       "input_mb": round(path.stat().st_size / 2**20, 1)}
            j = max(args.jobs or [2])
            dt, _cpu, rss = _measure([*stance, "predict", *trust, "--model", str(model_path), "--input", str(big),
                                      "--jobs", str(j)])
            mem[f"{big_n}_lines_jobs_{j}"] = {"peak_rss_mb_largest_process": round(rss, 1), "wall_s": round(dt, 2)}
            results["memory"] = mem
            print(json.dumps({"memory": mem}), flush=True)
        if "longline" not in args.skip:
            results["long_line"] = _long_line(stance, trust, model_path, work, args.long_line_mb)
            print(json.dumps({"long_line": results["long_line"]}), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
