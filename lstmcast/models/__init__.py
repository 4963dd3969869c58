"""Forecasting networks. Every model maps ``x [batch, lookback, n_inputs]`` to ``[batch, horizon]``,
so the training loop, the artifact and the forecaster never need to know which one they hold."""

from __future__ import annotations

import dataclasses

import torch

from lstmcast.config import AUTO, ModelConfig, auto_segment
from lstmcast.errors import ConfigError
from lstmcast.models.ensemble import Ensemble
from lstmcast.models.heads import Attention, ConvFrontEnd, SegmentEmbedding
from lstmcast.models.recurrent import RecurrentForecaster
from lstmcast.models.window_norm import NormalisedForecaster, WindowNorm

ForecastNetwork = RecurrentForecaster | NormalisedForecaster | Ensemble


def build_model(config: ModelConfig, n_inputs: int, lookback: int, horizon: int) -> ForecastNetwork:
    """The network ``config`` describes, sized for the data, with window normalisation and the linear
    path when they are on. With both off it is the bare core network (the plain recipe). With
    ``ensemble`` K above 1 it is K such networks, each with its own random start, averaged.

    ``segment="auto"`` is resolved here without a season (``auto_segment(lookback, 0)``); a Forecaster
    resolves it with the data's season before building.

    Every model also has ``explain(x)``, returning the forecast and the attention weights (or None)."""
    if config.window_norm == AUTO:
        raise ConfigError("window_norm auto is chosen on the validation part when a Forecaster trains; name one")
    if config.segment == AUTO:
        config = dataclasses.replace(config, segment=auto_segment(lookback, 0))
    if config.ensemble > 1:
        return Ensemble([_network(config, n_inputs, lookback, horizon) for _ in range(config.ensemble)])
    return _network(config, n_inputs, lookback, horizon)


def _network(
    config: ModelConfig, n_inputs: int, lookback: int, horizon: int
) -> RecurrentForecaster | NormalisedForecaster:
    core = RecurrentForecaster(n_inputs, horizon, config)
    if config.window_norm == "none" and not config.linear:
        return core
    return NormalisedForecaster(core, config.window_norm, n_inputs, lookback, horizon, config.linear)


__all__ = [
    "Attention",
    "ConvFrontEnd",
    "Ensemble",
    "ForecastNetwork",
    "build_model",
    "members",
    "quantile_offsets",
    "NormalisedForecaster",
    "RecurrentForecaster",
    "SegmentEmbedding",
    "WindowNorm",
]


def members(model: ForecastNetwork) -> list[RecurrentForecaster | NormalisedForecaster]:
    """The networks a model averages: an ensemble's members, or the model itself."""
    return list(model.members) if isinstance(model, Ensemble) else [model]  # type: ignore[arg-type]


def quantile_offsets(model: ForecastNetwork, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``x [B, L, F]`` -> the forecast ``[B, H]``, the quantile head's offsets ``[B, H, Q]`` (the members'
    mean: every member's quantile is its forecast plus its offset times the same spread, so the mean
    of their quantiles is this) and each window's spread ``[B, 1]`` (lstmcast.quantiles)."""
    points, offsets = [], []
    for member in members(model):
        head = member.quantile_head
        assert head is not None, "a model built without quantiles"
        summary, point = member.quantile_features(x)  # [B, W], [B, H]
        points.append(point)
        offsets.append(head(summary).reshape(len(x), point.shape[1], -1))  # [B, H, Q]
    return torch.stack(points).mean(dim=0), torch.stack(offsets).mean(dim=0), model.spread(x)
