"""Forecast quantiles: a quantile head trained with pinball loss, conformalised on the validation part.

With ``--quantiles 0.1,0.5,0.9`` the network gains a quantile head: a linear map from the summary
state its point head reads to, for every horizon step ``h`` and level ``tau``, an offset ``o[h, tau]``
from the point forecast, in units of the input window's spread ``s`` (1 for window normalisation
``none``/``last``, the window's standard deviation for ``mean``/``revin``, as the interval bands):

    q_tau[h] = point[h] + (o[h, tau] + c[h, tau]) * s

The head is trained after the point network, with every other weight frozen, on the pinball
(quantile) loss ``max(tau * r, (tau - 1) * r)`` of ``r = actual - q``, with early stopping on the
validation part's pinball loss; it starts from the training part's empirical quantiles of the
errors, so only how they vary from window to window is learned. The point forecast is the network's
own, unchanged by the head. Quantile regression fitted on the training part is too confident out of
sample (the network has seen those rows), so each level is then conformalised (Romano et al. 2019,
one-sided): ``c[h, tau]`` is the conformal ``tau``-quantile of the validation errors left after the
head, ``(actual - q) / s``, so that on the validation part a share ``tau`` of each step's actual
values fall below ``q_tau``. The quantiles of a row are sorted, so they never cross.

Scores: for each level the share of actual values at or below it (``coverage``, which should be
``tau``) and its mean pinball loss; ``crps``, the continuous ranked probability score approximated
by twice the mean pinball loss over the levels (exact as the levels fill (0, 1) evenly).

Plain numpy: ``predict`` imports no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmcast.config import ModelConfig, parse_level_list
from lstmcast.errors import DataError
from lstmcast.intervals import check_offsets, check_weight, level_rows, stored_levels, weighted_ranks, window_spread
from lstmcast.runtime.network import Weights, offset_rows

MAX_QUANTILES = 19


def parse_quantiles(text: str | tuple[float, ...] | list[float] | None) -> tuple[float, ...]:
    """``"0.1,0.5,0.9"`` (or numbers) -> ``(0.1, 0.5, 0.9)``: distinct levels strictly between 0 and 1,
    sorted; a ConfigError naming the bad one otherwise."""
    rule = "a quantile level is strictly between 0 and 1, like 0.1 or 0.9"
    return parse_level_list(text, "--quantiles", 1, "levels like 0.1,0.5,0.9", rule, quantile_name, MAX_QUANTILES)


def quantile_name(level: float) -> str:
    """0.1 -> "q0.1", 0.025 -> "q0.025", 1e-05 -> "q0.00001": the forecast table's column of a level,
    in positional notation with every digit the level has."""
    return "q" + np.format_float_positional(level, trim="-")


def quantile_names(levels: tuple[float, ...]) -> list[str]:
    return [quantile_name(level) for level in levels]


def minimum_calibration(levels: tuple[float, ...]) -> int:
    """The fewest validation origins for which every level's conformal correction is finite: the
    ``ceil((n + 1) tau)``-th smallest of ``n`` errors exists for the highest level (a lower rank below 1
    is the smallest error, which only makes that quantile lower)."""
    high = max(levels)
    return max(math.ceil(high / (1 - high) - 1e-9), 1)


def check_calibration(
    count: int,
    levels: tuple[float, ...],
    source: str,
    what: str = "validation origins",
    advice: str = "a longer series, a larger --val-frac, or levels nearer 0.5",
) -> None:
    """A DataError when ``count`` origins are too few to conformalise every level."""
    needed = minimum_calibration(levels)
    if count < needed:
        raise DataError(
            f"{source}: {count} {what} are too few to calibrate quantiles "
            f"{', '.join(f'{level:g}' for level in levels)}; they need at least {needed} ({advice})"
        )


def pinball(actual: np.ndarray, quantile: np.ndarray, level: float) -> np.ndarray:
    """The pinball (quantile) loss of each value: ``max(tau r, (tau - 1) r)`` for ``r = actual - quantile``."""
    error = actual - quantile
    return np.maximum(level * error, (level - 1) * error)


@dataclass(frozen=True)
class Quantiles:
    """A model's quantile levels and each one's conformal correction per step, in units of the input
    window's spread (``window_norm``'s), from ``calibration`` validation origins."""

    levels: tuple[float, ...]
    shifts: np.ndarray  # [Q, H] float64
    window_norm: str
    calibration: int

    def values(self, forecast: np.ndarray, offsets: np.ndarray, spread: np.ndarray) -> np.ndarray:
        """The quantiles ``[N, H, Q]``, sorted along the levels, around ``forecast [N, H]`` from the head's
        ``offsets [N, H, Q]`` and each window's ``spread [N, 1]`` (in the forecast's units)."""
        corrected = offsets + self.shifts.T[None]  # [N, H, Q]
        with np.errstate(over="ignore", invalid="ignore"):  # refused below
            values = np.sort(forecast[:, :, None] + corrected * spread[:, :, None], axis=2)
        if not np.all(np.isfinite(values)):
            raise DataError(
                "some quantiles are not finite numbers (an input far outside the range the model was trained on, "
                "or a damaged model); they cannot be written or scored"
            )
        return values

    def columns(self, forecast: np.ndarray, offsets: np.ndarray, spread: np.ndarray) -> dict[str, np.ndarray]:
        """The forecast table's quantile columns, ``q0.1`` ... each ``[N, H]``."""
        values = self.values(forecast, offsets, spread)
        return {quantile_name(level): values[:, :, k] for k, level in enumerate(self.levels)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "levels": list(self.levels),
            "shifts": self.shifts.tolist(),
            "window_norm": self.window_norm,
            "calibration": self.calibration,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Quantiles:
        levels = stored_levels(data["levels"], parse_quantiles, "quantiles")
        shifts = level_rows(data["shifts"], levels, "quantiles: shifts")
        return cls(levels, shifts, str(data["window_norm"]), int(data["calibration"]))


def quantile_columns(
    quantiles: Quantiles | None,
    config: ModelConfig,
    weights: Weights,
    inputs: np.ndarray,
    forecast: np.ndarray,
    unit: np.ndarray,
) -> dict[str, np.ndarray]:
    """A model with quantiles: ``q0.1``, ... ``[N, H]`` each (original units, sorted along the levels)
    around ``forecast [N, H]`` from the scaled input windows ``[N, L, F]`` (the network in fixed passes,
    so each row is the same in any shard) and each one's target scale ``unit`` (``[N]`` or one for
    all); none for a model without quantiles. What ``predict`` writes, on either path."""
    if quantiles is None:
        return {}
    _, offsets = offset_rows(config, weights, inputs)  # [N, H, Q] in spread units
    spread = window_spread(inputs[:, :, 0], quantiles.window_norm) * np.reshape(unit, (-1, 1))  # [N, 1]
    return quantiles.columns(forecast, offsets.astype(np.float64), spread)


def fit_shifts(
    actual: np.ndarray,
    forecast: np.ndarray,
    offsets: np.ndarray,
    spread: np.ndarray,
    levels: tuple[float, ...],
    window_norm: str,
    source: str,
    weights: np.ndarray | None = None,
) -> Quantiles:
    """The conformal correction of every level from the validation part: ``actual`` and the point
    ``forecast`` ``[N, H]`` (scaled), the head's ``offsets [N, H, Q]`` and the windows' ``spread [N, 1]``.
    For level ``tau`` and step ``h`` it is the ``ceil((n + 1) tau)``-th smallest (clipped to ``[1, n]``)
    of the errors left after the head, ``(actual - forecast) / spread - offset``; with ``weights [N]``
    the weighted quantile of ``lstmcast.intervals.weighted_ranks`` (every weight 1 is the same)."""
    n = len(actual)
    check_calibration(n, levels, source)
    left = ((actual - forecast) / spread)[:, :, None] - offsets  # [N, H, Q]
    if not np.all(np.isfinite(left)):
        raise DataError(
            f"{source}: some forecasts are not finite numbers (values far outside the range the model was "
            "trained on); their errors cannot calibrate quantiles"
        )
    check_weight(
        weights, max(levels), minimum_calibration(levels), source, f"quantile {max(levels):g}", "levels nearer 0.5"
    )
    weights = np.ones(n) if weights is None else weights
    order = np.argsort(left, axis=0, kind="stable")  # [N, H, Q]
    ordered = np.take_along_axis(left, order, axis=0)
    steps = np.arange(left.shape[1])
    shifts = []
    for k, level in enumerate(levels):
        _, rank = weighted_ranks(weights[order[:, :, k]], 0.0, level)  # the first whose share reaches it
        shifts.append(ordered[rank, steps, k])
    check_offsets(np.array(shifts), source, "a quantile")
    return Quantiles(levels, np.array(shifts, dtype=np.float64), window_norm, n)


def quantile_scores(actual: np.ndarray, values: np.ndarray, levels: tuple[float, ...]) -> dict[str, Any]:
    """How good the quantiles ``[N, H, Q]`` are against ``actual [N, H]``: per level the share of actual
    values at or below it (overall and per step) and its mean pinball loss; overall the mean pinball
    loss and the CRPS approximated as twice it."""
    if not actual.size:
        return {"levels": {}, "pinball": None, "crps": None}
    per_level = {}
    losses = []
    for k, level in enumerate(levels):
        below = actual <= values[:, :, k]
        loss = pinball(actual, values[:, :, k], level)
        losses.append(float(loss.mean()))
        per_level[quantile_name(level)] = {
            "level": level,
            "coverage": float(below.mean()),
            "pinball": losses[-1],
            "per_step_coverage": below.mean(axis=0).tolist(),
        }
    mean_loss = float(np.mean(losses))
    return {"levels": per_level, "pinball": mean_loss, "crps": 2 * mean_loss}
