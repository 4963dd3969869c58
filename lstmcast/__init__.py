"""lstmcast: LSTM forecasting for time series, as a command-line tool and a Python API.

The API is imported lazily so ``import lstmcast`` (and ``lstmcast --help``) does not load torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.5.0.dev0"

__all__ = [
    "ArtifactError",
    "ConfigError",
    "DataConfig",
    "DataError",
    "DataWarning",
    "Forecaster",
    "LstmcastError",
    "ModelConfig",
    "NotFittedError",
    "OutputError",
    "Range",
    "TrainConfig",
    "TrainingError",
    "TuneResult",
    "WindowConfig",
    "read_table",
    "write_table",
    "__version__",
]

_HOMES = {
    "Forecaster": "lstmcast.forecast",
    "read_table": "lstmcast.read",
    "write_table": "lstmcast.write",
    "DataConfig": "lstmcast.config",
    "WindowConfig": "lstmcast.config",
    "ModelConfig": "lstmcast.config",
    "TrainConfig": "lstmcast.config",
    # The search function itself is lstmcast.tune.tune: a package attribute named ``tune`` would be
    # replaced by the submodule lstmcast.tune as soon as that is imported.
    "Range": "lstmcast.tune",
    "TuneResult": "lstmcast.tune",
}
_HOMES.update({name: "lstmcast.errors" for name in __all__ if name.endswith(("Error", "Warning"))})

if TYPE_CHECKING:
    from lstmcast.config import DataConfig, ModelConfig, TrainConfig, WindowConfig
    from lstmcast.errors import (
        ArtifactError,
        ConfigError,
        DataError,
        DataWarning,
        LstmcastError,
        NotFittedError,
        OutputError,
        TrainingError,
    )
    from lstmcast.forecast import Forecaster
    from lstmcast.read import read_table
    from lstmcast.tune import Range, TuneResult
    from lstmcast.write import write_table


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'lstmcast' has no attribute {name!r}")
