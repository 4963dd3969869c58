"""The end of a CSV and all of standard input, without pandas: what ``predict`` parses, and what its
fast path (``lstmcast.quick``) reads before anything heavy is imported."""

from __future__ import annotations

import io
import sys
from typing import IO

from lstmcast.errors import DataError

_TAIL_BLOCK = 1 << 16


def read_stdin(stdin: IO[bytes] | None) -> bytes:
    """All of standard input; a closed or unreadable stdin is a DataError, not a crash."""
    if stdin is None:
        # Python sets sys.stdin to None when file descriptor 0 is closed (`lstmcast train - <&-`).
        stream = getattr(sys.stdin, "buffer", sys.stdin)
        if stream is None:
            raise DataError("<stdin>: standard input is closed; pipe the data in or give a file")
        stdin = stream
    try:
        data = stdin.read()
    except OSError as exc:  # EBADF for a closed descriptor, EISDIR for `< /`, EIO for a lost terminal
        detail = exc.strerror or type(exc).__name__
        raise DataError(f"<stdin>: cannot read standard input ({detail}); pipe the data in or give a file") from None
    except ValueError:  # "I/O operation on closed file"
        raise DataError("<stdin>: standard input is closed; pipe the data in or give a file") from None
    return data if isinstance(data, bytes) else data.encode()


def csv_tail(stream: IO[bytes], rows: int) -> bytes | None:
    """The header line and the last ``rows`` lines of a CSV, or None when they would be the whole file
    or cannot be cut out safely: a quoted field may hold a line break, so every line cut out must have
    an even number of quote characters (a field spanning lines would leave one odd)."""
    header = stream.readline()
    start = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    position, chunk = end, b""
    while position > start and chunk.count(b"\n") <= rows + 1:  # +1: the line cut in two at the front
        step = min(_TAIL_BLOCK, position - start)
        position -= step
        stream.seek(position)
        chunk = stream.read(step) + chunk
    lines = chunk.split(b"\n")
    if position > start:
        lines = lines[1:]  # the first piece is the end of a line that began before the chunk
    if chunk.endswith(b"\n"):
        lines = lines[:-1]
    if len(lines) <= rows:
        return None  # the file is not longer than what was asked for
    lines = lines[-rows:]
    if header.count(b'"') % 2 or any(line.count(b'"') % 2 for line in lines):
        return None
    return header + b"\n".join(lines) + b"\n"


RECENT_ROWS = 32  # at least this many rows are read: enough for pandas to tell business days or months from days
SAMPLED_ROWS = 16


def sample_lines(stream: IO[bytes], count: int = SAMPLED_ROWS) -> bytes | None:
    """The header, the first data line and about ``count`` more whole lines from evenly spaced places
    of a CSV: enough to see whether the file is in time order without reading it all (a file whose
    end is in order may still hold later rows higher up: a reversed or reshuffled export). None when
    a sampled line may be part of a quoted field that spans lines (an odd number of quote characters)."""
    stream.seek(0)
    header = stream.readline()
    start = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    lines = []
    for k in range(count + 1):
        stream.seek(start + (end - start) * k // (count + 1))
        if k:
            stream.readline()  # the rest of the line the position fell in
        line = stream.readline()
        if line.strip():
            lines.append(line.rstrip(b"\r\n"))
    if header.count(b'"') % 2 or any(line.count(b'"') % 2 for line in lines):
        return None
    return header + b"\n".join(lines) + b"\n"
