"""The ``stance`` command: one subcommand per pipeline stage, plus labeling and prediction.

Subcommands are loaded lazily: ``stance predict`` imports only :mod:`pipeline.predict.api`,
so it never pays for mlflow, dvc or the training code. Each command lives in the module
named in :data:`COMMANDS`, which defines ``add_<name>_arguments(parser)`` and
``run_<name>(args) -> int`` (dashes in the command name become underscores).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from pipeline import __version__
from pipeline.core.config import StanceError, resolve_path_arguments

#: command -> (module, one-line help). Order is the order shown by ``stance --help``.
COMMANDS: dict[str, tuple[str, str]] = {
    "split": ("pipeline.split.stage", "split raw articles into clean sentences (DVC stage)"),
    "dataset": ("pipeline.labels.stage", "join hand labels onto sentences, validate, write the queue (DVC stage)"),
    "train": ("pipeline.train.stage", "select and fit the TF-IDF stance classifier (DVC stage)"),
    "evaluate": ("pipeline.evaluate.stage", "grouped cross-validation, baselines, plots, MLflow run (DVC stage)"),
    "check-store": ("pipeline.tracking.store", "re-log the run, model and alias a lost MLflow store lacks (DVC stage)"),
    "promote": ("pipeline.tracking.registry", "point the MLflow alias (champion) at a model version by hand"),
    "predict": ("pipeline.predict.api", "label new sentences, files or whole articles with the saved model"),
    "serve": ("pipeline.tracking.serve", "REST on 127.0.0.1 with the model predict uses (or @champion)"),
    "analyze": ("pipeline.analyze.stage", "stance over a whole corpus by period, source and actor (local or Spark)"),
    "label": ("pipeline.labels.labeler", "label sentences interactively in the terminal (or --set one)"),
    "agreement": ("pipeline.labels.agreement", "inter-annotator agreement between two label files"),
    "review-labels": ("pipeline.evaluate.review", "rank the hand labels most worth re-reading (cleanlab, out-of-fold)"),
    "export-queue": ("pipeline.labels.labelstudio", "export unlabeled sentences as Label Studio JSON tasks"),
    "import-labels": ("pipeline.labels.labelstudio", "import a Label Studio JSON export into the labels file"),
    "export-model": ("pipeline.model.files", "write the model as a .skops file, safe to share (no code runs on load)"),
    "build-static": ("pipeline.model.build_static",
                     "distil the static embedding model from the packaged MiniLM (needs the [embeddings] extra)"),
}


def _handlers(command: str):
    module = importlib.import_module(COMMANDS[command][0])
    stem = command.replace("-", "_")
    return getattr(module, f"add_{stem}_arguments"), getattr(module, f"run_{stem}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Build the argument parser; with *only*, import and fill in just that subcommand."""
    parser = argparse.ArgumentParser(
        prog="stance",
        description="Sentence-level stance towards sanctions: split, label, train, evaluate, predict.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or only == name:
            add, run = _handlers(name)
            add(p)
            p.set_defaults(_run=run)
    return parser


class _Prefix(logging.Formatter):
    """``stance <command>: message``; a record with ``plain=True`` (via ``extra``) is printed as is."""

    def __init__(self, command: str) -> None:
        super().__init__()
        self.command = command

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        return msg if getattr(record, "plain", False) else f"stance {self.command}: {msg}"


def setup_logging(command: str) -> logging.Logger:
    """The one ``stance`` logger: INFO and up to the current stderr, each line prefixed ``stance <command>:``."""
    logger = logging.getLogger("stance")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Prefix(command))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``stance`` console script. Returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser(only=only or "__none__")
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    log = setup_logging(args.command)
    resolve_path_arguments(args)
    try:
        return int(args._run(args) or 0)
    except StanceError as exc:
        log.error("error: %s", exc)
        return 2
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except BrokenPipeError:
        # e.g. `stance predict ... | head`: the reader left; not worth a traceback.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
