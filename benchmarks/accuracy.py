"""Forecast skill of `lstmcast train` with default settings on real public series.

Every series comes from data that Python packages ship (no download at run time):

    pip install statsmodels pmdarima vega_datasets

Each series is split in time order 70/10/20 (train/validation/test, lstmcast's default); the scaler,
the ridge baseline and the network see only the training part (ridge's penalty and early stopping
use the validation part); every test origin whose whole horizon lies in the test part is scored.
The same Forecaster is run with the defaults and with the core's plain recipe
(--window-norm none --no-linear), so the gain is visible.

    python benchmarks/accuracy.py                      # all series, defaults vs plain
    python benchmarks/accuracy.py --series co2 --set lr=0.003 --set batch_size=32
    python benchmarks/accuracy.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable

import pandas as pd


def _vega(name: str, column: str) -> pd.DataFrame:
    from vega_datasets import local_data

    frame = getattr(local_data, name)()
    return pd.DataFrame({"time": pd.to_datetime(frame["date"]), "y": frame[column].astype(float)})


def seattle_temps() -> pd.DataFrame:
    """Hourly temperature, Seattle 2010 (vega_datasets): daily and yearly cycles, drifting level."""
    return _vega("seattle_temps", "temp")


def taylor() -> pd.DataFrame:
    """Half-hourly electricity demand, England and Wales, June-August 2000 (pmdarima; Taylor 2003)."""
    from pmdarima.datasets import load_taylor

    values = load_taylor(as_series=True).to_numpy(dtype=float)
    return pd.DataFrame({"time": pd.date_range("2000-06-05", periods=len(values), freq="30min"), "y": values})


def seattle_weather() -> pd.DataFrame:
    """Daily maximum temperature, Seattle 2012-2015 (vega_datasets): yearly cycle, noisy days."""
    return _vega("seattle_weather", "temp_max")


def msft() -> pd.DataFrame:
    """Daily closing price of Microsoft, 1986-2017 (pmdarima): trading days, strong trend, a random walk.

    Given without timestamps (row order): trading days are not a regular calendar frequency."""
    from pmdarima.datasets import load_msft

    return pd.DataFrame({"y": load_msft()["Close"].astype(float)})


def co2() -> pd.DataFrame:
    """Weekly atmospheric CO2 at Mauna Loa, 1958-2001 (statsmodels): trend plus a yearly cycle.

    59 missing weeks are filled by time interpolation (what `--fill interpolate` does)."""
    import statsmodels.api as sm

    data = sm.datasets.co2.load_pandas().data["co2"].interpolate(method="time").bfill()
    return pd.DataFrame({"time": data.index, "y": data.to_numpy(dtype=float)})


def sunspots() -> pd.DataFrame:
    """Monthly mean sunspot number, 1749-1983 (pmdarima): an irregular ~11-year cycle."""
    from pmdarima.datasets import load_sunspots

    values = load_sunspots(as_series=True).to_numpy(dtype=float)
    return pd.DataFrame({"time": pd.date_range("1749-01-01", periods=len(values), freq="MS"), "y": values})


SERIES: dict[str, Callable[[], pd.DataFrame]] = {
    "seattle_temps (hourly)": seattle_temps,
    "taylor (half-hourly)": taylor,
    "seattle_weather (daily)": seattle_weather,
    "msft (daily, trading days)": msft,
    "co2 (weekly)": co2,
    "sunspots (monthly)": sunspots,
}
# lstmcast 0.1's recipe: the bare network read step by step, trained as 0.1-0.4 did
PLAIN = {
    "window_norm": "none",
    "linear": False,
    "segment": 0,
    "ensemble": 1,
    "layers": 2,
    "loss": "mse",
    "lr": 3e-4,
    "batch_size": 64,
}


def run_one(frame: pd.DataFrame, settings: dict) -> dict:
    from lstmcast import Forecaster

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. irregular spacing notes; the benchmark reports numbers only
        forecaster = Forecaster(target="y", device="cpu", **settings).fit(frame)
    metrics = forecaster.metrics_
    row = {
        "seconds": time.perf_counter() - started,
        "epochs": len(forecaster.history_),
        "n_origins": metrics["n_origins"],
        "mse": metrics["mse"],
        "mae": metrics["mae"],
        "mse_scaled": metrics["mse_scaled"],
    }
    for name, scores in metrics["baselines"].items():
        row[f"{name}_mse"], row[f"{name}_mae"] = scores["mse"], scores["mae"]
    row["rows"] = len(frame)
    return row


def _parse(value: str) -> tuple[str, object]:
    key, _, raw = value.partition("=")
    for cast in (int, float):
        try:
            return key, cast(raw)
        except ValueError:
            pass
    return key, {"true": True, "false": False}.get(raw.lower(), raw)


def report(name: str, default: dict, plain: dict | None) -> str:
    best = min(default["naive_mse"], default["seasonal_naive_mse"], default["ridge_mse"])
    cells = [
        name,
        f"{default['rows']}",
        f"{default['mse']:.4g}",
        f"{default['mae']:.4g}",
        f"{default['naive_mse']:.4g}",
        f"{default['seasonal_naive_mse']:.4g}",
        f"{default['ridge_mse']:.4g}",
        f"{default['mse'] / best:.2f}",
        f"{plain['mse']:.4g}" if plain else "-",
        f"{default['seconds']:.0f}",
    ]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", action="append", help="substring of a series name; repeat for several")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a Forecaster setting for the default run, e.g. lr=0.003",
    )
    parser.add_argument("--no-plain", action="store_true", help="skip the plain-recipe run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write every number as JSON to this file")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(max(torch.get_num_threads(), 1))
    overrides = dict(_parse(item) for item in args.set)
    chosen = {k: v for k, v in SERIES.items() if not args.series or any(s in k for s in args.series)}
    print(
        f"settings: defaults + {overrides or 'nothing'}; seed {args.seed}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(
        "| series | rows | lstmcast MSE | lstmcast MAE | naive MSE | seasonal naive MSE | ridge MSE "
        "| MSE / best baseline | plain recipe MSE | train s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    results = {}
    for name, load in chosen.items():
        frame = load()
        default = run_one(frame, {"seed": args.seed, **overrides})
        plain = None if args.no_plain else run_one(frame, {"seed": args.seed, **overrides, **PLAIN})
        results[name] = {"default": default, "plain": plain}
        print(report(name, default, plain), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"overrides": overrides, "seed": args.seed, "results": results}, handle, indent=2)


if __name__ == "__main__":
    main()
