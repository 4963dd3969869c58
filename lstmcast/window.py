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


def longest_useful_stride(stride: int, lengths: np.ndarray) -> int:
    """``stride``, or the length of the longest series when it is longer: either leaves every series
    its first origin alone, and only the shorter fits numpy's integers (``--stride 10**20``)."""
    return min(stride, max(int(lengths.max(initial=0)), 1))


def panel_rolling_origins(offsets: np.ndarray, first: int, horizon: int, stride: int = 1) -> np.ndarray:
    """``rolling_origins`` of every series of a panel (rows ``offsets[k]:offsets[k + 1]``) as global
    rows: every ``stride``-th from ``first`` rows into it while a whole horizon fits. Every series
    must hold at least ``first + horizon`` rows."""
    lows = offsets[:-1] + first
    stride = longest_useful_stride(stride, np.diff(offsets))
    counts = (offsets[1:] - horizon - lows) // stride + 1  # [S], each at least 1
    return (lows.repeat(counts) + stride * (ranges(np.zeros_like(counts), counts))).astype(np.int64)


@dataclass(frozen=True)
class PanelSplit:
    """Every series of a panel split in time order as one series would be (``chronological_split``),
    in global rows: series ``k`` trains on ``[offsets[k], train_end[k])``, validates on
    ``[train_end[k], val_end[k])`` and tests on ``[val_end[k], offsets[k + 1])``. ``fits[k]`` says
    whether series ``k`` is long enough for every part to hold a window; the others give no origins."""

    offsets: np.ndarray  # [S + 1]
    train_end: np.ndarray  # [S]
    val_end: np.ndarray  # [S]
    fits: np.ndarray  # [S] bool

    def origins(self, part: str, lookback: int, horizon: int) -> np.ndarray:
        """Every origin, as a global row, whose inputs lie in its own series and whose targets lie
        wholly inside ``part`` of it: no window crosses from one series into the next."""
        first = self.offsets[:-1]
        start, stop = {
            "train": (first, self.train_end),
            "val": (self.train_end, self.val_end),
            "test": (self.val_end, self.offsets[1:]),
        }[part]
        low = np.maximum(start, first + lookback)  # [S]
        counts = np.where(self.fits, np.clip(stop - horizon + 1 - low, 0, None), 0)  # [S]
        return ranges(low, counts)


def ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + c) for s, c in zip(starts, counts)])`` without a loop per range."""
    total = int(counts.sum())
    ends = np.cumsum(counts)
    shift = np.repeat(starts - (ends - counts), counts)  # [total]: each range's start minus its place
    return (np.arange(total, dtype=np.int64) + shift).astype(np.int64)


def panel_split(offsets: np.ndarray, window: WindowConfig) -> PanelSplit:
    """Each series' parts by the fractions of ``window``, rounded as for one series."""
    n = np.diff(offsets).astype(np.int64)
    n_test = np.rint(n * window.test_frac).astype(np.int64)  # round half to even, as Python's round
    n_val = np.rint(n * window.val_frac).astype(np.int64)
    n_train = n - n_val - n_test
    test_ok = n_test >= window.horizon if window.test_frac > 0 else np.ones_like(n, dtype=bool)
    fits = (n_train >= window.lookback + window.horizon) & (n_val >= window.horizon) & test_ok
    train_end = offsets[:-1] + n_train
    return PanelSplit(offsets.astype(np.int64), train_end, train_end + n_val, fits)
