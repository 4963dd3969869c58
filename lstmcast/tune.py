"""Search over ``Forecaster`` settings: every combination of a grid, or N random samples of it.

Every trial trains with early stopping (``Forecaster.fit_series`` on the series validated once, the
test part not looked at) and is ranked by its validation MSE in the target's units, so trials with
different scalers compare. The test part plays no part in the choice: it is scored once, for the
winner only, after the search, so its metrics stay an honest estimate.
The winner is kept as it was trained, not refitted.

    space = parse_grid(["hidden=16,32", "lr=log:1e-4..1e-2"])
    result = tune(frame, space, {"target": "load", "epochs": 50}, n_random=10, budget_seconds=600)
    result.forecaster.save("best-model/")
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch
from scipy import stats  # type: ignore[import-untyped]
from sklearn.model_selection import ParameterGrid, ParameterSampler  # type: ignore[import-untyped]

from lstmcast.baselines import fitted_season
from lstmcast.config import AUTO, DataConfig, parse_segment
from lstmcast.errors import ConfigError, DataError, DataWarning, Terminated, TrainingError, held_warnings
from lstmcast.fitting import fittable_series
from lstmcast.forecast import Forecaster
from lstmcast.intervals import check_calibration, parse_levels
from lstmcast.quantiles import check_calibration as check_quantile_calibration
from lstmcast.quantiles import parse_quantiles
from lstmcast.runtime.frames import check_output_names
from lstmcast.train import resolve_device
from lstmcast.validate import Panel, Series, validate_frame, validate_panel
from lstmcast.window import chronological_split, panel_split

# Not tunable: which data and which split (trials on different rows would not compare), where to run,
# the seed (every trial gets the same one, so trials differ only by their settings), the threshold
# events (what is scored, not how the model is trained), and the intervals and quantiles (trained after
# the network, which they do not change: every trial gets them, and validation MSE ranks trials alike).
FIXED = (
    "target",
    "time_col",
    "features",
    "fill",
    "id_col",
    "horizon",
    "val_frac",
    "test_frac",
    "season",
    "device",
    "seed",
    "events",
    "levels",
    "quantiles",
)
_DEFAULTS = Forecaster().get_params()
TUNABLE = tuple(name for name in _DEFAULTS if name not in FIXED)
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Range:
    """A range for random search: uniform, or log-uniform with ``log=True``. An integer setting is
    sampled as an integer, both ends included."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ConfigError(f"a range needs finite LOW < HIGH; got {self.low:g}..{self.high:g}")
        if self.log and self.low <= 0:
            raise ConfigError(f"a log range needs LOW > 0; got {self.low:g}..{self.high:g}")

    def __str__(self) -> str:
        return f"{'log:' if self.log else ''}{self.low:g}..{self.high:g}"


@dataclass(frozen=True)
class _Sampler:
    """A ``Range`` for one setting, in ParameterSampler's protocol (``rvs``), returning plain Python numbers."""

    range: Range
    integer: bool

    def rvs(self, random_state: Any = None) -> int | float:
        low, high = self.range.low, self.range.high
        if self.integer and not self.range.log:
            return int(stats.randint(int(low), int(high) + 1).rvs(random_state=random_state))
        dist = stats.loguniform(low, high) if self.range.log else stats.uniform(low, high - low)
        value = float(dist.rvs(random_state=random_state))
        return min(max(round(value), int(low)), int(high)) if self.integer else value


Space = Mapping[str, "Sequence[Any] | Range"]


@dataclass(frozen=True)
class Plan:
    """The settings the search will try, in order; ``strategy`` is "grid" (every combination, once)
    or "random"; ``grid_size`` is the number of combinations (None when the space has a range)."""

    settings: list[dict[str, Any]]
    strategy: str
    grid_size: int | None
    space: dict[str, list[Any] | Range]

    def describe_space(self) -> dict[str, Any]:
        """The space as JSON: lists as they are, ranges as ``{"low", "high", "log"}``."""
        return {
            name: {"low": v.low, "high": v.high, "log": v.log} if isinstance(v, Range) else list(v)
            for name, v in self.space.items()
        }


@dataclass(frozen=True)
class Trial:
    """One trial: its tuned settings and how training went. ``status`` is "ok", "budget" (cut short by
    the budget; its best epoch so far counts), "interrupted" (no model) or "failed: <reason>"."""

    number: int
    params: dict[str, Any]
    val_mse: float | None
    best_epoch: int | None
    epochs_run: int | None
    seconds: float
    status: str
    # The data warnings its training gave (quiet while it ran); the kept trial's are said at the end.
    said: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trial": self.number,
            **self.params,
            "val_mse": self.val_mse,
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "seconds": round(self.seconds, 3),
            "status": self.status,
        }


@dataclass
class TuneResult:
    """The outcome of ``tune``: the best trial's fitted Forecaster (its test part scored in
    ``metrics_``), the trials table, and why the search stopped ("completed", "budget", "interrupted")."""

    forecaster: Forecaster
    trials: pd.DataFrame
    best_trial: int
    stopped: str
    plan: Plan
    trial_list: list[Trial] = field(repr=False)

    @property
    def best(self) -> Trial:
        return next(trial for trial in self.trial_list if trial.number == self.best_trial)

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best.params)

    @property
    def test_metrics(self) -> dict[str, Any]:
        return self.forecaster.metrics_

    def to_dict(self) -> dict[str, Any]:
        """What ``lstmcast tune --json`` prints: plain JSON values (None where a trial has none)."""
        return {
            "best": {"trial": self.best_trial, **self.best_params, "val_mse": self.best.val_mse},
            "trials": [trial.to_dict() for trial in self.trial_list],
            "test_metrics": self.test_metrics,
            "stopped": self.stopped,
        }


# -- parsing ---------------------------------------------------------------------------------------


def parse_grid(specs: Iterable[str]) -> dict[str, list[Any] | Range]:
    """``["hidden=32,64", "lr=log:1e-4..1e-2"]`` -> ``{"hidden": [32, 64], "lr": Range(1e-4, 1e-2, log=True)}``.

    Values take the type of the Forecaster parameter (int, float, bool, str); ``LOW..HIGH`` is a
    uniform range and ``log:LOW..HIGH`` a log-uniform one, for random search. Names may use - or _.
    """
    space: dict[str, list[Any] | Range] = {}
    for spec in specs:
        name, sep, text = spec.partition("=")
        name = _check_name(name.strip().replace("-", "_"))
        if not sep or not text.strip():
            raise ConfigError(f"--grid {spec}: expected NAME=V1,V2,... or NAME=LOW..HIGH or NAME=log:LOW..HIGH")
        if name in space:
            raise ConfigError(f"--grid {name} is given twice; list all its values in one --grid")
        space[name] = _parse_range(name, text.strip()) if ".." in text else _parse_values(name, text)
    return space


def _check_name(name: str) -> str:
    if name in TUNABLE:
        return name
    if name in FIXED:
        why = "is not tunable"
    else:
        close = difflib.get_close_matches(name, TUNABLE, n=1)
        why = f"is not a setting (did you mean {close[0]}?)" if close else "is not a setting"
    raise ConfigError(f"--grid {name!r} {why}; tunable: {', '.join(TUNABLE)}")


def _parse_values(name: str, text: str) -> list[Any]:
    """The values of one list, each once: the same value twice (``2,2``, or ``1e-3,0.001`` once parsed)
    would train the same trial twice."""
    parts = [part.strip() for part in text.split(",")]
    values = [_parse_value(name, part) for part in parts]
    for k, value in enumerate(values):
        first = values.index(value)
        if first < k:
            seen, again = parts[first], parts[k]
            what = f"{again} twice" if seen == again else f"one value twice ({seen} and {again})"
            raise ConfigError(f"--grid {name}={text.strip()} lists {what}; give each value once")
    return values


def _parse_value(name: str, text: str) -> Any:
    if name == "segment":
        return parse_segment(text)
    kind = type(_DEFAULTS[name])
    try:
        if kind is bool:
            if text.lower() not in _TRUE + _FALSE:
                raise ValueError
            return text.lower() in _TRUE
        value = kind(text)
    except ValueError:
        what = {bool: "true or false", int: "an integer", float: "a number"}.get(kind, "a value")
        raise ConfigError(f"--grid {name}={text}: {name} takes {what}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"--grid {name}={text}: {name} takes a finite number")
    return value


def _parse_range(name: str, text: str) -> Range:
    log = text.lower().startswith("log:")
    low, _, high = text[4:].partition("..") if log else text.partition("..")
    kind = type(_DEFAULTS[name])
    if kind not in (int, float):
        raise ConfigError(f"--grid {name}={text}: {name} is not a number, so it takes a list of values, not a range")
    try:
        ends = kind(low.strip()), kind(high.strip())
    except ValueError:
        what = "integers" if kind is int else "numbers"
        raise ConfigError(f"--grid {name}={text}: expected LOW..HIGH or log:LOW..HIGH with {what}") from None
    try:
        return Range(*ends, log=log)
    except ConfigError as exc:
        raise ConfigError(f"--grid {name}={text}: {exc}") from None


def parse_duration(text: str) -> float:
    """``90s``, ``10m``, ``1.5h`` or plain seconds -> seconds."""
    clean = text.strip().lower()
    unit = clean[-1:] if clean[-1:] in _UNITS else "s"
    try:
        seconds = float(clean[:-1] if clean[-1:] in _UNITS else clean) * _UNITS[unit]
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(f"budget {text!r}: expected a positive duration such as 90s, 10m, 1.5h or 600 (seconds)")
    return seconds


# -- planning --------------------------------------------------------------------------------------


def plan_trials(
    space: Space, base_params: Mapping[str, Any] | None = None, n_random: int | None = None, seed: int = 0
) -> Plan:
    """The settings to try, every value checked against ``base_params`` before anything is trained.

    Without ``n_random``, every combination of the lists (ranges then are an error). With it,
    ``n_random`` settings drawn by scikit-learn's ``ParameterSampler`` (``random_state=seed``); when the
    space is all lists and ``n_random`` covers it, the whole grid, each combination once.
    """
    clean = _check_space(space)
    base = _base_params(base_params, seed)
    ranges = [name for name, values in clean.items() if isinstance(values, Range)]
    if n_random is not None and n_random < 1:
        raise ConfigError(f"n_random must be at least 1; got {n_random}")
    if ranges and n_random is None:
        raise ConfigError(f"ranges ({', '.join(ranges)}) are sampled by a random search: give --random N")
    sizes = [len(values) for values in clean.values() if not isinstance(values, Range)]
    grid_size = None if ranges else math.prod(sizes)
    if n_random is None or (grid_size is not None and n_random >= grid_size):
        strategy, settings = "grid", list(ParameterGrid(clean))
    else:
        samplers = {
            name: _Sampler(values, type(_DEFAULTS[name]) is int) if isinstance(values, Range) else values
            for name, values in clean.items()
        }
        strategy, settings = "random", list(ParameterSampler(samplers, n_iter=n_random, random_state=seed))
    ordered = [{name: setting[name] for name in clean} for setting in settings]  # the user's order, not sorted
    _check_values(clean, base, ordered)
    return Plan(ordered, strategy, grid_size, clean)


def _check_space(space: Space) -> dict[str, list[Any] | Range]:
    if not space:
        raise ConfigError("nothing to tune: give at least one --grid NAME=V1,V2,...")
    clean: dict[str, list[Any] | Range] = {}
    for name, values in space.items():
        _check_name(name)
        if isinstance(values, Range):
            if type(_DEFAULTS[name]) not in (int, float):
                raise ConfigError(f"--grid {name}: {name} is not a number, so it cannot take a range")
            if type(_DEFAULTS[name]) is int and not (
                float(values.low).is_integer() and float(values.high).is_integer()
            ):
                raise ConfigError(f"--grid {name}={values}: {name} takes integers")
            clean[name] = values
        elif isinstance(values, Sequence) and not isinstance(values, str) and len(values) > 0:
            clean[name] = [_check_type(name, value) for value in values]
            twice = next((v for k, v in enumerate(clean[name]) if v in clean[name][:k]), None)
            if twice is not None:  # parse_grid names the values as typed; this is the Python API's space
                raise ConfigError(f"--grid {name}: {values!r} lists {twice!r} twice; give each value once")
        else:
            raise ConfigError(f"--grid {name}: expected a non-empty list of values or a Range; got {values!r}")
    return clean


def _check_type(name: str, value: Any) -> Any:
    """Plain Python values of the parameter's type (numpy scalars and ints for floats are converted)."""
    if name == "segment":  # "auto" or a whole number of steps, as --segment takes it
        if isinstance(value, str):
            return parse_segment(value)
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        raise ConfigError(f"--grid {name}={value!r}: {name} takes {AUTO} or a whole number of steps")
    kind = type(_DEFAULTS[name])
    is_bool = isinstance(value, bool) or type(value).__name__ == "bool_"  # numpy's bool is no Python bool
    fits = {
        bool: is_bool,
        int: isinstance(value, numbers.Integral) and not is_bool,
        float: isinstance(value, numbers.Real) and not is_bool,
        str: isinstance(value, str),
    }[kind]
    if not fits:
        raise ConfigError(f"--grid {name}={value!r}: {name} takes {kind.__name__} values")
    return kind(value)


def _base_params(base_params: Mapping[str, Any] | None, seed: int) -> dict[str, Any]:
    given = dict(base_params or {})
    if given.get("seed", seed) != seed:
        raise ConfigError(
            f"base_params has seed {given['seed']} but seed is {seed}: tune uses one seed; pass it as seed"
        )
    return {**Forecaster().set_params(**given).get_params(), "seed": seed}


def _config_error(params: Mapping[str, Any]) -> str | None:
    try:
        Forecaster(**params).settings()
    except (ConfigError, TypeError) as exc:
        return str(exc)
    return None


def _check_values(space: dict[str, list[Any] | Range], base: dict[str, Any], settings: list[dict[str, Any]]) -> None:
    """A value that no planned combination accepts is a usage error now, not a failed trial later.

    A value valid only with some others (``conv_kernel`` 16 with ``lookback`` 24, not 12) passes: the
    combinations it does not fit become failed trials.
    """
    errors = [_config_error({**base, **setting}) for setting in settings]
    valid = [setting for setting, error in zip(settings, errors, strict=True) if error is None]
    if not valid:  # name the grid value at fault, as for a value only some combinations refuse
        setting, error = settings[0], errors[0]
        alone = [f"{name}={value}" for name, value in setting.items() if _config_error({**base, name: value})]
        where = alone[:1] or [f"{name}={value}" for name, value in setting.items()]
        raise ConfigError(f"--grid {', '.join(where)}: {error}")
    for name, values in space.items():
        is_range = isinstance(values, Range)
        candidates = [values.low, values.high] if isinstance(values, Range) else values
        for value in candidates:
            value = int(value) if type(_DEFAULTS[name]) is int else value
            if not any(_config_error({**base, **setting, name: value}) is None for setting in valid):
                where = f"{name}={values} (at {value:g})" if is_range else f"{name}={value}"
                raise ConfigError(f"--grid {where}: {_config_error({**base, **valid[0], name: value})}")


# -- the search ------------------------------------------------------------------------------------


def tune(
    frame: pd.DataFrame,
    space: Space,
    base_params: Mapping[str, Any] | None = None,
    *,
    n_random: int | None = None,
    budget_seconds: float | None = None,
    seed: int = 0,
    on_trial: Callable[[Trial], None] | None = None,
) -> TuneResult:
    """Train one Forecaster per planned setting (``plan_trials``) and keep the one with the lowest
    validation MSE; then score its test part.

    ``base_params`` are the settings every trial starts from; ``space`` overrides them. ``seed`` seeds
    the sampler and every trial's training. ``budget_seconds`` is checked between trials and after
    every epoch: the trial running when it is spent keeps its best epoch so far and counts. A failed
    trial (diverged, or a combination of settings that does not fit) is recorded and the search goes
    on; when every trial fails, ``TrainingError``. A KeyboardInterrupt ends the search with the best
    trial so far (``stopped`` is "interrupted", or "terminated" for SIGTERM), or is raised again when
    no trial has a model yet.
    """
    base = _base_params(base_params, seed)
    plan = plan_trials(space, base, n_random, seed)
    with held_warnings(category=DataWarning) as checked:
        series = _check_data(frame, base, plan)  # validated once, for every trial
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds

    def out_of_time() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    trials, best, stopped = _search(series, base, plan, out_of_time, on_trial)
    if best is None:
        first = next(trial for trial in trials if trial.status.startswith("failed"))
        raise TrainingError(f"all {len(trials)} trials failed; trial {first.number} {first.status}")
    for message in dict.fromkeys(best[0].said):  # what training the kept model found, as train says it
        if message not in _data_warnings(checked):
            warnings.warn(message, DataWarning, stacklevel=2)
    return _finish(best, trials, plan, stopped, seed, budget_seconds, series)


def _data_warnings(held: list[warnings.WarningMessage]) -> list[str]:
    """The texts of the data warnings among ``held`` (``held_warnings``' list)."""
    return [str(warning.message) for warning in held if issubclass(warning.category, DataWarning)]


def _unless_data(warning: warnings.WarningMessage) -> str | None:
    """A trial's warning to say again: not a data warning (the data's are said once, by _check_data)."""
    return None if issubclass(warning.category, DataWarning) else str(warning.message)


def _search(
    series: Series | Panel,
    base: dict[str, Any],
    plan: Plan,
    out_of_time: Callable[[], bool],
    on_trial: Callable[[Trial], None] | None,
) -> tuple[list[Trial], tuple[Trial, Forecaster] | None, str]:
    """Run the planned trials in order: the trials, the best (trial, model) and why the search stopped."""
    trials: list[Trial] = []
    best: tuple[Trial, Forecaster] | None = None
    number, setting, started = 0, plan.settings[0], time.perf_counter()
    try:
        for number, setting in enumerate(plan.settings, start=1):
            if number > 1 and out_of_time():  # the first trial always runs, so there is a result
                return trials, best, "budget"
            started = time.perf_counter()
            trial, forecaster = _run_trial(series, {**base, **setting}, number, setting, out_of_time)
            trials.append(trial)
            if forecaster is not None and (best is None or _better(trial, best[0])):
                best = (trial, forecaster)  # only the best model so far is kept in memory
            if on_trial is not None:
                on_trial(trial)
            if trial.status == "budget":
                return trials, best, "budget"
    except KeyboardInterrupt as stop:
        how = "terminated" if isinstance(stop, Terminated) else "interrupted"
        if len(trials) < number:  # the trial in flight when it came
            trials.append(Trial(number, setting, None, None, None, time.perf_counter() - started, how))
            if on_trial is not None:
                on_trial(trials[-1])
        if best is None:
            raise
        return trials, best, how
    return trials, best, "completed"


def _better(trial: Trial, than: Trial) -> bool:
    return trial.val_mse is not None and (than.val_mse is None or trial.val_mse < than.val_mse)


def _check_data(frame: pd.DataFrame, base: dict[str, Any], plan: Plan) -> Series | Panel:
    """The validated series (or, with ``id_col``, the panel) every trial trains on (the data settings
    are not tunable); data and device problems every trial would share fail once, before any training."""
    if base.get("id_col") is not None:
        return _check_panel(frame, base, plan)
    data_config = DataConfig(**{name: base[name] for name in ("target", "time_col", "features", "fill")})
    series = validate_frame(frame, data_config)
    levels, quantiles = parse_levels(base.get("levels")), parse_quantiles(base.get("quantiles"))
    alerts = base.get("events") is not None
    check_output_names(series.target, series.time_col, alerts, series.source, levels, quantiles=quantiles)
    resolve_device(base["device"])
    problems: list[DataError | ConfigError] = []
    for setting in plan.settings:
        if _config_error({**base, **setting}) is None:
            window = Forecaster(**{**base, **setting}).settings().window
            try:
                split = chronological_split(len(series), window, series.source)
                fitted_season(window.season, series, split.train_end)
                validation = len(split.origins("val", window.lookback, window.horizon))
                if levels:  # every trial would fail on it after training: say so now (exit 3)
                    check_calibration(validation, levels, series.source)
                if quantiles:
                    check_quantile_calibration(validation, quantiles, series.source)
            except (DataError, ConfigError) as exc:
                problems.append(exc)
            else:
                return series
    if problems:
        raise problems[0]
    return series


def _check_panel(frame: pd.DataFrame, base: dict[str, Any], plan: Plan) -> Panel:
    """``_check_data`` for a long table of many series. The validation MSE of many series is pooled in
    each series' scaled units, so trials with another scaler would not compare: the scaler is fixed."""
    events = base.get("events")
    if events is not None:
        events.check_many_series()  # before any trial trains
    if "scaler" in plan.space:
        raise ConfigError(
            "--grid scaler: with --id-col the validation MSE is pooled in each series' scaled units, so trials "
            "with other scalers would not compare; give --scaler instead"
        )
    data_config = DataConfig(**{name: base[name] for name in ("target", "time_col", "features", "fill", "id_col")})
    panel = validate_panel(frame, data_config, base["id_col"])
    levels, quantiles = parse_levels(base.get("levels")), parse_quantiles(base.get("quantiles"))
    check_output_names(
        panel.columns[0],
        panel.time_col,
        events is not None,
        panel.source,
        levels,
        id_col=panel.id_col,
        quantiles=quantiles,
    )
    resolve_device(base["device"])
    for setting in plan.settings:
        if _config_error({**base, **setting}) is None:
            window = Forecaster(**{**base, **setting}).settings().window
            if panel_split(panel.offsets, window).fits.any():
                # The series every trial leaves out, named once here (the trials' own warnings are quiet).
                fitted = fittable_series(panel, window)
                val = panel_split(fitted.offsets, window).origins("val", window.lookback, window.horizon)
                if levels:
                    check_calibration(len(val), levels, panel.source)
                if quantiles:
                    check_quantile_calibration(len(val), quantiles, panel.source)
                return panel
    raise DataError(
        f"{panel.source}: no series is long enough for any planned setting's lookback, horizon and split; the "
        f"longest has {int(panel.lengths.max())} rows"
    )


def _run_trial(
    data: Series | Panel,
    params: dict[str, Any],
    number: int,
    setting: dict[str, Any],
    should_stop: Callable[[], bool],
) -> tuple[Trial, Forecaster | None]:
    forecaster = Forecaster(**params)
    started = time.perf_counter()
    try:
        # Quiet: the data's warnings are shown once, by _check_data, not once per trial.
        with held_warnings(_unless_data, DataWarning) as held:
            if isinstance(data, Panel):
                forecaster.fit_panel(data, should_stop=should_stop, score=False)
            else:
                forecaster.fit_series(data, should_stop=should_stop, score=False)
    except (ConfigError, DataError, TrainingError, torch.cuda.OutOfMemoryError) as exc:
        reason = " ".join(str(exc).split())
        return Trial(number, setting, None, None, None, time.perf_counter() - started, f"failed: {reason}"), None
    epochs_run = len(forecaster.history_)
    # Training ends by patience, by running every epoch, or because should_stop said so: the budget.
    cut = not forecaster.stopped_early_ and epochs_run < forecaster.epochs
    seconds = time.perf_counter() - started
    said = tuple(_data_warnings(held))
    trial = Trial(number, setting, forecaster.val_mse_, forecaster.best_epoch_, epochs_run, seconds, "ok", said)
    return (dataclasses.replace(trial, status="budget") if cut else trial), forecaster


def _finish(
    best: tuple[Trial, Forecaster],
    trials: list[Trial],
    plan: Plan,
    stopped: str,
    seed: int,
    budget_seconds: float | None,
    series: Series | Panel,
) -> TuneResult:
    trial, forecaster = best
    tuning = {
        "strategy": plan.strategy,
        "space": plan.describe_space(),
        "planned": len(plan.settings),
        "n_trials": len(trials),
        "best_trial": trial.number,
        "best_val_mse": trial.val_mse,
        "stopped": stopped,
        "seed": seed,
        "budget_seconds": budget_seconds,
    }
    forecaster.state_ = forecaster.state_.replace(training={**forecaster.training_, "tuning": tuning})
    if isinstance(series, Panel):
        forecaster.score_panel_test(series)
    else:
        forecaster.score_test(series)
    table = pd.DataFrame([t.to_dict() for t in trials])
    table = table.astype({"val_mse": "float64", "best_epoch": "Int64", "epochs_run": "Int64"})
    return TuneResult(forecaster, table, trial.number, stopped, plan, trials)
