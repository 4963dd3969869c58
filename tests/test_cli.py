"""The command line through click's CliRunner: stdout carries data only, errors are one line on
stderr with a meaningful exit code, and a failed run writes nothing."""

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import TINY, TINY_FLAGS, sine_frame

from lstmcast import __version__
from lstmcast.cli import cli
from lstmcast.console import ExitCode, epoch_progress, make_console
from lstmcast.train import EpochReport

POINT_KEYS = {"mse", "rmse", "mae", "mse_scaled", "mae_scaled"}
EVENT_KEYS = {"precision", "recall", "f1", "tp", "fp", "fn", "tn"}


def run(*args: str, input: bytes | str | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A model trained through the CLI, and the CSV it was trained on."""
    root = tmp_path_factory.mktemp("cli")
    data = root / "series.csv"
    sine_frame().to_csv(data, index=False)
    result = run("train", data, "-o", root / "model", *TINY_FLAGS)
    assert result.exit_code == 0, result.stderr
    return root / "model", data


def test_train_writes_the_model_dir_and_keeps_stdout_empty(trained: tuple[Path, Path], tmp_path: Path) -> None:
    model, data = trained
    assert sorted(p.name for p in model.iterdir()) == ["manifest.json", "metrics.json", "weights.safetensors"]
    result = run("train", data, "-o", tmp_path / "m", *TINY_FLAGS)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "Saved model to" in result.stderr and "Held-out test metrics" in result.stderr
    assert "naive" in result.stderr and "seasonal naive (24)" in result.stderr


def test_train_json_prints_the_metrics_contract(tmp_path: Path, csv_file: Path) -> None:
    result = run("train", csv_file, "-o", tmp_path / "m", "--json", "--quiet", *TINY_FLAGS)
    assert result.exit_code == 0 and result.stderr == ""
    metrics = json.loads(result.stdout)
    assert POINT_KEYS | {"n_origins", "baselines"} <= metrics.keys()
    for name in ("naive", "seasonal_naive"):
        assert POINT_KEYS | {"skill"} <= metrics["baselines"][name].keys()
    assert metrics == json.loads((tmp_path / "m" / "metrics.json").read_text())


def test_predict_writes_clean_csv_to_stdout(trained: tuple[Path, Path]) -> None:
    model, data = trained
    result = run("predict", model, data)
    assert result.exit_code == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "time,step,y"
    assert len(lines) == 1 + TINY["horizon"]
    assert lines[1].startswith("2024-01-13 12:00:00,1,")


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_predict_device_is_deprecated_and_says_so(trained: tuple[Path, Path], device: str) -> None:
    """predict forecasts in numpy on the CPU; --device is still accepted so scripts keep working."""
    model, data = trained
    result = run("predict", model, data, "--device", device)
    assert result.exit_code == 0
    assert result.stderr == (
        "Warning: --device is deprecated and has no effect here: the forecast runs in numpy on the CPU\n"
    )
    assert result.stdout == run("predict", model, data).stdout


def test_stdin_and_a_file_give_the_same_forecast(trained: tuple[Path, Path]) -> None:
    model, data = trained
    from_file = run("predict", model, data, "-o", "-")
    from_stdin = run("predict", model, "-", input=data.read_bytes())
    assert from_stdin.exit_code == 0
    assert from_stdin.stdout == from_file.stdout


@pytest.mark.parametrize(("name", "flags"), [("f.parquet", []), ("f.json", []), ("f.out", ["--format", "csv"])])
def test_predict_writes_files_in_the_format_asked(trained, tmp_path: Path, name: str, flags: list[str]) -> None:
    model, data = trained
    out = tmp_path / name
    result = run("predict", model, data, "-o", out, *flags)
    assert result.exit_code == 0 and result.stdout == ""
    if name.endswith(".parquet"):
        table = pd.read_parquet(out)
    elif name.endswith(".json"):
        table = pd.DataFrame(json.loads(out.read_text()))
    else:
        table = pd.read_csv(out)
    assert list(table.columns) == ["time", "step", "y"] and len(table) == TINY["horizon"]


def test_a_one_step_hourly_forecast_at_midnight_is_written_with_its_time_in_every_format(tmp_path: Path) -> None:
    """An hourly model's one forecast step at 00:00 was written to CSV as a bare date, whichever path
    wrote it; Parquet and JSON kept their times, and still do."""
    data = tmp_path / "series.csv"
    sine_frame(n=288).to_csv(data, index=False)  # the last row is at 23:00
    sine_frame(n=288).to_parquet(tmp_path / "series.parquet", index=False)
    assert run("train", data, "-o", tmp_path / "m", *TINY_FLAGS, "--horizon=1", "-q").exit_code == 0
    fast = run("predict", tmp_path / "m", data)  # a clean CSV: the standard-library path
    slow = run("predict", tmp_path / "m", tmp_path / "series.parquet")  # Parquet in: the pandas path
    assert fast.exit_code == 0 and fast.stdout.splitlines()[1].startswith("2024-01-13 00:00:00,1,")
    assert slow.stdout == fast.stdout
    assert run("predict", tmp_path / "m", data, "-o", tmp_path / "f.parquet").exit_code == 0
    assert pd.read_parquet(tmp_path / "f.parquet")["time"].tolist() == [pd.Timestamp("2024-01-13 00:00")]
    assert run("predict", tmp_path / "m", data, "-o", tmp_path / "f.json").exit_code == 0
    assert json.loads((tmp_path / "f.json").read_text())[0]["time"] == "2024-01-13T00:00:00.000"


def test_a_json_table_keeps_every_digit_of_its_floats_as_the_csv_does(tmp_path: Path) -> None:
    """pandas' to_json rounds to 10 decimal places; a table in JSON says what the CSV says."""
    from lstmcast import write_table

    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(["2024-01-01 00:00"]),
            "val_mse": [0.1 + 0.2],
            "small": [1.2345678901234e-05],
            "f32": np.float32([56.17]),
            "gap": [np.nan],
        }
    )
    write_table(frame, tmp_path / "t.csv")
    write_table(frame, tmp_path / "t.json")
    assert (tmp_path / "t.csv").read_text().splitlines()[
        1
    ] == "2024-01-01,0.30000000000000004,1.2345678901234e-05,56.17,"
    assert (tmp_path / "t.json").read_text() == (
        '[\n  {\n    "time":"2024-01-01T00:00:00.000",\n    "val_mse":0.30000000000000004,\n'
        '    "small":1.2345678901234e-05,\n    "f32":56.17,\n    "gap":null\n  }\n]\n'
    )


def test_evaluate_reports_threshold_events_as_json(trained: tuple[Path, Path], tmp_path: Path) -> None:
    model, data = trained
    tail = tmp_path / "new.csv"
    pd.read_csv(data).tail(80).to_csv(tail, index=False)
    result = run("evaluate", model, tail, "--threshold", "12", "--json", "-o", tmp_path / "metrics.json")
    assert result.exit_code == 0
    metrics = json.loads(result.stdout)
    assert POINT_KEYS | EVENT_KEYS | {"n_origins", "baselines"} <= metrics.keys()
    assert metrics["n_origins"] == 80 - 24 - 4 + 1  # origins from max(lookback, season 24) on
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    assert "Threshold events, step by step (value > 12)" in result.stderr
    assert "Threshold events as events" in result.stderr


def test_evaluate_stride_and_below_events(trained: tuple[Path, Path]) -> None:
    model, data = trained
    result = run("evaluate", model, data, "--stride", "10", "--threshold", "8", "--event", "below", "--json", "-q")
    assert result.exit_code == 0
    metrics = json.loads(result.stdout)
    assert metrics["event"] == "below" and metrics["n_origins"] == len(range(24, 300 - 4 + 1, 10))
    assert result.stderr.startswith("Warning: ") and "those scores are optimistic" in result.stderr


def test_info_describes_the_model(trained: tuple[Path, Path]) -> None:
    model, _ = trained
    result = run("info", model)
    assert result.exit_code == 0 and result.stdout == ""
    assert "lstm: 1 layer(s) x 4 hidden" in result.stderr and "lookback / horizon  12 / 4" in result.stderr
    manifest = json.loads(run("info", model, "--json").stdout)
    assert manifest["columns"]["target"] == "y"


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0 and result.stdout == f"lstmcast, version {__version__}\n"


BAD_INPUTS = {
    "missing.csv": (None, "no such file"),
    "empty.csv": ("", "the file is empty"),
    "nonnumeric.csv": ("time,y\n2024-01-01 00:00,1\n2024-01-01 01:00,abc\n", "column 'y', row 2: not a number"),
    "badtime.csv": (
        "time,y\n2024-01-01 00:00,1\nnot-a-date,2\n2024-01-01 02:00,3\n",
        "column 'time', row 2: not a timestamp",
    ),
    "dupes.csv": (
        "time,y\n2024-01-01 00:00,1\n2024-01-01 00:00,2\n2024-01-01 02:00,3\n",
        "column 'time', rows 1-2: duplicate timestamp",
    ),
    "short.csv": (
        "time,y\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n2024-01-01 02:00,3\n",
        "3 rows are too few for lookback 12 + horizon 4",
    ),
    "gaps.csv": (
        "time,y\n2024-01-01 00:00,1\n2024-01-01 01:00,\n2024-01-01 02:00,3\n",
        "column 'y', row 2: missing value; pass --fill",
    ),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_is_one_line_exit_3_and_writes_nothing(tmp_path: Path, name: str) -> None:
    content, message = BAD_INPUTS[name]
    data = tmp_path / name
    if content is not None:
        data.write_text(content)
    result = run("train", data, "-o", tmp_path / "model", *TINY_FLAGS)
    assert result.exit_code == ExitCode.DATA
    assert result.stderr.startswith(f"Error: {data}: {message}")
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""
    assert not (tmp_path / "model").exists()


def test_unknown_target_lists_the_columns(tmp_path: Path, csv_file: Path) -> None:
    result = run("train", csv_file, "--target", "load", "-o", tmp_path / "m", *TINY_FLAGS)
    assert result.exit_code == ExitCode.DATA
    assert result.stderr == f"Error: {csv_file}: target column 'load' not found; columns are: time, y\n"


def test_fill_repairs_gaps_and_says_so(tmp_path: Path) -> None:
    frame = sine_frame()
    frame.loc[[5, 6, 40], "y"] = None
    frame.to_csv(tmp_path / "gaps.csv", index=False)
    result = run("train", tmp_path / "gaps.csv", "-o", tmp_path / "m", "--fill", "interpolate", "-q", *TINY_FLAGS)
    assert result.exit_code == 0
    assert result.stderr == f"Warning: {tmp_path / 'gaps.csv'}: filled 3 rows with missing values (interpolate)\n"


def test_a_failed_train_leaves_the_previous_model_untouched(trained: tuple[Path, Path], tmp_path: Path) -> None:
    model, _ = trained
    before = {p.name: p.read_bytes() for p in model.iterdir()}
    (tmp_path / "bad.csv").write_text("time,y\n2024-01-01,x\n")
    result = run("train", tmp_path / "bad.csv", "-o", model, *TINY_FLAGS)
    assert result.exit_code == ExitCode.DATA
    assert {p.name: p.read_bytes() for p in model.iterdir()} == before


def test_a_failed_predict_leaves_the_previous_forecast_untouched(trained, tmp_path: Path) -> None:
    model, _ = trained
    out = tmp_path / "forecast.csv"
    out.write_text("yesterday's forecast\n")
    (tmp_path / "bad.csv").write_text("time,y\n2024-01-01,1\n")
    result = run("predict", model, tmp_path / "bad.csv", "-o", out)
    assert result.exit_code == ExitCode.DATA
    assert "1 rows are too few to forecast" in result.stderr
    assert out.read_text() == "yesterday's forecast\n"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--lookback", "0"], ExitCode.USAGE, "Error: lookback must be at least 1; got 0\n"),
        (["--device", "tpu"], ExitCode.USAGE, "Error: device must be auto, cpu, cuda or cuda:N; got 'tpu'\n"),
    ],
)
def test_settings_out_of_range_are_usage_errors(csv_file: Path, tmp_path: Path, args, code, message) -> None:
    result = run("train", csv_file, "-o", tmp_path / "m", *args)
    assert result.exit_code == code
    assert result.stderr == message


def test_an_unknown_option_is_a_click_usage_error(csv_file: Path) -> None:
    result = run("train", csv_file, "-o", "m", "--lookbak", "3")
    assert result.exit_code == ExitCode.USAGE
    assert "No such option '--lookbak'. Did you mean '--lookback'?" in result.stderr


def test_a_missing_model_is_exit_4(csv_file: Path, tmp_path: Path) -> None:
    result = run("predict", tmp_path / "nope", csv_file)
    assert result.exit_code == ExitCode.MODEL
    assert result.stderr == f"Error: {tmp_path / 'nope'}: no such model directory\n"


def test_refusing_to_replace_a_non_model_dir_is_exit_5_before_training(csv_file: Path, tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "keep.txt").write_text("mine")
    result = run("train", csv_file, "-o", tmp_path / "docs", *TINY_FLAGS)
    assert result.exit_code == ExitCode.OUTPUT
    assert "exists and is not an lstmcast model directory; refusing to replace it" in result.stderr
    assert (tmp_path / "docs" / "keep.txt").read_text() == "mine"


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = run("--debug", "train", tmp_path / "missing.csv", "-o", tmp_path / "m")
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "DataError"


def test_progress_shows_loss_best_and_patience_on_a_terminal() -> None:
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120, no_color=True)
    with epoch_progress(console, True, epochs=5) as on_epoch:
        on_epoch(EpochReport(1, 5, 0.5, 0.25, 0.25, 1, 10, 0.1))
    text = buffer.getvalue()
    assert "epoch" in text and "1/5" in text and "0.2500 @1" in text and "patience 10" in text


def test_no_progress_when_stderr_is_not_a_terminal() -> None:
    from lstmcast.console import live_display_allowed

    assert not live_display_allowed(make_console(), quiet=False)


def test_ctrl_c_during_training_exits_130_and_writes_nothing(
    csv_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(self, frame, on_epoch=None, **options):
        raise KeyboardInterrupt

    monkeypatch.setattr("lstmcast.forecast.Forecaster.fit", interrupted)
    result = run("train", csv_file, "-o", tmp_path / "m", *TINY_FLAGS)
    assert result.exit_code == ExitCode.INTERRUPTED == 130
    assert result.stderr == "Error: interrupted; nothing was written\n"
    assert not (tmp_path / "m").exists()


def test_train_reads_csv_from_stdin(tmp_path: Path, csv_file: Path) -> None:
    result = run("train", "-", "-o", tmp_path / "m", "--quiet", *TINY_FLAGS, input=csv_file.read_bytes())
    assert result.exit_code == 0
    assert json.loads((tmp_path / "m" / "manifest.json").read_text())["training"]["source"] == "<stdin>"


def test_output_problems_are_found_before_any_work(trained: tuple[Path, Path], tmp_path: Path) -> None:
    model, data = trained
    result = run("evaluate", model, data, "-o", tmp_path / "nodir" / "m.json")
    assert result.exit_code == ExitCode.OUTPUT
    assert result.stderr == f"Error: {tmp_path / 'nodir' / 'm.json'}: the folder {tmp_path / 'nodir'} does not exist\n"
    result = run("predict", model, data, "-o", tmp_path)
    assert result.exit_code == ExitCode.OUTPUT and "is a directory; give a file name" in result.stderr


def test_a_multi_line_library_message_is_printed_on_one_line(tmp_path: Path, csv_file: Path) -> None:
    import io as _io

    from rich.console import Console

    from lstmcast.console import print_error

    buffer = _io.StringIO()
    print_error(Console(file=buffer, width=80, no_color=True), "first\nsecond  line")
    assert buffer.getvalue() == "Error: first second line\n"


def test_a_column_and_a_folder_named_like_markup_are_printed_literally(tmp_path: Path) -> None:
    """A header `[/bold]` used to train and then crash `info` with rich's MarkupError; `models[v2]` was shown
    as `models`."""
    data = tmp_path / "[b]load.csv"
    sine_frame().rename(columns={"y": "[/bold]"}).to_csv(data, index=False)
    model = tmp_path / "models[v2]"
    result = run("train", data, "--target", "[/bold]", "-o", model, *TINY_FLAGS)
    assert result.exit_code == 0, result.stderr
    assert f"Saved model to {model} (" in result.stderr
    result = run("info", model)
    assert result.exit_code == 0, result.stderr
    assert "target              [/bold]" in result.stderr
    assert f"trained on          {data}: 300 rows" in result.stderr


# -- predict reads the end of DATA that the lookback needs ------------------------------------------


@pytest.fixture(scope="module")
def long_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The training series continued to 5,000 rows."""
    path = tmp_path_factory.mktemp("long") / "long.csv"
    sine_frame(n=5000).to_csv(path, index=False)
    return path


def test_predict_on_the_end_of_a_long_file_equals_the_forecast_from_all_of_it(trained, long_csv: Path) -> None:
    from lstmcast import Forecaster, read_table

    model, _ = trained
    result = run("predict", model, long_csv)
    assert result.exit_code == 0 and result.stderr == ""
    expected = Forecaster.load(model).predict(read_table(long_csv))
    assert result.stdout == expected.to_csv(index=False)


def test_predict_checks_the_rows_it_reads_and_names_them_as_the_file_does(trained, long_csv, tmp_path) -> None:
    model, _ = trained
    lines = long_csv.read_text().splitlines()
    early, late = list(lines), list(lines)
    early[10] = early[10].rsplit(",", 1)[0] + ",oops"  # data row 10, long before the lookback
    late[-3] = late[-3].rsplit(",", 1)[0] + ",oops"  # data row 4998, inside it
    (tmp_path / "early.csv").write_text("\n".join(early) + "\n")
    (tmp_path / "late.csv").write_text("\n".join(late) + "\n")
    assert run("predict", model, tmp_path / "early.csv").exit_code == 0
    result = run("predict", model, tmp_path / "late.csv")
    assert result.exit_code == ExitCode.DATA
    assert result.stderr == f"Error: {tmp_path / 'late.csv'}: column 'y', row 4998: not a number (e.g. 'oops')\n"


def test_a_line_the_parser_rejects_near_the_end_is_named_as_the_file_numbers_it(trained, long_csv, tmp_path) -> None:
    """The CSV parser counts lines from where predict cut the file: the whole read names the right one."""
    model, _ = trained
    lines = long_csv.read_text().splitlines()
    lines[-3] += ",extra"  # line 4999 of the file (the header is line 1) has a field too many
    (tmp_path / "ragged.csv").write_text("\n".join(lines) + "\n")
    for source, name in ((tmp_path / "ragged.csv", tmp_path / "ragged.csv"), ("-", "<stdin>")):
        result = run("predict", model, source, input=(tmp_path / "ragged.csv").read_bytes())
        assert result.exit_code == ExitCode.DATA
        assert result.stderr == (
            f"Error: {name}: not a readable CSV table (Error tokenizing data. C error: Expected 2 fields in line "
            "4999, saw 3)\n"
        )


@pytest.mark.parametrize(
    ("rename", "flags"), [({"y": "step"}, []), ({"time": "step"}, []), ({"y": "alert"}, ["--threshold", "10"])]
)
def test_a_column_named_like_a_column_of_the_forecast_is_refused_before_training(
    tmp_path: Path, rename: dict, flags: list[str]
) -> None:
    """The forecast table has step (and alert) columns: a target or time column of that name would
    be replaced there, so training refuses it, before any work, naming the column."""
    sine_frame().rename(columns=rename).to_csv(tmp_path / "s.csv", index=False)
    target = "--target=" + rename.get("y", "y")
    result = run("train", tmp_path / "s.csv", target, "-o", tmp_path / "m", *TINY_FLAGS, *flags)
    assert result.exit_code == ExitCode.DATA
    name = next(iter(rename.values()))
    assert f"is named {name!r}, as a column of the forecast table is" in result.stderr
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("output", ["-", "forecast.parquet"], ids=["fast path", "pandas path"])
def test_a_file_whose_end_is_in_order_but_not_its_whole_is_read_whole(trained, tmp_path: Path, output: str) -> None:
    """Its halves swapped, the file ends with rows in order that are not its latest: predict must not
    forecast from them (it would forecast a period the file already holds)."""
    model, data = trained
    rows = data.read_text().splitlines()
    header, body = rows[0], rows[1:]
    (tmp_path / "swapped.csv").write_text("\n".join([header, *body[150:], *body[:150]]) + "\n")
    result = run("predict", model, tmp_path / "swapped.csv", "-o", output if output == "-" else tmp_path / output)
    assert result.exit_code == 0
    assert "timestamps were not in order; sorted them" in result.stderr
    forecast = pd.read_csv(io.StringIO(result.stdout)) if output == "-" else pd.read_parquet(tmp_path / output)
    assert str(forecast["time"].iloc[0]) == "2024-01-13 12:00:00"  # after the latest row, as before


def test_calendar_steps_are_told_from_more_rows_than_a_short_lookback(tmp_path: Path) -> None:
    """Five business days, Monday to Friday, look daily; predict reads enough rows to see weekends."""
    days = pd.bdate_range(end="2024-06-07", periods=300)  # ends on a Friday
    frame = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "y": 10 + np.sin(np.arange(300) * 1.25)})
    frame.to_csv(tmp_path / "bday.csv", index=False)
    flags = [
        "--epochs",
        "1",
        "--hidden",
        "4",
        "--ensemble",
        "1",
        "--lookback",
        "5",
        "--horizon",
        "3",
        "--device",
        "cpu",
    ]
    assert run("train", tmp_path / "bday.csv", "-o", tmp_path / "m", "--quiet", *flags).exit_code == 0
    result = run("predict", tmp_path / "m", tmp_path / "bday.csv")
    assert result.exit_code == 0 and result.stderr == ""
    assert [line.split(",")[0] for line in result.stdout.splitlines()[1:]] == ["2024-06-10", "2024-06-11", "2024-06-12"]


def test_tune_refuses_a_target_named_step_at_once_and_backtest_takes_it(tmp_path: Path) -> None:
    sine_frame().rename(columns={"y": "step"}).to_csv(tmp_path / "s.csv", index=False)
    tuned = run(
        "tune", tmp_path / "s.csv", "--target", "step", "--grid", "hidden=4,8", "-o", tmp_path / "m", *TINY_FLAGS
    )
    assert tuned.exit_code == ExitCode.DATA and "as a column of the forecast table is" in tuned.stderr
    tested = run("backtest", tmp_path / "s.csv", "--target", "step", "--folds", "2", "--quiet", *TINY_FLAGS)
    assert tested.exit_code == 0, tested.stderr


@pytest.mark.parametrize("data_exists", [True, False], ids=["data", "missing data"])
def test_shard_needs_a_model_of_many_series(trained, tmp_path: Path, data_exists: bool) -> None:
    """Decided by the model alone, so before DATA is read: a missing file does not change the answer."""
    model, data = trained
    result = run("predict", model, data if data_exists else tmp_path / "missing.csv", "--shard", "1/2")
    assert result.exit_code == ExitCode.USAGE and result.stdout == ""
    assert result.stderr == "Error: --shard splits the series of a model of many series (--id-col); this one has one\n"


@pytest.fixture(scope="module")
def narrow(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A model trained on a series that barely moves (10 +- 3e-5): a spike of 3e35 in its input is
    far outside that range, and its scaled value overflows float32 on the way through the network."""
    root = tmp_path_factory.mktemp("narrow")
    frame = sine_frame().assign(y=lambda f: 10 + f["y"] * 1e-5)
    frame.to_csv(root / "narrow.csv", index=False)
    result = run("train", root / "narrow.csv", "-o", root / "model", "--quiet", *TINY_FLAGS)
    assert result.exit_code == 0, result.stderr
    return root / "model", frame.assign(y=frame["y"].where(frame.index != 290, 3e35))


def one_error_line(result) -> str:
    """The one ``Error: ...`` line of a failed run that printed nothing else (no traceback)."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "internal error" not in result.stderr
    return lines[0]


def test_evaluate_refuses_forecasts_that_are_not_finite_numbers(narrow, tmp_path: Path) -> None:
    model, spiked = narrow
    spiked.to_csv(tmp_path / "spike.csv", index=False)
    for flags in ([], ["--json"]):
        result = run("evaluate", model, tmp_path / "spike.csv", "--device", "cpu", "-q", *flags)
        assert result.exit_code == ExitCode.DATA and result.stdout == ""
        assert one_error_line(result) == (
            f"Error: {tmp_path / 'spike.csv'}: 6 forecasts are not finite numbers, the first from origin "
            "2024-01-13 03:00:00 (their input is far outside the range the model was trained on); they cannot be scored"
        )


def test_backtest_refuses_forecasts_that_are_not_finite_numbers(tmp_path: Path) -> None:
    frame = sine_frame().assign(y=lambda f: 10 + f["y"] * 1e-5)
    frame.assign(y=frame["y"].where(frame.index != 290, 3e35)).to_csv(tmp_path / "spike.csv", index=False)
    result = run("backtest", tmp_path / "spike.csv", "--folds", "1", "-q", "-o", tmp_path / "bt.json", *TINY_FLAGS)
    assert result.exit_code == ExitCode.DATA and result.stdout == ""
    assert "not finite numbers" in one_error_line(result)
    assert not (tmp_path / "bt.json").exists()


@pytest.mark.parametrize("output", ["-", "forecast.csv"], ids=["fast path", "pandas path"])
def test_predict_refuses_a_forecast_that_is_not_a_finite_number(narrow, tmp_path: Path, output: str) -> None:
    model, spiked = narrow
    spiked.iloc[:292].to_csv(tmp_path / "spike.csv", index=False)
    result = run("predict", model, tmp_path / "spike.csv", "-o", tmp_path / output if output != "-" else "-")
    assert result.exit_code == ExitCode.DATA and result.stdout == ""
    assert one_error_line(result) == (
        f"Error: {tmp_path / 'spike.csv'}: the forecast is not a finite number "
        "(its input is far outside the range the model was trained on)"
    )
    assert not (tmp_path / "forecast.csv").exists()
