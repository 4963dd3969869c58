"""--threads and LSTMCAST_THREADS: how many CPU threads torch computes with, and where it is recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from conftest import TINY_FLAGS

from lstmcast.cli import cli
from lstmcast.config import DEFAULT_THREADS
from lstmcast.errors import ConfigError
from lstmcast.train import use_threads


@pytest.fixture(autouse=True)
def _one_thread_after(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("LSTMCAST_THREADS", raising=False)
    yield
    torch.set_num_threads(1)  # the rest of the suite runs on one thread


def run(*args: object, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def trained_threads(model: Path) -> int:
    return json.loads((model / "manifest.json").read_text())["training"]["threads"]


def test_training_uses_one_thread_unless_told_and_records_it(tmp_path: Path, csv_file: Path) -> None:
    torch.set_num_threads(2)  # whatever torch chose on its own is not what lstmcast trains with
    assert run("train", csv_file, "-o", tmp_path / "m", *TINY_FLAGS).exit_code == 0
    assert DEFAULT_THREADS == 1 and trained_threads(tmp_path / "m") == 1


def test_threads_from_the_option_and_from_the_environment(tmp_path: Path, csv_file: Path) -> None:
    assert run("train", csv_file, "-o", tmp_path / "a", *TINY_FLAGS, "--threads", "2").exit_code == 0
    assert trained_threads(tmp_path / "a") == 2
    result = run("train", csv_file, "-o", tmp_path / "b", *TINY_FLAGS, env={"LSTMCAST_THREADS": "3"})
    assert result.exit_code == 0 and trained_threads(tmp_path / "b") == 3
    result = run("train", csv_file, "-o", tmp_path / "c", *TINY_FLAGS, "--threads", "1", env={"LSTMCAST_THREADS": "3"})
    assert result.exit_code == 0 and trained_threads(tmp_path / "c") == 1  # the option wins


COMMANDS = {
    "train": ["missing.csv", "-o", "m"],
    "tune": ["missing.csv", "-o", "m", "--grid", "hidden=2,4"],
    "backtest": ["missing.csv"],
    "evaluate": ["m", "missing.csv"],
    "predict": ["m", "missing.csv"],
    "plot": ["m", "missing.csv", "-o", "p.png"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("value", ["0", "-1", "1025", "two"])
def test_a_bad_thread_count_is_a_usage_error_before_any_work(command: str, value: str) -> None:
    result = run(command, *COMMANDS[command], "--threads", value)
    assert result.exit_code == 2 and "Invalid value for '--threads'" in result.stderr
    result = run(command, *COMMANDS[command], env={"LSTMCAST_THREADS": value})
    assert result.exit_code == 2 and "(env var: 'LSTMCAST_THREADS')" in result.stderr


def test_use_threads_checks_its_argument_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert use_threads(2) == 2 and torch.get_num_threads() == 2
    with pytest.raises(ConfigError, match="threads must be a whole number from 1 to 1024; got 0"):
        use_threads(0)
    monkeypatch.setenv("LSTMCAST_THREADS", "many")
    with pytest.raises(ConfigError, match="LSTMCAST_THREADS must be a whole number"):
        use_threads()
    monkeypatch.setenv("LSTMCAST_THREADS", "2")
    assert use_threads() == 2


def test_info_shows_the_threads_a_model_was_trained_with(tmp_path: Path, csv_file: Path) -> None:
    assert run("train", csv_file, "-o", tmp_path / "m", *TINY_FLAGS, "--threads", "2").exit_code == 0
    assert "; 2 CPU threads" in run("info", tmp_path / "m").stderr
