"""``Forecaster``: the scikit-learn-style estimator behind every command.

``fit(frame)`` validates, then fits a state (``lstmcast.fitting``: split in time order, scaler on
the training part only, training with early stopping) and scores the test part; ``predict(frame)``
forecasts the horizon after the last row, in numpy (``lstmcast.runtime``); ``evaluate(frame)``
scores every rolling origin of any table (``lstmcast.report``); ``save``/``load`` round-trip
through a model directory (``lstmcast.artifact``). What fitting learns is one ``FittedState``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lstmcast import artifact
from lstmcast.config import AUTO, DataConfig, ModelConfig, Settings, TrainConfig, WindowConfig
from lstmcast.errors import ConfigError, DataError, NotFittedError
from lstmcast.evaluation import EventSettings
from lstmcast.events import Quantile, parse_threshold
from lstmcast.intervals import parse_levels, probability_scores
from lstmcast.panel_report import (
    FoldEvents,
    panel_baselines,
    panel_report,
    panel_target,
    series_units,
    with_panel_events,
)
from lstmcast.quantiles import parse_quantiles
from lstmcast.report import (
    Bands,
    Scoring,
    baseline_forecasts,
    build_report,
    in_sample_origins,
    interval_bands,
    panel_in_sample_origins,
    quantile_values,
    stored_events,
)
from lstmcast.runtime import frames
from lstmcast.state import FittedState
from lstmcast.validate import Panel, Series, leave_out_short, validate_frame, validate_panel
from lstmcast.window import chronological_split, panel_rolling_origins, panel_split, rolling_origins

if TYPE_CHECKING:  # torch is imported only to train and to score many origins: predict runs in numpy
    from lstmcast.models import ForecastNetwork
    from lstmcast.train import EpochReport

# The Forecaster's parameters, grouped by the settings class they build: derived from the dataclasses,
# so a new setting is a new field there (and an argument of Forecaster.__init__, which a test checks).
_PARAM_GROUPS: dict[type[Any], tuple[str, ...]] = {
    cls: tuple(field.name for field in dataclasses.fields(cls))
    for cls in (DataConfig, WindowConfig, ModelConfig, TrainConfig)
}


class _Learned:
    """A learned attribute, read from the fitted state (``scaler_`` is ``state_.scaler``)."""

    def __init__(self, read: Callable[[FittedState], Any]) -> None:
        self.read = read

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, forecaster: Forecaster | None, owner: type | None = None) -> Any:
        if forecaster is None:
            return self
        state = forecaster.__dict__.get("state_")
        if state is None:
            raise AttributeError(f"{self.name} is learned: call fit() or Forecaster.load() first")
        return self.read(state)


SKIP_UNKNOWN_NEEDS_MANY = frames.SKIP_UNKNOWN_NEEDS_MANY  # the CLI checks it before reading DATA


def check_stride(stride: int) -> None:
    """A stride between forecast origins that moves: a ConfigError otherwise (the CLI checks it before
    reading DATA)."""
    if stride < 1:
        raise ConfigError(f"stride must be at least 1; got {stride}")


class Forecaster:
    """An LSTM forecaster for one target column, with optional extra input features.

    Parameters are stored as given and checked by ``fit``. What fitting learns is ``state_`` (a
    ``FittedState``: plain data and numpy weights); ``scaler_``, ``season_``, ``metrics_`` and the
    other names ending in ``_`` read from it, and ``model_`` is the torch network it holds.
    """

    columns_ = _Learned(lambda state: state.columns)
    time_col_ = _Learned(lambda state: state.time_col)
    frequency_ = _Learned(lambda state: state.frequency)
    season_ = _Learned(lambda state: state.season)
    scaler_ = _Learned(lambda state: state.scaler)
    ridge_ = _Learned(lambda state: state.ridge)
    linear_start_ = _Learned(lambda state: state.start)  # the ridge the linear path started from, or None
    mase_scale_ = _Learned(lambda state: state.mase_scale)
    target_quantiles_ = _Learned(lambda state: state.target_quantiles)
    events_ = _Learned(lambda state: state.events)
    training_ = _Learned(lambda state: state.training)
    history_ = _Learned(lambda state: state.history)
    metrics_ = _Learned(lambda state: state.metrics)
    best_epoch_ = _Learned(lambda state: state.training["best_epoch"])
    stopped_early_ = _Learned(lambda state: state.training["stopped_early"])
    val_mse_ = _Learned(lambda state: state.training.get("val_mse"))  # not recorded before 0.3
    segment_ = _Learned(lambda state: state.model.segment)
    window_norm_ = _Learned(lambda state: state.model.window_norm)
    intervals_ = _Learned(lambda state: state.intervals)
    quantiles_ = _Learned(lambda state: state.quantiles)

    def __init__(
        self,
        target: str | None = None,
        *,
        time_col: str | None = None,
        features: tuple[str, ...] | list[str] = (),
        fill: str = "none",
        id_col: str | None = None,
        lookback: int = 96,
        horizon: int = 24,
        val_frac: float = 0.1,
        test_frac: float = 0.2,
        scaler: str = "standard",
        season: int = 0,
        model: str = "lstm",
        hidden: int = 64,
        layers: int = 1,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        bidirectional: bool = False,
        attention: bool = False,
        conv_kernel: int = 0,
        segment: int | str = "auto",
        window_norm: str = "last",
        linear: bool = True,
        ensemble: int = 3,
        quantiles: tuple[float, ...] | str = (),
        epochs: int = 200,
        patience: int = 20,
        min_delta: float = 0.0,
        batch_size: int = 256,
        lr: float = 1e-3,
        loss: str = "mae",
        grad_clip: float = 1.0,
        weight_decay: float = 0.0,
        l1: float = 0.0,
        seed: int = 0,
        device: str = "auto",
        max_windows_per_series: int = 0,
        events: EventSettings | None = None,
        levels: tuple[float, ...] | str = (),
    ) -> None:
        self.target = target
        self.time_col = time_col
        self.features = _as_tuple(features)  # a bare "temperature" stays text, for settings() to refuse
        self.fill = fill
        self.id_col = id_col
        self.lookback = lookback
        self.horizon = horizon
        self.val_frac = val_frac
        self.test_frac = test_frac
        self.scaler = scaler
        self.season = season
        self.model = model
        self.hidden = hidden
        self.layers = layers
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.bidirectional = bidirectional
        self.attention = attention
        self.conv_kernel = conv_kernel
        self.segment = segment
        self.window_norm = window_norm
        self.linear = linear
        self.ensemble = ensemble
        self.quantiles = _as_tuple(quantiles)
        self.epochs = epochs
        self.patience = patience
        self.min_delta = min_delta
        self.batch_size = batch_size
        self.lr = lr
        self.loss = loss
        self.grad_clip = grad_clip
        self.weight_decay = weight_decay
        self.l1 = l1
        self.seed = seed
        self.device = device
        self.max_windows_per_series = max_windows_per_series
        self.events = events
        self.levels = levels

    # -- parameters ----------------------------------------------------------------------------

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments by name (scikit-learn's contract; none is an estimator, so
        ``deep`` changes nothing)."""
        params = {name: getattr(self, name) for names in _PARAM_GROUPS.values() for name in names}
        return {**params, "events": self.events, "levels": self.levels}

    def set_params(self, **params: Any) -> Forecaster:
        valid = self.get_params()
        for name, value in params.items():
            if name not in valid:
                raise ConfigError(f"unknown parameter {name!r}; valid: {', '.join(valid)}")
            setattr(self, name, tuple(value) if name == "features" else value)
        # New settings make a fitted model stale: forget it rather than mix the two (as sklearn's clone does).
        for fitted in [key for key in vars(self) if key.endswith("_") and not key.startswith("_")]:
            delattr(self, fitted)
        self.__dict__.pop("_network", None)
        return self

    def __repr__(self) -> str:
        """``Forecaster(target='load', lookback=168)``: the arguments that differ from the defaults."""
        defaults = _DEFAULT_PARAMS
        changed = {k: v for k, v in self.get_params().items() if k not in defaults or v != defaults[k]}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    def settings(self) -> Settings:
        """The parameters as the four settings groups, checked (a ConfigError names the first problem)."""
        # numpy's scalars (from np.arange or a DataFrame of settings) as Python's: torch takes no np.int32.
        params = {
            name: value.item() if isinstance(value, np.generic) else value for name, value in self.get_params().items()
        }
        params["quantiles"] = parse_quantiles(self.quantiles)
        _check_names(params)
        if self.events is not None and not isinstance(self.events, EventSettings):
            raise ConfigError("events must be EventSettings (EventSettings.from_options('q0.95')) or None")
        data, window, model, train = (cls(**{n: params[n] for n in names}) for cls, names in _PARAM_GROUPS.items())
        if model.conv_kernel > window.lookback:
            raise ConfigError(f"conv_kernel ({model.conv_kernel}) must not exceed lookback ({window.lookback})")
        if model.segment != AUTO and model.segment and window.lookback % model.segment:
            fits = max(model.segment, window.lookback - window.lookback % model.segment)
            raise ConfigError(
                f"lookback ({window.lookback}) must be a whole number of segments of {model.segment} steps; "
                f"try lookback {fits} or {fits + model.segment}"
            )
        self.interval_levels()
        return Settings(data, window, model, train)

    def interval_levels(self) -> tuple[float, ...]:
        """``levels`` checked and sorted: the prediction intervals to train (``lstmcast.intervals``)."""
        return parse_levels(self.levels)

    def _check_fitted(self) -> FittedState:
        state: FittedState | None = self.__dict__.get("state_")
        if state is None:
            raise NotFittedError("this Forecaster is not fitted yet; call fit() or Forecaster.load() first")
        return state

    def _one_series(self, what: str) -> FittedState:
        """The fitted state of a model of one series; a ConfigError for a model of many."""
        state = self._check_fitted()
        if state.panel is not None:
            raise ConfigError(
                f"{what} takes a model of one series; this one was trained on {len(state.panel.ids)} series "
                f"(id column {state.data.id_col!r}), which {what} does not take yet"
            )
        return state

    @property
    def model_(self) -> ForecastNetwork:
        """The fitted network as a torch module (built from the state's weights on first use after a
        load, which imports torch; ``predict`` does not need it)."""
        state = self._check_fitted()
        if self.__dict__.get("_network") is None:
            from lstmcast.fitting import torch_network

            self._network = torch_network(state, self.device)
        return self._network

    # -- fit ----------------------------------------------------------------------------------

    def fit(
        self,
        frame: pd.DataFrame,
        on_epoch: Callable[[EpochReport], None] | None = None,
        *,
        threshold: float | str | None = None,
        event: str | None = None,
        alert_level: float | None = None,
        tolerance: int | None = None,
        tune_alert_level: bool = False,
        alert_prob: float | None = None,
        tune_alert_prob: bool = False,
        strict: bool = False,
    ) -> Forecaster:
        """Train on ``frame``; ``metrics_`` then holds the held-out test scores (empty if test_frac is 0).

        With threshold events (the ``events`` parameter, or for this fit ``threshold``: a number, or
        ``"q0.95"`` for a quantile of the training part) the scores include them, judged with
        ``event``, ``alert_level`` and ``tolerance``; with ``tune_alert_level`` the alert level is the
        one with the best event F1 on the validation part; with ``alert_prob`` alerts are the steps whose
        probability of the event is above it (``predict``'s ``prob``), and with ``tune_alert_prob`` that
        probability is the one with the best event F1 on the validation part. The resolved settings are kept with the
        model (``events_``) as the defaults of ``evaluate``. With ``id_col``, series too short to split
        are left out with a warning, or with ``strict`` are a DataError.
        """
        events = EventSettings.from_options(
            threshold, event, alert_level, tolerance, tune_alert_level, alert_prob, tune_alert_prob
        )
        data = self.settings().data
        if data.id_col is not None:
            panel = validate_panel(frame, data, data.id_col)
            return self.fit_panel(panel, on_epoch, strict=strict, events=events)
        series = validate_frame(frame, data)
        # A model that is fitted can be saved and predict with: its columns must not clash with the output's.
        alerts = (events or self.events) is not None
        frames.check_output_names(
            series.target,
            series.time_col,
            alerts,
            series.source,
            self.interval_levels(),
            quantiles=parse_quantiles(self.quantiles),
        )
        return self.fit_series(series, on_epoch, events=events)

    def fit_panel(
        self,
        panel: Panel,
        on_epoch: Callable[[EpochReport], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        *,
        strict: bool = False,
        score: bool = True,
        events: EventSettings | None = None,
        thresholds: pd.Series | None = None,
    ) -> Forecaster:
        """``fit`` on many series at once (``lstmcast.validate.validate_panel``): one network for all,
        each series scaled by its own training rows; ``metrics_`` pools the test parts of all series
        (in each one's scaled units) and lists each series' own scores. ``should_stop`` and
        ``score=False`` as for ``fit_series`` (``score_panel_test`` later). With ``events`` (or the
        ``events`` parameter), each series gets its own threshold (a number for all, or each series'
        own training quantile for ``"q0.95"``, or its value in ``thresholds``, a Series by id) and
        alert level, and the reports score its events."""
        from lstmcast.fitting import fit_panel_state

        fitted = fit_panel_state(
            panel,
            self.settings(),
            on_epoch=on_epoch,
            should_stop=should_stop,
            strict=strict,
            levels=self.interval_levels(),
            events=events if events is not None else self.events,
            thresholds=thresholds,
        )
        self.state_, self._network = fitted.state, fitted.network
        if score:
            self.score_panel_test(fitted.panel)
        return self

    def score_panel_test(self, panel: Panel) -> dict[str, Any]:
        """``score_test`` for a model of many series: the test part of every series of ``panel`` (the
        one it was fitted on), pooled and per series, into ``metrics_``; origins earlier than one
        season into their series are not scored."""
        from lstmcast.fitting import panel_pass

        state = self._check_fitted()
        assert state.panel is not None
        panel = panel.select(state.panel.positions(panel.ids) >= 0)  # the series it was fitted on
        origins = panel_split(panel.offsets, state.window).origins("test", self.lookback, self.horizon)
        starts = panel.offsets[np.searchsorted(panel.offsets, origins, side="right") - 1]
        origins, starts = origins[origins - starts >= state.season], starts[origins - starts >= state.season]
        metrics: dict[str, Any] = {}
        if len(origins):
            forecast, offsets = panel_pass(self.model_, state, panel, origins)
            metrics = {**panel_report(state, panel, origins, forecast, starts, offsets=offsets), "part": "test"}
        self.state_ = state.replace(metrics=metrics)
        return metrics

    def fit_series(
        self,
        series: Series,
        on_epoch: Callable[[EpochReport], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        *,
        events: EventSettings | None = None,
        score: bool = True,
    ) -> Forecaster:
        """``fit`` on a validated series (``lstmcast.validate.validate_frame``), with ``events`` instead of
        the ``events`` parameter when given; with ``score=False`` the test part is not looked at (``tune``
        ranks trials on validation only; ``score_test`` later). ``should_stop`` ends training early when
        it returns True (tune's budget)."""
        from lstmcast.fitting import fit_state

        settings, events = self.settings(), events if events is not None else self.events
        fitted = fit_state(
            series, settings, events=events, on_epoch=on_epoch, should_stop=should_stop, levels=self.interval_levels()
        )
        self.state_, self._network = fitted.state, fitted.network
        if score:
            self.score_test(series)
        return self

    def score_test(self, series: Series) -> dict[str, Any]:
        """Score the held-out test part of ``series`` (the one the model was fitted on) into ``metrics_``
        (empty without one) and return it. Origins earlier than one season are not scored."""
        state = self._check_fitted()
        split = chronological_split(len(series), state.window, series.source)
        origins = split.origins("test", self.lookback, self.horizon)
        origins = origins[origins >= state.season]
        metrics = self.report(series, origins) if len(origins) else {}
        if metrics:
            metrics["part"] = "test"
        self.state_ = state.replace(metrics=metrics)
        return metrics

    # -- scoring ------------------------------------------------------------------------------

    def forecast_origins(self, series: Series, origins: np.ndarray) -> np.ndarray:
        """Forecasts from every origin of ``series`` in original units, ``[n_origins, horizon]``, in
        batched passes of the torch network (what scoring thousands of origins wants)."""
        from lstmcast.fitting import forecast_origins

        return forecast_origins(self.model_, self._check_fitted(), series, origins)

    def baseline_forecasts(self, series: Series, origins: np.ndarray) -> dict[str, np.ndarray]:
        """Every baseline's forecasts from ``origins``, ``[n_origins, horizon]`` each, in original units."""
        return baseline_forecasts(self._check_fitted(), series.values[:, 0].astype(np.float64), origins)

    def panel_forecasts(self, panel: Panel, origins: np.ndarray) -> np.ndarray:
        """A model of many series' forecasts from global ``origins`` of ``panel`` (series it was fitted
        on), in each series' original units, ``[n_origins, horizon]``, in batched torch passes."""
        return self.panel_forecasts_and_quantiles(panel, origins)[0]

    def panel_forecasts_and_quantiles(self, panel: Panel, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``panel_forecasts`` and, for a model with quantiles, its quantiles ``[n_origins, horizon, Q]``
        around them, from one pass of the network, in each series' original units (None without)."""
        from lstmcast.fitting import panel_pass

        state = self._check_fitted()
        scaled, offsets = panel_pass(self.model_, state, panel, origins)
        forecast = series_units(state, panel, origins, scaled)
        if offsets is None:
            return forecast, None
        scoring = Scoring(1.0, None, state.season, None, None, None, state.lookback, quantiles=state.quantiles)
        values = quantile_values(scoring, panel_target(state, panel), origins, scaled, offsets)  # scaled units
        return forecast, self._series_units_of(panel, origins, values, scaled=True)

    def _series_units_of(self, panel: Panel, origins: np.ndarray, values: np.ndarray, *, scaled: bool) -> np.ndarray:
        """``series_units`` of quantiles ``[n, H, Q]``: each row's numbers share its series' statistics."""
        flat = series_units(self._check_fitted(), panel, origins, values.reshape(len(values), -1), scaled=scaled)
        return flat.reshape(values.shape)

    def forecasts_and_quantiles(self, series: Series, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``forecast_origins`` and, for a model with quantiles, its quantiles ``[n_origins, horizon, Q]``
        (original units, sorted) around them, from one pass of the network (None without)."""
        from lstmcast.fitting import series_forecasts

        forecast, offsets = series_forecasts(self.model_, self._check_fitted(), series, origins)
        if offsets is None:
            return forecast, None
        target = series.values[:, 0].astype(np.float64)
        return forecast, quantile_values(self.scoring(), target, origins, forecast, offsets)

    def panel_baselines(self, panel: Panel, origins: np.ndarray) -> dict[str, np.ndarray]:
        """Every series' own baselines from global ``origins`` of ``panel``, in original units."""
        state = self._check_fitted()
        starts = panel.offsets[np.searchsorted(panel.offsets, origins, side="right") - 1]
        scaled = panel_baselines(state, panel, origins, starts)
        return {name: series_units(state, panel, origins, forecasts) for name, forecasts in scaled.items()}

    def panel_bands(self, panel: Panel, origins: np.ndarray, forecast: np.ndarray) -> Bands | None:
        """A model of many series' interval bands around ``forecast`` (original units) from global
        ``origins`` of ``panel``, in original units; None without intervals."""
        state = self._check_fitted()
        if state.intervals is None:
            return None
        scoring = Scoring(1.0, None, state.season, None, None, state.intervals, state.lookback)
        scaled = series_units(state, panel, origins, forecast, scaled=False)
        bands = interval_bands(scoring, panel_target(state, panel), origins, scaled)  # each series' scaled units
        return {
            level: (series_units(state, panel, origins, low), series_units(state, panel, origins, high))
            for level, (low, high) in bands.items()
        }

    def panel_report(
        self,
        panel: Panel,
        origins: np.ndarray,
        forecast: np.ndarray,
        baselines: dict[str, np.ndarray],
        bands: Bands | None = None,
        quantiles: np.ndarray | None = None,
        fold_events: FoldEvents | None = None,
    ) -> dict[str, Any]:
        """The report of ``forecast``, ``baselines``, ``bands`` and ``quantiles`` (original units;
        default: this model's own intervals, and no quantiles scored: ``panel_forecasts_and_quantiles``
        gives them with the forecast) from global ``origins`` of ``panel``, each series scaled by this
        model's statistics for it; ``fold_events`` as for ``lstmcast.panel_report.panel_report``."""
        state = self._check_fitted()
        starts = panel.offsets[np.searchsorted(panel.offsets, origins, side="right") - 1]

        def scaled(values: np.ndarray) -> np.ndarray:
            return series_units(state, panel, origins, values, scaled=False)

        scaled_bands = {level: (scaled(low), scaled(high)) for level, (low, high) in bands.items()} if bands else None
        return panel_report(
            state,
            panel,
            origins,
            scaled(forecast),
            starts,
            {name: scaled(v) for name, v in baselines.items()},
            scaled_bands,
            quantiles=None if quantiles is None else self._series_units_of(panel, origins, quantiles, scaled=False),
            fold_events=fold_events,
        )

    def scoring(self, events: EventSettings | None = None) -> Scoring:
        """What a report of this model's forecasts needs besides them (its own events unless given)."""
        return Scoring.of(self._check_fitted(), events)

    def report(self, series: Series, origins: np.ndarray, events: EventSettings | None = None) -> dict[str, Any]:
        """The report of the model and the baselines from ``origins`` of ``series``."""
        target = series.values[:, 0].astype(np.float64)  # [n]
        forecast, quantiles = self.forecasts_and_quantiles(series, origins)
        baselines = self.baseline_forecasts(series, origins)
        return build_report(
            target, origins, forecast, baselines, self.scoring(events), index=series.index, quantiles=quantiles
        )

    # -- threshold events -----------------------------------------------------------------------

    def check_event_options(
        self,
        threshold: float | str | None = None,
        event: str | None = None,
        alert_level: float | None = None,
        tolerance: int | None = None,
    ) -> None:
        """What ``evaluate``'s event options and the model alone decide, a ConfigError before any data
        is read (a threshold that is not one, an alert level with nothing to act on)."""
        state = self._check_fitted()
        if state.panel is not None:
            with_panel_events(state, threshold, event, alert_level, tolerance)
        else:
            self.event_settings(threshold, event, alert_level, tolerance)

    def event_settings(
        self,
        threshold: float | str | None = None,
        event: str | None = None,
        alert_level: float | None = None,
        tolerance: int | None = None,
        series: str | None = None,
    ) -> EventSettings | None:
        """The threshold events to score or draw, resolved on this model's training part: those given,
        else the ones the model keeps (with ``alert_level``/``tolerance`` replacing its own when given),
        else None. Options that would have nothing to act on are a ConfigError. For a model of many
        series, the model's own are those of its series ``series``."""
        state = self._series_state(series)
        if (
            state.panel is not None
            and state.events
            and None in (state.events["threshold"], state.events["alert_level"])
        ):
            if threshold is None:  # no one threshold or alert level of the model's own to give
                raise ConfigError(
                    "this model's series each have their own threshold or alert level: give the series to take "
                    "them from"
                )
            state = state.replace(events=None)
        stored = stored_events(state)
        own = self._check_fitted().events or {}
        if series is not None and isinstance(threshold, str) and state.events and own.get("quantile") is not None:
            given = parse_threshold(threshold)
            if isinstance(given, Quantile) and given.q == own["quantile"]:  # the series' own quantile, a number
                threshold = float(state.events["threshold"])
        if threshold is None and stored is not None:
            if event is not None and event != stored.event:
                raise ConfigError(f"--event {event} differs from the model's ({stored.event}); give --threshold too")
            return stored.overridden(alert_level, tolerance)
        events = EventSettings.from_options(threshold, event, alert_level, tolerance)
        if events is not None and isinstance(events.threshold, Quantile) and self._check_fitted().panel is not None:
            raise ConfigError(
                f"--threshold {events.threshold}: a model of many series keeps no quantiles of one training part "
                "(each series has its own range); give the threshold as a number"
            )
        return events.resolve(self.target_quantiles_) if events is not None else None

    def evaluate(
        self,
        frame: pd.DataFrame,
        threshold: float | str | None = None,
        event: str | None = None,
        stride: int = 1,
        *,
        alert_level: float | None = None,
        tolerance: int | None = None,
        strict: bool = False,
        skip_unknown: bool = False,
    ) -> dict[str, Any]:
        """Scores over every ``stride``-th rolling origin of ``frame`` (whole horizon inside it),
        against the baselines. ``threshold`` (a number or ``"q0.95"``, a quantile of the training
        part) adds threshold events (``event`` "above" unless given). Without one, a model trained
        with a threshold is scored with its own event settings, ``alert_level`` and ``tolerance``
        replacing the stored ones when given. A model of many series scores every series of ``frame``
        (as its test report does: pooled in each series' scaled units, and per series); series too
        short to give an origin are left out with a warning, or with ``strict`` are a DataError; a series
        the model was not fitted on is a DataError, or with ``skip_unknown`` is left out with a warning."""
        check_stride(stride)
        if skip_unknown and self._check_fitted().panel is None:
            raise ConfigError(SKIP_UNKNOWN_NEEDS_MANY)
        if self._check_fitted().panel is not None:
            state = with_panel_events(self._check_fitted(), threshold, event, alert_level, tolerance)
            return self._evaluate_panel(frame, stride, strict, state, skip_unknown)
        events = self.event_settings(threshold, event, alert_level, tolerance)
        series = frames.validate_for(self._check_fitted(), frame)
        frames.warn_if_frequency_differs(self._check_fitted(), series)  # as predict: scores of a misused model
        first = max(self.lookback, self.season_)
        origins = rolling_origins(len(series), self.lookback, self.horizon, stride, first=first)
        if not len(origins):
            raise DataError(
                f"{series.source}: {len(series)} rows are too few to evaluate; need at least "
                f"{first + self.horizon} (lookback or season {first} + horizon {self.horizon})"
            )
        metrics = self.report(series, origins, events)
        metrics["in_sample_origins"] = in_sample_origins(self._check_fitted(), series, origins)
        return metrics

    def _evaluate_panel(
        self, frame: pd.DataFrame, stride: int, strict: bool, state: FittedState, skip_unknown: bool = False
    ) -> dict[str, Any]:
        from lstmcast.fitting import panel_pass

        panel = frames.known_panel(state, frame, skip_unknown, doing="evaluate")
        frames.warn_if_frequency_differs(state, panel)
        first = max(self.lookback, state.season)
        why = (
            f"to evaluate (each needs {first + self.horizon} rows: lookback or season {first} + horizon {self.horizon})"
        )
        panel = leave_out_short(panel, panel.lengths < first + self.horizon, why, strict)
        origins = panel_rolling_origins(panel.offsets, first, self.horizon, stride)
        starts = panel.offsets[np.searchsorted(panel.offsets, origins, side="right") - 1]
        forecast, offsets = panel_pass(self.model_, state, panel, origins)
        seen = panel_in_sample_origins(state, panel, origins)
        return {**panel_report(state, panel, origins, forecast, starts, offsets=offsets), "in_sample_origins": seen}

    # -- predict, in numpy ----------------------------------------------------------------------

    def predict(
        self,
        frame: pd.DataFrame,
        *,
        shard: tuple[int, int] | None = None,
        strict: bool = False,
        skip_unknown: bool = False,
    ) -> pd.DataFrame:
        """The ``horizon`` steps after the last row of ``frame``: time (if any), step, forecast, and,
        for a model trained with a threshold, ``alert``: whether the step is beyond the alert level.
        For a model of many series: those of every series of ``frame``, one after the other, with the
        id first; with ``shard=(i, n)`` only the series of shard ``i`` of ``n`` (``frames.shard_rows``),
        so ``n`` jobs can share the work and together write every series once. Series shorter than the
        lookback are left out with a warning, or with ``strict`` are a DataError. A series the model was
        not fitted on is a DataError, or with ``skip_unknown`` is left out with a warning."""
        state = self._check_fitted()
        if skip_unknown and state.panel is None:
            raise ConfigError(SKIP_UNKNOWN_NEEDS_MANY)
        if shard is not None:
            frames.check_shard(state, shard)
        if state.panel is not None:
            if shard is not None:
                id_col = state.data.id_col
                if id_col in frame.columns:  # a missing id column is validation's to report
                    frame = frame[frames.shard_rows(frame[id_col], shard)]
                if frame.empty:
                    return frames.empty_panel_forecast(state)
            if skip_unknown:
                return frames.predict_known_panel(state, frame, strict, shard is not None)
            return frames.predict_panel(state, frames.validate_panel_for(state, frame), strict, shard is not None)
        return frames.predict_frame(state, frames.forecastable(state, frame))

    def forecast_context(
        self,
        frame: pd.DataFrame,
        origin: str | int | None = None,
        context: int | None = None,
        series: str | None = None,
    ) -> tuple[pd.Series, pd.Series, pd.Series | None]:
        """What a forecast plot shows: the ``context`` observed values before the origin (default:
        the lookback), the forecast from it and, when ``frame`` goes on past the origin, the actual
        values over the forecast steps. ``origin`` is the first forecast row: a time of the time
        column, or a row number counted from 1 (within the series); default: after the last row.
        A model of many series shows the one whose id is ``series``."""
        state = self._check_fitted()
        self._check_series_option(series)
        if state.panel is None:
            return frames.forecast_context(state, frames.forecastable(state, frame), origin, context)
        assert series is not None
        one, rows = frames.panel_series(state, frame, series)
        return frames.forecast_context(one, frames.enough_rows(one, rows), origin, context)

    def forecast_alerts(
        self, frame: pd.DataFrame, origin: str | int | None = None, series: str | None = None
    ) -> pd.Series | None:
        """For a model that alerts from the event's probability (``alert_prob``): whether each step of
        ``forecast_context``'s forecast raises an alert, as ``predict``'s ``alert`` says; else None.
        A model of many series: those of its series ``series``."""
        state = self._check_fitted()
        if state.panel is not None:
            if series is None or not state.events or state.events.get("alert_prob") is None:
                return None
            state, one = frames.panel_series(state, frame, series)
            rows = frames.enough_rows(state, one)
        else:
            rows = frames.forecastable(state, frame)
        events = stored_events(state)
        if events is None or events.alert_prob is None:
            return None
        probability = frames.context_probability(state, rows, origin)
        return probability > events.alert_prob

    def check_plot_options(
        self,
        threshold: float | str | None = None,
        event: str | None = None,
        alert_level: float | None = None,
        series: str | None = None,
        *,
        reliability: bool = False,
        origin: str | int | None = None,
    ) -> None:
        """What ``plot``'s options and the model alone decide, before any data is read: ``series``
        against the model (a ConfigError with one series, or none given with many; a DataError for an
        id it was not trained on), the threshold options to draw, an ``origin`` row counted from 1,
        and for ``reliability`` that the model keeps event probabilities."""
        frames.check_origin_row(origin)
        if reliability:
            frames.require_event_probabilities(self._check_fitted())
            return
        self._check_series_option(series)
        self.event_settings(threshold, event, alert_level, series=series)

    def _check_series_option(self, series: str | None) -> None:
        """``--series`` is for a model of many series, and such a model needs it to draw one."""
        state = self._check_fitted()
        if state.panel is None and series is not None:
            raise ConfigError("--series picks one series of a model of many (train --id-col); this one has one")
        if state.panel is not None and series is None:
            raise ConfigError(
                f"this model was trained on {len(state.panel.ids)} series (id column {state.data.id_col!r}); "
                "give the id of the one to plot with --series"
            )

    def _series_state(self, series: str | None) -> FittedState:
        """The fitted state, or for a model of many series given ``series``, that series' own
        (``FittedState.one_series``); a DataError for an id it was not trained on."""
        state = self._check_fitted()
        if state.panel is None or series is None:
            return state
        if state.panel.positions((series,))[0] < 0:
            raise DataError(f"{state.data.id_col} {series!r}: not among the series the model was trained on")
        return state.one_series(series)

    def reliability(self, frame: pd.DataFrame, stride: int = 1) -> dict[str, Any]:
        """How reliable the event probabilities are on ``frame`` (a model trained with a threshold):
        ``lstmcast.intervals.probability_scores`` over every ``stride``-th origin's steps (Brier score,
        skill against the training part's base rate, reliability table), in numpy. A model of many
        series pools every series' origins, each series against its own threshold."""
        state = self._check_fitted()
        check_stride(stride)
        if state.panel is not None:
            panel = frames.validate_panel_for(state, frame)
            chances, happened, origins = frames.panel_event_chances(state, panel, stride)
            base = state.events.get("base_rate") if state.events else None
            seen = panel_in_sample_origins(state, panel, origins)
            return {**probability_scores(chances, happened, base), "n_origins": len(chances), "in_sample_origins": seen}
        series = frames.forecastable(state, frame)
        chances, happened, origins = frames.event_chances(state, series, stride)
        base = state.events.get("base_rate") if state.events else None
        seen = in_sample_origins(state, series, origins)  # warns: rows training saw flatter the diagram
        return {**probability_scores(chances, happened, base), "n_origins": len(chances), "in_sample_origins": seen}

    def forecast_bands(
        self, frame: pd.DataFrame, origin: str | int | None = None, series: str | None = None
    ) -> dict[float, tuple[pd.Series, pd.Series]]:
        """The interval bands around ``forecast_context``'s forecast (level -> low, high, indexed like
        it); for a model trained with quantiles and without ``levels``, its central quantile pairs (0.1
        and 0.9 as the 80% band); empty for other models."""
        state = self._check_fitted()
        if state.intervals is None and state.quantiles is None:
            return {}
        if state.panel is None:
            return frames.context_bands(state, frames.forecastable(state, frame), origin)
        if series is None:
            raise ConfigError("give the id of the series (--series) for a model of many series")
        one, rows = frames.panel_series(state, frame, series)
        return frames.context_bands(one, frames.enough_rows(one, rows), origin)

    def explain(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The attention weights behind ``predict(frame)``: one row per input step of the last window,
        oldest first, with its time (if any), its lag (-lookback .. -1 steps before the first forecast
        step), the target's value and the weight (the weights sum to 1). Needs a model trained with
        ``attention=True``."""
        state = self._one_series("--explain")
        frames.require_attention(state)  # before reading the data
        return frames.explain_frame(state, frame)

    # -- save / load --------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the model directory atomically (an earlier model there is replaced only on success)."""
        artifact.save_model_dir(path, self.model_files())

    def model_files(self) -> artifact.ModelFiles:
        """What ``save`` writes: manifest, weights and metrics (for committing with other outputs)."""
        return artifact.ModelFiles.of(self._check_fitted())

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> Forecaster:
        """Rebuild a fitted Forecaster from a model directory; never unpickles anything and imports no
        torch (the network runs in numpy to predict; ``device`` is where ``evaluate`` runs it in torch).
        The weights are checked against the manifest's settings before anything runs on them."""
        return cls.from_state(artifact.read_state(path), device)

    @classmethod
    def from_state(cls, state: FittedState, device: str = "auto") -> Forecaster:
        """A fitted Forecaster holding ``state``, its parameters the settings it was trained with."""
        params: dict[str, Any] = {}
        for config in (state.data, state.window, state.model, state.train):
            params.update(config.to_dict())
        levels = state.intervals.levels if state.intervals is not None else ()
        forecaster = cls(
            **{**params, "device": device, "events": EventSettings.from_record(state.events), "levels": levels}
        )
        forecaster.state_ = state
        return forecaster


def _as_tuple(value: Any) -> Any:
    """A list, set or other collection as a tuple; text and scalars as given (checked by ``settings``)."""
    return tuple(value) if isinstance(value, Iterable) and not isinstance(value, (str, bytes)) else value


def _check_names(params: dict[str, Any]) -> None:
    """Column names as the data settings take them: one name each, and a list or tuple of them for features."""
    for name in ("target", "time_col", "id_col"):
        if isinstance(params[name], (list, tuple, set, dict)):
            raise ConfigError(f"{name} must be one column name; got {params[name]!r}")
    features = params["features"]
    if isinstance(features, (str, bytes)) or not isinstance(features, (list, tuple)):
        raise ConfigError(
            f"features must be a list or tuple of column names, such as ['temperature']; got {features!r}"
        )
    if any(isinstance(name, (list, tuple, set, dict)) for name in features):
        raise ConfigError(f"features must be a list or tuple of column names; got {features!r}")


_DEFAULT_PARAMS = Forecaster().get_params()
