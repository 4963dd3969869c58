"""What the console shows a person: text from files (column names, paths, manifest fields) is printed as it
is, never read as rich markup, emoji codes or terminal control sequences; and reports written off a terminal
are as wide as they need to be."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from lstmcast.console import (
    LiteralConsole,
    backtest_tables,
    info_table,
    literal,
    make_console,
    metrics_table,
    panel_note,
    print_error,
    print_warning,
)

# A name a CSV header or a manifest could carry, and how the console must show it.
UNTRUSTED = {
    "closing tag": ("[/bold]", "[/bold]"),
    "unit in brackets": ("load [kW]", "load [kW]"),
    "link": ("[link=https://x]load[/link]", "[link=https://x]load[/link]"),
    "emoji code": (":smile:", ":smile:"),
    "terminal title": ("load\x1b]0;pwned\x07", "load\\x1b]0;pwned\\x07"),
    "carriage return and C1": ("ok\rfake\x9b2J\x7f", "ok\\x0dfake\\x9b2J\\x7f"),
    "bidi override": ("load\u202eWk", "load\\u202eWk"),
}
RAW_CONTROLS = ("\x1b", "\x07", "\r", "\x9b", "\x7f", "\u202e")


def assert_shown_literally(output: str, shown: str) -> None:
    assert shown in output
    assert not any(code in output for code in RAW_CONTROLS)


def scores(mse: float, skill: float | None = None) -> dict[str, Any]:
    return {"mse": mse, "rmse": mse**0.5, "mae": mse / 2, "mape": 12.5, "smape": 11.25, "mase": 0.91, "r2": 0.8} | (
        {} if skill is None else {"skill": skill}
    )


def metrics(baseline: str = "naive") -> dict[str, Any]:
    """A held-out report as ``evaluate`` returns it, with one baseline named ``baseline``."""
    return scores(0.5) | {
        "n_origins": 40,
        "period": {"start": "2024-01-10 00:00:00", "end": "2024-01-12 00:00:00"},
        "baselines": {baseline: scores(0.8, skill=0.375), "drift": scores(0.4, skill=-0.25)},
    }


@pytest.fixture
def manifest(model_dir: Path) -> dict[str, Any]:
    return json.loads((model_dir / "manifest.json").read_text())


@pytest.mark.parametrize(("name", "shown"), UNTRUSTED.values(), ids=UNTRUSTED)
def test_info_shows_column_names_from_the_manifest_literally(
    manifest: dict[str, Any], capsys: pytest.CaptureFixture[str], name: str, shown: str
) -> None:
    manifest = copy.deepcopy(manifest)
    manifest["columns"].update(target=name, features=[name, "x"], time=name)
    manifest["training"]["source"] = f"/data/{name}.csv"
    info_table(make_console(), manifest)
    output = capsys.readouterr().err
    assert_shown_literally(output, shown)
    lines = [line.rstrip() for line in output.splitlines()]
    assert f"target              {shown}" in lines
    assert f"features            {shown}, x" in lines
    assert f"time column         {shown}" in lines
    assert any(line.startswith(f"trained on          /data/{shown}.csv: ") for line in lines)


@pytest.mark.parametrize(("name", "shown"), UNTRUSTED.values(), ids=UNTRUSTED)
def test_metrics_tables_show_names_titles_and_labels_literally(
    capsys: pytest.CaptureFixture[str], name: str, shown: str
) -> None:
    metrics_table(make_console(), metrics(baseline=name), f"Evaluation on {name}.csv", model_name=name)
    output = capsys.readouterr().err
    assert_shown_literally(output, f"Evaluation on {shown}.csv")
    assert f"│   │ {shown} " in output  # the baseline's row
    assert f"40 forecast origins from 2024-01-10 00:00:00 to 2024-01-12 00:00:00. {shown} does not beat: drift." in (
        output
    )


@pytest.mark.parametrize(("name", "shown"), UNTRUSTED.values(), ids=UNTRUSTED)
def test_backtest_tables_show_the_data_file_literally(
    capsys: pytest.CaptureFixture[str], name: str, shown: str
) -> None:
    fold = {"fold": 1, "test_start": name, "test_end": "2024-01-12", "train_rows": 200, "best_epoch": 3}
    report = metrics() | {
        "backtest": {"folds": 1, "test_rows": 40, "retrain": True},
        "folds": [fold | {"metrics": metrics()}],
    }
    backtest_tables(make_console(), report, f"Backtest on {name}.csv")
    output = capsys.readouterr().err
    assert_shown_literally(output, f"Backtest on {shown}.csv: 1 folds over the last 40 rows")
    assert f"│ {shown} " in output  # the fold's start, a time read from the file


@pytest.mark.parametrize(("name", "shown"), UNTRUSTED.values(), ids=UNTRUSTED)
def test_errors_and_warnings_show_names_literally_on_one_line(
    capsys: pytest.CaptureFixture[str], name: str, shown: str
) -> None:
    console = make_console()
    print_error(console, f"data.csv: target column '{name}' not found; columns are: time, {name}")
    print_warning(console, f"{name}.csv: dropped 2 rows with missing values")
    assert capsys.readouterr().err == (
        f"Error: data.csv: target column '{shown}' not found; columns are: time, {shown}\n"
        f"Warning: {shown}.csv: dropped 2 rows with missing values\n"
    )


def test_errors_are_literal_on_any_rich_console() -> None:
    """print_error and print_warning also guard a plain rich Console, whose markup and emoji are on."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, no_color=True)
    print_error(console, "column '[/bold] :smile:\x1b]0;x\x07' not found")
    print_warning(console, "ends in a backslash \\")
    assert (
        buffer.getvalue()
        == "Error: column '[/bold] :smile:\\x1b]0;x\\x07' not found\nWarning: ends in a backslash \\\n"
    )


def test_a_terminal_gets_our_colours_but_no_control_bytes_from_files() -> None:
    """On a colour terminal the only escape sequences are our own styles (CSI ... m), never an OSC from a name."""
    buffer = io.StringIO()
    console = LiteralConsole(
        file=buffer, force_terminal=True, color_system="standard", no_color=False, width=200, soft_wrap=True
    )
    name = "load\x1b]8;;https://evil\x1b\\click\x1b]8;;\x1b\\\x07"
    metrics_table(console, metrics(baseline=name), f"Evaluation on {name}")
    print_error(console, f"column '{name}' not found")
    output = buffer.getvalue()
    assert "\x1b[" in output  # our colours are still there
    assert "\x1b]" not in output and "\x07" not in output
    assert "load\\x1b]8;;https://evil\\x1b\\click\\x1b]8;;\\x1b\\\\x07" in output


def test_our_own_colours_still_style_the_verdict() -> None:
    buffer = io.StringIO()
    console = LiteralConsole(
        file=buffer, force_terminal=True, color_system="standard", no_color=False, width=200, soft_wrap=True
    )
    metrics_table(console, metrics(), "Held-out test metrics")
    output = buffer.getvalue()
    assert "\x1b[33mlstmcast does not beat: drift.\x1b[0m" in output  # yellow
    assert "[yellow]" not in output and "[/]" not in output


def test_literal_escapes_control_characters_but_keeps_text_tabs_and_newlines() -> None:
    assert literal("a\x1b[31mb\x00c\x9bd\x7fe") == "a\\x1b[31mb\\x00c\\x9bd\\x7fe"
    assert literal("load [kW]\tτ\n°C 🙂") == "load [kW]\tτ\n°C 🙂"


def test_a_wide_report_off_a_terminal_is_not_cut(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """rich assumes 80 columns when stderr is a pipe or a file; a log must keep every column and digit."""
    monkeypatch.delenv("COLUMNS")
    name = "a model with a long name " * 6
    metrics_table(make_console(), metrics(), "Evaluation on " + "long/path/" * 20 + "data.csv", model_name=name)
    output = capsys.readouterr().err
    assert "…" not in output
    assert f"│   │ {name} │ 0.5 │ 0.7071 │" in output
    assert "┃ sMAPE % ┃ MASE ┃  R² ┃ model skill ┃" in output
    assert max(len(line) for line in output.splitlines()) > 200


def test_columns_still_sets_the_width_off_a_terminal() -> None:
    assert make_console().width == 200  # tests/conftest.py sets COLUMNS=200


def test_a_terminal_keeps_rich_s_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS")
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich treats the output as a terminal
    assert make_console().is_terminal
    assert make_console().width == Console(stderr=True).width


def test_the_worst_series_is_named_in_quotes(capsys: pytest.CaptureFixture[str]) -> None:
    """Ids are text as written: 'north, east' is one series, and bare it would read as two."""
    metrics = {"series": [{"id": "north, east", "skill": -0.25, "mse": 1.5}], "worst_series": "north, east"}
    panel_note(make_console(), metrics, {"series_fitted": 3, "series": 3})
    assert capsys.readouterr().err.splitlines()[-1] == "Worst against ridge: 'north, east' (skill -0.250, MSE 1.5)."


def brier(skill: float) -> dict[str, Any]:
    return {"brier": 0.05, "brier_skill": skill, "base_rate": 0.1, "events": 40, "reliability": []}


@pytest.mark.parametrize(
    ("step", "any_step", "said"),
    [
        (0.3, 0.6, None),
        (-1.35, 0.6, "For each step they do not beat"),
        (0.3, 0.0, "For any step of the horizon they do not beat"),
        (-0.1, -0.2, "For each step and for any step of the horizon they do not beat"),
    ],
    ids=["both beat it", "steps do not", "a tie for any step", "neither"],
)
def test_event_probabilities_that_do_not_beat_the_base_rate_say_so(
    capsys: pytest.CaptureFixture[str], step: float, any_step: float, said: str | None
) -> None:
    """A Brier skill at or below 0 reads like any other number in the sentence; the report says what
    it means for someone about to act on prob."""
    metrics_table(make_console(), metrics() | {"probabilities": {"step": brier(step), "any": brier(any_step)}}, "Test")
    output = " ".join(capsys.readouterr().err.split())
    if said is None:
        assert "do not beat" not in output
    else:
        assert f"{said} always saying the base rate on these rows; look at their reliability" in output
        assert "(lstmcast plot MODEL DATA --reliability) before acting on prob." in output


def test_a_band_or_quantile_without_a_coverage_is_shown_as_a_dash(capsys: pytest.CaptureFixture[str]) -> None:
    """A model file may hold a null coverage (its checks allow null scores): info used to print half its
    report and then stop with Python's words about formatting None (exit 4)."""
    band = {"level": 80.0, "coverage": None, "width": None, "interval_score": None, "per_step_coverage": []}
    quantiles = {"levels": {"q0.1": {"coverage": None}}, "pinball": None, "crps": None}
    metrics_table(make_console(), metrics() | {"intervals": {"80": band}, "quantiles": quantiles}, "Test")
    output = " ".join(capsys.readouterr().err.split())
    assert "80% interval: covers - of actual values, mean width -, interval score -." in output
    assert "q0.1 -" in output
