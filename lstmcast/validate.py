"""Turn a raw table into a clean ``Series``: a time index, float32 values and column names.

Every defect is a ``DataError`` naming the file, the column and the first offending rows. Rows are
counted from 1 over the data rows in file order (the header is not a row).
"""

from __future__ import annotations

import dataclasses
import difflib
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstmcast.config import DataConfig
from lstmcast.errors import DataError, DataWarning

_FLOAT32_MAX = float(np.finfo(np.float32).max) / 1e3  # headroom: scaling and sums must stay finite
_LISTED_NAMES = 10  # an error lists this many column names, then counts the rest
_NAME_CHARS = 60  # and shortens longer names, so a message stays one readable line
_TIME_HINT = 0.1  # a column this much of which parses as dates may be a damaged time column


@dataclass(frozen=True)
class Series:
    """A validated series: ``values[:, 0]`` is the target, the other columns are input features."""

    values: np.ndarray  # [n, 1 + n_features] float32
    columns: tuple[str, ...]  # target first, then features
    index: pd.DatetimeIndex | None  # None when the table has no time column
    time_col: str | None
    frequency: str | None  # a pandas offset alias such as "h" or "D"
    source: str

    @property
    def target(self) -> str:
        return self.columns[0]

    def __len__(self) -> int:
        return len(self.values)

    def head(self, rows: int) -> Series:
        """The first ``rows`` rows (what a backtest fold may train on)."""
        index = self.index[:rows] if self.index is not None else None
        return dataclasses.replace(self, values=self.values[:rows], index=index)


def format_names(names: list[str] | tuple[str, ...], limit: int = _LISTED_NAMES) -> str:
    """'a, b, c' for a few names; the first ``limit`` and '... and 9,990 more' for many; long names cut."""
    shown = [name if len(name) <= _NAME_CHARS else name[: _NAME_CHARS - 3] + "..." for name in names[:limit]]
    text = ", ".join(shown)
    if len(names) > limit:
        text += f", ... and {len(names) - limit:,} more"
    return text


def format_rows(positions: np.ndarray, limit: int = 3) -> str:
    """'row 5', 'rows 17-19' or 'rows 2, 7-9 and 4 more' from 0-based positions."""
    rows = np.asarray(positions) + 1
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    runs = np.split(rows, breaks)
    parts = [str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs[:limit]]
    text = ", ".join(parts)
    if len(runs) > limit:
        text += f" and {len(runs) - limit} more"
    return ("row " if len(rows) == 1 else "rows ") + text


def validate_frame(
    frame: pd.DataFrame, config: DataConfig, source: str | None = None, *, warn_constant: bool = True
) -> Series:
    """Check and convert a table into a ``Series`` following ``config``.

    A constant target warns (a model trained on it can only repeat it) unless ``warn_constant`` is
    False, as for the recent rows a fitted model forecasts from, which may well be flat.
    """
    source = source or frame.attrs.get("source", "<frame>")
    # A time index (the usual shape in a notebook) becomes a column, so it is found like any other.
    if isinstance(frame.index, pd.DatetimeIndex) and config.time_col not in frame.columns:
        frame = frame.rename_axis(str(config.time_col or frame.index.name or "time")).reset_index()
    else:
        frame = frame.reset_index(drop=True)
    time_col = _resolve_time_col(frame, config.time_col, source)
    target = _resolve_target(frame, config, time_col, source)
    columns = (target, *config.features)
    for col in config.features:
        _require_column(frame, col, source, "feature")
    values = np.column_stack([_numeric(frame[col], col, source) for col in columns])
    index = _timestamps(frame[time_col], time_col, source) if time_col else None
    if config.fill == "none":
        _reject_missing(values, columns, source)  # before sorting, so rows are named in file order
    if index is not None:
        values, index = _sorted(values, index, source)
    values, index = _repair_missing(values, index, columns, config.fill, source)
    if warn_constant:
        _warn_if_constant(values[:, 0], target, source)
    frequency = infer_frequency(index, source) if index is not None else None
    return Series(values.astype(np.float32), columns, index, time_col, frequency, source)


def _require_column(frame: pd.DataFrame, col: str, source: str, role: str) -> None:
    if col not in frame.columns:
        names = [str(c) for c in frame.columns]
        close = difflib.get_close_matches(str(col), names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DataError(f"{source}: {role} column {col!r} not found{hint}; columns are: {format_names(names)}")


def _parses_as_time(column: pd.Series) -> pd.Series | None:
    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return None  # numbers would parse as epoch offsets; never guess that
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for utc in (False, True):  # mixed UTC offsets (a daylight-saving change) only parse as UTC
            try:
                parsed = pd.to_datetime(column, errors="coerce", format="mixed", utc=utc)
            except (ValueError, TypeError, OverflowError):
                continue
            if pd.api.types.is_datetime64_any_dtype(parsed):
                return parsed
    return None


def _resolve_time_col(frame: pd.DataFrame, time_col: str | None, source: str) -> str | None:
    if time_col is not None:
        _require_column(frame, time_col, source, "time")
        return time_col
    damaged: tuple[str, np.ndarray, object] | None = None  # the first column that partly parses as dates
    for col in frame.columns:
        parsed = _parses_as_time(frame[col])
        present = frame[col].notna()
        if parsed is None or not present.any():
            continue
        share = parsed[present].notna().mean()
        # Most values parse: this is the time column, and the rest are reported as unparsable.
        if share >= 0.5:
            return str(col)
        if share >= _TIME_HINT and damaged is None:
            bad = np.flatnonzero((present & parsed.isna()).to_numpy())
            damaged = (str(col), bad, frame[col].iloc[bad[0]])
    if damaged is not None:
        # Ignoring it would silently train on row order; say which values keep it from being the time column.
        col, bad, example = damaged
        raise DataError(
            f"{source}: column {col!r}, {format_rows(bad)}: not a timestamp (e.g. {example!r}), so the column "
            "was not taken as the time column; fix those values, or name the time column with --time-col"
        )
    return None


def _resolve_target(frame: pd.DataFrame, config: DataConfig, time_col: str | None, source: str) -> str:
    if config.target is not None:
        _require_column(frame, config.target, source, "target")
        return config.target
    others = [c for c in frame.columns if c != time_col and c not in config.features]
    numeric = [str(c) for c in others if pd.api.types.is_numeric_dtype(frame[c])]
    if len(numeric) == 1:
        return numeric[0]
    if not numeric and len(others) == 1:
        return str(others[0])  # one candidate holding text: name its bad rows rather than guess
    if not numeric:
        raise DataError(f"{source}: no numeric column to forecast; pass --target NAME")
    raise DataError(f"{source}: several numeric columns; pass --target, one of: {format_names(numeric)}")


def _numeric(column: pd.Series, col: str, source: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column):
        raise DataError(f"{source}: column {col!r} holds true/false values, not numbers")
    converted = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero(converted.isna().to_numpy() & column.notna().to_numpy())
    if len(bad):
        example = column.iloc[bad[0]]
        raise DataError(f"{source}: column {col!r}, {format_rows(bad)}: not a number (e.g. {example!r})")
    numbers = converted.to_numpy(dtype=np.float64, na_value=np.nan)
    huge = np.flatnonzero(np.isfinite(numbers) & (np.abs(numbers) > _FLOAT32_MAX))
    if len(huge):
        raise DataError(
            f"{source}: column {col!r}, {format_rows(huge)}: value too large for 32-bit floats "
            f"(e.g. {numbers[huge[0]]:g}); rescale the column"
        )
    return numbers


def _timestamps(column: pd.Series, col: str, source: str) -> pd.DatetimeIndex:
    parsed = _parses_as_time(column)
    if parsed is None:
        raise DataError(f"{source}: time column {col!r} holds numbers, not timestamps")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        example = column.iloc[bad[0]]
        raise DataError(f"{source}: column {col!r}, {format_rows(bad)}: not a timestamp (e.g. {example!r})")
    index = pd.DatetimeIndex(parsed)
    duplicated = np.flatnonzero(index.duplicated(keep=False))
    if len(duplicated):
        raise DataError(
            f"{source}: column {col!r}, {format_rows(duplicated)}: duplicate timestamp {index[duplicated[0]]}"
        )
    return index


def _sorted(values: np.ndarray, index: pd.DatetimeIndex, source: str) -> tuple[np.ndarray, pd.DatetimeIndex]:
    if index.is_monotonic_increasing:
        return values, index
    warnings.warn(f"{source}: timestamps were not in order; sorted them", DataWarning, stacklevel=3)
    order = np.argsort(index.asi8, kind="stable")
    return values[order], index[order]


def _reject_missing(values: np.ndarray, columns: tuple[str, ...], source: str) -> None:
    missing = ~np.isfinite(values)  # [n, n_columns]
    if not missing.any():
        return
    col = int(np.flatnonzero(missing.any(axis=0))[0])
    rows = np.flatnonzero(missing[:, col])
    kind = "infinite value" if np.isinf(values[rows[0], col]) else "missing value"
    raise DataError(
        f"{source}: column {columns[col]!r}, {format_rows(rows)}: {kind}; pass --fill interpolate|ffill|drop to repair"
    )


def _repair_missing(
    values: np.ndarray, index: pd.DatetimeIndex | None, columns: tuple[str, ...], fill: str, source: str
) -> tuple[np.ndarray, pd.DatetimeIndex | None]:
    missing = ~np.isfinite(values)  # [n, n_columns]
    if not missing.any():
        return values, index
    count = int(missing.any(axis=1).sum())
    if fill == "drop":
        keep = ~missing.any(axis=1)
        warnings.warn(f"{source}: dropped {count} rows with missing values", DataWarning, stacklevel=3)
        return values[keep], index[keep] if index is not None else None
    frame = pd.DataFrame(np.where(missing, np.nan, values), index=index)
    if fill == "interpolate":
        frame = frame.interpolate(method="time" if index is not None else "linear", limit_direction="both")
    frame = frame.ffill().bfill()  # after interpolation this only touches columns with a single value
    if frame.isna().to_numpy().any():
        col = int(np.flatnonzero(frame.isna().to_numpy().all(axis=0))[0])
        raise DataError(f"{source}: column {columns[col]!r} has no values at all")
    warnings.warn(f"{source}: filled {count} rows with missing values ({fill})", DataWarning, stacklevel=3)
    return frame.to_numpy(), index


def _warn_if_constant(target: np.ndarray, col: str, source: str) -> None:
    if len(target) >= 2 and bool(np.all(target == target[0])):
        warnings.warn(
            f"{source}: column {col!r} is constant (every value is {target[0]:.7g}); the forecast can only repeat it",
            DataWarning,
            stacklevel=3,
        )


def infer_frequency(index: pd.DatetimeIndex, source: str = "<frame>") -> str | None:
    """The series' step as an offset alias; warns when the spacing is irregular."""
    if len(index) < 2:
        return None
    if len(index) >= 3:
        inferred = pd.DatetimeIndex(index, freq="infer").freq
        if inferred is not None:
            return str(inferred.freqstr)
    steps = index[1:] - index[:-1]  # a TimedeltaIndex, whatever the index's resolution
    gaps, counts = np.unique(steps.to_numpy(), return_counts=True)
    step = pd.Timedelta(gaps[counts.argmax()])  # the most common gap: a median could fall between two gaps
    irregular = int((steps != step).sum())
    if irregular:
        warnings.warn(
            f"{source}: irregular spacing: {irregular} of {len(steps)} gaps differ from the typical step "
            f"of {step}; forecasts step by {step}",
            DataWarning,
            stacklevel=3,
        )
    return pd.tseries.frequencies.to_offset(step).freqstr


def same_step(a: str, b: str) -> bool:
    """Whether two offset aliases step alike ('D' and '24h' do; 'ME' and '30D' do not)."""
    first, second = pd.tseries.frequencies.to_offset(a), pd.tseries.frequencies.to_offset(b)
    try:
        return bool(first.nanos == second.nanos)
    except ValueError:  # a calendar offset (months, years) has no fixed length
        return bool(first == second)
