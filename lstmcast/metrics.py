"""Forecast metrics in plain numpy. Arrays are ``[n_origins, horizon]`` in original units."""

from __future__ import annotations

from typing import Any

import numpy as np

EVENTS = ("above", "below")


def point_metrics(actual: np.ndarray, forecast: np.ndarray, target_scale: float) -> dict[str, float]:
    """MSE, RMSE, MAE in original units, and MSE/MAE on the training scaler's scale."""
    error = np.asarray(forecast, dtype=np.float64) - np.asarray(actual, dtype=np.float64)
    mse = float(np.mean(error**2))
    mae = float(np.mean(np.abs(error)))
    return {
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": mae,
        "mse_scaled": mse / target_scale**2,
        "mae_scaled": mae / abs(target_scale),
    }


def skill(model_mse: float, baseline_mse: float) -> float | None:
    """1 - MSE_model / MSE_baseline: above 0 the model beats the baseline; None if the baseline is perfect."""
    return None if baseline_mse == 0 else 1.0 - model_mse / baseline_mse


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def threshold_metrics(
    actual: np.ndarray, forecast: np.ndarray, threshold: float, event: str = "above"
) -> dict[str, Any]:
    """Pointwise threshold events over every (origin, step) pair.

    An event is "the value is above (or below) ``threshold``", strictly. Precision is None when no
    event was forecast, recall when none happened, F1 when either is None or both are zero.
    """
    if event not in EVENTS:
        raise ValueError(f"event must be one of {EVENTS}; got {event!r}")
    compare = np.greater if event == "above" else np.less
    happened = compare(actual, threshold)
    warned = compare(forecast, threshold)
    tp = int(np.sum(happened & warned))
    fp = int(np.sum(~happened & warned))
    fn = int(np.sum(happened & ~warned))
    tn = int(np.sum(~happened & ~warned))
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = None
    if precision is not None and recall is not None and precision + recall > 0:
        f1 = 2 * precision * recall / (precision + recall)
    return {
        "threshold": float(threshold),
        "event": event,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }
