"""Would a blend chosen on the validation part help the network beat its start and ridge? (issue 13)

A probe on the DEVELOPMENT series only (benchmarks/series.py): for each, lstmcast is fitted with its
defaults as in recipe_study.py, and its forecasts on the validation and test origins are blended with
another forecaster's, one weight per series chosen on validation (least squares, clipped to [0, 1]):

    start:  w * model + (1 - w) * start   (the untrained linear start: ridge on the last-relative window)
    ridge:  w * model + (1 - w) * ridge   (the ridge baseline, on the raw window)
    pick:   the model or ridge, whichever has the lower validation MSE

and each is scored on the test origins beside the model alone. The weight sees the validation part,
which early stopping already used: a mild optimism that the test part measures.

    python benchmarks/blend_probe.py            # out/blend_probe.json
"""

from __future__ import annotations

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


def weight(model: np.ndarray, other: np.ndarray, actual: np.ndarray) -> float:
    """The w in [0, 1] minimising ||w * model + (1 - w) * other - actual||^2."""
    gap = (model - other).ravel()
    denominator = float(gap @ gap)
    if denominator == 0.0:
        return 1.0
    return float(np.clip(gap @ (actual - other).ravel() / denominator, 0.0, 1.0))


def run_one(name: str) -> dict:
    from recipe_study import load

    from lstmcast import Forecaster
    from lstmcast.baselines import fit_ridge
    from lstmcast.train import use_threads
    from lstmcast.validate import validate_frame
    from lstmcast.window import chronological_split

    use_threads(1)
    spec, frame, _ = load(name, "dev")
    time_col = "time" if "time" in frame else None
    L, H, m = spec.lookback, spec.horizon, spec.season
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = Forecaster(target="y", time_col=time_col, lookback=L, horizon=H, season=m).fit(frame)
        series = validate_frame(frame, fc.settings().data)
    split = chronological_split(len(series), fc.settings().window)
    train, val, test = (split.origins(p, L, H) for p in ("train", "val", "test"))
    val, test = val[val >= m], test[test >= m]
    target = series.values[:, 0].astype(np.float64)
    scaled = fc.scaler_.transform_target(target)
    start = fit_ridge(scaled, train, split.origins("val", L, H), L, H, window_norm="last")

    def forecasts(origins: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "model": fc.forecast_origins(series, origins),
            "ridge": fc.baseline_forecasts(series, origins)["ridge"],
            "start": fc.scaler_.inverse_target(start.predict(scaled, origins)),
            "actual": target[origins[:, None] + np.arange(H)],
        }

    v, t = forecasts(val), forecasts(test)

    def mse(f: np.ndarray, part: dict) -> float:
        return float(np.mean((f - part["actual"]) ** 2))

    w_start = weight(v["model"], v["start"], v["actual"])
    w_ridge = weight(v["model"], v["ridge"], v["actual"])
    pick = "model" if mse(v["model"], v) <= mse(v["ridge"], v) else "ridge"
    return dict(
        series=name,
        best_epoch=fc.best_epoch_,
        w_start=w_start,
        w_ridge=w_ridge,
        pick=pick,
        model=mse(t["model"], t),
        start=mse(t["start"], t),
        ridge=mse(t["ridge"], t),
        blend_start=mse(w_start * t["model"] + (1 - w_start) * t["start"], t),
        blend_ridge=mse(w_ridge * t["model"] + (1 - w_ridge) * t["ridge"], t),
        pick_mse=mse(t[pick], t),
    )


def main() -> None:
    from series import by_role

    names = [s.name for s in by_role("dev")]
    load_before, t0 = os.getloadavg(), time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        rows = list(pool.map(run_one, names))
    print(
        "| series | best epoch | w start | w ridge | pick | model/start | model/ridge | blend-start/start | "
        "blend-start/ridge | blend-ridge/start | blend-ridge/ridge | pick/ridge |"
    )
    print("|---" * 12 + "|")
    for r in rows:
        print(
            f"| {r['series']} | {r['best_epoch']} | {r['w_start']:.2f} | {r['w_ridge']:.2f} | {r['pick']} | "
            f"{r['model'] / r['start']:.4f} | {r['model'] / r['ridge']:.4f} | {r['blend_start'] / r['start']:.4f} | "
            f"{r['blend_start'] / r['ridge']:.4f} | {r['blend_ridge'] / r['start']:.4f} | "
            f"{r['blend_ridge'] / r['ridge']:.4f} | {r['pick_mse'] / r['ridge']:.4f} |"
        )
    summary = {}
    for arm in ("model", "blend_start", "blend_ridge", "pick_mse"):
        over_start = np.array([r[arm] / r["start"] for r in rows])
        over_ridge = np.array([r[arm] / r["ridge"] for r in rows])
        summary[arm] = dict(
            median_over_start=float(np.median(over_start)),
            beat_start_3pct=int(np.sum(over_start <= 0.97)),
            beat_start=int(np.sum(over_start < 0.999)),
            median_over_ridge=float(np.median(over_ridge)),
            beat_ridge=int(np.sum(over_ridge < 0.999)),
            worst_over_ridge=float(over_ridge.max()),
        )
        print(arm, summary[arm])
    took = time.perf_counter() - t0
    print(f"took {took:.0f} s; load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    out = HERE / "out" / "blend_probe.json"
    out.write_text(
        json.dumps(dict(took_s=took, load=[load_before, os.getloadavg()], summary=summary, rows=rows), indent=1)
    )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
