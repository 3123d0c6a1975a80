"""``stance label``: an interactive terminal labeler that never loses an answer.

Keys (one key, no Enter needed on a terminal)::

    s  support      o  oppose      n  neutral
    k  skip (leave unlabeled for now)
    u  undo the last answer or skip of this session (the row is restored and saved)
    q  quit (Ctrl-D and Ctrl-C also quit; every answer is already saved)
    ?  show the key legend again, then the current sentence

When standard input is not a terminal (a pipe or a file), one answer is read per line: the
key letter, or the full word (``support``, ``oppose``, ``neutral``, ``skip``, ``undo``,
``quit``). End of input quits.

Saving: every answer takes the labels file's lock (:func:`pipeline.labels.stage.labels_lock`, so
concurrent writers never lose each other's answers), re-reads the labels file, applies that
one change (update the rows of that sentence in place, or append a new row) and rewrites the
file through :func:`pipeline.core.data.atomic_open` (temporary file, fsync, rename, fsync of the directory),
with SIGINT/SIGTERM/SIGHUP held back during the write. A crash, ``kill -9`` or Ctrl-C
therefore loses nothing already answered and never leaves a half-written file; hand edits
made to the file in another editor between two answers are kept.

Order: ``article`` (article by article, in reading order) or ``uncertainty`` (active
learning: the sentences where the saved model's top two class probabilities are closest,
i.e. smallest margin, come first). ``auto`` (the default) uses ``uncertainty`` when
``models/model.joblib`` exists. Whenever a model is loaded its guess is shown.

``stance label --set SENTENCE_ID LABEL`` sets one label non-interactively (for scripts).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import shutil
import signal
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from pipeline.core.config import StanceError, add_path_argument
from pipeline.core.data import LABELS
from pipeline.core.params import DatasetParams, load_section
from pipeline.labels.file import LabelFile, labels_lock, read_labels, restore_rows, set_label, write_labels
from pipeline.labels.stage import SentenceTable, join_labels, read_sentences
from pipeline.model.files import add_trust_argument, load_model

#: Answer keys and what they mean.
LABEL_KEYS: dict[str, str] = {"s": "support", "o": "oppose", "n": "neutral"}
SKIP, UNDO, QUIT, HELP = "k", "u", "q", "?"
#: Whole words accepted on line input, mapped to their key.
WORDS: dict[str, str] = {"support": "s", "oppose": "o", "neutral": "n", "skip": "k", "undo": "u",
                         "quit": "q", "exit": "q", "help": "?"}
LEGEND = "[s] support  [o] oppose  [n] neutral  [k] skip  [u] undo  [q] quit  [?] help"
HELP_TEXT = """keys:
  s  support      o  oppose      n  neutral
  k  skip: leave this sentence unlabeled for now
  u  undo the last answer (or skip) of this session; the old row is restored and saved
  q  quit (Ctrl-D and Ctrl-C also quit); every answer is already saved
  ?  this help
on a pipe: one key or word (support, oppose, neutral, skip, undo, quit) per line"""

assert set(LABEL_KEYS.values()) == set(LABELS)


# --------------------------------------------------------------------------------------------
# Model: guesses and uncertainty
# --------------------------------------------------------------------------------------------


def model_guesses(model, texts: list[str]) -> list[dict]:
    """Score sentences with *model*.

    Parameters
    ----------
    model : fitted scikit-learn classifier taking an iterable of str
    texts : list of str, length n

    Returns
    -------
    list of dict, length n
        ``{"label": str, "confidence": float, "margin": float, "kind": "p" | "score"}`` where
        *confidence* is the top class probability (or decision score) and *margin* the gap
        between the top two; a small margin means an uncertain model.
    """
    if not texts:
        return []
    import numpy as np

    classes = [str(c) for c in model.classes_]
    try:
        if hasattr(model, "predict_proba"):
            scores = np.asarray(model.predict_proba(texts), dtype=float)
            kind = "p"
        else:
            scores = np.asarray(model.decision_function(texts), dtype=float)
            kind = "score"
    except Exception as exc:  # noqa: BLE001
        raise StanceError(f"the model failed to score sentences ({type(exc).__name__}: {exc})") from None
    if scores.ndim == 1:  # binary decision_function: distance from the boundary
        return [{"label": classes[int(s > 0)], "confidence": float(abs(s)), "margin": float(abs(s)),
                 "kind": kind} for s in scores]
    out = []
    for row in scores:
        order = np.argsort(-row, kind="stable")
        top = float(row[order[0]])
        second = float(row[order[1]]) if len(order) > 1 else float("-inf")
        out.append({"label": classes[int(order[0])], "confidence": top, "margin": top - second, "kind": kind})
    return out


def build_queue(sentences: SentenceTable, labeled: set[str] | dict, article: str | None = None,
                order: str = "article", model=None) -> tuple[list[str], dict[str, dict]]:
    """Unlabeled sentence ids in the order they are offered, with the model's guesses.

    Parameters
    ----------
    sentences : SentenceTable
    labeled : set or dict of sentence_id
        Sentences that already have a label.
    article : str or None
        Only this article.
    order : {"article", "uncertainty"}
        ``uncertainty`` needs *model*: smallest margin between the top two classes first
        (ties in reading order).
    model : fitted classifier or None

    Returns
    -------
    ids : list of str
    guesses : dict of str -> dict
        See :func:`model_guesses`; empty without a model.
    """
    rows = [r for r in sentences.rows if r["sentence_id"] not in labeled
            and (article is None or r["article_id"] == article)]
    ids = [r["sentence_id"] for r in rows]
    guesses: dict[str, dict] = {}
    if model is not None:
        guesses = dict(zip(ids, model_guesses(model, [r["text"] for r in rows])))
    if order == "uncertainty":
        if model is None:
            raise StanceError("--order uncertainty needs a trained model (see --model)")
        rank = {sid: i for i, sid in enumerate(ids)}
        ids = sorted(ids, key=lambda sid: (round(guesses[sid]["margin"], 12), rank[sid]))
    elif order != "article":
        raise StanceError(f"unknown order {order!r} (expected article or uncertainty)")
    return ids, guesses


# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------

@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold back SIGINT, SIGTERM and SIGHUP while the block runs (delivered right after)."""
    sigs = {signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)}
    if hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread():
        old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
    else:  # pragma: no cover - non-POSIX
        yield


def save_label(labels_path: str | os.PathLike, sentence_id: str, label: str, text: str,
               note: str | None = None) -> list[dict[str, str]]:
    """Set one label in the labels file on disk, atomically; return the old rows (for undo).

    The file is re-read first, so concurrent hand edits are kept; it is created (with the
    header ``sentence_id,label,text,note``) when missing.
    """
    with labels_lock(labels_path), signals_deferred():
        label_file = read_labels(labels_path, missing_ok=True)
        before = set_label(label_file, sentence_id, label, text=text, note=note)
        write_labels(labels_path, label_file)
    return before


def restore_label(labels_path: str | os.PathLike, sentence_id: str, before: list[dict[str, str]]) -> None:
    """Undo :func:`save_label` on disk: restore the old rows, or drop the appended one."""
    with labels_lock(labels_path), signals_deferred():
        label_file = read_labels(labels_path, missing_ok=True)
        restore_rows(label_file, sentence_id, before)
        write_labels(labels_path, label_file)


# --------------------------------------------------------------------------------------------
# Key input
# --------------------------------------------------------------------------------------------

class KeyReader:
    """Read answers: single keys from a terminal (cbreak mode), else one line at a time.

    Use as a context manager; the terminal settings are restored on exit, also after an
    exception or Ctrl-C. :meth:`read` returns a key (``"s"``, ``"q"``, ...), ``""`` for
    input to ignore, any other string for an unknown key, or ``None`` at end of input.
    """

    def __init__(self, stream: IO[str] | None = None):
        self.stream = stream if stream is not None else sys.stdin
        try:
            self.fd = self.stream.fileno()
            self.raw = os.isatty(self.fd)
        except (AttributeError, OSError, ValueError):
            self.fd, self.raw = -1, False
        self._saved = None

    def __enter__(self) -> KeyReader:
        if self.raw:
            import termios
            import tty

            self._saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)  # one key at a time, no echo; Ctrl-C still raises KeyboardInterrupt
        return self

    def __exit__(self, *exc) -> None:
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            self._saved = None

    def read(self) -> str | None:
        if self.raw:
            data = os.read(self.fd, 1)
            if not data or data == b"\x04":  # EOF or Ctrl-D
                return None
            if data == b"\x1b":  # escape sequence (arrow keys ...): swallow the rest
                while select.select([self.fd], [], [], 0.02)[0]:
                    if not os.read(self.fd, 16):
                        break
                return "escape"
            if data in (b"\r", b"\n", b" "):
                return ""
            return data.decode("utf-8", "replace").lower()
        line = self.stream.readline()
        if line == "":
            return None
        token = line.strip().lower()
        return WORDS.get(token, token)


# --------------------------------------------------------------------------------------------
# The session
# --------------------------------------------------------------------------------------------

def _wrap(text: str, prefix: str, width: int) -> str:
    return textwrap.fill(" ".join(text.split()), width=max(40, width), initial_indent=prefix,
                         subsequent_indent=" " * len(prefix))


def format_item(sentences: SentenceTable, sentence_id: str, index: int, total: int,
                guess: dict | None, width: int = 100) -> str:
    """Text shown for one sentence: progress, article, context before/after, model guess."""
    row = sentences.get(sentence_id)
    before, after = sentences.neighbours(sentence_id)
    head = f"--- {index} of {total} --- article {row['article_id']}, position {row['position']}, id {sentence_id}"
    parts = ["", head]
    parts.append(_wrap(before["text"], "    before: ", width) if before else "    before: (start of article)")
    parts.append(_wrap(row["text"], ">>> ", width))
    parts.append(_wrap(after["text"], "    after:  ", width) if after else "    after:  (end of article)")
    if guess:
        what = "p" if guess["kind"] == "p" else "score"
        parts.append(f"    model guess: {guess['label']} ({what}={guess['confidence']:.2f}, "
                     f"margin {guess['margin']:.2f})")
    parts.append(LEGEND)
    return "\n".join(parts)


def run_session(sentences: SentenceTable, labels_path: str | os.PathLike, queue: list[str],
                guesses: dict[str, dict], keys: KeyReader, out: IO[str]) -> dict:
    """Label the sentences in *queue* one by one; every answer is saved before the next.

    Parameters
    ----------
    sentences : SentenceTable
    labels_path : path of the labels CSV (created when missing)
    queue : list of str
        Sentence ids in the order to offer them.
    guesses : dict of sentence_id -> guess dict (may be empty)
    keys : KeyReader (entered)
    out : text stream for the display

    Returns
    -------
    dict
        ``{"labeled": int, "skipped": int, "undone": int}`` for this session.
    """
    width = shutil.get_terminal_size((100, 24)).columns - 1
    history: list[tuple[int, str, list | None]] = []  # (index, sentence_id, old rows or None for a skip)
    stats = {"labeled": 0, "skipped": 0, "undone": 0}
    total = len(queue)

    def say(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    i = 0
    show = True
    while True:
        if i >= total:
            if show:
                say(f"\nNo more sentences in this queue ({total}). [u] undo  [q] quit")
                show = False
        elif show:
            sid = queue[i]
            say(format_item(sentences, sid, i + 1, total, guesses.get(sid), width))
            show = False
        out.write("> ")
        out.flush()
        key = keys.read()
        if key:
            out.write(key + "\n")  # cbreak mode does not echo; on a pipe this keeps a readable log
        if key is None or key == QUIT:
            say("")
            break
        if key == "":
            continue
        if key == HELP:
            say(HELP_TEXT)
            show = True  # then the current sentence again, so the answer that follows has its context
            continue
        if key == UNDO:
            j = _undo(history, labels_path, stats, say)
            if j is not None:
                i, show = j, True
            continue
        if i >= total:
            say("the queue is finished: [u] undo or [q] quit")
            continue
        if key == SKIP or key in LABEL_KEYS:
            _answer(key, i, queue[i], sentences, labels_path, history, stats, say)
            i, show = i + 1, True
            continue
        say(f"unknown key {key!r}; {LEGEND}")
    return stats


def _undo(history: list, labels_path, stats: dict, say) -> int | None:
    """Undo the last answer or skip of the session; return the queue index to go back to."""
    if not history:
        say("nothing to undo in this session")
        return None
    j, sid, before = history.pop()
    if before is None:
        stats["skipped"] -= 1
        say(f"undo: back to skipped sentence {sid}")
    else:
        restore_label(labels_path, sid, before)
        stats["labeled"] -= 1
        stats["undone"] += 1
        old = before[0]["label"].strip() if before else ""
        say(f"undo: {sid} " + (f"restored to {old!r}" if old else "is unlabeled again") + " (saved)")
    return j


def _answer(key: str, i: int, sid: str, sentences: SentenceTable, labels_path, history: list, stats: dict,
            say) -> None:
    """Record a skip, or save a label at once (atomic rewrite of the labels file)."""
    if key == SKIP:
        history.append((i, sid, None))
        stats["skipped"] += 1
        say("skipped")
        return
    label = LABEL_KEYS[key]
    before = save_label(labels_path, sid, label, sentences.get(sid)["text"])
    history.append((i, sid, before))
    stats["labeled"] += 1
    say(f"saved: {label}")


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------

def add_label_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``stance label``."""
    parser.description = (
        "Label sentences one key at a time: s=support o=oppose n=neutral k=skip u=undo q=quit ?=help. "
        "Every answer is saved at once (atomic rewrite of the labels file). On a pipe, one key or "
        "word per line.")
    add_path_argument(parser, "--sentences", "sentences", "sentences CSV")
    add_path_argument(parser, "--labels", "labels", "labels CSV to update")
    add_path_argument(parser, "--model", "model", "model for guesses and uncertainty order", if_exists=True)
    parser.add_argument("--no-model", action="store_true", help="do not load any model")
    parser.add_argument("--article", default=None, help="only sentences of this article_id")
    parser.add_argument("--order", choices=("auto", "article", "uncertainty"), default="auto",
                        help="article: reading order; uncertainty: most uncertain first (needs a model); "
                             "auto: uncertainty when a model exists (default)")
    add_path_argument(parser, "--params", "params", "parameters file, for dataset.reattach_by_text")
    parser.add_argument("--set", nargs=2, metavar=("SENTENCE_ID", "LABEL"), default=None,
                        help="set one label without the interactive session")
    parser.add_argument("--note", default=None, help="with --set: note to store with the label")
    add_trust_argument(parser)


def _reattach_setting(params_path: str) -> bool:
    """``dataset.reattach_by_text`` (validated like ``stance dataset`` does); default when no params file."""
    if not Path(params_path).is_file():
        return DatasetParams().reattach_by_text
    return load_section("dataset", params_path).reattach_by_text


def _run_set(args: argparse.Namespace) -> int:
    sid, label = args.set[0].strip(), args.set[1].strip()
    if label not in LABELS:
        raise StanceError(f"unknown label {args.set[1]!r} (expected one of: {', '.join(LABELS)})")
    sentences = read_sentences(args.sentences)
    row = sentences.get(sid)
    if row is None:
        raise StanceError(f"{args.sentences}: no sentence with sentence_id {sid!r}")
    before = save_label(args.labels, sid, label, row["text"], note=args.note)
    old = before[0]["label"].strip() if before else ""
    what = "new row" if not before else (f"was {old!r}" if old else "was unlabeled")
    print(f"{args.labels}: {sid} = {label} ({what})")
    return 0


def run_label(args: argparse.Namespace) -> int:
    """Run ``stance label`` (interactive session, or ``--set``)."""
    if args.set:
        return _run_set(args)
    if args.note is not None:
        raise StanceError("--note only goes with --set")
    sentences = read_sentences(args.sentences)
    if args.article is not None and not any(r["article_id"] == args.article for r in sentences.rows):
        raise StanceError(f"{args.sentences}: no article with article_id {args.article!r}")
    label_file: LabelFile = read_labels(args.labels, missing_ok=True)
    joined = join_labels(sentences, label_file, _reattach_setting(args.params))

    model = None
    if not args.no_model:
        if args.model is not None:
            model = load_model(args.model, trust=args.trust_model, scores="any")
    if args.order == "uncertainty" and model is None:
        raise StanceError("--order uncertainty needs a model: train one or pass --model PATH")
    order = args.order if args.order != "auto" else ("uncertainty" if model is not None else "article")
    queue, guesses = build_queue(sentences, joined.labels, args.article, order, model)

    scope = f"article {args.article}" if args.article else "all articles"
    print(f"{len(joined.labels)} of {len(sentences)} sentences labeled; {len(queue)} unlabeled in {scope}; "
          f"order: {order}" + (" (smallest model margin first)" if order == "uncertainty" else ""))
    if not queue:
        print("nothing to label here")
        return 0
    print(f"answers are saved to {args.labels} as you go")
    with KeyReader(sys.stdin) as keys:
        stats = run_session(sentences, args.labels, queue, guesses, keys, sys.stdout)
    print(f"session: {stats['labeled']} labeled, {stats['skipped']} skipped"
          + (f", {stats['undone']} undone" if stats["undone"] else "")
          + f"; saved in {args.labels}")
    return 0
