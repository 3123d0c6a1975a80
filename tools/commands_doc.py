"""Write docs/commands.md, the command reference, from the argument parsers of ``pipeline.cli``.

    python tools/commands_doc.py           # rewrite docs/commands.md
    python tools/commands_doc.py --check   # exit 1 and show the difference when it is stale

For every ``stance`` subcommand, in the order of ``stance --help``: its one-line help, its usage
line as argparse prints it, and a table of its arguments and options (flags, help with defaults
expanded). The output depends only on the parsers: the terminal width is fixed (``COLUMNS``) so
the usage lines wrap the same way everywhere, and no path or time goes into the page.
``tests/test_commands_doc.py`` fails when the committed page differs from what this writes.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "commands.md"
COLUMNS = "100"

HEADER = """\
# Command reference

Generated from the argument parsers of `pipeline/cli.py` by `python tools/commands_doc.py`; do
not edit by hand (`tests/test_commands_doc.py` fails when this page is stale). `stance --help`
lists the commands and `stance COMMAND --help` prints the same information in the terminal.
A path shown as `<repo>/...` is resolved under the repository root (the nearest parent with
`dvc.yaml` or `params.yaml`, or `$DVC_ROOT`), whatever the working directory.
"""


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise SystemExit("pipeline.cli.build_parser() has no subcommands")


def _flags(action: argparse.Action, formatter: argparse.HelpFormatter) -> str:
    if not action.option_strings:
        return f"`{formatter._metavar_formatter(action, action.dest)(1)[0]}`"
    if action.nargs == 0:
        return ", ".join(f"`{flag}`" for flag in action.option_strings)
    args = formatter._format_args(action, action.dest.upper())
    return ", ".join(f"`{flag} {args}`" for flag in action.option_strings)


def _cell(text: str) -> str:
    """One table cell: whitespace folded; characters Markdown would read as markup escaped."""
    text = " ".join(text.split())
    for char in "\\*<>|":
        text = text.replace(char, "\\" + char)
    return text


def _usage(parser: argparse.ArgumentParser) -> str:
    """The usage line without its ``usage: `` prefix, continuation lines shifted to match."""
    prefix = "usage: "
    lines = parser.format_usage().rstrip("\n").split("\n")
    return "\n".join([lines[0].removeprefix(prefix)] + [line[len(prefix):] for line in lines[1:]])


def _command(name: str, parser: argparse.ArgumentParser, summary: str) -> list[str]:
    formatter = parser._get_formatter()
    lines = [f"## `stance {name}`", "", f"{summary[0].upper()}{summary[1:]}.", "", "```", _usage(parser), "```", ""]
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
            continue
        help_text = formatter._expand_help(action) if action.help else ""  # %(default)s filled in
        rows.append(f"| {_flags(action, formatter)} | {_cell(help_text)} |")
    if rows:
        lines += ["| argument | meaning |", "|---|---|", *rows, ""]
    return lines


def render() -> str:
    """The whole page, as a string; the same parsers always give the same bytes."""
    from pipeline.cli import COMMANDS, build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = COLUMNS  # argparse wraps usage to the terminal width: fix it
    try:
        parser = build_parser()
        subs = _subparsers(parser)
        lines = [HEADER, "| command | what it does |", "|---|---|"]
        lines += [f"| [`stance {name}`](#stance-{name}) | {text} |" for name, (_m, text) in COMMANDS.items()]
        lines.append("")
        for name, (_module, help_text) in COMMANDS.items():
            lines += _command(name, subs[name], help_text)
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    new = render()
    old = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
    if "--check" in argv:
        if new != old:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                       "docs/commands.md", "docs/commands.md (from the parsers)"))
            return 1
        return 0
    if new != old:
        tmp = OUT.with_name(f".{OUT.name}.tmp")
        tmp.write_text(new, encoding="utf-8")
        tmp.replace(OUT)
        print("docs/commands.md: written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
