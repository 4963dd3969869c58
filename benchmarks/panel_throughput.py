"""Epoch throughput on a panel against one series with as many training windows (issue 15).

Issue 15's target: "Epoch throughput on a panel within 1.1x of one series with the same number of
windows." Two arms fit the same ``Forecaster`` settings (default model, lookback 48, horizon 24,
seed 0, a fixed number of epochs: ``patience`` is larger than ``epochs``, so early stopping never
ends a fit) in one process, with one torch thread (``OMP_NUM_THREADS=1`` set before torch is
imported, then ``lstmcast.train.use_threads(1)``):

* **series**: ``Forecaster(target="y", time_col="time").fit(frame)`` on one long seeded synthetic
  hourly series (``panel_scale.long_table`` with one series) with N training windows;
* **panel**: ``Forecaster(..., id_col="id").fit(table)`` on a long table of S series of near-equal
  length (``panel_scale.long_table``, a few series one row longer than the rest) whose training
  windows together number exactly the same N.

The arms alternate (series, panel, series, panel, ...) after one untimed warm-up fit of each on a
small table, so drift in the machine's speed hits both alike; ``--repeats`` fits per arm.

What is timed, per fit: ``lstmcast.train._train_epoch`` and ``_validation_loss`` are wrapped (not
changed: the wrapper calls the library's function and reads the clock around it), so each epoch's
**training pass** (the optimiser steps over every training window: the throughput the target is
about) is timed apart from its **validation pass**; the **epoch** is the two together, as the
``seconds`` of lstmcast's ``EpochReport`` (taken from ``on_epoch`` too, and stored). The number of
training windows is the length of the origins the training pass was given (for the panel also
``training_["train_windows"]``; one series' record has no such field, its count is the training
part's rows - lookback - horizon + 1, checked against the pass). The **whole fit** is
``Forecaster.fit``'s wall time: validation of the frame, ridge start, the epochs, the initial
validation pass and scoring the test part. Wall and process CPU seconds are recorded; the 1-minute
load averages (``os.getloadavg()``) before and after the run and around every fit.

The table gives, per arm, the median over repeats of each fit's mean seconds per epoch and its
windows per second, all repeats' values, and the ratio panel / series of the medians (the target:
<= 1.1), then the ratio of each repeat's panel fit to the series fit just before it.

    python benchmarks/panel_throughput.py                       # 30,000 windows, 50 series, 3 epochs x 5 repeats
    python benchmarks/panel_throughput.py --repeats 9           # as in docs/benchmarks.md, about 3 min
    python benchmarks/panel_throughput.py --windows 10000 --epochs 1 --repeats 1   # smoke run, ~10 s

Writes its result to benchmarks/out/panel_throughput.json (``--json`` to change).
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"  # before torch is imported (by lstmcast.train below)

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

import lstmcast  # noqa: E402
import lstmcast.train as train_module  # noqa: E402
from lstmcast import Forecaster  # noqa: E402
from lstmcast.config import WindowConfig  # noqa: E402
from lstmcast.window import chronological_split, panel_split  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from panel_scale import long_table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "benchmarks" / "out" / "panel_throughput.json"


# -- timing the library's passes, without changing them ----------------------------------------------


class PassClock:
    """Wraps ``lstmcast.train._train_epoch`` and ``_validation_loss`` (module globals that ``fit`` looks
    up on each call) so every training and validation pass is timed; ``reset`` before each fit."""

    def __init__(self) -> None:
        self.train_epoch = train_module._train_epoch
        self.validation_loss = train_module._validation_loss
        self.reset()
        train_module._train_epoch = self._timed_train_epoch
        train_module._validation_loss = self._timed_validation_loss

    def reset(self) -> None:
        self.train: list[dict[str, float]] = []  # one per epoch: wall, cpu, windows
        self.val: list[dict[str, float]] = []  # the initial pass, then one per epoch

    def _timed_train_epoch(self, model: Any, windows: Any, origins: torch.Tensor, *args: Any) -> float:
        wall, cpu = time.perf_counter(), time.process_time()
        loss = self.train_epoch(model, windows, origins, *args)
        self.train.append(
            {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "windows": len(origins)}
        )
        return loss

    def _timed_validation_loss(self, model: Any, windows: Any, origins: torch.Tensor) -> float:
        wall, cpu = time.perf_counter(), time.process_time()
        loss = self.validation_loss(model, windows, origins)
        self.val.append({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "windows": len(origins)})
        return loss


# -- sizing -------------------------------------------------------------------------------------------


def series_train_windows(rows: int, window: WindowConfig) -> int:
    split = chronological_split(rows, window)
    return len(split.origins("train", window.lookback, window.horizon))


def panel_train_windows(series: int, rows: int, window: WindowConfig) -> int:
    return panel_train_windows_of([rows] * series, window)


def panel_train_windows_of(lengths: list[int], window: WindowConfig) -> int:
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return len(panel_split(offsets, window).origins("train", window.lookback, window.horizon))


def sizes(windows: int, series: int, window: WindowConfig) -> tuple[int, int, list[int]]:
    """The long series' rows and training windows (as near ``windows`` as the split's rounding
    allows: it skips some counts), then each panel series' rows so that the panel's training
    windows equal the long series' exactly: every series as near ``windows / series`` as can be,
    a few of them one window longer than the rest."""
    long_rows = int((windows + window.lookback + window.horizon - 1) / (1 - window.val_frac - window.test_frac))
    candidates = range(max(window.lookback + window.horizon, long_rows - 200), long_rows + 200)
    long_rows = min(candidates, key=lambda n: abs(series_train_windows(n, window) - windows))
    total = series_train_windows(long_rows, window)
    per_series, extra = divmod(total, series)  # `extra` series get one window more

    def rows_for(count: int) -> int:
        rows = window.lookback + window.horizon
        while panel_train_windows(1, rows, window) < count:
            rows += 1
        assert panel_train_windows(1, rows, window) == count, count  # a count the rounding skips
        return rows

    lengths = [rows_for(per_series + 1)] * extra + [rows_for(per_series)] * (series - extra)
    return long_rows, total, lengths


def panel_table(lengths: list[int], seed: int) -> pd.DataFrame:
    """``panel_scale.long_table`` of ``len(lengths)`` series, each cut to its length."""
    table = long_table(len(lengths), max(lengths), seed=seed)
    step = table.groupby("id", sort=False).cumcount().to_numpy()
    keep = step < pd.Series(lengths).repeat(max(lengths)).to_numpy()
    return table[keep].reset_index(drop=True)


# -- one fit ------------------------------------------------------------------------------------------


def fit_once(arm: str, frame: pd.DataFrame, params: dict[str, Any], clock: PassClock) -> dict[str, Any]:
    id_col = {"id_col": "id"} if arm == "panel" else {}
    forecaster = Forecaster(target="y", time_col="time", **id_col, **params)
    reports: list[float] = []
    clock.reset()
    load_before = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    forecaster.fit(frame, on_epoch=lambda report: reports.append(report.seconds))
    fit_wall, fit_cpu = time.perf_counter() - wall, time.process_time() - cpu
    training = forecaster.training_
    windows = {int(p["windows"]) for p in clock.train}
    assert len(windows) == 1, windows
    train_windows = windows.pop()
    recorded = training.get("train_windows")
    if recorded is None:  # one series' record has no count: its training part's windows
        recorded = training["parts"]["train"]["rows"] - params["lookback"] - params["horizon"] + 1
    assert recorded == train_windows, (recorded, train_windows)
    epochs = len(clock.train)
    train_wall = [p["wall"] for p in clock.train]
    train_cpu = [p["cpu"] for p in clock.train]
    val_wall = [p["wall"] for p in clock.val[1:]]  # the first is the start's, before epoch 1
    return {
        "arm": arm,
        "rows": int(training["rows"]),
        "series": int(training.get("series", 1)),
        "train_windows": train_windows,
        "train_windows_recorded": int(recorded),
        "val_windows": int(clock.val[0]["windows"]),
        "epochs": epochs,
        "epochs_run": int(training["epochs_run"]),
        "threads": int(training["threads"]),
        "train_pass_s": train_wall,
        "train_pass_cpu_s": train_cpu,
        "val_pass_s": val_wall,
        "start_val_pass_s": clock.val[0]["wall"],
        "epoch_report_s": reports,
        "train_pass_mean_s": statistics.fmean(train_wall),
        "train_pass_cpu_mean_s": statistics.fmean(train_cpu),
        "epoch_mean_s": statistics.fmean(reports),
        "windows_per_s": train_windows / statistics.fmean(train_wall),
        "fit_s": fit_wall,
        "fit_cpu_s": fit_cpu,
        "fit_outside_epochs_s": fit_wall - sum(reports),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=30_000, help="training windows of each arm (N)")
    parser.add_argument("--series", type=int, default=50, help="series in the panel (S)")
    parser.add_argument("--lookback", type=int, default=48)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit (never stopped early)")
    parser.add_argument("--repeats", type=int, default=5, help="fits per arm, alternated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()

    load_start = os.getloadavg()
    threads = train_module.use_threads(1)
    params = {
        "lookback": args.lookback,
        "horizon": args.horizon,
        "epochs": args.epochs,
        "patience": args.epochs + 1,  # never stops early: every fit runs all its epochs
        "seed": args.seed,
        "device": "cpu",
    }
    window = WindowConfig(lookback=args.lookback, horizon=args.horizon)
    long_rows, series_windows, lengths = sizes(args.windows, args.series, window)
    series_frame = long_table(1, long_rows, seed=args.seed).drop(columns="id")
    table = panel_table(lengths, seed=args.seed)
    panel_windows = panel_train_windows_of(lengths, window)
    if panel_windows != series_windows:
        raise SystemExit(f"training windows differ: panel {panel_windows}, series {series_windows}")
    print(
        f"series: 1 x {long_rows:,} rows, {series_windows:,} training windows; "
        f"panel: {args.series} series of {min(lengths):,} to {max(lengths):,} rows ({len(table):,}), "
        f"{panel_windows:,} training windows; torch {torch.__version__}, {threads} thread, "
        f"load average {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}",
        flush=True,
    )

    clock = PassClock()
    # Warm-up, untimed: one short fit of each arm on a small table.
    warm = {**params, "epochs": 1, "patience": 2}
    fit_once("series", long_table(1, max(long_rows // 20, 2_000), seed=1).drop(columns="id"), warm, clock)
    fit_once("panel", long_table(args.series, max(max(lengths) // 5, 400), seed=1), warm, clock)

    runs: list[dict[str, Any]] = []
    for repeat in range(args.repeats):
        for arm, frame in (("series", series_frame), ("panel", table)):
            run = fit_once(arm, frame, params, clock)
            run["repeat"] = repeat
            runs.append(run)
            print(
                f"  {arm:6} repeat {repeat}: train pass {run['train_pass_mean_s']:.3f} s/epoch "
                f"({run['windows_per_s']:,.0f} windows/s), epoch {run['epoch_mean_s']:.3f} s, "
                f"fit {run['fit_s']:.2f} s, load {run['load_before']:.2f} -> {run['load_after']:.2f}",
                flush=True,
            )
    load_end = os.getloadavg()

    def column(arm: str, key: str) -> list[float]:
        return [run[key] for run in runs if run["arm"] == arm]

    keys = ("train_pass_mean_s", "train_pass_cpu_mean_s", "epoch_mean_s", "windows_per_s", "fit_s")
    summary = {arm: {key: statistics.median(column(arm, key)) for key in keys} for arm in ("series", "panel")}
    ratios = {
        "train_pass": summary["panel"]["train_pass_mean_s"] / summary["series"]["train_pass_mean_s"],
        "train_pass_cpu": summary["panel"]["train_pass_cpu_mean_s"] / summary["series"]["train_pass_cpu_mean_s"],
        "epoch": summary["panel"]["epoch_mean_s"] / summary["series"]["epoch_mean_s"],
        "fit": summary["panel"]["fit_s"] / summary["series"]["fit_s"],
    }
    # Each repeat's panel fit against the series fit just before it: the pairs share the machine's state.
    paired = [p / s for s, p in zip(column("series", "epoch_mean_s"), column("panel", "epoch_mean_s"), strict=True)]

    print()
    print(
        "| arm | training windows | train pass s/epoch | its CPU s | windows/s | epoch s (train + val) | whole fit s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for arm in ("series", "panel"):
        windows = column(arm, "train_windows")[0]
        cells = [
            f"{summary[arm][key]:{fmt}} ({', '.join(f'{v:{fmt}}' for v in column(arm, key))})"
            for key, fmt in (
                ("train_pass_mean_s", ".3f"),
                ("train_pass_cpu_mean_s", ".3f"),
                ("windows_per_s", ",.0f"),
                ("epoch_mean_s", ".3f"),
                ("fit_s", ".2f"),
            )
        ]
        print(f"| {arm} | {windows:,} | " + " | ".join(cells) + " |")
    print(
        f"| panel / series | {panel_windows / series_windows:.4f} | {ratios['train_pass']:.3f} | "
        f"{ratios['train_pass_cpu']:.3f} | {1 / ratios['train_pass']:.3f} | {ratios['epoch']:.3f} | "
        f"{ratios['fit']:.3f} |"
    )
    met = ratios["epoch"] <= 1.1 and ratios["train_pass"] <= 1.1
    print(
        f"\nepoch time panel / series: {ratios['epoch']:.3f} (train pass {ratios['train_pass']:.3f}, its CPU time "
        f"{ratios['train_pass_cpu']:.3f}; per repeat pair {', '.join(f'{r:.3f}' for r in paired)}); "
        f"target <= 1.1: {'met' if met else 'NOT met'}. "
        f"Load average {load_start[0]:.2f} before, {load_end[0]:.2f} after."
    )

    result = {
        "what": "panel_throughput",
        "settings": {**params, "series": args.series, "windows_asked": args.windows, "repeats": args.repeats},
        "sizes": {
            "series_rows": long_rows,
            "series_train_windows": series_windows,
            "panel_series": args.series,
            "panel_rows_per_series": sorted(set(lengths)),
            "panel_rows": len(table),
            "panel_train_windows": panel_windows,
        },
        "summary_median": summary,
        "ratio_panel_over_series": ratios,
        "epoch_ratio_per_repeat": paired,
        "target_met": met,
        "load_average_before": load_start,
        "load_average_after": load_end,
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "lstmcast": lstmcast.__version__,
            "threads": threads,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        },
        "runs": runs,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
