"""Write tables and JSON: "-" is standard output; files are written to a temporary sibling and
renamed into place, so a failed or interrupted run never leaves a half-written file."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from lstmcast.errors import OutputError

WRITE_FORMATS = ("csv", "parquet", "json")
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json"}


def output_format(dest: str | Path, format: str | None = None) -> str:
    """The explicit format, else the one the suffix names; standard output defaults to CSV."""
    if str(dest) != "-":
        check_writable(Path(dest))
    if format is not None:
        if format not in WRITE_FORMATS:
            raise OutputError(f"unknown output format {format!r}; use one of {', '.join(WRITE_FORMATS)}")
        return format
    if str(dest) == "-":
        return "csv"
    suffix = Path(dest).suffix.lower()
    if suffix not in _SUFFIXES:
        raise OutputError(f"{dest}: cannot tell the output format from the name; pass --format csv|parquet|json")
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


def write_table(
    frame: pd.DataFrame, dest: str | Path, format: str | None = None, stdout: IO[bytes] | None = None
) -> None:
    """Write ``frame`` as CSV, Parquet or JSON records to a file (atomically) or "-" (stdout)."""
    write_bytes(table_bytes(frame, output_format(dest, format)), dest, stdout)


def write_json(data: Any, dest: str | Path, stdout: IO[bytes] | None = None) -> None:
    write_bytes((json.dumps(data, indent=2, allow_nan=False) + "\n").encode(), dest, stdout)


def write_bytes(payload: bytes, dest: str | Path, stdout: IO[bytes] | None = None) -> None:
    if str(dest) == "-":
        out = stdout or sys.stdout.buffer
        out.write(payload)
        out.flush()
        return
    with atomic_path(Path(dest)) as tmp:
        tmp.write_bytes(payload)


def current_umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(dest: Path) -> None:
    """Fail early, before any work, when ``dest`` cannot be a file we write."""
    if dest.is_dir():
        raise OutputError(f"{dest}: is a directory; give a file name")
    if not dest.parent.exists():
        raise OutputError(f"{dest}: the folder {dest.parent} does not exist")


@contextlib.contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest`` in one rename."""
    check_writable(dest)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    except OSError as exc:
        raise OutputError(f"{dest}: cannot write here ({exc.strerror})") from None
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; a normal file honours the umask
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
