"""Errors whose messages are written for the person running lstmcast.

Library code raises these; the CLI prints the message as one line on stderr and exits with the
code that ``console.exit_code_for`` assigns to the class. They also subclass the builtin a
Python caller would expect (a bad value is still a ``ValueError``).
"""

from __future__ import annotations


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


class TrainingError(LstmcastError):
    """Training could not produce a usable model (for example, the loss became NaN)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: handled like Ctrl-C (``tune`` keeps its best trial), but exits 143."""
