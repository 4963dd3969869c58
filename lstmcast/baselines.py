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


# -- many series: a ridge per series ---------------------------------------------------------------

_BLOCK_FLOATS = 4_000_000  # padded windows per block of series (32 MB of float64), whatever their count


@dataclass(frozen=True)
class PanelRidge:
    """A ridge per series of a panel, each fitted on its own series' windows alone exactly as
    ``fit_ridge`` fits one series (in the series' scaled units, raw windows): weights ``[S, L, H]``,
    biases ``[S, H]`` and penalties ``[S]``, kept as float32. ``fitted[k]`` is False for a series with
    no training or validation window (its weights are zero)."""

    weight: np.ndarray  # [S, L, H] float32
    bias: np.ndarray  # [S, H] float32
    alpha: np.ndarray  # [S] float64, NaN where not fitted

    @property
    def fitted(self) -> np.ndarray:
        return np.isfinite(self.alpha)

    def predict(self, values: np.ndarray, origins: np.ndarray, owners: np.ndarray) -> np.ndarray:
        """Forecasts from global ``origins`` of ``values`` ``[rows]``, each by the ridge of its series
        (``owners``: positions among this panel's series), ``[n, horizon]`` float64."""
        lookback, horizon = self.weight.shape[1:]
        out = np.empty((len(origins), horizon))
        step = max(CHUNK * 64 // (lookback * horizon), 1)  # the gathered weights stay near CHUNK windows' size
        for start in range(0, len(origins), step):
            chunk, owner = origins[start : start + step], owners[start : start + step]
            x = values[chunk[:, None] - lookback + np.arange(lookback)].astype(np.float64)  # [C, L]
            out[start : start + step] = np.einsum("cl,clh->ch", x, self.weight[owner]) + self.bias[owner]
        return out


def fit_panel_ridges(
    values: np.ndarray, offsets: np.ndarray, train: np.ndarray, val: np.ndarray, lookback: int, horizon: int
) -> PanelRidge:
    """``fit_ridge`` for every series of a panel at once: series ``k`` (rows ``offsets[k]:offsets[k+1]``
    of ``values``) on its own training origins ``train`` and penalty chosen on its validation origins
    ``val`` (global rows, in series order, none crossing a series). Series are taken in blocks, their
    windows padded into ``[B, W, L]`` arrays, so sums, eigendecompositions and the penalty search are
    batched array operations: no loop per series or window."""
    values = np.asarray(values, dtype=np.float64)
    count = len(offsets) - 1
    weight = np.zeros((count, lookback, horizon))
    bias = np.zeros((count, horizon))
    alpha = np.full(count, np.nan)
    train_owner = np.searchsorted(offsets, train, side="right") - 1
    val_owner = np.searchsorted(offsets, val, side="right") - 1
    train_count = np.bincount(train_owner, minlength=count)
    val_count = np.bincount(val_owner, minlength=count)
    widest = np.maximum(train_count, val_count) * (lookback + horizon)  # [S] floats one series pads to
    block_start = 0
    while block_start < count:
        # As many series as fit the budget at the widest one's size (at least one).
        running = np.maximum.accumulate(widest[block_start:]) * np.arange(1, count - block_start + 1)
        size = max(int(np.searchsorted(running, _BLOCK_FLOATS, side="right")), 1)
        block = slice(block_start, block_start + size)
        fitted = _fit_block(values, (train, train_owner), (val, val_owner), block, lookback, horizon)
        weight[block], bias[block], alpha[block] = fitted
        block_start += size
    fits = (train_count > 0) & (val_count > 0)
    weight[~fits], bias[~fits], alpha[~fits] = 0.0, 0.0, np.nan
    return PanelRidge(weight.astype(np.float32), bias.astype(np.float32), alpha)


def _padded(
    values: np.ndarray, origins: np.ndarray, owners: np.ndarray, block: slice, lookback: int, horizon: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The windows of the series in ``block`` padded with zeros: inputs ``[B, W, L]``, targets
    ``[B, W, H]`` and the count per series ``[B]``."""
    size = block.stop - block.start
    lo, hi = np.searchsorted(owners, [block.start, block.stop])
    chosen, owner = origins[lo:hi], owners[lo:hi] - block.start
    counts = np.bincount(owner, minlength=size)
    place = np.arange(len(chosen)) - np.repeat(np.cumsum(counts) - counts, counts)  # each window's slot
    width = int(counts.max()) if len(counts) else 0
    x = np.zeros((size, width, lookback))
    y = np.zeros((size, width, horizon))
    x[owner, place] = values[chosen[:, None] - lookback + np.arange(lookback)]
    y[owner, place] = values[chosen[:, None] + np.arange(horizon)]
    return x, y, counts


def _fit_block(
    values: np.ndarray,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    block: slice,
    lookback: int,
    horizon: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every series of ``block``'s ridge, as ``fit_ridge`` fits it: centred sums, one batched
    eigendecomposition, and the first penalty of the grid with the least validation error."""
    x, y, n = _padded(values, *train, block, lookback, horizon)
    n = np.maximum(n, 1)[:, None].astype(np.float64)  # [B, 1]; series without windows are discarded later
    mean_x, mean_y = x.sum(axis=1) / n, y.sum(axis=1) / n  # [B, L], [B, H]
    cxx = np.matmul(x.transpose(0, 2, 1), x) - n[:, :, None] * mean_x[:, :, None] * mean_x[:, None, :]
    cxy = np.matmul(x.transpose(0, 2, 1), y) - n[:, :, None] * mean_x[:, :, None] * mean_y[:, None, :]
    eigenvalues, vectors = np.linalg.eigh(cxx)  # [B, L], [B, L, L]
    projected = np.matmul(vectors.transpose(0, 2, 1), cxy)  # [B, L, H]
    unit = np.maximum(eigenvalues.mean(axis=1), 1e-12)  # [B]
    xv, yv, _ = _padded(values, *val, block, lookback, horizon)  # padded rows are zeros: masked below
    real = _slots(val[1], block, xv.shape[1])  # [B, V] which slots hold a window
    best = np.full(len(unit), np.inf)
    chosen = (np.zeros_like(projected), np.zeros_like(mean_y), np.full(len(unit), np.nan))
    for factor in ALPHA_GRID:
        alpha = factor * unit  # [B]
        weight = np.matmul(vectors, projected / (np.clip(eigenvalues, 0, None) + alpha[:, None])[:, :, None])
        bias = mean_y - np.einsum("bl,blh->bh", mean_x, weight)  # [B, H]
        error = ((np.matmul(xv, weight) + bias[:, None, :] - yv) ** 2).sum(axis=2)  # [B, V]
        total = np.where(real, error, 0.0).sum(axis=1)  # [B]
        better = total < best  # strictly: the first penalty wins a tie, as min() does in fit_ridge
        best = np.where(better, total, best)
        chosen = (
            np.where(better[:, None, None], weight, chosen[0]),
            np.where(better[:, None], bias, chosen[1]),
            np.where(better, alpha, chosen[2]),
        )
    return chosen


def _slots(owners: np.ndarray, block: slice, width: int) -> np.ndarray:
    """``[B, width]``: True where series ``block.start + b`` has a ``w``-th window."""
    lo, hi = np.searchsorted(owners, [block.start, block.stop])
    counts = np.bincount(owners[lo:hi] - block.start, minlength=block.stop - block.start)
    return np.arange(width)[None, :] < counts[:, None]
