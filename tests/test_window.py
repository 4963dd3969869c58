import numpy as np
import pytest
import torch

from lstmcast import DataError, WindowConfig
from lstmcast.train import TensorWindows
from lstmcast.window import chronological_split, rolling_origins, rows_needed


def test_split_is_chronological_with_the_configured_fractions() -> None:
    split = chronological_split(1000, WindowConfig(lookback=10, horizon=5))
    assert (split.train_end, split.val_end, split.n) == (700, 800, 1000)


def test_targets_of_every_origin_stay_inside_their_part() -> None:
    split = chronological_split(1000, WindowConfig(lookback=10, horizon=5))
    bounds = {"train": (0, 700), "val": (700, 800), "test": (800, 1000)}
    for part, (start, stop) in bounds.items():
        origins = split.origins(part, lookback=10, horizon=5)
        assert origins.min() == max(start, 10)
        assert origins.max() + 5 == stop  # the last origin's horizon ends exactly at the part's end
        assert np.all(np.diff(origins) == 1)


def test_too_few_rows_says_how_many_are_needed() -> None:
    window = WindowConfig(lookback=96, horizon=24)
    needed = rows_needed(window)
    chronological_split(needed, window)  # exactly enough
    with pytest.raises(
        DataError,
        match=rf"^x\.csv: {needed - 1} rows are too few for lookback 96 \+ horizon 24 .*"
        rf"need at least {needed} rows",
    ):
        chronological_split(needed - 1, window, "x.csv")


def test_production_fit_has_no_test_part() -> None:
    split = chronological_split(200, WindowConfig(lookback=10, horizon=5, test_frac=0))
    assert split.val_end == split.n == 200
    assert len(split.origins("test", 10, 5)) == 0


def test_rolling_origins_respect_stride_and_a_first_origin() -> None:
    assert rolling_origins(20, lookback=5, horizon=3).tolist() == list(range(5, 18))
    assert rolling_origins(20, lookback=5, horizon=3, stride=4).tolist() == [5, 9, 13, 17]
    assert rolling_origins(20, lookback=5, horizon=3, first=10).tolist() == list(range(10, 18))


def test_windows_are_gathered_from_the_series_without_copying_it_per_window() -> None:
    values = torch.arange(40, dtype=torch.float32).reshape(20, 2)  # target column 0 = 0, 2, 4, ...
    windows = TensorWindows(values, lookback=3, horizon=2)
    origins = torch.tensor([3, 10])
    inputs, targets = windows.inputs(origins), windows.targets(origins)
    assert inputs.shape == (2, 3, 2) and targets.shape == (2, 2)
    assert torch.equal(inputs[0], values[0:3])
    assert torch.equal(inputs[1], values[7:10])
    assert targets.tolist() == [[6.0, 8.0], [20.0, 22.0]]
