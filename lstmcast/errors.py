"""Errors whose messages are written for the person running lstmcast.

Library code raises these; the CLI prints the message as one line on stderr and exits with the
code that ``console.exit_code_for`` assigns to the class. They also subclass the builtin a
Python caller would expect (a bad value is still a ``ValueError``).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator


class LstmcastError(Exception):
    """Base class: the message is shown to the user as it is."""


class ConfigError(LstmcastError, ValueError):
    """A setting is out of range or settings contradict each other."""


class DataError(LstmcastError, ValueError):
    """The input table cannot be used: missing, unreadable, wrong columns or bad values."""


class ArtifactError(LstmcastError):
    """A model directory is missing, corrupt, or was written by an incompatible version."""


class OutputError(LstmcastError, OSError):
    """An output cannot be written (or would overwrite something that is not ours)."""


class NotFittedError(LstmcastError, ValueError, AttributeError):
    """A Forecaster was used before ``fit`` or ``load`` (a ValueError and an AttributeError, as
    scikit-learn's own)."""


class DataWarning(UserWarning):
    """Input was usable but needed a repair the user should know about (sorted, filled, irregular)."""


@contextlib.contextmanager
def held_warnings(
    say: Callable[[warnings.WarningMessage], str | None] = lambda warning: str(warning.message),
    category: type[Warning] = Warning,
) -> Iterator[list[warnings.WarningMessage]]:
    """Hold the block's warnings of ``category`` (every one, none deduplicated) and say them again when
    it ends, also when it raises, so what led to an error still shows. ``say`` gives the text to say
    for each (None: leave it unsaid). The list is filled with every held warning when the block ends."""
    held: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", category)
            try:
                yield held
            finally:
                held.extend(caught)
    finally:  # outside catch_warnings, so the caller's filters and display apply
        for warning in held:
            text = say(warning)
            if text is not None:
                warnings.warn_explicit(text, warning.category, warning.filename, warning.lineno)


class TrainingError(LstmcastError):
    """Training could not produce a usable model (for example, the loss became NaN)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: handled like Ctrl-C (``tune`` keeps its best trial), but exits 143."""
