"""Forecast metrics: point errors overall and per horizon step, and threshold events.

Arrays are ``[n_origins, horizon]`` in original units. Every value returned is a plain Python float, int or
None, never NaN or inf: results are written to JSON with ``allow_nan=False``, so a metric the data leaves
undefined (R² of constant actuals, MAPE with every actual zero, ...) is None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from lstmcast.events import comparison, f1_of, ratio

if TYPE_CHECKING:
    from types import ModuleType

# sklearn's MAPE divides by max(|actual|, EPS); the per-step numpy version does the same so the two agree.
EPS = float(np.finfo(np.float64).eps)


def _floats(array: np.ndarray) -> np.ndarray:
    return np.asarray(array, dtype=np.float64)


def _or_none(values: np.ndarray, defined: np.ndarray) -> list[float | None]:
    """Plain floats where ``defined``, None elsewhere (so no NaN placeholder ever reaches JSON)."""
    return [float(v) if ok else None for v, ok in zip(values.tolist(), defined.tolist(), strict=True)]


def _smape(actual: np.ndarray, forecast: np.ndarray, axis: int | None = None) -> np.ndarray:
    """Symmetric MAPE in percent (0..200); a perfect forecast of zero (0/0) counts as no error, not NaN."""
    total = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(np.abs(forecast - actual), total, out=np.zeros_like(total), where=total > 0)
    return 200.0 * ratio.mean(axis=axis)


def _is_constant(actual: np.ndarray, axis: int | None = None) -> np.ndarray:
    # max == min rather than var == 0: the mean of equal floats can round, leaving a tiny non-zero variance.
    return np.ptp(actual, axis=axis) == 0


def _sklearn_metrics() -> ModuleType:
    """scikit-learn's metrics, imported on first use: `predict` imports this module but scores nothing."""
    from sklearn import metrics  # type: ignore[import-untyped]

    return metrics


def _mase(mae: float, scale: float | None) -> float | None:
    return None if not scale else mae / scale


def point_metrics(
    actual: np.ndarray, forecast: np.ndarray, target_scale: float, mase_scale: float | None = None
) -> dict[str, Any]:
    """Errors over every (origin, step) pair.

    MSE, RMSE, MAE in original units; MAPE and sMAPE in percent (MAPE skips zero actuals and counts them
    in ``mape_skipped``); MASE as MAE over ``mase_scale`` (see :func:`mase_scale`); R² around the mean of
    all actuals; and MSE/MAE on the training scaler's scale (``target_scale``).
    """
    sk = _sklearn_metrics()
    a, f = _floats(actual).ravel(), _floats(forecast).ravel()
    mse = float(sk.mean_squared_error(a, f))
    mae = float(sk.mean_absolute_error(a, f))
    nonzero = a != 0
    mape = 100.0 * float(sk.mean_absolute_percentage_error(a[nonzero], f[nonzero])) if nonzero.any() else None
    # r2_score would return 0 or 1 for constant actuals (and warn for a single pair): undefined is None.
    r2 = None if a.size == 0 or _is_constant(a) else float(sk.r2_score(a, f))
    return {
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": mae,
        "mape": mape,
        "mape_skipped": int(a.size - nonzero.sum()),
        "smape": float(_smape(a, f)),
        "mase": _mase(mae, mase_scale),
        "r2": r2,
        "mse_scaled": mse / target_scale**2,
        "mae_scaled": mae / abs(target_scale),
    }


def _mape_by_step(actual: np.ndarray, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MAPE in percent per step (NaN where every actual is zero) and the number of origins kept per step."""
    nonzero = actual != 0
    denominator = np.maximum(np.where(nonzero, np.abs(actual), 1.0), EPS)  # 1.0 only keeps skipped pairs finite
    total = np.where(nonzero, np.abs(forecast - actual) / denominator, 0.0).sum(axis=0)
    kept = nonzero.sum(axis=0)
    mape = 100.0 * np.divide(total, kept, out=np.full(total.shape, np.nan), where=kept > 0)
    return mape, kept


def _r2_by_step(actual: np.ndarray, forecast: np.ndarray) -> list[float | None]:
    """R² per step around that step's mean actual; None for a constant step (including a single origin)."""
    constant = _is_constant(actual, axis=0)
    if constant.all():  # also spares r2_score its warning for fewer than two origins
        return [None] * actual.shape[1]
    return _or_none(_sklearn_metrics().r2_score(actual, forecast, multioutput="raw_values"), ~constant)


def per_step_metrics(actual: np.ndarray, forecast: np.ndarray, mase_scale: float | None = None) -> list[dict[str, Any]]:
    """The metrics of :func:`point_metrics` for each horizon step (1-based ``step``), over the origins.

    The scaled MSE/MAE are left out: per step they only restate MSE/MAE.
    """
    sk = _sklearn_metrics()
    a, f = _floats(actual), _floats(forecast)
    mse = sk.mean_squared_error(a, f, multioutput="raw_values")
    mae = sk.mean_absolute_error(a, f, multioutput="raw_values")
    mape, kept = _mape_by_step(a, f)
    columns: dict[str, list[Any]] = {
        "mse": mse.tolist(),
        "rmse": np.sqrt(mse).tolist(),
        "mae": mae.tolist(),
        "mape": _or_none(mape, kept > 0),
        "mape_skipped": (a.shape[0] - kept).tolist(),
        "smape": _smape(a, f, axis=0).tolist(),
        "mase": [_mase(value, mase_scale) for value in mae.tolist()],
        "r2": _r2_by_step(a, f),
    }
    return [{"step": h + 1, **{name: values[h] for name, values in columns.items()}} for h in range(a.shape[1])]


def mase_scale(train_values: np.ndarray, season: int) -> float | None:
    """The denominator of MASE: mean ``|y_t - y_{t-m}|`` over the training values, ``m = max(season, 1)``.

    That is the in-sample one-step error of the seasonal-naive forecast. None when the series is no longer
    than one season or the mean is 0 (a constant or exactly periodic series gives nothing to scale by).
    """
    values = _floats(train_values).ravel()
    m = max(int(season), 1)
    if values.size <= m:
        return None
    scale = float(np.mean(np.abs(values[m:] - values[:-m])))
    return scale if scale > 0 else None


def panel_mase_scale(values: np.ndarray, offsets: np.ndarray, train_end: np.ndarray, season: int) -> np.ndarray:
    """``mase_scale`` of every series of a panel at once, ``[S]``: over the rows
    ``[offsets[k], train_end[k])`` of ``values``; NaN where ``mase_scale`` gives None."""
    values = _floats(values).ravel()
    count, m = len(offsets) - 1, max(int(season), 1)
    series = np.repeat(np.arange(count), np.diff(offsets))  # [rows]
    rows = np.arange(m, len(values))
    # y_t - y_{t-m} within one series' training rows only
    inside = (series[rows] == series[rows - m]) & (rows < train_end[series[rows]])
    owner = series[rows][inside]
    totals = np.bincount(owner, weights=np.abs(values[rows][inside] - values[rows - m][inside]), minlength=count)
    counts = np.bincount(owner, minlength=count)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = totals / counts
    return np.where((counts > 0) & (scale > 0), scale, np.nan)


def skill(model_mse: float, baseline_mse: float) -> float | None:
    """1 - MSE_model / MSE_baseline: above 0 the model beats the baseline; None if the baseline is perfect."""
    return None if baseline_mse == 0 else 1.0 - model_mse / baseline_mse


def _event_scores(tp: int, fp: int, fn: int, tn: int) -> dict[str, Any]:
    """Precision is None when no event was forecast, recall when none happened, F1 when either is None or
    both are zero."""
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1_of(precision, recall),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def threshold_metrics(
    actual: np.ndarray,
    forecast: np.ndarray,
    threshold: float,
    event: str = "above",
    alert_level: float | None = None,
) -> dict[str, Any]:
    """Pointwise threshold events over every (origin, step) pair, and per horizon step (``per_step``).

    An event is "the actual is above (or below) ``threshold``", strictly; an alert is "the forecast is
    above (or below) ``alert_level``", by default the threshold too. A lower alert level (for "above")
    trades false alarms for fewer missed events.
    """
    level = threshold if alert_level is None else alert_level
    compare = comparison(event)
    happened = np.atleast_2d(compare(actual, threshold))  # [N, H]
    warned = np.atleast_2d(compare(forecast, level))
    counts = {  # [H] each: per-step counts; the overall counts are their sums
        "tp": np.sum(happened & warned, axis=0),
        "fp": np.sum(~happened & warned, axis=0),
        "fn": np.sum(happened & ~warned, axis=0),
        "tn": np.sum(~happened & ~warned, axis=0),
    }
    per_step = [
        {"step": h + 1, **_event_scores(*(int(counts[key][h]) for key in ("tp", "fp", "fn", "tn")))}
        for h in range(happened.shape[1])
    ]
    overall = _event_scores(*(int(counts[key].sum()) for key in ("tp", "fp", "fn", "tn")))
    return {"threshold": float(threshold), "alert_level": float(level), "event": event, **overall, "per_step": per_step}
