"""The one report builder: train's held-out test part, evaluate's table and every backtest fold (and
the pooled backtest) are scored here, from a fitted state's forecasts and baselines.

What a report needs from the fitted model beyond the forecasts is a ``Scoring``: the target's scale
(for the scaled errors), the MASE denominator, the seasonal period, the ridge penalty and the
threshold events. It is built from a ``FittedState`` in one place, so the three callers cannot
drift apart (they had: backtest once lacked the ridge penalty). A model of many series is scored by
``lstmcast.panel_report``, which builds on this module.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lstmcast.baselines import drift, mean_forecast, naive, seasonal_naive
from lstmcast.errors import DataError, DataWarning
from lstmcast.evaluation import LINEAR_START, EventSettings, score_report
from lstmcast.intervals import (
    Intervals,
    event_probabilities,
    held_out_probabilities,
    interval_scores,
    probability_scores,
    window_spread,
)
from lstmcast.quantiles import Quantiles, quantile_scores
from lstmcast.state import FittedState
from lstmcast.validate import Panel, Series, format_ids, nanoseconds


@dataclass(frozen=True)
class Scoring:
    """What scoring a fitted model's forecasts needs besides the forecasts."""

    target_scale: float  # the scaler's scale of the target: errors divided by it are the scaled errors
    mase_scale: float | None  # None for models saved before format 4
    season: int  # the seasonal-naive baseline's period
    ridge_alpha: float | None  # None without a ridge baseline, or when ridges of several folds are pooled
    events: EventSettings | None  # resolved (a value threshold), or None
    intervals: Intervals | None = None  # trained with levels: the bands are scored too
    lookback: int = 0  # the input window the bands' spread is measured on
    paths: np.ndarray | None = None  # a threshold model's error paths: its event probabilities are scored
    window_norm: str = "none"  # whose spread the paths are in units of
    base_rates: tuple[float | None, float | None] = (None, None)  # per step, and any step of a horizon
    quantiles: Quantiles | None = None  # trained with quantile levels: they are scored too

    @classmethod
    def of(cls, state: FittedState, events: EventSettings | None = None) -> Scoring:
        """The state's scoring, with its own event settings unless ``events`` are given (the training
        part's base rates are then only kept for the same threshold)."""
        own = stored_events(state)
        same = events is None or (own is not None and events.level == own.level and events.event == own.event)
        return cls(
            target_scale=float(state.scaler.scale[0]),
            mase_scale=state.mase_scale,
            season=state.season,
            ridge_alpha=state.ridge.alpha if state.ridge is not None else None,
            events=events if events is not None else stored_events(state),
            intervals=state.intervals,
            lookback=state.lookback,
            paths=state.paths,
            window_norm=state.model.window_norm,
            base_rates=(
                (state.events.get("base_rate"), state.events.get("base_rate_any"))
                if state.events and same
                else (None, None)
            ),
            quantiles=state.quantiles,
        )


def require_finite(forecast: np.ndarray, origins: np.ndarray, data: Series | Panel) -> np.ndarray:
    """``forecast`` ``[N, H]`` from ``origins`` of ``data`` (global rows of a panel) when every value is
    a finite number; else a DataError naming the first origin whose forecast is not, and its series.
    Values far outside the range the model was trained on overflow on their way through the network,
    and a NaN must not reach the metrics (scikit-learn refuses it) or a report."""
    bad = np.flatnonzero(~np.isfinite(forecast).all(axis=1))
    if not len(bad):
        return forecast
    origin = int(origins[bad[0]])
    source, row = data.source, origin
    if isinstance(data, Panel):
        k = int(np.searchsorted(data.offsets, origin, side="right") - 1)
        source, row = f"{data.source} ({data.id_col} {data.ids[k]!r})", origin - int(data.offsets[k])
    where = str(data.index[origin]) if data.index is not None else f"row {row + 1}"
    if len(bad) == 1:
        what, whose, they = "1 forecast is not a finite number, from", "its", "it"
    else:
        what, whose, they = f"{len(bad):,} forecasts are not finite numbers, the first from", "their", "they"
    raise DataError(
        f"{source}: {what} origin {where} ({whose} input is far outside the range the model was trained on); "
        f"{they} cannot be scored"
    )


def stored_events(state: FittedState) -> EventSettings | None:
    """The event settings a model keeps (trained with a threshold), resolved, or None."""
    record = state.events
    if not record:
        return None
    prob = record.get("alert_prob")
    if prob is not None and state.paths is not None:  # alerts from the probability
        return EventSettings(float(record["threshold"]), record["event"], None, int(record["tolerance"]), False, prob)
    return EventSettings(
        float(record["threshold"]), record["event"], float(record["alert_level"]), int(record["tolerance"])
    )


def baseline_forecasts(
    state: FittedState, target: np.ndarray, origins: np.ndarray, starts: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Every baseline's forecasts from ``origins`` of ``target`` in the units of ``target``,
    ``[n_origins, horizon]``; ``starts`` (each origin's series' first row) for a panel, whose
    ``target`` is then in each series' scaled units (its model's ``scaler`` is the identity). A model
    with a linear path also has its start's forecasts (``LINEAR_START``): the network before training,
    scored beside the baselines but not one of them (see ``lstmcast.evaluation.score_report``)."""
    horizon = state.horizon
    out = {
        "naive": naive(target, origins, horizon),
        "seasonal_naive": seasonal_naive(target, origins, horizon, state.season, starts),
        "drift": drift(target, origins, horizon, starts),
        "mean": mean_forecast(target, origins, horizon, starts),
    }
    scaled_target = state.scaler.transform_target(target)
    if state.ridge is not None:  # models saved before 0.2 have no ridge baseline
        out["ridge"] = state.scaler.inverse_target(state.ridge.predict(scaled_target, origins))
    if state.start is not None:  # none without a linear path, or in a model saved before it was kept
        out[LINEAR_START] = state.scaler.inverse_target(state.start.predict(scaled_target, origins))
    return out


def build_report(
    target: np.ndarray,
    origins: np.ndarray,
    forecast: np.ndarray,
    baselines: Mapping[str, np.ndarray],
    scoring: Scoring,
    *,
    alert_levels: np.ndarray | None = None,
    alert_probs: np.ndarray | None = None,
    index: pd.DatetimeIndex | None = None,
    bands: Bands | None = None,
    quantiles: np.ndarray | None = None,
    chances: tuple[np.ndarray, np.ndarray] | None = None,
    groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """The report (docs/evaluation.md#the-report) of ``forecast`` and ``baselines`` from ``origins``
    of ``target``, ``[n_origins, horizon]`` each in original units. ``alert_levels`` gives one alert
    level per origin where they differ (pooled backtest folds that each tuned their own), and
    ``alert_probs`` one alert probability per origin for a model alerting from probabilities. A model
    with intervals has them scored (``intervals``, ``coverage_80``, ...): from ``bands`` where given
    (pooled backtest folds, each with its own), else from ``scoring.intervals``. A model with
    quantiles has ``quantiles`` ``[n_origins, horizon, Q]`` (original units, see ``quantile_values``)
    scored at ``scoring.quantiles``' levels (``quantiles``, ``pinball``, ``crps``). A threshold model's
    event probabilities come from ``scoring.paths``, or are ``chances`` where given (each step's
    ``[n_origins, horizon]`` and any step's ``[n_origins]``: pooled backtest folds, each its own).
    ``groups``: each origin's series, where ``target`` holds many end to end (``lstmcast.events``)."""
    if chances is None and scoring.events is not None and scoring.paths is not None and len(origins):
        chances = forecast_event_chances(scoring, target, origins, forecast)
    report = score_report(
        target,
        origins,
        forecast,
        baselines,
        scoring.target_scale,
        scoring.mase_scale,
        scoring.events,
        alert_levels,
        index=index,
        probability=chances[0] if chances is not None else None,
        alert_probs=alert_probs,
        groups=groups,
    )
    report["baselines"]["seasonal_naive"]["season"] = scoring.season
    if scoring.ridge_alpha is not None and "ridge" in report["baselines"]:
        report["baselines"]["ridge"]["alpha"] = scoring.ridge_alpha
    if bands is None and scoring.intervals is not None:
        bands = interval_bands(scoring, target, origins, forecast)
    if bands is not None and len(origins):
        actual = np.asarray(target, dtype=np.float64)[origins[:, None] + np.arange(forecast.shape[1])]
        report["intervals"] = interval_scores(actual, bands)
        for name, scores in report["intervals"].items():
            report[f"coverage_{name}"] = scores["coverage"]
    if scoring.quantiles is not None and quantiles is not None and len(origins):
        actual = np.asarray(target, dtype=np.float64)[origins[:, None] + np.arange(forecast.shape[1])]
        report["quantiles"] = quantile_scores(actual, quantiles, scoring.quantiles.levels)
        report["pinball"], report["crps"] = report["quantiles"]["pinball"], report["quantiles"]["crps"]
    if chances is not None:
        report["probabilities"] = _probability_report(scoring, target, origins, *chances)
        report["brier"] = report["probabilities"]["step"]["brier"]
        report["brier_skill"] = report["probabilities"]["step"]["brier_skill"]
    return report


def forecast_event_chances(
    scoring: Scoring, target: np.ndarray, origins: np.ndarray, forecast: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The model's probability of each step's event ``[N, H]`` and of any step's ``[N]``, from
    ``forecast`` (original units) at ``origins`` of ``target``: the report's, and the reliability
    diagram's."""
    assert scoring.events is not None and scoring.paths is not None
    spread = origin_spread(scoring, target, origins, scoring.window_norm)
    return event_probabilities(scoring.paths, forecast, spread, scoring.events.level, scoring.events.event)


def held_out_event_chances(
    scoring: Scoring, target: np.ndarray, origins: np.ndarray, forecast: np.ndarray, path_origins: np.ndarray
) -> np.ndarray:
    """``forecast_event_chances``' per-step probabilities ``[N, H]`` at the origins the model's error
    paths were taken from (``path_origins``: the validation part's), each leaving out the paths
    within a horizon of it (``lstmcast.intervals.held_out_probabilities``)."""
    assert scoring.events is not None and scoring.paths is not None
    spread = origin_spread(scoring, target, origins, scoring.window_norm)
    level, event = scoring.events.level, scoring.events.event
    return held_out_probabilities(scoring.paths, path_origins, forecast, spread, origins, level, event)


def origin_spread(scoring: Scoring, target: np.ndarray, origins: np.ndarray, window_norm: str) -> np.ndarray:
    """Each origin's input-window spread ``[N, 1]`` in the target's units under ``window_norm``: what
    interval offsets, quantile offsets and error paths are in units of, measured as the model measured
    it (in scaled units, so times the target's scale)."""
    lookback = scoring.lookback
    windows = np.asarray(target, dtype=np.float64)[origins[:, None] - lookback + np.arange(lookback)]  # [N, L]
    return window_spread(windows / scoring.target_scale, window_norm) * scoring.target_scale


def _probability_report(
    scoring: Scoring, target: np.ndarray, origins: np.ndarray, step: np.ndarray, anywhere: np.ndarray
) -> dict[str, Any]:
    """How good the event probabilities are, per step and for any step of the horizon: Brier score,
    its skill against the training part's base rate, and a reliability table."""
    assert scoring.events is not None
    target = np.asarray(target, dtype=np.float64)
    level, event = scoring.events.level, scoring.events.event
    actual = target[origins[:, None] + np.arange(step.shape[1])]
    happened = actual > level if event == "above" else actual < level
    base, base_any = scoring.base_rates
    return {
        "step": probability_scores(step, happened, base),
        "any": probability_scores(anywhere, happened.any(axis=1), base_any),
    }


Bands = dict[float, tuple[np.ndarray, np.ndarray]]  # level -> (low, high), each [n_origins, horizon]


def interval_bands(scoring: Scoring, target: np.ndarray, origins: np.ndarray, forecast: np.ndarray) -> Bands:
    """Every level's band around ``forecast`` (original units) from ``origins`` of ``target``: the
    model's offsets times each input window's spread, measured as the model measured it (in scaled
    units, so times the target's scale)."""
    assert scoring.intervals is not None
    return scoring.intervals.bands(forecast, origin_spread(scoring, target, origins, scoring.intervals.window_norm))


def quantile_values(
    scoring: Scoring, target: np.ndarray, origins: np.ndarray, forecast: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """The model's quantiles ``[N, H, Q]`` (original units, sorted) around ``forecast`` from its head's
    ``offsets`` at ``origins`` of ``target``, with each input window's spread measured as the model
    measured it (in scaled units, so times the target's scale)."""
    assert scoring.quantiles is not None
    spread = origin_spread(scoring, target, origins, scoring.quantiles.window_norm)
    return scoring.quantiles.values(forecast, offsets, spread)


OPTIMISTIC = "those scores are optimistic"  # what origins on rows training saw mean for a report


def in_sample_origins(
    state: FittedState, series: Series, origins: np.ndarray, consequence: str = OPTIMISTIC, part: str = "val"
) -> int | None:
    """How many origins forecast rows that training or early stopping saw (``part`` "val"), or that
    training alone did ("train") (None when the series has no times to tell); warns when any do,
    saying ``consequence``."""
    seen = state.training.get("parts", {}).get(part, {}).get("end")
    if series.index is None or not isinstance(seen, str):  # a row number: the model was trained without times
        return None
    try:
        seen_until = pd.Timestamp(seen)
        count = int(np.sum(series.index[origins] <= seen_until))
    except (ValueError, TypeError):  # e.g. time zones that do not compare; nothing to report
        return None
    if count:
        warnings.warn(
            f"{series.source}: {count} of {len(origins)} origins forecast rows the model was "
            f"{'trained or early-stopped' if part == 'val' else 'trained'} on (up to {seen}); {consequence}",
            DataWarning,
            stacklevel=3,
        )
    return count


def panel_in_sample_origins(
    state: FittedState, panel: Panel, origins: np.ndarray, consequence: str = OPTIMISTIC, part: str = "val"
) -> int | None:
    """``in_sample_origins`` for a model of many series: how many global ``origins`` forecast rows
    that training or early stopping saw of their own series (``part`` "val"), or that training alone
    did ("train") (None when there are no times, the model does not record them, or one of the two
    has a zone and the other not, as ``in_sample_origins`` gives for one series); warns when any do,
    naming the first few series."""
    assert state.panel is not None
    until = state.panel.seen_until if part == "val" else state.panel.train_until
    if panel.index is None or until is None or state.panel.zone_differs(panel.index.tz):
        return None
    owner = np.searchsorted(panel.offsets, origins, side="right") - 1
    seen = nanoseconds(panel.index)[origins] <= until[state.panel.positions(panel.ids)][owner]  # [n]
    count = int(seen.sum())
    if count:
        names = format_ids([panel.ids[k] for k in np.unique(owner[seen])], limit=3)
        warnings.warn(
            f"{panel.source}: {count} of {len(origins)} origins forecast rows the model was "
            f"{'trained or early-stopped' if part == 'val' else 'trained'} on ({panel.id_col} {names}); {consequence}",
            DataWarning,
            stacklevel=3,
        )
    return count
