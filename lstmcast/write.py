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
# A table's ``attrs`` key: the frequency its times step by (a forecast's, an input window's). pandas
# writes a CSV column of times whose values are all midnight as bare dates, which for a step shorter
# than a day (an hourly forecast of one step at 00:00) drops the time of day a parser needs.
TIME_STEP = "time_step"
_DAY_NS = 86_400 * 10**9
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
        return (_json_records(frame) + "\n").encode()
    return _with_time_of_day(frame).to_csv(index=False, lineterminator="\n").encode()


def _json_records(frame: pd.DataFrame) -> str:
    """``frame`` as a JSON list of records, laid out as pandas' ``to_json(orient="records", indent=2)``
    with ISO times, but with every float in full, as the CSV has it: pandas rounds floats to 10
    decimal places (``double_precision``, 15 at most, still short of a round trip), so a trials table's
    ``val_mse`` or a forecast lost digits. Not-a-number and infinities are ``null``, as pandas has them."""
    import numpy as np

    records = json.loads(frame.to_json(orient="records", date_format="iso"))  # times, ints, text, nulls
    for name, column in frame.items():
        key = str(name)
        for record, value in zip(records, column.to_numpy(), strict=True):
            if isinstance(value, float | np.floating) and np.isfinite(value):
                # A float32's shortest text (56.17, as the CSV writes it), not its float64 digits.
                record[key] = float(str(value)) if isinstance(value, np.float32 | np.float16) else float(value)
    return json.dumps(records, indent=2, separators=(",", ":"))


def _with_time_of_day(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its columns of times written in full (``2024-01-02 00:00:00``) when its
    ``attrs[TIME_STEP]`` is shorter than a day or not a whole number of days, so that its times of
    day vary and a reader needs them; else as it is (a daily or coarser step keeps pandas' dates
    alone when every time is midnight). Only columns of all-midnight times change: pandas writes
    every other one in full already, and a midnight has no fraction of a second to lose."""
    if not _within_days(frame.attrs.get(TIME_STEP)):
        return frame
    import pandas as pd

    bare = [
        name
        for name, column in frame.items()
        if pd.api.types.is_datetime64_any_dtype(column.dtype)
        and column.notna().all()
        and (column.dt.normalize() == column).all()
    ]
    if not bare:
        return frame
    return frame.assign(**{name: frame[name].map(lambda time: time.isoformat(sep=" ")) for name in bare})


def _within_days(frequency: object) -> bool:
    """Whether ``frequency`` is a fixed step that is not a whole number of days ('h', '15min', '36h')."""
    if not isinstance(frequency, str):
        return False
    import pandas as pd

    try:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(frequency))
    except (ValueError, TypeError):  # a calendar step (weeks, months, business days): whole days or more
        return False
    return step.value % _DAY_NS != 0


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
