"""How to scale split-conformal residuals (issue 16): four ways to compute the bands around ONE fitted
model per series, on the DEVELOPMENT series only (``by_role("dev")`` of benchmarks/series.py). It never
loads, fits or scores a report or holdout series: there is no ``--role`` option.

Each dev series is fitted once as benchmarks/intervals.py fits it (lstmcast's defaults apart from the
registry's lookback, horizon and season, ``levels="80,95"``, the default 70/10/20 split, one torch thread,
target only, the last 20,000 rows, seed 0). Its validation and test origins are intervals.py's (test
origins at least one season into the series); forecasts come from ``fitted.forecast_origins(series,
origins)`` in original units. The residuals (actual minus forecast, scaled units) on the validation
origins are divided by each input window's spread and turned into per-step offsets by
``lstmcast.intervals.fit_intervals``; the test bands are the test forecast plus the offsets times the
test window's spread (back in original units), scored by ``lstmcast.intervals.interval_scores``:

    A  model       the spread of the model's window normalisation (``window_spread(w, window_norm_)``:
                   1 for "last" and "none", the window's std for "mean" and "revin"): what lstmcast does
    B  std         the input window's standard deviation (``window_spread(w, "mean")``, scaled units)
    C  std-recent  the standard deviation of only the window's last min(horizon, 24) values
    D  split       A, calibrated on the second half of the validation origins only (the first half is
                   what early stopping would see in a real split; here it measures fewer residuals)

Per arm and series: test coverage at 80% and 95%, mean width (original units) and interval score; per
arm: coverage pooled over test points (origins x steps), the series with 80% coverage within 70-90%,
the mean distance of coverage from nominal, and the median ratio of interval score (and width) to arm
A's. A series with too few validation origins for a 95% band (usmelec: 38 < 39) is fitted with 80% only
(training is the same) and left out of the 95% figures; arm D keeps the levels its half allows. A
check: arm A rebuilt here scores exactly as the model's own test report (``metrics_``).

    python benchmarks/interval_scaling.py                       # -> out/interval_scaling_dev.json
    python benchmarks/interval_scaling.py --series msft --series co2 --workers 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

ROLE = "dev"  # fixed: this experiment chooses, so it runs on development series only
LEVELS = (80.0, 95.0)
ARMS = ("model", "std", "std-recent", "split")
RECENT_MAX = 24


def fit(frame, time_col, L: int, H: int, m: int, seed: int, levels: tuple[float, ...]):
    from role_runner import quiet_fit

    from lstmcast import Forecaster

    fc = Forecaster(
        "y", time_col=time_col, lookback=L, horizon=H, season=m, seed=seed, levels=",".join(map(str, levels))
    )
    quiet_fit(fc, frame)
    return fc


def run_one(name: str, seed: int) -> dict:
    from intervals import model_rows
    from recipe_study import load

    from lstmcast.errors import DataError
    from lstmcast.intervals import fit_intervals, interval_scores, minimum_calibration, window_spread
    from lstmcast.train import use_threads

    use_threads(1)
    spec, frame, rows = load(name, ROLE)
    time_col = "time" if "time" in frame else None
    L, H, m = spec.lookback, spec.horizon, spec.season
    levels = LEVELS
    t0 = time.perf_counter()
    try:
        fc = fit(frame, time_col, L, H, m, seed, levels)
    except DataError as error:  # too few validation origins for 95%: the same fit with 80% only
        if "validation origins are too few" not in str(error):
            raise
        levels = (80.0,)
        t0 = time.perf_counter()
        fc = fit(frame, time_col, L, H, m, seed, levels)
    seconds = time.perf_counter() - t0
    met = fc.metrics_

    # The same split, origins and scaled target as the model's (as benchmarks/intervals.py).
    rows_seen = model_rows(fc, frame)
    series, val, test = rows_seen.series, rows_seen.val, rows_seen.test
    target, scaled, scale = rows_seen.target, rows_seen.scaled, rows_seen.scale
    steps, back = np.arange(H), np.arange(L)
    actual_val, actual_test = scaled[val[:, None] + steps], target[test[:, None] + steps]
    windows_val, windows_test = scaled[val[:, None] - L + back], scaled[test[:, None] - L + back]
    forecast_val = fc.scaler_.transform_target(fc.forecast_origins(series, val))  # scaled
    forecast_test = fc.forecast_origins(series, test)  # original units
    residuals = actual_val - forecast_val
    recent = min(H, RECENT_MAX)

    def spreads(windows: np.ndarray, arm: str) -> np.ndarray:
        if arm in ("model", "split"):
            return window_spread(windows, fc.window_norm_)
        if arm == "std":
            return window_spread(windows, "mean")
        return window_spread(windows[:, -recent:], "mean")  # std-recent

    arms: dict = {}
    for arm in ARMS:
        rows_cal = slice(len(val) // 2, None) if arm == "split" else slice(None)
        count = len(residuals[rows_cal])
        usable = tuple(level for level in levels if count >= minimum_calibration(level))
        if not usable:
            arms[arm] = dict(skipped=f"{count} calibration origins")
            continue
        offsets = fit_intervals(residuals[rows_cal], spreads(windows_val[rows_cal], arm), usable, fc.window_norm_, name)
        bands = offsets.bands(forecast_test, spreads(windows_test, arm) * scale)
        got = interval_scores(actual_test, bands)
        arms[arm] = dict(
            calibration=offsets.calibration,
            **{
                key: dict(
                    coverage=item["coverage"],
                    width=item["width"],
                    interval_score=item["interval_score"],
                    step_coverage_min=float(min(item["per_step_coverage"])),
                    step_coverage_max=float(max(item["per_step_coverage"])),
                )
                for key, item in got.items()
            },
        )
    check = max(
        max(
            abs(arms["model"][k]["coverage"] - met["intervals"][k]["coverage"]),
            abs(arms["model"][k]["width"] / met["intervals"][k]["width"] - 1),
        )
        for k in met["intervals"]
    )
    model_val_rmse = float(np.sqrt(np.mean(residuals**2)))
    model_test_rmse = float(np.sqrt(np.mean((actual_test - forecast_test) ** 2))) / scale
    # How well each spread tracks the size of the errors on the test part: Spearman-free, plain
    # correlation of log spread with log per-origin RMSE (nan when the spread is constant).
    origin_rmse = np.sqrt(np.mean(((actual_test - forecast_test) / scale) ** 2, axis=1))
    tracking = {}
    for arm in ("std", "std-recent"):
        s = spreads(windows_test, arm)[:, 0]
        ok = origin_rmse > 0
        tracking[arm] = float(np.corrcoef(np.log(s[ok]), np.log(origin_rmse[ok]))[0, 1]) if ok.sum() > 2 else None
    return dict(
        series=name,
        group=spec.group,
        rows=rows,
        rows_used=len(frame),
        lookback=L,
        horizon=H,
        season=m,
        recent=recent,
        levels=list(levels),
        window_norm=fc.window_norm_,
        train_s=seconds,
        best_epoch=fc.best_epoch_,
        epochs_run=len(fc.history_),
        val_origins=len(val),
        test_origins=len(test),
        test_points=len(test) * H,
        error_ratio=model_test_rmse / model_val_rmse,
        spread_error_corr=tracking,
        arms=arms,
        report_check_max_diff=float(check),
    )


def summarise(rows: list[dict]) -> dict:
    """Per arm and level, over the series where both that arm and arm A have the level's band."""
    out: dict = dict(series=len(rows), test_points=int(sum(r["test_points"] for r in rows)))
    for arm in ARMS:
        item: dict = dict(skipped=[r["series"] for r in rows if "skipped" in r["arms"][arm]])
        for level in ("80", "95"):
            nominal = float(level) / 100
            have = [r for r in rows if level in r["arms"][arm] and level in r["arms"]["model"]]
            if not have:  # no series has this band in both arms (usmelec alone has no 95% band): no figures
                item[level] = dict(series=0, missing=[r["series"] for r in rows])
                if level == "80":
                    item["series_in_70_90"], item["outside_70_90"] = 0, []
                continue
            points = np.array([r["test_points"] for r in have], dtype=float)
            cov = np.array([r["arms"][arm][level]["coverage"] for r in have])
            mine = [r["arms"][arm][level] for r in have]
            base = [r["arms"]["model"][level] for r in have]
            score = np.array([a["interval_score"] / b["interval_score"] for a, b in zip(mine, base, strict=True)])
            width = np.array([a["width"] / b["width"] for a, b in zip(mine, base, strict=True)])
            item[level] = dict(
                series=len(have),
                missing=[r["series"] for r in rows if r not in have],
                pooled_coverage=float((cov * points).sum() / points.sum()),
                median_coverage=float(np.median(cov)),
                mean_abs_gap=float(np.mean(np.abs(cov - nominal))),
                min_coverage=[float(cov.min()), have[int(cov.argmin())]["series"]],
                max_coverage=[float(cov.max()), have[int(cov.argmax())]["series"]],
                median_score_ratio=float(np.median(score)),
                geomean_score_ratio=float(np.exp(np.mean(np.log(score)))),
                lower_score_than_model=int((score < 1 - 1e-12).sum()),
                median_width_ratio=float(np.median(width)),
            )
            if level == "80":
                inside = (cov >= 0.70) & (cov <= 0.90)
                item["series_in_70_90"] = int(inside.sum())
                item["outside_70_90"] = [r["series"] for r, ok in zip(have, inside, strict=True) if not ok]
        out[arm] = item
    return out


def table(rows: list[dict]) -> str:
    head = (
        "| series | window_norm | test points | test/val error | coverage 80 (A / B / C / D) | "
        "coverage 95 (A / B / C / D) | width 80 A | interval score 80 (A / B / C / D) | "
        "interval score 95 (A / B / C / D) |"
    )
    lines = [head, "|---|---|" + "---:|" * (head.count("|") - 3)]

    def cells(r: dict, level: str, key: str, fmt: str) -> str:
        return " / ".join(
            "-"
            if level not in r["arms"][a]
            else format(r["arms"][a][level][key] * (100 if key == "coverage" else 1), fmt)
            for a in ARMS
        )

    for r in rows:
        lines.append(
            f"| {r['series']} | {r['window_norm']} | {r['test_points']:,} | {r['error_ratio']:.2f} | "
            f"{cells(r, '80', 'coverage', '.1f')} | {cells(r, '95', 'coverage', '.1f')} | "
            f"{r['arms']['model']['80']['width']:.4g} | {cells(r, '80', 'interval_score', '.4g')} | "
            f"{cells(r, '95', 'interval_score', '.4g')} |"
        )
    return "\n".join(lines)


def summary_table(summary: dict) -> str:
    head = (
        "| arm | pooled cov 80 | pooled cov 95 | series in 70-90 | mean abs gap 80 / 95 (points) | "
        "median IS ratio vs A 80 / 95 | geomean IS ratio 80 / 95 | lower IS than A (80 / 95) | median width ratio 80 |"
    )
    lines = [head, "|---|" + "---:|" * (head.count("|") - 2)]

    def cell(figures: dict, key: str, fmt: str, times: float = 1) -> str:
        """One figure, or "-" for a level no series had a band of (summarise gives it none)."""
        return format(figures[key] * times, fmt) if key in figures else "-"

    for letter, arm in zip("ABCD", ARMS, strict=True):
        s = summary[arm]
        a, b = s["80"], s["95"]
        lines.append(
            f"| {letter} {arm} ({a['series']} / {b['series']} series) | "
            f"{cell(a, 'pooled_coverage', '.1f', 100)} | {cell(b, 'pooled_coverage', '.1f', 100)} | "
            f"{s['series_in_70_90']} of {a['series']} | "
            f"{cell(a, 'mean_abs_gap', '.1f', 100)} / {cell(b, 'mean_abs_gap', '.1f', 100)} | "
            f"{cell(a, 'median_score_ratio', '.3f')} / {cell(b, 'median_score_ratio', '.3f')} | "
            f"{cell(a, 'geomean_score_ratio', '.3f')} / {cell(b, 'geomean_score_ratio', '.3f')} | "
            f"{cell(a, 'lower_score_than_model', 'd')} / {cell(b, 'lower_score_than_model', 'd')} | "
            f"{cell(a, 'median_width_ratio', '.3f')} |"
        )
    return "\n".join(lines)


def main() -> None:
    from series import by_role

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", action="append", help="a dev series; repeat for several (default all 13)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="processes, one thread each (default 2)")
    parser.add_argument("--json", type=Path, default=HERE / "out" / "interval_scaling_dev.json")
    args = parser.parse_args()
    names = [s.name for s in by_role(ROLE) if not args.series or s.name in args.series]
    if args.series and len(names) != len(set(args.series)):
        raise SystemExit(f"not dev series: {sorted(set(args.series) - set(names))}")
    load_before = os.getloadavg()
    print(f"{len(names)} {ROLE} series, {args.workers} workers; load average before {load_before}", flush=True)
    t0 = time.perf_counter()
    results = []
    with ProcessPoolExecutor(args.workers) as pool:
        futures = {pool.submit(run_one, n, args.seed): n for n in names}
        for future in as_completed(futures):
            r = future.result()
            results.append(r)
            cov = " ".join(f"{a}={r['arms'][a]['80']['coverage']:.3f}" for a in ARMS if "80" in r["arms"][a])
            print(
                f"[{time.perf_counter() - t0:6.0f} s] {r['series']} ({r['window_norm']}): fit {r['train_s']:.1f} s, "
                f"coverage 80 {cov}, check {r['report_check_max_diff']:.2g}",
                flush=True,
            )
            if r["report_check_max_diff"] > 1e-6:
                print(f"  CHECK FAILED {r['series']}: arm A differs from the model's report", flush=True)
    took = time.perf_counter() - t0
    load_after = os.getloadavg()
    results.sort(key=lambda r: names.index(r["series"]))
    summary = summarise(results)
    print()
    print(table(results))
    print()
    print(summary_table(summary))
    print()
    for arm in ARMS:
        s = summary[arm]
        print(
            f"{arm}: outside 70-90 at 80%: {s['outside_70_90']}; without a band at 80% {s['80']['missing']}, "
            f"at 95% {s['95']['missing']}"
        )
    print(f"took {took:.0f} s; load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (2 vCPU)")
    args.json.parent.mkdir(exist_ok=True)
    record = dict(took_s=took, role=ROLE, args=vars(args), load=[load_before, load_after])
    args.json.write_text(json.dumps(dict(record, summary=summary, results=results), indent=1, default=str))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
