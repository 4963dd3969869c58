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


def format_ids(ids: list[str] | tuple[str, ...], limit: int = _LISTED_NAMES) -> str:
    """Series ids as ``format_names`` lists them, each in Python's quotes (``'north, east', ' 7'``): ids
    are text as written, and bare, one with a comma or spaces could not be told from two."""
    shown = [name if len(name) <= _NAME_CHARS else name[: _NAME_CHARS - 3] + "..." for name in ids[:limit]]
    text = ", ".join(repr(name) for name in shown)
    if len(ids) > limit:
        text += f", ... and {len(ids) - limit:,} more"
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


def nanoseconds(index: pd.DatetimeIndex) -> np.ndarray:
    """The times as int64 nanoseconds (since 1970, UTC for times with a zone), whatever unit the file
    was read in (pandas keeps a CSV's in microseconds, a Parquet file's in its own unit): how a model
    stores times, so they compare whatever file they came from."""
    return index.as_unit("ns").asi8


TRAIN_REPAIR = "pass --fill interpolate|ffill|drop to repair"  # what a missing value's message advises
MODEL_REPAIR = "repair it in the data, or train the model with --fill interpolate|ffill|drop"  # a trained model's


def validate_frame(
    frame: pd.DataFrame,
    config: DataConfig,
    source: str | None = None,
    *,
    warn_constant: bool = True,
    repair: str = TRAIN_REPAIR,
) -> Series:
    """Check and convert a table into a ``Series`` following ``config``.

    A constant target warns (a model trained on it can only repeat it) unless ``warn_constant`` is
    False, as for the recent rows a fitted model forecasts from, which may well be flat. ``repair`` is
    what a missing value's message advises (``MODEL_REPAIR`` for commands that read a trained
    model's ``fill``, which have no --fill).
    """
    return validate_frame_as_read(frame, config, source, warn_constant=warn_constant, repair=repair)[0]


def validate_frame_as_read(
    frame: pd.DataFrame,
    config: DataConfig,
    source: str | None = None,
    *,
    warn_constant: bool = True,
    repair: str = TRAIN_REPAIR,
) -> tuple[Series, np.ndarray]:
    """``validate_frame``, with the values as read beside it: ``[n, 1 + n_features]`` float64, in the
    Series' rows (sorted and repaired), before the cast to float32. For a table that writes the input
    back (``predict --explain``): ``56.17`` stays ``56.17``, not ``56.16999816894531``."""
    _require_frame(frame)
    source = source or frame.attrs.get("source", "<frame>")
    _require_columns(frame, source)
    frame = _with_time_column(frame, config)
    time_col, columns, values = _columns(frame, config, source)
    index = _timestamps(frame[time_col], time_col, source) if time_col else None
    if config.fill == "none":
        _reject_missing(values, columns, source, repair)  # before sorting, so rows are named in file order
    if index is not None:
        values, index = _sorted(values, index, source)
    values, index = _repair_missing(values, index, columns, config.fill, source)
    if warn_constant:
        _warn_if_constant(values[:, 0], columns[0], source)
    frequency = infer_frequency(index, source) if index is not None else None
    return Series(values.astype(np.float32), columns, index, time_col, frequency, source), values


def _with_time_column(frame: pd.DataFrame, config: DataConfig) -> pd.DataFrame:
    """A time index (the usual shape in a notebook) becomes a column, so it is found like any other."""
    if isinstance(frame.index, pd.DatetimeIndex) and config.time_col not in frame.columns:
        return frame.rename_axis(str(config.time_col or frame.index.name or "time")).reset_index()
    return frame.reset_index(drop=True)


def _columns(frame: pd.DataFrame, config: DataConfig, source: str) -> tuple[str | None, tuple[str, ...], np.ndarray]:
    """The time column (or None), the target and feature names, and their values ``[n, F]`` in file order."""
    time_col = _resolve_time_col(frame, config.time_col, source)
    target = _resolve_target(frame, config, time_col, source)
    columns = (target, *config.features)
    for col in config.features:
        _require_column(frame, col, source, "feature")
    _require_unique(frame, (*columns, time_col) if time_col else columns, source)
    values = np.column_stack([_numeric(frame[col], col, source, _separator_hint(frame)) for col in columns])
    return time_col, columns, values


def _require_unique(frame: pd.DataFrame, names: tuple[str, ...], source: str) -> None:
    """A frame built in Python may name two columns alike (read_table refuses such a file)."""
    for name in names:
        count = int((frame.columns == name).sum())
        if count > 1:
            raise DataError(f"{source}: column name {name!r} appears {count} times; rename them")


def _require_frame(frame: object) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame (read_table reads one from a file); got {type(frame).__name__}")


def _require_columns(frame: pd.DataFrame, source: str) -> None:
    """A table of no columns (``pd.DataFrame()``) is said to be one, not listed as ``columns are: ``."""
    if len(frame.columns) == 0:
        raise DataError(f"{source}: the table has no columns")


def _require_column(frame: pd.DataFrame, col: str, source: str, role: str) -> None:
    if col not in frame.columns:
        names = [str(c) for c in frame.columns]
        separator = _separator_hint(frame)  # then the one name is the whole header: no use suggesting it
        close = difflib.get_close_matches(str(col), names, n=1) if not separator else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        listed = format_names(names)
        raise DataError(f"{source}: {role} column {col!r} not found{hint}; columns are: {listed}{separator}")


_SEPARATORS = {
    "\t": "tabs between fields: pass --input-format tsv (or name it .tsv)",
    ",": "commas between fields: pass --input-format csv (or name it .csv)",
    ";": "';' between fields, and lstmcast reads commas (or tabs, with --input-format tsv)",
    "|": "'|' between fields, and lstmcast reads commas (or tabs, with --input-format tsv)",
}


def _separator_hint(frame: pd.DataFrame) -> str:
    """What to add to a message about a missing or non-numeric column when the whole header was read
    as one name holding another separator (``time;load``): the file was split on the wrong character."""
    if len(frame.columns) != 1:
        return ""
    name = str(frame.columns[0])
    for separator, uses in _SEPARATORS.items():
        if sum(bool(part.strip()) for part in name.split(separator)) >= 2:
            return f"; the file seems to use {uses}"
    return ""


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


def _numeric(column: pd.Series, col: str, source: str, hint: str = "") -> np.ndarray:
    if pd.api.types.is_bool_dtype(column):
        raise DataError(f"{source}: column {col!r} holds true/false values, not numbers")
    # pd.to_numeric turns times and durations into nanosecond counts and drops an imaginary part.
    kinds = {"M": "timestamps, not numbers", "m": "durations, not numbers", "c": "complex numbers, not real ones"}
    kind = kinds.get(getattr(column.dtype, "kind", ""))
    if kind is not None or isinstance(column.dtype, pd.PeriodDtype):
        raise DataError(f"{source}: column {col!r} holds {kind or 'periods, not numbers'}")
    converted = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero(converted.isna().to_numpy() & column.notna().to_numpy())
    if len(bad):
        example = column.iloc[bad[0]]
        raise DataError(f"{source}: column {col!r}, {format_rows(bad)}: not a number (e.g. {example!r}){hint}")
    numbers = converted.to_numpy(dtype=np.float64, na_value=np.nan)
    huge = np.flatnonzero(np.isfinite(numbers) & (np.abs(numbers) > _FLOAT32_MAX))
    if len(huge):
        raise DataError(
            f"{source}: column {col!r}, {format_rows(huge)}: value too large for 32-bit floats "
            f"(e.g. {numbers[huge[0]]:g}); rescale the column"
        )
    return numbers


def _timestamps(column: pd.Series, col: str, source: str) -> pd.DatetimeIndex:
    index = _parsed_times(column, col, source)
    duplicated = np.flatnonzero(index.duplicated(keep=False))
    if len(duplicated):
        raise DataError(
            f"{source}: column {col!r}, {format_rows(duplicated)}: duplicate timestamp {index[duplicated[0]]}"
        )
    return index


def _parsed_times(column: pd.Series, col: str, source: str) -> pd.DatetimeIndex:
    parsed = _parses_as_time(column)
    if parsed is None:
        raise DataError(f"{source}: time column {col!r} holds numbers, not timestamps")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        example = column.iloc[bad[0]]
        raise DataError(f"{source}: column {col!r}, {format_rows(bad)}: not a timestamp (e.g. {example!r})")
    return pd.DatetimeIndex(parsed)


def _sorted(values: np.ndarray, index: pd.DatetimeIndex, source: str) -> tuple[np.ndarray, pd.DatetimeIndex]:
    if index.is_monotonic_increasing:
        return values, index
    warnings.warn(f"{source}: timestamps were not in order; sorted them", DataWarning, stacklevel=3)
    order = np.argsort(index.asi8, kind="stable")
    return values[order], index[order]


def _reject_missing(values: np.ndarray, columns: tuple[str, ...], source: str, repair: str = TRAIN_REPAIR) -> None:
    missing = ~np.isfinite(values)  # [n, n_columns]
    if not missing.any():
        return
    col = int(np.flatnonzero(missing.any(axis=0))[0])
    rows = np.flatnonzero(missing[:, col])
    kind = "infinite value" if np.isinf(values[rows[0], col]) else "missing value"
    raise DataError(f"{source}: column {columns[col]!r}, {format_rows(rows)}: {kind}; {repair}")


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


# -- many series: a panel ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    """Many series in one array, one block of rows each: series ``k`` (named ``ids[k]``) is rows
    ``offsets[k]:offsets[k + 1]`` of ``values``, in time order. Series are in the order of their ids
    (as text), so the order of the table's rows changes nothing; ``input_order`` lists them in the
    order their ids first appear in the table, for output. One series is a panel of one."""

    ids: tuple[str, ...]  # [S], as text, sorted
    offsets: np.ndarray  # [S + 1] int64, from 0 to the number of rows
    values: np.ndarray  # [rows, 1 + n_features] float32: column 0 the target
    columns: tuple[str, ...]  # target first, then features
    index: pd.DatetimeIndex | None  # [rows]: each row's time; None without a time column
    time_col: str | None
    frequency: str | None  # the step every series shares, as a pandas offset alias
    id_col: str
    source: str
    input_order: np.ndarray  # [S]: series numbers in the order their ids first appear in the table

    @property
    def lengths(self) -> np.ndarray:
        """Rows per series, ``[S]``."""
        return np.diff(self.offsets)

    def series(self, k: int) -> Series:
        """Series ``k`` alone."""
        rows = slice(int(self.offsets[k]), int(self.offsets[k + 1]))
        index = self.index[rows] if self.index is not None else None
        source = f"{self.source} ({self.id_col} {self.ids[k]!r})"
        return Series(self.values[rows], self.columns, index, self.time_col, self.frequency, source)

    def select(self, keep: np.ndarray) -> Panel:
        """The series flagged in ``keep`` (``[S]`` bool) alone, in the same orders."""
        renumber = np.cumsum(keep) - 1  # [S]: a kept series' new number
        return dataclasses.replace(
            self._rows(self.offsets[:-1][keep], self.lengths[keep]),
            ids=tuple(name for name, kept in zip(self.ids, keep, strict=True) if kept),
            input_order=renumber[self.input_order[keep[self.input_order]]],
        )

    def heads(self, rows: np.ndarray) -> Panel:
        """Every series cut to its first ``rows[k]`` rows (what a backtest fold may train on)."""
        return self._rows(self.offsets[:-1], np.minimum(rows, self.lengths))

    def _rows(self, starts: np.ndarray, lengths: np.ndarray) -> Panel:
        """``lengths[j]`` rows from ``starts[j]`` for each series ``j`` kept, as a panel."""
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        rows = np.arange(offsets[-1]) + np.repeat(starts - offsets[:-1], lengths)  # each kept row's old row
        index = self.index[rows] if self.index is not None else None
        return dataclasses.replace(self, offsets=offsets, values=self.values[rows], index=index)


def leave_out_short(
    panel: Panel, short: np.ndarray, why: str, strict: bool = False, *, may_empty: bool = False
) -> Panel:
    """``panel`` without the series flagged in ``short`` (``[S]`` bool), left out with one warning that
    counts them and names the first few; with ``strict`` (or when every series is short, unless
    ``may_empty``: a shard, part of a table) a DataError naming them instead. ``why`` says what they
    are too short for, e.g. "to forecast (lookback 48)"."""
    count = int(short.sum())
    if not count:
        return panel
    names = format_ids([panel.ids[k] for k in np.flatnonzero(short)], limit=3)
    what = f"{count:,} of {len(panel.ids):,} series"
    if count == len(panel.ids) and not may_empty:
        raise DataError(
            f"{panel.source}: every series is too short {why}; the longest has {int(panel.lengths.max())} rows"
        )
    if strict:
        raise DataError(f"{panel.source}: {what} too short {why} ({panel.id_col} {names}); --strict refuses them")
    warnings.warn(
        f"{panel.source}: left out {what} too short {why} ({panel.id_col} {names})", DataWarning, stacklevel=3
    )
    return panel.select(~short)


def validate_panel(
    frame: pd.DataFrame, config: DataConfig, id_col: str, source: str | None = None, *, repair: str = TRAIN_REPAIR
) -> Panel:
    """Check and convert a long table (an id column, time, target, features) into a ``Panel``.

    Every check of ``validate_frame`` applies, with rows named in file order; besides, an id column
    that does not exist, a missing id, the same (id, time) twice and series whose steps differ are
    errors. Gaps are repaired within each series only (``fill``), never across two.
    """
    _require_frame(frame)
    source = source or frame.attrs.get("source", "<frame>")
    _require_columns(frame, source)
    frame = _with_time_column(frame, config)
    _require_column(frame, id_col, source, "id")
    _require_unique(frame, (id_col,), source)
    ids = _ids(frame[id_col], id_col, source)
    rest = frame.drop(columns=[id_col])
    time_col, columns, values = _columns(rest, config, source)
    codes, names = pd.factorize(ids, sort=True)  # [n]: each row's series, numbered in the order of the ids
    first_rows = np.full(len(names), len(codes))
    np.minimum.at(first_rows, codes, np.arange(len(codes)))
    index = _parsed_times(rest[time_col], time_col, source) if time_col else None
    if config.fill == "none":
        _reject_missing(values, columns, source, repair)  # before sorting, so rows are named in file order
    order = _panel_order(codes, index, id_col, names, source)
    values, codes = values[order], codes[order]
    index = index[order] if index is not None else None
    offsets = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(names)))]).astype(np.int64)
    values, index, offsets = _repair_panel(values, index, offsets, columns, config.fill, source, (id_col, names))
    frequency = _panel_frequency(index, offsets, names, id_col, source) if index is not None else None
    return Panel(
        tuple(str(name) for name in names),
        offsets,
        values.astype(np.float32),
        columns,
        index,
        time_col,
        frequency,
        id_col,
        source,
        np.argsort(first_rows, kind="stable"),
    )


def _ids(column: pd.Series, col: str, source: str) -> np.ndarray:
    """The ids as text; a missing (or blank) id is an error naming its rows."""
    text = column.astype("string")
    missing = np.flatnonzero((column.isna() | (text.str.strip() == "")).to_numpy(dtype=bool, na_value=True))
    if len(missing):
        raise DataError(f"{source}: column {col!r}, {format_rows(missing)}: missing id")
    return text.to_numpy(dtype=object)


def _panel_order(
    codes: np.ndarray, index: pd.DatetimeIndex | None, id_col: str, names: pd.Index, source: str
) -> np.ndarray:
    """Rows grouped by series (in the order of their ids), each series in time order (file order
    without times). The same time twice within a series is an error naming the id and the rows."""
    if index is None:
        return np.argsort(codes, kind="stable")
    times = index.asi8
    order = np.lexsort((times, codes))  # by series, then time; stable, so ties keep file order
    same = np.flatnonzero((codes[order][1:] == codes[order][:-1]) & (times[order][1:] == times[order][:-1]))
    if len(same):
        first = same[0]
        rows = np.sort(order[[first, first + 1]])
        raise DataError(
            f"{source}: {id_col} {names[codes[order][first]]!r}, {format_rows(rows)}: duplicate timestamp "
            f"{index[order[first]]}"
        )
    within = np.argsort(codes, kind="stable")
    if not np.array_equal(order, within):
        warnings.warn(f"{source}: timestamps were not in order within each id; sorted them", DataWarning, stacklevel=3)
    return order


def _repair_panel(
    values: np.ndarray,
    index: pd.DatetimeIndex | None,
    offsets: np.ndarray,
    columns: tuple[str, ...],
    fill: str,
    source: str,
    named: tuple[str, pd.Index],
) -> tuple[np.ndarray, pd.DatetimeIndex | None, np.ndarray]:
    """``fill`` within each series: gaps are never filled from another series. ``named`` is the id
    column and the series' ids, to name the series a column has no value in."""
    missing = ~np.isfinite(values)  # [n, F]
    if not missing.any():
        return values, index, offsets
    count = int(missing.any(axis=1).sum())
    if fill == "drop":
        keep = ~missing.any(axis=1)
        series = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
        kept = np.bincount(series[keep], minlength=len(offsets) - 1)
        offsets = np.concatenate([[0], np.cumsum(kept)]).astype(np.int64)
        warnings.warn(f"{source}: dropped {count} rows with missing values", DataWarning, stacklevel=3)
        return values[keep], index[keep] if index is not None else None, offsets
    x = (
        index.asi8.astype(np.float64)
        if index is not None and fill == "interpolate"
        else np.arange(len(values), dtype=np.float64)
    )
    filled = np.column_stack([_fill_column(values[:, j], x, offsets, fill) for j in range(values.shape[1])])
    empty = ~np.isfinite(filled)
    if empty.any():
        col = int(np.flatnonzero(empty.any(axis=0))[0])
        id_col, names = named
        series = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))  # [n] each row's series
        hit = np.unique(series[empty[:, col]])
        listed = format_ids([str(names[k]) for k in hit], limit=3)
        raise DataError(
            f"{source}: column {columns[col]!r} has no values at all in {len(hit):,} of {len(names):,} series "
            f"({id_col} {listed})"
        )
    warnings.warn(f"{source}: filled {count} rows with missing values ({fill})", DataWarning, stacklevel=3)
    return filled, index, offsets


def _fill_column(values: np.ndarray, x: np.ndarray, offsets: np.ndarray, fill: str) -> np.ndarray:
    """One column's gaps filled within each series: linearly in ``x`` between the values on either
    side (``interpolate``) or with the last value before (``ffill``); gaps at a series' start or end
    take its nearest value, as pandas' ``limit_direction="both"`` and ``bfill`` do."""
    n = len(values)
    rows = np.arange(n)
    valid = np.isfinite(values)
    series = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))  # [n]
    start, stop = offsets[series], offsets[series + 1]  # [n] each row's series' first row and end
    before = np.maximum.accumulate(np.where(valid, rows, -1))  # the last valid row at or before, anywhere
    after = np.minimum.accumulate(np.where(valid, rows, n)[::-1])[::-1]  # the first at or after
    has_before, has_after = before >= start, after < stop  # only rows of the same series count
    out = values.copy()
    gap = ~valid
    both = gap & has_before & has_after
    if fill == "interpolate":
        lo, hi = before[both], after[both]
        weight = (x[both] - x[lo]) / (x[hi] - x[lo])
        out[both] = values[lo] + weight * (values[hi] - values[lo])
    else:
        out[both] = values[before[both]]
    only_after = gap & ~has_before & has_after
    out[only_after] = values[after[only_after]]
    only_before = gap & has_before & ~has_after
    out[only_before] = values[before[only_before]]
    return out


def _panel_frequency(
    index: pd.DatetimeIndex, offsets: np.ndarray, names: pd.Index, id_col: str, source: str
) -> str | None:
    """The step every series shares: inferred on the longest series, then checked on all. Series
    stepping otherwise are an error naming them; gaps within a series warn, as for one series."""
    lengths = np.diff(offsets)
    longest = int(np.argmax(lengths))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # its gaps are counted with the others' below
        frequency = infer_frequency(index[offsets[longest] : offsets[longest + 1]], source)
    if frequency is None:
        return None
    offset = pd.tseries.frequencies.to_offset(frequency)
    series = np.repeat(np.arange(len(lengths)), lengths)
    inside = series[1:] == series[:-1]  # [n - 1]: consecutive rows of the same series
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)  # calendar offsets add row by row
        expected = index[:-1] + offset
    off_step = inside & (index[1:] != expected)  # a gap, or another step
    if not off_step.any():
        return frequency
    # A series whose steps mostly differ has another frequency; a few gaps are gaps.
    share = np.bincount(series[1:][off_step], minlength=len(lengths)) / np.maximum(lengths - 1, 1)
    other = np.flatnonzero(share > 0.5)
    if len(other):
        listed = format_ids([str(names[k]) for k in other], limit=3)
        raise DataError(
            f"{source}: {id_col} {listed}: rows step otherwise than {frequency!r} (the step of the others); "
            "every series of one table must share its frequency"
        )
    warnings.warn(
        f"{source}: irregular spacing: {int(off_step.sum())} gaps within series differ from the step {frequency!r}",
        DataWarning,
        stacklevel=3,
    )
    return frequency
