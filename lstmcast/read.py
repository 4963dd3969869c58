"""Read a table from CSV or Parquet, by file suffix or an explicit format; "-" is standard input."""

from __future__ import annotations

import io
import lzma
import re
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Literal

import pandas as pd
from pandas.errors import ParserWarning

from lstmcast.errors import DataError
from lstmcast.tail import RECENT_ROWS, csv_tail, read_stdin, sample_lines

READ_FORMATS = ("csv", "tsv", "parquet")
_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
_COMPRESSION = (".gz", ".bz2", ".xz", ".zip")  # what pandas reads without extra packages


def source_name(source: str | Path) -> str:
    """How a source is named in messages."""
    return "<stdin>" if str(source) == "-" else str(source)


def infer_format(source: str | Path, format: str | None = None) -> str:
    """The table format: the explicit one, else from the suffix; stdin defaults to CSV."""
    if format is not None:
        if format not in READ_FORMATS:
            raise DataError(f"unknown input format {format!r}; use one of {', '.join(READ_FORMATS)}")
        return format
    if str(source) == "-":
        return "csv"
    suffixes = [s.lower() for s in Path(source).suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _SUFFIXES:
        return _SUFFIXES[suffixes[-1]]
    raise DataError(
        f"{source_name(source)}: cannot tell the format from the file name; "
        f"pass --input-format {'|'.join(READ_FORMATS)}"
    )


def read_table(
    source: str | Path,
    format: str | None = None,
    stdin: IO[bytes] | None = None,
    *,
    last_rows: int | None = None,
    text: str | None = None,
) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet file (or "-" for standard input) into a DataFrame.

    ``text`` names a column read as text exactly as written (an id column: "007" stays "007", not 7).

    With ``last_rows``, only the header and the last ``last_rows`` lines of a CSV/TSV (the last row
    groups of a Parquet file) are parsed, when that is safe: see ``_csv_tail``. ``attrs["whole"]``
    then says whether the frame is the whole table. ``attrs["source"]`` names where it came from,
    for error messages downstream.
    """
    name = source_name(source)
    handle: str | IO[bytes]
    whole = True
    if str(source) == "-":
        fmt = infer_format(source, format)
        data = read_stdin(stdin)
        tail = csv_tail(io.BytesIO(data), last_rows) if last_rows is not None and fmt != "parquet" else None
        whole = tail is None
        handle = io.BytesIO(data if tail is None else tail)
    else:
        path = Path(source)
        if not path.exists():
            raise DataError(f"{name}: no such file")
        if path.is_dir():
            raise DataError(f"{name}: is a directory, not a data file")
        handle = str(path)
        fmt = infer_format(source, format)
        if last_rows is not None:
            handle, whole = _recent_part(path, fmt, last_rows, name)
    frame = _read(handle, fmt, name, text)
    if frame.shape[1] == 0 or len(frame) == 0:
        raise DataError(f"{name}: the file has no data rows")
    _reject_duplicate_names(frame, handle, fmt, name)
    frame.attrs["source"] = name
    frame.attrs["whole"] = whole
    return frame


def read_recent(
    source: str | Path,
    rows: int,
    format: str | None = None,
    stdin: IO[bytes] | None = None,
    *,
    complete: Sequence[str] = (),
    time_col: str | None = None,
) -> tuple[pd.DataFrame, Callable[[], pd.DataFrame]]:
    """The recent end of a table, for a forecast from its last ``rows`` rows, and a function that reads
    the whole table (to report a problem with the row numbers of the file, or when the end was not enough).

    Parses no more than it must: the last rows, growing fourfold until at least ``rows`` of them have
    every ``complete`` column filled, the first of them too (filling a gap looks back to the value
    before it), and the ``time_col`` values are in order (else the last rows need not be the latest).
    A table that is not longer, is compressed, or has a quoted line break is read whole.
    """
    data = read_stdin(stdin) if str(source) == "-" else None

    def read(last_rows: int | None) -> pd.DataFrame:
        return read_table(source, format, io.BytesIO(data) if data is not None else None, last_rows=last_rows)

    asked = rows = max(rows, RECENT_ROWS)
    try:
        frame = read(asked)
        while not (frame.attrs["whole"] or _recent_enough(frame, rows, complete, time_col)):
            asked *= 4
            frame = read(asked)
    except DataError:  # the parser's line numbers count from the cut, not the file: the whole read names the line
        frame = read(None)
    if (
        not frame.attrs["whole"]
        and time_col is not None
        and not _latest_at_the_end(source, format, data, frame, time_col)
    ):
        frame = read(None)  # later rows higher up the file: sorting the whole table finds the latest
    recent = frame
    return recent, lambda: recent if recent.attrs["whole"] else read(None)


def _latest_at_the_end(
    source: str | Path, format: str | None, data: bytes | None, tail: pd.DataFrame, time_col: str
) -> bool:
    """Whether no row elsewhere in the table is later than the last of its end: for Parquet from the
    time column itself (cheap, it is stored apart), for CSV from lines sampled across the file."""
    fmt = infer_format(source, format)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            times = pq.read_table(str(source), columns=[time_col]).column(0).to_pandas()
        else:
            if data is not None:
                sample = sample_lines(io.BytesIO(data))
            else:
                with open(source, "rb") as stream:
                    sample = sample_lines(stream)
            if sample is None:
                return False
            times = _read(io.BytesIO(sample), fmt, source_name(source))[time_col]
    except (DataError, OSError, KeyError, ValueError):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        elsewhere = pd.to_datetime(times, errors="coerce", utc=True)
        last = pd.to_datetime(tail[time_col], errors="coerce", utc=True).max()
    return bool(elsewhere.notna().all() and (elsewhere <= last).all())


def _recent_enough(frame: pd.DataFrame, rows: int, complete: Sequence[str], time_col: str | None) -> bool:
    columns = [column for column in complete if column in frame.columns]
    filled = frame[columns].notna().all(axis=1).to_numpy()
    if len(filled) and (not filled[0] or filled.sum() < rows):
        return False
    if time_col is None or time_col not in frame.columns:
        return True
    with warnings.catch_warnings():  # a format pandas has to guess: validation decides what the times are
        warnings.simplefilter("ignore")
        times = pd.to_datetime(frame[time_col], errors="coerce", utc=True)
    return bool(times.notna().all() and times.is_monotonic_increasing)


def _recent_part(path: Path, fmt: str, rows: int, name: str) -> tuple[str | IO[bytes], bool]:
    """What to parse of a file for its last ``rows`` rows, and whether that is the whole file."""
    compressed = path.suffix.lower() in _COMPRESSION
    if fmt == "parquet":
        part = _parquet_tail(path, rows)
        return (str(path), True) if part is None else (part, False)
    if compressed:
        return str(path), True
    try:
        with open(path, "rb") as stream:
            tail = csv_tail(stream, rows)
    except OSError:
        return str(path), True  # the whole read names the problem
    return (str(path), True) if tail is None else (io.BytesIO(tail), False)


def _parquet_tail(path: Path, rows: int) -> IO[bytes] | None:
    """The last row groups of a Parquet file holding at least ``rows`` rows, as a Parquet file in
    memory; None when that is every row group (or the footer cannot be read: the whole read says why)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        counts = [parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)]
        first, held = len(counts), 0
        while first > 0 and held < rows:
            first -= 1
            held += counts[first]
        if first == 0:
            return None
        table = parquet.read_row_groups(list(range(first, len(counts))))
        buffer = pa.BufferOutputStream()
        pq.write_table(table, buffer)
        return io.BytesIO(buffer.getvalue().to_pybytes())
    except Exception:  # noqa: BLE001 (pyarrow's many error types): read it whole, which reports the damage
        return None


def _csv_options(fmt: str) -> dict[str, object]:
    return {"sep": "\t" if fmt == "tsv" else ",", "skipinitialspace": True}


# The words pandas reads as missing by default (its documented ``na_values``), kept for every column
# but an id column, where "NA" is Namibia and "null" may be a store's name.
_MISSING_WORDS = (
    *("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>"),
    *("N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
)


def _text_options(handle: str | IO[bytes], fmt: str, text: str) -> dict[str, object]:
    """``read_csv`` options that read column ``text`` as written, only an empty cell missing, and
    every other column as pandas does by default."""
    names = _header(handle, fmt)  # _read_csv rewinds a stream before the real read
    missing = {name: list(_MISSING_WORDS) for name in names if name != text}
    return {"dtype": {text: str}, "keep_default_na": False, "na_values": {**missing, text: [""]}}


def _read(handle: str | IO[bytes], fmt: str, name: str, text: str | None = None) -> pd.DataFrame:
    try:
        if fmt == "parquet":
            _reject_repeated(_parquet_names(handle), name)  # pyarrow cannot read such a file at all
            return pd.read_parquet(handle)
        if text is None:
            return _read_csv(handle, fmt, {}, longer_rows="error")
        return _read_with_text(handle, fmt, text)
    except DataError:
        raise
    except ParserWarning:
        raise DataError(
            f"{name}: not a readable {fmt.upper()} table (rows have more fields than the header names; "
            "name every column in the header, or remove the extra fields)"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{name}: the file is empty") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise DataError(f"{name}: not a readable {fmt.upper()} table ({detail})") from None
    except UnicodeDecodeError:
        raise DataError(
            f"{name}: not UTF-8 text; decompress it if it is compressed, or convert it (e.g. iconv -f latin1 -t utf-8)"
        ) from None
    except PermissionError:
        raise DataError(f"{name}: permission denied") from None
    except (
        OSError,
        ValueError,
        ImportError,
        EOFError,  # a truncated compressed stream
        lzma.LZMAError,
        zipfile.BadZipFile,
    ) as exc:  # pyarrow raises ArrowInvalid (a ValueError) for a bad Parquet file
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{name}: not a readable {fmt.upper()} file ({detail})") from None


def _read_csv(
    handle: str | IO[bytes], fmt: str, options: dict[str, object], longer_rows: Literal["error", "ignore"]
) -> pd.DataFrame:
    """``read_csv`` with every column under its own name. Rows with more fields than the header would
    otherwise make pandas take the first column as the row index and move every value one column to
    the left, without a word; with ``index_col=False`` it drops the extra fields instead, with a
    ParserWarning that ``longer_rows="error"`` raises. An empty field after the last column (a trailing
    separator on every line) is no extra field."""
    if not isinstance(handle, str):
        handle.seek(0)
    with warnings.catch_warnings():
        warnings.filterwarnings(longer_rows, message="Length of header or names does not match", category=ParserWarning)
        return pd.read_csv(handle, index_col=False, **options, **_csv_options(fmt))  # type: ignore[call-overload]


def _read_with_text(handle: str | IO[bytes], fmt: str, text: str) -> pd.DataFrame:
    """``_read_csv`` with column ``text`` read as written (``_text_options``)."""
    options = _text_options(handle, fmt, text)
    try:
        return _read_csv(handle, fmt, options, longer_rows="error")
    except ParserWarning:
        # Read as written (keep_default_na=False), an empty field after the last column counts as one
        # more field: only a read without the text options tells a trailing separator from a value.
        _read_csv(handle, fmt, {}, longer_rows="error")
        return _read_csv(handle, fmt, options, longer_rows="ignore")


_MANGLED = re.compile(r"(.*)\.\d+")  # pandas renames a repeated header 'load' to 'load.1', 'load.2', ...


def _reject_duplicate_names(frame: pd.DataFrame, handle: str | IO[bytes], fmt: str, name: str) -> None:
    """A header that names two columns alike is an error: pandas would silently rename the second."""
    if fmt == "parquet":
        _reject_repeated([str(c) for c in frame.columns], name)
        return
    present = set(map(str, frame.columns))
    if any((m := _MANGLED.fullmatch(str(c))) and m.group(1) in present for c in frame.columns):
        _reject_repeated(_header(handle, fmt), name)  # only then read the header again, as written


def _reject_repeated(names: list[str], name: str) -> None:
    positions: dict[str, list[int]] = {}
    for number, column in enumerate(names, start=1):
        positions.setdefault(column, []).append(number)
    repeated = {column: numbers for column, numbers in positions.items() if len(numbers) > 1}
    if not repeated:
        return
    column, numbers = next(iter(repeated.items()))
    where = ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"
    others = len(repeated) - 1
    more = f"; {others} other name{'s' if others > 1 else ''} repeat too" if others else ""
    raise DataError(f"{name}: column name {column!r} appears {len(numbers)} times (columns {where}){more}; rename them")


def _header(handle: str | IO[bytes], fmt: str) -> list[str]:
    """The header row as written (quoting and compression handled as in the real read; a name such
    as ``NA`` or ``null`` is that name, as pandas keeps it, not a missing one)."""
    if not isinstance(handle, str):
        handle.seek(0)
    row = pd.read_csv(handle, header=None, nrows=1, dtype=str, na_filter=False, **_csv_options(fmt))  # type: ignore[call-overload]
    return ["" if pd.isna(value) else str(value) for value in row.iloc[0]]


def _parquet_names(handle: str | IO[bytes]) -> list[str]:
    """The column names in a Parquet file's schema (its footer only); [] without pyarrow."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return []  # another engine reads the file; the frame's columns are checked afterwards
    names = list(pq.read_schema(handle).names)
    if not isinstance(handle, str):
        handle.seek(0)
    return names
