"""Nightly recalibration (issue 16): ``lstmcast calibrate --last N`` run before every "day" of the test
part, against the bands and quantiles training left.

For every series of one role in benchmarks/series.py (``--role dev`` first, then ``report`` once),
lstmcast is fitted through the Python API as benchmarks/intervals.py fits it: its DEFAULT settings
apart from the registry's lookback, horizon and season, ``levels="80,95"`` and
``quantiles=(0.1, 0.5, 0.9)`` (trained after the network; it does not change it); the default 70/10/20
split, one torch thread, target only, series longer than 20,000 rows keep their last 20,000
(``recipe_study.load``). The test origins are the ones the model's report uses (at least one season in;
``intervals.model_rows``).

The cron workflow, simulated on the test part: the test origins are cut into consecutive blocks of K
rows, K = one "day" = the registry's season (horizon where the season is 1). Series with more than
``--max-blocks`` (60) blocks keep that many, evenly spread over the test part. Before each kept block
whose first origin is ``o`` (its first forecast row is row ``o``), the model is recalibrated with
``lstmcast.calibration.calibrate(fc.state_, frame[:o], last=N)``: only rows before ``o``, so every
calibration origin's whole horizon ends at row ``o - 1`` at the latest (checked on every call, by row
and by time where the series has times: no leakage). The frame passed is cut to the rows those N
origins need (their lookbacks and horizons), which changes nothing but the work. The block's forecasts
(the network is unchanged: ``forecast_origins`` once) are then scored with the recalibrated bands
(``Intervals.bands``) and quantiles (``Quantiles.values`` with the head's offsets,
``lstmcast.fitting.series_offsets``), and the blocks are pooled per series.

Arms, each on the same kept blocks:

    trained  the bands and quantiles training left (split conformal on the validation part)
    2K, 5K, 10K  calibrate with last = 2, 5, 10 blocks' worth of origins (at least 39: a 95% band
             needs 2/alpha - 1 = 39 origins; so at least 39 on every series with K < 20)
    all      calibrate with every origin from the model's first validation origin on (validation and
             the test part so far; grows block by block)

Per arm and series: coverage, mean width and interval score of the 80% and 95% bands
(``lstmcast.intervals.interval_scores``), and each quantile's share of actual values at or below it and
its pinball loss (``lstmcast.quantiles.quantile_scores``), in the target's units. Checks, per series
(``checks`` in the JSON; a failure is printed): the trained bands and quantiles scored here on every test
origin equal the model's own test report (``metrics_``), and, where a JSON of the same role's
intervals.py / quantiles.py run is in benchmarks/out, that report's coverage equals it; every calibrate
call used N origins and its last horizon ends before its block's first forecast row.

    python benchmarks/recalibration.py --role dev                   # out/recalibration_dev.json
    python benchmarks/recalibration.py --role report                # out/recalibration_report.json, once
    python benchmarks/recalibration.py --role dev --series usmelec --workers 1 --json /tmp/r.json  # smoke

N is chosen on the development series only, by the rule in docs/benchmarks.md ("Nightly
recalibration (#16)"), written before the report run.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from role_runner import quiet_fit, run_roles  # noqa: E402

LEVELS = (80.0, 95.0)
QUANTILES = (0.1, 0.5, 0.9)
MULTIPLES = (2, 5, 10)
MIN_LAST = 39  # a 95% band's least calibration: 2 / 0.05 - 1
ARMS = ("trained", "2K", "5K", "10K", "all")


def block_length(spec) -> int:
    return spec.season if spec.season > 1 else spec.horizon


def blocks_of(test: np.ndarray, k: int, cap: int) -> tuple[list[np.ndarray], int]:
    """The test origins cut into consecutive blocks of ``k`` (the last may be shorter), at most ``cap``
    of them kept, evenly spread; and how many there were."""
    blocks = [test[i : i + k] for i in range(0, len(test), k)]
    total = len(blocks)
    if total > cap:
        keep = np.unique(np.round(np.linspace(0, total - 1, cap)).astype(int))
        blocks = [blocks[i] for i in keep]
    return blocks, total


def band_figures(scores: dict) -> dict:
    return {
        k: dict(coverage=v["coverage"], width=v["width"], interval_score=v["interval_score"]) for k, v in scores.items()
    }


def quantile_figures(scores: dict) -> dict:
    from quantiles import quantile_summary

    s = quantile_summary(scores)
    return dict(
        levels={k: dict(coverage=v["coverage"], pinball=v["pinball"]) for k, v in s["levels"].items()},
        pinball=s["pinball"],
    )


def reference_rows(role: str) -> dict:
    """The same role's intervals.py and quantiles.py results, where their JSONs are in benchmarks/out."""
    out = {}
    for script in ("intervals", "quantiles"):
        path = HERE / "out" / f"{script}_{role}.json"
        if path.exists():
            out[script] = {r["series"]: r for r in json.loads(path.read_text())["results"]}
    return out


def fit_with_levels(frame, spec, seed: int, **params):
    """A Forecaster fitted quietly on ``frame`` with the registry's settings, ``levels="80,95"``, or
    ``"80"`` where the validation part is too short for 95% (usmelec: 38 origins); and its seconds."""
    from lstmcast import Forecaster
    from lstmcast.errors import DataError

    time_col = "time" if "time" in frame else None
    started = time.perf_counter()
    for levels in ("80,95", "80"):
        fc = Forecaster(
            "y",
            time_col=time_col,
            lookback=spec.lookback,
            horizon=spec.horizon,
            season=spec.season,
            seed=seed,
            levels=levels,
            **params,
        )
        try:
            quiet_fit(fc, frame)
            return fc, time.perf_counter() - started
        except DataError as e:
            if levels == "80" or "too few" not in str(e):
                raise
    raise AssertionError("unreachable")


def run_one(name: str, role: str, seed: int, cap: int) -> dict:  # noqa: C901 (one straight run: fit, arms, checks)
    from intervals import model_rows
    from recipe_study import load

    import lstmcast
    from lstmcast.calibration import calibrate
    from lstmcast.fitting import series_offsets
    from lstmcast.intervals import interval_scores, window_spread
    from lstmcast.quantiles import quantile_scores
    from lstmcast.train import use_threads

    use_threads(1)
    spec, frame, rows = load(name, role)
    L, H, m = spec.lookback, spec.horizon, spec.season
    fc, fit_s = fit_with_levels(frame, spec, seed, quantiles=QUANTILES)
    have = tuple(lv for lv in LEVELS if lv in fc.state_.intervals.levels)
    names = [f"{lv:g}" for lv in have]
    met = fc.metrics_

    rows_seen = model_rows(fc, frame)
    series, val, test = rows_seen.series, rows_seen.val, rows_seen.test
    target, scaled, scale = rows_seen.target, rows_seen.scaled, rows_seen.scale
    steps, lags = np.arange(H), np.arange(L)
    norm = fc.window_norm_
    forecast = fc.forecast_origins(series, test)  # original units, the network's; no arm changes it
    offsets = series_offsets(fc.model_, fc.state_, series, test)  # [N, H, Q] spread units
    spread = window_spread(scaled[test[:, None] - L + lags], norm) * scale  # original units
    actual = target[test[:, None] + steps]
    state = fc.state_

    # (a) on every test origin: must be the model's own report.
    all_bands = interval_scores(actual, state.intervals.bands(forecast, spread))
    all_q = quantile_scores(actual, state.quantiles.values(forecast, offsets, spread), QUANTILES)
    checks = dict(
        report_band_diff=float(
            max(
                max(abs(all_bands[k]["coverage"] - met["intervals"][k]["coverage"]) for k in names),
                max(abs(all_bands[k]["interval_score"] / met["intervals"][k]["interval_score"] - 1) for k in names),
            )
        ),
        report_quantile_diff=float(
            max(
                abs(all_q["levels"][k]["coverage"] - met["quantiles"]["levels"][k]["coverage"]) for k in all_q["levels"]
            )
        ),
    )
    ref = reference_rows(role)
    if name in ref.get("intervals", {}):
        r = ref["intervals"][name]["model"]
        checks["intervals_py_coverage_diff"] = float(
            max(abs(all_bands[k]["coverage"] - r[k]["coverage"]) for k in names)
        )
        checks["intervals_py_width_rel_diff"] = float(
            max(abs(all_bands[k]["width"] / r[k]["width"] - 1) for k in names)
        )
    if name in ref.get("quantiles", {}):
        r = ref["quantiles"][name]
        checks["quantiles_py_coverage_diff"] = float(
            max(
                abs(all_q["levels"][k]["coverage"] - r["quantiles"]["head"]["levels"][k]["coverage"])
                for k in all_q["levels"]
            )
        )
        checks["quantiles_py_band80_coverage_diff"] = float(
            abs(all_bands["80"]["coverage"] - r["bands"]["conformal"]["coverage"])
        )

    # The cron workflow on the kept blocks.
    K = block_length(spec)
    blocks, total_blocks = blocks_of(test, K, cap)
    position = {int(o): i for i, o in enumerate(test)}
    rows_of = [np.array([position[int(o)] for o in b]) for b in blocks]
    kept = np.concatenate(rows_of)
    lasts = {f"{c}K": max(c * K, MIN_LAST) for c in MULTIPLES}
    arm_low = {a: {lv: [] for lv in have} for a in ARMS}
    arm_high = {a: {lv: [] for lv in have} for a in ARMS}
    arm_q = {a: [] for a in ARMS}
    leak_worst = -np.inf  # last calibration forecast row minus the block's first forecast row (must be < 0)
    time_leaks = 0
    origins_mismatch = 0
    in_sample = {a: [] for a in ARMS if a != "trained"}
    calibrate_s = {a: 0.0 for a in ARMS if a != "trained"}
    warned: set[str] = set()
    widths_scaled = {a: [] for a in ARMS}  # 80% band's mean width in scaled units per block (drift view)
    for block, idx in zip(blocks, rows_of, strict=True):
        o = int(block[0])
        fb, ob, sb = forecast[idx], offsets[idx], spread[idx]
        for arm in ARMS:
            if arm == "trained":
                st = state
            else:
                n = lasts[arm] if arm != "all" else o - H - int(val[0]) + 1
                start = max(0, o - H - n + 1 - L)  # the rows those n origins need; nothing at or after o
                t1 = time.perf_counter()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    cal = calibrate(state, frame.iloc[start:o].reset_index(drop=True), last=n)
                calibrate_s[arm] += time.perf_counter() - t1
                for w in caught:  # the in-sample warning is counted in in_sample; keep the others' gist
                    text = str(w.message).split(":", 1)[-1].strip()
                    if "trained or early-stopped on" not in text:
                        warned.add(f"{arm}: {re.sub(r'[0-9][0-9,.]*', '#', text)[:120]}")
                st = cal.state
                expected = min(n, o - H - start - L + 1)
                if cal.origins != expected:
                    origins_mismatch += 1
                # The last calibration origin is row o - H (the frame ends at row o - 1); its horizon ends at o - 1.
                last_row = start + (o - start) - 1  # the frame's last row, in the series' rows
                leak_worst = max(leak_worst, last_row - o)
                period = st.calibration.get("period")
                if period is not None and series.index is not None:
                    if not np.datetime64(period["end"]) < np.datetime64(series.index[o]):
                        time_leaks += 1
                in_sample[arm].append(cal.in_sample)
            bands = st.intervals.bands(fb, sb)
            for lv in have:
                arm_low[arm][lv].append(bands[lv][0])
                arm_high[arm][lv].append(bands[lv][1])
            arm_q[arm].append(st.quantiles.values(fb, ob, sb))
            widths_scaled[arm].append(float(np.mean(st.intervals.upper[0] - st.intervals.lower[0])))
    act = actual[kept]
    arms = {}
    for arm in ARMS:
        b = {lv: (np.concatenate(arm_low[arm][lv]), np.concatenate(arm_high[arm][lv])) for lv in have}
        arms[arm] = dict(
            bands=band_figures(interval_scores(act, b)),
            quantiles=quantile_figures(quantile_scores(act, np.concatenate(arm_q[arm]), QUANTILES)),
            width80_scaled_blocks=[
                min(widths_scaled[arm]),
                float(np.median(widths_scaled[arm])),
                max(widths_scaled[arm]),
            ],
        )
    checks.update(
        leak_worst_row=int(leak_worst),
        time_leaks=time_leaks,
        origins_mismatch=origins_mismatch,
        calibrate_calls=len(blocks) * (len(ARMS) - 1),
    )
    model_val = fc.scaler_.transform_target(fc.forecast_origins(series, val))
    val_rmse = float(np.sqrt(np.mean((scaled[val[:, None] + steps] - model_val) ** 2)))
    test_rmse = float(np.sqrt(np.mean((actual - forecast) ** 2))) / scale
    return dict(
        series=name,
        group=spec.group,
        rows=rows,
        rows_used=len(frame),
        lookback=L,
        horizon=H,
        season=m,
        block=K,
        lasts=lasts,
        window_norm=norm,
        levels=list(have),
        fit_s=fit_s,
        calibrate_s=calibrate_s,
        val_origins=len(val),
        test_origins=len(test),
        blocks_total=total_blocks,
        blocks_kept=len(blocks),
        scored_origins=int(len(kept)),
        scored_points=int(len(kept) * H),
        first_block_origin=int(blocks[0][0]),
        val_first_origin=int(val[0]),
        all_last_range=[int(blocks[0][0]) - H - int(val[0]) + 1, int(blocks[-1][0]) - H - int(val[0]) + 1],
        in_sample={a: [min(v), max(v)] if v and None not in v else None for a, v in in_sample.items()},
        warnings=sorted(warned),
        trained_all_origins=dict(bands=band_figures(all_bands), quantiles=quantile_figures(all_q)),
        arms=arms,
        error_ratio=test_rmse / val_rmse,
        lstmcast_file=lstmcast.__file__,
        checks=checks,
    )


def check_failures(r: dict) -> list[str]:
    c, out = r["checks"], []
    if c["report_band_diff"] > 1e-9 or c["report_quantile_diff"] > 1e-9:
        out.append(
            f"trained scores differ from the report: bands {c['report_band_diff']:.3g}, "
            f"quantiles {c['report_quantile_diff']:.3g}"
        )
    for key in ("intervals_py_coverage_diff", "quantiles_py_coverage_diff", "quantiles_py_band80_coverage_diff"):
        if key in c and c[key] > 1e-9:
            out.append(f"{key} {c[key]:.3g}")
    if c.get("intervals_py_width_rel_diff", 0) > 1e-6:
        out.append(f"intervals_py_width_rel_diff {c['intervals_py_width_rel_diff']:.3g}")
    if c["leak_worst_row"] >= 0 or c["time_leaks"]:
        out.append(f"LEAK: a calibration forecast row at or after its block ({c['leak_worst_row']}, {c['time_leaks']})")
    if c["origins_mismatch"]:
        out.append(f"{c['origins_mismatch']} calibrate calls used another number of origins than asked")
    return out


def table(rows: list[dict], arms=ARMS) -> str:
    head = (
        "| series | K | blocks kept (of) | scored points | N: 2K / 5K / 10K / all (first-last block) | "
        + " | ".join(f"cov 80 / 95: {a}" for a in arms)
        + " | "
        + " | ".join(f"IS 80: {a}" for a in arms)
        + " | q0.1 / q0.5 / q0.9: trained | q0.1 / q0.5 / q0.9: "
        + " / ".join(a for a in arms if a != "trained")
        + " | test/val RMSE |"
    )
    lines = [head, "|---|" + "---:|" * (head.count("|") - 2)]
    for r in rows:
        A = r["arms"]
        cov = " | ".join(
            f"{100 * A[a]['bands']['80']['coverage']:.1f} / "
            + (f"{100 * A[a]['bands']['95']['coverage']:.1f}" if "95" in A[a]["bands"] else "-")
            for a in arms
        )
        score = " | ".join(f"{A[a]['bands']['80']['interval_score']:.4g}" for a in arms)
        qs = {
            a: " / ".join(f"{100 * A[a]['quantiles']['levels'][k]['coverage']:.1f}" for k in ("q0.1", "q0.5", "q0.9"))
            for a in arms
        }
        lasts = r["lasts"]
        lines.append(
            f"| {r['series']} | {r['block']} | {r['blocks_kept']} ({r['blocks_total']}) | {r['scored_points']:,} | "
            f"{lasts['2K']} / {lasts['5K']} / {lasts['10K']} / {r['all_last_range'][0]}-{r['all_last_range'][1]} | "
            f"{cov} | {score} | {qs['trained']} | {' ; '.join(qs[a] for a in arms if a != 'trained')} | "
            f"{r['error_ratio']:.2f} |"
        )
    return "\n".join(lines)


def summarise(rows: list[dict]) -> dict:
    points = np.array([r["scored_points"] for r in rows], dtype=float)
    out: dict = dict(series=len(rows), scored_points=int(points.sum()))
    for arm in ARMS:
        per: dict = {}
        for lv in ("80", "95"):
            have = [r for r in rows if lv in r["arms"][arm]["bands"]]  # usmelec has 80% only
            if not have:  # a run of such series alone (the docstring's smoke run): nothing to pool
                per[lv] = dict(series=0)
                continue
            pts = np.array([r["scored_points"] for r in have], dtype=float)
            cov = np.array([r["arms"][arm]["bands"][lv]["coverage"] for r in have])
            iscore = np.array([r["arms"][arm]["bands"][lv]["interval_score"] for r in have])
            trained_is = np.array([r["arms"]["trained"]["bands"][lv]["interval_score"] for r in have])
            width = np.array(
                [r["arms"][arm]["bands"][lv]["width"] / r["arms"]["trained"]["bands"][lv]["width"] for r in have]
            )
            nominal = float(lv) / 100
            per[lv] = dict(
                series=len(have),
                pooled=float((cov * pts).sum() / pts.sum()),
                median=float(np.median(cov)),
                mean_abs_miss_points=float(100 * np.mean(np.abs(cov - nominal))),
                min=[float(cov.min()), have[int(cov.argmin())]["series"]],
                max=[float(cov.max()), have[int(cov.argmax())]["series"]],
                median_score_ratio=float(np.median(iscore / trained_is)),
                score_lower_than_trained=int((iscore < trained_is).sum()),
                median_width_ratio=float(np.median(width)),
            )
        cov80 = np.array([r["arms"][arm]["bands"]["80"]["coverage"] for r in rows])
        per["in_70_90"] = int(((cov80 >= 0.70) & (cov80 <= 0.90)).sum())
        per["outside_70_90"] = [
            f"{r['series']} {100 * c:.1f}" for r, c in zip(rows, cov80, strict=True) if not 0.70 <= c <= 0.90
        ]
        per["pooled_in_77_83"] = bool(0.77 <= per["80"]["pooled"] <= 0.83)
        q = {}
        for k in ("q0.1", "q0.5", "q0.9"):
            cov = np.array([r["arms"][arm]["quantiles"]["levels"][k]["coverage"] for r in rows])
            q[k] = dict(
                pooled=float((cov * points).sum() / points.sum()),
                median=float(np.median(cov)),
                mean_abs_miss_points=float(100 * np.mean(np.abs(cov - float(k[1:])))),
            )
        pin = np.array(
            [r["arms"][arm]["quantiles"]["pinball"] / r["arms"]["trained"]["quantiles"]["pinball"] for r in rows]
        )
        q["median_pinball_ratio"] = float(np.median(pin))
        q["pinball_lower_than_trained"] = int((pin < 1).sum())
        band = np.array(
            [
                r["arms"][arm]["quantiles"]["levels"]["q0.9"]["coverage"]
                - r["arms"][arm]["quantiles"]["levels"]["q0.1"]["coverage"]
                for r in rows
            ]
        )
        q["band_q01_q09_pooled"] = float((band * points).sum() / points.sum())
        q["band_in_70_90"] = int(((band >= 0.70) & (band <= 0.90)).sum())
        per["quantiles"] = q
        out[arm] = per
    out["all_origins_trained_pooled_80"] = float(
        sum(r["trained_all_origins"]["bands"]["80"]["coverage"] * r["test_origins"] * r["horizon"] for r in rows)
        / sum(r["test_origins"] * r["horizon"] for r in rows)
    )
    return out


def progress(r: dict) -> str:
    A = r["arms"]
    cov = " ".join(f"{a} {A[a]['bands']['80']['coverage']:.3f}" for a in ARMS)
    return (
        f"fit {r['fit_s']:.0f} s, calibrate "
        f"{sum(r['calibrate_s'].values()):.0f} s, {r['blocks_kept']} of {r['blocks_total']} blocks; "
        f"cov80 {cov}; "
        f"load {os.getloadavg()[0]:.2f}"
    )


def longest_first(args, specs: list) -> list:
    """Longest fit first (by the earlier runs' fit seconds, where their JSONs are here), so that two
    workers finish together."""
    ref = reference_rows(args.role)
    before = {n: r.get("train_s", 0.0) for rows in ref.values() for n, r in rows.items()}
    return sorted(specs, key=lambda s: -before.get(s.name, 0.0))


def add_options(parser) -> None:
    parser.add_argument("--max-blocks", type=int, default=60, help="blocks kept per series, evenly spread (60)")


def print_summary(summary: dict, results: list[dict]) -> None:
    print(json.dumps(summary, indent=1))
    print(f"lstmcast from {results[0]['lstmcast_file']}")


def main() -> None:
    run_roles(
        "recalibration",
        __doc__,
        run_one,
        progress,
        check_failures,
        summarise,
        table,
        add_options=add_options,
        run_args=lambda args: (args.max_blocks,),
        order=longest_first,
        final=print_summary,
    )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
