"""Settings as frozen dataclasses: one name per concept, range-checked on creation.

The same names are used by the CLI flags, the ``Forecaster`` arguments, the manifest and the docs.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from lstmcast.errors import ConfigError

FILL_METHODS = ("none", "interpolate", "ffill", "drop")
SCALERS = ("standard", "minmax", "robust")
MODELS = ("lstm", "gru", "peephole")
WINDOW_NORMS = ("none", "last", "mean", "revin")
EVENTS = ("above", "below")  # which side of a threshold is an event

T = TypeVar("T", bound="_Config")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


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

    def __post_init__(self) -> None:
        _check_choice("fill", self.fill, FILL_METHODS)
        _check(self.target not in self.features, f"target {self.target!r} is also listed in features")
        _check(len(set(self.features)) == len(self.features), "features lists a column twice")


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
        _check(self.lookback >= 1, f"lookback must be at least 1; got {self.lookback}")
        _check(self.horizon >= 1, f"horizon must be at least 1; got {self.horizon}")
        _check(0 < self.val_frac < 1, f"val_frac must be between 0 and 1 (exclusive); got {self.val_frac}")
        _check(0 <= self.test_frac < 1, f"test_frac must be in [0, 1); got {self.test_frac}")
        _check(
            self.val_frac + self.test_frac < 0.9,
            f"val_frac + test_frac must leave at least 10% for training; got {self.val_frac + self.test_frac:g}",
        )
        _check_choice("scaler", self.scaler, SCALERS)
        _check(self.season >= 0, f"season must be >= 0 (0 infers it from the frequency); got {self.season}")


@dataclass(frozen=True)
class ModelConfig(_Config):
    """The network: window normalisation, an optional convolutional front-end, a recurrent encoder
    (optionally bidirectional, with attention over its states) with a direct multi-step head, and a
    linear path beside it."""

    model: str = "lstm"
    hidden: int = 64
    layers: int = 2
    dropout: float = 0.0
    input_dropout: float = 0.0
    bidirectional: bool = False
    attention: bool = False
    conv_kernel: int = 0
    window_norm: str = "last"
    linear: bool = True

    def __post_init__(self) -> None:
        _check_choice("model", self.model, MODELS)
        _check(self.hidden >= 1, f"hidden must be at least 1; got {self.hidden}")
        _check(self.layers >= 1, f"layers must be at least 1; got {self.layers}")
        _check(0 <= self.dropout < 1, f"dropout must be in [0, 1); got {self.dropout}")
        _check(0 <= self.input_dropout < 1, f"input_dropout must be in [0, 1); got {self.input_dropout}")
        _check(isinstance(self.bidirectional, bool), f"bidirectional must be true or false; got {self.bidirectional!r}")
        _check(isinstance(self.attention, bool), f"attention must be true or false; got {self.attention!r}")
        _check(self.conv_kernel >= 0, f"conv_kernel must be >= 0 (0 turns the convolution off); got {self.conv_kernel}")
        _check_choice("window_norm", self.window_norm, WINDOW_NORMS)
        _check(isinstance(self.linear, bool), f"linear must be true or false; got {self.linear!r}")


@dataclass(frozen=True)
class TrainConfig(_Config):
    """Optimisation and early stopping."""

    epochs: int = 100
    patience: int = 20
    min_delta: float = 0.0
    batch_size: int = 64
    lr: float = 3e-4
    grad_clip: float = 1.0
    weight_decay: float = 0.0
    l1: float = 0.0
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        _check(self.epochs >= 1, f"epochs must be at least 1; got {self.epochs}")
        _check(self.patience >= 1, f"patience must be at least 1; got {self.patience}")
        _check(self.min_delta >= 0, f"min_delta must be >= 0; got {self.min_delta}")
        _check(self.batch_size >= 1, f"batch_size must be at least 1; got {self.batch_size}")
        _check(self.lr > 0, f"lr must be positive; got {self.lr}")
        _check(self.grad_clip >= 0, f"grad_clip must be >= 0 (0 turns clipping off); got {self.grad_clip}")
        _check(self.weight_decay >= 0, f"weight_decay must be >= 0; got {self.weight_decay}")
        _check(self.l1 >= 0, f"l1 must be >= 0; got {self.l1}")
        _check(self.seed >= 0, f"seed must be >= 0; got {self.seed}")
        _check(
            re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device) is not None,
            f"device must be auto, cpu, cuda or cuda:N; got {self.device!r}",
        )
