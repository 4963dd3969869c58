"""A first exploratory study of segment recurrence (issue 13) on the DEVELOPMENT series only.

For every "dev" series of benchmarks/series.py (the "report" series are never loaded here), lstmcast is
fitted through the Python API with the registry's lookback, horizon and season, the default 70/10/20
split and seed 0, one torch thread, target only (exogenous columns are dropped), and scored on the test part
(``forecaster.metrics_``). Series longer than 20,000 rows keep their last 20,000 (bike_sharing,
traffic_volume). Arms:

  a  defaults (step-by-step recurrence), with the epochs CAPPED: a step-by-step epoch at lookback 168-336
     costs tens of seconds to minutes on this machine, so the cap is the number of epochs that an
     estimated per-epoch cost fits into --budget-a seconds (default 45 s), at least 1, at most 100. The
     estimate is window-steps (training windows x lookback) times a rate measured on seattle_temps (about
     4.9e-5 s per window-step, one thread, shared 2-core machine). Arm a is therefore NOT the default
     training run (100 epochs, patience 20); it is "defaults for a few epochs".
  b  --segment S, every other setting default: S is a divisor of the lookback of about a day (hourly 24 of
     168, half-hourly 48 of 336), a week (daily 7 of 56, trading days 5 of 60), a quarter (weekly 13 of 104)
     or a year (monthly 12 of 36).
  c  as b with --patience 5.

Besides the model: ridge, seasonal naive and naive from metrics_["baselines"], and the untrained start,
the ridge fitted in window-normalised ("last") coordinates that the linear path starts from, scored on the
same test origins as the model (test origins >= season, as Forecaster.score_test), the way
benchmarks/linear_start.py scores it. Where best_epoch_ is 0 the model IS its start, and the script checks
that the two test MSEs agree (the "start check" column).

Arms a and b/c run in two worker processes side by side (one thread each), so timings are noisy.

    python benchmarks/segment_study.py                 # all dev series, arms a b c; benchmarks/out/segment_study.json
    python benchmarks/segment_study.py --arms b c --series taylor   # a subset: out/segment_study_partial.json

Measured run (one seed, shared 2-core machine, load average about 2 while it ran):
`python benchmarks/segment_study.py` took 677 s wall (11 min), arm a 672 s of training, arm b 338 s, arm c 141 s.
A rerun took 621 s with every MSE, epoch count and best epoch identical (training is deterministic on CPU);
train seconds of the segment arms varied up to 2x between the two runs (shared machine).
The arm-a cap came out at 1 epoch for every hourly and half-hourly series (a step-by-step epoch took 61-87 s at
lookback 168 and 280 s at 336), 2-17 epochs for the others (the rate overestimates short lookbacks, where an
epoch took 0.2-1.5 s): so arm a scores little more than the untrained start.
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

MAX_ROWS = 20_000
SEGMENT = {"hourly": 24, "half-hourly": 48, "daily": 7, "trading days": 5, "weekly": 13, "monthly": 12}
RATE = 4.9e-5  # seconds per training window-step of a step-by-step epoch (seattle_temps, 1 thread, measured)
SPLIT = (0.7, 0.1, 0.2)


def load(name: str):
    from series import by_role

    spec = next(s for s in by_role("dev") if s.name == name)  # dev only: report series are never loaded
    frame = spec.load()
    rows = len(frame)
    frame = frame[[c for c in ("time", "y") if c in frame]]  # target only
    if len(frame) > MAX_ROWS:
        frame = frame.iloc[-MAX_ROWS:].reset_index(drop=True)
    return spec, frame, rows


def start_test_mse(frame, time_col, lookback: int, horizon: int, season: int, window_norm: str = "last") -> float:
    """Test MSE (series units) of the untrained start: the ridge in the model's window-norm coordinates."""
    from lstmcast.baselines import fit_ridge
    from lstmcast.config import DataConfig, WindowConfig
    from lstmcast.scale import fit_scaler
    from lstmcast.validate import validate_frame
    from lstmcast.window import chronological_split

    window = WindowConfig(lookback=lookback, horizon=horizon)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = validate_frame(frame, DataConfig(target="y", time_col=time_col))
    split = chronological_split(len(series), window)
    scaler = fit_scaler(window.scaler, series.values[: split.train_end])
    target = scaler.transform_target(series.values[:, 0].astype(np.float64))
    train, val, test = (split.origins(p, lookback, horizon) for p in ("train", "val", "test"))
    test = test[test >= season]
    ridge = fit_ridge(target, train, val, lookback, horizon, window_norm=window_norm)
    return float(ridge.mse(target, test)) * float(scaler.scale[0]) ** 2


def run_one(name: str, arm: str, budget_a: float) -> dict:
    import torch

    from lstmcast import Forecaster
    from lstmcast.train import use_threads

    use_threads(1)
    torch.set_num_threads(1)
    spec, frame, rows = load(name)
    time_col = "time" if "time" in frame else None
    L, H, m = spec.lookback, spec.horizon, spec.season
    kwargs: dict = dict(target="y", time_col=time_col, lookback=L, horizon=H, season=m, seed=0)
    n_train = int(len(frame) * SPLIT[0]) - L - H + 1
    note = ""
    if arm == "a":
        est = RATE * n_train * L
        cap = int(max(1, min(100, budget_a // est)))
        kwargs["epochs"] = cap
        note = f"epochs capped at {cap} (estimated {est:.1f} s/epoch)"
    else:
        kwargs["segment"] = SEGMENT[spec.group]
        if arm == "c":
            kwargs["patience"] = 5
    stamps: list[float] = []
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = Forecaster(**kwargs).fit(frame, on_epoch=lambda r: stamps.append(time.perf_counter()))
    seconds = time.perf_counter() - t0
    met = fc.metrics_
    start = start_test_mse(frame, time_col, L, H, m)
    base = met["baselines"]
    out = dict(
        series=name,
        arm=arm,
        group=spec.group,
        rows=rows,
        rows_used=len(frame),
        lookback=L,
        horizon=H,
        season=m,
        segment=kwargs.get("segment", 0),
        epochs_max=kwargs.get("epochs", 100),
        patience=kwargs.get("patience", 20),
        train_s=seconds,
        epochs_run=len(fc.history_),
        best_epoch=fc.best_epoch_,
        s_per_epoch=(stamps[-1] - t0) / len(stamps) if stamps else None,
        mse=met["mse"],
        ridge=base["ridge"]["mse"],
        seasonal_naive=base["seasonal_naive"]["mse"],
        naive=base["naive"]["mse"],
        start=start,
        n_origins=met["n_origins"],
        note=note,
    )
    if fc.best_epoch_ == 0:
        out["start_check"] = abs(met["mse"] / start - 1)  # relative gap; ~0 when the start is scored right
    return out


def worker(jobs: list[tuple[str, str]], budget_a: float) -> list[dict]:
    results = []
    for name, arm in jobs:
        r = run_one(name, arm, budget_a)
        print(f"  done {name} arm {arm}: {r['train_s']:.1f} s, mse/start {r['mse'] / r['start']:.4f}", flush=True)
        results.append(r)
    return results


def table(rows: list[dict]) -> str:
    head = (
        "| series | rows used | seg | epochs run (max) | best | train s | s/epoch | model MSE | start | ridge | "
        "snaive | naive | model/start | model/ridge | start check |"
    )
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in rows:
        chk = f"{r['start_check']:.1e}" if "start_check" in r else "-"
        lines.append(
            f"| {r['series']} | {r['rows_used']} | {r['segment'] or '-'} | {r['epochs_run']} ({r['epochs_max']}) | "
            f"{r['best_epoch']} | {r['train_s']:.1f} | {r['s_per_epoch']:.2f} | {r['mse']:.4g} | {r['start']:.4g} | "
            f"{r['ridge']:.4g} | {r['seasonal_naive']:.4g} | {r['naive']:.4g} | {r['mse'] / r['start']:.4f} | "
            f"{r['mse'] / r['ridge']:.4f} | {chk} |"
        )
    return "\n".join(lines)


def main() -> None:
    from series import by_role

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arms", nargs="+", default=["a", "b", "c"])
    parser.add_argument("--series", action="append", help="dev series name; repeat for several (default all)")
    parser.add_argument("--budget-a", type=float, default=45.0, help="seconds of estimated training per arm-a fit")
    args = parser.parse_args()
    names = [s.name for s in by_role("dev") if not args.series or s.name in args.series]
    t0 = time.perf_counter()
    step_jobs = [(n, "a") for n in names if "a" in args.arms]
    seg_jobs = [(n, a) for n in names for a in ("b", "c") if a in args.arms]
    with ProcessPoolExecutor(2) as pool:
        futures = [pool.submit(worker, jobs, args.budget_a) for jobs in (step_jobs, seg_jobs) if jobs]
        results = [r for f in futures for r in f.result()]
    took = time.perf_counter() - t0
    summary = {}
    for arm in args.arms:
        rows = [r for r in results if r["arm"] == arm]
        if not rows:
            continue
        print(f"\n### arm {arm}\n\n{table(rows)}")
        vs_start = [r["mse"] / r["start"] for r in rows]
        vs_ridge = [r["mse"] / r["ridge"] for r in rows]
        summary[arm] = dict(
            median_model_over_start=float(np.median(vs_start)),
            median_model_over_ridge=float(np.median(vs_ridge)),
            beat_start_by_3pct=int(sum(v <= 0.97 for v in vs_start)),
            beat_ridge=int(sum(v < 1 for v in vs_ridge)),
            series=len(rows),
            train_s_total=float(sum(r["train_s"] for r in rows)),
        )
        s = summary[arm]
        print(
            f"\narm {arm}: median model/start {s['median_model_over_start']:.4f}, median model/ridge "
            f"{s['median_model_over_ridge']:.4f}, beat start by >=3% on {s['beat_start_by_3pct']}/{s['series']}, "
            f"beat ridge on {s['beat_ridge']}/{s['series']}, training {s['train_s_total']:.0f} s in all"
        )
    print(f"\ntook {took:.0f} s")
    partial = bool(args.series) or set(args.arms) != {"a", "b", "c"}  # a subset never replaces the full run
    out = HERE / "out" / ("segment_study_partial.json" if partial else "segment_study.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(dict(took_s=took, args=vars(args), summary=summary, results=results), indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
