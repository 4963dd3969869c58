"""The fitted state: everything a trained model is, as plain data and numpy arrays, with no torch.

A ``FittedState`` holds the settings as trained (``segment`` and ``window_norm`` resolved from
"auto"), the columns and frequency of the training data, the scaler, the seasonal period, the
ridge baseline and the ridge the network's linear path started from, the event settings, the
training record, the held-out metrics and the network's weights as float32 arrays under their torch
state-dict names. ``lstmcast.artifact`` writes and
reads it as a model directory; ``lstmcast.runtime`` forecasts from it in numpy; ``Forecaster`` trains
one with torch and keeps it as ``state_``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstmcast import __version__
from lstmcast.baselines import PanelRidge, Ridge
from lstmcast.config import DataConfig, ModelConfig, TrainConfig, WindowConfig
from lstmcast.intervals import Intervals
from lstmcast.quantiles import Quantiles
from lstmcast.runtime.network import forecast, parameter_shapes
from lstmcast.scale import PanelScaler, Scaler

CONFIG_SECTIONS: dict[str, type[Any]] = {
    "data": DataConfig,
    "window": WindowConfig,
    "model": ModelConfig,
    "train": TrainConfig,
}


@dataclass(frozen=True)
class PanelEvents:
    """A threshold model of many series: each series' threshold and alert level, in its own units
    (``[S]`` each, in the order of the model's ids). The rest of the settings (event, tolerance,
    alert probability, base rates) are the state's ``events`` record, shared by every series."""

    thresholds: np.ndarray  # [S] float64
    alert_levels: np.ndarray  # [S] float64

    def relative(self, scaler: PanelScaler, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For the series at ``positions``: each one's threshold in its scaled units, and how far its
        alert level lies from its threshold in those units (``[len(positions)]`` each). Values minus
        their series' threshold put every series' threshold at 0: how many series are scored at once."""
        center, scale = scaler.center[positions, 0], scaler.scale[positions, 0]
        thresholds = self.thresholds[positions]
        return (thresholds - center) / scale, (self.alert_levels[positions] - thresholds) / scale


@dataclass(frozen=True)
class PanelState:
    """What a model fitted on many series keeps of them: their ids, in the order fitted, and each one's
    scaler statistics (``scaler.center[k]``, ``scaler.scale[k]`` for ``ids[k]``), ridge baseline and
    MASE denominator (in its scaled units; NaN where it has none)."""

    ids: tuple[str, ...]
    scaler: PanelScaler
    ridge: PanelRidge | None = None
    mase_scale: np.ndarray | None = None  # [S] float64
    seen_until: np.ndarray | None = None  # [S] int64: the time (ns) of each series' last row training saw
    train_until: np.ndarray | None = None  # [S] int64: the time (ns) of each series' last training row
    # The training times' zone ("UTC+02:00"; None: they had none). The two times above are UTC for zoned
    # times and wall-clock for others, so they compare only with times of the same kind. A model saved
    # before lstmcast 0.5 does not record it (time_zone_known False): its times are compared as they are.
    time_zone: str | None = None
    time_zone_known: bool = False
    events: PanelEvents | None = None  # trained with a threshold: each series' threshold and alert level

    def positions(self, ids: tuple[str, ...]) -> np.ndarray:
        """Where each of ``ids`` is among the fitted ones; -1 for an id the model has not seen."""
        import pandas as pd  # a panel is read through pandas anyway; the fast path of one series is not

        return pd.Index(self.ids).get_indexer(list(ids)).astype(np.int64)  # one hash lookup pass, not a loop

    def zone_differs(self, zone: object) -> bool:
        """Whether times in ``zone`` (a time index's ``tz``; None for times without one) are of another
        kind than the training times, one with a zone and the other without, so that their nanoseconds
        are on different clocks; False when the model does not record its zone."""
        return self.time_zone_known and (self.time_zone is None) != (zone is None)


@dataclass(frozen=True)
class FittedState:
    data: DataConfig
    window: WindowConfig
    model: ModelConfig  # as trained: segment a number of steps, window_norm a named one
    train: TrainConfig
    columns: tuple[str, ...]  # the target first, then the features
    time_col: str | None
    frequency: str | None
    season: int
    scaler: Scaler
    ridge: Ridge | None  # None for models saved before 0.2
    mase_scale: float | None  # None before 0.4
    target_quantiles: list[float] | None  # the training part's quantiles at steps of 0.001 (None before 0.4)
    events: dict[str, Any] | None  # threshold, quantile, event, alert_level, tolerance, alert_level_tuning
    training: dict[str, Any]  # parts, best epoch, validation MSEs, epochs run, threads, ...
    history: list[dict[str, Any]]
    metrics: dict[str, Any]  # the held-out test scores, empty without a test part
    weights: dict[str, np.ndarray] = field(repr=False)  # float32, torch state-dict names
    versions: dict[str, str] = field(default_factory=lambda: {"lstmcast": __version__})
    panel: PanelState | None = None  # fitted on many series (data.id_col); scaler is then the identity
    intervals: Intervals | None = None  # trained with --level: conformal offsets per level and step
    paths: np.ndarray | None = field(default=None, repr=False)  # [P, H] validation error paths (threshold models)
    quantiles: Quantiles | None = None  # trained with --quantiles: the levels and their conformal corrections
    calibration: dict[str, Any] | None = None  # the last ``lstmcast calibrate``: when, from what, what it replaced
    # The ridge the network's linear path started from (in the window norm's coordinates), so reports can
    # score the network against its own untrained start. None without a linear path, and for models saved
    # before it was kept. A model of many series has one over every series' windows, in each one's units.
    start: Ridge | None = None

    @property
    def target(self) -> str:
        return self.columns[0]

    @property
    def lookback(self) -> int:
        return self.window.lookback

    @property
    def horizon(self) -> int:
        return self.window.horizon

    def forecast_scaled(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Scaled input windows ``[B, L, F]`` -> scaled forecasts ``[B, H]`` and attention ``[B, L]`` or None."""
        return forecast(self.model, self.weights, windows)

    def replace(self, **changes: Any) -> FittedState:
        return dataclasses.replace(self, **changes)

    def to_manifest(self) -> dict[str, Any]:
        """The manifest's content (``lstmcast.artifact`` adds the format fields and the checksum)."""
        return {
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "versions": dict(self.versions),
            "config": {name: getattr(self, name).to_dict() for name in CONFIG_SECTIONS},
            "columns": {"time": self.time_col, "target": self.columns[0], "features": list(self.columns[1:])},
            "frequency": self.frequency,
            "season": self.season,
            "mase_scale": self.mase_scale,
            "target_quantiles": self.target_quantiles,
            "events": self.events,
            "scaler": self.scaler.to_dict(),
            "baselines": self._baselines_manifest(),
            "training": self.training,
            "history": self.history,
            "metrics": self.metrics,
            **({"panel": self._panel_manifest()} if self.panel is not None else {}),
            **({"intervals": self.intervals.to_dict()} if self.intervals is not None else {}),
            **({"quantiles": self.quantiles.to_dict()} if self.quantiles is not None else {}),
            **({"calibration": self.calibration} if self.calibration is not None else {}),
        }

    def _baselines_manifest(self) -> dict[str, Any]:
        """The manifest's ``baselines``: the ridge and the linear start, each where the model has one."""
        kept = {"ridge": self.ridge, "linear_start": self.start}
        return {name: ridge.to_dict() for name, ridge in kept.items() if ridge is not None}

    def _panel_manifest(self) -> dict[str, Any]:
        """The manifest's ``panel``: the number of series and, when known, the training times' zone
        (null: none; absent from a model saved before it was recorded, which it stays)."""
        assert self.panel is not None
        zone = {"time_zone": self.panel.time_zone} if self.panel.time_zone_known else {}
        return {"series": len(self.panel.ids), **zone}

    @classmethod
    def from_manifest(
        cls,
        manifest: dict[str, Any],
        weights: dict[str, np.ndarray],
        panel: PanelState | None = None,
        paths: np.ndarray | None = None,
    ) -> FittedState:
        """The state a (checked, upgraded) manifest and its weights describe; ``lstmcast.artifact.read_state``
        checks the weights against ``expected_shapes`` before anything runs on them."""
        configs = {name: kind.from_dict(manifest["config"][name]) for name, kind in CONFIG_SECTIONS.items()}
        columns = manifest["columns"]
        ridge = manifest.get("baselines", {}).get("ridge")
        start = _linear_start(manifest.get("baselines", {}).get("linear_start"), configs["model"])
        intervals = Intervals.from_dict(manifest["intervals"]) if manifest.get("intervals") else None
        horizon = configs["window"].horizon
        if intervals is not None and intervals.lower.shape[1] != horizon:
            raise ValueError(f"intervals hold offsets for {intervals.lower.shape[1]} steps; the horizon is {horizon}")
        quantiles = Quantiles.from_dict(manifest["quantiles"]) if manifest.get("quantiles") else None
        if (quantiles.levels if quantiles is not None else ()) != configs["model"].quantiles:
            raise ValueError("the quantiles' levels differ from the model's settings")
        if quantiles is not None and quantiles.shifts.shape[1] != horizon:
            raise ValueError(f"quantiles hold shifts for {quantiles.shifts.shape[1]} steps; the horizon is {horizon}")
        norm = configs["model"].window_norm
        for name, part in (("intervals", intervals), ("quantiles", quantiles)):
            if part is not None and part.window_norm != norm:  # their offsets are in units of this norm's spread
                raise ValueError(f"{name} are in units of window norm {part.window_norm!r}; the model's is {norm!r}")
        state = cls(
            **configs,
            columns=(columns["target"], *columns["features"]),
            time_col=columns["time"],
            frequency=manifest["frequency"],
            season=int(manifest["season"]),
            scaler=Scaler.from_dict(manifest["scaler"]),
            ridge=Ridge.from_dict(ridge) if ridge is not None else None,
            mase_scale=manifest.get("mase_scale"),
            target_quantiles=manifest.get("target_quantiles"),
            events=manifest.get("events"),
            training=manifest["training"],
            history=manifest["history"],
            metrics=manifest["metrics"],
            weights=weights,
            versions=dict(manifest.get("versions") or {}),
            panel=panel,
            intervals=intervals,
            paths=paths,
            quantiles=quantiles,
            calibration=manifest.get("calibration"),
            start=start,
        )
        return state

    def one_series(self, name: str) -> FittedState:
        """A model of many series as the model of its series ``name`` alone: that series' scaler
        statistics, ridge, MASE denominator and (trained with a threshold) its own threshold and alert
        level, so everything written for one series (plots, reports) works on it. The network is the
        shared one. A KeyError for an id the model was not fitted on."""
        assert self.panel is not None
        k = int(self.panel.positions((name,))[0])
        if k < 0:
            raise KeyError(name)
        panel = self.panel
        scaler = Scaler(panel.scaler.kind, panel.scaler.center[k], panel.scaler.scale[k])
        ridge = self.ridge
        if panel.ridge is not None and panel.ridge.fitted[k]:
            weights = panel.ridge
            ridge = Ridge(
                weights.weight[k].astype(np.float64), weights.bias[k].astype(np.float64), float(weights.alpha[k])
            )
        denominator = panel.mase_scale[k] * scaler.scale[0] if panel.mase_scale is not None else np.nan
        events = self.events
        if events and panel.events is not None:  # its own threshold and alert level
            levels = panel.events
            events = {**events, "threshold": float(levels.thresholds[k]), "alert_level": float(levels.alert_levels[k])}
        return self.replace(
            data=dataclasses.replace(self.data, id_col=None),
            scaler=scaler,
            ridge=ridge,
            mase_scale=float(denominator) if np.isfinite(denominator) else None,
            metrics={},
            panel=None,
            events=events,
        )

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        """The weights' names and shapes that these settings need."""
        return parameter_shapes(self.model, len(self.columns), self.lookback, self.horizon)


def _linear_start(record: dict[str, Any] | None, model: ModelConfig) -> Ridge | None:
    """The manifest's ``baselines.linear_start`` (None where absent: saved before it was kept), checked
    against the settings: only a model with a linear path has one, in its window norm's coordinates (a
    start in others would score a forecaster the network never was)."""
    if record is None:
        return None
    start = Ridge.from_dict(record)
    if not model.linear:
        raise ValueError("baselines.linear_start is there, but the model has no linear path")
    if start.window_norm != model.window_norm:
        raise ValueError(
            f"baselines.linear_start is in the coordinates of window norm {start.window_norm!r}; "
            f"the model's is {model.window_norm!r}"
        )
    return start
