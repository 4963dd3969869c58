"""The forecasts every model must beat: naive (last value), seasonal naive, drift, mean, and ridge
regression on the lookback window. Plain numpy; arrays are ``[n_origins, horizon]``.

Ridge is fitted from sums over windows gathered in chunks (a sliding-window view, never every
window at once), so its memory stays O(lookback x horizon) however long the series is. The same fit
in window-normalised coordinates (``window_norm``) is where the model's linear path starts.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from lstmcast.errors import ConfigError, DataWarning

if TYPE_CHECKING:
    from lstmcast.validate import Series

CHUNK = 20_000  # origins per chunk when gathering windows
ALPHA_GRID = np.logspace(-6, 2, 17)  # times the mean eigenvalue of the window covariance
WINDOW_EPS = 1e-5  # as lstmcast.models.window_norm.EPS (that package imports torch; this one stays numpy)


def season_length(frequency: str | None) -> int:
    """The seasonal period for the seasonal-naive baseline: a day of sub-daily steps, a week of days,
    a year of weeks, months or quarters; 1 (no season) when nothing fits."""
    if frequency is None:
        return 1
    import pandas as pd  # only to fit: the fitted state and predict do without it

    offset = pd.tseries.frequencies.to_offset(frequency)
    prefix = offset.rule_code.split("-")[0]
    per_year = {"W": 52, "ME": 12, "MS": 12, "BME": 12, "BMS": 12, "QE": 4, "QS": 4, "BQE": 4, "BQS": 4}
    if prefix in per_year:
        return max(per_year[prefix] // offset.n, 1)
    if prefix == "B":
        return 5 if offset.n == 1 else 1
    try:
        step = pd.Timedelta(offset.nanos, unit="ns")
    except ValueError:
        return 1  # calendar offsets such as years: no shorter season
    day = pd.Timedelta(days=1)
    if step < day and day % step == pd.Timedelta(0):
        return int(day // step)
    return 7 if step == day else 1


def naive(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The last observed value, repeated over the horizon."""
    return np.repeat(values[origins - 1, None], horizon, axis=1)


def seasonal_naive(
    values: np.ndarray, origins: np.ndarray, horizon: int, season: int, starts: np.ndarray | None = None
) -> np.ndarray:
    """``y[t + h - season * (h // season + 1)]``: the last observed value at the same phase.

    Every origin needs a whole season of its own series before it (``starts``: each origin's series'
    first row, 0 for one series); an earlier one would read another series, or index from the end of
    the array (numpy wraps negative indices), and score the baseline on rows it cannot have seen."""
    origins = np.asarray(origins)
    known = origins - (0 if starts is None else np.asarray(starts))
    if known.size and int(known.min()) < season:
        raise ValueError(
            f"seasonal naive needs a whole season ({season} rows) before every origin; origin {int(origins.min())} "
            "has fewer"
        )
    steps = np.arange(horizon)
    offsets = steps - season * (steps // season + 1)  # [H], all negative
    return values[origins[:, None] + offsets]  # [N, H]


def drift(values: np.ndarray, origins: np.ndarray, horizon: int, starts: np.ndarray | None = None) -> np.ndarray:
    """The last value plus ``h`` times the average change over all history of its series before the
    origin: ``y[o-1] + h * (y[o-1] - y[s]) / (o - 1 - s)``, ``s`` the series' first row (``starts``, 0
    for one series); flat (the naive forecast) when only one value is known."""
    first = np.zeros_like(origins) if starts is None else np.asarray(starts)
    last = values[origins - 1].astype(np.float64)  # [N]
    # With one value known the change is 0, so any non-zero denominator gives slope 0.
    slope = (last - values[first]) / np.maximum(origins - 1 - first, 1)  # [N]
    return last[:, None] + slope[:, None] * np.arange(1, horizon + 1)  # [N, H]


def mean_forecast(
    values: np.ndarray, origins: np.ndarray, horizon: int, starts: np.ndarray | None = None
) -> np.ndarray:
    """The mean of every value of its series before the origin, ``y[s .. o-1]`` (``starts`` as for
    ``drift``), repeated over the horizon."""
    first = np.zeros_like(origins) if starts is None else np.asarray(starts)
    totals = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])  # one pass serves every origin
    return np.repeat(((totals[origins] - totals[first]) / (origins - first))[:, None], horizon, axis=1)  # [N, H]


def _input_chunks(values: np.ndarray, origins: np.ndarray, lookback: int):
    """``(origins, inputs [C, L])`` chunk by chunk, gathered from a sliding-window view."""
    inputs = sliding_window_view(values, lookback)  # [n - L + 1, L], a view: nothing copied yet
    for start in range(0, len(origins), CHUNK):
        chunk = origins[start : start + CHUNK]
        yield chunk, inputs[chunk - lookback]


def _targets(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    return sliding_window_view(values, horizon)[origins]  # [C, H]


def normalise_windows(x: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``x [C, L]`` -> normalised windows and the ``loc``, ``scale`` ``[C, 1]`` that undo it: the numpy
    twin of ``WindowNorm.normalise`` for one column, with revin's affine at its start (1, 0)."""
    if mode in ("none", "last"):
        loc = x[:, -1:] if mode == "last" else np.zeros_like(x[:, -1:])
        return x - loc, loc, np.ones_like(loc)
    loc = x.mean(axis=1, keepdims=True)
    scale = np.sqrt(x.var(axis=1, keepdims=True) + WINDOW_EPS)
    return (x - loc) / scale, loc, scale


@dataclass(frozen=True)
class Ridge:
    """A linear map from the last ``lookback`` target values to the next ``horizon`` ones."""

    weight: np.ndarray  # [L, H]
    bias: np.ndarray  # [H]
    alpha: float
    window_norm: str = "none"  # the coordinates weight and bias act in: see normalise_windows

    def _forecast(self, x: np.ndarray) -> np.ndarray:
        normalised, loc, scale = normalise_windows(x, self.window_norm)  # [C, L], [C, 1], [C, 1]
        return (normalised @ self.weight + self.bias) * scale + loc  # [C, H]

    def predict(self, values: np.ndarray, origins: np.ndarray) -> np.ndarray:
        lookback = self.weight.shape[0]
        parts = [self._forecast(x) for _, x in _input_chunks(values, origins, lookback)]
        return np.concatenate(parts) if parts else np.empty((0, self.weight.shape[1]))

    def mse(self, values: np.ndarray, origins: np.ndarray) -> float:
        horizon = self.weight.shape[1]
        total = sum(
            float(np.sum((self._forecast(x) - _targets(values, chunk, horizon)) ** 2))
            for chunk, x in _input_chunks(values, origins, self.weight.shape[0])
        )
        return total / (len(origins) * horizon)

    def to_dict(self) -> dict[str, Any]:
        out = {"alpha": self.alpha, "weight": self.weight.tolist(), "bias": self.bias.tolist()}
        return out if self.window_norm == "none" else {**out, "window_norm": self.window_norm}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ridge:
        return cls(
            np.asarray(data["weight"], dtype=np.float64),
            np.asarray(data["bias"], dtype=np.float64),
            float(data["alpha"]),
            str(data.get("window_norm", "none")),
        )


def fit_ridge(
    values: np.ndarray, train: np.ndarray, val: np.ndarray, lookback: int, horizon: int, window_norm: str = "none"
) -> Ridge:
    """Ridge on the training windows, its penalty chosen by MSE on the validation windows.

    ``values`` is the (scaled) target series; the fit uses sums of outer products gathered chunk by
    chunk, and one eigendecomposition serves every penalty on the grid. With ``window_norm``, inputs
    and targets are first normalised by each input window's statistics (the coordinates the model's
    linear path works in); the penalty is still chosen by the MSE of the restored forecast.
    """
    values = np.asarray(values, dtype=np.float64)
    sxx, sxy = np.zeros((lookback, lookback)), np.zeros((lookback, horizon))
    sx, sy = np.zeros(lookback), np.zeros(horizon)
    for chunk, raw in _input_chunks(values, train, lookback):
        x, loc, scale = normalise_windows(raw, window_norm)
        y = (_targets(values, chunk, horizon) - loc) / scale
        sxx += x.T @ x
        sxy += x.T @ y
        sx += x.sum(axis=0)
        sy += y.sum(axis=0)
    n = len(train)
    mean_x, mean_y = sx / n, sy / n
    cxx = sxx - n * np.outer(mean_x, mean_x)  # centred: the bias is fitted, not penalised
    cxy = sxy - n * np.outer(mean_x, mean_y)
    eigenvalues, vectors = np.linalg.eigh(cxx)
    projected = vectors.T @ cxy  # [L, H]
    candidates = []
    for alpha in ALPHA_GRID * max(float(np.mean(eigenvalues)), 1e-12):
        weight = vectors @ (projected / (np.clip(eigenvalues, 0, None) + alpha)[:, None])  # [L, H]
        candidates.append(Ridge(weight, mean_y - mean_x @ weight, float(alpha), window_norm))
    return min(candidates, key=lambda model: model.mse(values, val))


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
