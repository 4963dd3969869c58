"""Read a table from CSV or Parquet, by file suffix or an explicit format; "-" is standard input."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import IO

import pandas as pd

from lstmcast.errors import DataError

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


def read_table(source: str | Path, format: str | None = None, stdin: IO[bytes] | None = None) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet file (or "-" for standard input) into a DataFrame.

    The frame's ``attrs["source"]`` names where it came from, for error messages downstream.
    """
    name = source_name(source)
    handle: str | IO[bytes]
    if str(source) == "-":
        handle = io.BytesIO((stdin or sys.stdin.buffer).read())
    else:
        path = Path(source)
        if not path.exists():
            raise DataError(f"{name}: no such file")
        if path.is_dir():
            raise DataError(f"{name}: is a directory, not a data file")
        handle = str(path)
    fmt = infer_format(source, format)
    frame = _read(handle, fmt, name)
    if frame.shape[1] == 0 or len(frame) == 0:
        raise DataError(f"{name}: the file has no data rows")
    frame.attrs["source"] = name
    return frame


def _read(handle: str | IO[bytes], fmt: str, name: str) -> pd.DataFrame:
    try:
        if fmt == "parquet":
            return pd.read_parquet(handle)
        return pd.read_csv(handle, sep="\t" if fmt == "tsv" else ",", skipinitialspace=True)
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
    ) as exc:  # pyarrow raises ArrowInvalid (a ValueError) for a bad Parquet file
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{name}: not a readable {fmt.upper()} file ({detail})") from None
