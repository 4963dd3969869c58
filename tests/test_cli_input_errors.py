"""Bad input and settings through the command line: each is one line on stderr starting with
"Error:", nothing on stdout, and the documented exit code (2 for settings, 3 for data), never the
internal error's 1."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TINY_FLAGS, sine_frame

from lstmcast.cli import cli
from lstmcast.console import ExitCode

TRAIN = ["--lookback", "24", "--horizon", "6", "--hidden", "4", "--layers", "1", "--epochs", "1", "-q"]


def run(*args: str, input: bytes | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def assert_one_error_line(result, code: int) -> str:
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


@pytest.fixture
def load_csv(tmp_path: Path) -> Path:
    """The first 400 rows of sample_data/load.csv, as in issue 12."""
    path = tmp_path / "data.csv"
    lines = (Path(__file__).parent.parent / "sample_data" / "load.csv").read_text().splitlines()
    path.write_text("\n".join(lines[:401]) + "\n")
    return path


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--seed", str(2**70), "seed must be at most 4294967295; got 1180591620717411303424"),
        ("--batch-size", str(10**23), "batch_size must be at most 2147483647; got 100000000000000000000000"),
        ("--epochs", str(10**30), "epochs must be at most 1000000; got 1000000000000000000000000000000"),
        ("--patience", "-1", "patience must be at least 1; got -1"),
        ("--hidden", "100000", "hidden must be at most 16384; got 100000"),
        ("--layers", "65", "layers must be at most 64; got 65"),
        ("--lookback", str(10**11), "lookback must be at most 10000000; got 100000000000"),
        ("--horizon", "-6", "horizon must be at least 1; got -6"),
        ("--conv-kernel", "-1", "conv_kernel must be at least 0 (0 turns the convolution off); got -1"),
        ("--lr", "1e400", "lr must be a finite number > 0; got inf"),
        ("--lr", "nan", "lr must be a finite number > 0; got nan"),
        ("--dropout", "nan", "dropout must be in [0, 1); got nan"),
        ("--input-dropout", "-0.5", "input_dropout must be in [0, 1); got -0.5"),
        ("--val-frac", "nan", "val_frac must be between 0 and 1 (exclusive); got nan"),
        ("--test-frac", "inf", "test_frac must be in [0, 1); got inf"),
        ("--min-delta", "inf", "min_delta must be a finite number >= 0; got inf"),
        ("--grad-clip", "nan", "grad_clip must be a finite number >= 0 (0 turns clipping off); got nan"),
        ("--weight-decay", "-inf", "weight_decay must be a finite number >= 0; got -inf"),
        ("--l1", "nan", "l1 must be a finite number >= 0; got nan"),
    ],
)
def test_out_of_range_numbers_are_usage_errors_before_reading_data(option: str, value: str, message: str) -> None:
    # The data file does not exist: the setting is refused before anything is read.
    result = run("train", "missing.csv", "--target", "load", "-o", "m", *TRAIN, option, value)
    assert assert_one_error_line(result, ExitCode.USAGE) == f"Error: {message}"


def test_a_huge_batch_size_within_bounds_is_one_batch(load_csv: Path, tmp_path: Path) -> None:
    result = run("train", load_csv, "--target", "load", "-o", tmp_path / "m", *TRAIN, "--batch-size", str(10**9))
    assert result.exit_code == 0, result.stderr


def test_a_season_longer_than_the_training_part_is_a_usage_error(load_csv: Path, tmp_path: Path) -> None:
    result = run("train", load_csv, "--target", "load", "-o", tmp_path / "m", *TRAIN, "--season", "5000")
    assert assert_one_error_line(result, ExitCode.USAGE) == (
        "Error: season 5000 does not fit in the training part (280 of 400 rows); "
        "pass a --season below 280, or 0 to infer it"
    )
    assert not (tmp_path / "m").exists()


def test_a_closed_standard_input_is_a_data_error(tmp_path: Path) -> None:
    # A real process: with descriptor 0 closed, Python's sys.stdin is None (`lstmcast train - <&-`).
    result = subprocess.run(
        [sys.executable, "-m", "lstmcast", "train", "-", "--target", "load", "-o", str(tmp_path / "m"), *TRAIN],
        stdin=subprocess.DEVNULL,
        preexec_fn=lambda: os.close(0),
        capture_output=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=120,
    )
    assert result.returncode == ExitCode.DATA
    assert result.stdout == b""
    assert result.stderr.decode() == "Error: <stdin>: standard input is closed; pipe the data in or give a file\n"


def test_a_repeated_column_name_on_stdin_is_a_data_error(tmp_path: Path) -> None:
    data = b"time,load,temperature,load\n2024-03-01 00:00,50.27,7.2,50\n"
    result = run("train", "-", "--target", "load", "-o", tmp_path / "m", *TRAIN, input=data)
    line = assert_one_error_line(result, ExitCode.DATA)
    assert line == "Error: <stdin>: column name 'load' appears 2 times (columns 2 and 4); rename them"


def test_a_missing_target_among_many_columns_is_one_short_line(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    header = ",".join(f"sensor_{i}" for i in range(10_000))
    path.write_text(header + "\n" + ",".join(["1"] * 10_000) + "\n")
    result = run("train", path, "--target", "sensor_x", "-o", tmp_path / "m", *TRAIN)
    line = assert_one_error_line(result, ExitCode.DATA)
    assert len(line) < 300
    assert line.endswith("sensor_8, sensor_9, ... and 9,990 more")
    assert "not found (did you mean 'sensor_" in line


def test_a_damaged_time_column_is_a_data_error_naming_it(load_csv: Path, tmp_path: Path) -> None:
    lines = load_csv.read_text().splitlines()
    # 210 of 400 timestamps unreadable: just over half, which auto-detection used to skip silently.
    damaged = [lines[0]] + [("soon" + line[16:]) if i < 210 else line for i, line in enumerate(lines[1:])]
    load_csv.write_text("\n".join(damaged) + "\n")
    result = run("train", load_csv, "--target", "load", "-o", tmp_path / "m", *TRAIN)
    line = assert_one_error_line(result, ExitCode.DATA)
    assert line.startswith(f"Error: {load_csv}: column 'time', rows 1-210: not a timestamp (e.g. 'soon'), so ")


def test_a_constant_series_trains_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "flat.csv"
    sine_frame().assign(y=5.0).to_csv(path, index=False)
    result = run("train", path, "-o", tmp_path / "m", *TINY_FLAGS, "-q")
    assert result.exit_code == 0, result.stderr
    warning = f"Warning: {path}: column 'y' is constant (every value is 5); the forecast can only repeat it\n"
    assert result.stderr == warning
