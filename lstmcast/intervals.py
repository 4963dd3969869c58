"""Prediction intervals: per-step split-conformal bands around the point forecast, and their scores.

After training, the fitted network forecasts every validation origin; the residuals (actual minus
forecast, in scaled units) of each horizon step, divided by the input window's spread in the
model's window normalisation (1 for ``none`` and ``last``, the window's standard deviation for
``mean`` and ``revin``), are the calibration set. For a level ``p`` (in percent, ``alpha = 1 - p/100``)
the band of step ``h`` runs from the ``floor((n + 1) alpha / 2)``-th to the
``ceil((n + 1) (1 - alpha / 2))``-th smallest of its ``n`` residuals: the split-conformal quantiles,
which cover at least ``p`` percent of new points whose errors behave like the validation part's
(exchangeability). At predict time the band is the forecast plus those offsets times the window's
spread, back in the target's units. The validation part also chose the best epoch, so its residuals
are slightly optimistic; the test part's coverage says how much.

Plain numpy: ``predict`` imports no torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmcast.baselines import normalise_windows
from lstmcast.config import parse_level_list
from lstmcast.errors import DataError

MAX_LEVELS = 8
MAX_OFFSET = 1e6  # window spreads, for bands and quantile corrections: beyond any real one, far from overflow


def parse_levels(text: str | tuple[float, ...] | list[float] | None) -> tuple[float, ...]:
    """``"80,95"`` (or numbers) -> ``(80.0, 95.0)``: distinct percentages strictly between 0 and 100,
    sorted; a ConfigError naming the bad one otherwise."""
    rule = "a level is a percentage strictly between 0 and 100, like 80 or 95"
    return parse_level_list(text, "--level", 100, "percentages like 80,95", rule, level_name, MAX_LEVELS)


def level_name(level: float) -> str:
    """80.0 -> "80", 99.5 -> "99.5": how a level names its columns (``lo_80``) and scores (``coverage_80``)."""
    return f"{level:g}"


def minimum_calibration(level: float) -> int:
    """The fewest residuals for which the conformal band of ``level`` is finite."""
    alpha = 1 - level / 100
    return math.ceil(2 / alpha - 1 - 1e-9)  # 1e-9: 2 / 0.05 is 40.00000000000001 in floating point


def check_calibration(
    count: int,
    levels: tuple[float, ...],
    source: str,
    what: str = "validation origins",
    advice: str = "a longer series, a larger --val-frac, or a lower --level",
) -> None:
    """A DataError when ``count`` origins are too few for every level's band to be finite."""
    needed = max(minimum_calibration(level) for level in levels)
    if count < needed:
        raise DataError(
            f"{source}: {count} {what} are too few for {level_name(max(levels))}% intervals; they need at least "
            f"{needed} ({advice})"
        )


@dataclass(frozen=True)
class Intervals:
    """Offsets of every level's band from the scaled forecast, per step, in units of the input
    window's spread: ``lower[k, h] <= upper[k, h]`` for ``levels[k]``."""

    levels: tuple[float, ...]
    lower: np.ndarray  # [K, H] float64
    upper: np.ndarray  # [K, H] float64
    window_norm: str  # whose spread the offsets are in units of (the model's window normalisation)
    calibration: int  # how many validation origins gave the residuals

    def bands(self, forecast: np.ndarray, spread: np.ndarray) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """Each level's (low, high) ``[N, H]`` around ``forecast [N, H]``, with ``spread [N, 1]`` each
        window's spread in the forecast's units."""
        return {
            level: (forecast + self.lower[k] * spread, forecast + self.upper[k] * spread)
            for k, level in enumerate(self.levels)
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "levels": list(self.levels),
            "lower": self.lower.tolist(),
            "upper": self.upper.tolist(),
            "window_norm": self.window_norm,
            "calibration": self.calibration,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Intervals:
        levels = stored_levels(data["levels"], parse_levels, "intervals")
        lower = level_rows(data["lower"], levels, "intervals: lower")
        upper = level_rows(data["upper"], levels, "intervals: upper")
        if lower.shape != upper.shape or not np.all(lower <= upper):
            raise ValueError("intervals: lower and upper must have the same steps, and lower at most upper")
        return cls(levels, lower, upper, str(data["window_norm"]), int(data["calibration"]))


def stored_levels(stored: list[Any], parse: Callable[[Any], tuple[float, ...]], what: str) -> tuple[float, ...]:
    """A model file's levels, checked by ``parse`` and in the ascending order ``parse`` gives: the rows
    stored beside them follow the stored order, so a reordered list would mismatch them."""
    given = tuple(float(level) for level in stored)
    levels = parse(given)
    if levels != given:
        raise ValueError(f"{what}: the levels must be in ascending order")
    return levels


def level_rows(values: Any, levels: tuple[float, ...], what: str) -> np.ndarray:
    """A model file's ``[levels, steps]`` offsets in window spreads, as float64: one list per level, of
    one number per step, each at most ``MAX_OFFSET`` (further out, no command could use the model)."""
    try:
        rows = np.asarray(values, dtype=np.float64)
    except ValueError:  # ragged lists
        rows = np.empty(0)
    if rows.ndim != 2 or rows.shape[0] != len(levels):
        raise ValueError(f"{what} must be one list per level, of one number per step")
    if not np.all(np.abs(rows) <= MAX_OFFSET):
        raise ValueError(f"{what}: every value must be a number of at most {MAX_OFFSET:g} window spreads")
    return rows


def band_names(intervals: Intervals | tuple[float, ...] | None) -> list[str]:
    """The forecast table's interval columns, ``lo_80, hi_80, lo_95, hi_95``, for intervals or levels."""
    levels = intervals.levels if isinstance(intervals, Intervals) else (intervals or ())
    return [f"{side}_{level_name(level)}" for level in levels for side in ("lo", "hi")]


def band_columns(
    intervals: Intervals | None, forecast: np.ndarray, windows: np.ndarray, unit: np.ndarray
) -> dict[str, np.ndarray]:
    """Every interval column (``band_names``) around ``forecast [N, H]`` (original units), from the
    scaled target windows ``[N, L]`` it was forecast from and each one's target scale ``unit`` (``[N]``
    or one for all); none without intervals."""
    if intervals is None:
        return {}
    spread = window_spread(windows, intervals.window_norm) * np.reshape(unit, (-1, 1))  # [N, 1]
    columns = {}
    for level, (low, high) in intervals.bands(forecast, spread).items():
        columns[f"lo_{level_name(level)}"], columns[f"hi_{level_name(level)}"] = low, high
    return columns


# The least spread a window counts as having (scaled units: a hundredth of the training target's spread
# under the standard scaler). A flat stretch (a stuck sensor, a closed shop) has a spread near 0, and an
# error in units of it is huge: a few such windows among the validation or calibration origins blew a
# --window-norm mean model's 0.9 quantile up from 0.05 to 75 spreads (found by an adversarial pass).
SPREAD_FLOOR = 0.01


def window_spread(windows: np.ndarray, window_norm: str) -> np.ndarray:
    """Each scaled input window's spread ``[N, 1]`` (``windows [N, L]``): the unit of the offsets, at
    least ``SPREAD_FLOOR`` for ``mean`` and ``revin`` (1 for ``none`` and ``last``)."""
    _, _, spread = normalise_windows(np.asarray(windows, dtype=np.float64), window_norm)
    return np.maximum(spread, SPREAD_FLOOR) if window_norm in ("mean", "revin") else spread


def check_finite_errors(errors: np.ndarray, source: str, use: str = "size a band") -> None:
    """A DataError when some errors are not finite: their forecasts overflowed."""
    if not np.all(np.isfinite(errors)):
        raise DataError(
            f"{source}: some forecasts are not finite numbers (values far outside the range the model was "
            f"trained on); their errors cannot {use}"
        )


def fit_intervals(
    residuals: np.ndarray,
    spread: np.ndarray,
    levels: tuple[float, ...],
    window_norm: str,
    source: str,
    weights: np.ndarray | None = None,
) -> Intervals:
    """The split-conformal offsets of every level from validation ``residuals [N, H]`` (actual minus
    forecast, scaled) and their windows' ``spread [N, 1]``. Too few residuals for a level's band to be
    finite is a DataError saying how many it needs. With ``weights [N]`` (recent errors weighing
    more, ``decay_weights``), the weighted quantiles of ``weighted_ranks``; every weight 1 is the same."""
    n = len(residuals)
    check_calibration(n, levels, source)
    check_finite_errors(residuals / spread, source)
    errors = residuals / spread
    top = max(levels)
    check_weight(weights, 1 - (1 - top / 100) / 2, minimum_calibration(top), source, f"{level_name(top)}% intervals")
    if weights is None:
        weights = np.ones(n)
    order = np.argsort(errors, axis=0, kind="stable")  # [N, H]
    ordered = np.take_along_axis(errors, order, axis=0)
    steps = np.arange(errors.shape[1])
    lower, upper = [], []
    for level in levels:
        alpha = 1 - level / 100
        low, high = weighted_ranks(weights[order], alpha / 2, 1 - alpha / 2)
        lower.append(ordered[low, steps])
        upper.append(ordered[high, steps])
    check_offsets(np.array([lower, upper]), source, "a band")
    return Intervals(levels, np.array(lower), np.array(upper), window_norm, n)


def weighted_ranks(sorted_weights: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the indices of the ``low`` and ``high`` weighted quantiles of values sorted down the
    column whose weights are ``sorted_weights [N, H]``, with a new point of weight 1 beyond either end
    (weighted split conformal, Barber et al. 2023): the last value whose share of the weight, at and
    below it, is at most ``low``, and the first whose share reaches ``high`` (at least the first and at
    most the last value). With every weight 1 these are the ``floor((n + 1) low)``-th and
    ``ceil((n + 1) high)``-th smallest, split conformal's ranks."""
    share = np.cumsum(sorted_weights, axis=0) / (sorted_weights.sum(axis=0) + 1.0)  # [N, H]
    # 1e-9 keeps 1 - 0.8 = 0.19999999999999996 from moving a rank
    below = np.maximum((share <= low + 1e-9).sum(axis=0) - 1, 0)
    reached = share >= high - 1e-9
    above = np.where(reached.any(axis=0), reached.argmax(axis=0), len(share) - 1)
    # Shares within the 1e-9 of both ends (a level under 2e-7 percent, weights near 0 but the newest's)
    # would put the lower edge above the upper: an upside-down band a model file refuses as damaged.
    return np.minimum(below, above), above


def check_weight(
    weights: np.ndarray | None, share: float, needed: int, source: str, what: str, advice: str = "a lower --level"
) -> None:
    """A DataError when ``weights [N]`` weigh too little for the weighted quantile at ``share`` to be one
    of the errors (with the new point's weight 1, it is beyond the largest): ``weighted_ranks`` would
    clip it to the largest error, a band or quantile that is not what it says. Weighted, the check that
    ``needed`` origins of weight 1 (``check_calibration``) make for the plain method."""
    if weights is None:
        return
    total = float(np.sum(weights))
    if total / (total + 1.0) >= share - 1e-9:  # the share weighted_ranks reaches at the largest error
        return
    raise DataError(
        f"{source}: with --half-life the forecast origins weigh as much as {total:.3g} of full weight, too little "
        f"for {what}; they need at least {needed} (a longer --half-life, or {advice})"
    )


def decay_weights(ages: np.ndarray, half_life: float | None) -> np.ndarray | None:
    """``0.5 ** (age / half_life)`` for calibration origins ``ages`` rows before the newest (None
    without a half-life: every error weighs the same)."""
    if half_life is None:
        return None
    return np.power(0.5, np.asarray(ages, dtype=np.float64) / half_life)


def check_offsets(offsets: np.ndarray, source: str, what: str) -> None:
    """A DataError when errors put ``what`` (a band, a quantile) more than ``MAX_OFFSET`` window
    spreads from the forecast: a model file refuses such offsets as damaged, so none is written (the
    model there stays as it was). A spike of 1e8 among the rows gives them."""
    if np.all(np.abs(offsets) <= MAX_OFFSET):
        return
    raise DataError(
        f"{source}: the errors put {what} more than {MAX_OFFSET:g} input-window spreads from the forecast; the rows "
        "hold values far from the rest (a spike, a unit change?): repair them or leave them out"
    )


def interval_scores(actual: np.ndarray, bands: dict[float, tuple[np.ndarray, np.ndarray]]) -> dict[str, dict[str, Any]]:
    """Per level: ``coverage`` (the share of actual values inside the band, overall and ``per_step``),
    mean ``width`` and the interval (Winkler) score, ``width + 2/alpha`` times how far outside an actual
    falls: lower is better, and it punishes both wide bands and misses."""
    out = {}
    for level, (low, high) in bands.items():
        alpha = 1 - level / 100
        inside = (actual >= low) & (actual <= high)  # [N, H]
        score = (high - low) + (2 / alpha) * (np.maximum(low - actual, 0) + np.maximum(actual - high, 0))
        out[level_name(level)] = {
            "level": level,
            "coverage": float(inside.mean()) if inside.size else None,
            "width": float((high - low).mean()) if inside.size else None,
            "interval_score": float(score.mean()) if inside.size else None,
            "per_step_coverage": inside.mean(axis=0).tolist() if inside.size else [],
        }
    return out


# -- event probabilities from joint residual paths ---------------------------------------------------

MAX_PATHS = 2000  # validation error paths kept with a model trained with a threshold
_CHUNK_CELLS = 8_000_000  # origins x paths x steps compared at once


def kept_paths(count: int) -> np.ndarray:
    """Which of ``count`` error paths ``keep_paths`` keeps: all, or ``MAX_PATHS`` evenly spaced in time."""
    if count <= MAX_PATHS:
        return np.arange(count)
    return np.linspace(0, count - 1, MAX_PATHS).round().astype(np.int64)


def keep_paths(residuals: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """At most ``MAX_PATHS`` whole validation error paths ``[P, H]`` (each origin's errors over the
    horizon, in units of its window's spread), evenly spaced in time, as float32."""
    return (residuals / spread)[kept_paths(len(residuals))].astype(np.float32)


def event_probabilities(
    paths: np.ndarray, forecast: np.ndarray, spread: np.ndarray, threshold: float, event: str
) -> tuple[np.ndarray, np.ndarray]:
    """For each origin, the probability that each step is beyond ``threshold`` (``[N, H]``) and that
    any step of the horizon is (``[N]``): the share of the error paths ``[P, H]`` that, added to the
    ``forecast [N, H]`` (times each window's ``spread [N, 1]``), take the value beyond it. Whole paths
    keep the errors of one origin together, so "any step" counts joint paths, not per-step chances."""
    count, horizon = forecast.shape
    step = np.empty((count, horizon))
    anywhere = np.empty(count)
    chunk = max(_CHUNK_CELLS // max(len(paths) * horizon, 1), 1)
    for start in range(0, count, chunk):
        rows = slice(start, start + chunk)
        values = forecast[rows, None, :] + paths[None, :, :] * spread[rows, None, :]  # [C, P, H]
        beyond = values > threshold if event == "above" else values < threshold
        step[rows] = beyond.mean(axis=1)
        anywhere[rows] = beyond.any(axis=2).mean(axis=1)
    return step, anywhere


def held_out_probabilities(
    paths: np.ndarray,
    path_origins: np.ndarray,
    forecast: np.ndarray,
    spread: np.ndarray,
    origins: np.ndarray,
    threshold: float,
    event: str,
) -> np.ndarray:
    """``event_probabilities``' per-step probabilities ``[N, H]`` for forecasts from ``origins`` that
    the ``paths`` were themselves taken from (``path_origins``, rows of the same series): each origin
    counts only the paths of origins at least a horizon away, so no path shares a forecast row, an
    actual value, with the forecast it is scored on. A DataError when some origin has no such path."""
    count, horizon = forecast.shape
    order = np.sort(path_origins)
    # Paths whose origin o' has |o' - o| < H forecast a row that origin o forecasts too.
    near = np.searchsorted(order, origins + horizon, side="left") - np.searchsorted(order, origins - horizon, "right")
    usable = len(paths) - near  # [N]
    if not len(usable) or usable.min() < 1:
        raise DataError(
            f"{len(origins)} validation origins are too few to leave out the paths near each one (a horizon of "
            f"{horizon} on either side)"
        )
    step = np.empty((count, horizon))
    chunk = max(_CHUNK_CELLS // max(len(paths) * horizon, 1), 1)
    for start in range(0, count, chunk):
        rows = slice(start, start + chunk)
        values = forecast[rows, None, :] + paths[None, :, :] * spread[rows, None, :]  # [C, P, H]
        beyond = values > threshold if event == "above" else values < threshold
        far = np.abs(origins[rows, None] - path_origins[None, :]) >= horizon  # [C, P]
        step[rows] = (beyond & far[:, :, None]).sum(axis=1) / usable[rows, None]
    return step


PROBABILITY_COLUMNS = ("prob", "prob_any")


def probability_columns(
    paths: np.ndarray | None,
    window_norm: str,
    events: dict[str, Any] | None,
    forecast: np.ndarray,
    windows: np.ndarray,
    unit: np.ndarray,
) -> dict[str, np.ndarray]:
    """For a model trained with a threshold (``events``, its record) and error ``paths``: ``prob``, each
    step's probability of being beyond the threshold, and ``prob_any``, that any step of the horizon is
    (the same on every step of an origin), ``[N, H]`` each; ``windows`` and ``unit`` as for
    ``band_columns``. None for other models."""
    if paths is None or not events:
        return {}
    spread = window_spread(windows, window_norm) * np.reshape(unit, (-1, 1))
    step, anywhere = event_probabilities(paths, forecast, spread, float(events["threshold"]), str(events["event"]))
    return {"prob": step, "prob_any": np.repeat(anywhere[:, None], forecast.shape[1], axis=1)}


def probability_scores(
    probability: np.ndarray, happened: np.ndarray, base_rate: float | None, bins: int = 10
) -> dict[str, Any]:
    """How good the probabilities are: the Brier score (mean squared difference from what happened, 0
    best), its skill against always saying ``base_rate`` (the training part's share of events; above 0
    beats it), and a reliability table: for each tenth of the probability range, how many forecasts
    fell in it, their mean probability and how often the event happened."""
    p, y = probability.ravel().astype(np.float64), happened.ravel().astype(np.float64)
    if not p.size:
        return {"brier": None, "brier_skill": None, "base_rate": base_rate, "events": 0, "reliability": []}
    brier = float(np.mean((p - y) ** 2))
    reference = float(np.mean((base_rate - y) ** 2)) if base_rate is not None else None
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    counts = np.bincount(which, minlength=bins)
    table = [
        {
            "from": float(k / bins),
            "to": float((k + 1) / bins),
            "n": int(counts[k]),
            "mean_probability": float(p[which == k].mean()),
            "observed": float(y[which == k].mean()),
        }
        for k in np.flatnonzero(counts)
    ]
    return {
        "brier": brier,
        "brier_skill": 1 - brier / reference if reference else None,
        "base_rate": base_rate,
        "events": int(y.sum()),
        "reliability": table,
    }
