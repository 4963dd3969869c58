"""Refresh a model's prediction intervals on recent data, without retraining (``lstmcast calibrate``).

Conformal bands are only as good as the errors they were taken from. Split conformal takes them
from the validation part once; a series that drifts (a noisier season, a new regime) needs them
taken again from what the model does now. ``calibrate`` forecasts every origin of recent rows with
the stored network (in numpy: no torch), and computes the bands of each level from those errors
exactly as training did from the validation part's; a model trained with a threshold also takes its
event error paths (``prob``, ``prob_any``) from them. Only those change, and the record of the
calibration (``FittedState.calibration``): the network stays as it is. Run nightly from
cron on every row since the model's validation part (what docs/benchmarks.md found best; the last
few weeks alone gave wider bands), it keeps the bands adaptive in the spirit of EnbPI and adaptive
conformal inference, without touching the network.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstmcast.errors import ConfigError, DataError, DataWarning
from lstmcast.intervals import (
    SPREAD_FLOOR,
    Intervals,
    check_calibration,
    check_finite_errors,
    decay_weights,
    fit_intervals,
    keep_paths,
    level_name,
    window_spread,
)
from lstmcast.quantiles import Quantiles, fit_shifts, quantile_name
from lstmcast.quantiles import check_calibration as check_quantile_calibration
from lstmcast.report import in_sample_origins, panel_in_sample_origins
from lstmcast.runtime import frames
from lstmcast.runtime.network import forecast_rows, offset_rows
from lstmcast.state import FittedState
from lstmcast.validate import leave_out_short, nanoseconds
from lstmcast.window import ranges


@dataclass(frozen=True)
class Calibrated:
    """A state with new intervals (and, for a threshold model, new event error paths), and where they
    came from: ``state.calibration`` records it in the model."""

    state: FittedState
    origins: int  # how many forecast origins gave the residuals
    in_sample: int | None  # of them, how many forecast rows training saw (None: cannot tell)
    source: str


def calibrate(
    state: FittedState,
    frame: pd.DataFrame,
    levels: tuple[float, ...] = (),
    last: int | None = None,
    since: str | None = None,
    half_life: float | None = None,
    skip_unknown: bool = False,
) -> Calibrated:
    """``state`` with its intervals taken again from its errors on ``frame`` (the levels it has, or
    ``levels``): every origin whose lookback and whole horizon lie in ``frame`` (in each series, for a
    model of many), or the ``last`` of them (per series). A model trained with a threshold also gets
    its event error paths (``paths``, what ``prob`` and ``prob_any`` come from) taken again from the
    same errors, so it needs no levels; so does a model trained with quantiles, whose conformal
    corrections (``lstmcast.quantiles``) are taken again from the errors its quantile head leaves.
    With ``since`` (a time, or "validation": the first time of the model's validation part), only the
    origins whose first forecast row is at or after it. With ``half_life`` (in seasons of the model, a
    day of hourly rows), the bands and the quantiles' corrections are weighted quantiles of the errors,
    an origin's weight halving every ``half_life`` seasons before its series' newest origin
    (``lstmcast.intervals.weighted_ranks``): recent errors count more where the errors drift. The error
    paths are taken from every origin alike. A series of ``frame`` that a model of many series was not
    fitted on is a DataError, or with ``skip_unknown`` is left out with a warning (a store opened
    since must not stop the others' nightly recalibration). Nothing else changes but the record of
    this calibration."""
    levels = check_options(state, levels, last, since, half_life, skip_unknown)
    refresh_paths = state.paths is not None and bool(state.events)
    # The bands name columns of predict's table: a new level must not name one the data has.
    frames.check_output_names(
        state.target,
        state.time_col,
        bool(state.events),
        "calibrate",
        levels,
        probabilities=state.paths is not None,
        id_col=state.data.id_col,
        quantiles=state.model.quantiles,
    )
    if state.panel is None:
        series = frames.validate_for(state, frame)
        frames.require_same_frequency(state, series, "calibrate")
        source, values, offsets = series.source, state.scaler.transform(series.values), np.array([0, len(series)])
        target, index = state.scaler.transform_target(series.values[:, 0]), series.index
        ids: tuple[str, ...] = ()
    else:
        panel = frames.known_panel(state, frame, skip_unknown, doing="calibrate on")
        frames.require_same_frequency(state, panel, "calibrate")
        need = state.lookback + state.horizon
        panel = leave_out_short(panel, panel.lengths < need, f"to calibrate (each needs {need} rows)")
        positions = state.panel.positions(panel.ids)
        scaler = state.panel.scaler.of(positions)
        source, values, offsets = panel.source, scaler.transform(panel.values, panel.offsets), panel.offsets
        rows = np.repeat(np.arange(len(panel.ids)), panel.lengths)
        target = (panel.values[:, 0] - scaler.center[rows, 0]) / scaler.scale[rows, 0]  # float64, as trained
        index, ids = panel.index, panel.ids
    start = _since_rows(state, since, index, offsets, source, ids) if since is not None else None
    origins = _origins(offsets, state.lookback, state.horizon, last, start)
    if not len(origins):
        after = f" from {since}" if since is not None else ""
        raise DataError(
            f"{source}: too few rows to calibrate{after}; a series needs at least {state.lookback + state.horizon} "
            f"(lookback {state.lookback} + horizon {state.horizon}), the forecast rows of each origin at or after it"
        )
    lookback, horizon = state.lookback, state.horizon
    weights = decay_weights(_ages(origins, offsets), half_life * state.season if half_life is not None else None)
    inputs = values[origins[:, None] - lookback + np.arange(lookback)]  # [N, L, F]
    if state.quantiles is not None:  # the forecast and the head's offsets, in one pass
        forecast, head = offset_rows(state.model, state.weights, inputs)
    else:
        forecast, head = forecast_rows(state.model, state.weights, inputs), None
    actual = target[origins[:, None] + np.arange(horizon)]  # [N, H]
    spread = window_spread(target[origins[:, None] - lookback + np.arange(lookback)], state.model.window_norm)
    _warn_if_flat(spread, state.model.window_norm, source)
    intervals, paths = state.intervals, state.paths
    more = "more recent rows, a larger --last" + (", an earlier --since" if since is not None else "")
    if levels:
        check_calibration(len(origins), levels, source, "forecast origins", f"{more}, or a lower --level")
        intervals = fit_intervals(actual - forecast, spread, levels, state.model.window_norm, source, weights)
    if refresh_paths:  # the same errors, whole paths, as training kept the validation part's
        check_finite_errors((actual - forecast) / spread, source, "give event probabilities")
        paths = keep_paths(actual - forecast, spread)
    quantiles = state.quantiles
    if quantiles is not None and head is not None:
        advice = f"{more}, or levels nearer 0.5"
        check_quantile_calibration(len(origins), quantiles.levels, source, "forecast origins", advice)
        quantiles = fit_shifts(actual, forecast, head, spread, quantiles.levels, quantiles.window_norm, source, weights)
    if state.panel is None:
        # The validation part is what training calibrated on: only the training rows make errors too small.
        seen = in_sample_origins(state, series, origins, TOO_SMALL, part="train")
    else:
        seen = panel_in_sample_origins(state, panel, origins, TOO_SMALL, part="train")
    record = {
        "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "source": source,
        "origins": int(len(origins)),
        "last": last,
        "since": since,
        "half_life": half_life,
        "in_sample_origins": seen,
        "period": _period(index, origins, horizon),
        "levels": list(levels) if levels else None,
        "paths": int(len(paths)) if refresh_paths and paths is not None else None,
        "quantiles": list(quantiles.levels) if quantiles is not None else None,
    }
    calibrated = dataclasses.replace(state, intervals=intervals, paths=paths, quantiles=quantiles, calibration=record)
    return Calibrated(calibrated, len(origins), seen, source)


def check_options(
    state: FittedState,
    levels: tuple[float, ...] = (),
    last: int | None = None,
    since: str | None = None,
    half_life: float | None = None,
    skip_unknown: bool = False,
) -> tuple[float, ...]:
    """What ``calibrate``'s options and the model alone decide, a ConfigError before any data is read:
    something to refresh, a ``half_life`` with something to weigh, ``last``, whether the model can
    start from ``since``, and ``skip_unknown`` only for a model of many series. The levels to learn:
    ``levels``, else the model's own."""
    if skip_unknown and state.panel is None:
        raise ConfigError(frames.SKIP_UNKNOWN_NEEDS_MANY)
    levels = levels or (state.intervals.levels if state.intervals is not None else ())
    refresh_paths = state.paths is not None and bool(state.events)
    if not levels and not refresh_paths and state.quantiles is None:
        raise ConfigError("this model was trained without intervals; give the levels to learn (--level 80,95)")
    _check_half_life(state, levels, half_life)
    _check_window_options(state, last, since)
    return levels


# What origins on rows training saw mean here: the model fitted those rows, so its errors there are small.
TOO_SMALL = "their errors are smaller than on new rows, so the bands and quantiles taken from them are too narrow"
FLAT_SHARE = 0.01  # of the origins: more windows than this at the spread floor is worth a warning


def _warn_if_flat(spread: np.ndarray, window_norm: str, source: str) -> None:
    """Warn when many windows are nearly flat under a window normalisation whose unit is their spread:
    errors in units of a spread near 0 are huge, and bands or quantiles sized from them come out far
    too wide for every other window."""
    if window_norm not in ("mean", "revin"):
        return
    flat = int(np.sum(spread <= SPREAD_FLOOR))
    if flat > FLAT_SHARE * len(spread):
        warnings.warn(
            f"{source}: {flat:,} of {len(spread):,} input windows are nearly flat (their spread is under "
            f"{SPREAD_FLOOR:g} of the training target's scale); with --window-norm {window_norm} errors are "
            "measured in units of that spread, so the bands and quantiles taken from them may be far too wide "
            "for other windows",
            DataWarning,
            stacklevel=3,
        )


def _period(index: pd.DatetimeIndex | None, origins: np.ndarray, horizon: int) -> dict[str, str] | None:
    """The first and last row the calibration's forecasts were for (None without times)."""
    if index is None:
        return None
    return {"start": str(index[origins].min()), "end": str(index[origins + horizon - 1].max())}


def _check_half_life(state: FittedState, levels: tuple[float, ...], half_life: float | None) -> None:
    """``--half-life``: a positive number, and something for it to weigh: the bands (``levels``) or the
    quantiles' corrections; a threshold model's error paths are taken from every origin alike, so
    there it would be recorded (and shown by ``info``) while changing nothing."""
    if half_life is None:
        return
    if not (math.isfinite(half_life) and half_life > 0):
        raise ConfigError(f"--half-life must be a positive number of seasons; got {half_life:g}")
    if not levels and state.quantiles is None:
        raise ConfigError(
            "--half-life weighs the bands and the quantiles' corrections, and this model has neither (its event "
            "error paths are taken from every origin alike); leave it out, or give the levels to learn (--level 80)"
        )


def _check_window_options(state: FittedState, last: int | None, since: str | None) -> None:
    """``--last`` and what the model alone tells about ``--since``, checked before the data: a model
    without times cannot start from one, whatever the data holds (a usage error, not the data's)."""
    if last is not None and last < 1:
        raise ConfigError(f"--last must be at least 1; got {last}")
    if since is None:
        return
    if state.time_col is None:
        raise ConfigError("--since: this model was trained without a time column, so it has no times to start from")
    if since == "validation" and state.panel is not None and state.panel.train_until is None:
        raise ConfigError(
            "--since validation: this model does not record where each series' validation part starts "
            "(saved before model format 8); give a time instead"
        )


def _since_rows(
    state: FittedState,
    since: str,
    index: pd.DatetimeIndex | None,
    offsets: np.ndarray,
    source: str,
    ids: tuple[str, ...] = (),
) -> np.ndarray:
    """Each series' first row at or after ``since`` (a time, or "validation": each series' first row
    after the model's training part of it); its end where it has none. ``ids``: a panel's series."""
    if index is None:  # the model has a time column (_check_window_options), so the data's lacks it
        raise DataError(f"{source}: --since needs a time column; the rows have none")
    rows = np.arange(len(index))
    if since == "validation":
        if state.panel is not None:
            until = _train_until(state, index, source)[state.panel.positions(ids)]  # [S] each one's last training time
            series = np.repeat(np.arange(len(ids)), np.diff(offsets))
            after = np.where(nanoseconds(index) > until[series], rows, offsets[-1])
            return np.minimum.reduceat(after, offsets[:-1])  # [S]
        since = str(state.training.get("parts", {}).get("val", {}).get("start"))
        zone = _zone(since)
        if index.tz is None and zone is not None:  # else _time would blame a --since time the user never gave
            raise _zoned_training(source, zone)
    stamp = _time(since, index, source)
    at_or_after = np.where(index >= stamp, rows, offsets[-1])  # a row past the end where it is earlier
    return np.minimum.reduceat(at_or_after, offsets[:-1])  # [S]


def _train_until(state: FittedState, index: pd.DatetimeIndex, source: str) -> np.ndarray:
    """A model of many series' last training time of each of its series (ns), comparable with
    ``nanoseconds(index)``: times recorded without a zone are read on the data's clock when the data
    has one, as a --since time without a zone is; recorded with a zone, they cannot be placed on data
    without one (a DataError)."""
    assert state.panel is not None
    until = state.panel.train_until
    assert until is not None  # _check_window_options refused a model without it
    if not state.panel.zone_differs(index.tz):
        return until
    if state.panel.time_zone is not None:
        raise _zoned_training(source, state.panel.time_zone)
    # A wall time the data's clock skips moves forward, and one it repeats takes the later instant: so
    # no row training saw is taken for a new one.
    wall = pd.DatetimeIndex(until.astype("datetime64[ns]"))  # the series with no training row: NaT
    repeated_as_later = np.zeros(len(wall), dtype=bool)
    return nanoseconds(wall.tz_localize(index.tz, ambiguous=repeated_as_later, nonexistent="shift_forward"))


def _zone(text: str) -> str | None:
    """The zone of the time ``text`` ("UTC+02:00"); None for a time without one, or text that is no time
    (``_time`` says what is wrong with it)."""
    try:
        zone = pd.Timestamp(text).tz
    except ValueError:
        return None
    return str(zone) if zone is not None else None


def _zoned_training(source: str, zone: str) -> DataError:
    """--since validation on times without a zone for a model trained on times with one: which clock?"""
    return DataError(
        f"{source}: the times have no zone, but the model was trained on times in {zone}, so --since validation "
        "cannot tell where its validation part starts; write the times with their zone, or give --since a time"
    )


def _time(text: str, index: pd.DatetimeIndex, source: str) -> pd.Timestamp:
    """``--since``'s time, in the data's convention: a time without a zone on zoned data is read on
    the data's clock; a zoned time on data without zones is an error (which clock would it be?)."""
    try:
        stamp = pd.Timestamp(text) if any(char.isdigit() for char in text) else pd.NaT  # not "now", not ""
    except ValueError:
        stamp = pd.NaT
    if pd.isna(stamp):
        raise ConfigError(f"--since takes a time or 'validation'; got {text!r}")
    if stamp.year < 1:  # pandas reads "-2024-03-10" as the year 2024 BC: a stray sign, not a time to start from
        raise ConfigError(
            f"--since {text}: reads as the year {stamp.year}; give a time like 2024-03-10 (no sign), or 'validation'"
        )
    if index.tz is not None and stamp.tz is None:
        return stamp.tz_localize(index.tz)
    if index.tz is None and stamp.tz is not None:
        raise DataError(f"{source}: the times have no zone, and --since {text} has one; give it without a zone")
    return stamp


def _ages(origins: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """How many rows each origin lies before its series' newest origin (0 for that one)."""
    owner = np.searchsorted(offsets, origins, side="right") - 1
    newest = np.zeros(len(offsets) - 1, dtype=np.int64)
    np.maximum.at(newest, owner, origins)
    return newest[owner] - origins


def _origins(
    offsets: np.ndarray, lookback: int, horizon: int, last: int | None, start: np.ndarray | None = None
) -> np.ndarray:
    """Every origin of each series (rows ``offsets[k]:offsets[k + 1]``) with a full lookback and
    horizon, from each one's ``start`` row when given, or the ``last`` of each; global rows."""
    first = offsets[:-1] + lookback
    if start is not None:
        first = np.maximum(first, start)
    counts = np.maximum(offsets[1:] - horizon + 1 - first, 0)  # [S]
    if last is not None:
        first, counts = first + np.maximum(counts - last, 0), np.minimum(counts, last)
    return ranges(first, counts)


def describe(before: Intervals | None, after: Intervals) -> list[str]:
    """A line per level: its band's mean width (in offsets: scaled units times the window's spread)
    before and after, so a jump shows."""
    lines = []
    for k, level in enumerate(after.levels):
        new = float(np.mean(after.upper[k] - after.lower[k]))
        old = None
        if before is not None and level in before.levels:
            j = before.levels.index(level)
            old = float(np.mean(before.upper[j] - before.lower[j]))
        change = f"{old:.4g} -> {new:.4g}" if old is not None else f"{new:.4g} (new)"
        lines.append(f"{level_name(level)}% band: mean width in scaled units {change}")
    return lines


def describe_quantiles(before: Quantiles, after: Quantiles) -> str:
    """A line on the quantiles' conformal corrections: their mean per level (in units of the window's
    spread) before and after, so a jump shows."""
    parts = [
        f"{quantile_name(level)} {float(np.mean(before.shifts[k])):+.4g} -> {float(np.mean(after.shifts[k])):+.4g}"
        for k, level in enumerate(after.levels)
    ]
    return f"Quantile corrections (mean, in units of the window's spread): {'; '.join(parts)}"


def describe_paths(before: np.ndarray | None, after: np.ndarray) -> str:
    """A line on the event error paths: how many, and their mean absolute error (in units of the
    window's spread) before and after, so a jump shows."""
    old = f"{len(before):,} ({float(np.mean(np.abs(before))):.4g})" if before is not None else "none"
    new = f"{len(after):,} from these origins ({float(np.mean(np.abs(after))):.4g})"
    return (
        f"Event error paths (mean absolute error in units of the window's spread): {old} -> {new}; "
        "prob and prob_any follow them"
    )
