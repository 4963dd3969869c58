"""Settings as frozen dataclasses: one name per concept, range-checked on creation.

The same names are used by the CLI flags, the ``Forecaster`` arguments, the manifest and the docs.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from lstmcast.errors import ConfigError

FILL_METHODS = ("none", "interpolate", "ffill", "drop")
SCALERS = ("standard", "minmax", "robust")
MODELS = ("lstm", "gru", "peephole")
WINDOW_NORMS = ("none", "last", "mean", "revin", "auto")
# window_norm auto: the first (the shift-equivariant coordinates) unless the other's ridge start
# forecasts the validation part at least AUTO_WINDOW_MARGIN better (relative MSE). Without a margin,
# validation picked the raw window by a hair on series where the network then learned worse
# (docs/benchmarks.md, "window normalisation chosen on validation").
AUTO_WINDOW_NORMS = ("last", "none")
AUTO_WINDOW_MARGIN = 0.03
EVENTS = ("above", "below")  # which side of a threshold is an event
LOSSES = ("mse", "mae", "huber")
MAX_SHARDS = 2**64 - 1  # predict --shard I/N: an id's shard is its 64-bit hash modulo N
AUTO = "auto"  # segment: chosen from the lookback and the season when training starts
SEGMENTS_WANTED = (3, 24)  # auto segment: the season when it cuts the lookback into this many segments
SEGMENTS_TARGET = 8  # ... else the divisor of the lookback giving closest to this many segments

T = TypeVar("T", bound="_Config")

# Upper bounds: far beyond any sensible setting, and low enough that torch and numpy never overflow.
MAX_STEPS = 10_000_000  # lookback, horizon, season, conv_kernel: rows of a series
MAX_HIDDEN = 16_384
MAX_LAYERS = 64
MAX_ENSEMBLE = 1_000
MAX_EPOCHS = 1_000_000  # epochs and patience
MAX_BATCH_SIZE = 2**31 - 1  # torch indexes a batch with 32-bit sizes in places
MAX_SEED = 2**32 - 1  # numpy's and scikit-learn's random_state (tune's ParameterSampler) take 32 bits


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _check_int(name: str, value: Any, low: int, high: int, note: str = "") -> None:
    """A whole number in ``[low, high]``; ``note`` says what the low end means (e.g. that 0 turns it off)."""
    _check(
        isinstance(value, numbers.Integral) and not isinstance(value, bool),
        f"{name} must be a whole number; got {value!r}",
    )
    _check(value >= low, f"{name} must be at least {low}{note}; got {value}")
    _check(value <= high, f"{name} must be at most {high}; got {value}")


def _check_number(name: str, value: Any, rule: str, within: Callable[[float], bool]) -> None:
    """A finite number for which ``within`` holds. NaN would pass a check such as ``not x < 0``, and
    infinity ``x >= 0``: neither is a setting, so both fail here."""
    _check(isinstance(value, numbers.Real) and not isinstance(value, bool), f"{name} must be a number; got {value!r}")
    try:
        ok = math.isfinite(value) and within(value)
    except OverflowError:  # an integer too large for a float (a crafted manifest's 10**400)
        ok = False
    _check(ok, f"{name} must be {rule}; got {value if ok or not isinstance(value, int) else 'a number too large'}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    _check(value in choices, f"{name} must be one of {', '.join(choices)}; got {value!r}")


class _Config:
    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)  # type: ignore[call-overload]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        _check(not unknown, f"unknown {cls.__name__} settings: {', '.join(unknown)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


@dataclass(frozen=True)
class DataConfig(_Config):
    """Which columns to read and how to repair gaps."""

    target: str | None = None
    time_col: str | None = None
    features: tuple[str, ...] = ()
    fill: str = "none"
    id_col: str | None = None  # a long table of many series, one model for all (lstmcast.validate.Panel)

    def __post_init__(self) -> None:
        _check_choice("fill", self.fill, FILL_METHODS)
        _check(self.target not in self.features, f"target {self.target!r} is also listed in features")
        _check(len(set(self.features)) == len(self.features), "features lists a column twice")
        if self.id_col is not None:
            _check(
                self.id_col not in (self.target, self.time_col, *self.features),
                f"id_col {self.id_col!r} is also the target, the time column or a feature",
            )


@dataclass(frozen=True)
class WindowConfig(_Config):
    """How the series is split, scaled and cut into windows."""

    lookback: int = 96
    horizon: int = 24
    val_frac: float = 0.1
    test_frac: float = 0.2
    scaler: str = "standard"
    season: int = 0  # the seasonal-naive baseline's period; 0 infers it from the data's frequency

    def __post_init__(self) -> None:
        _check_int("lookback", self.lookback, 1, MAX_STEPS)
        _check_int("horizon", self.horizon, 1, MAX_STEPS)
        _check_number("val_frac", self.val_frac, "between 0 and 1 (exclusive)", lambda v: 0 < v < 1)
        _check_number("test_frac", self.test_frac, "in [0, 1)", lambda v: 0 <= v < 1)
        _check(
            self.val_frac + self.test_frac < 0.9,
            f"val_frac + test_frac must leave at least 10% for training; got {self.val_frac + self.test_frac:g}",
        )
        _check_choice("scaler", self.scaler, SCALERS)
        _check_int("season", self.season, 0, MAX_STEPS, " (0 infers it from the frequency)")


@dataclass(frozen=True)
class ModelConfig(_Config):
    """The network: window normalisation, an optional convolutional front-end, a recurrent encoder
    (optionally bidirectional, with attention over its states) with a direct multi-step head, and a
    linear path beside it."""

    model: str = "lstm"
    hidden: int = 64
    layers: int = 1
    dropout: float = 0.0
    input_dropout: float = 0.0
    bidirectional: bool = False
    attention: bool = False
    conv_kernel: int = 0
    segment: int | str = AUTO  # steps per segment the cell reads at once (SegRNN); 0 reads step by step
    window_norm: str = "last"
    linear: bool = True
    ensemble: int = 3  # networks trained from different random starts and averaged
    quantiles: tuple[float, ...] = ()  # levels of the quantile head (lstmcast.quantiles); () for none

    def __post_init__(self) -> None:
        _check_choice("model", self.model, MODELS)
        _check_int("hidden", self.hidden, 1, MAX_HIDDEN)
        _check_int("layers", self.layers, 1, MAX_LAYERS)
        _check_number("dropout", self.dropout, "in [0, 1)", lambda v: 0 <= v < 1)
        _check_number("input_dropout", self.input_dropout, "in [0, 1)", lambda v: 0 <= v < 1)
        _check(isinstance(self.bidirectional, bool), f"bidirectional must be true or false; got {self.bidirectional!r}")
        _check(isinstance(self.attention, bool), f"attention must be true or false; got {self.attention!r}")
        _check_int("conv_kernel", self.conv_kernel, 0, MAX_STEPS, " (0 turns the convolution off)")
        if self.segment != AUTO:
            _check_int("segment", self.segment, 0, MAX_STEPS, f" (0 reads the window step by step, or {AUTO})")
        _check_choice("window_norm", self.window_norm, WINDOW_NORMS)
        _check(isinstance(self.linear, bool), f"linear must be true or false; got {self.linear!r}")
        _check_int("ensemble", self.ensemble, 1, MAX_ENSEMBLE)
        _check(
            isinstance(self.quantiles, tuple)
            and all(isinstance(q, numbers.Real) and not isinstance(q, bool) and 0 < q < 1 for q in self.quantiles)
            and list(self.quantiles) == sorted(set(self.quantiles)),
            f"quantiles must be distinct levels strictly between 0 and 1, in ascending order; got {self.quantiles!r}",
        )


@dataclass(frozen=True)
class TrainConfig(_Config):
    """Optimisation and early stopping."""

    epochs: int = 200  # a cap: early stopping (patience) ends training; 100 cut off traffic_volume (docs/benchmarks.md)
    patience: int = 20
    min_delta: float = 0.0
    batch_size: int = 256
    lr: float = 1e-3
    loss: str = "mae"
    grad_clip: float = 1.0
    weight_decay: float = 0.0
    l1: float = 0.0
    seed: int = 0
    device: str = "auto"
    max_windows_per_series: int = 0  # an epoch's windows drawn afresh from each series, at most this many; 0: all

    def __post_init__(self) -> None:
        _check_int("epochs", self.epochs, 1, MAX_EPOCHS)
        _check_int("patience", self.patience, 1, MAX_EPOCHS)
        _check_number("min_delta", self.min_delta, "a finite number >= 0", lambda v: v >= 0)
        _check_int("batch_size", self.batch_size, 1, MAX_BATCH_SIZE)
        _check_number("lr", self.lr, "a finite number > 0", lambda v: v > 0)
        _check_choice("loss", self.loss, LOSSES)
        _check_number("grad_clip", self.grad_clip, "a finite number >= 0 (0 turns clipping off)", lambda v: v >= 0)
        _check_number("weight_decay", self.weight_decay, "a finite number >= 0", lambda v: v >= 0)
        _check_number("l1", self.l1, "a finite number >= 0", lambda v: v >= 0)
        _check_int("seed", self.seed, 0, MAX_SEED)
        _check_int("max_windows_per_series", self.max_windows_per_series, 0, MAX_SEED)
        _check(
            isinstance(self.device, str) and re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device) is not None,
            f"device must be auto, cpu, cuda or cuda:N; got {self.device!r}",
        )


def parse_level_list(
    text: str | tuple[float, ...] | list[float] | None,
    option: str,
    top: float,
    takes: str,
    rule: str,
    name: Callable[[float], str],
    most: int,
) -> tuple[float, ...]:
    """A list of levels such as ``"80,95"`` (or numbers) for ``option``: distinct numbers strictly
    between 0 and ``top``, sorted; a ConfigError naming the bad one otherwise (``takes``: what the option
    takes, ``rule``: what one level must be). Two levels are the same when ``name`` names them alike (the
    column names they give), and there are at most ``most``."""
    if text is None or text == ():
        return ()
    if isinstance(text, str) and not text.strip():  # `--quantiles ""` must not be taken as no levels at all
        raise ConfigError(f"{option} is empty; give {takes}, or leave the option out")
    if not isinstance(text, (str, list, tuple)):  # a bare 80 would fail as "'int' object is not iterable"
        raise ConfigError(f"{option} takes {takes}, as text or a list or tuple; got {text!r}")
    parts = [part.strip() for part in text.split(",")] if isinstance(text, str) else list(text)
    levels = []
    for part in parts:
        try:
            level = float(part)
        except (TypeError, ValueError):
            raise ConfigError(f"{option} takes {takes}; got {part!r}") from None
        if not (math.isfinite(level) and 0 < level < top):
            raise ConfigError(f"{option} {part}: {rule}")
        levels.append(level)
    if len({name(level) for level in levels}) != len(levels):  # 80 and 80.000001 both name lo_80
        shown = text if isinstance(text, str) else ",".join(f"{level:g}" for level in levels)
        raise ConfigError(f"{option} {shown}: each level once")
    if len(levels) > most:
        raise ConfigError(f"{option}: at most {most} levels")
    return tuple(sorted(levels))


def parse_segment(text: str) -> int | str:
    """``"auto"`` or a whole number of steps, as typed on the command line or in a tune grid."""
    text = text.strip()
    if text.lower() == AUTO:
        return AUTO
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"segment must be {AUTO} or a whole number of steps; got {text!r}") from None


def auto_segment(lookback: int, season: int) -> int:
    """The segment length ``--segment auto`` uses: the season (a day of hourly steps, a week of days)
    when it cuts the lookback into 3 to 24 segments, else the divisor of the lookback that gives
    closest to 8 segments (the longer segment on a tie). On the development series of
    docs/benchmarks.md this gives the segments they were studied with (168 hourly steps in 7 of 24,
    104 weeks in 8 of 13, 36 months in 3 of 12)."""
    low, high = SEGMENTS_WANTED
    if season > 1 and lookback % season == 0 and low <= lookback // season <= high:
        return season
    small = [d for d in range(1, math.isqrt(lookback) + 1) if lookback % d == 0]
    divisors = small + [lookback // d for d in small]
    return min(divisors, key=lambda d: (abs(lookback / d - SEGMENTS_TARGET), -d))


class Settings(NamedTuple):
    """Every setting of a forecaster, in its four groups."""

    data: DataConfig
    window: WindowConfig
    model: ModelConfig
    train: TrainConfig


DEFAULT_THREADS = 1  # see docs/benchmarks.md#threads: two threads collapse on a shared machine
MAX_THREADS = 1024
THREADS_ENV = "LSTMCAST_THREADS"


def resolve_threads(threads: int | None = None) -> int:
    """The CPU threads to compute with: ``threads``, else ``$LSTMCAST_THREADS``, else 1 (checked)."""
    import os

    if threads is None:
        value = os.environ.get(THREADS_ENV, "").strip()
        try:
            threads = int(value) if value else DEFAULT_THREADS
        except ValueError:
            raise ConfigError(f"{THREADS_ENV} must be a whole number from 1 to {MAX_THREADS}; got {value!r}") from None
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
        raise ConfigError(f"threads must be a whole number from 1 to {MAX_THREADS}; got {threads!r}")
    return threads
