"""Split stage: raw article text -> clean sentences with stable ids.

Input is a folder of UTF-8 ``*.txt`` articles (article id = file stem; hidden files are
ignored). Each file may start with ``# key: value`` header lines (``source``, ``title``,
``license``), which are article metadata, never sentences. The text is cleaned line by
line with general rules (page furniture, captions, credits, datelines, title blocks,
timestamps, meeting numbers), lines broken in the middle of a sentence are rejoined
(after a comma or an open word such as "of" or "China's", before a lower-case word, or in
a hard-wrapped run), paragraphs are split into sentences with pysbd (in bounded chunks,
so time stays linear in the input), and repeated or near-identical sentences of one
article (pull quotes) are merged.

Outputs (see :func:`run_split`):

- ``sentences.csv``: ``sentence_id, article_id, position, paragraph, start, end, text``;
  ``start``/``end`` are character offsets into the decoded file text (header included).
- ``articles.csv``: ``article_id, source, title, license, n_sentences``
- ``split_report.csv``: ``article_id, rule, count, example`` - what each rule removed or
  merged, per article. Rules: ``page_furniture``, ``link_or_credit``,
  ``caption_or_credit``, ``timestamp``, ``meeting_or_symbol``, ``bracketed_note``,
  ``no_words``, ``short_fragment``, ``name_or_title_block``, ``long_token``,
  ``dateline``, ``short_sentence``, ``too_long``, ``duplicate``, ``repeated_quote``,
  ``media_player``, ``category_tags``, ``masthead``, ``delivery_note``, ``editorial_note``,
  ``dated_caption``, ``repeated_headline``, ``footnote_marker``, ``glued_words``,
  ``broken_line``, ``speech_opening`` and ``bad_file`` (a skipped file).

``sentence_id`` is a content hash of the article id and the normalised text, so it does
not move when other sentences are added, removed or reordered. Parameters: the ``split``
section of params.yaml (:class:`pipeline.core.params.SplitParams`).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from pipeline.core.config import StanceError, add_path_argument
from pipeline.core.data import (
    ARTICLE_COLUMNS,
    SENTENCE_COLUMNS,
    SPLIT_REPORT_COLUMNS,
    sentence_id,
    write_csv_atomic,
)
from pipeline.core.params import SplitParams, coerce, load_section, to_dict
from pipeline.split import rules
from pipeline.split.clean import Paragraph, Report, _strip_heads, _words, classify_line, clean_lines
from pipeline.split.duplicates import _merge_duplicates
from pipeline.split.io import check_raw_file, list_articles, read_article
from pipeline.split.segment import segment

log = logging.getLogger("stance")

# --------------------------------------------------------------------------- sentences

def resolve_params(params: SplitParams | dict[str, Any] | None) -> dict[str, Any]:
    """Check the ``split`` params (:class:`~pipeline.core.params.SplitParams`, a mapping or None for the
    defaults) and return them as a dict with the patterns compiled (keys ``_ui``, ``_credit``,
    ``_always``, ``_verbs``). Raises :class:`StanceError` naming the key for a bad value.
    """
    if isinstance(params, dict) and "_ui" in params:
        return params
    p = to_dict(coerce(SplitParams, params, "split"))
    p["_ui"] = [re.compile(x, re.IGNORECASE) for x in rules.UI_PATTERNS + p["ui_patterns"]]
    p["_credit"] = [re.compile(x) for x in rules.CREDIT_PATTERNS + p["credit_patterns"]]
    p["_always"] = [re.compile(x) for x in rules.ALWAYS_PATTERNS]
    p["_verbs"] = rules.verb_forms(rules.HEADLINE_VERBS + [v.lower() for v in p["headline_verbs"]])
    return p


def split_text(text: str, article_id: str, params: dict[str, Any] | None = None,
               report: Report | None = None, offset: int = 0) -> list[dict[str, Any]]:
    """Split article text (without header lines) into clean sentences.

    Parameters
    ----------
    text : str
        The article body.
    article_id : str
        Goes into every row and into the sentence ids.
    params : dict, optional
        The ``split`` section of params.yaml; missing keys take their defaults.
    report : Report, optional
        Collects what each rule dropped.
    offset : int
        Added to the character offsets (the length of the header lines).

    Returns
    -------
    list of dict
        One dict per sentence, in article order, with keys ``sentence_id, article_id,
        position, paragraph, start, end, text``; ``start``/``end`` are character
        offsets in the file.
    """
    p = resolve_params(params)
    report = report if report is not None else Report()
    out: list[dict[str, Any]] = []
    for para_no, lines in enumerate(clean_lines(text, offset, p, report)):
        para = Paragraph(lines)
        body, cut = _strip_heads(para.text, report)
        cursor = cut
        for sent in segment(body, p["chunk_chars"]):
            at = para.text.find(sent, cursor)
            if at < 0:  # pysbd changed the text (should not happen with clean=False)
                at = cursor
            cursor = at + len(sent)
            clean = " ".join(sent.split())
            if rules.FOOTNOTE_MARKER.search(text, para.file_offset(at) - offset,
                                            para.file_offset(at + len(sent)) - offset):
                clean = re.sub(r"\s+(?=[.,;:!?])", "", clean)    # "the test [5]." -> "the test."
            n_words = len(_words(clean))
            if n_words < p["min_words"]:
                report.add("short_sentence", clean)
                continue
            if len(clean) > p["max_sentence_chars"]:
                report.add("too_long", clean)
                continue
            rule = classify_line(clean, p)
            if rule in rules.SENTENCE_RULES:
                report.add(rule, clean)
                continue
            out.append({
                "article_id": article_id,
                "paragraph": para_no,
                "start": para.file_offset(at),
                "end": para.file_offset(at + len(sent) - 1) + 1,
                "text": clean,
            })
    out = _merge_duplicates(out, p["min_words_contained"], report, p["keep_duplicate"])
    for position, row in enumerate(out):
        row["position"] = position
        row["sentence_id"] = sentence_id(article_id, row["text"])
    return [{c: r[c] for c in SENTENCE_COLUMNS} for r in out]


def split_article(path: str | Path, params: dict[str, Any] | None = None) -> tuple[dict[str, str], list[dict], Report]:
    """Read and split one article file.

    Parameters
    ----------
    path : str or Path
        A UTF-8 text file; its stem is the article id.
    params : dict, optional
        The ``split`` section of params.yaml (missing keys take their defaults).

    Returns
    -------
    (dict, list of dict, Report)
        The header metadata, the sentences (see :func:`split_text`) and what each rule
        dropped. Raises :class:`StanceError` for a bad file (see :func:`read_article`).
    """
    p = resolve_params(params)
    meta, body, offset = read_article(path)
    report = Report()
    sentences = split_text(body, Path(path).stem, p, report, offset)
    return meta, sentences, report


_WORKER_PARAMS: dict[str, Any] | None = None


def _init_worker(params: dict[str, Any]) -> None:
    global _WORKER_PARAMS
    _WORKER_PARAMS = params


def _split_file(path: Path, params: dict[str, Any] | None = None):
    """``(article_id, meta, sentences, report rows, error message or None)`` for one file."""
    p = params if params is not None else _WORKER_PARAMS
    try:
        check_raw_file(path)
        meta, sents, report = split_article(path, p)
    except StanceError as exc:
        return path.stem, None, None, [], str(exc)
    return path.stem, meta, sents, report.rows(path.stem), None


def split_corpus(raw_dir: str | Path, params: dict[str, Any] | None = None, warn=None):
    """Split every ``*.txt`` file of *raw_dir*, in file-name order.

    Parameters
    ----------
    raw_dir : str or Path
        Folder of articles (see :func:`list_articles`).
    params : dict, optional
        The ``split`` section of params.yaml. ``n_jobs > 1`` splits the files in that
        many worker processes; the result is identical and in the same order.
    warn : callable, optional
        Receives one message per skipped file (default: print to stderr).

    Returns
    -------
    sentences, articles, report : pandas.DataFrame
        ``sentence_id, article_id, position, paragraph, start, end, text`` (sorted by
        article id and position); ``article_id, source, title, license, n_sentences``;
        ``article_id, rule, count, example`` (one row per article and rule; a skipped
        file has rule ``bad_file``).

    Bad files raise :class:`StanceError` (the first in name order), or are skipped with
    a warning when ``params['on_bad_file'] == 'skip'``; if no file at all can be read
    the stage fails either way.
    """
    import pandas as pd

    p = resolve_params(params)
    raw = Path(raw_dir)
    files = list_articles(raw)
    warn = warn or (lambda msg: log.warning(f"warning: {msg}"))
    sentences: list[dict] = []
    articles: list[dict] = []
    report_rows: list[dict] = []
    n_jobs = min(p["n_jobs"], len(files))
    pool = None
    if n_jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(n_jobs, initializer=_init_worker, initargs=(p,))
        results = pool.map(_split_file, files, chunksize=max(1, min(64, len(files) // (4 * n_jobs))))
    else:
        results = (_split_file(f, p) for f in files)
    try:
        for f, (stem, meta, sents, rows, error) in zip(files, results):
            if error is not None:
                if p["on_bad_file"] != "skip":
                    raise StanceError(error)
                warn(f"skipping {error}")
                short = error.replace(str(f), f.name, 1)     # no folder paths in the report
                report_rows.append({"article_id": stem, "rule": "bad_file", "count": 1, "example": short[:120]})
                continue
            sentences.extend(sents)
            articles.append({
                "article_id": stem,
                "source": meta.get("source", ""),
                "title": meta.get("title", ""),
                "license": meta.get("license", ""),
                "n_sentences": len(sents),
            })
            report_rows.extend(rows)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    if not articles:
        raise StanceError(f"{raw}: none of the {len(files)} *.txt files could be read")
    ids = [s["sentence_id"] for s in sentences]
    if len(set(ids)) != len(ids):  # would need a 64-bit hash collision
        raise StanceError("two different sentences got the same sentence_id; please report this")
    return (
        pd.DataFrame(sentences, columns=list(SENTENCE_COLUMNS)),
        pd.DataFrame(articles, columns=list(ARTICLE_COLUMNS)),
        pd.DataFrame(report_rows, columns=list(SPLIT_REPORT_COLUMNS)),
    )


# --------------------------------------------------------------------------- CLI

def add_split_arguments(parser) -> None:
    add_path_argument(parser, "--raw", "raw", "folder of *.txt articles")
    add_path_argument(parser, "--sentences", "sentences", "output CSV")
    add_path_argument(parser, "--articles", "articles", "output CSV")
    add_path_argument(parser, "--report", "split_report", "per-article, per-rule counts of dropped/merged lines")
    add_path_argument(parser, "--params", "params", "parameters file, section 'split'; built-in defaults without one",
                      if_exists=True)
    parser.add_argument("--skip-bad", action="store_true",
                        help="skip unreadable files with a warning instead of failing (split.on_bad_file=skip)")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="worker processes (overrides split.n_jobs; the output does not depend on it)")


def run_split(args) -> int:
    params = load_section("split", args.params) if args.params is not None else SplitParams()
    changes: dict[str, Any] = {}
    if args.skip_bad:
        changes["on_bad_file"] = "skip"
    if args.jobs is not None:
        changes["n_jobs"] = args.jobs
    if changes:
        params = coerce(SplitParams, {**to_dict(params), **changes}, "split")
    sentences, articles, report = split_corpus(args.raw, params)
    # Everything is computed before anything is written: a bad file leaves old outputs intact.
    write_csv_atomic(args.sentences, sentences)
    write_csv_atomic(args.articles, articles)
    write_csv_atomic(args.report, report)
    dropped = int(report["count"].sum()) if len(report) else 0
    log.info(f"split {len(articles)} articles into {len(sentences)} sentences "
             f"({dropped} lines or sentences dropped or merged; see {args.report})")
    return 0
