"""Backtest speed: a K-fold walk-forward backtest against K separate trainings, and what batching the
fold forecasts buys.

On one seeded synthetic hourly series (the noisy multi-seasonal sine of ``train_speed.py``), with one
small fixed model and ``patience`` above ``epochs`` (every fit runs all its epochs, so every arm does
the same training work), one run measures:

* **lstmcast backtest (CLI)**: one ``lstmcast backtest DATA --folds K`` process.
* **K x lstmcast train (CLI)**: K ``lstmcast train PREFIX_k --test-frac 0`` processes, PREFIX_k being
  the rows the backtest's fold k trains on (``[0, start_k)``): the same trainings done by hand,
  process start-up, reading the CSV and saving the model included.
* **backtest() (API)**: ``lstmcast.backtest.backtest(Forecaster(...), frame, folds=K)``, split into
  training (the time inside ``_train_fold``) and scoring (the rest: model forecasts from every origin
  of every block, the baselines and the metrics), and the model forecasts alone
  (``Forecaster.forecast_origins``).
* **K x Forecaster.fit (API)**: ``Forecaster(..., test_frac=0).fit(frame[:start_k])`` for each fold.
* **backtest(retrain=False) (API)**: one training, then the same K blocks scored.
* **scoring, batched vs one origin at a time**: each fold's fitted model forecasts its block's origins
  with one ``predict_windows(network, windows, origins)`` call (batched passes, as the backtest does) and
  with one call per origin; the same model and origins, so the ratio is what batching buys.

Each repeat runs every arm once, in that order (every other repeat in reverse), after an untimed
warm-up; the tables show medians over repeats of wall-clock seconds, CPU seconds and minor page faults
(this process's, or its children's for the CLI arms; the faults show glibc's heap trimming, which
docs/benchmarks.md found can cost a third of a training epoch).
The CLI subprocesses get ``OMP_NUM_THREADS=--threads``.

    python benchmarks/backtest_speed.py                          # 20,000 rows, 5 folds, 5 epochs, 1 repeat
    python benchmarks/backtest_speed.py --rows 3000 --epochs 1   # smoke run, under a minute
    python benchmarks/backtest_speed.py --repeats 3 --json benchmarks/out/backtest_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from train_speed import machine, make_series  # benchmarks/ is on sys.path when run as a script

import lstmcast.backtest as backtesting
from lstmcast.config import WindowConfig
from lstmcast.fitting import tensor_windows
from lstmcast.forecast import Forecaster
from lstmcast.train import TensorWindows, predict_windows, resolve_device
from lstmcast.validate import validate_frame

Timing = dict[str, float]


def make_frame(rows: int, seed: int) -> pd.DataFrame:
    """The synthetic series as a table with an hourly ``time`` column and the target ``y``."""
    return pd.DataFrame(
        {"time": pd.date_range("2020-01-01", periods=rows, freq="h"), "y": make_series(rows, seed)[:, 0]}
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _minor_faults(children: bool) -> int:
    return resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF).ru_minflt


@contextmanager
def clock(timing: Timing, children: bool = False) -> Iterator[None]:
    """Sets ``wall`` and ``cpu`` seconds and minor page ``faults`` of the block in ``timing``
    (the children's CPU time and faults for subprocesses)."""
    cpu = _children_cpu if children else time.process_time
    wall_start, cpu_start, faults_start = time.perf_counter(), cpu(), _minor_faults(children)
    yield
    timing["wall"] = time.perf_counter() - wall_start
    timing["cpu"] = cpu() - cpu_start
    timing["faults"] = _minor_faults(children) - faults_start


@contextmanager
def timed(owner: Any, name: str, seconds: list[float]) -> Iterator[None]:
    """Replace ``owner.name`` by a wrapper that appends each call's wall seconds to ``seconds``."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - started)

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


def run_backtest_api(params: dict[str, Any], frame: pd.DataFrame, folds: int, retrain: bool) -> tuple[Timing, dict]:
    training: list[float] = []
    forecasts: list[float] = []
    timing: Timing = {}
    with timed(backtesting, "_train_fold", training), timed(Forecaster, "forecast_origins", forecasts):
        with clock(timing):
            report = backtesting.backtest(Forecaster(**params), frame, folds, retrain=retrain, stride=1)
    timing["train"] = sum(training)
    timing["score"] = timing["wall"] - timing["train"]
    timing["forecast"] = sum(forecasts)
    timing["trainings"] = len(training)
    return timing, report


def run_fits_api(params: dict[str, Any], frame: pd.DataFrame, starts: list[int]) -> tuple[Timing, list[Forecaster]]:
    timing: Timing = {}
    models = []
    with clock(timing):
        for start in starts:
            models.append(Forecaster(**{**params, "test_frac": 0.0}).fit(frame.iloc[:start]))
    timing["train"] = timing["wall"]
    timing["trainings"] = len(starts)
    return timing, models


def cli_options(params: dict[str, Any]) -> list[str]:
    options = ["--target", "y", "--time-col", "time", "--quiet"]
    for name in ("lookback", "horizon", "hidden", "layers", "epochs", "patience", "batch_size", "seed", "device"):
        options += [f"--{name.replace('_', '-')}", str(params[name])]
    return options


def run_cli(commands: list[list[str]], env: dict[str, str], trainings: int) -> Timing:
    timing: Timing = {}
    with clock(timing, children=True):
        for command in commands:
            subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    timing["trainings"] = trainings
    return timing


def score_batched_vs_loop(
    models: list[Forecaster], frame: pd.DataFrame, origins_per_fold: list[np.ndarray], repeats: int = 3
) -> dict[str, Any]:
    """Wall seconds for each fold's model to forecast its block's origins: in one call, and one call per origin."""
    series = validate_frame(frame, models[0].settings().data)
    # The scaled series on the device once per model, as forecast_origins builds it once per call.
    devices = [next(m.model_.parameters()).device for m in models]
    windows = [
        tensor_windows(m.scaler_.transform(series.values), m.lookback, m.horizon, d)
        for m, d in zip(models, devices, strict=True)
    ]

    def forecast(model: Forecaster, windows: TensorWindows, origins: np.ndarray) -> np.ndarray:
        scaled = predict_windows(model.model_, windows, torch.as_tensor(origins, device=windows.values.device))
        return model.scaler_.inverse_target(scaled.cpu().numpy())

    def batched() -> list[np.ndarray]:
        return [forecast(m, w, o) for m, w, o in zip(models, windows, origins_per_fold, strict=True)]

    def loop() -> list[np.ndarray]:
        return [
            np.concatenate([forecast(m, w, o[i : i + 1]) for i in range(len(o))])
            for m, w, o in zip(models, windows, origins_per_fold, strict=True)
        ]

    def median_of(run: Callable[[], list[np.ndarray]]) -> tuple[float, list[np.ndarray]]:
        times, result = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            result = run()
            times.append(time.perf_counter() - started)
        return statistics.median(times), result

    batched_s, batched_out = median_of(batched)
    loop_s, loop_out = median_of(loop)
    diff = max(float(np.abs(a - b).max()) for a, b in zip(batched_out, loop_out, strict=True))
    return {
        "origins": int(sum(len(o) for o in origins_per_fold)),
        "batched": batched_s,
        "loop": loop_s,
        "ratio": loop_s / batched_s,
        "max_abs_difference": diff,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000, help="series length (default: 20000)")
    parser.add_argument("--folds", type=int, default=5, help="backtest folds (default: 5)")
    parser.add_argument("--test-frac", type=float, default=0.2, help="rows the folds test on (default: 0.2)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs of every training (default: 5)")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of all arms (default: 1)")
    parser.add_argument("--lookback", type=int, default=48)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--no-cli", action="store_true", help="skip the two CLI (subprocess) arms")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads, and OMP_NUM_THREADS for the CLI (default: 1)"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the results as JSON")
    return parser.parse_args(argv)


def cli_commands(
    args: argparse.Namespace, params: dict[str, Any], frame: pd.DataFrame, starts: list[int], tmpdir: Path
) -> dict[str, list[list[str]]]:
    """Write the series and each fold's training prefix as CSV; the two CLI arms' command lines."""
    executable = shutil.which("lstmcast")
    lstmcast = [executable] if executable else [sys.executable, "-m", "lstmcast"]
    frame.to_csv(tmpdir / "data.csv", index=False)
    for k, start in enumerate(starts, 1):
        frame.iloc[:start].to_csv(tmpdir / f"prefix_{k}.csv", index=False)

    def train(k: int, settings: dict[str, Any], output: str) -> list[str]:
        prefix = str(tmpdir / f"prefix_{k}.csv")
        return [*lstmcast, "train", prefix, "--test-frac", "0", "-o", str(tmpdir / output), *cli_options(settings)]

    backtest = [*lstmcast, "backtest", str(tmpdir / "data.csv"), "--folds", str(args.folds)]
    return {
        "warm-up": [train(1, {**params, "epochs": 1, "patience": 2}, "warm_up")],
        "lstmcast backtest (CLI, 1 process)": [[*backtest, "--test-frac", str(args.test_frac), *cli_options(params)]],
        f"{args.folds} x lstmcast train (CLI, {args.folds} processes)": [
            train(k, params, f"model_{k}") for k in range(1, len(starts) + 1)
        ],
    }


def print_tables(
    args: argparse.Namespace, runs: dict[str, list[Timing]], scoring: list[dict[str, Any]], same_models: list[bool]
) -> None:
    def median(name: str, key: str) -> float:
        values = [timing[key] for timing in runs[name] if key in timing]
        return statistics.median(values) if values else float("nan")

    reference = "backtest() (API)"
    print(
        "| run | trainings | wall s | CPU s | training s | scoring s | of which model forecasts s | vs backtest() "
        "| minor page faults |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in runs:
        cells = [f"{median(name, key):.2f}" if key in runs[name][0] else "-" for key in ("train", "score", "forecast")]
        print(
            f"| {name} | {runs[name][0]['trainings']:.0f} | {median(name, 'wall'):.2f} | {median(name, 'cpu'):.2f} | "
            f"{' | '.join(cells)} | {median(name, 'wall') / median(reference, 'wall'):.2f} | "
            f"{median(name, 'faults'):,.0f} |"
        )
    print(f"(medians over {args.repeats} repeats)")
    n_origins = scoring[0]["origins"]
    batched = statistics.median(s["batched"] for s in scoring)
    loop = statistics.median(s["loop"] for s in scoring)
    print(f"\n| {n_origins} origins, each fold's model on its block | wall s | ms per origin | vs batched |")
    print("|---|---:|---:|---:|")
    print(f"| batched (one `predict_windows` call per fold) | {batched:.3f} | {1e3 * batched / n_origins:.3f} | 1 |")
    print(f"| one origin at a time | {loop:.3f} | {1e3 * loop / n_origins:.3f} | {loop / batched:.1f} |")
    max_diff = max(s["max_abs_difference"] for s in scoring)
    print(f"(medians of 3 passes per repeat; largest difference between the two forecasts: {max_diff:.2e})")
    share = median(reference, "score") / median(reference, "wall")
    print(f"\nscoring share of backtest(): {share:.1%}; batching speed-up of the forecasts: {loop / batched:.1f}x")
    print(f"backtest folds and separate fits gave identical models (val MSE, epochs run): {all(same_models)}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    params: dict[str, Any] = {
        "target": "y",
        "time_col": "time",
        "lookback": args.lookback,
        "horizon": args.horizon,
        "test_frac": args.test_frac,
        "hidden": args.hidden,
        "layers": args.layers,
        "epochs": args.epochs,
        "patience": args.epochs + 1,  # never stops early: every fit runs all its epochs
        "batch_size": args.batch_size,
        "seed": args.seed,
        "device": str(device),
    }
    frame = make_frame(args.rows, args.seed)
    window = WindowConfig(lookback=args.lookback, horizon=args.horizon, test_frac=args.test_frac)
    plan = backtesting.plan_folds(len(frame), args.folds, window)
    starts = [fold.start for fold in plan]
    origins = np.arange(max(args.lookback, starts[0]), len(frame) - args.horizon + 1)  # as rolling_origins
    origins_per_fold = [origins[(origins >= f.start) & (origins < f.stop)] for f in plan]
    load_before = os.getloadavg()
    print(
        f"{args.rows} rows, {args.folds} folds over the last {len(frame) - starts[0]} (training on the first "
        f"{', '.join(map(str, starts))} rows), {len(origins)} forecast origins; lookback {args.lookback}, horizon "
        f"{args.horizon}, hidden {args.hidden} x {args.layers} layers, batch {args.batch_size}, {args.epochs} epochs "
        f"(patience {params['patience']}), {args.repeats} repeats, device {device}, {torch.get_num_threads()} threads",
        file=sys.stderr,
    )

    # Untimed warm-up: first-call costs (kernel selection, allocator growth, imports, file cache).
    Forecaster(**{**params, "epochs": 1, "patience": 2, "test_frac": 0.0}).fit(frame.iloc[: min(len(frame), 2_000)])
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    runs: dict[str, list[Timing]] = {}
    scoring: list[dict[str, Any]] = []
    same_models: list[bool] = []
    kept: dict[str, Any] = {}

    def api_backtest(retrain: bool) -> Timing:
        timing, kept["report" if retrain else "report_no_retrain"] = run_backtest_api(
            params, frame, args.folds, retrain
        )
        return timing

    def api_fits() -> Timing:
        timing, kept["models"] = run_fits_api(params, frame, starts)
        return timing

    with tempfile.TemporaryDirectory(prefix="backtest_speed_") as tmp:
        commands = {} if args.no_cli else cli_commands(args, params, frame, starts, Path(tmp))
        if commands:
            run_cli(commands.pop("warm-up"), env, 0)  # untimed: imports, file cache
        arms: list[tuple[str, Callable[[], Timing]]] = [
            (name, lambda cmds=cmds: run_cli(cmds, env, args.folds)) for name, cmds in commands.items()
        ]
        arms += [
            ("backtest() (API)", lambda: api_backtest(True)),
            (f"{args.folds} x Forecaster.fit (API)", api_fits),
            ("backtest(retrain=False) (API)", lambda: api_backtest(False)),
        ]
        for repeat in range(1, args.repeats + 1):
            results = {name: arm() for name, arm in (arms if repeat % 2 else arms[::-1])}  # alternate the order
            report, models = kept["report"], kept["models"]
            same_models.append(
                all(r["val_mse"] == m.val_mse_ for r, m in zip(report["folds"], models, strict=True))
                and all(r["epochs_run"] == args.epochs for r in report["folds"])
            )
            scoring.append(score_batched_vs_loop(models, frame, origins_per_fold))
            for name, _ in arms:
                runs.setdefault(name, []).append(results[name])
                print(
                    f"  repeat {repeat} {name}: {results[name]['wall']:.2f} s wall, {results[name]['cpu']:.2f} s CPU, "
                    f"{results[name]['faults']:,.0f} minor page faults",
                    file=sys.stderr,
                )
            print(
                f"  repeat {repeat} scoring {scoring[-1]['origins']} origins: batched {scoring[-1]['batched']:.3f} s, "
                f"one at a time {scoring[-1]['loop']:.3f} s",
                file=sys.stderr,
                flush=True,
            )
    load_after = os.getloadavg()
    print_tables(args, runs, scoring, same_models)
    print(f"load average before / after: {load_before[0]:.2f} / {load_after[0]:.2f} on {os.cpu_count()} CPUs")
    if args.json is not None:
        result = {
            "benchmark": "backtest_speed",
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "fold_starts": starts,
            "origins": scoring[0]["origins"],
            "machine": machine(device),
            "loadavg_before": load_before,
            "loadavg_after": load_after,
            "runs": runs,
            "scoring": scoring,
            "same_models": same_models,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
