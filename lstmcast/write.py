"""Write tables and JSON: "-" is standard output; files are written through ``lstmcast.outputs``,
so a failed or interrupted run never leaves a half-written file or replaces what was there."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from lstmcast.errors import OutputError
from lstmcast.outputs import STDOUT, Outputs, resolve

WRITE_FORMATS = ("csv", "parquet", "json")
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json"}


def output_format(dest: str | Path, format: str | None = None, format_option: str | None = None) -> str:
    """The explicit format, else the one the suffix names; standard output (or a device or pipe
    written through) defaults to CSV.

    The destination is checked too (before any work): a folder, a missing parent folder or a
    device that cannot take a file is refused here. ``format_option`` names the command-line
    option that sets the format, for the message when the name tells none.
    """
    streamed = str(dest) == STDOUT or resolve(dest).stream
    if format is not None:
        if format not in WRITE_FORMATS:
            raise OutputError(f"unknown output format {format!r}; use one of {', '.join(WRITE_FORMATS)}")
        return format
    if streamed:  # stdout, a device or a pipe: no name to tell a format
        return "csv"
    suffix = Path(dest).suffix.lower()
    if suffix not in _SUFFIXES:
        hint = f", or pass {format_option} csv|parquet|json" if format_option else ""
        raise OutputError(f"{dest}: cannot tell the output format from the name; name it .csv, .parquet or .json{hint}")
    return _SUFFIXES[suffix]


def table_bytes(frame: pd.DataFrame, format: str) -> bytes:
    """The whole table serialised in memory first, so nothing is written unless all of it can be."""
    if format == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()
    if format == "json":
        text = frame.to_json(orient="records", date_format="iso", indent=2)
        return (text + "\n").encode()
    return frame.to_csv(index=False, lineterminator="\n").encode()


def json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, allow_nan=False) + "\n").encode()


def write_table(frame: pd.DataFrame, dest: str | Path, format: str | None = None) -> None:
    """Write ``frame`` as CSV, Parquet or JSON records to a file (atomically) or "-" (stdout)."""
    write_bytes(table_bytes(frame, output_format(dest, format)), dest)


def write_json(data: Any, dest: str | Path) -> None:
    write_bytes(json_bytes(data), dest)


def write_bytes(payload: bytes, dest: str | Path) -> None:
    """One output, committed on its own (a command with several outputs uses ``Outputs`` directly)."""
    with Outputs() as outputs:
        outputs.file(dest).set(payload)
        outputs.commit()
