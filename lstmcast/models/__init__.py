"""Forecasting networks. Every model maps ``x [batch, lookback, n_inputs]`` to ``[batch, horizon]``,
so the training loop, the artifact and the forecaster never need to know which one they hold."""

from __future__ import annotations

from torch import nn

from lstmcast.config import ModelConfig
from lstmcast.models.recurrent import RecurrentForecaster
from lstmcast.models.window_norm import NormalisedForecaster, WindowNorm


def build_model(config: ModelConfig, n_inputs: int, lookback: int, horizon: int) -> nn.Module:
    """The network named by ``config.model``, sized for the data, with window normalisation and the
    linear path when they are on. With both off it is the bare core network (the plain recipe)."""
    builders = {
        "lstm": lambda: RecurrentForecaster(n_inputs, horizon, config.hidden, config.layers, config.dropout, "lstm"),
    }
    core = builders[config.model]()
    if config.window_norm == "none" and not config.linear:
        return core
    return NormalisedForecaster(core, config.window_norm, n_inputs, lookback, horizon, config.linear)


__all__ = ["build_model", "NormalisedForecaster", "RecurrentForecaster", "WindowNorm"]
