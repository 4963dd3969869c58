"""The report every command prints: a forecast scored against the actuals and the baselines.

``train`` (its held-out test part), ``evaluate`` (any table) and ``backtest`` (walk-forward folds)
all build their metrics here, from forecasts in original units ``[n_origins, horizon]``: the point
metrics overall and per horizon step, each baseline's scores with the model's skill against it,
the best forecaster, and, given a threshold, pointwise and event-level threshold metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from lstmcast.config import EVENTS
from lstmcast.errors import ConfigError
from lstmcast.events import Quantile, event_metrics, parse_threshold, quantile_value
from lstmcast.metrics import per_step_metrics, point_metrics, skill, threshold_metrics

MODEL = "model"  # the forecaster's own row in a report, beside the baselines' names
# The network's own untrained start (its linear path's ridge), scored beside the baselines to show what
# training added. Not a baseline: lstmcast cannot forecast with it, so it is never the report's "best".
LINEAR_START = "linear_start"
_POINTWISE = ("precision", "recall", "f1", "tp", "fp", "fn", "tn")


@dataclass(frozen=True)
class EventSettings:
    """Which threshold events to score: values beyond ``threshold`` (a number, or a ``Quantile`` of
    the training part) are events; the forecast raises alerts beyond ``alert_level`` (default: the
    threshold), or beyond the level tuned for event F1 on the validation part."""

    threshold: float | Quantile
    event: str = "above"
    alert_level: float | None = None
    tolerance: int = 0
    tune_alert_level: bool = False
    alert_prob: float | None = None  # raise alerts when the probability of the event is above this instead
    tune_alert_prob: bool = False  # choose that probability for the best event F1 on the validation part

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ConfigError(f"event must be one of {', '.join(EVENTS)}; got {self.event!r}")
        if self.tolerance < 0:
            raise ConfigError(f"--tolerance must be at least 0 steps; got {self.tolerance}")
        if self.alert_level is not None and self.tune_alert_level:
            raise ConfigError("--alert-level and --tune-alert-level contradict each other; give one")
        if self.alert_level is not None and not np.isfinite(self.alert_level):
            raise ConfigError(f"--alert-level must be a finite number; got {self.alert_level}")
        self._check_alerts_from_probability()

    def _check_alerts_from_probability(self) -> None:
        """--alert-prob and --tune-alert-prob: a probability, and no other way of raising alerts."""
        if self.alert_prob is not None:
            if not (np.isfinite(self.alert_prob) and 0 < self.alert_prob < 1):
                raise ConfigError(f"--alert-prob is a probability strictly between 0 and 1; got {self.alert_prob}")
            if self.alert_level is not None or self.tune_alert_level:
                raise ConfigError(
                    "--alert-prob raises alerts from the probability: give it or an alert level, not both"
                )
        if self.tune_alert_prob:
            if self.alert_prob is not None:
                raise ConfigError("--tune-alert-prob chooses the alert probability: give it or --alert-prob, not both")
            if self.alert_level is not None or self.tune_alert_level:
                raise ConfigError(
                    "--tune-alert-prob raises alerts from the probability: give it or an alert level "
                    "(--alert-level, --tune-alert-level), not both"
                )

    @classmethod
    def from_options(
        cls,
        threshold: float | str | Quantile | None,
        event: str | None = None,
        alert_level: float | None = None,
        tolerance: int | None = None,
        tune_alert_level: bool = False,
        alert_prob: float | None = None,
        tune_alert_prob: bool = False,
    ) -> EventSettings | None:
        """Settings from command-line style values (None: not given); None without a threshold. The
        other options then have nothing to act on, which is an error rather than silently ignored."""
        if threshold is None:
            given = {
                "--event": event is not None,
                "--alert-level": alert_level is not None,
                "--tolerance": tolerance is not None,
                "--tune-alert-level": tune_alert_level,
                "--alert-prob": alert_prob is not None,
                "--tune-alert-prob": tune_alert_prob,
            }
            if any(given.values()):
                named = [name for name, on in given.items() if on]
                raise ConfigError(f"{', '.join(named)} need{'s' if len(named) == 1 else ''} --threshold")
            return None
        value: float | Quantile
        if isinstance(threshold, Quantile):
            value = threshold
        else:
            value = parse_threshold(threshold) if isinstance(threshold, str) else float(threshold)
        if isinstance(value, float) and not np.isfinite(value):
            raise ConfigError(f"--threshold must be a finite number; got {threshold}")
        tolerance = 0 if tolerance is None else tolerance
        return cls(value, event or "above", alert_level, tolerance, tune_alert_level, alert_prob, tune_alert_prob)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values: the threshold as a number, or ``"q0.95"`` for a quantile."""
        threshold = str(self.threshold) if isinstance(self.threshold, Quantile) else self.threshold
        return {
            "threshold": threshold,
            "event": self.event,
            "alert_level": self.alert_level,
            "tolerance": self.tolerance,
            "tune_alert_level": self.tune_alert_level,
            "alert_prob": self.alert_prob,
            "tune_alert_prob": self.tune_alert_prob,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EventSettings:
        """The settings ``to_dict`` gave (missing keys take their defaults); checked as the options are."""
        known = {"threshold", "event", "alert_level", "tolerance", "tune_alert_level", "alert_prob", "tune_alert_prob"}
        unknown = sorted(set(data) - known)
        if unknown or "threshold" not in data:
            problem = f"unknown keys {', '.join(unknown)}" if unknown else "no threshold"
            raise ConfigError(f"event settings need a threshold and nothing else they do not know; {problem}")
        settings = cls.from_options(
            data["threshold"],
            data.get("event"),
            data.get("alert_level"),
            data.get("tolerance"),
            bool(data.get("tune_alert_level", False)),
            data.get("alert_prob"),
            bool(data.get("tune_alert_prob", False)),
        )
        assert settings is not None
        return settings

    @classmethod
    def from_record(cls, record: Mapping[str, Any] | None) -> EventSettings | None:
        """The settings a fitted model's ``events`` record was made from (its quantile, if one was
        given; a tuned alert level or probability as ``tune_alert_level`` or ``tune_alert_prob``)."""
        if not record:
            return None
        tuned = record.get("alert_level_tuning") is not None
        quantile = record.get("quantile")
        threshold: float | Quantile = Quantile(float(quantile)) if quantile is not None else float(record["threshold"])
        alert = record.get("alert_level")
        given_alert = None if tuned or alert is None or alert == record["threshold"] else float(alert)
        tuned_prob = record.get("alert_prob_tuning") is not None
        prob = None if tuned_prob or record.get("alert_prob") is None else float(record["alert_prob"])
        return cls(threshold, record["event"], given_alert, int(record["tolerance"]), tuned, prob, tuned_prob)

    def overridden(self, alert_level: float | None, tolerance: int | None) -> EventSettings:
        """These (stored) settings with an alert level or tolerance given on the command line."""
        return replace(
            self,
            alert_level=self.alert_level if alert_level is None else alert_level,
            tolerance=self.tolerance if tolerance is None else tolerance,
            alert_prob=self.alert_prob if alert_level is None else None,  # a level given replaces the probability
        )

    def resolve(self, quantiles: list[float] | None) -> EventSettings:
        """The same settings with a quantile threshold turned into its value on the training part."""
        if not isinstance(self.threshold, Quantile):
            return self
        if quantiles is None:
            raise ConfigError(
                f"--threshold {self.threshold}: this model was saved without the quantiles of its training "
                "part (lstmcast before 0.4); give the threshold as a number"
            )
        return replace(self, threshold=quantile_value(quantiles, self.threshold.q))

    def check_many_series(self) -> None:
        """A ConfigError unless a model of many series can keep these settings: an alert level is a
        value, so it needs a threshold that is one value for every series (a quantile is each one's own)."""
        if isinstance(self.threshold, Quantile) and self.alert_level is not None:
            raise ConfigError(
                f"--alert-level {self.alert_level:g} is one value for every series, but --threshold {self.threshold} "
                "gives each series its own; tune the alert level on the validation part (--tune-alert-level) instead"
            )

    @property
    def level(self) -> float:
        """The value threshold (after ``resolve``)."""
        if isinstance(self.threshold, Quantile):
            raise ValueError("resolve() the quantile threshold first")
        return self.threshold

    def alert(self) -> float:
        return self.level if self.alert_level is None else self.alert_level


def alerting_values(
    events: EventSettings,
    forecast: np.ndarray,
    alert_levels: np.ndarray | None = None,
    probability: np.ndarray | None = None,
    alert_probs: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """What raises an alert, as values ``[N, H]`` and the level they are beyond when they alert (in
    the event's direction): the forecast and the alert level; or, with ``events.alert_prob`` and the
    ``probability`` of each step's event, the probability and P (one per origin: ``alert_probs``); or
    the forecast with one alert level per origin (``alert_levels``)."""
    if events.alert_prob is not None and probability is not None:
        # "beyond the level" in the event's direction: below the threshold is above it negated
        sign = 1.0 if events.event == "above" else -1.0
        if alert_probs is not None:  # folds that tuned their own: "above its origin's P" is "P less, above 0"
            return sign * (probability - alert_probs[:, None]), 0.0
        return sign * probability, sign * events.alert_prob
    if alert_levels is not None:
        # Folds that tuned their own alert level: "forecast beyond its origin's level" is the same
        # test as "forecast shifted by (threshold - that level) beyond the threshold".
        return forecast + (events.level - alert_levels)[:, None], events.level
    return forecast, events.alert()


def _scores(
    target: np.ndarray,
    origins: np.ndarray,
    actual: np.ndarray,
    forecast: np.ndarray,
    target_scale: float,
    mase_scale: float | None,
    events: EventSettings | None,
    alert_levels: np.ndarray | None,
    probability: np.ndarray | None = None,
    alert_probs: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """One forecaster's metrics: overall, per horizon step and (with ``events``) threshold events.
    With ``events.alert_prob`` and the forecaster's ``probability`` of each step's event ``[N, H]``,
    alerts are the steps whose probability is above it, or above their origin's ``alert_probs``.
    ``groups``: each origin's series, where ``target`` holds many (events never cross series)."""
    scores: dict[str, Any] = point_metrics(actual, forecast, target_scale, mase_scale)
    per_step = per_step_metrics(actual, forecast, mase_scale)
    if events is not None:
        alerting, level = alerting_values(events, forecast, alert_levels, probability, alert_probs)
        pointwise = threshold_metrics(actual, alerting, events.level, events.event, level)
        for step, counts in zip(per_step, pointwise.pop("per_step"), strict=True):
            step.update({key: counts[key] for key in _POINTWISE})
        scores.update(pointwise)
        scores.update(
            event_metrics(target, alerting, origins, events.level, events.event, level, events.tolerance, groups)
        )
        if alert_levels is not None:  # one number no longer describes the alert level
            scores["alert_level"] = None
        if events.alert_prob is not None and probability is not None:
            scores["alert_level"] = None
            scores["alert_prob"] = None if alert_probs is not None else events.alert_prob
    scores["per_step"] = per_step
    return scores


def score_report(
    target: np.ndarray,
    origins: np.ndarray,
    forecast: np.ndarray,
    baselines: Mapping[str, np.ndarray],
    target_scale: float,
    mase_scale: float | None = None,
    events: EventSettings | None = None,
    alert_levels: np.ndarray | None = None,
    index: pd.DatetimeIndex | None = None,
    probability: np.ndarray | None = None,
    alert_probs: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """The report for ``forecast`` (and each baseline) from ``origins`` of the series ``target``.

    ``events`` must be resolved (a value threshold). ``alert_levels`` gives one alert level per
    origin when they differ (backtest folds that each tuned their own). ``probability`` is the
    model's probability of each step's event, for alerts raised from it (``events.alert_prob``, or
    ``alert_probs``: one per origin, where backtest folds tuned their own). ``groups`` gives each
    origin's series where ``target`` holds many end to end (``lstmcast.events``).

    ``best`` names the forecaster with the lowest MSE among the model and the baselines; a
    ``LINEAR_START`` row is scored (its ``skill`` is the model's against it) but never ``best``.
    """
    target = np.asarray(target, dtype=np.float64)
    horizon = forecast.shape[1]
    actual = target[origins[:, None] + np.arange(horizon)]  # [N, H]

    def scores(prediction: np.ndarray, chance: np.ndarray | None = None) -> dict[str, Any]:
        return _scores(
            target,
            origins,
            actual,
            prediction,
            target_scale,
            mase_scale,
            events,
            alert_levels,
            chance,
            alert_probs,
            groups,
        )

    report = scores(forecast, probability)
    report["n_origins"] = int(len(origins))
    report["baselines"] = {}
    for name, prediction in baselines.items():
        baseline = scores(prediction)
        baseline["skill"] = skill(report["mse"], baseline["mse"])
        report["baselines"][name] = baseline
    report["best"] = min([MODEL, *(name for name in baselines if name != LINEAR_START)], key=lambda n: _mse(report, n))
    if index is not None and len(origins):
        report["period"] = {"start": str(index[origins[0]]), "end": str(index[origins[-1] + horizon - 1])}
    return report


def _mse(report: dict[str, Any], name: str) -> float:
    return float(report["mse"] if name == MODEL else report["baselines"][name]["mse"])


def per_step_table(report: dict[str, Any], model_name: str = MODEL) -> pd.DataFrame:
    """The per-horizon-step metrics of the model and every baseline as one long table:
    ``step, forecaster, mse, rmse, ...`` (the ``--per-step`` file)."""
    rows = [{"forecaster": model_name, **step} for step in report.get("per_step", [])]
    for name, scores in report.get("baselines", {}).items():
        rows += [{"forecaster": name, **step} for step in scores.get("per_step", [])]
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    first = ["step", "forecaster"]
    return table[first + [c for c in table.columns if c not in first]].sort_values(["step"], kind="stable")
