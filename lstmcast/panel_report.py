"""The report of a model of many series: every series scored in its own scaled units and pooled,
against each series' own baselines, with each series' own rows (``series``), the worst against its
ridge, and a threshold model's events relative to each series' own threshold (``RelativeEvents``).
Built on ``lstmcast.report``, whose one-series builder scores the pooled rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmcast.errors import ConfigError
from lstmcast.evaluation import LINEAR_START, EventSettings, alerting_values
from lstmcast.events import Quantile, events_by_group, f1_of, ratio
from lstmcast.intervals import (
    level_name,
)
from lstmcast.metrics import skill
from lstmcast.quantiles import quantile_name
from lstmcast.report import (
    Bands,
    Scoring,
    baseline_forecasts,
    build_report,
    forecast_event_chances,
    interval_bands,
    quantile_values,
)
from lstmcast.state import FittedState, PanelEvents
from lstmcast.validate import Panel


def panel_target(state: FittedState, panel: Panel) -> np.ndarray:
    """The target of every series of ``panel`` in its own scaled units (the state's statistics for
    it), ``[rows]`` float64."""
    assert state.panel is not None
    positions = state.panel.positions(panel.ids)
    return state.panel.scaler.of(positions).transform(panel.values, panel.offsets)[:, 0].astype(np.float64)


def series_units(
    state: FittedState, panel: Panel, origins: np.ndarray, forecasts: np.ndarray, *, scaled: bool = True
) -> np.ndarray:
    """Forecasts ``[n, H]`` from global ``origins`` of ``panel`` turned from each series' scaled
    units (the state's statistics for it) into its original units, or back with ``scaled=False``."""
    assert state.panel is not None
    owner = state.panel.positions(panel.ids)[np.searchsorted(panel.offsets, origins, side="right") - 1]  # [n]
    center = state.panel.scaler.center[owner, :1]  # [n, 1]
    scale = state.panel.scaler.scale[owner, :1]
    return forecasts * scale + center if scaled else (forecasts - center) / scale


def panel_baselines(state: FittedState, panel: Panel, origins: np.ndarray, starts: np.ndarray) -> dict[str, np.ndarray]:
    """Every baseline's forecasts from global ``origins`` of ``panel``, each series' own (naive,
    seasonal naive, drift, mean, and its own ridge; a series too short for one gets the ridge fitted
    over all series), ``[n, H]`` in each series' scaled units."""
    assert state.panel is not None
    positions = state.panel.positions(panel.ids)
    target = panel_target(state, panel)
    owner = np.searchsorted(panel.offsets, origins, side="right") - 1  # [n]: each origin's series
    baselines = baseline_forecasts(state, target, origins, starts)  # "ridge" here: the one over all series
    ridges = state.panel.ridge
    if ridges is not None:
        own = ridges.predict(target, origins, positions[owner])
        baselines["ridge"] = np.where(ridges.fitted[positions[owner]][:, None], own, baselines["ridge"])
    return baselines


def panel_report(
    state: FittedState,
    panel: Panel,
    origins: np.ndarray,
    forecast: np.ndarray,
    starts: np.ndarray,
    baselines: Mapping[str, np.ndarray] | None = None,
    bands: Bands | None = None,
    offsets: np.ndarray | None = None,
    quantiles: np.ndarray | None = None,
    fold_events: FoldEvents | None = None,
) -> dict[str, Any]:
    """The report of a model fitted on many series, from global ``origins`` (``starts``: each one's
    series' first row) and the model's ``forecast`` ``[n, H]`` in each series' scaled units.
    ``fold_events``: a pooled backtest's alerts and probabilities, each fold's own, for a threshold
    model (every fold judging each series by the same threshold, the state's).

    Pooled over every series, errors are in each series' own scaled units (the scaler's, fitted on
    its training rows), so a large series does not drown the rest; every baseline is each series'
    own: naive, seasonal naive, drift, mean and a ridge fitted on that series' windows alone (a
    series too short for its own falls back to the ridge fitted over all series). MASE divides each
    series' errors by its own denominator. ``series`` lists every series' scores in its own units,
    and ``worst_series`` names the one the model does worst on relative to its ridge. ``baselines``
    (in the state's scaled units) replace ``panel_baselines``' where given, and ``bands`` the
    state's intervals: a pooled backtest's, each fold's own. Interval coverage is per series too.
    ``offsets``: the quantile head's at ``origins``, for a model with quantiles (scored pooled), or
    ``quantiles`` ``[n, H, Q]`` in the state's scaled units (a pooled backtest's, each fold's own)."""
    assert state.panel is not None
    positions = state.panel.positions(panel.ids)
    scaler = state.panel.scaler
    target = panel_target(state, panel)
    owner = np.searchsorted(panel.offsets, origins, side="right") - 1  # [n]: each origin's series
    if baselines is None:
        baselines = panel_baselines(state, panel, origins, starts)
    ridges = state.panel.ridge
    alpha = state.ridge.alpha if ridges is None and state.ridge is not None else None  # per series: no one alpha
    scoring = Scoring(1.0, None, state.season, alpha, None, state.intervals, state.lookback, quantiles=state.quantiles)
    if bands is None and state.intervals is not None:
        bands = interval_bands(scoring, target, origins, forecast)
    if quantiles is None and offsets is not None:
        quantiles = quantile_values(scoring, target, origins, forecast, offsets)
    report = _scored(state, panel, origins, target, forecast, baselines, scoring, bands, quantiles, fold_events)
    series_events = report.pop(_SERIES_EVENTS, None)
    _drop_percentages(report)
    mase = state.panel.mase_scale[positions[owner]] if state.panel.mase_scale is not None else None  # [n]
    actual = target[origins[:, None] + np.arange(forecast.shape[1])]  # [n, H]
    if mase is not None:
        _pool_mase(report, actual, forecast, baselines, mase)
    report["units"] = "each series scaled by its own training rows"
    unit = scaler.scale[positions, 0]  # [S]: back to each series' units
    report["series"] = _per_series(
        panel.ids, owner, unit, actual, forecast, baselines.get("ridge"), mase, baselines.get(LINEAR_START)
    )
    if series_events is not None:
        _series_events(report["series"], series_events)
    if bands:
        _series_coverage(report["series"], owner, actual, bands)
    if quantiles is not None and state.quantiles is not None:
        _series_below(report["series"], owner, actual, quantiles, state.quantiles.levels)
    ratios = [(row["mse"] / row["ridge_mse"], row["id"]) for row in report["series"] if row.get("ridge_mse")]
    report["worst_series"] = max(ratios)[1] if ratios else None
    return report


def _scored(
    state: FittedState,
    panel: Panel,
    origins: np.ndarray,
    target: np.ndarray,
    forecast: np.ndarray,
    baselines: Mapping[str, np.ndarray],
    scoring: Scoring,
    bands: Bands | None,
    quantiles: np.ndarray | None,
    fold_events: FoldEvents | None = None,
) -> dict[str, Any]:
    """``build_report`` of a panel's forecasts (each series in its scaled units); a threshold model's
    with every value taken relative to its series' threshold (``RelativeEvents``), which leaves
    errors, coverage and quantile scores as they are and puts every series' threshold at 0."""
    relative = relative_events(state, panel, origins)
    plain = build_report(target, origins, forecast, baselines, scoring, bands=bands, quantiles=quantiles)
    folds_differ = relative is not None and fold_events is not None and _folds_differ(fold_events, relative)
    if relative is not None and fold_events is not None:
        relative = dataclasses.replace(relative, alert_offsets=fold_events.alert_offsets)
    if relative is None:
        return plain
    baselines = {name: relative.shift(values, origins) for name, values in baselines.items()}
    if bands:
        bands = {level: (relative.shift(lo, origins), relative.shift(hi, origins)) for level, (lo, hi) in bands.items()}
    scoring = dataclasses.replace(
        scoring,
        events=relative.settings,
        paths=state.paths,
        window_norm=state.model.window_norm,
        base_rates=relative.base_rates,
    )
    target, forecast = target - relative.row_threshold, relative.shift(forecast, origins)
    alert_probs = fold_events.alert_probs if fold_events is not None else None
    chances = fold_events.chances if fold_events is not None else None
    if chances is None and scoring.paths is not None and relative.settings.alert_prob is not None and len(origins):
        chances = forecast_event_chances(scoring, target, origins, forecast)  # once, for the report and the series
    report = build_report(
        target,
        origins,
        forecast,
        baselines,
        scoring,
        bands=bands,
        quantiles=relative.shift(quantiles, origins) if quantiles is not None else None,
        alert_levels=relative.alert_offsets,
        groups=relative.groups,
        alert_probs=alert_probs,
        chances=chances,
    )
    if len(origins):
        alerting, level = alerting_values(
            relative.settings, forecast, relative.alert_offsets, chances[0] if chances else None, alert_probs
        )
        settings = relative.settings
        report[_SERIES_EVENTS] = events_by_group(
            target, alerting, origins, 0.0, settings.event, level, settings.tolerance, relative.groups
        )
    assert state.events is not None
    record = state.events
    if folds_differ:
        record = {**record, "alert_level": None, "alert_offset": None}  # no one value describes them
    _name_thresholds(report, record, relative)
    _keep_plain_scores(report, plain)
    return report


def _folds_differ(fold_events: FoldEvents, relative: RelativeEvents) -> bool:
    """Whether some fold alerted at another level than the pooled report's model (the first fold's):
    then no one alert level or offset describes the folds. Offsets are compared, not counted: one
    alert level for every series (--alert-level Y) lies at a different offset in each series' scale."""
    own = relative.alert_offsets if relative.alert_offsets is not None else np.zeros(len(fold_events.alert_offsets))
    return not np.allclose(fold_events.alert_offsets, own, rtol=1e-9, atol=1e-12)


def panel_fold_events(
    state: FittedState, pooled: FittedState, panel: Panel, origins: np.ndarray, scaled: np.ndarray
) -> tuple[np.ndarray, float, tuple[np.ndarray, np.ndarray] | None]:
    """One backtest fold's part of a pooled ``FoldEvents``: from ``state`` (the fold's model) at global
    ``origins`` of ``panel`` with its forecasts ``scaled`` (in the fold's scaled units), each origin's
    alert level minus its threshold in the units of ``pooled`` (the model whose statistics the pooled
    report uses), the fold's alert probability (NaN if none) and its event probabilities."""
    assert state.panel is not None and state.panel.events is not None and state.events
    assert pooled.panel is not None and pooled.panel.events is not None
    owner = np.searchsorted(panel.offsets, origins, side="right") - 1
    own, base = state.panel.positions(panel.ids)[owner], pooled.panel.positions(panel.ids)[owner]
    alert = state.panel.events.alert_levels[own] - pooled.panel.events.thresholds[base]
    offsets = alert / pooled.panel.scaler.scale[base, 0]
    prob = state.events.get("alert_prob")
    relative = relative_events(state, panel, origins)
    chances = None
    if relative is not None and state.paths is not None and len(origins):
        target = panel_target(state, panel) - relative.row_threshold
        chances = forecast_event_chances(relative.scoring(state), target, origins, relative.shift(scaled, origins))
    return offsets, np.nan if prob is None else float(prob), chances


@dataclass(frozen=True)
class FoldEvents:
    """A pooled backtest's events of many series, each origin's from its own fold's model."""

    alert_offsets: np.ndarray  # [n] alert level minus threshold, in the pooled report's scaled units
    alert_probs: np.ndarray | None  # [n] for alerts from probabilities, else None
    chances: tuple[np.ndarray, np.ndarray] | None  # each step's [n, H] and any step's [n] probability


_SERIES_EVENTS = "_series_events"  # each series' event counts, from _scored to panel_report's rows


def _series_events(rows: list[dict[str, Any]], counts: dict[str, np.ndarray]) -> None:
    """Each series' own events into its row (rows and counts both in series order, for the series
    with origins): how many happened, were forecast and matched, and its event F1."""
    for k, row in enumerate(rows):
        actual, predicted, matched = (
            int(counts[key][k]) for key in ("actual_events", "predicted_events", "matched_events")
        )
        row.update(actual_events=actual, predicted_events=predicted, matched_events=matched)
        row["event_f1"] = f1_of(ratio(matched, predicted), ratio(matched, actual))


def _keep_plain_scores(report: dict[str, Any], plain: dict[str, Any]) -> None:
    """Every score of ``plain`` (the report of the values themselves, without events) into ``report``
    (scored relative to each series' threshold): errors, R², intervals and quantiles do not depend on
    the threshold, but pooled over series shifted each by its own, R² would, and a far threshold costs
    the shifted values their precision. ``report`` keeps only its event scores."""
    for scores, own in (
        (report, plain),
        *((report["baselines"][name], plain["baselines"][name]) for name in plain["baselines"]),
    ):
        scores.update({key: value for key, value in own.items() if key not in ("baselines", "per_step")})
        for step, plain_step in zip(scores["per_step"], own["per_step"], strict=True):
            step.update(plain_step)


@dataclass(frozen=True)
class RelativeEvents:
    """A threshold model of many series' events on a panel, every series taken relative to its own
    threshold (values minus it, in the series' scaled units), so that one threshold, 0, serves all
    and the series are scored together: pointwise pooled, events within each series."""

    settings: EventSettings  # threshold 0 (each series' own), the event, tolerance and alert probability
    row_threshold: np.ndarray  # [rows] each row's series' threshold, in its scaled units
    alert_offsets: np.ndarray | None  # [n] each origin's alert level relative to its threshold; None: all 0
    groups: np.ndarray  # [n] each origin's series
    base_rates: tuple[float | None, float | None]  # pooled over the training rows of every series

    def scoring(self, state: FittedState) -> Scoring:
        """What scoring ``state``'s event probabilities in these relative units needs: its error
        paths and window norm, one threshold (0), the pooled base rates."""
        return Scoring(
            1.0,
            None,
            state.season,
            None,
            self.settings,
            lookback=state.lookback,
            paths=state.paths,
            window_norm=state.model.window_norm,
            base_rates=self.base_rates,
        )

    def shift(self, values: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """Values ``[n, H, ...]`` forecast from ``origins`` minus their series' threshold."""
        below = self.row_threshold[origins]
        return values - below.reshape(below.shape + (1,) * (values.ndim - 1))


def relative_events(state: FittedState, panel: Panel, origins: np.ndarray) -> RelativeEvents | None:
    """The state's threshold events for global ``origins`` of ``panel`` (series it was fitted on),
    relative to each series' threshold; None for a model without them."""
    assert state.panel is not None
    record, events = state.events, state.panel.events
    if not record or events is None:
        return None
    thresholds, offsets = events.relative(state.panel.scaler, state.panel.positions(panel.ids))
    owner = np.searchsorted(panel.offsets, origins, side="right") - 1
    prob = record.get("alert_prob") if state.paths is not None else None
    alert = offsets[owner]
    return RelativeEvents(
        EventSettings(0.0, record["event"], None, int(record["tolerance"]), False, prob),
        np.repeat(thresholds, panel.lengths),
        alert if np.any(alert != 0) else None,
        owner,
        (record.get("base_rate"), record.get("base_rate_any")),
    )


def with_panel_events(
    state: FittedState,
    threshold: float | str | None = None,
    event: str | None = None,
    alert_level: float | None = None,
    tolerance: int | None = None,
) -> FittedState:
    """A model of many series with the threshold events ``evaluate`` was given: its own when none are
    given (``alert_level`` and ``tolerance`` replacing its own where given), else a number as every
    series' threshold. A quantile is each series' own only as the model was trained with it: the model
    keeps no other quantiles of its series. Options with nothing to act on are a ConfigError."""
    assert state.panel is not None
    record, count = state.events, len(state.panel.ids)
    if threshold is None and record and state.panel.events is not None:
        # The model's own threshold; the other options checked as they would be with one given.
        given = EventSettings.from_options(0.0, event, alert_level, tolerance)
    else:
        given = EventSettings.from_options(threshold, event, alert_level, tolerance)
    if given is None:
        return state
    if isinstance(given.threshold, Quantile):
        if not record or record.get("quantile") != given.threshold.q:
            raise ConfigError(
                f"--threshold {given.threshold}: a model of many series keeps each series' quantile only for the "
                "--threshold it was trained with; give the threshold as a number"
            )
        threshold = None  # the model's own
        if given.event != record["event"]:  # its series' thresholds, the other way: alerts at them
            _refuse_one_alert_level(alert_level, record)
            thresholds = state.panel.events.thresholds
            record = {
                **record,
                "event": given.event,
                "tolerance": given.tolerance,
                "alert_level": None,
                "alert_offset": None,
                "alert_level_tuning": None,
                "alert_prob": None,
                "base_rate": None,
                "base_rate_any": None,
            }
            return state.replace(
                events=record, panel=dataclasses.replace(state.panel, events=PanelEvents(thresholds, thresholds))
            )
    if threshold is None:  # the model's own events, perhaps another alert level or tolerance
        assert record and state.panel.events is not None
        if event is not None and event != record["event"]:
            raise ConfigError(f"--event {event} differs from the model's ({record['event']}); give --threshold too")
        thresholds, alert_levels = state.panel.events.thresholds, state.panel.events.alert_levels
        record = {**record, "tolerance": given.tolerance if tolerance is not None else record["tolerance"]}
        if alert_level is not None:
            if record["threshold"] is None:
                _refuse_one_alert_level(alert_level, record)
            alert_levels = np.full(count, float(alert_level))
            record.update(alert_level=float(alert_level), alert_offset=None, alert_prob=None)
    else:
        value = given.level
        same = bool(record) and record["threshold"] == value and record["event"] == given.event
        thresholds, alert_levels = np.full(count, value), np.full(count, given.alert())
        record = {
            "threshold": value,
            "quantile": None,
            "event": given.event,
            "alert_level": given.alert(),
            "alert_offset": None,
            "tolerance": given.tolerance,
            "alert_prob": None,
            "base_rate": record.get("base_rate") if same and record else None,
            "base_rate_any": record.get("base_rate_any") if same and record else None,
        }
    return state.replace(
        events=record, panel=dataclasses.replace(state.panel, events=PanelEvents(thresholds, alert_levels))
    )


def _refuse_one_alert_level(alert_level: float | None, record: dict[str, Any]) -> None:
    """A ConfigError for an alert level given to a model whose series each have their own quantile
    threshold (evaluate tunes no alert level, so it suggests none)."""
    if alert_level is not None:
        raise ConfigError(
            f"--alert-level {alert_level:g} is one value for every series, but this model's series each have "
            f"their own threshold (q{record['quantile']:g})"
        )


def _name_thresholds(report: dict[str, Any], record: dict[str, Any], relative: RelativeEvents) -> None:
    """The report's threshold fields as the user gave them (scoring put every series' at 0): the
    common threshold and alert level, or null where the series' differ, with the quantile that set
    each series' threshold."""
    for scores in (report, *report["baselines"].values()):
        scores["threshold"] = record["threshold"]
        scores["quantile"] = record.get("quantile")
        scores["alert_offset"] = record.get("alert_offset")
        if scores.get("alert_level") is not None or relative.alert_offsets is not None:
            scores["alert_level"] = record["alert_level"]


def _series_coverage(rows: list[dict[str, Any]], owner: np.ndarray, actual: np.ndarray, bands: Bands) -> None:
    """Each series' share of actual values inside every band (``coverage_80``, ...), into its row."""
    counts = np.bincount(owner)
    for level, (low, high) in bands.items():
        inside = ((actual >= low) & (actual <= high)).mean(axis=1)  # [n] per origin
        share = np.bincount(owner, weights=inside, minlength=len(counts)) / np.maximum(counts, 1)
        seen = np.flatnonzero(counts)  # the rows list the series with origins, in this order
        for row, k in zip(rows, seen, strict=True):
            row[f"coverage_{level_name(level)}"] = float(share[k])


def _series_below(
    rows: list[dict[str, Any]], owner: np.ndarray, actual: np.ndarray, quantiles: np.ndarray, levels: tuple[float, ...]
) -> None:
    """Each series' share of actual values at or below every quantile (``coverage_q0.9``, ...), into its
    row: near the level is right, so a series the quantiles do not fit shows."""
    counts = np.bincount(owner)
    seen = np.flatnonzero(counts)  # the rows list the series with origins, in this order
    for k, level in enumerate(levels):
        below = (actual <= quantiles[:, :, k]).mean(axis=1)  # [n] per origin
        share = np.bincount(owner, weights=below, minlength=len(counts)) / np.maximum(counts, 1)
        for row, series in zip(rows, seen, strict=True):
            row[f"coverage_{quantile_name(level)}"] = float(share[series])


def _drop_percentages(report: dict[str, Any]) -> None:
    """Percentage errors of values scaled around zero say nothing: null them, as for a zero actual."""
    for scores in (report, *report["baselines"].values()):
        for entry in (scores, *scores.get("per_step", [])):
            entry.update({"mape": None, "smape": None, "mape_skipped": None})


def _pool_mase(
    report: dict[str, Any],
    actual: np.ndarray,
    forecast: np.ndarray,
    baselines: Mapping[str, np.ndarray],
    mase: np.ndarray,
) -> None:
    """MASE pooled over series: every error divided by its own series' denominator, then averaged,
    overall and per step; origins of series without a denominator (constant training rows) are left
    out of it."""
    known = np.isfinite(mase)
    for scores, prediction in ((report, forecast), *((report["baselines"][k], v) for k, v in baselines.items())):
        scaled = np.abs(prediction - actual)[known] / mase[known][:, None]  # [n_known, H]
        scores["mase"] = float(scaled.mean()) if scaled.size else None
        for entry, value in zip(scores.get("per_step", []), scaled.mean(axis=0) if scaled.size else [], strict=False):
            entry["mase"] = float(value)


def _per_series(
    ids: tuple[str, ...],
    owner: np.ndarray,
    unit: np.ndarray,
    actual: np.ndarray,
    forecast: np.ndarray,
    ridge: np.ndarray | None,
    mase: np.ndarray | None,
    start: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Each series' test scores: MSE and MAE in its own units, MASE by its own denominator, and the
    same for its ridge, with the model's skill against that ridge; with the network's linear ``start``,
    its MSE too (``start_mse``)."""
    count = len(ids)
    origins_per_series = np.bincount(owner, minlength=count)
    per_origin = np.maximum(origins_per_series, 1)
    denominator = np.full(count, np.nan)
    if mase is not None:
        denominator[owner] = mase

    def averages(prediction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        error = prediction - actual
        mse = np.bincount(owner, weights=(error**2).mean(axis=1), minlength=count) / per_origin
        mae = np.bincount(owner, weights=np.abs(error).mean(axis=1), minlength=count) / per_origin
        return mse, mae  # scaled units

    def number(value: float) -> float | None:
        return float(value) if np.isfinite(value) else None

    model_mse, model_mae = averages(forecast)
    ridge_mse, ridge_mae = averages(ridge) if ridge is not None else (None, None)
    start_mse = averages(start)[0] if start is not None else None
    rows = []
    for k in np.flatnonzero(origins_per_series):
        row: dict[str, Any] = {
            "id": ids[k],
            "n_origins": int(origins_per_series[k]),
            "mse": float(model_mse[k] * unit[k] ** 2),
            "mae": float(model_mae[k] * unit[k]),
            "mase": number(model_mae[k] / denominator[k]),
        }
        if ridge_mse is not None and ridge_mae is not None:
            row["ridge_mse"] = float(ridge_mse[k] * unit[k] ** 2)
            row["ridge_mase"] = number(ridge_mae[k] / denominator[k])
            row["skill"] = skill(row["mse"], row["ridge_mse"])
        if start_mse is not None:
            row["start_mse"] = float(start_mse[k] * unit[k] ** 2)
        rows.append(row)
    return rows
