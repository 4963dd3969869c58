"""Chronological split and lookback/horizon windows, without materialising every window.

An *origin* ``t`` is the first forecast row: the inputs are rows ``[t - lookback, t)`` and the
targets rows ``[t, t + horizon)``. Windows are gathered per batch from the one series tensor, so
memory stays O(rows x columns), not O(rows x lookback).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmcast.config import WindowConfig
from lstmcast.errors import DataError


@dataclass(frozen=True)
class Split:
    """Rows ``[0, train_end)`` train, ``[train_end, val_end)`` validate, ``[val_end, n)`` test."""

    n: int
    train_end: int
    val_end: int

    def origins(self, part: str, lookback: int, horizon: int) -> np.ndarray:
        """Every origin whose targets lie wholly inside ``part`` and whose inputs exist."""
        start, stop = {
            "train": (0, self.train_end),
            "val": (self.train_end, self.val_end),
            "test": (self.val_end, self.n),
        }[part]
        return np.arange(max(start, lookback), stop - horizon + 1, dtype=np.int64)


def _split_sizes(n: int, window: WindowConfig) -> tuple[int, int, int]:
    n_test = round(n * window.test_frac)
    n_val = round(n * window.val_frac)
    return n - n_val - n_test, n_val, n_test


def _split_fits(n: int, window: WindowConfig) -> bool:
    n_train, n_val, n_test = _split_sizes(n, window)
    test_ok = n_test >= window.horizon if window.test_frac > 0 else True
    return n_train >= window.lookback + window.horizon and n_val >= window.horizon and test_ok


def rows_needed(window: WindowConfig, start: int = 1) -> int:
    """The fewest rows (from ``start`` on) for which every part of the split holds at least one window.

    Part sizes are rounded, so this is found by a short scan up from a lower bound, not a formula.
    """
    n = max(start, window.lookback + window.horizon * (3 if window.test_frac > 0 else 2))
    while not _split_fits(n, window):
        n += 1
    return n


def chronological_split(n_rows: int, window: WindowConfig, source: str = "<frame>") -> Split:
    """Split rows in time order; raises a DataError saying how many rows are needed."""
    if not _split_fits(n_rows, window):
        needed = rows_needed(window)
        if needed <= n_rows:  # rounding makes a rare size in between fail; name the next that works
            needed = rows_needed(window, start=n_rows + 1)
        raise DataError(
            f"{source}: {n_rows} rows are too few for lookback {window.lookback} + horizon {window.horizon} "
            f"with val_frac {window.val_frac:g} and test_frac {window.test_frac:g}; need at least {needed} "
            "rows (or a shorter --lookback/--horizon)"
        )
    n_train, n_val, _ = _split_sizes(n_rows, window)
    return Split(n_rows, n_train, n_train + n_val)


def window_offsets(lookback: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Row offsets from an origin: inputs ``[-lookback, 0)``, targets ``[0, horizon)``."""
    return np.arange(-lookback, 0), np.arange(horizon)


def rolling_origins(n_rows: int, lookback: int, horizon: int, stride: int = 1, first: int = 0) -> np.ndarray:
    """Origins over a whole table: every ``stride``-th one with full inputs and a full horizon."""
    start = max(lookback, first)
    return np.arange(start, n_rows - horizon + 1, stride, dtype=np.int64)
