"""The docs cannot drift from the CLI: every command and option is in docs/cli.md, every exit code
in docs/exit-codes.md. Reads the click objects only; nothing is trained or run."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from lstmcast.cli import cli
from lstmcast.console import ExitCode

DOCS = Path(__file__).resolve().parent.parent / "docs"
HEADING = re.compile(r"^## (.+?)\s*$", re.MULTILINE)


def sections(path: Path) -> dict[str, str]:
    """The text under each ``## `` heading, up to the next one, keyed by the heading."""
    text = path.read_text(encoding="utf-8")
    marks = list(HEADING.finditer(text))
    return {
        mark.group(1): text[mark.end() : marks[i + 1].start() if i + 1 < len(marks) else len(text)]
        for i, mark in enumerate(marks)
    }


def code_tokens(text: str) -> set[str]:
    """Every word inside inline code: `-o, --output MODEL_DIR` gives -o, --output and MODEL_DIR."""
    return {token for span in re.findall(r"`([^`\n]+)`", text) for token in re.split(r"[\s,=\[\]|]+", span) if token}


def long_flags(params: list[click.Parameter]) -> list[str]:
    return [
        opt
        for param in params
        if isinstance(param, click.Option)
        for opt in (*param.opts, *param.secondary_opts)
        if opt.startswith("--")
    ]


CLI_SECTIONS = sections(DOCS / "cli.md")
COMMANDS = sorted(cli.commands.items())


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_and_option_is_documented(name: str, command: click.Command) -> None:
    heading = f"lstmcast {name}"
    assert heading in CLI_SECTIONS, f"docs/cli.md has no '## {heading}' section"
    documented = code_tokens(CLI_SECTIONS[heading])
    missing = [flag for flag in long_flags(command.params) if flag not in documented]
    assert not missing, f"'## {heading}' in docs/cli.md does not mention, in backticks: {', '.join(missing)}"


def test_global_options_are_documented() -> None:
    documented = code_tokens(CLI_SECTIONS.get("Global options", ""))
    expected = [*long_flags(cli.params), "--help", "-h", "-V", "LSTMCAST_DEBUG"]
    missing = [flag for flag in expected if flag not in documented]
    assert not missing, f"'## Global options' in docs/cli.md does not mention, in backticks: {', '.join(missing)}"


def test_no_section_for_a_command_that_does_not_exist() -> None:
    documented = {heading.split()[1] for heading in CLI_SECTIONS if re.fullmatch(r"lstmcast \S+", heading)}
    assert documented <= set(cli.commands), f"docs/cli.md documents unknown commands: {documented - set(cli.commands)}"


EXIT_CODES = (DOCS / "exit-codes.md").read_text(encoding="utf-8")
EXIT_ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*`(\w+)`\s*\|", re.MULTILINE)  # | 3 | `DATA` | ...


@pytest.mark.parametrize("code", list(ExitCode), ids=[code.name for code in ExitCode])
def test_every_exit_code_is_documented(code: ExitCode) -> None:
    rows = dict(EXIT_ROW.findall(EXIT_CODES))
    assert str(int(code)) in rows, f"docs/exit-codes.md has no table row for exit code {int(code)}"
    assert rows[str(int(code))] == code.name, f"docs/exit-codes.md gives {int(code)} as {rows[str(int(code))]}"


def test_no_exit_code_documented_that_does_not_exist() -> None:
    documented = {int(value) for value, _ in EXIT_ROW.findall(EXIT_CODES)}
    assert documented <= {int(code) for code in ExitCode}, f"unknown codes: {documented - set(map(int, ExitCode))}"
