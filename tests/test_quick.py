"""predict's fast path writes, byte for byte, what the pandas path writes, and declines everything
out of the ordinary so that the pandas path handles it as before."""

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, sine_frame

from lstmcast import DataWarning, Forecaster, read_table
from lstmcast.evaluation import EventSettings
from lstmcast.quick import fixed_step, predict_csv, predict_source
from lstmcast.write import table_bytes

FREQUENCIES = {"hourly": "h", "every 15 minutes": "15min", "daily": "D", "weekly": "W-MON"}


def fitted_on(frame: pd.DataFrame, **settings) -> Forecaster:
    return Forecaster(**{**TINY, "time_col": "time", **settings}).fit(frame)


def pandas_csv(forecaster: Forecaster, path: Path) -> bytes:
    """What predict wrote before the fast path: the whole table through pandas."""
    return table_bytes(forecaster.predict(read_table(path)), "csv")


@pytest.fixture(scope="module", params=list(FREQUENCIES))
def case(request, tmp_path_factory) -> tuple[Forecaster, Path]:
    """A model trained on a series of that frequency, and 400 rows of the series continued."""
    frequency = FREQUENCIES[request.param]
    frame = sine_frame(n=300, freq=frequency)
    forecaster = fitted_on(frame)
    longer = sine_frame(n=400, freq=frequency, seed=1)
    path = tmp_path_factory.mktemp("quick") / "recent.csv"
    longer.to_csv(path, index=False)
    return forecaster, path


def test_the_fast_path_writes_what_the_pandas_path_writes(case) -> None:
    forecaster, path = case
    fast, _ = predict_source(forecaster.state_, str(path), None)
    assert fast is not None
    assert fast == pandas_csv(forecaster, path)


def test_stdin_and_tsv_take_the_fast_path_too(case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forecaster, path = case
    expected = pandas_csv(forecaster, path)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))
    from_stdin, data = predict_source(forecaster.state_, "-", None)
    assert from_stdin == expected and data == path.read_bytes()
    tsv = tmp_path / "recent.tsv"
    read_table(path).to_csv(tsv, sep="\t", index=False)
    assert predict_source(forecaster.state_, str(tsv), None)[0] == expected


def test_features_alerts_and_names_that_need_quoting(tmp_path: Path) -> None:
    frame = sine_frame(features=True).rename(columns={"y": "load, MW"})
    feature = next(column for column in frame.columns if column not in ("time", "load, MW"))
    forecaster = fitted_on(frame, target="load, MW", features=[feature], events=EventSettings.from_options(10.0))
    frame.to_csv(tmp_path / "recent.csv", index=False)
    fast = predict_csv(forecaster.state_, (tmp_path / "recent.csv").read_bytes())
    assert fast is not None and fast.splitlines()[0] == b'time,step,"load, MW",prob,prob_any,alert'
    assert fast == pandas_csv(forecaster, tmp_path / "recent.csv")


@pytest.fixture(scope="module")
def hourly() -> Forecaster:
    return fitted_on(sine_frame())


def lines(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.assign(y=f["y"].astype(object).where(f.index != 290, "")),
        lambda f: f.assign(y=f["y"].astype(object).where(f.index != 290, "1_000")),
        lambda f: f.assign(y=f["y"].astype(object).where(f.index != 290, "nan")),
        lambda f: f.assign(time=f["time"] + "+00:00"),
        lambda f: f.assign(time=pd.to_datetime(f["time"]).dt.strftime("%d/%m/%Y %H:%M")),
        lambda f: f.iloc[::-1],
        lambda f: f.drop(index=295),
        lambda f: f.assign(time=pd.date_range("2024-01-01", periods=len(f), freq="2h").astype(str)),
        lambda f: f.drop(columns="time"),
        lambda f: f.rename(columns={"y": "Y"}),
        lambda f: f.assign(y=f["y"].astype(object).where(f.index != 290, 1e39)),
        lambda f: f.assign(y=f["y"].astype(object).where(f.index != 290, 1e36)),
        lambda f: f.assign(y=f["y"].astype(object).where(f.index != 290, "١٢")),
        lambda f: f.assign(note=np.where(f.index == 290, "x" * 200_000, "")),
        lambda f: f.drop(index=100),
        lambda f: f.assign(time=hours_until(dt.datetime(9999, 12, 31, 22), len(f))),
    ],
    ids=[
        "a missing value",
        "a number Python reads but pandas does not",
        "nan",
        "a time zone",
        "day-first times",
        "rows out of order",
        "a gap",
        "another step than the model's",
        "no time column",
        "the target renamed",
        "too large for float32",
        "too large for validate's float32 bound (max / 1e3)",
        "digits other than ASCII, which float() reads",
        "a field longer than the csv module reads",
        "a gap before the last lookback rows",
        "a forecast past the year 9999",
    ],
)
def test_anything_out_of_the_ordinary_is_left_to_the_pandas_path(hourly: Forecaster, change) -> None:
    assert predict_csv(hourly.state_, lines(change(sine_frame()))) is None


def hours_until(last: dt.datetime, rows: int) -> list[str]:
    """``rows`` hourly times ending at ``last``, written by Python (pandas' nanoseconds end in 2262)."""
    return [str(last - dt.timedelta(hours=rows - 1 - k)) for k in range(rows)]


@pytest.mark.parametrize(
    ("frequency", "settings", "recent"),
    [
        ("W-MON", {}, sine_frame(n=40, freq="W-SUN")),
        ("W-MON", {"lookback": 2}, sine_frame(n=2, freq="W-MON")),
        ("W-MON", {"lookback": 1}, sine_frame(n=1, freq="W-TUE")),
        ("30D", {"lookback": 3}, sine_frame(n=3, freq="30D").assign(time=["2000-10-02", "2000-11-01", "2000-12-01"])),
    ],
    ids=[
        "weekly on another weekday: pandas warns W-SUN is not W-MON",
        "two weekly rows: pandas warns 168h is not W-MON",
        "one row on another weekday: pandas steps to the next Monday",
        "thirty days from a month's first business day: pandas infers BMS",
    ],
)
def test_a_step_pandas_names_otherwise_is_left_to_it(frequency, settings, recent) -> None:
    forecaster = fitted_on(sine_frame(freq=frequency), **settings)
    assert forecaster.state_.frequency == frequency
    assert predict_csv(forecaster.state_, lines(recent)) is None


def test_a_model_fitted_with_a_weekly_step_in_hours_is_left_to_pandas() -> None:
    with pytest.warns(DataWarning):  # a gap: the step is the most common one, 168h
        forecaster = fitted_on(sine_frame(freq="W-MON").drop(index=100))
    assert forecaster.state_.frequency == "168h"  # so pandas warns that W-MON rows differ
    assert predict_csv(forecaster.state_, lines(sine_frame(n=40, freq="W-MON"))) is None


@pytest.mark.parametrize(
    ("names", "state_changes"),
    [
        ({"y": "step"}, {"columns": ("step",)}),
        ({"time": "step"}, {"time_col": "step"}),
        (
            {"y": "alert"},
            {
                "columns": ("alert",),
                "events": {"threshold": 10.0, "event": "above", "alert_level": 10.0, "tolerance": 0},
            },
        ),
    ],
    ids=["target named step", "time column named step", "target named alert, with a threshold"],
)
def test_output_names_that_collide_are_left_to_pandas_which_refuses_them(hourly, names, state_changes) -> None:
    """Such a model can no longer be trained (a column of the forecast table would replace it), but
    an older release could save one: the fast path declines, and the pandas path says what is wrong."""
    from lstmcast.errors import DataError

    state = hourly.state_.replace(**state_changes)
    frame = sine_frame().rename(columns=names)
    assert predict_csv(state, lines(frame)) is None
    with pytest.raises(DataError, match="as a column of the forecast table is"):
        Forecaster.from_state(state).predict(frame)


def test_a_forecast_that_overflows_is_left_to_pandas() -> None:
    """Values far outside a narrow training range overflow float32 once scaled; the pandas path refuses
    the forecast that is not a finite number."""
    from lstmcast.errors import DataError

    frame = sine_frame().assign(y=lambda f: 10 + f["y"] * 1e-5)
    forecaster = fitted_on(frame)
    recent = frame.assign(y=frame["y"].where(frame.index != 290, 3e35))
    assert predict_csv(forecaster.state_, lines(recent)) is None
    with pytest.raises(DataError, match=r"^<frame>: the forecast is not a finite number \(its input is far outside"):
        forecaster.predict(recent)


def test_years_before_1000_are_written_with_four_digits(hourly: Forecaster, tmp_path: Path) -> None:
    path = tmp_path / "old.csv"
    sine_frame().assign(time=hours_until(dt.datetime(999, 12, 31, 12), 300)).to_csv(path, index=False)
    fast = predict_csv(hourly.state_, path.read_bytes())
    assert fast is not None and fast.splitlines()[1].startswith(b"0999-12-31 13:00:00,1,")
    assert fast == pandas_csv(hourly, path)


def test_compressed_or_parquet_input_and_calendar_frequencies_are_left_to_pandas(hourly, tmp_path) -> None:
    sine_frame().to_csv(tmp_path / "s.csv.gz", index=False)
    sine_frame().to_parquet(tmp_path / "s.parquet", index=False)
    assert predict_source(hourly.state_, str(tmp_path / "s.csv.gz"), None) == (None, None)
    assert predict_source(hourly.state_, str(tmp_path / "s.parquet"), None) == (None, None)
    assert [fixed_step(alias) for alias in ("MS", "B", "QS-OCT", None)] == [None] * 4
    assert fixed_step("15min").total_seconds() == 900 and fixed_step("W-SUN").days == 7
    assert fixed_step("99999999999999999999h") is None  # more than a timedelta holds


def test_the_forecast_is_the_networks(hourly: Forecaster) -> None:
    fast = predict_csv(hourly.state_, lines(sine_frame()))
    assert fast is not None
    values = [float(line.split(b",")[2]) for line in fast.splitlines()[1:]]
    np.testing.assert_array_equal(values, hourly.predict(sine_frame())["y"].to_numpy())


@pytest.mark.parametrize(
    ("frequency", "rows", "written"),
    [
        ("h", 288, "2024-01-13 00:00:00"),
        ("15min", 288, "2024-01-04 00:00:00"),
        ("36h", 300, "2025-03-26 00:00:00"),
        ("D", 300, "2024-10-27"),
        ("W-MON", 100, "2025-12-01"),
    ],
)
def test_a_forecast_at_midnight_keeps_its_time_of_day_unless_the_step_is_whole_days(
    tmp_path: Path, frequency: str, rows: int, written: str
) -> None:
    """pandas writes a column of times that are all midnight as dates alone, so an hourly model's one-step
    forecast at 00:00 came out as '2024-01-13'. The step decides now, on both paths: a step that is not
    whole days keeps the time of day; days and weeks write dates alone, as before."""
    frame = sine_frame(n=rows, freq=frequency)
    forecaster = fitted_on(frame, horizon=1)
    frame.to_csv(tmp_path / "recent.csv", index=False)
    fast, _ = predict_source(forecaster.state_, str(tmp_path / "recent.csv"), None)
    assert fast is not None and fast == pandas_csv(forecaster, tmp_path / "recent.csv")
    assert fast.decode().splitlines()[1].startswith(f"{written},1,")
