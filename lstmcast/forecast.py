"""``Forecaster``: the scikit-learn-style estimator behind every command, and the naive baselines.

``fit(frame)`` validates, splits in time order, fits the scaler on the training part only, trains
with early stopping and scores the test part; ``predict(frame)`` forecasts the horizon after the
last row; ``evaluate(frame)`` scores every rolling origin of any table; ``save``/``load`` round-trip
through a model directory.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lstmcast import __version__, artifact
from lstmcast.baselines import Ridge, drift, fit_ridge, mean_forecast, naive, season_length, seasonal_naive
from lstmcast.config import AUTO, AUTO_WINDOW_NORMS, DataConfig, ModelConfig, TrainConfig, WindowConfig, auto_segment
from lstmcast.errors import ConfigError, DataError, DataWarning, NotFittedError
from lstmcast.evaluation import EventSettings, score_report
from lstmcast.events import Quantile, comparison, training_quantiles, tune_alert_level
from lstmcast.metrics import mase_scale
from lstmcast.scale import fit_scaler
from lstmcast.state import FittedState
from lstmcast.validate import Series, validate_frame
from lstmcast.window import chronological_split, rolling_origins

if TYPE_CHECKING:  # torch is imported only to train and to score many origins: predict runs in numpy
    import torch

    from lstmcast.models import ForecastNetwork
    from lstmcast.train import EpochReport, TensorWindows

# The Forecaster's parameters, grouped by the settings class they build: derived from the dataclasses,
# so a new setting is a new field there (and an argument of Forecaster.__init__, which a test checks).
_PARAM_GROUPS: dict[type[Any], tuple[str, ...]] = {
    cls: tuple(field.name for field in dataclasses.fields(cls))
    for cls in (DataConfig, WindowConfig, ModelConfig, TrainConfig)
}


def same_step(a: str, b: str) -> bool:
    """Whether two offset aliases step alike ('D' and '24h' do; 'ME' and '30D' do not)."""
    first, second = pd.tseries.frequencies.to_offset(a), pd.tseries.frequencies.to_offset(b)
    try:
        return bool(first.nanos == second.nanos)
    except ValueError:  # a calendar offset (months, years) has no fixed length
        return bool(first == second)


def fitted_season(season: int, series: Series, train_rows: int) -> int:
    """The seasonal-naive period: the one given, or inferred from the frequency. It must fit in the
    training part (MASE divides by its error there), or the test part has no origins to score from."""
    if season >= train_rows:
        raise ConfigError(
            f"season {season} does not fit in the training part ({train_rows} of {len(series)} rows); "
            f"pass a --season below {train_rows}, or 0 to infer it"
        )
    inferred = season or season_length(series.frequency)
    if inferred >= train_rows:
        warnings.warn(
            f"{series.source}: the season inferred from the frequency ({inferred} steps) does not fit in the "
            f"training part ({train_rows} rows); the seasonal-naive baseline repeats the last value instead",
            DataWarning,
            stacklevel=5,
        )
        return 1
    return inferred


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

    def __init__(
        self,
        target: str | None = None,
        *,
        time_col: str | None = None,
        features: tuple[str, ...] | list[str] = (),
        fill: str = "none",
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
        epochs: int = 100,
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
    ) -> None:
        self.target = target
        self.time_col = time_col
        self.features = tuple(features)
        self.fill = fill
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

    # -- parameters ---------------------------------------------------------------------------

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments by name (scikit-learn's contract; none is an estimator, so
        ``deep`` changes nothing)."""
        return {name: getattr(self, name) for names in _PARAM_GROUPS.values() for name in names}

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

    def _configs(self) -> tuple[DataConfig, WindowConfig, ModelConfig, TrainConfig]:
        params = self.get_params()
        data, window, model, train = (cls(**{n: params[n] for n in names}) for cls, names in _PARAM_GROUPS.items())
        if model.conv_kernel > window.lookback:
            raise ConfigError(f"conv_kernel ({model.conv_kernel}) must not exceed lookback ({window.lookback})")
        if model.segment != AUTO and model.segment and window.lookback % model.segment:
            fits = max(model.segment, window.lookback - window.lookback % model.segment)
            raise ConfigError(
                f"lookback ({window.lookback}) must be a whole number of segments of {model.segment} steps; "
                f"try lookback {fits} or {fits + model.segment}"
            )
        return data, window, model, train

    def _check_fitted(self) -> FittedState:
        state: FittedState | None = self.__dict__.get("state_")
        if state is None:
            raise NotFittedError("this Forecaster is not fitted yet; call fit() or Forecaster.load() first")
        return state

    @property
    def model_(self) -> ForecastNetwork:
        """The fitted network as a torch module (built from the state's weights on first use after a
        load; ``predict`` does not need it)."""
        state = self._check_fitted()
        network = self.__dict__.get("_network")
        if network is None:
            network = _torch_network(state, self.device)
            self._network = network
        return network

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
    ) -> Forecaster:
        """Train on ``frame``; ``metrics_`` then holds the held-out test scores (empty if test_frac is 0).

        With ``threshold`` (a number, or ``"q0.95"`` for a quantile of the training part) the scores
        include threshold events, judged with ``event``, ``alert_level`` and ``tolerance``; with
        ``tune_alert_level`` the alert level is the one with the best event F1 on the validation part.
        The event settings are kept with the model (``events_``) as the defaults of ``evaluate``.
        """
        events = EventSettings.from_options(threshold, event, alert_level, tolerance, tune_alert_level)
        self._train(frame, on_epoch)
        self._set_events(events)
        self._score_test()
        return self

    def _train(
        self,
        frame: pd.DataFrame,
        on_epoch: Callable[[EpochReport], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Forecaster:
        """Everything ``fit`` does except scoring the test part (which ``tune`` must not look at)."""
        data_cfg, window_cfg, model_cfg, train_cfg = self._configs()
        return self._train_series(validate_frame(frame, data_cfg), on_epoch, should_stop)

    def _train_series(
        self,
        series: Series,
        on_epoch: Callable[[EpochReport], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Forecaster:
        import torch

        from lstmcast.models import build_model
        from lstmcast.train import fit, resolve_device

        data_cfg, window_cfg, model_cfg, train_cfg = self._configs()
        split = chronological_split(len(series), window_cfg, series.source)
        season = fitted_season(self.season, series, split.train_end)  # a season that does not fit fails here
        device = resolve_device(train_cfg.device)
        if model_cfg.segment == AUTO:  # a number of steps once the season is known
            model_cfg = dataclasses.replace(model_cfg, segment=auto_segment(self.lookback, season))
        scaler = fit_scaler(window_cfg.scaler, series.values[: split.train_end])
        train_origins = split.origins("train", self.lookback, self.horizon)
        val_origins = split.origins("val", self.lookback, self.horizon)
        scaled_target = scaler.transform_target(series.values[:, 0])
        ridge = fit_ridge(scaled_target, train_origins, val_origins, self.lookback, self.horizon)
        model_cfg, start = self._choose_start(model_cfg, ridge, scaled_target, train_origins, val_origins)
        torch.manual_seed(train_cfg.seed)
        network = build_model(model_cfg, len(series.columns), window_cfg.lookback, window_cfg.horizon).to(device)
        windows = _tensor_windows(scaler.transform(series.values), self.lookback, self.horizon, device)
        if start is not None:
            # The untrained model's forecast is the ridge's; training keeps epoch 0 unless an epoch
            # beats it on validation, so it can only improve on it.
            weight = torch.as_tensor(start.weight.T, dtype=torch.float32, device=device)  # [H, L]
            network.start_from_linear(weight, torch.as_tensor(start.bias, dtype=torch.float32, device=device))
        result = fit(network, windows, train_origins, val_origins, train_cfg, on_epoch, should_stop)
        # Validation MSE in the target's units: scalers are affine, so this compares across scalers.
        unit = float(scaler.scale[0]) ** 2
        train_target = series.values[: split.train_end, 0].astype(np.float64)
        training = _describe_training(series, split)
        training.update(
            {
                "best_epoch": result.best_epoch,
                "val_mse": result.best_val_loss * unit,
                "start_val_mse": result.start_val_loss * unit if math.isfinite(result.start_val_loss) else None,
                "epochs_run": len(result.history),
                "stopped_early": result.stopped_early,
                "threads": torch.get_num_threads(),
            }
        )
        self._network = network
        self.state_ = FittedState(
            data=data_cfg,
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
            weights={name: value.detach().cpu().numpy().copy() for name, value in network.state_dict().items()},
            versions={"lstmcast": __version__, "torch": torch.__version__.split("+")[0]},
        )
        self._fitted_on = (series, split)
        return self

    def _choose_start(
        self,
        model_cfg: ModelConfig,
        ridge: Ridge,
        scaled_target: np.ndarray,
        train_origins: np.ndarray,
        val_origins: np.ndarray,
    ) -> tuple[ModelConfig, Ridge | None]:
        """The window normalisation and the ridge the linear path starts from: a ridge fitted in the
        model's own coordinates (the normalised window), or None without a linear path.
        ``window_norm="auto"`` takes the coordinates, of ``AUTO_WINDOW_NORMS``, whose ridge forecasts
        the validation part best (the first on a tie). ``ridge`` is the baseline, on the raw window."""
        if not model_cfg.linear and model_cfg.window_norm != AUTO:
            return model_cfg, None
        candidates = AUTO_WINDOW_NORMS if model_cfg.window_norm == AUTO else (model_cfg.window_norm,)
        ridges = [
            ridge
            if norm == "none"  # the baseline already works in these coordinates
            else fit_ridge(scaled_target, train_origins, val_origins, self.lookback, self.horizon, window_norm=norm)
            for norm in candidates
        ]
        best = min(range(len(ridges)), key=lambda i: ridges[i].mse(scaled_target, val_origins))
        model_cfg = dataclasses.replace(model_cfg, window_norm=candidates[best])
        return model_cfg, ridges[best] if model_cfg.linear else None

    def _score_test(self) -> dict[str, Any]:
        """Score the held-out test part of the data ``_train`` saw, into ``metrics_`` (empty without one).
        The data is let go afterwards: a fitted Forecaster does not keep its training frame."""
        series, split = self._fitted_on
        del self._fitted_on
        test_origins = split.origins("test", self.lookback, self.horizon)
        test_origins = test_origins[test_origins >= self.season_]
        events = self._event_settings()
        metrics = self._score(series, self._windows(series), test_origins, events) if len(test_origins) else {}
        if metrics:
            metrics["part"] = "test"
        self.state_ = self.state_.replace(metrics=metrics)
        return metrics

    def _windows(self, series: Series, device: torch.device | None = None) -> TensorWindows:
        device = device or next(self.model_.parameters()).device
        return _tensor_windows(self.scaler_.transform(series.values), self.lookback, self.horizon, device)

    # -- scoring ------------------------------------------------------------------------------

    def _forecast_origins(self, windows: TensorWindows, origins: np.ndarray) -> np.ndarray:
        """Forecasts in original units, ``[n_origins, horizon]``, by the torch network (fast for many)."""
        import torch

        from lstmcast.train import predict_windows

        index = torch.as_tensor(origins, device=windows.values.device)
        scaled = predict_windows(self.model_, windows, index).cpu().numpy()
        return self.scaler_.inverse_target(scaled)

    def _baselines(self, target: np.ndarray, origins: np.ndarray) -> dict[str, np.ndarray]:
        """Every baseline's forecasts from ``origins`` in original units, ``[n_origins, horizon]``."""
        out = {
            "naive": naive(target, origins, self.horizon),
            "seasonal_naive": seasonal_naive(target, origins, self.horizon, self.season_),
            "drift": drift(target, origins, self.horizon),
            "mean": mean_forecast(target, origins, self.horizon),
        }
        if self.ridge_ is not None:  # models saved before 0.2 have no ridge baseline
            scaled_target = self.scaler_.transform_target(target)
            out["ridge"] = self.scaler_.inverse_target(self.ridge_.predict(scaled_target, origins))
        return out

    def _score(
        self,
        series: Series,
        windows: TensorWindows,
        origins: np.ndarray,
        events: EventSettings | None = None,
    ) -> dict[str, Any]:
        target = series.values[:, 0].astype(np.float64)  # [n]
        metrics = score_report(
            target,
            origins,
            self._forecast_origins(windows, origins),
            self._baselines(target, origins),
            float(self.scaler_.scale[0]),
            self.mase_scale_,
            events,
            index=series.index,
        )
        metrics["baselines"]["seasonal_naive"]["season"] = self.season_
        if self.ridge_ is not None:
            metrics["baselines"]["ridge"]["alpha"] = self.ridge_.alpha
        return metrics

    # -- threshold events -----------------------------------------------------------------------

    def _set_events(self, events: EventSettings | None) -> None:
        """Resolve the event settings on the training part (and tune the alert level on the
        validation part when asked) and keep them as ``events_``."""
        if events is None:
            self.state_ = self.state_.replace(events=None)
            return
        given = events.threshold
        events = events.resolve(self.target_quantiles_)
        record: dict[str, Any] = {
            "threshold": events.level,
            "quantile": given.q if isinstance(given, Quantile) else None,
            "event": events.event,
            "alert_level": events.alert(),
            "tolerance": events.tolerance,
            "alert_level_tuning": None,
        }
        if events.tune_alert_level:
            tuned = self._tune_alert_level(events)
            record["alert_level_tuning"] = tuned
            if tuned is not None:
                record["alert_level"] = tuned["alert_level"]
        self.state_ = self.state_.replace(events=record)

    def _tune_alert_level(self, events: EventSettings) -> dict[str, Any] | None:
        series, split = self._fitted_on
        origins = split.origins("val", self.lookback, self.horizon)
        target = series.values[:, 0].astype(np.float64)
        forecast = self._forecast_origins(self._windows(series), origins)
        tuned = tune_alert_level(target, forecast, origins, events.level, events.event, events.tolerance)
        if tuned is None:
            warnings.warn(
                f"{series.source}: the validation part has no {events.event}-threshold event to tune the "
                f"alert level on; alerts use the threshold {events.level:g}",
                DataWarning,
                stacklevel=4,
            )
            return None
        return {"part": "val", "n_origins": int(len(origins)), **tuned}

    def event_settings(
        self,
        threshold: float | str | None = None,
        event: str | None = None,
        alert_level: float | None = None,
        tolerance: int | None = None,
    ) -> EventSettings | None:
        """The threshold events to score or draw, resolved on this model's training part: those given,
        else the ones the model keeps (with ``alert_level``/``tolerance`` replacing its own when given),
        else None. Options that would have nothing to act on are a ConfigError."""
        self._check_fitted()
        stored = self._event_settings()
        if threshold is None and stored is not None:
            if event is not None and event != stored.event:
                raise ConfigError(f"--event {event} differs from the model's ({stored.event}); give --threshold too")
            return stored.overridden(alert_level, tolerance)
        events = EventSettings.from_options(threshold, event, alert_level, tolerance)
        return events.resolve(self.target_quantiles_) if events is not None else None

    def _event_settings(self) -> EventSettings | None:
        """The event settings kept with the model, if it was trained with a threshold."""
        if not getattr(self, "events_", None):
            return None
        record = self.events_
        assert record is not None
        return EventSettings(
            float(record["threshold"]), record["event"], float(record["alert_level"]), int(record["tolerance"])
        )

    def evaluate(
        self,
        frame: pd.DataFrame,
        threshold: float | str | None = None,
        event: str | None = None,
        stride: int = 1,
        *,
        alert_level: float | None = None,
        tolerance: int | None = None,
    ) -> dict[str, Any]:
        """Scores over every ``stride``-th rolling origin of ``frame`` (whole horizon inside it),
        against the baselines. ``threshold`` (a number or ``"q0.95"``, a quantile of the training
        part) adds threshold events (``event`` "above" unless given). Without one, a model trained
        with a threshold is scored with its own event settings, ``alert_level`` and ``tolerance``
        replacing the stored ones when given."""
        self._check_fitted()
        if stride < 1:
            raise ConfigError(f"stride must be at least 1; got {stride}")
        events = self.event_settings(threshold, event, alert_level, tolerance)
        series = self._validate(frame)
        first = max(self.lookback, self.season_)
        origins = rolling_origins(len(series), self.lookback, self.horizon, stride, first=first)
        if not len(origins):
            raise DataError(
                f"{series.source}: {len(series)} rows are too few to evaluate; need at least "
                f"{first + self.horizon} (lookback or season {first} + horizon {self.horizon})"
            )
        metrics = self._score(series, self._windows(series), origins, events)
        metrics["in_sample_origins"] = self._count_in_sample(series, origins)
        return metrics

    def _count_in_sample(self, series: Series, origins: np.ndarray) -> int | None:
        """How many origins forecast rows that training or early stopping saw; warns when any do."""
        seen = self.training_.get("parts", {}).get("val", {}).get("end")
        if series.index is None or seen is None:
            return None
        try:
            seen_until = pd.Timestamp(seen)
            count = int(np.sum(series.index[origins] <= seen_until))
        except (ValueError, TypeError):  # e.g. time zones that do not compare; nothing to report
            return None
        if count:
            warnings.warn(
                f"{series.source}: {count} of {len(origins)} origins forecast rows the model was trained or "
                f"early-stopped on (up to {seen}); those scores are optimistic",
                DataWarning,
                stacklevel=3,
            )
        return count

    # -- predict ------------------------------------------------------------------------------

    def _validate(self, frame: pd.DataFrame) -> Series:
        config = DataConfig(
            target=self.columns_[0], time_col=self.time_col_, features=self.columns_[1:], fill=self.fill
        )
        # A flat stretch to forecast from is no reason to warn; a constant series to train on is.
        return validate_frame(frame, config, warn_constant=False)

    def _forecastable(self, frame: pd.DataFrame) -> Series:
        self._check_fitted()
        series = self._validate(frame)
        if len(series) < self.lookback:
            raise DataError(
                f"{series.source}: {len(series)} rows are too few to forecast; the model reads the last "
                f"{self.lookback} rows (lookback)"
            )
        return series

    def _forecast_from(self, series: Series, origin: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The forecast ``[H]`` (original units) from the window before row ``origin``, and the
        attention weights ``[L]`` behind it (None without attention): one window, in numpy."""
        window = self.scaler_.transform(series.values[origin - self.lookback : origin])  # [L, F]
        scaled, attention = self.state_.forecast_scaled(window[None])  # [1, H], [1, L] | None
        return self.scaler_.inverse_target(scaled[0]), None if attention is None else attention[0]

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The ``horizon`` steps after the last row of ``frame``: time (if any), step, forecast, and,
        for a model trained with a threshold, ``alert``: whether the step is beyond the alert level."""
        series = self._forecastable(frame)
        forecast, _ = self._forecast_from(series, len(series))  # [H]
        out: dict[str, Any] = {"step": np.arange(1, self.horizon + 1), self.columns_[0]: forecast}
        events = self._event_settings()
        if events is not None:
            out["alert"] = comparison(events.event)(forecast, events.alert())
        if series.index is not None:
            frequency = series.frequency or self.frequency_
            self._warn_if_frequency_differs(series)
            future = pd.date_range(series.index[-1], periods=self.horizon + 1, freq=frequency)[1:]
            out = {series.time_col or "time": future, **out}
        return pd.DataFrame(out)

    def forecast_context(
        self, frame: pd.DataFrame, origin: str | int | None = None, context: int | None = None
    ) -> tuple[pd.Series, pd.Series, pd.Series | None]:
        """What a forecast plot shows: the ``context`` observed values before the origin (default:
        the lookback), the forecast from it and, when ``frame`` goes on past the origin, the actual
        values over the forecast steps. ``origin`` is the first forecast row: a time of the time
        column, or a row number counted from 1; default: after the last row."""
        series = self._forecastable(frame)
        position = self._origin_position(series, origin)
        context = self.lookback if context is None else context
        forecast, _ = self._forecast_from(series, position)  # [H]
        target = series.values[:, 0].astype(np.float64)
        if series.index is not None:
            frequency = series.frequency or self.frequency_
            steps: pd.Index = pd.date_range(series.index[position - 1], periods=self.horizon + 1, freq=frequency)[1:]
            rows: pd.Index = series.index
        else:
            steps = pd.RangeIndex(position + 1, position + self.horizon + 1)  # row numbers from 1
            rows = pd.RangeIndex(1, len(series) + 1)
        name = self.columns_[0]
        start = max(position - context, 0)
        history = pd.Series(target[start:position], index=rows[start:position], name=name)
        known = target[position : position + self.horizon]
        actual = pd.Series(known, index=rows[position : position + len(known)], name=name) if len(known) else None
        return history, pd.Series(forecast, index=steps, name=name), actual

    def _origin_position(self, series: Series, origin: str | int | None) -> int:
        """The 0-based position of the first forecast row."""
        if origin is None:
            return len(series)
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
        if not self.lookback <= position <= len(series):
            raise DataError(
                f"{series.source}: --origin {origin} leaves {max(position, 0)} rows before it; the model reads "
                f"{self.lookback} (lookback), and the origin must be a row of the data or just after its last"
            )
        return position

    def explain(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The attention weights behind ``predict(frame)``: one row per input step of the last window,
        oldest first, with its time (if any), its lag (-lookback .. -1 steps before the first forecast
        step), the target's value and the weight (the weights sum to 1). Needs a model trained with
        ``attention=True``."""
        if not self.attention:
            raise ConfigError(
                "this model was trained without attention, so it has no attention weights to show; "
                "train with --attention"
            )
        series = self._forecastable(frame)
        _, weights = self._forecast_from(series, len(series))
        assert weights is not None  # a model with attention; the weights file was checked against it
        rows = np.arange(len(series) - self.lookback, len(series))
        out: dict[str, Any] = {
            "lag": np.arange(-self.lookback, 0),
            self.columns_[0]: series.values[rows, 0].astype(np.float64),
            "weight": weights.astype(np.float64),
        }
        if series.index is not None:
            out = {series.time_col or "time": series.index[rows], **out}
        return pd.DataFrame(out)

    def _warn_if_frequency_differs(self, series: Series) -> None:
        if series.frequency is None or self.frequency_ is None:
            return
        if not same_step(series.frequency, self.frequency_):
            warnings.warn(
                f"{series.source}: rows are {series.frequency!r} apart but the model was trained on "
                f"{self.frequency_!r} data; the forecast steps by {series.frequency!r}",
                DataWarning,
                stacklevel=3,
            )

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
        forecaster = cls(**{**params, "device": device})
        forecaster.state_ = state
        return forecaster


def _tensor_windows(scaled: np.ndarray, lookback: int, horizon: int, device: torch.device) -> TensorWindows:
    import torch

    from lstmcast.train import TensorWindows

    return TensorWindows(torch.from_numpy(scaled).to(device), lookback, horizon)  # [n, F]


def _torch_network(state: FittedState, device: str) -> ForecastNetwork:
    """The state's network as a torch module on ``device``, in eval mode."""
    import torch

    from lstmcast.models import build_model
    from lstmcast.train import resolve_device

    network = build_model(state.model, len(state.columns), state.lookback, state.horizon)
    network.load_state_dict({name: torch.from_numpy(np.array(value)) for name, value in state.weights.items()})
    return network.to(resolve_device(device)).eval()


def _describe_training(series: Series, split: Any) -> dict[str, Any]:
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


_DEFAULT_PARAMS = Forecaster().get_params()
