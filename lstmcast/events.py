"""Event-level scores for threshold crossings: did the forecast warn of each excursion, and how early?

``metrics.threshold_metrics`` scores every (origin, step) pair on its own; here whole excursions
beyond a threshold X are the unit, as a user watching for them would count them.

Notation: ``target`` is the whole actual series; an origin t is the first forecast row (the model
saw rows < t) and ``forecast[i, h]`` is the forecast for row ``origins[i] + h``, h = 0 .. H-1.
"Beyond" means ``> X`` for ``event="above"`` and ``< X`` for ``"below"``, strictly.

- Scored rows: ``origins[0] .. origins[-1] + H - 1``.
- Actual events: maximal runs of scored rows whose actual value is beyond X, except a run already
  under way at the first scored row (``target[origins[0] - 1]`` beyond X too): nothing could have
  warned of it.
- Alerts: origin t alerts when some step of its forecast is beyond the alert level Y (default X),
  unless ``target[t - 1]`` is already beyond X. Its warned rows are the rows t + h forecast beyond Y.
- Predicted events: maximal runs of rows in the union of all warned rows.
- Overlap with tolerance N: predicted [ps, pe] and actual [as, ae] overlap when
  ``ps <= ae + N`` and ``pe >= as - N``.
- Matching is one-to-one: a maximum matching of predicted with actual events over that relation,
  each event in at most one pair. So one long alert cannot take credit for several events, and a
  forecast event split into pieces counts the extra pieces as false alarms; otherwise alerting all
  the time would make one predicted event overlapping everything and score precision = recall = 1.
- Event precision: matched pairs / predicted events; event recall: matched pairs / actual events;
  F1 their harmonic mean. A ratio over zero is None; F1 is None when either is None or both are 0.
- Lead time of a matched actual event [s, e]: ``s - t_first + 1``, where t_first is the earliest
  origin whose alert warns a row of its matched predicted event lying in [s - N, e + N]. 1 means
  warned by origin s, one step ahead; <= 0 means the first warning came after the crossing (only
  possible through the tolerance).
- Many series (``groups``: each origin's series, origins sorted and each series' in one block):
  every rule above holds within each series. Its scored rows run from its first origin to its last
  origin + H - 1, an event under way at its own first scored row is left out, and no event, alert
  run or match crosses from one series to another, however large the tolerance. The counts are the
  sums over the series.

Thresholds given as ``qP`` are quantiles of the training part's target, stored on a fixed grid of
levels (``QUANTILE_LEVELS``) so a saved model can resolve any of them without its training data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from lstmcast.config import EVENTS
from lstmcast.errors import ConfigError, DataError

QUANTILE_LEVELS = np.round(np.linspace(0, 1, 1001), 3)

_QUANTILE_SYNTAX = re.compile(r"[qQ](\d*\.?\d+)")
_THRESHOLD_HELP = (
    "--threshold must be a number or a quantile of the training part such as q0.95 (0 < P < 1, at most 3 decimals)"
)

# Larger than any row index, so it never wins a minimum over origins.
_NO_ORIGIN = np.iinfo(np.int64).max


# -- runs and matching ----------------------------------------------------------------------------


def event_runs(flags: np.ndarray) -> np.ndarray:
    """Inclusive ``(start, end)`` of every maximal run of True in a 1-D bool array, ``[E, 2]`` int64."""
    flags = np.asarray(flags, dtype=bool)
    # Padding with False on both sides makes every run open with +1 and close with -1.
    steps = np.diff(np.concatenate(([False], flags, [False])).astype(np.int8))
    starts = np.flatnonzero(steps == 1)
    ends = np.flatnonzero(steps == -1) - 1
    return np.column_stack((starts, ends)).astype(np.int64)


def _overlap_ranges(predicted: np.ndarray, actual: np.ndarray, tolerance: int) -> tuple[np.ndarray, np.ndarray]:
    """For each predicted event, the inclusive range ``[lo, hi]`` of actual-event indices it overlaps.

    Both are sorted, disjoint runs, so actual ends and starts both increase: the actual events
    overlapping ``[ps, pe]`` within N are those ending at or after ``ps - N`` and starting at or before
    ``pe + N``, a contiguous range (empty when ``hi < lo``), and lo, hi never decrease from one
    predicted event to the next.
    """
    lo = np.searchsorted(actual[:, 1], predicted[:, 0] - tolerance, side="left")
    hi = np.searchsorted(actual[:, 0], predicted[:, 1] + tolerance, side="right") - 1
    return lo, hi


def match_events(predicted: np.ndarray, actual: np.ndarray, tolerance: int) -> np.ndarray:
    """A maximum one-to-one matching of overlapping events: ``[K, 2]`` (predicted index, actual index).

    Taking predicted events in time order, each is matched with the earliest actual event it
    overlaps that is still free. Later predicted events' overlap ranges start and end no earlier
    (``_overlap_ranges``), so the earliest free actual event is the one they are least able to use:
    taking it never costs a later match, and this greedy matching is maximum.
    """
    predicted = np.asarray(predicted, dtype=np.int64).reshape(-1, 2)
    actual = np.asarray(actual, dtype=np.int64).reshape(-1, 2)
    lo, hi = _overlap_ranges(predicted, actual, tolerance)
    pairs: list[tuple[int, int]] = []
    next_free = 0  # every actual event before this one is matched or out of reach of later predictions
    # Sequential by nature: which actual event is free depends on every earlier match. The loop runs
    # once per predicted event, not per row.
    for index, (first, last) in enumerate(zip(lo.tolist(), hi.tolist(), strict=True)):
        candidate = max(first, next_free)
        if candidate <= last:
            pairs.append((index, candidate))
            next_free = candidate + 1
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _window_minimum(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Minimum of ``values[start : end + 1]`` for each window (windows non-empty, may overlap)."""
    # reduceat over interleaved (start, end + 1) bounds reduces each window at the even positions;
    # the sentinel keeps ``end + 1`` a valid index when a window reaches the last value.
    padded = np.append(values, _NO_ORIGIN)
    bounds = np.column_stack((starts, ends + 1)).ravel()
    return np.minimum.reduceat(padded, bounds)[::2]


# -- event metrics ----------------------------------------------------------------------------------


def comparison(event: str) -> Callable[..., np.ndarray]:
    """``np.greater`` for "above", ``np.less`` for "below": beyond a level is strict either way."""
    if event not in EVENTS:
        raise ValueError(f"event must be one of {EVENTS}; got {event!r}")
    return np.greater if event == "above" else np.less


def _check_tolerance(tolerance: int) -> int:
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, np.integer)) or tolerance < 0:
        raise ConfigError(f"--tolerance must be a whole number of steps, 0 or more; got {tolerance!r}")
    return int(tolerance)


@dataclass(frozen=True)
class _Setup:
    """Everything about an evaluation that does not depend on the alert level (computed once)."""

    beyond: Callable[..., np.ndarray]
    tolerance: int
    first_row: int  # origins[0]: scored rows lie in first_row .. first_row + n_rows - 1
    n_rows: int
    actual: np.ndarray  # [A, 2] actual events, absolute rows
    alert_origins: np.ndarray  # [M] origins allowed to alert
    alert_forecast: np.ndarray  # [M, H] their forecasts
    alert_rows: np.ndarray  # [M, H] the row each of those forecasts is for
    group_starts: np.ndarray  # [G] each series' first scored row, ascending (one entry for one series)


def _scored_ranges(origins: np.ndarray, groups: np.ndarray | None, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Each series' first and last scored row (``[G]`` each): from its first origin to its last
    origin + H - 1. One series when ``groups`` is None."""
    if groups is None:
        return origins[:1], origins[-1:] + horizon - 1
    groups = np.asarray(groups)
    if groups.shape != origins.shape:
        raise ValueError(f"need one group per origin; got {groups.shape} for {origins.shape}")
    if np.any(np.diff(origins) <= 0):
        raise ValueError("origins must ascend when groups are given")
    block = np.flatnonzero(np.concatenate(([True], groups[1:] != groups[:-1])))  # each series' first origin
    firsts, lasts = origins[block], np.append(origins[block[1:] - 1], origins[-1]) + horizon - 1
    if len(np.unique(groups)) != len(block):
        raise ValueError("each group's origins must come in one block")
    if np.any(firsts[1:] <= lasts[:-1] + 1):
        raise ValueError("the scored rows of two groups touch or overlap; their events could not be told apart")
    return firsts, lasts


def _scored_mask(firsts: np.ndarray, lasts: np.ndarray) -> np.ndarray:
    """Whether each row from ``firsts[0]`` to ``lasts[-1]`` lies in one of the ranges ``[firsts[k], lasts[k]]``."""
    edges = np.zeros(int(lasts[-1] - firsts[0]) + 2, dtype=np.int64)
    np.add.at(edges, firsts - firsts[0], 1)
    np.add.at(edges, lasts - firsts[0] + 1, -1)
    return np.cumsum(edges[:-1]) > 0


def _prepare(
    target: np.ndarray,
    forecast: np.ndarray,
    origins: np.ndarray,
    threshold: float,
    event: str,
    tolerance: int,
    groups: np.ndarray | None = None,
) -> _Setup:
    beyond = comparison(event)
    tolerance = _check_tolerance(tolerance)
    target = np.asarray(target, dtype=np.float64)
    forecast = np.asarray(forecast, dtype=np.float64)
    origins = np.asarray(origins, dtype=np.int64)
    if not len(origins) or forecast.shape[0] != len(origins) or forecast.ndim != 2:
        raise ValueError(f"need a forecast [n_origins, H] for at least one origin; got {forecast.shape}")
    horizon = forecast.shape[1]
    firsts, lasts = _scored_ranges(origins, groups, horizon)
    first_row, last_row = int(firsts[0]), int(lasts[-1])
    # Rows between two series' scored ranges (a series' lookback) are not scored: marking them never
    # beyond also keeps every run inside one series.
    scored = _scored_mask(firsts, lasts)
    scored_beyond = beyond(target[first_row : last_row + 1], threshold) & scored
    actual = event_runs(scored_beyond) + first_row
    # An event already under way at a series' first scored row: nothing could have warned of it.
    under_way = firsts[beyond(target[firsts - 1], threshold) & scored_beyond[firsts - first_row]]
    actual = actual[~np.isin(actual[:, 0], under_way)]
    # Once the last observed value is beyond X the event is visible; forecasting that it goes on
    # is no warning (otherwise persistence would "detect" every event).
    may_alert = ~beyond(target[origins - 1], threshold)
    return _Setup(
        beyond=beyond,
        tolerance=tolerance,
        first_row=first_row,
        n_rows=last_row - first_row + 1,
        actual=actual,
        alert_origins=origins[may_alert],
        alert_forecast=forecast[may_alert],
        alert_rows=origins[may_alert][:, None] + np.arange(horizon),
        group_starts=firsts,
    )


def why_no_event(
    target: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    threshold: float,
    event: str,
    part: str = "validation part",
    groups: np.ndarray | None = None,
) -> str:
    """Why the rows scored from ``origins`` hold no event to count (``tune_alert_level`` and
    ``tune_alert_prob`` returned None): none beyond the threshold, or the only one already under way
    at the first scored row (``_prepare`` leaves it out), perhaps covering every row. A phrase such as
    "the validation part has no above-threshold event". With ``groups`` (many series, each relative
    to its own threshold, ``threshold`` then 0) the phrase speaks of the series' thresholds."""
    origins = np.asarray(origins, dtype=np.int64)
    firsts, lasts = _scored_ranges(origins, groups, horizon)
    rows = firsts[0] + np.flatnonzero(_scored_mask(firsts, lasts))
    scored = comparison(event)(np.asarray(target[rows], dtype=np.float64), threshold)
    named = f"the threshold {threshold:g}" if groups is None else "its series' threshold"
    if scored.all():
        return f"every row of the {part} is {event} {named}, so no event starts in it"
    if scored.any():
        if groups is None:
            return f"the {part}'s only {event}-threshold event is under way from its first row, so none starts in it"
        return f"the {part}'s only {event}-threshold events are under way from their series' first rows"
    return f"the {part} has no {event}-threshold event"


def _earliest_warning(setup: _Setup, alert_level: float) -> np.ndarray:
    """Per scored row (relative to ``first_row``), the earliest origin warning it; ``_NO_ORIGIN`` if none."""
    warned = setup.beyond(setup.alert_forecast, alert_level)  # [M, H]
    origin_grid = np.broadcast_to(setup.alert_origins[:, None], warned.shape)
    earliest = np.full(setup.n_rows, _NO_ORIGIN, dtype=np.int64)
    np.minimum.at(earliest, setup.alert_rows[warned] - setup.first_row, origin_grid[warned])
    return earliest


def _lead_times(setup: _Setup, predicted: np.ndarray, pairs: np.ndarray, earliest: np.ndarray) -> np.ndarray:
    """``s - t_first + 1`` for each matched actual event, t_first taken over its matched predicted event."""
    actual = setup.actual[pairs[:, 1]]
    own = predicted[pairs[:, 0]]
    # Only the matched predicted event's rows count: a warning already credited to another actual
    # event lends this one no lead time. The window is non-empty because the pair overlaps within N.
    starts = np.maximum(own[:, 0], actual[:, 0] - setup.tolerance) - setup.first_row
    ends = np.minimum(own[:, 1], actual[:, 1] + setup.tolerance) - setup.first_row
    t_first = _window_minimum(earliest, starts, ends)
    return actual[:, 0] - t_first + 1


def ratio(numerator: int, denominator: int) -> float | None:
    """A precision or recall: None, not 0, when nothing was counted."""
    return numerator / denominator if denominator else None


def f1_of(precision: float | None, recall: float | None) -> float | None:
    """The harmonic mean; None when either is None or both are 0."""
    if precision is None or recall is None or precision + recall == 0:
        return None
    return 2 * precision * recall / (precision + recall)


def _apart(setup: _Setup, runs: np.ndarray) -> np.ndarray:
    """``runs`` moved so that runs of different series lie more than the tolerance apart: each row
    of the k-th series shifted by k * (tolerance + 1). Order within and across series is kept, so
    matching these is matching within each series."""
    series = np.searchsorted(setup.group_starts, runs[:, 0], side="right") - 1  # [R]
    return runs + (series * (setup.tolerance + 1))[:, None]


def _matched(setup: _Setup, alert_level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's earliest warning, the predicted events and the matched (predicted, actual) pairs."""
    earliest = _earliest_warning(setup, alert_level)
    predicted = event_runs(earliest != _NO_ORIGIN) + setup.first_row
    pairs = match_events(_apart(setup, predicted), _apart(setup, setup.actual), setup.tolerance)
    return earliest, predicted, pairs


def _score(setup: _Setup, alert_level: float) -> dict[str, Any]:
    earliest, predicted, pairs = _matched(setup, alert_level)
    leads = _lead_times(setup, predicted, pairs, earliest)
    precision = ratio(len(pairs), len(predicted))
    recall = ratio(len(pairs), len(setup.actual))
    return {
        "tolerance": setup.tolerance,
        "alert_level": float(alert_level),
        "actual_events": len(setup.actual),
        "predicted_events": len(predicted),
        "matched_events": len(pairs),
        "event_precision": precision,
        "event_recall": recall,
        "event_f1": f1_of(precision, recall),
        "mean_lead_time": float(np.mean(leads)) if len(leads) else None,
        "median_lead_time": float(np.median(leads)) if len(leads) else None,
    }


def events_by_group(
    target: np.ndarray,
    forecast: np.ndarray,
    origins: np.ndarray,
    threshold: float,
    event: str,
    alert_level: float,
    tolerance: int,
    groups: np.ndarray,
) -> dict[str, np.ndarray]:
    """``event_metrics``' counts for each group (series) on its own, ``[G]`` each in the order the
    groups' blocks come: ``actual_events``, ``predicted_events`` and ``matched_events``. They sum to
    ``event_metrics``' counts with the same ``groups``."""
    setup = _prepare(target, forecast, origins, threshold, event, tolerance, groups)
    _, predicted, pairs = _matched(setup, alert_level)
    count = len(setup.group_starts)

    def per_group(runs: np.ndarray) -> np.ndarray:
        series = np.searchsorted(setup.group_starts, runs[:, 0], side="right") - 1
        return np.bincount(series, minlength=count)

    return {
        "actual_events": per_group(setup.actual),
        "predicted_events": per_group(predicted),
        "matched_events": per_group(setup.actual[pairs[:, 1]]),
    }


def event_metrics(
    target: np.ndarray,
    forecast: np.ndarray,
    origins: np.ndarray,
    threshold: float,
    event: str = "above",
    alert_level: float | None = None,
    tolerance: int = 0,
    groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """Event precision, recall, F1 and lead times of ``forecast`` (``[n_origins, H]``) against ``target``.

    See the module docstring for the definitions. ``alert_level`` defaults to ``threshold``;
    ``groups`` gives each origin's series, for many series in one ``target``.
    """
    setup = _prepare(target, forecast, origins, threshold, event, tolerance, groups)
    return _score(setup, threshold if alert_level is None else alert_level)


# -- choosing an alert level ------------------------------------------------------------------------


def _candidate_levels(setup: _Setup, threshold: float, max_candidates: int) -> np.ndarray:
    """X plus up to ``max_candidates`` forecast values: the scores only change at those values."""
    values = setup.alert_forecast[np.isfinite(setup.alert_forecast)]
    distinct = np.unique(values)
    if len(distinct) > max_candidates:
        # "nearest" keeps each candidate an actual forecast value, exactly where the scores step.
        levels = np.linspace(0, 1, max_candidates)
        distinct = np.unique(np.quantile(values, levels, method="nearest"))
    return np.unique(np.append(distinct, threshold))


def _preference(point: dict[str, Any], threshold: float, event: str) -> tuple[float, float, float]:
    """Sort key, larger is better: F1 first, then closeness to X, then the level raising fewer alerts."""
    f1 = -1.0 if point["event_f1"] is None else point["event_f1"]
    level = point["alert_level"]
    stricter = level if event == "above" else -level
    return (f1, -abs(level - threshold), stricter)


def tune_alert_level(
    target: np.ndarray,
    forecast: np.ndarray,
    origins: np.ndarray,
    threshold: float,
    event: str = "above",
    tolerance: int = 0,
    max_candidates: int = 200,
    groups: np.ndarray | None = None,
) -> dict[str, Any] | None:
    """The alert level Y that maximises event F1, ties going to the Y closest to X (``groups`` as for
    ``event_metrics``).

    None when the scored rows hold no actual event: every level would score the same (recall None).
    """
    if max_candidates < 1:
        raise ValueError(f"max_candidates must be at least 1; got {max_candidates}")
    setup = _prepare(target, forecast, origins, threshold, event, tolerance, groups)
    if not len(setup.actual):
        return None
    curve = _curve(setup, _candidate_levels(setup, threshold, max_candidates), "alert_level")
    best = max(curve, key=lambda point: _preference(point, threshold, event))
    at_threshold = next(point for point in curve if point["alert_level"] == threshold)
    return {**best, "threshold_f1": at_threshold["event_f1"], "curve": curve}


def _curve(setup: _Setup, levels: np.ndarray, name: str, sign: float = 1.0) -> list[dict[str, Any]]:
    """Event precision, recall and F1 at each alert level, the level reported as ``name`` (times ``sign``)."""
    curve = []
    for level in levels:
        scores = _score(setup, float(level))
        curve.append({name: sign * scores["alert_level"], **{key: scores[key] for key in _TUNED_SCORES}})
    return curve


_TUNED_SCORES = ("event_precision", "event_recall", "event_f1")

# The alert probabilities --tune-alert-prob tries: round numbers, finer near 0 and 1, where a rare
# event's (or a near-certain one's) best probability lies. A grid, not every distinct probability as
# for levels: probabilities come in steps of 1 / paths, and a P chosen to the path is fitted to noise.
ALERT_PROBS = (0.01, 0.02, *np.round(np.arange(0.05, 0.951, 0.05), 2).tolist(), 0.98, 0.99)
EVEN_ODDS = 0.5  # the untuned reference: alert when the event is more likely than not


def tune_alert_prob(
    target: np.ndarray,
    probability: np.ndarray,
    origins: np.ndarray,
    threshold: float,
    event: str = "above",
    tolerance: int = 0,
    candidates: Sequence[float] = ALERT_PROBS,
    groups: np.ndarray | None = None,
) -> dict[str, Any] | None:
    """The alert probability P that maximises event F1 when origin i alerts on the steps whose
    ``probability[i, h]`` (of the event beyond X) is above P, over ``candidates``; the rules of
    ``tune_alert_level``: ties go to the P closest to ``EVEN_ODDS``, then to the higher P (fewer
    alerts). ``even_odds_f1`` is the F1 at ``EVEN_ODDS``. None when the scored rows hold no event."""
    grid = np.unique(np.append(np.asarray(candidates, dtype=np.float64), EVEN_ODDS))
    if not np.all((grid > 0) & (grid < 1)):
        raise ValueError(f"alert probabilities must lie strictly between 0 and 1; got {list(candidates)}")
    # "beyond the alert level" in the event's direction: for "below", -probability < -P is probability > P.
    sign = 1.0 if event == "above" else -1.0
    probability = sign * np.asarray(probability, dtype=np.float64)
    setup = _prepare(target, probability, origins, threshold, event, tolerance, groups)
    if not len(setup.actual):
        return None
    curve = _curve(setup, sign * grid, "alert_prob", sign)
    best = max(curve, key=_probability_preference)
    even = next(point for point in curve if point["alert_prob"] == EVEN_ODDS)
    return {**best, "even_odds_f1": even["event_f1"], "curve": curve}


def _probability_preference(point: dict[str, Any]) -> tuple[float, float, float]:
    """Sort key, larger is better: F1 first, then closeness to even odds, then the P raising fewer alerts."""
    f1 = -1.0 if point["event_f1"] is None else point["event_f1"]
    return (f1, -abs(point["alert_prob"] - EVEN_ODDS), point["alert_prob"])


# -- thresholds given on the command line ------------------------------------------------------------


@dataclass(frozen=True)
class Quantile:
    """A threshold given as a quantile level of the training part's target, resolved per model."""

    q: float

    def __post_init__(self) -> None:
        # Only the stored grid of levels can be resolved later, without the training data.
        if not 0 < self.q < 1 or abs(self.q * 1000 - round(self.q * 1000)) > 1e-9:
            raise ValueError(f"quantile level must lie in (0, 1) with at most 3 decimals; got {self.q}")

    def __str__(self) -> str:
        return f"q{self.q:g}"


def _parse_quantile(text: str) -> Quantile | None:
    """``Quantile`` for valid ``qP`` text, None for anything else."""
    match = _QUANTILE_SYNTAX.fullmatch(text)
    if match is None:
        return None
    level = Decimal(match.group(1))
    # Decimal, not float: "0.9995" must count as 4 decimals, with no binary rounding in the way.
    exponent = level.normalize().as_tuple().exponent
    if not 0 < level < 1 or not isinstance(exponent, int) or exponent < -3:
        return None
    return Quantile(float(level))


def parse_threshold(text: str) -> float | Quantile:
    """``--threshold`` text: a plain number, or ``qP`` for the P quantile of the training part."""
    stripped = text.strip()
    if stripped[:1] in ("q", "Q"):
        quantile = _parse_quantile(stripped)
        if quantile is None:
            raise ConfigError(f"{_THRESHOLD_HELP}; got {text!r}")
        return quantile
    try:
        value = float(stripped)
    except ValueError:
        raise ConfigError(f"{_THRESHOLD_HELP}; got {text!r}") from None
    if not np.isfinite(value):
        raise ConfigError(f"--threshold must be a finite number; got {text!r}")
    return value


def training_quantiles(values: np.ndarray) -> list[float]:
    """The finite ``values``' quantiles at every level of ``QUANTILE_LEVELS`` (linear interpolation)."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        raise DataError("the training part has no finite target values to take a --threshold quantile of")
    return [float(value) for value in np.quantile(finite, QUANTILE_LEVELS)]


def quantile_value(quantiles: Sequence[float], q: float) -> float:
    """The stored quantile at level ``q`` (a level of ``QUANTILE_LEVELS``)."""
    if len(quantiles) != len(QUANTILE_LEVELS):
        raise ValueError(f"expected {len(QUANTILE_LEVELS)} stored quantiles; got {len(quantiles)}")
    return float(quantiles[round(q * 1000)])
