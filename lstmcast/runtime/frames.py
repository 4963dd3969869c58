"""Forecasts as tables, from a fitted state and a validated series, in numpy: what ``predict``,
``predict --explain`` and ``plot`` write. No torch."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from lstmcast.config import MAX_SHARDS, DataConfig
from lstmcast.errors import ConfigError, DataError, DataWarning
from lstmcast.events import comparison
from lstmcast.intervals import (
    PROBABILITY_COLUMNS,
    band_columns,
    band_names,
    level_name,
    probability_columns,
)
from lstmcast.panel_report import relative_events
from lstmcast.quantiles import quantile_columns, quantile_name, quantile_names
from lstmcast.report import Scoring, forecast_event_chances, stored_events
from lstmcast.runtime.network import forecast_rows
from lstmcast.state import FittedState
from lstmcast.validate import (
    MODEL_REPAIR,
    Panel,
    Series,
    format_ids,
    leave_out_short,
    same_step,
    validate_frame_as_read,
    validate_panel,
)
from lstmcast.window import panel_rolling_origins
from lstmcast.write import TIME_STEP


def validate_for(state: FittedState, frame: pd.DataFrame) -> Series:
    """``frame`` validated as the model reads it: its columns, by name, repaired with its ``fill``."""
    return validate_as_read(state, frame)[0]


def validate_as_read(state: FittedState, frame: pd.DataFrame) -> tuple[Series, np.ndarray]:
    """``validate_for``, with the values as read (float64) beside the Series' float32 ones."""
    config = DataConfig(target=state.target, time_col=state.time_col, features=state.columns[1:], fill=state.data.fill)
    # A flat stretch to forecast from is no reason to warn; a constant series to train on is.
    return validate_frame_as_read(frame, config, warn_constant=False, repair=MODEL_REPAIR)


def forecastable(state: FittedState, frame: pd.DataFrame) -> Series:
    """``frame`` validated, with at least the ``lookback`` rows a forecast reads."""
    return enough_rows(state, validate_for(state, frame))


def enough_rows(state: FittedState, series: Series) -> Series:
    """``series``, when it has the ``lookback`` rows a forecast reads; else a DataError."""
    if len(series) < state.lookback:
        raise DataError(
            f"{series.source}: {len(series)} rows are too few to forecast; the model reads the last "
            f"{state.lookback} rows (lookback)"
        )
    return series


def forecast_from(state: FittedState, series: Series, origin: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The forecast ``[H]`` (original units) from the window before row ``origin``, and the attention
    weights ``[L]`` behind it (None without attention)."""
    window = state.scaler.transform(series.values[origin - state.lookback : origin])  # [L, F]
    scaled, attention = state.forecast_scaled(window[None])  # [1, H], [1, L] | None
    return state.scaler.inverse_target(scaled[0]), None if attention is None else attention[0]


def predict_frame(state: FittedState, series: Series) -> pd.DataFrame:
    """The ``horizon`` steps after the last row: time (if any), step, forecast, for a model trained
    with intervals each level's band (``lo_80``, ``hi_80``, ...), and for a model trained with a
    threshold, ``prob`` and ``prob_any`` (the probability that the step, and that any step of the
    horizon, is beyond the threshold) and ``alert``: whether the step is beyond the alert level."""
    time_col = series.time_col if series.index is not None else None
    check_output_names(
        state.target,
        time_col,
        bool(state.events),
        series.source,
        (state.intervals.levels if state.intervals is not None else ()),
        probabilities=state.paths is not None,
        quantiles=state.model.quantiles,
    )
    with np.errstate(over="ignore"):  # values far outside the training range: refused below
        forecast, _ = forecast_from(state, series, len(series))  # [H]
    if not np.all(np.isfinite(forecast)):
        raise DataError(f"{series.source}: the forecast is not a finite number ({_FAR_OUTSIDE})")
    out: dict[str, Any] = {"step": np.arange(1, state.horizon + 1), state.target: forecast}
    window = state.scaler.transform_target(series.values[-state.lookback :, 0])[None]  # [1, L] scaled
    out.update(
        {
            name: band[0]
            for name, band in band_columns(state.intervals, forecast[None], window, state.scaler.scale[:1]).items()
        }
    )
    inputs = state.scaler.transform(series.values[-state.lookback :])[None]  # [1, L, F]
    unit = state.scaler.scale[:1]
    quantiles = quantile_columns(state.quantiles, state.model, state.weights, inputs, forecast[None], unit)
    out.update({name: column[0] for name, column in quantiles.items()})
    probabilities = probability_columns(
        state.paths, state.model.window_norm, state.events, forecast[None], window, state.scaler.scale[:1]
    )
    out.update({name: column[0] for name, column in probabilities.items()})
    events = stored_events(state)
    if events is not None:
        # Alerts from the probability (--alert-prob), or from the forecast beyond the alert level.
        probability = out.get("prob")
        if events.alert_prob is not None and probability is not None:
            out["alert"] = probability > events.alert_prob
        else:
            out["alert"] = comparison(events.event)(forecast, events.alert())
    if series.index is not None:
        frequency = series.frequency or state.frequency
        warn_if_frequency_differs(state, series)
        future = pd.date_range(series.index[-1], periods=state.horizon + 1, freq=frequency)[1:]
        out = {series.time_col or "time": future, **out}
    return _stepping(pd.DataFrame(out), series.frequency or state.frequency)


def _stepping(table: pd.DataFrame, frequency: str | None) -> pd.DataFrame:
    """``table`` marked with the step its times are apart, so a CSV of it writes them as that step
    needs (``lstmcast.write.TIME_STEP``: an hourly time at midnight keeps its ``00:00:00``)."""
    if frequency is not None:
        table.attrs[TIME_STEP] = frequency
    return table


_FAR_OUTSIDE = "its input is far outside the range the model was trained on"


def check_output_names(
    target: str,
    time_col: str | None,
    alerts: bool,
    source: str,
    levels: tuple[float, ...] = (),
    *,
    probabilities: bool | None = None,
    id_col: str | None = None,
    quantiles: tuple[float, ...] = (),
) -> None:
    """A DataError when a column of the data has the name of another column of the forecast table
    (``step``, ``lo_80`` and the like for a model with intervals, or ``alert`` for a model with a
    threshold; the id column of a model of many series too), which would replace it there."""
    names = [
        *([id_col] if id_col is not None else []),
        *([time_col or "time"] if time_col is not None else []),
        "step",
        target,
        *band_names(levels),
        *quantile_names(quantiles),
        *(PROBABILITY_COLUMNS if (alerts if probabilities is None else probabilities) else ()),
        *(["alert"] if alerts else []),
    ]
    for name in names:
        if names.count(name) > 1:
            role = "target" if name == target else "id column" if name == id_col else "time column"
            raise DataError(
                f"{source}: the {role} is named {name!r}, as a column of the forecast table is; rename it in "
                "the data and train again"
            )


def explain_frame(state: FittedState, frame: pd.DataFrame) -> pd.DataFrame:
    """The attention weights behind the forecast after the last row of ``frame``: one row per input
    step, oldest first, with its time (if any), lag, the target's value as read (not through the
    network's float32) and the weight."""
    require_attention(state)
    series, as_read = validate_as_read(state, frame)
    _, weights = forecast_from(state, enough_rows(state, series), len(series))
    assert weights is not None  # a model with attention; the weights file was checked against it
    rows = np.arange(len(series) - state.lookback, len(series))
    out: dict[str, Any] = {
        "lag": np.arange(-state.lookback, 0),
        state.target: as_read[rows, 0],
        "weight": weights.astype(np.float64),
    }
    if series.index is not None:
        out = {series.time_col or "time": series.index[rows], **out}
    return _stepping(pd.DataFrame(out), series.frequency or state.frequency)


EXPLAIN_COLUMNS = ("lag", "weight")  # the columns explain_frame adds beside the time and the target


def require_attention(state: FittedState) -> None:
    """A ConfigError for a model without attention weights to show, or whose target or time column is
    named like a column the attention table adds (it would replace that column there)."""
    if not state.model.attention:
        raise ConfigError(
            "this model was trained without attention, so it has no attention weights to show; train with --attention"
        )
    for role, name in (("target", state.target), ("time column", state.time_col)):
        if name in EXPLAIN_COLUMNS:
            raise ConfigError(
                f"the model's {role} is named {name!r}, as a column of the attention table --explain writes "
                f"({', '.join(EXPLAIN_COLUMNS)}) is; rename it in the data and train again"
            )


def forecast_context(
    state: FittedState, series: Series, origin: str | int | None = None, context: int | None = None
) -> tuple[pd.Series, pd.Series, pd.Series | None]:
    """The observed values before ``origin``, the forecast from it and the actual values after it
    (None when the series ends there): what a forecast plot shows."""
    position = origin_position(state, series, origin)
    context = state.lookback if context is None else context
    with np.errstate(over="ignore"):  # values far outside the training range: refused below, as predict does
        forecast, _ = forecast_from(state, series, position)  # [H]
    if not np.all(np.isfinite(forecast)):  # a plot would draw the history and no forecast at all
        raise DataError(f"{series.source}: the forecast is not a finite number ({_FAR_OUTSIDE})")
    target = series.values[:, 0].astype(np.float64)
    if series.index is not None:
        frequency = series.frequency or state.frequency
        steps: pd.Index = pd.date_range(series.index[position - 1], periods=state.horizon + 1, freq=frequency)[1:]
        rows: pd.Index = series.index
    else:
        steps = pd.RangeIndex(position + 1, position + state.horizon + 1)  # row numbers from 1
        rows = pd.RangeIndex(1, len(series) + 1)
    name = state.target
    start = max(position - context, 0)
    history = pd.Series(target[start:position], index=rows[start:position], name=name)
    known = target[position : position + state.horizon]
    actual = pd.Series(known, index=rows[position : position + len(known)], name=name) if len(known) else None
    return history, pd.Series(forecast, index=steps, name=name), actual


def context_bands(
    state: FittedState, series: Series, origin: str | int | None = None
) -> dict[float, tuple[pd.Series, pd.Series]]:
    """The interval bands around ``forecast_context``'s forecast (indexed the same), by level; for a
    model with quantiles and no intervals, its central quantile pairs as bands (0.1 and 0.9: the 80%
    band); none for other models."""
    if state.intervals is None and state.quantiles is None:
        return {}
    _, forecast, _ = forecast_context(state, series, origin)
    position = origin_position(state, series, origin)
    if state.intervals is None:
        return _quantile_bands(state, series, position, forecast)
    window = state.scaler.transform_target(series.values[position - state.lookback : position, 0])[None]  # [1, L]
    columns = band_columns(state.intervals, forecast.to_numpy()[None], window, state.scaler.scale[:1])
    return {
        level: (
            pd.Series(columns[f"lo_{level_name(level)}"][0], index=forecast.index),
            pd.Series(columns[f"hi_{level_name(level)}"][0], index=forecast.index),
        )
        for level in state.intervals.levels
    }


def _quantile_bands(
    state: FittedState, series: Series, position: int, forecast: pd.Series
) -> dict[float, tuple[pd.Series, pd.Series]]:
    """A quantile model's pairs of levels from the outside in (the lowest with the highest, ...) as
    central bands of ``100 * (high - low)`` percent, around the forecast from row ``position``."""
    assert state.quantiles is not None
    levels = state.quantiles.levels
    inputs = state.scaler.transform(series.values[position - state.lookback : position])[None]  # [1, L, F]
    unit = state.scaler.scale[:1]
    columns = quantile_columns(state.quantiles, state.model, state.weights, inputs, forecast.to_numpy()[None], unit)
    pairs = [(levels[k], levels[-1 - k]) for k in range(len(levels) // 2)]
    return {
        round(100 * (high - low), 6): (
            pd.Series(columns[quantile_name(low)][0], index=forecast.index),
            pd.Series(columns[quantile_name(high)][0], index=forecast.index),
        )
        for low, high in pairs
    }


def require_event_probabilities(state: FittedState) -> None:
    """A ConfigError unless the model keeps event probabilities (trained with a threshold): the model
    alone decides, so callers may check it before reading any data."""
    if state.paths is None or not state.events or (state.panel is not None and state.panel.events is None):
        raise ConfigError("this model has no event probabilities: train it with --threshold (lstmcast 0.5 or later)")


def event_chances(state: FittedState, series: Series, stride: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a model with event probabilities: every ``stride``-th origin's probability of each step's
    event ``[N, H]``, whether it happened ``[N, H]``, and the origins ``[N]``, over every origin of
    ``series`` with a whole lookback and horizon; in numpy."""
    require_event_probabilities(state)
    lookback, horizon = state.lookback, state.horizon
    origins = np.arange(lookback, len(series) - horizon + 1, stride)
    if not len(origins):
        raise DataError(
            f"{series.source}: {len(series)} rows are too few; need at least {lookback + horizon} "
            f"(lookback {lookback} + horizon {horizon})"
        )
    scaled = state.scaler.transform(series.values)
    forecast = state.scaler.inverse_target(
        forecast_rows(state.model, state.weights, scaled[origins[:, None] - lookback + np.arange(lookback)])
    )
    target = series.values[:, 0].astype(np.float64)
    chances, _ = forecast_event_chances(Scoring.of(state), target, origins, forecast)
    threshold, event = float(state.events["threshold"]), str(state.events["event"])
    return chances, comparison(event)(target[origins[:, None] + np.arange(horizon)], threshold), origins


def panel_event_chances(state: FittedState, panel: Panel, stride: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``event_chances`` for a model of many series: every ``stride``-th origin of every series of
    ``panel`` with a whole lookback and horizon (global rows), each series against its own threshold;
    series too short for one origin are left out with a warning."""
    assert state.panel is not None
    require_event_probabilities(state)
    lookback, horizon = state.lookback, state.horizon
    require_known(panel, state)
    why = f"to score (each needs {lookback + horizon} rows: lookback {lookback} + horizon {horizon})"
    panel = leave_out_short(panel, panel.lengths < lookback + horizon, why)
    origins = panel_rolling_origins(panel.offsets, lookback, horizon, stride)
    positions = state.panel.positions(panel.ids)
    scaled = state.panel.scaler.of(positions).transform(panel.values, panel.offsets)  # [rows, F]
    windows = scaled[origins[:, None] - lookback + np.arange(lookback)].astype(np.float32)  # [N, L, F]
    forecast = forecast_rows(state.model, state.weights, windows).astype(np.float64)  # [N, H] scaled
    relative = relative_events(state, panel, origins)
    assert relative is not None
    target = scaled[:, 0].astype(np.float64) - relative.row_threshold
    chances, _ = forecast_event_chances(relative.scoring(state), target, origins, relative.shift(forecast, origins))
    happened = comparison(relative.settings.event)(target[origins[:, None] + np.arange(horizon)], 0.0)
    return chances, happened, origins


def context_probability(state: FittedState, series: Series, origin: str | int | None = None) -> pd.Series:
    """``prob`` (each step's probability of the event) for ``forecast_context``'s forecast, indexed
    like it; a model with event probabilities only."""
    _, forecast, _ = forecast_context(state, series, origin)
    position = origin_position(state, series, origin)
    window = state.scaler.transform_target(series.values[position - state.lookback : position, 0])[None]
    columns = probability_columns(
        state.paths, state.model.window_norm, state.events, forecast.to_numpy()[None], window, state.scaler.scale[:1]
    )
    return pd.Series(columns["prob"][0], index=forecast.index, name="prob")


def check_origin_row(origin: str | int | None) -> None:
    """A row number given as ``--origin`` counts from 1: 0 or a negative one is a ConfigError, decided
    before any data is read (a time, or nothing, passes)."""
    text = str(origin).strip() if origin is not None else ""
    if text.lstrip("+-").isdigit() and int(text) < 1:
        raise ConfigError(f"--origin {origin}: rows are numbered from 1 (the first row of the data is 1)")


def origin_position(state: FittedState, series: Series, origin: str | int | None) -> int:
    """The 0-based position of the first forecast row: after the last row, a time of the time
    column, or a row number counted from 1."""
    if origin is None:
        return len(series)
    check_origin_row(origin)
    if isinstance(origin, str) and series.index is not None and not origin.lstrip("-").isdigit():
        try:
            stamp = pd.Timestamp(origin)
        except ValueError:
            raise ConfigError(f"--origin {origin!r} is not a time") from None
        if series.index.tz is not None and stamp.tz is None:
            stamp = stamp.tz_localize(series.index.tz)
        found = series.index.get_indexer(pd.DatetimeIndex([stamp]))[0]
        if found < 0:
            raise DataError(f"{series.source}: no row at --origin {origin} in column {series.time_col!r}")
        position = int(found)
    else:
        try:
            position = int(origin) - 1
        except ValueError:
            raise ConfigError(f"--origin must be a time or a row number; got {origin!r}") from None
    if position > len(series):  # the rows before it are there; the origin itself is not
        raise DataError(
            f"{series.source}: --origin {origin} is past the data, which has {len(series)} rows; the origin must be "
            f"a row of the data or just after its last (row {len(series) + 1})"
        )
    if position < state.lookback:
        raise DataError(
            f"{series.source}: --origin {origin} leaves {max(position, 0)} rows before it; the model reads "
            f"{state.lookback} (lookback), and the origin must be a row of the data or just after its last"
        )
    return position


def warn_if_frequency_differs(state: FittedState, series: Series | Panel) -> None:
    if series.frequency is None or state.frequency is None:
        return
    if not same_step(series.frequency, state.frequency):
        warnings.warn(
            f"{series.source}: rows are {series.frequency!r} apart but the model was trained on "
            f"{state.frequency!r} data; the forecast steps by {series.frequency!r}",
            DataWarning,
            stacklevel=4,
        )


def require_same_frequency(state: FittedState, series: Series | Panel, command: str) -> None:
    """A DataError when the data's rows are another step apart than the model's training data: errors
    of forecasts made at the wrong step say nothing about the model's (what ``calibrate`` measures)."""
    if series.frequency is None or state.frequency is None or same_step(series.frequency, state.frequency):
        return
    raise DataError(
        f"{series.source}: rows are {series.frequency!r} apart but the model was trained on {state.frequency!r} "
        f"data; {command} needs rows at the model's step"
    )


# -- many series ------------------------------------------------------------------------------------


def validate_panel_for(state: FittedState, frame: pd.DataFrame) -> Panel:
    """``frame`` validated as a model of many series reads it: its id column and columns, by name."""
    config = DataConfig(
        target=state.target,
        time_col=state.time_col,
        features=state.columns[1:],
        fill=state.data.fill,
        id_col=state.data.id_col,
    )
    assert config.id_col is not None
    return validate_panel(frame, config, config.id_col, repair=MODEL_REPAIR)


def panel_series(state: FittedState, frame: pd.DataFrame, name: str) -> tuple[FittedState, Series]:
    """One series of a long table, and the model of many series as that series' model
    (``FittedState.one_series``). Only that id's rows are validated; an id with no rows in ``frame``
    or that the model was not trained on is a DataError naming it."""
    assert state.panel is not None and state.data.id_col is not None
    id_col = state.data.id_col
    source = frame.attrs.get("source", "<frame>")
    if id_col in frame.columns:  # a missing id column is validation's to report
        rows = frame[frame[id_col].astype("string") == name]
        if rows.empty:
            raise DataError(f"{source}: {id_col} {name!r} has no rows")
        frame = rows.assign(**{id_col: rows[id_col].astype("string")})
        frame.attrs["source"] = source
    panel = validate_panel_for(state, frame)
    require_known(panel, state)
    return state.one_series(name), panel.series(0)


def check_shard(state: FittedState, shard: tuple[int, int]) -> None:
    """A ConfigError unless ``shard=(i, n)`` can split this model's series: a model of many series,
    ``1 <= i <= n``, and ``n`` within the range of the 64-bit hash ``shard_rows`` takes modulo ``n``."""
    number, count = shard
    if state.panel is None:
        raise ConfigError("--shard splits the series of a model of many series (--id-col); this one has one")
    if not 1 <= number <= count:
        raise ConfigError(f"--shard {number}/{count}: shards are numbered from 1 to {count}")
    if count > MAX_SHARDS:
        raise ConfigError(f"--shard {number}/{count}: at most {MAX_SHARDS} shards (an id's 64-bit hash modulo N)")


def shard_rows(ids: pd.Series, shard: tuple[int, int]) -> np.ndarray:
    """Which rows belong to shard ``i`` of ``n`` (numbered from 1): those whose id's stable hash is
    ``i - 1`` modulo ``n``. The hash depends on the id's text alone (pandas' fixed-key SipHash), so
    the same id lands in the same shard in every process, and the shards together are every id once."""
    number, count = shard
    hashes = pd.util.hash_array(ids.astype("string").to_numpy(dtype=object, na_value=""))
    return (hashes % np.uint64(count)) == np.uint64(number - 1)


def predict_panel(state: FittedState, panel: Panel, strict: bool = False, shard: bool = False) -> pd.DataFrame:
    """The ``horizon`` steps after the last row of every series of ``panel``, series in the order their
    ids first appear in the table, as one long table: id, time (if any), step, forecast. Every series
    must be one the model was fitted on (its statistics are per series); those with fewer than
    ``lookback`` rows are left out with a warning, or with ``strict`` are a DataError. All of them too
    short is a DataError too, except in a ``shard``: there it is an empty forecast (with the warning),
    as a shard holding no series is, so whether a job fails does not hang on how the ids hash. Series
    the model was not fitted on are a DataError (``leave_out_unknown_rows`` takes them out first)."""
    assert state.panel is not None
    lookback, horizon = state.lookback, state.horizon
    require_known(panel, state, "train again with them, or leave them out with --skip-unknown")
    warn_if_frequency_differs(state, panel)
    why = f"to forecast (the model reads the last {lookback} rows)"
    panel = leave_out_short(panel, panel.lengths < lookback, why, strict, may_empty=shard)
    if not panel.ids:
        return empty_panel_forecast(state)
    positions = state.panel.positions(panel.ids)
    rows = panel.offsets[1:, None] - lookback + np.arange(lookback)  # [S, L]: each series' last rows
    center = state.panel.scaler.center[positions][:, None, :]  # [S, 1, F]
    scale = state.panel.scaler.scale[positions][:, None, :]  # [S, 1, F]
    with np.errstate(over="ignore"):  # values far outside the training range: refused below, by series
        windows = ((panel.values[rows] - center) / scale).astype(np.float32)  # [S, L, F]
    scaled = forecast_rows(state.model, state.weights, windows)  # [S, H], each row as in any shard
    forecast = scaled * scale[:, 0, :1] + center[:, 0, :1]  # [S, H] back to each series' units
    bad = [panel.ids[k] for k in np.flatnonzero(~np.isfinite(forecast).all(axis=1))]
    if bad:
        what = "the forecast is not a finite number" if len(bad) == 1 else "the forecasts are not finite numbers"
        names = format_ids(bad, limit=3)
        raise DataError(f"{panel.source} ({panel.id_col} {names}): {what} ({_FAR_OUTSIDE})")
    bands = band_columns(state.intervals, forecast, windows[:, :, 0], scale[:, 0, 0])
    bands |= quantile_columns(state.quantiles, state.model, state.weights, windows, forecast, scale[:, 0, 0])
    bands |= panel_event_columns(state, positions, scaled, forecast, windows[:, :, 0])
    names = [panel.id_col, *([panel.time_col or "time"] if panel.index is not None else []), "step", state.target]
    if len(set(names + list(bands))) < len(names) + len(bands):
        raise DataError(
            f"{panel.source}: the id, time and target columns must not be named alike, 'step', 'alert', 'prob' "
            "or like an interval"
        )
    order = panel.input_order
    out: dict[str, Any] = {panel.id_col: np.repeat(np.array(panel.ids, dtype=object)[order], horizon)}
    if panel.index is not None:
        out[panel.time_col or "time"] = _future_times(panel, state, horizon)[order].ravel()
    out["step"] = np.tile(np.arange(1, horizon + 1), len(panel.ids))
    out[state.target] = forecast.astype(np.float64)[order].ravel()
    out.update(
        {name: (band if band.dtype == bool else band.astype(np.float64))[order].ravel() for name, band in bands.items()}
    )
    return _stepping(pd.DataFrame(out), panel.frequency or state.frequency)


def panel_event_columns(
    state: FittedState, positions: np.ndarray, scaled: np.ndarray, forecast: np.ndarray, windows: np.ndarray
) -> dict[str, np.ndarray]:
    """For a threshold model of many series, ``[S, H]`` each: ``prob`` and ``prob_any`` (with error
    paths), each series' forecast (``scaled`` in its units, ``forecast`` in its own) taken against its
    own threshold, and ``alert``: beyond its own alert level, or a probability above the alert
    probability. ``windows`` ``[S, L]``: each series' last target values, scaled. Empty for others."""
    assert state.panel is not None
    record, events = state.events, state.panel.events
    if not record or events is None:
        return {}
    thresholds, _ = events.relative(state.panel.scaler, positions)
    relative = scaled.astype(np.float64) - thresholds[:, None]  # every series' threshold at 0
    out = probability_columns(
        state.paths, state.model.window_norm, {**record, "threshold": 0.0}, relative, windows, np.ones(len(positions))
    )
    if record.get("alert_prob") is not None and "prob" in out:
        out["alert"] = out["prob"] > record["alert_prob"]
    else:  # in the series' own units, as the user reads the forecast and its alert level
        out["alert"] = comparison(record["event"])(forecast, events.alert_levels[positions][:, None])
    return out


def empty_panel_forecast(state: FittedState) -> pd.DataFrame:
    """The forecast table of a shard that holds no series: its columns, no rows, and the types a shard
    with rows has, so that a Parquet dataset of every shard reads as one table."""
    assert state.data.id_col is not None
    columns = {state.data.id_col: pd.Series(dtype="str")}
    if state.time_col:
        columns[state.time_col] = pd.Series(dtype="datetime64[us]")
    columns["step"] = pd.Series(dtype="int64")
    probabilities = PROBABILITY_COLUMNS if state.paths is not None and state.events else ()
    for name in [state.target, *band_names(state.intervals), *quantile_names(state.model.quantiles), *probabilities]:
        columns[name] = pd.Series(dtype="float64")
    if state.events:
        columns["alert"] = pd.Series(dtype="bool")
    return pd.DataFrame(columns)


def predict_known_panel(
    state: FittedState, frame: pd.DataFrame, strict: bool = False, shard: bool = False
) -> pd.DataFrame:
    """``predict_panel`` of the series of ``frame`` the model was fitted on, the others left out first
    (``known_panel_for``)."""
    panel = known_panel_for(state, frame, may_empty=shard)
    if panel is None:
        return empty_panel_forecast(state)
    return predict_panel(state, panel, strict, shard)


SKIP_UNKNOWN_NEEDS_MANY = "--skip-unknown is for a model of many series (--id-col); this one has one"


def known_panel(state: FittedState, frame: pd.DataFrame, skip_unknown: bool = False, doing: str = "forecast") -> Panel:
    """``frame`` validated as a table of series the model was fitted on: a series it was not is a
    DataError saying how to go on, or with ``skip_unknown`` is left out first (``known_panel_for``)."""
    if skip_unknown:
        panel = known_panel_for(state, frame, doing=doing)
        assert panel is not None  # nothing known is a DataError
    else:
        panel = validate_panel_for(state, frame)
    require_known(panel, state, "train again with them, or leave them out with --skip-unknown")
    return panel


def known_panel_for(
    state: FittedState, frame: pd.DataFrame, *, may_empty: bool = False, doing: str = "forecast"
) -> Panel | None:
    """``validate_panel_for`` of the series of ``frame`` the model was fitted on, the others left out
    first (``leave_out_unknown_rows``); None when nothing is left and ``may_empty``. A bad row of a
    known series is named as the table numbers it: the whole table is checked again to raise that
    error."""
    known = leave_out_unknown_rows(state, frame, may_empty=may_empty, doing=doing)
    if known.empty:
        return None
    try:
        return validate_panel_for(state, known)
    except DataError:
        if len(known) < len(frame):  # rows were left out, so the error's row numbers are off
            validate_panel_for(state, frame)
        raise


def leave_out_unknown_rows(
    state: FittedState, frame: pd.DataFrame, *, may_empty: bool = False, doing: str = "forecast"
) -> pd.DataFrame:
    """``frame`` without the rows of the series the model was not fitted on, left out with one warning
    that counts them and names the first few; all of them unknown is a DataError unless ``may_empty``
    (a shard). Taken out before validation, so a new series' own gaps or duplicates do not fail the
    rest. Rows without an id stay, for validation to report. ``doing`` is what the rows were for
    ("forecast", "calibrate on", "evaluate"), for the messages."""
    assert state.panel is not None and state.data.id_col is not None
    id_col, source = state.data.id_col, frame.attrs.get("source", "<frame>")
    if id_col not in frame.columns:  # a missing id column is validation's to report
        return frame
    ids = frame[id_col].astype("string")
    given = ids.notna() & (ids.str.strip() != "")
    unknown_rows = (given & ~ids.isin(state.panel.ids)).to_numpy(dtype=bool, na_value=False)
    if not unknown_rows.any():
        return frame
    every = sorted(set(ids[given.to_numpy(dtype=bool, na_value=False)]))
    unknown = sorted(set(ids[unknown_rows]))
    names = format_ids(unknown, limit=3)
    if len(unknown) == len(every) and not may_empty:
        raise DataError(f"{source}: no series is one the model was trained on ({id_col} {names}); nothing to {doing}")
    warnings.warn(
        f"{source}: left out {len(unknown):,} of {len(every):,} series the model was not trained on "
        f"({id_col} {names}); train again to {doing} them",
        DataWarning,
        stacklevel=3,
    )
    kept = frame[~unknown_rows]
    kept.attrs["source"] = source
    return kept


def require_known(panel: Panel, state: FittedState, advice: str = "train again with them") -> np.ndarray:
    """Where each series of ``panel`` is among the model's; a DataError naming the ids it has not seen."""
    assert state.panel is not None
    positions = state.panel.positions(panel.ids)
    unseen = [panel.ids[k] for k in np.flatnonzero(positions < 0)]
    if unseen:
        raise DataError(
            f"{panel.source}: {panel.id_col} {format_ids(unseen, limit=3)}: not among the series the model was "
            f"trained on (each series is scaled by its own statistics); {advice}"
        )
    return positions


def _future_times(panel: Panel, state: FittedState, horizon: int) -> np.ndarray:
    """Each series' next ``horizon`` times, ``[S, H]``."""
    assert panel.index is not None
    frequency = panel.frequency or state.frequency
    offset = pd.tseries.frequencies.to_offset(frequency)
    last = panel.index[panel.offsets[1:] - 1]  # [S]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)  # calendar offsets add row by row
        return np.column_stack([(last + offset * k).to_numpy() for k in range(1, horizon + 1)])  # [S, H]
