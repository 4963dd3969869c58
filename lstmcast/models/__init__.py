"""Forecasting networks. Every model maps ``x [batch, lookback, n_inputs]`` to ``[batch, horizon]``,
so the training loop, the artifact and the forecaster never need to know which one they hold."""

from __future__ import annotations

from torch import nn

from lstmcast.config import ModelConfig
from lstmcast.models.recurrent import RecurrentForecaster


def build_model(config: ModelConfig, n_inputs: int, horizon: int) -> nn.Module:
    """The network named by ``config.model``, sized for the data."""
    builders = {
        "lstm": lambda: RecurrentForecaster(n_inputs, horizon, config.hidden, config.layers, config.dropout, "lstm"),
    }
    return builders[config.model]()


__all__ = ["build_model", "RecurrentForecaster"]
