"""Benchmark of the split stage (``stance split``): throughput, linear scaling, long lines.

Run from the repository root::

    /tmp/venv/bin/python benchmarks/bench_split.py                  # 10,000 articles (several minutes)
    /tmp/venv/bin/python benchmarks/bench_split.py --articles 1000  # smaller corpus
    /tmp/venv/bin/python benchmarks/bench_split.py --quick          # 500 articles, short checks

What it measures (wall-clock, on whatever machine runs it):

1. corpus: N synthetic articles of about 600 words (default N = 10,000) are written to a
   temporary folder, then the real command ``stance split --raw DIR ...`` is run as a
   subprocess (process start, reading, splitting, CSV writing) with ``--jobs 1`` and with
   ``--jobs 2``; the two outputs are checked to be byte-identical. Reported: seconds,
   articles/s, output sentences/s, input words/s.
2. scaling: ``split_corpus`` in-process on N/4, N/2 and N articles (1x, 2x, 4x); if the
   stage is linear, sentences/s stays flat.
3. long lines: one 1 MB single-line article of prose (and 0.25 MB, 0.5 MB to show it is
   linear), one 1 MB token, one 1 MB line with many long tokens, 10,000 tokens just under
   ``max_token_chars`` and two pysbd-hostile patterns ("No! " and "U.S. " repeated);
   in-process ``split_text``, best of 3 (1 for the slowest).

Articles are generated deterministically (``random.Random(seed)``) from the vocabulary and
sentence templates below - no downloads. Each has what the stage must clean: optional
``# key: value`` header lines, a headline, a dateline, page furniture ("Advertisement",
"READ MORE: ...", a photo caption, a "Reporting by" credit) and a pull quote repeated in
the body. Results are printed as JSON (``--json FILE`` also writes them). Nothing here is
a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ACTORS = [
    "The Security Council", "China", "Russia", "The United States", "Japan", "South Korea",
    "The U.N. panel of experts", "The European Union", "Mr. Wang", "Amb. Haley", "The D.P.R.K. delegation",
    "Foreign Minister Kono", "The U.S. Treasury", "Beijing", "Moscow", "Washington", "Seoul", "Tokyo",
    "The sanctions committee", "The Council members", "Dr. Lee", "Secretary Kerry",
]
VERBS = [
    "urged", "rejected", "welcomed", "opposed", "called for", "criticised", "backed", "questioned",
    "demanded", "warned against", "pushed for", "argued against", "proposed", "supported",
]
OBJECTS = [
    "tougher sanctions on North Korea", "a new draft resolution", "the cap on refined petroleum imports",
    "the asset freeze on shipping firms", "unilateral measures outside the Council", "a return to the six-party talks",
    "the ban on coal and iron exports", "an easing of the humanitarian exemptions",
    "the travel ban on senior officials",
    "closer inspection of cargo at sea", "the mandate of the expert panel", "further pressure on Pyongyang",
]
WHEN = [
    "on Sept. 12", "after the latest missile test", "in a statement on Monday", "according to diplomats",
    "at the U.N. headquarters in New York", "during talks in Beijing", "on Jan. 6", "late on Friday",
    "before the vote", "in an interview with reporters", "at a briefing in Geneva", "earlier this month",
]
ADJ = ["counterproductive", "necessary", "premature", "long overdue", "too weak", "excessive", "unhelpful", "vital"]
CONNECT = ["However", "Meanwhile", "In response", "At the same time", "Separately", "Later"]
SPEAKERS = ["Wang told reporters", "the envoy said", "Haley said", "a senior diplomat said", "Kono added",
            "the spokesman said", "the ambassador told the Council"]
QUOTES = [
    "Sanctions are a means, not an end in themselves",
    "We will not reward provocation with concessions",
    "The door to dialogue remains open",
    "Every state must implement these measures in full",
    "Pressure alone will not solve this problem",
    "The Council cannot stay silent in the face of these launches",
]
PLACES = ["BEIJING", "UNITED NATIONS", "WASHINGTON", "SEOUL", "TOKYO", "MOSCOW", "GENEVA"]
AGENCIES = ["Reuters", "AP", "AFP", "Yonhap", "Kyodo"]
NAMES = ["Ben Blanchard", "Michelle Nichols", "Hyonhee Shin", "Kiyoshi Takenaka", "Robert Birsel"]


def _inner(actor: str) -> str:
    """An actor in mid-sentence: "The Security Council" -> "the Security Council"."""
    return "the" + actor[3:] if actor.startswith("The ") else actor


def _sentence(rng: random.Random) -> str:
    k = rng.randrange(6)
    a, b = rng.sample(ACTORS, 2)
    if k == 0:
        return f"{a} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(WHEN)}."
    if k == 1:
        return f"“{rng.choice(QUOTES)},” {rng.choice(SPEAKERS)} {rng.choice(WHEN)}."
    if k == 2:
        return (f"{a} said that {_inner(b)} had {rng.choice(VERBS)} "
                f"{rng.choice(OBJECTS)}, but {_inner(rng.choice(ACTORS))} {rng.choice(VERBS)} {rng.choice(OBJECTS)}.")
    if k == 3:
        return (f"{rng.choice(CONNECT)}, {_inner(a)} described {rng.choice(OBJECTS)} "
                f"as {rng.choice(ADJ)} and {rng.choice(ADJ)}, {rng.choice(WHEN)}.")
    if k == 4:
        return (f"{a} and {_inner(b)} met {rng.choice(WHEN)} to discuss "
                f"{rng.choice(OBJECTS)} and {rng.choice(OBJECTS)}.")
    n = rng.randint(2, 9)
    return (f"The resolution, adopted by {n + 6} votes to {n % 3}, extends {rng.choice(OBJECTS)} "
            f"for {n} months {rng.choice(WHEN)}.")


def make_article(index: int, seed: int = 0, words: int = 600) -> str:
    """One synthetic article of about *words* words (all lines but the header), deterministic in (seed, index)."""
    rng = random.Random(seed * 1_000_003 + index)
    lines: list[str] = []
    if rng.random() < 0.5:
        lines += [f"# source: https://example.org/news/{index}", f"# title: Article {index}",
                  "# license: synthetic benchmark text", ""]
    lines += ["Advertisement", "", _sentence(rng).rstrip("."), ""]
    quote = rng.choice(QUOTES)
    count = 0
    paragraph_no = 0
    budget = words - 110          # paragraphs; headline, pull quote, furniture and overshoot add ~110
    while count < budget:
        para = " ".join(_sentence(rng) for _ in range(rng.randint(2, 4)))
        if paragraph_no == 0:
            para = f"{rng.choice(PLACES)} ({rng.choice(AGENCIES)}) - {para}"
        lines += [para, ""]
        count += len(para.split())
        paragraph_no += 1
        if paragraph_no == 2:
            lines += [quote, "Wang Yi, Chinese Foreign Minister", ""]
        if paragraph_no == 3:
            lines += [f"Officials meet in {rng.choice(PLACES).title()} on Monday. Photo: {rng.choice(AGENCIES)}", ""]
        if paragraph_no == 5:
            lines += [f"READ MORE: {_sentence(rng)}", ""]
        if paragraph_no == 6:
            lines += [f"“{quote},” {rng.choice(SPEAKERS)}.", ""]
    lines += [f"Reporting by {rng.choice(NAMES)}; Editing by {rng.choice(NAMES)}", ""]
    return "\n".join(lines)


def write_corpus(folder: Path, n: int, seed: int = 0) -> int:
    """Write *n* articles into *folder*; return the number of body words written."""
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(n):
        text = make_article(i, seed)
        total += sum(len(line.split()) for line in text.split("\n") if not line.startswith("# "))
        (folder / f"{i:05d}.txt").write_text(text, encoding="utf-8")
    return total


def _stance() -> list[str]:
    exe = Path(sys.executable).with_name("stance")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline.cli"]


def run_cli(raw: Path, out: Path, jobs: int, params: Path) -> float:
    """Run ``stance split`` on *raw*; return its wall-clock seconds."""
    out.mkdir(parents=True, exist_ok=True)
    cmd = _stance() + ["split", "--raw", str(raw), "--sentences", str(out / "sentences.csv"),
                       "--articles", str(out / "articles.csv"), "--report", str(out / "report.csv"),
                       "--params", str(params), "--jobs", str(jobs)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - t0


def _count_rows(path: Path) -> int:
    import pandas as pd

    return len(pd.read_csv(path))


def bench_corpus(n: int, jobs: list[int], tmp: Path, params: Path) -> dict:
    raw = tmp / "raw"
    t0 = time.perf_counter()
    words = write_corpus(raw, n)
    gen = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in raw.iterdir())
    result: dict = {"articles": n, "body_words": words, "mean_words_per_article": round(words / n, 1),
                    "bytes": size, "generate_seconds": round(gen, 2), "runs": {}}
    outputs = {}
    for j in jobs:
        secs = run_cli(raw, tmp / f"out{j}", j, params)
        sentences = _count_rows(tmp / f"out{j}" / "sentences.csv")
        outputs[j] = (tmp / f"out{j}" / "sentences.csv").read_bytes()
        result["runs"][f"jobs={j}"] = {
            "seconds": round(secs, 2),
            "sentences": sentences,
            "articles_per_s": round(n / secs, 1),
            "sentences_per_s": round(sentences / secs, 1),
            "words_per_s": round(words / secs),
        }
        print(f"  corpus {n} articles, --jobs {j}: {secs:.1f} s, {sentences} sentences, "
              f"{sentences / secs:.0f} sentences/s", file=sys.stderr, flush=True)
    result["outputs_identical_across_jobs"] = len(set(outputs.values())) == 1
    shutil.rmtree(raw)
    return result


def bench_scaling(n: int, tmp: Path) -> list[dict]:
    from pipeline.split.stage import split_corpus

    rows = []
    for factor in (1, 2, 4):
        k = max(1, n * factor // 4)
        raw = tmp / f"scale{factor}"
        write_corpus(raw, k, seed=1)
        t0 = time.perf_counter()
        sentences, _a, _r = split_corpus(raw, {"n_jobs": 1})
        secs = time.perf_counter() - t0
        rows.append({"factor": factor, "articles": k, "sentences": len(sentences), "seconds": round(secs, 2),
                     "sentences_per_s": round(len(sentences) / secs, 1)})
        print(f"  scaling {factor}x ({k} articles): {secs:.1f} s, {len(sentences) / secs:.0f} sentences/s",
              file=sys.stderr, flush=True)
        shutil.rmtree(raw)
    return rows


def _prose(n_chars: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    parts, size = [], 0
    while size < n_chars:
        s = _sentence(rng)
        parts.append(s)
        size += len(s) + 1
    return " ".join(parts)[:n_chars]


def bench_long_lines(quick: bool) -> list[dict]:
    from pipeline.split.clean import Report
    from pipeline.split.stage import split_text

    cases = [
        ("prose, 0.25 MB single line", _prose(250_000)),
        ("prose, 0.5 MB single line", _prose(500_000)),
        ("prose, 1 MB single line", _prose(1_000_000)),
        ("one 1 MB token", "x" * 1_000_000),
        ("1 MB line, 1,900 tokens of 500 chars between short sentences",
         " ".join("y" * 500 + f" Sentence number {i} is here." for i in range(1900))),
        ("1 MB line, 10,001 tokens of 99 chars (just under max_token_chars)",
         " ".join("z" * 99 for _ in range(10_001))),
        ('1 MB line, "No! " repeated', "No! " * 250_000),
        ('1 MB line, "U.S. " repeated', "U.S. " * 200_000),
    ]
    rows = []
    for name, text in cases:
        runs = 1 if quick or "repeated" in name else 3
        times = []
        for _ in range(runs):
            report = Report()
            t0 = time.perf_counter()
            out = split_text(text, "big", report=report)
            times.append(time.perf_counter() - t0)
        rows.append({"case": name, "chars": len(text), "sentences": len(out), "seconds": round(min(times), 2),
                     "runs": runs})
        print(f"  {name}: {min(times):.2f} s, {len(out)} sentences", file=sys.stderr, flush=True)
    return rows


def bench_large_file(sizes_mb: list[float], tmp: Path, params_file: Path) -> list[dict]:
    """One file of N MB (generated articles back to back) through ``stance split``.

    Reports wall seconds and the child's CPU seconds (user + system, from getrusage: the
    figure to compare when the machine is shared) and its peak RSS. If the stage is linear,
    CPU seconds per MB stay flat.
    """
    import resource

    rows = []
    for mb in sizes_mb:
        folder = tmp / f"large_{mb}"
        folder.mkdir()
        parts, size, i = [], 0, 0
        while size < mb * 1_000_000:
            article = make_article(i)
            parts.append(article)
            size += len(article) + 2
            i += 1
        (folder / "large.txt").write_text("\n\n".join(parts), encoding="utf-8")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = run_cli(folder, tmp / "large_out", 1, params_file)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        n_sent = _count_rows(tmp / "large_out" / "sentences.csv")
        rows.append({"mb": mb, "sentences": n_sent, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                     "cpu_s_per_mb": round(cpu / mb, 2), "peak_rss_mb_max_child": round(after.ru_maxrss / 1024)})
        print(f"  large file {mb} MB: {cpu:.1f} s CPU, {wall:.1f} s wall, {n_sent} sentences",
              file=sys.stderr, flush=True)
        shutil.rmtree(folder)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=10_000, help="corpus size (default 10,000)")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="--jobs values to time (default 1 2)")
    ap.add_argument("--quick", action="store_true", help="500 articles, one run of each long-line case")
    ap.add_argument("--large-mb", type=float, nargs="+", default=[2, 8, 32],
                    help="sizes of the one-large-file case in MB (default 2 8 32)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["corpus", "scaling", "long", "large"],
                    help="parts to leave out")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args(argv)
    n = 500 if args.quick else args.articles
    params = ROOT / "params.yaml"
    tmp = Path(tempfile.mkdtemp(prefix="bench_split_"))
    results: dict = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "params": str(params.name),
                     "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    try:
        if params.is_file():
            from pipeline.core.config import load_params

            split_params = load_params(params, "split")
        else:
            split_params = {}
        params_file = tmp / "params.yaml"
        import yaml

        params_file.write_text(yaml.safe_dump({"split": split_params}), encoding="utf-8")
        if "corpus" not in args.skip:
            results["corpus"] = bench_corpus(n, args.jobs, tmp, params_file)
        if "scaling" not in args.skip:
            results["scaling"] = bench_scaling(min(n, 2000), tmp)
        if "long" not in args.skip:
            results["long_lines"] = bench_long_lines(args.quick)
        if "large" not in args.skip:
            results["large_file"] = bench_large_file([1, 2] if args.quick else args.large_mb, tmp, params_file)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
