"""The linear start alone: ridge regression fitted in window-normalised coordinates, which is where
lstmcast's linear path begins before training (docs/models.md). Scored on the same split and test
origins as ``benchmarks/accuracy.py``, so its rows compare with lstmcast's: the difference is what
training the recurrent network adds to (or takes from) its starting point.

    python benchmarks/linear_start.py                   # every series, window norms none, last, mean
    python benchmarks/linear_start.py --series msft --mode last
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from accuracy import SERIES  # benchmarks/ is on sys.path when run as a script

from lstmcast.baselines import fit_ridge
from lstmcast.config import DataConfig, WindowConfig
from lstmcast.scale import fit_scaler
from lstmcast.validate import validate_frame
from lstmcast.window import chronological_split


def scores(frame, mode: str, window: WindowConfig) -> tuple[float, float]:
    """Validation and test MSE, in the series' units, of ridge fitted in ``mode`` coordinates."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = validate_frame(frame, DataConfig(target="y"))
    split = chronological_split(len(series), window)
    scaler = fit_scaler(window.scaler, series.values[: split.train_end])
    target = scaler.transform_target(series.values[:, 0].astype(np.float64))
    train, val, test = (split.origins(part, window.lookback, window.horizon) for part in ("train", "val", "test"))
    ridge = fit_ridge(target, train, val, window.lookback, window.horizon, window_norm=mode)
    unit = float(scaler.scale[0]) ** 2
    return ridge.mse(target, val) * unit, ridge.mse(target, test) * unit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", action="append", help="substring of a series name; repeat for several")
    parser.add_argument("--mode", action="append", help="window norm: none, last, mean (default: all three)")
    args = parser.parse_args()
    modes = args.mode or ["none", "last", "mean"]
    window = WindowConfig()  # lookback 96, horizon 24, 70/10/20: as accuracy.py's Forecaster defaults
    print("| series | " + " | ".join(f"{m}: val MSE | {m}: test MSE" for m in modes) + " |")
    print("|---|" + "---:|---:|" * len(modes))
    for name, load in SERIES.items():
        if args.series and not any(s in name for s in args.series):
            continue
        frame = load()
        cells = [f"{v:.4g}" for mode in modes for v in scores(frame, mode, window)]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
