"""Per-column affine scalers fitted on the training part only.

scikit-learn does the fitting; what is kept is a plain ``center`` and ``scale`` per column, so a
model directory stores the statistics as JSON and applying them needs no pickled estimator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmcast.errors import ArtifactError


@dataclass(frozen=True)
class Scaler:
    """``scaled = (value - center) / scale`` per column; column 0 is the target."""

    kind: str
    center: np.ndarray  # [n_columns] float64
    scale: np.ndarray  # [n_columns] float64, never zero

    def transform(self, values: np.ndarray) -> np.ndarray:
        return ((values - self.center) / self.scale).astype(np.float32)

    def transform_target(self, target: np.ndarray) -> np.ndarray:
        """Scale target values (any shape) with column 0's statistics, in float64."""
        return (np.asarray(target, dtype=np.float64) - self.center[0]) / self.scale[0]

    def inverse_target(self, scaled: np.ndarray) -> np.ndarray:
        """Back to original units for target values (any shape)."""
        return scaled.astype(np.float64) * self.scale[0] + self.center[0]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "center": self.center.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scaler:
        try:
            center = np.asarray(data["center"], dtype=np.float64)
            scale = np.asarray(data["scale"], dtype=np.float64)
            kind = str(data["kind"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"scaler statistics are malformed ({exc})") from None
        if center.shape != scale.shape or center.ndim != 1 or not np.all(scale != 0):
            raise ArtifactError("scaler statistics are malformed (shapes differ or a scale is zero)")
        return cls(kind, center, scale)


def fit_scaler(kind: str, train_values: np.ndarray) -> Scaler:
    """Fit a standard, minmax or robust scaler on the training rows only."""
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler  # type: ignore[import-untyped]

    data = np.asarray(train_values, dtype=np.float64)
    if kind == "standard":
        fitted = StandardScaler().fit(data)
        center, scale = fitted.mean_, fitted.scale_
    elif kind == "minmax":
        fitted = MinMaxScaler().fit(data)
        # sklearn maps x -> x * scale_ + min_; the same map as (x - center) / scale:
        center, scale = -fitted.min_ / fitted.scale_, 1.0 / fitted.scale_
    elif kind == "robust":
        fitted = RobustScaler().fit(data)
        center, scale = fitted.center_, fitted.scale_
    else:
        raise ValueError(f"unknown scaler {kind!r}")
    scale = np.where(scale == 0, 1.0, scale)  # a constant column is shifted, not divided by zero
    return Scaler(kind, np.asarray(center, dtype=np.float64), np.asarray(scale, dtype=np.float64))


@dataclass(frozen=True)
class PanelScaler:
    """A scaler per series of a panel: ``scaled = (value - center[k]) / scale[k]`` for the rows of
    series ``k``; statistics ``[S, F]`` (column 0 the target), fitted on each series' training part."""

    kind: str
    center: np.ndarray  # [S, F] float64
    scale: np.ndarray  # [S, F] float64, never zero

    def of(self, positions: np.ndarray) -> PanelScaler:
        """The statistics of the series at ``positions``, in that order."""
        return PanelScaler(self.kind, self.center[positions], self.scale[positions])

    def transform(self, values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Every row scaled by its own series' statistics, ``[rows, F]`` float32."""
        series = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))  # [rows]
        return ((values - self.center[series]) / self.scale[series]).astype(np.float32)


def fit_panel_scaler(kind: str, values: np.ndarray, offsets: np.ndarray, train_end: np.ndarray) -> PanelScaler:
    """Per-series statistics of the rows ``[offsets[k], train_end[k])`` only, as ``fit_scaler``'s
    for one series: standard (mean, population standard deviation), minmax or robust (median, IQR)."""
    import pandas as pd

    count = len(offsets) - 1
    series = np.repeat(np.arange(count), np.diff(offsets))  # [rows]
    rows = np.arange(len(values))
    train = rows < train_end[series]  # [rows]: the training part of its own series
    groups = pd.DataFrame(np.asarray(values, dtype=np.float64)[train]).groupby(series[train])
    if kind == "standard":
        center, scale = groups.mean(), groups.std(ddof=0)
    elif kind == "minmax":
        low, high = groups.min(), groups.max()
        center, scale = low, high - low
    elif kind == "robust":
        center, scale = groups.median(), groups.quantile(0.75) - groups.quantile(0.25)
    else:
        raise ValueError(f"unknown scaler {kind!r}")
    # Series with no training row keep 0 and 1 (they give no origins either); a constant column is shifted.
    center = center.reindex(range(count)).fillna(0.0).to_numpy()
    scale = scale.reindex(range(count)).fillna(1.0).to_numpy()
    scale = np.where(scale == 0, 1.0, scale)
    return PanelScaler(kind, center, scale)
