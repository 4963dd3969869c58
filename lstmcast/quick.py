"""predict's fast path: the forecast from a clean CSV, without importing pandas.

A cron job that forecasts every few minutes pays for its imports each time, and pandas (with the
numpy and pyarrow it loads) is most of what predict imports. So ``predict`` first tries this path:
the header and the last ``lookback`` lines of a CSV/TSV file or of stdin, parsed with the standard
library, and the CSV it writes built the same way. It only takes the ordinary case, and declines
(returns None) on anything else, for the pandas path to handle exactly as before, messages and
warnings included: a column missing, a value that is not a plain finite number, a timestamp that is
not ISO ``YYYY-MM-DD[ HH:MM[:SS]]`` without a time zone or fraction, rows out of order or not evenly
spaced, a step that differs from the model's or that pandas would name otherwise (a weekday other
than the model's, four weeks or more), a frequency that is not a fixed step (months, business
days), a model without a time column, output columns whose names collide, a forecast that is not
finite or runs past the year 9999, compressed or quoted-multi-line input, and every output but CSV.
``tests/test_quick.py`` holds its output byte for byte to the pandas path's.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import numpy as np

from lstmcast.errors import DataError
from lstmcast.intervals import PROBABILITY_COLUMNS, band_columns, band_names, probability_columns
from lstmcast.quantiles import quantile_columns, quantile_names
from lstmcast.state import FittedState
from lstmcast.tail import RECENT_ROWS, csv_tail, read_stdin, sample_lines

# ASCII digits only: Python's float() reads '١٢' as 12, pandas reads it as text.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?", re.ASCII)
_FIXED_STEP = re.compile(r"(\d*)(D|h|min|s|W-(?:MON|TUE|WED|THU|FRI|SAT|SUN))")
_SECONDS = {"D": 86_400, "h": 3_600, "min": 60, "s": 1}
_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_DAY = dt.timedelta(days=1)
_MONTHLIKE = dt.timedelta(days=28)  # pandas may infer a whole-day step this long as months or years
_FLOAT32_MAX = float(np.finfo(np.float32).max) / 1e3  # validate.py's bound: larger values are a DataError there
_SUFFIXES = {".csv": ",", ".txt": ",", ".tsv": "\t"}


def predict_source(state: FittedState, source: str, input_format: str | None) -> tuple[bytes | None, bytes | None]:
    """The forecast CSV for DATA at ``source`` (a path, or "-" for stdin), or None to leave it to the
    pandas path; and stdin's bytes when they were read (the pandas path needs them then)."""
    delimiter = _delimiter(source, input_format)
    if delimiter is None:
        return None, None
    rows = max(state.lookback, RECENT_ROWS)  # as the pandas path reads, so both validate the same rows
    if source == "-":
        data = read_stdin(None)
        tail, sample = csv_tail(io.BytesIO(data), rows), sample_lines(io.BytesIO(data))
        return _from(state, tail, sample, delimiter), data
    path = Path(source)
    try:
        if not path.is_file():
            return None, None  # the pandas path says what is wrong
        with open(path, "rb") as stream:
            tail, sample = csv_tail(stream, rows), sample_lines(stream)
    except (OSError, ValueError):  # unreadable, or a NUL in the name: the pandas path says so
        return None, None
    return _from(state, tail, sample, delimiter), None


def _from(state: FittedState, tail: bytes | None, sample: bytes | None, delimiter: str) -> bytes | None:
    if tail is None or sample is None:
        return None
    return predict_csv(state, tail, delimiter, sample)


def _delimiter(source: str, input_format: str | None) -> str | None:
    if input_format is not None:
        return {"csv": ",", "tsv": "\t"}.get(input_format)
    if source == "-":
        return ","
    return _SUFFIXES.get(Path(source).suffix.lower())  # compressed, Parquet or unknown: not here


def predict_csv(state: FittedState, text: bytes, delimiter: str = ",", sample: bytes | None = None) -> bytes | None:
    """The CSV ``predict`` writes from ``text`` (a header and the rows to forecast from), or None.
    ``sample`` (lines from across the whole file, ``tail.sample_lines``) must hold no row later than
    the last of ``text``: else the file is out of time order, and only the pandas path, reading it
    all, finds its latest rows."""
    step = fixed_step(state.frequency)
    if state.panel is not None or state.time_col is None or step is None or not _distinct_names(state):
        return None
    table = _parse(text, delimiter, (state.time_col, *state.columns))
    if table is None or len(table) < state.lookback:
        return None
    # Every row parsed, not only the last ``lookback``: the pandas path checks all the rows it reads, and
    # a bare carriage return splits a line into two rows for either parser.
    times = [_timestamp(row[0]) for row in table]
    if any(time is None for time in times) or any(b - a != step for a, b in zip(times, times[1:], strict=False)):
        return None
    first, last = times[0], times[-1]
    assert first is not None and last is not None
    if sample is not None and not _none_later(sample, delimiter, state.time_col, last):
        return None
    if state.frequency is None or not _inferred_as_trained(state.frequency, first, len(times), step):
        return None
    values = _numbers([row[1:] for row in table])
    if values is None:
        return None
    forecast = _forecast(state, values[-state.lookback :])
    future = _future(last, step, state.horizon)
    if forecast is None or future is None:
        return None
    return _csv(state, future, step, *forecast)


def _none_later(sample: bytes, delimiter: str, time_col: str, last: dt.datetime) -> bool:
    """Whether every sampled row has a plain time no later than ``last``."""
    table = _parse(sample, delimiter, (time_col,))
    if table is None:
        return False
    times = [_timestamp(row[0]) for row in table]
    return all(time is not None and time <= last for time in times)


def fixed_step(frequency: str | None) -> dt.timedelta | None:
    """The step of a fixed-length frequency alias ('h', '15min', 'D', 'W-SUN'), else None."""
    match = _FIXED_STEP.fullmatch(frequency or "")
    if match is None:
        return None
    count = int(match.group(1) or 1)
    unit = match.group(2)
    seconds = 7 * _SECONDS["D"] if unit.startswith("W-") else _SECONDS[unit]
    try:
        return dt.timedelta(seconds=count * seconds) if count > 0 else None
    except OverflowError:  # more than a timedelta holds: the pandas path says what is wrong
        return None


def _distinct_names(state: FittedState) -> bool:
    """Whether the output's columns have distinct names: pandas builds the table from a dict, so a
    target named 'step' (or 'alert') or a time column named 'step' would replace a column there."""
    probabilities = list(PROBABILITY_COLUMNS) if state.paths is not None and state.events else []
    quantiles = quantile_names(state.quantiles.levels) if state.quantiles is not None else []
    names = [state.time_col, "step", state.target, *band_names(state.intervals), *quantiles, *probabilities]
    names += ["alert"] if state.events else []
    return len(set(names)) == len(names)


def _inferred_as_trained(frequency: str, first: dt.datetime, rows: int, step: dt.timedelta) -> bool:
    """Whether pandas, inferring the frequency of ``rows`` rows ``step`` apart from ``first``, finds the
    model's, so that it neither warns that they differ nor steps otherwise. It names a step of whole
    weeks by the first row's weekday ('W-SUN'), and only from three rows on (two are '168h' apart); a
    step of four weeks or more can read as months or years ('BMS', 'YS-JAN')."""
    if step % _DAY:
        return True  # hours, minutes or seconds: pandas compares them by length
    if step >= _MONTHLIKE:
        return False
    if step.days % 7:
        return True  # days: compared by length too
    weeks = step.days // 7
    return rows >= 3 and frequency == f"{weeks if weeks > 1 else ''}W-{_WEEKDAYS[first.weekday()]}"


def _parse(text: bytes, delimiter: str, columns: tuple[str, ...]) -> list[list[str]] | None:
    """The given columns of every row, as text; None when the table is not plainly a table of them."""
    try:
        decoded = text.decode("utf-8-sig")
        reader = csv.reader(io.StringIO(decoded, newline=""), delimiter=delimiter, skipinitialspace=True)
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error):  # csv.Error: e.g. a field over csv's 128 KiB limit, which pandas reads
        return None
    rows = [row for row in rows if row]  # pandas skips blank lines too
    if not rows:
        return None
    header, body = rows[0], rows[1:]
    if len(set(header)) != len(header) or not all(header) or not set(columns) <= set(header):
        return None
    if any(len(row) != len(header) for row in body):
        return None
    positions = [header.index(name) for name in columns]
    return [[row[i] for i in positions] for row in body]


def _timestamp(text: str) -> dt.datetime | None:
    if _TIME.fullmatch(text) is None:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def _numbers(cells: list[list[str]]) -> np.ndarray | None:
    """The cells as float32 ``[rows, columns]``: plain finite numbers that fit, or None."""
    if not all(_NUMBER.fullmatch(cell) for row in cells for cell in row):
        return None
    values = np.array([[float(cell) for cell in row] for row in cells], dtype=np.float64)
    if not np.all(np.abs(values) <= _FLOAT32_MAX):  # also refuses inf, which the pattern cannot give
        return None
    return values.astype(np.float32)


def _forecast(state: FittedState, window: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """The forecast ``[H]`` from the last ``lookback`` rows and its interval columns (``[H]`` each), or
    None when numpy overflowed on the way (values far outside the training range): the pandas path
    then says what is wrong (a forecast that is not a finite number is a DataError)."""
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            scaled = state.scaler.transform(window)  # [L, F]
            forecast = state.scaler.inverse_target(state.forecast_scaled(scaled[None])[0][0])  # [H]
            # The target window as predict_frame scales it (float64), so the bands match to the bit.
            target = state.scaler.transform_target(window[:, 0])[None]  # [1, L]
            bands = band_columns(state.intervals, forecast[None], target, state.scaler.scale[:1])
            bands |= quantile_columns(
                state.quantiles, state.model, state.weights, scaled[None], forecast[None], state.scaler.scale[:1]
            )
            bands |= probability_columns(
                state.paths, state.model.window_norm, state.events, forecast[None], target, state.scaler.scale[:1]
            )
    except (FloatingPointError, DataError):  # the pandas path says what is wrong
        return None
    finite = np.all(np.isfinite(forecast)) and all(np.all(np.isfinite(band)) for band in bands.values())
    return (forecast, {name: band[0] for name, band in bands.items()}) if finite else None


def _future(last: dt.datetime, step: dt.timedelta, horizon: int) -> list[dt.datetime] | None:
    """The ``horizon`` times after ``last``; None past the year 9999, which pandas writes and Python cannot."""
    try:
        return [last + step * k for k in range(1, horizon + 1)]
    except OverflowError:
        return None


def _csv(
    state: FittedState,
    future: list[dt.datetime],
    step: dt.timedelta,
    forecast: np.ndarray,
    bands: dict[str, np.ndarray],
) -> bytes:
    """The table as the pandas path writes it (``lstmcast.write.table_bytes``): dates alone when the
    step is whole days and every time is midnight, floats by ``repr``, booleans as True/False. Times by
    ``isoformat``, which pads years before 1000 to four digits as pandas does (``strftime`` does not)."""
    assert state.time_col is not None
    midnight = not step % _DAY and all(time.time() == dt.time(0) for time in future)
    header = [state.time_col, "step", state.target, *bands]
    alerts = _alerts(state, forecast, bands.get("prob"))
    if alerts is not None:
        header.append("alert")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for k, (time, value) in enumerate(zip(future, forecast, strict=True)):
        row = [time.date().isoformat() if midnight else time.isoformat(sep=" "), k + 1, repr(float(value))]
        row += [repr(float(band[k])) for band in bands.values()]
        writer.writerow(row if alerts is None else [*row, bool(alerts[k])])
    return out.getvalue().encode()


def _alerts(state: FittedState, forecast: np.ndarray, probability: np.ndarray | None) -> np.ndarray | None:
    """Whether each step raises an alert, for a model trained with a threshold: its probability above
    the model's ``alert_prob``, or else its forecast beyond the alert level."""
    if not state.events:
        return None
    if state.events.get("alert_prob") is not None and probability is not None:
        return probability > float(state.events["alert_prob"])
    level = float(state.events["alert_level"])
    return forecast > level if state.events["event"] == "above" else forecast < level
