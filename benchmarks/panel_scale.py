"""Many series at scale (issue 15): memory to train on a panel, and time to predict a large one.

Seeded synthetic long tables (id, time, y: hourly daily cycles, each series its own level, scale and
phase, with noise) are written as Parquet to a temporary folder, and real ``lstmcast`` child
processes are timed, their peak resident memory read from ``os.wait4`` (the kernel's ru_maxrss):

1. ``train --id-col id`` for one epoch on 2,000 series x 500 rows (1,000,000 rows), the default
   model, lookback 48, horizon 24. Issue 15's target: peak RSS under 1.5 GB.
2. ``predict`` on 100,000 series x 200 rows (20,000,000 rows). A model of many series forecasts only
   the ids it was trained on, so one is first trained (not timed for the target) on the same 100,000
   ids with 60 rows each, one epoch, lookback 24, horizon 6, ``--test-frac 0``, the default network
   otherwise. Issue 15's target: under 60 s.

    python benchmarks/panel_scale.py                                  # the issue's sizes
    python benchmarks/panel_scale.py --predict-series 20000           # a smaller predict
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def long_table(series: int, rows: int, seed: int = 0) -> pd.DataFrame:
    """``series`` hourly series of ``rows`` rows each, one after the other."""
    rng = np.random.default_rng(seed)
    step = np.arange(rows)
    level = rng.uniform(10, 1000, series)[:, None]  # [S, 1]
    scale = rng.uniform(0.05, 0.3, series)[:, None] * level
    phase = rng.uniform(0, 2 * np.pi, series)[:, None]
    y = level + scale * np.sin(2 * np.pi * step / 24 + phase) + rng.normal(0, 0.05, (series, rows)) * scale
    times = pd.date_range("2024-01-01", periods=rows, freq="h")
    return pd.DataFrame(
        {
            "id": np.repeat([f"s{k:06d}" for k in range(series)], rows),
            "time": np.tile(times.values, series),
            "y": y.ravel().astype(np.float64),
        }
    )


def child(command: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB and exit code of a child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code:
        print(process.stderr.read().decode() if process.stderr else "", file=sys.stderr)
    return seconds, usage.ru_maxrss / 1024, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-series", type=int, default=2000)
    parser.add_argument("--train-rows", type=int, default=500)
    parser.add_argument("--predict-series", type=int, default=100_000)
    parser.add_argument("--predict-rows", type=int, default=200)
    args = parser.parse_args()
    lstmcast = [sys.executable, "-m", "lstmcast"]
    env_note = f"load average {os.getloadavg()[0]:.2f}"
    with tempfile.TemporaryDirectory(prefix="lstmcast-panel-") as tmp:
        folder = Path(tmp)
        data = folder / "train.parquet"
        long_table(args.train_series, args.train_rows).to_parquet(data, index=False)
        train = [*lstmcast, "train", str(data), "--target", "y", "--id-col", "id", "-o", str(folder / "m")]
        seconds, peak, code = child([*train, "--epochs", "1", "--lookback", "48", "--horizon", "24", "--quiet"])
        print(
            f"train, {args.train_series:,} series x {args.train_rows} rows, 1 epoch: {seconds:.1f} s, "
            f"peak RSS {peak:.0f} MB, exit {code} ({env_note})"
        )
        short, big = folder / "short.parquet", folder / "big.parquet"
        long_table(args.predict_series, 60, seed=1).to_parquet(short, index=False)
        long_table(args.predict_series, args.predict_rows, seed=1).to_parquet(big, index=False)
        model = folder / "big_model"
        fit = [*lstmcast, "train", str(short), "--target", "y", "--id-col", "id", "-o", str(model), "--quiet"]
        flags = ["--epochs", "1", "--lookback", "24", "--horizon", "6", "--test-frac", "0"]
        fit_seconds, fit_peak, fit_code = child([*fit, *flags])
        print(
            f"(the model for predict, {args.predict_series:,} series x 60 rows: {fit_seconds:.1f} s, exit {fit_code})"
        )
        out = folder / "forecast.parquet"
        seconds, peak, code = child([*lstmcast, "predict", str(model), str(big), "-o", str(out)])
        rows = len(pd.read_parquet(out)) if out.exists() else 0
        print(
            f"predict, {args.predict_series:,} series x {args.predict_rows} rows: {seconds:.1f} s, peak RSS "
            f"{peak:.0f} MB, exit {code}; {rows:,} forecast rows (load average {os.getloadavg()[0]:.2f})"
        )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
