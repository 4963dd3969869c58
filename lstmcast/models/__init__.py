"""Forecasting networks. Every model maps ``x [batch, lookback, n_inputs]`` to ``[batch, horizon]``,
so the training loop, the artifact and the forecaster never need to know which one they hold."""

from __future__ import annotations

from lstmcast.config import ModelConfig
from lstmcast.models.heads import Attention, ConvFrontEnd, SegmentEmbedding
from lstmcast.models.recurrent import RecurrentForecaster
from lstmcast.models.window_norm import NormalisedForecaster, WindowNorm

ForecastNetwork = RecurrentForecaster | NormalisedForecaster


def build_model(config: ModelConfig, n_inputs: int, lookback: int, horizon: int) -> ForecastNetwork:
    """The network ``config`` describes, sized for the data, with window normalisation and the linear
    path when they are on. With both off it is the bare core network (the plain recipe).

    Every model also has ``explain(x)``, returning the forecast and the attention weights (or None)."""
    core = RecurrentForecaster(n_inputs, horizon, config)
    if config.window_norm == "none" and not config.linear:
        return core
    return NormalisedForecaster(core, config.window_norm, n_inputs, lookback, horizon, config.linear)


__all__ = [
    "Attention",
    "ConvFrontEnd",
    "ForecastNetwork",
    "build_model",
    "NormalisedForecaster",
    "RecurrentForecaster",
    "SegmentEmbedding",
    "WindowNorm",
]
