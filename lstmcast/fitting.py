"""Fitting a state: from a validated series and settings to a ``FittedState`` and its torch network.

``fit_state`` is what ``Forecaster.fit``, every backtest fold and every tune trial run: split in
time order, choose the season, fit the scaler and the ridge baseline on the training part, choose
the start's coordinates, build the network from its ridge start, train it with early stopping,
and resolve the threshold events (tuning the alert level on the validation part when asked).
``forecast_origins`` runs the network over many origins at once in torch, for scoring.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from lstmcast import __version__
from lstmcast.baselines import Ridge, fit_panel_ridges, fit_ridge, fitted_season, season_length
from lstmcast.config import (
    AUTO,
    AUTO_WINDOW_MARGIN,
    AUTO_WINDOW_NORMS,
    ModelConfig,
    Settings,
    WindowConfig,
    auto_segment,
)
from lstmcast.errors import DataError, DataWarning
from lstmcast.evaluation import EventSettings
from lstmcast.events import (
    EVEN_ODDS,
    Quantile,
    comparison,
    training_quantiles,
    tune_alert_level,
    tune_alert_prob,
    why_no_event,
)
from lstmcast.intervals import Intervals, check_calibration, fit_intervals, kept_paths, window_spread
from lstmcast.intervals import keep_paths as keep_error_paths
from lstmcast.metrics import mase_scale, panel_mase_scale
from lstmcast.models import ForecastNetwork, build_model
from lstmcast.panel_report import RelativeEvents, panel_target, relative_events
from lstmcast.quantiles import Quantiles, fit_shifts
from lstmcast.quantiles import check_calibration as check_quantile_calibration
from lstmcast.report import Scoring, held_out_event_chances, require_finite
from lstmcast.runtime.frames import check_output_names
from lstmcast.scale import Scaler, fit_panel_scaler, fit_scaler
from lstmcast.state import FittedState, PanelEvents, PanelState
from lstmcast.train import (
    EpochReport,
    FitResult,
    HeadFit,
    TensorWindows,
    fit,
    fit_quantile_heads,
    predict_quantile_offsets,
    predict_windows,
    resolve_device,
)
from lstmcast.validate import Panel, Series, format_ids, nanoseconds
from lstmcast.window import PanelSplit, Split, chronological_split, panel_split


@dataclass(frozen=True)
class Fitted:
    """A fitted state with the torch network it holds the weights of, and the split it was fitted on."""

    state: FittedState
    network: ForecastNetwork
    split: Split


def fit_state(
    series: Series,
    settings: Settings,
    *,
    events: EventSettings | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    levels: tuple[float, ...] = (),
) -> Fitted:
    """Fit ``settings`` to ``series``; the state's ``metrics`` are empty (the test part is not
    looked at: see ``Forecaster.score_test``). With ``levels`` (percentages), conformal intervals."""
    window_cfg, train_cfg = settings.window, settings.train
    lookback, horizon = window_cfg.lookback, window_cfg.horizon
    split = chronological_split(len(series), window_cfg, series.source)
    season = fitted_season(window_cfg.season, series, split.train_end)  # a season that does not fit fails here
    scaler = fit_scaler(window_cfg.scaler, series.values[: split.train_end])
    train_origins = split.origins("train", lookback, horizon)
    val_origins = split.origins("val", lookback, horizon)
    scaled, scaled_target = scaler.transform(series.values), scaler.transform_target(series.values[:, 0])
    trained = _train_network(
        settings,
        season,
        scaled,
        scaled_target,
        (train_origins, val_origins),
        on_epoch,
        should_stop,
        levels=levels,
        source=series.source,
        keep_paths=events is not None,
    )
    model_cfg, ridge, network, result = trained.model, trained.ridge, trained.network, trained.result
    # Validation MSE in the target's units: scalers are affine, so this compares across scalers.
    unit = float(scaler.scale[0]) ** 2
    train_target = series.values[: split.train_end, 0].astype(np.float64)
    training = describe_training(series, split)
    training.update(_training_record(result, unit, trained.head))
    state = FittedState(
        data=settings.data,
        window=window_cfg,
        model=model_cfg,
        train=train_cfg,
        columns=series.columns,
        time_col=series.time_col,
        frequency=series.frequency,
        season=season,
        scaler=scaler,
        ridge=ridge,
        mase_scale=mase_scale(train_target, season),
        target_quantiles=training_quantiles(train_target),
        events=None,
        training=training,
        history=result.history,
        metrics={},
        weights=numpy_weights(network),
        intervals=trained.intervals,
        paths=trained.paths,
        quantiles=trained.quantiles,
        start=trained.start,
        versions={"lstmcast": __version__, "torch": torch.__version__.split("+")[0]},
    )
    fitted = Fitted(state, network, split)
    if events is not None:
        fitted = dataclasses.replace(fitted, state=state.replace(events=event_record(fitted, series, events)))
    return fitted


def _training_record(result: FitResult, unit: float, head: HeadFit | None = None) -> dict[str, Any]:
    """How training went, for the state's ``training``: validation MSEs times ``unit`` (the target's
    scale squared for one series, back in its units; 1 for many series, each in its own), and how
    the quantile head trained (its validation pinball loss in scaled units)."""
    record: dict[str, Any] = {
        "best_epoch": result.best_epoch,
        "val_mse": result.best_val_loss * unit,
        "start_val_mse": result.start_val_loss * unit if math.isfinite(result.start_val_loss) else None,
        "epochs_run": len(result.history),
        "stopped_early": result.stopped_early,
        "threads": torch.get_num_threads(),
    }
    if head is not None:
        record["quantile_head"] = {
            "best_epoch": head.best_epoch,
            "epochs_run": head.epochs_run,
            "val_pinball": head.best_val_loss,
            "start_val_pinball": head.start_val_loss,
        }
    return record


@dataclass(frozen=True)
class _Trained:
    model: ModelConfig  # segment and window_norm resolved
    ridge: Ridge  # the baseline, on the raw (scaled) window
    network: ForecastNetwork
    result: FitResult
    intervals: Intervals | None
    paths: np.ndarray | None  # validation error paths, kept for event probabilities
    quantiles: Quantiles | None = None  # the quantile head's levels and conformal corrections
    head: HeadFit | None = None  # how the quantile head trained
    start: Ridge | None = None  # the ridge the linear path started from (None without one)


def _train_network(
    settings: Settings,
    season: int,
    scaled: np.ndarray,
    scaled_target: np.ndarray,
    origins: tuple[np.ndarray, np.ndarray],
    on_epoch: Callable[[EpochReport], None] | None,
    should_stop: Callable[[], bool] | None,
    train_groups: np.ndarray | None = None,
    levels: tuple[float, ...] = (),
    source: str = "<frame>",
    keep_paths: bool = False,
) -> _Trained:
    """The network of ``settings`` on the scaled values ``[rows, F]`` (``scaled_target``: column 0 in
    float64, for the ridges): the ridge baseline and the start fitted on the training windows, the
    network built from that start and trained with early stopping. What one series and a panel
    share; the windows are whatever origins are given (``train_groups``: each training origin's
    series, for sampling per series). With ``levels``, the trained network's validation residuals
    give the conformal intervals (``lstmcast.intervals``)."""
    window_cfg, model_cfg, train_cfg = settings.window, settings.model, settings.train
    lookback, horizon = window_cfg.lookback, window_cfg.horizon
    train_origins, val_origins = origins
    if levels:
        check_calibration(len(val_origins), levels, source)  # before training, not after
    if model_cfg.quantiles:
        check_quantile_calibration(len(val_origins), model_cfg.quantiles, source)
    device = resolve_device(train_cfg.device)
    if model_cfg.segment == AUTO:  # a number of steps once the season is known
        model_cfg = dataclasses.replace(model_cfg, segment=auto_segment(lookback, season))
    ridge = fit_ridge(scaled_target, train_origins, val_origins, lookback, horizon)
    model_cfg, start = choose_start(model_cfg, ridge, scaled_target, train_origins, val_origins, lookback, horizon)
    torch.manual_seed(train_cfg.seed)
    network = build_model(model_cfg, scaled.shape[1], lookback, horizon).to(device)
    windows = tensor_windows(scaled, lookback, horizon, device)
    if start is not None:
        # The untrained model's forecast is the ridge's; training keeps epoch 0 unless an epoch
        # beats it on validation, so it can only improve on it.
        weight = torch.as_tensor(start.weight.T, dtype=torch.float32, device=device)  # [H, L]
        network.start_from_linear(weight, torch.as_tensor(start.bias, dtype=torch.float32, device=device))
    result = fit(network, windows, train_origins, val_origins, train_cfg, on_epoch, should_stop, train_groups)
    intervals, paths = None, None
    if levels or keep_paths:  # the trained network's errors on the validation part
        forecast = predict_windows(network, windows, torch.as_tensor(val_origins, device=device)).cpu().numpy()
        actual = scaled_target[val_origins[:, None] + np.arange(horizon)]  # [N, H]
        spread = window_spread(
            scaled_target[val_origins[:, None] - lookback + np.arange(lookback)], model_cfg.window_norm
        )
        if levels:
            intervals = fit_intervals(actual - forecast, spread, levels, model_cfg.window_norm, source)
        if keep_paths and len(val_origins):
            paths = keep_error_paths(actual - forecast, spread)
    quantiles, head = None, None
    if model_cfg.quantiles:
        quantiles, head = _fit_quantiles(network, windows, origins, scaled_target, settings, model_cfg, source)
    return _Trained(model_cfg, ridge, network, result, intervals, paths, quantiles, head, start)


def _fit_quantiles(
    network: ForecastNetwork,
    windows: TensorWindows,
    origins: tuple[np.ndarray, np.ndarray],
    scaled_target: np.ndarray,
    settings: Settings,
    model_cfg: ModelConfig,
    source: str,
) -> tuple[Quantiles, HeadFit]:
    """The trained network's quantile head (``lstmcast.quantiles``), fitted on the training windows
    with the network frozen, and its conformal corrections from the validation part."""
    train_origins, val_origins = origins
    lookback, horizon = settings.window.lookback, settings.window.horizon
    head = fit_quantile_heads(network, windows, train_origins, val_origins, model_cfg.quantiles, settings.train)
    index = torch.as_tensor(val_origins, device=windows.values.device)
    forecast, offsets = (
        part.cpu().numpy().astype(np.float64) for part in predict_quantile_offsets(network, windows, index)
    )
    actual = scaled_target[val_origins[:, None] + np.arange(horizon)]  # [N, H]
    spread = window_spread(scaled_target[val_origins[:, None] - lookback + np.arange(lookback)], model_cfg.window_norm)
    quantiles = fit_shifts(actual, forecast, offsets, spread, model_cfg.quantiles, model_cfg.window_norm, source)
    return quantiles, head


def numpy_weights(network: ForecastNetwork) -> dict[str, np.ndarray]:
    """The network's weights as numpy arrays of their own (the fitted state's)."""
    return {name: value.detach().cpu().numpy().copy() for name, value in network.state_dict().items()}


def choose_start(
    model_cfg: ModelConfig,
    ridge: Ridge,
    scaled_target: np.ndarray,
    train_origins: np.ndarray,
    val_origins: np.ndarray,
    lookback: int,
    horizon: int,
) -> tuple[ModelConfig, Ridge | None]:
    """The window normalisation (resolved in the returned settings) and the ridge the linear path
    starts from: a ridge fitted in the model's own coordinates (the normalised window), or None
    without a linear path. ``window_norm="auto"`` takes the first of ``AUTO_WINDOW_NORMS`` unless
    another's ridge forecasts the validation part with an MSE at least ``AUTO_WINDOW_MARGIN`` lower
    (then the best of those). ``ridge`` is the baseline, on the raw window."""
    if not model_cfg.linear and model_cfg.window_norm != AUTO:
        return model_cfg, None
    candidates = AUTO_WINDOW_NORMS if model_cfg.window_norm == AUTO else (model_cfg.window_norm,)
    ridges = [
        ridge
        if norm == "none"  # the baseline already works in these coordinates
        else fit_ridge(scaled_target, train_origins, val_origins, lookback, horizon, window_norm=norm)
        for norm in candidates
    ]
    errors = [r.mse(scaled_target, val_origins) for r in ridges]
    best = min(range(len(ridges)), key=lambda i: errors[i])
    if errors[best] > (1 - AUTO_WINDOW_MARGIN) * errors[0]:  # not clearly better than the first
        best = 0
    model_cfg = dataclasses.replace(model_cfg, window_norm=candidates[best])
    return model_cfg, ridges[best] if model_cfg.linear else None


def event_record(fitted: Fitted, series: Series, events: EventSettings) -> dict[str, Any]:
    """The event settings resolved on the training part (a quantile becomes a value), with the alert
    level or the alert probability tuned on the validation part when asked: what the model keeps as
    ``events``."""
    given = events.threshold
    resolved = events.resolve(fitted.state.target_quantiles)
    record: dict[str, Any] = {
        "threshold": resolved.level,
        "quantile": given.q if isinstance(given, Quantile) else None,
        "event": resolved.event,
        "alert_level": resolved.alert(),
        "tolerance": resolved.tolerance,
        "alert_level_tuning": None,
        "alert_prob": resolved.alert_prob,
        **_base_rates(fitted, series, resolved),
    }
    if resolved.tune_alert_level:
        tuned = _tune_alert_level(fitted, series, resolved)
        record["alert_level_tuning"] = tuned
        if tuned is not None:
            record["alert_level"] = tuned["alert_level"]
    if resolved.tune_alert_prob:
        tuned = _tune_alert_prob(fitted, series, resolved)
        record["alert_prob_tuning"] = tuned
        record["alert_prob"] = tuned["alert_prob"] if tuned is not None else EVEN_ODDS
    return record


def _base_rates(fitted: Fitted, series: Series, events: EventSettings) -> dict[str, float | None]:
    """How often the training part is beyond the threshold, per row (``base_rate``) and per horizon
    (``base_rate_any``: the share of its windows of ``horizon`` rows with any row beyond): what event
    probabilities are scored against, as a forecast that always says the same."""
    train = series.values[: fitted.split.train_end, 0].astype(np.float64)
    beyond = comparison(events.event)(train, events.level)
    if len(beyond) and not beyond.any():
        warnings.warn(
            f"{series.source}: no training row is {events.event} the threshold {events.level:g} (it is at or past "
            "the training part's extreme); the event probabilities learn nothing about such values and may be "
            "far off",
            DataWarning,
            stacklevel=6,
        )
    horizon = fitted.state.horizon
    if len(beyond) < horizon:
        return {"base_rate": float(beyond.mean()) if len(beyond) else None, "base_rate_any": None}
    windows = np.lib.stride_tricks.sliding_window_view(beyond, horizon)  # [n - H + 1, H], a view
    return {"base_rate": float(beyond.mean()), "base_rate_any": float(windows.any(axis=1).mean())}


def _tune_alert_level(fitted: Fitted, series: Series, events: EventSettings) -> dict[str, Any] | None:
    state = fitted.state
    origins = fitted.split.origins("val", state.lookback, state.horizon)
    target = series.values[:, 0].astype(np.float64)
    forecast = forecast_origins(fitted.network, state, series, origins)
    tuned = tune_alert_level(target, forecast, origins, events.level, events.event, events.tolerance)
    if tuned is None:
        reason = why_no_event(target, origins, state.horizon, events.level, events.event)
        warnings.warn(
            f"{series.source}: {reason} to tune the alert level on; alerts use the threshold {events.level:g}",
            DataWarning,
            stacklevel=5,
        )
        return None
    return {"part": "val", "n_origins": int(len(origins)), **tuned}


def _tune_alert_prob(fitted: Fitted, series: Series, events: EventSettings) -> dict[str, Any] | None:
    """The alert probability with the best event F1 on the validation part, from probabilities that
    leave out, for each origin, the error paths of origins within a horizon of it (the paths are this
    part's own errors: scored on themselves they would put every event's probability near 1)."""
    state = fitted.state
    origins = fitted.split.origins("val", state.lookback, state.horizon)
    target = series.values[:, 0].astype(np.float64)
    untuned = f"{series.source}: the alert probability is {EVEN_ODDS:g}, untuned:"
    if state.paths is None or not len(origins):
        warnings.warn(f"{untuned} the validation part has no forecast origin", DataWarning, stacklevel=5)
        return None
    forecast = forecast_origins(fitted.network, state, series, origins)
    path_origins = origins[kept_paths(len(origins))]  # the origins state.paths were taken from
    try:
        probability = held_out_event_chances(Scoring.of(state, events), target, origins, forecast, path_origins)
    except DataError as exc:
        warnings.warn(f"{untuned} {exc}", DataWarning, stacklevel=5)
        return None
    tuned = tune_alert_prob(target, probability, origins, events.level, events.event, events.tolerance)
    if tuned is None:
        reason = why_no_event(target, origins, state.horizon, events.level, events.event)
        warnings.warn(f"{untuned} {reason} to tune it on", DataWarning, stacklevel=5)
        return None
    return {"part": "val", "n_origins": int(len(origins)), "paths": int(len(state.paths)), **tuned}


def forecast_origins(network: ForecastNetwork, state: FittedState, series: Series, origins: np.ndarray) -> np.ndarray:
    """Forecasts from every origin in original units, ``[n_origins, horizon]``: batched passes of the
    torch network (fast for thousands of origins). One that is not a finite number is a DataError
    (``report.require_finite``)."""
    return series_forecasts(network, state, series, origins)[0]


def series_forecasts(
    network: ForecastNetwork, state: FittedState, series: Series, origins: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """``forecast_origins``' forecasts and, for a model with quantiles, the quantile head's offsets
    ``[n_origins, horizon, Q]`` from the same pass (``_network_pass``)."""
    with np.errstate(over="ignore"):  # values far outside the training range: refused below
        scaled_values = state.scaler.transform(series.values)
    scaled, offsets = _network_pass(network, state, scaled_values, origins)
    return require_finite(state.scaler.inverse_target(scaled), origins, series), offsets


def _network_pass(
    network: ForecastNetwork, state: FittedState, scaled_values: np.ndarray, origins: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """The scaled forecasts ``[n, horizon]`` from ``origins`` of ``scaled_values [rows, F]`` and, for a
    model with quantiles, the head's offsets ``[n, horizon, Q]`` (spread units, float64): one batched
    pass of the network, which a model's point forecast and its quantiles share."""
    device = next(network.parameters()).device
    windows = tensor_windows(scaled_values, state.lookback, state.horizon, device)
    index = torch.as_tensor(origins, device=device)
    if state.quantiles is None:
        return predict_windows(network, windows, index).cpu().numpy(), None
    if not len(origins):
        return np.zeros((0, state.horizon), np.float32), np.zeros((0, state.horizon, len(state.model.quantiles)))
    points, offsets = predict_quantile_offsets(network, windows, index)
    return points.cpu().numpy(), offsets.cpu().numpy().astype(np.float64)


def series_offsets(network: ForecastNetwork, state: FittedState, series: Series, origins: np.ndarray) -> np.ndarray:
    """The quantile head's offsets ``[n_origins, horizon, Q]`` from ``origins`` of one series
    (lstmcast.quantiles); for a model with quantiles."""
    offsets = series_forecasts(network, state, series, origins)[1]
    assert offsets is not None, "a model without quantiles"
    return offsets


def torch_network(state: FittedState, device: str) -> ForecastNetwork:
    """The state's network as a torch module on ``device``, in eval mode."""
    network = build_model(state.model, len(state.columns), state.lookback, state.horizon)
    network.load_state_dict({name: torch.from_numpy(np.array(value)) for name, value in state.weights.items()})
    return network.to(resolve_device(device)).eval()


def tensor_windows(scaled: np.ndarray, lookback: int, horizon: int, device: torch.device) -> TensorWindows:
    return TensorWindows(torch.from_numpy(scaled).to(device), lookback, horizon)  # [n, F]


def describe_training(series: Series, split: Split) -> dict[str, Any]:
    """The training record's data part: source, rows and each part's extent."""

    def stamp(row: int) -> str | int:
        return str(series.index[row]) if series.index is not None else row

    parts = {"train": (0, split.train_end), "val": (split.train_end, split.val_end), "test": (split.val_end, split.n)}
    return {
        "source": series.source,
        "rows": len(series),
        "parts": {
            name: {"rows": stop - start, "start": stamp(start), "end": stamp(stop - 1)}
            for name, (start, stop) in parts.items()
            if stop > start
        },
    }


# -- many series, one network ---------------------------------------------------------------------


@dataclass(frozen=True)
class FittedPanel:
    """A state fitted on a panel, its network, the series it was fitted on and their split."""

    state: FittedState
    network: ForecastNetwork
    split: PanelSplit
    panel: Panel  # the series fitted: those left out (too short, or flat in training) are not in it


def fit_panel_state(
    panel: Panel,
    settings: Settings,
    *,
    on_epoch: Callable[[EpochReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    strict: bool = False,
    levels: tuple[float, ...] = (),
    events: EventSettings | None = None,
    thresholds: pd.Series | None = None,
) -> FittedPanel:
    """One network for every series of ``panel``: each series split in time order and scaled by its
    own training rows, the windows of all series together (none crosses a series) for the ridge
    start, training and early stopping. Series too short for every part to hold a window, or whose
    target is the same value on every training row (no scale to learn it in), are left out with one
    warning each naming the first few (with ``strict``, a DataError): the model does not know them.
    None left is a DataError. With ``events``, each series gets its threshold (a number for all, or
    each one's own training quantile, or its value in ``thresholds``: an id-indexed Series, for a
    backtest whose folds must all judge a series by one value) and alert level
    (``panel_event_record``)."""
    window_cfg, train_cfg = settings.window, settings.train
    lookback, horizon = window_cfg.lookback, window_cfg.horizon
    check_output_names(
        panel.columns[0],
        panel.time_col,
        events is not None,
        panel.source,
        levels,
        id_col=panel.id_col,
        quantiles=settings.model.quantiles,
    )
    if events is not None:
        events.check_many_series()
    series_total = len(panel.ids)
    panel = fittable_series(panel, window_cfg, strict)
    split = panel_split(panel.offsets, window_cfg)
    season = window_cfg.season or season_length(panel.frequency)
    shortest = int(np.min((split.train_end - panel.offsets[:-1])[split.fits]))
    if season >= shortest:
        season = fitted_season(window_cfg.season, panel.series(int(np.flatnonzero(split.fits)[0])), shortest)
    scaler = fit_panel_scaler(window_cfg.scaler, panel.values, panel.offsets, split.train_end)
    scaled = scaler.transform(panel.values, panel.offsets)  # [rows, F], each series in its own units
    train_origins, val_origins = split.origins("train", lookback, horizon), split.origins("val", lookback, horizon)
    # One ridge start over all series' windows, none crossing a series.
    scaled_target = scaled[:, 0].astype(np.float64)
    series_of = np.searchsorted(panel.offsets, train_origins, side="right") - 1  # each origin's series
    trained = _train_network(
        settings,
        season,
        scaled,
        scaled_target,
        (train_origins, val_origins),
        on_epoch,
        should_stop,
        series_of,
        levels=levels,
        source=panel.source,
        keep_paths=events is not None,
    )
    model_cfg, ridge, network, result = trained.model, trained.ridge, trained.network, trained.result
    columns = len(panel.columns)
    state = FittedState(
        data=settings.data,
        window=window_cfg,
        model=model_cfg,
        train=train_cfg,
        columns=panel.columns,
        time_col=panel.time_col,
        frequency=panel.frequency,
        season=season,
        # The per-series statistics are the panel's; ridge and the scaled errors work in those units.
        scaler=Scaler(window_cfg.scaler, np.zeros(columns), np.ones(columns)),
        ridge=ridge,
        mase_scale=None,
        target_quantiles=None,
        events=None,
        training={
            "source": panel.source,
            "rows": int(panel.offsets[-1]),
            "series": series_total,
            "series_fitted": len(panel.ids),
            "train_windows": len(train_origins),
            "val_windows": len(val_origins),
            **_training_record(result, 1.0, trained.head),  # validation MSEs in each series' own scaled units
        },
        history=result.history,
        metrics={},
        weights=numpy_weights(network),
        intervals=trained.intervals,
        paths=trained.paths,
        quantiles=trained.quantiles,
        start=trained.start,
        versions={"lstmcast": __version__, "torch": torch.__version__.split("+")[0]},
        panel=PanelState(
            panel.ids,
            scaler,
            # The baselines of every report: each series' own ridge and MASE denominator, in its units.
            fit_panel_ridges(scaled_target, panel.offsets, train_origins, val_origins, lookback, horizon),
            panel_mase_scale(scaled_target, panel.offsets, split.train_end, season),
            _seen_until(panel, split),
            _seen_until(panel, split, part="train"),
            # Those times are UTC for zoned times and wall-clock for others: later times must be of their kind.
            time_zone=str(panel.index.tz) if panel.index is not None and panel.index.tz is not None else None,
            time_zone_known=True,
        ),
    )
    fitted = FittedPanel(state, network, split, panel)
    if events is not None:
        record, per_series = panel_event_record(fitted, events, thresholds)
        state = state.replace(events=record, panel=dataclasses.replace(state.panel, events=per_series))
        fitted = dataclasses.replace(fitted, state=state)
    return fitted


def panel_event_record(
    fitted: FittedPanel, events: EventSettings, given: pd.Series | None = None
) -> tuple[dict[str, Any], PanelEvents]:
    """The event settings of a model of many series, resolved on each series' training part, with the
    alert level or probability tuned on the validation part of all series together when asked: the
    ``events`` record every series shares, and each series' threshold and alert level.

    A number is every series' threshold; ``qP`` gives each series its own training part's P quantile.
    A tuned alert level is one distance from each series' threshold, in each series' scaled units
    (``alert_offset``), chosen for the best event F1 over every series' validation part, each series'
    events its own (``lstmcast.events``). ``given`` (by id) replaces a quantile's per-series values
    for the series it names."""
    state, panel, split = fitted.state, fitted.panel, fitted.split
    assert state.panel is not None
    series = np.repeat(np.arange(len(panel.ids)), panel.lengths)  # each row's series
    training = np.arange(len(panel.values)) < split.train_end[series]
    target = panel.values[:, 0].astype(np.float64)
    if isinstance(events.threshold, Quantile):
        # Each series' own quantile, interpolated as np.quantile does, in one grouped pass.
        thresholds = pd.Series(target[training]).groupby(series[training]).quantile(events.threshold.q).to_numpy()
        if given is not None:
            thresholds = given.reindex(list(panel.ids)).fillna(pd.Series(thresholds, index=list(panel.ids))).to_numpy()
    else:
        thresholds = np.full(len(panel.ids), float(events.threshold))
    common = None if isinstance(events.threshold, Quantile) else float(events.threshold)
    alert_level = events.alert_level if events.alert_level is not None else common
    alert_levels = thresholds.copy() if alert_level is None else np.full(len(panel.ids), alert_level)
    per_series = PanelEvents(thresholds, alert_levels)
    record: dict[str, Any] = {
        "threshold": common,
        "quantile": events.threshold.q if isinstance(events.threshold, Quantile) else None,
        "event": events.event,
        "alert_level": alert_level,
        "alert_offset": None,
        "tolerance": events.tolerance,
        "alert_level_tuning": None,
        "alert_prob": events.alert_prob,
        **_panel_base_rates(panel, split.train_end, thresholds, events.event, state.horizon),
    }
    state = state.replace(events=record, panel=dataclasses.replace(state.panel, events=per_series))
    if events.tune_alert_level:
        tuned = _tune_panel_alert_level(dataclasses.replace(fitted, state=state))
        record["alert_level_tuning"] = tuned
        if tuned is not None:
            offset = tuned["alert_offset"]
            record.update(alert_offset=offset, alert_level=None)
            per_series = PanelEvents(thresholds, thresholds + offset * state.panel.scaler.scale[:, 0])
    if events.tune_alert_prob:
        tuned = _tune_panel_alert_prob(dataclasses.replace(fitted, state=state))
        record["alert_prob_tuning"] = tuned
        record["alert_prob"] = tuned["alert_prob"] if tuned is not None else EVEN_ODDS
    return record, per_series


def _panel_validation(fitted: FittedPanel) -> tuple[np.ndarray, np.ndarray, np.ndarray, RelativeEvents]:
    """Every series' validation origins (global rows), the target and the model's forecasts from them,
    relative to each series' threshold (``lstmcast.panel_report.RelativeEvents``), and that view."""
    state, panel = fitted.state, fitted.panel
    origins = fitted.split.origins("val", state.lookback, state.horizon)
    relative = relative_events(state, panel, origins)
    assert relative is not None
    forecast, _ = panel_pass(fitted.network, state, panel, origins)  # each series' scaled units
    return origins, panel_target(state, panel) - relative.row_threshold, relative.shift(forecast, origins), relative


def _tune_panel_alert_level(fitted: FittedPanel) -> dict[str, Any] | None:
    """``_tune_alert_level`` for many series: one distance from each series' threshold, in each
    series' scaled units (``alert_offset``), with the best event F1 over all series' validation parts."""
    origins, target, forecast, relative = _panel_validation(fitted)
    events, horizon = relative.settings, fitted.state.horizon
    tuned = None
    if len(origins):
        tuned = tune_alert_level(target, forecast, origins, 0.0, events.event, events.tolerance, groups=relative.groups)
    if tuned is None:
        reason = (
            why_no_event(target, origins, horizon, 0.0, events.event, groups=relative.groups)
            if len(origins)
            else "the validation part has no forecast origin"
        )
        warnings.warn(
            f"{fitted.panel.source}: {reason} to tune the alert level on; alerts use each series' threshold",
            DataWarning,
            stacklevel=6,
        )
        return None
    # Levels relative to each series' threshold in its scaled units: offsets, so named.
    curve = [{"alert_offset": point.pop("alert_level"), **point} for point in tuned.pop("curve")]
    offset = tuned.pop("alert_level")
    return {"part": "val", "n_origins": int(len(origins)), "alert_offset": offset, **tuned, "curve": curve}


def _tune_panel_alert_prob(fitted: FittedPanel) -> dict[str, Any] | None:
    """``_tune_alert_prob`` for many series: each validation origin's probability without the error
    paths near it, alerts tuned over every series' validation part together."""
    state = fitted.state
    untuned = f"{fitted.panel.source}: the alert probability is {EVEN_ODDS:g}, untuned:"
    origins, target, forecast, relative = _panel_validation(fitted)
    if state.paths is None or not len(origins):
        warnings.warn(f"{untuned} the validation part has no forecast origin", DataWarning, stacklevel=6)
        return None
    path_origins = origins[kept_paths(len(origins))]  # the origins state.paths were taken from
    try:
        probability = held_out_event_chances(relative.scoring(state), target, origins, forecast, path_origins)
    except DataError as exc:
        warnings.warn(f"{untuned} {exc}", DataWarning, stacklevel=6)
        return None
    events = relative.settings
    tuned = tune_alert_prob(target, probability, origins, 0.0, events.event, events.tolerance, groups=relative.groups)
    if tuned is None:
        reason = why_no_event(target, origins, state.horizon, 0.0, events.event, groups=relative.groups)
        warnings.warn(f"{untuned} {reason} to tune it on", DataWarning, stacklevel=6)
        return None
    return {"part": "val", "n_origins": int(len(origins)), "paths": int(len(state.paths)), **tuned}


def _panel_base_rates(
    panel: Panel, train_end: np.ndarray, thresholds: np.ndarray, event: str, horizon: int
) -> dict[str, float | None]:
    """``_base_rates`` pooled over every series' training rows (``train_end``: each series' first row
    after them), each row beyond its own series' threshold or not; windows of ``horizon`` rows lie
    within one series' training part."""
    series = np.repeat(np.arange(len(panel.ids)), panel.lengths)  # each row's series
    rows = np.arange(len(series))
    training = rows < train_end[series]
    beyond = comparison(event)(panel.values[:, 0].astype(np.float64), thresholds[series]) & training
    if not beyond.any():
        warnings.warn(
            f"{panel.source}: no training row of any series is {event} its threshold (each is at or past its "
            "series' extreme); the event probabilities learn nothing about such values and may be far off",
            DataWarning,
            stacklevel=6,
        )
    counts = np.concatenate(([0], np.cumsum(beyond)))
    whole = rows + horizon <= train_end[series]  # the windows inside a series' training part
    windows = counts[rows[whole] + horizon] - counts[rows[whole]] > 0
    return {
        "base_rate": float(beyond[training].mean()),
        "base_rate_any": float(windows.mean()) if len(windows) else None,
    }


def _seen_until(panel: Panel, split: PanelSplit, part: str = "val") -> np.ndarray | None:
    """Each series' time (ns) of the last row training or early stopping saw (``part`` "val"), or of
    its last training row ("train"); the earliest time there is for a series that gave none (None
    without a time column)."""
    if panel.index is None:
        return None
    end = split.val_end if part == "val" else split.train_end
    saw = end > panel.offsets[:-1]
    last = nanoseconds(panel.index)[np.maximum(end - 1, 0)]
    return np.where(saw, last, np.iinfo(np.int64).min).astype(np.int64)


def fittable_series(panel: Panel, window: WindowConfig, strict: bool = False) -> Panel:
    """The series of ``panel`` a model can be fitted on, the others left out with a warning naming the
    first few (``strict``: a DataError): too short for every part of the split to hold a window, or a
    target that is one value on every training row. A flat series' scale would be 0 (it falls back to
    1, the target's own units), so its errors would swamp every other series' in the pooled loss and
    the pooled interval offsets; a store closed all of its training months is such a series."""
    split = panel_split(panel.offsets, window)
    if not split.fits.any():
        raise DataError(
            f"{panel.source}: no series is long enough for lookback {window.lookback} + horizon {window.horizon} "
            f"with val_frac {window.val_frac:g} and test_frac {window.test_frac:g}; the longest has "
            f"{int(panel.lengths.max())} rows"
        )
    rows = np.arange(len(panel.values))
    series = np.repeat(np.arange(len(panel.ids)), panel.lengths)
    training = rows < split.train_end[series]
    target = panel.values[:, 0].astype(np.float64)
    low = np.full(len(panel.ids), np.inf)
    high = np.full(len(panel.ids), -np.inf)
    np.minimum.at(low, series[training], target[training])
    np.maximum.at(high, series[training], target[training])
    flat = split.fits & (high <= low)
    for mask, why in ((~split.fits, "too short to split"), (flat, "with one value on every training row")):
        _say_left_out(panel, mask, why, strict)
    if not (split.fits & ~flat).any():
        raise DataError(f"{panel.source}: every series is flat over its training rows; nothing to learn from")
    return panel.select(split.fits & ~flat)


def _say_left_out(panel: Panel, mask: np.ndarray, why: str, strict: bool) -> None:
    """One warning (or with ``strict`` a DataError) naming the first few series flagged in ``mask``."""
    if not mask.any():
        return
    names = format_ids([panel.ids[k] for k in np.flatnonzero(mask)], limit=3)
    what = f"{int(mask.sum()):,} of {len(panel.ids):,} series {why}"
    if strict:
        raise DataError(f"{panel.source}: {what} ({panel.id_col} {names}); --strict refuses them")
    warnings.warn(f"{panel.source}: left out {what} ({panel.id_col} {names})", DataWarning, stacklevel=5)


def panel_forecasts(network: ForecastNetwork, state: FittedState, panel: Panel, origins: np.ndarray) -> np.ndarray:
    """Forecasts from global origins of ``panel`` in each series' scaled units, ``[n, horizon]``, in
    batched torch passes; every series of ``panel`` must be one the state was fitted on. One that is
    not a finite number is a DataError naming its series (``report.require_finite``)."""
    return panel_pass(network, state, panel, origins)[0]


def panel_pass(
    network: ForecastNetwork, state: FittedState, panel: Panel, origins: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """``panel_forecasts``' forecasts and, for a model with quantiles, the head's offsets
    ``[n, horizon, Q]`` from the same pass (``_network_pass``)."""
    assert state.panel is not None
    with np.errstate(over="ignore"):  # values far outside the training range: refused below, by series
        scaled = state.panel.scaler.of(state.panel.positions(panel.ids)).transform(panel.values, panel.offsets)
    forecast, offsets = _network_pass(network, state, scaled, origins)
    return require_finite(forecast.astype(np.float64), origins, panel), offsets
