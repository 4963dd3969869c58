"""The console script's first code: what must happen before lstmcast.cli (click, rich, pandas) is
imported, so it holds no import of its own beyond the standard library."""

from __future__ import annotations

import os
import sys

INTERRUPTED = 130  # console.ExitCode.INTERRUPTED, which this module must not import (rich)
_NULL_MODES = {0: os.O_RDONLY, 1: os.O_WRONLY, 2: os.O_WRONLY}


def hold_standard_descriptors() -> None:
    """Open /dev/null on any of descriptors 0, 1 and 2 that the caller closed (``2>&-``, a daemon).
    Otherwise the first file lstmcast opens (an output's lock or staging file) takes the lowest free
    number, and anything writing to "stderr" below Python (a native library's warning) writes into
    it. Python's ``sys.stdout``/``sys.stderr`` stay as they are (None), so data sent to a closed
    stdout still fails as before instead of vanishing into /dev/null."""
    for fd, mode in _NULL_MODES.items():  # in order: each lower one is open by then, so open() takes fd
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, mode)


def main() -> None:
    """``lstmcast``: the CLI, with Ctrl-C during its imports an exit 130 and no traceback."""
    hold_standard_descriptors()
    try:
        from lstmcast.cli import main as run
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED)
    run()
