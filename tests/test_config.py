"""Settings are range-checked when they are made: every value a user can type is either accepted or
refused with a ConfigError naming the setting, the limit and the value; none reaches torch to overflow."""

import math

import numpy as np
import pytest

from lstmcast import ConfigError, ModelConfig, TrainConfig, WindowConfig
from lstmcast.config import MAX_BATCH_SIZE, MAX_SEED


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: TrainConfig(seed=2**70), "seed must be at most 4294967295; got 1180591620717411303424"),
        (lambda: TrainConfig(seed=-1), "seed must be at least 0; got -1"),
        (lambda: TrainConfig(batch_size=10**23), "batch_size must be at most 2147483647; got 10"),
        (lambda: TrainConfig(epochs=10**30), "epochs must be at most 1000000; got 10"),
        (lambda: TrainConfig(patience=10**30), "patience must be at most 1000000; got 10"),
        (lambda: ModelConfig(hidden=100_000), "hidden must be at most 16384; got 100000"),
        (lambda: ModelConfig(layers=1_000), "layers must be at most 64; got 1000"),
        (lambda: ModelConfig(conv_kernel=10**12), "conv_kernel must be at most 10000000; got 10"),
        (lambda: WindowConfig(lookback=10**12), "lookback must be at most 10000000; got 10"),
        (lambda: WindowConfig(horizon=10**12), "horizon must be at most 10000000; got 10"),
        (lambda: WindowConfig(season=10**20), "season must be at most 10000000; got 10"),
    ],
)
def test_integer_settings_have_an_upper_bound(make, message: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{message}"):
        make()


def test_the_largest_allowed_values_are_accepted() -> None:
    # 2**32 - 1 is the largest seed numpy and scikit-learn take as random_state (tune samples with it).
    assert TrainConfig(seed=MAX_SEED, batch_size=MAX_BATCH_SIZE).seed == 2**32 - 1
    assert TrainConfig(seed=np.int64(7)).seed == 7  # numpy integers are whole numbers too


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    ("make", "rule"),
    [
        (lambda v: TrainConfig(lr=v), "lr must be a finite number > 0"),
        (lambda v: TrainConfig(min_delta=v), "min_delta must be a finite number >= 0"),
        (lambda v: TrainConfig(grad_clip=v), r"grad_clip must be a finite number >= 0 \(0 turns clipping off\)"),
        (lambda v: TrainConfig(weight_decay=v), "weight_decay must be a finite number >= 0"),
        (lambda v: TrainConfig(l1=v), "l1 must be a finite number >= 0"),
        (lambda v: ModelConfig(dropout=v), r"dropout must be in \[0, 1\)"),
        (lambda v: ModelConfig(input_dropout=v), r"input_dropout must be in \[0, 1\)"),
        (lambda v: WindowConfig(val_frac=v), r"val_frac must be between 0 and 1 \(exclusive\)"),
        (lambda v: WindowConfig(test_frac=v), r"test_frac must be in \[0, 1\)"),
    ],
)
def test_nan_and_infinity_are_refused_by_every_number_setting(make, rule: str, bad: float) -> None:
    # `x >= 0` is False for NaN but True for infinity: both must fail with the setting's rule.
    with pytest.raises(ConfigError, match=rf"^{rule}; got {bad}$"):
        make(bad)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ModelConfig(hidden=64.5), "hidden must be a whole number; got 64.5"),
        (lambda: ModelConfig(layers=True), "layers must be a whole number; got True"),
        (lambda: TrainConfig(epochs="10"), "epochs must be a whole number; got '10'"),
        (lambda: TrainConfig(lr="fast"), "lr must be a number; got 'fast'"),
        (lambda: TrainConfig(device=0), "device must be auto, cpu, cuda or cuda:N; got 0"),
    ],
)
def test_values_of_the_wrong_type_are_config_errors_not_type_errors(make, message: str) -> None:
    # A model manifest or a notebook can pass anything; a TypeError would surface as an internal error.
    with pytest.raises(ConfigError, match=rf"^{message}$"):
        make()


def test_settings_read_back_from_a_manifest_are_checked_the_same_way() -> None:
    with pytest.raises(ConfigError, match=r"^hidden must be at most 16384; got 8000000$"):
        ModelConfig.from_dict({"hidden": 8_000_000})
