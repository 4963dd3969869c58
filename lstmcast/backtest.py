"""Walk-forward backtests: how a forecaster would have done had it been used in the past.

The last ``test_frac`` of the rows is cut into ``folds`` consecutive blocks. Fold k's model is
trained (scaler, ridge start, early stopping on its own validation part) on every row before its
block only, then forecasts from every ``stride``-th origin in the block, all origins in batched
passes. Forecasts may run past the block's end: those rows are still unseen by that fold's model.
With ``retrain=False`` the first fold's model forecasts every block.

The result has the shape of ``Forecaster.evaluate``'s report, pooled over every fold's origins,
plus a ``folds`` list with each fold's own report. Pooled scores that need a training part (the
scaled errors, MASE, a quantile threshold) use the first fold's, the data before the whole
backtest span, so nothing from a test block leaks into them.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from lstmcast.config import WindowConfig
from lstmcast.errors import ConfigError, DataError, held_warnings
from lstmcast.evaluation import EventSettings
from lstmcast.fitting import fittable_series
from lstmcast.forecast import Forecaster
from lstmcast.panel_report import FoldEvents, panel_fold_events, series_units
from lstmcast.report import build_report, forecast_event_chances, interval_bands
from lstmcast.train import EpochReport
from lstmcast.validate import Panel, Series, leave_out_short, validate_frame, validate_panel
from lstmcast.window import longest_useful_stride, ranges, rolling_origins, rows_needed


@dataclass(frozen=True)
class Fold:
    """Test block ``[start, stop)``: its model saw only the rows before ``start``."""

    number: int  # from 1
    start: int
    stop: int


def plan_folds(n_rows: int, folds: int, window: WindowConfig, source: str = "<frame>") -> list[Fold]:
    """``folds`` consecutive test blocks over the last ``window.test_frac`` of ``n_rows`` rows."""
    if folds < 1:
        raise ConfigError(f"--folds must be at least 1; got {folds}")
    if window.test_frac <= 0:
        raise ConfigError("a backtest needs --test-frac above 0: it is the part of the rows the folds test on")
    n_test = round(n_rows * window.test_frac)
    if n_test // folds < window.horizon:
        raise DataError(
            f"{source}: the last {n_test} rows (test_frac {window.test_frac:g}) are too few for {folds} folds: "
            f"each fold tests on at least horizon ({window.horizon}) rows; raise --test-frac or lower --folds"
        )
    first = n_rows - n_test
    needed = rows_needed(WindowConfig(window.lookback, window.horizon, window.val_frac, 0.0, window.scaler))
    if first < needed:
        raise DataError(
            f"{source}: fold 1 would train on the first {first} rows, too few for lookback {window.lookback} + "
            f"horizon {window.horizon} with val_frac {window.val_frac:g} (need {needed}); lower --test-frac"
        )
    bounds = first + np.linspace(0, n_test, folds + 1).round().astype(int)
    return [Fold(k + 1, int(bounds[k]), int(bounds[k + 1])) for k in range(folds)]


@dataclass(frozen=True)
class FoldResult:
    """What a finished fold reports to ``on_fold`` (the CLI prints a line per fold)."""

    fold: Fold
    folds: int
    trained: bool  # False when --no-retrain reused the first fold's model
    record: dict[str, Any]


def _check_every_fold_has_an_origin(
    plan: list[Fold], origins: np.ndarray, stride: int, source: str, rows: tuple[int, int, int]
) -> None:
    """A fold with no origin to forecast from would be trained for nothing and score nothing. The
    origins lie on one grid from the first fold's start, so the stride that works is not simply the
    shortest fold's length: the message names the largest that does (``rows``: the series' length,
    lookback and horizon)."""
    n_rows, lookback, horizon = rows
    # Any stride beyond the span of the origins leaves only the first, as the one given does: the
    # search starts within the span, not at a stride of 10**18.
    span = n_rows - horizon - max(lookback, plan[0].start)
    for fold in plan:
        if not np.any((origins >= fold.start) & (origins < fold.stop)):
            largest = next(s for s in range(min(stride - 1, span), 0, -1) if _every_fold_has_one(plan, s, rows))
            raise DataError(
                f"{source}: with --stride {stride}, fold {fold.number} of {len(plan)} has no forecast origin "
                f"(the origins step from the first fold's start); --stride {largest} is the largest that gives "
                "every fold one, or use fewer --folds"
            )


def _every_fold_has_one(plan: list[Fold], stride: int, rows: tuple[int, int, int]) -> bool:
    n_rows, lookback, horizon = rows
    origins = rolling_origins(n_rows, lookback, horizon, stride, first=plan[0].start)
    return all(np.any((origins >= fold.start) & (origins < fold.stop)) for fold in plan)


def backtest(
    template: Forecaster,
    frame: pd.DataFrame,
    folds: int = 5,
    *,
    retrain: bool = True,
    stride: int = 1,
    threshold: float | str | None = None,
    event: str | None = None,
    alert_level: float | None = None,
    tolerance: int | None = None,
    tune_alert_level: bool = False,
    alert_prob: float | None = None,
    tune_alert_prob: bool = False,
    on_fold: Callable[[FoldResult], None] | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """Walk-forward backtest of ``template``'s settings (an unfitted ``Forecaster``) on ``frame``.
    With ``id_col``, every series of the long table is backtested by one model per fold
    (``backtest_panel``); series too short for the folds are left out with a warning, or with
    ``strict`` are a DataError. With ``tune_alert_level`` or ``tune_alert_prob`` every trained fold
    tunes its own on its validation part, and the pooled report scores each origin's alerts with its
    fold's."""
    if stride < 1:
        raise ConfigError(f"--stride must be at least 1; got {stride}")
    events = EventSettings.from_options(
        threshold, event, alert_level, tolerance, tune_alert_level, alert_prob, tune_alert_prob
    )
    settings = template.settings()
    if settings.data.id_col is not None:
        panel = validate_panel(frame, settings.data, settings.data.id_col)
        return backtest_panel(
            template,
            panel,
            folds,
            retrain=retrain,
            stride=stride,
            on_fold=on_fold,
            on_epoch=on_epoch,
            strict=strict,
            events=events if events is not None else template.events,
        )
    events = events if events is not None else template.events
    series = validate_frame(frame, settings.data)
    plan = plan_folds(len(series), folds, settings.window, series.source)
    origins = rolling_origins(len(series), template.lookback, template.horizon, stride, first=plan[0].start)
    rows = (len(series), template.lookback, template.horizon)
    _check_every_fold_has_an_origin(plan, origins, stride, series.source, rows)
    target = series.values[:, 0].astype(np.float64)

    records: list[dict[str, Any]] = []
    parts: list[dict[Any, np.ndarray]] = []
    model: Forecaster | None = None
    first: Forecaster | None = None
    for fold in plan:
        trained = retrain or model is None
        if trained:
            with _fold_warnings(fold.number, len(plan)):
                model = _train_fold(template, series, fold, events, first, on_epoch)
            first = first or model
        assert model is not None and first is not None
        fold_origins = origins[(origins >= fold.start) & (origins < fold.stop)]
        forecast, quantiles = model.forecasts_and_quantiles(series, fold_origins)  # each fold's own
        forecasts = {"model": forecast, **model.baseline_forecasts(series, fold_origins)}
        alert, prob = _fold_alerts(model)
        parts.append({"origins": fold_origins, ALERT: np.full(len(fold_origins), alert), **forecasts})
        parts[-1][ALERT_PROB] = np.full(len(fold_origins), prob)
        if model.intervals_ is not None:  # each fold's own bands, pooled as they are
            bands = interval_bands(model.scoring(), target, fold_origins, forecasts["model"])
            parts[-1].update({(BAND, level, side): band[side] for level, band in bands.items() for side in (0, 1)})
        if quantiles is not None:
            parts[-1][QUANTILES] = quantiles
        scoring = model.scoring()
        if scoring.events is not None and scoring.paths is not None and len(fold_origins):
            # Each fold's own error paths: the pooled report must not read every fold's with the first's.
            step, anywhere = forecast_event_chances(scoring, target, fold_origins, forecasts["model"])
            parts[-1].update({CHANCE_STEP: step, CHANCE_ANY: anywhere})
        record = _fold_record(model, series, target, fold, fold_origins, forecasts, trained, quantiles)
        records.append(record)
        if on_fold is not None:
            on_fold(FoldResult(fold, len(plan), trained, record))

    assert first is not None
    report = _pooled_report(first, series, target, parts)
    report["folds"] = records
    report["backtest"] = {
        "folds": len(plan),
        "retrain": retrain,
        "stride": stride,
        "test_rows": len(series) - plan[0].start,
        "source": series.source,
    }
    return report


def _fold_warnings(number: int, count: int) -> contextlib.AbstractContextManager[list[warnings.WarningMessage]]:
    """The warnings of fold ``number``'s training, said again with the fold named ("fold 2 of 5: ..."):
    the same warning from every fold otherwise reads as one problem repeated, and one fold's as a
    problem of the whole run. Said even when the fold fails, so what led to the error shows."""
    return held_warnings(lambda warning: f"fold {number} of {count}: {warning.message}")


def _train_fold(
    template: Forecaster,
    series: Series,
    fold: Fold,
    events: EventSettings | None,
    first: Forecaster | None,
    on_epoch: Callable[[EpochReport], None] | None,
) -> Forecaster:
    """A fresh model with ``template``'s settings, trained on the rows before ``fold``'s block.
    A quantile threshold is taken from the first fold's training part, so every fold judges
    events against the same value."""
    if events is not None and first is not None:
        events = events.resolve(first.target_quantiles_)
    model = Forecaster(**{**template.get_params(), "test_frac": 0.0})
    return model.fit_series(series.head(fold.start), on_epoch, events=events, score=False)


def _fold_alerts(model: Forecaster) -> tuple[float, float]:
    """A fold's alert level and alert probability (NaN when it has none), one per origin when pooled."""
    if not model.events_:
        return np.nan, np.nan
    prob = model.events_.get("alert_prob")
    return float(model.events_["alert_level"]), np.nan if prob is None else float(prob)


def _stamp(series: Series, row: int) -> str | int:
    return str(series.index[row]) if series.index is not None else row


def _fold_record(
    model: Forecaster,
    series: Series,
    target: np.ndarray,
    fold: Fold,
    origins: np.ndarray,
    forecasts: dict[str, np.ndarray],
    trained: bool,
    quantiles: np.ndarray | None = None,
) -> dict[str, Any]:
    baselines = {name: forecast for name, forecast in forecasts.items() if name != "model"}
    # Each fold fits its own ridge, so its penalty is reported per fold.
    metrics = build_report(
        target, origins, forecasts["model"], baselines, model.scoring(), index=series.index, quantiles=quantiles
    )
    return {
        "fold": fold.number,
        "trained": trained,
        "train_rows": int(model.training_["rows"]),
        "test_start": _stamp(series, fold.start),
        "test_end": _stamp(series, fold.stop - 1),
        "best_epoch": model.best_epoch_,
        "epochs_run": len(model.history_),
        "val_mse": model.val_mse_,
        "events": model.events_,
        "metrics": metrics,
    }


def _pooled_report(
    first: Forecaster, series: Series, target: np.ndarray, parts: list[dict[Any, np.ndarray]]
) -> dict[str, Any]:
    """One report over every fold's origins, scaled by the first fold's training part."""
    pooled = _pool(parts)
    origins, alerts, forecast = pooled.pop("origins"), pooled.pop(ALERT), pooled.pop("model")
    probs = pooled.pop(ALERT_PROB)
    quantiles = pooled.pop(QUANTILES, None)  # every fold's own, [n, H, Q]
    chances = (pooled.pop(CHANCE_STEP), pooled.pop(CHANCE_ANY)) if CHANCE_STEP in pooled else None
    bands = _pooled_bands(pooled)
    scoring = replace(first.scoring(), ridge_alpha=None)  # the folds' ridges differ: no one penalty
    alert_levels = alerts if scoring.events is not None and np.unique(alerts).size > 1 else None
    by_probability = scoring.events is not None and scoring.events.alert_prob is not None
    alert_probs = probs if by_probability and np.unique(probs).size > 1 else None
    return build_report(
        target,
        origins,
        forecast,
        pooled,
        scoring,
        alert_levels=alert_levels,
        alert_probs=alert_probs,
        index=series.index,
        bands=bands,
        quantiles=quantiles,
        chances=chances,
    )


ALERT, ALERT_PROB = "alert", "alert_prob"  # parts' keys of each origin's fold's alert level and probability
QUANTILES = "quantiles"  # parts' key of each fold's quantiles
CHANCE_STEP, CHANCE_ANY = "chance_step", "chance_any"  # ... of each fold's event probabilities
BAND = "band"  # parts' keys ("band", level, 0 or 1) hold each fold's interval bands, low and high


def _pooled_bands(pooled: dict[Any, np.ndarray]) -> dict[float, tuple[np.ndarray, np.ndarray]] | None:
    """The folds' bands taken out of ``pooled`` (which then holds only forecasts), by level; None
    without intervals."""
    keys = [key for key in pooled if isinstance(key, tuple) and key[0] == BAND]
    if not keys:
        return None
    parts = {key: pooled.pop(key) for key in keys}
    levels = sorted({key[1] for key in keys})
    return {level: (parts[(BAND, level, 0)], parts[(BAND, level, 1)]) for level in levels}


# -- many series --------------------------------------------------------------------------------------


def plan_panel_folds(panel: Panel, folds: int, window: WindowConfig, strict: bool = False) -> tuple[Panel, np.ndarray]:
    """Every series' folds as ``plan_folds`` plans one series': the last ``test_frac`` of its rows cut
    into ``folds`` blocks; series ``k`` tests fold ``j`` on its rows ``[bounds[k, j], bounds[k, j + 1])``
    (counted from its first row), ``bounds`` ``[S, folds + 1]``. Series too short for that (a block
    shorter than the horizon, or too few rows before the first block to train on) are left out with
    one warning, or with ``strict`` are a DataError; the panel returned holds the others."""
    if folds < 1:
        raise ConfigError(f"--folds must be at least 1; got {folds}")
    if window.test_frac <= 0:
        raise ConfigError("a backtest needs --test-frac above 0: it is the part of the rows the folds test on")
    needed = rows_needed(WindowConfig(window.lookback, window.horizon, window.val_frac, 0.0, window.scaler))

    def sizes(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_test = np.rint(lengths * window.test_frac).astype(np.int64)  # half to even, as round() in plan_folds
        return n_test, lengths - n_test

    n_test, first = sizes(panel.lengths)
    why = (
        f"to backtest ({folds} folds of at least horizon {window.horizon} rows in the last test_frac "
        f"{window.test_frac:g}, after at least {needed} rows to train on)"
    )
    panel = leave_out_short(panel, (n_test // folds < window.horizon) | (first < needed), why, strict)
    n_test, first = sizes(panel.lengths)
    # Series flat over fold 1's training rows would be left out of every fold's model: leave them out now.
    fold_window = WindowConfig(window.lookback, window.horizon, window.val_frac, 0.0, window.scaler, window.season)
    fitted = fittable_series(panel.heads(first), fold_window, strict)
    panel = panel.select(pd.Index(fitted.ids).get_indexer(list(panel.ids)) >= 0)
    n_test, first = sizes(panel.lengths)
    bounds = first[:, None] + np.linspace(0, n_test, folds + 1, axis=1).round().astype(np.int64)  # [S, folds + 1]
    return panel, bounds


def backtest_panel(
    template: Forecaster,
    panel: Panel,
    folds: int = 5,
    *,
    retrain: bool = True,
    stride: int = 1,
    on_fold: Callable[[FoldResult], None] | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    strict: bool = False,
    events: EventSettings | None = None,
) -> dict[str, Any]:
    """Walk-forward backtest of one model over many series: fold ``j``'s model is trained on every
    series' rows before its own fold-``j`` block (each series split, scaled and early-stopped as
    ``train --id-col`` does), then forecasts every ``stride``-th origin of every series' block. The
    report has the shape of a model of many series' (pooled in each series' units, per series) with
    ``folds``; the pooled one scales every series by the first fold's statistics, and scores each
    fold's forecasts against that fold's own baselines. With ``events``, every fold judges a series
    by the threshold the first fold resolved for it (a quantile of the first fold's training part),
    and the pooled report scores each origin's alerts and probabilities with its fold's."""
    panel, bounds = plan_panel_folds(panel, folds, template.settings().window, strict)
    horizon = template.horizon
    # Every stride-th origin from each series' first test row, while a whole horizon fits.
    step = longest_useful_stride(stride, panel.lengths)
    counts = np.maximum((panel.lengths - horizon - bounds[:, 0]) // step + 1, 0)  # [S]
    owner = np.repeat(np.arange(len(panel.ids)), counts)
    local = bounds[owner, 0] + step * (ranges(np.zeros_like(counts), counts))  # rows counted in each series
    fold_of = (local[:, None] >= bounds[owner, 1:-1]).sum(axis=1)  # [n] 0-based
    origins = panel.offsets[owner] + local
    for j in range(folds):
        if not np.any(fold_of == j):
            raise DataError(
                f"{panel.source}: with --stride {stride}, fold {j + 1} of {folds} has no forecast origin in any "
                "series; use a smaller --stride, or fewer --folds"
            )
    records: list[dict[str, Any]] = []
    parts: list[dict[Any, np.ndarray]] = []
    model: Forecaster | None = None
    first: Forecaster | None = None
    for j in range(folds):
        trained = retrain or model is None
        if trained:
            model = Forecaster(**{**template.get_params(), "test_frac": 0.0})
            with _fold_warnings(j + 1, folds):
                model.fit_panel(
                    panel.heads(bounds[:, j]), on_epoch, strict=strict, events=events, thresholds=_thresholds(first)
                )
            first = first or model
        assert model is not None and first is not None
        chosen = fold_of == j
        fold_origins = origins[chosen]
        forecast, quantiles = model.panel_forecasts_and_quantiles(panel, fold_origins)  # each fold's own
        baselines = model.panel_baselines(panel, fold_origins)
        parts.append({"origins": fold_origins, "model": forecast, **baselines})
        if events is not None:
            parts[-1].update(_fold_event_parts(model, first, panel, fold_origins, forecast))
        bands = model.panel_bands(panel, fold_origins, forecast)
        if bands is not None:  # each fold's own bands, pooled as they are
            parts[-1].update({(BAND, level, side): band[side] for level, band in bands.items() for side in (0, 1)})
        if quantiles is not None:
            parts[-1][QUANTILES] = quantiles
        fold = Fold(j + 1, int(bounds[:, j].min()), int(bounds[:, j + 1].max()))
        record = {
            "fold": j + 1,
            "trained": trained,
            "train_rows": int(model.training_["rows"]),
            "test_start": _panel_stamp(panel, bounds[:, j], min),
            "test_end": _panel_stamp(panel, bounds[:, j + 1] - 1, max),
            "best_epoch": model.best_epoch_,
            "epochs_run": len(model.history_),
            "val_mse": model.training_["val_mse"],
            "events": model.events_,
            "metrics": model.panel_report(panel, fold_origins, forecast, baselines, quantiles=quantiles),
        }
        records.append(record)
        if on_fold is not None:
            on_fold(FoldResult(fold, folds, trained, record))
    assert first is not None
    pooled = _pool(parts)
    # Fold by fold, every series' origins come again: in row order, each series' origins are one
    # block, as scoring its events (which may run across a fold's edge) needs.
    order = np.argsort(pooled["origins"], kind="stable")
    pooled = {key: values[order] for key, values in pooled.items()}
    all_origins, forecast = pooled.pop("origins"), pooled.pop("model")
    quantiles = pooled.pop(QUANTILES, None)
    fold_events = _pooled_fold_events(pooled)
    bands = _pooled_bands(pooled)
    report = first.panel_report(panel, all_origins, forecast, pooled, bands, quantiles, fold_events)
    report["folds"] = records
    report["backtest"] = {
        "folds": folds,
        "retrain": retrain,
        "stride": stride,
        "test_rows": int((panel.lengths - bounds[:, 0]).sum()),
        "series": len(panel.ids),
        "source": panel.source,
    }
    return report


def _thresholds(first: Forecaster | None) -> pd.Series | None:
    """The first fold's threshold of every series it resolved, by id: what later folds judge by."""
    if first is None or first.state_.panel is None or first.state_.panel.events is None:
        return None
    return pd.Series(first.state_.panel.events.thresholds, index=list(first.state_.panel.ids))


def _fold_event_parts(
    model: Forecaster, first: Forecaster, panel: Panel, origins: np.ndarray, forecast: np.ndarray
) -> dict[Any, np.ndarray]:
    """A fold's alert offsets (in the first fold's units), alert probability and event
    probabilities at its ``origins``, to pool."""
    state = model.state_
    scaled = series_units(state, panel, origins, forecast, scaled=False)
    offsets, prob, chances = panel_fold_events(state, first.state_, panel, origins, scaled)
    out: dict[Any, np.ndarray] = {ALERT: offsets, ALERT_PROB: np.full(len(origins), prob)}
    if chances is not None:
        out.update({CHANCE_STEP: chances[0], CHANCE_ANY: chances[1]})
    return out


def _pooled_fold_events(pooled: dict[Any, np.ndarray]) -> FoldEvents | None:
    """The pooled folds' ``FoldEvents``, taken out of ``pooled`` (None without events)."""
    if ALERT not in pooled:
        return None
    offsets, probs = pooled.pop(ALERT), pooled.pop(ALERT_PROB)
    step, anywhere = pooled.pop(CHANCE_STEP, None), pooled.pop(CHANCE_ANY, None)
    chances = (step, anywhere) if step is not None and anywhere is not None else None
    same = np.isnan(probs).all() or np.unique(probs).size == 1  # then the first fold's P says it
    return FoldEvents(offsets, None if same else probs, chances)


def _pool(parts: list[dict[Any, np.ndarray]]) -> dict[Any, np.ndarray]:
    """Every fold's arrays concatenated, key by key, for the keys every fold has: a forecaster that only
    some folds score (a linear start, say) cannot be pooled over all of them, so it is left out."""
    shared = [key for key in parts[0] if all(key in part for part in parts[1:])]
    return {key: np.concatenate([part[key] for part in parts]) for key in shared}


def _panel_stamp(panel: Panel, rows: np.ndarray, pick: Callable[[Any], Any]) -> str | int:
    """The earliest (``min``) or latest (``max``) of each series' row ``rows[k]``: a time, or without
    a time column the row number within the series."""
    if panel.index is None:
        return int(pick(rows))
    return str(pick(panel.index[panel.offsets[:-1] + rows]))
