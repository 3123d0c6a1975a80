"""The `stance` command itself: help, version, usage errors, lazy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline import cli


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


def test_no_command_is_a_usage_error(capsys):
    assert cli.main([]) == 2
    assert "usage" in capsys.readouterr().err


def test_unknown_command(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["frobnicate"])
    assert exc.value.code == 2


def test_every_command_has_its_handlers():
    for name in cli.COMMANDS:
        add, run = cli._handlers(name)
        assert callable(add) and callable(run)


def test_help_imports_no_stage_module():
    code = ("import sys; from pipeline import cli\n"
            "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('pipeline.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == str(["pipeline.cli", "pipeline.core", "pipeline.core.config",
                                                "pipeline.core.data", "pipeline.core.exports"])
