"""Forecasting from a fitted state without torch: the numpy forward pass of every network variant."""

from lstmcast.runtime.network import forecast, parameter_shapes

__all__ = ["forecast", "parameter_shapes"]
