"""Forecast quantiles (issue 16): lstmcast's quantile head, conformalised per level, against the same
conformal step without the head and around the ridge baseline.

For every series of one role in benchmarks/series.py (``--role dev`` first, then ``report`` once),
lstmcast is fitted through the Python API as benchmarks/intervals.py fits it: its DEFAULT settings
apart from the registry's lookback, horizon and season, plus ``quantiles=(0.1, 0.5, 0.9)`` and
``levels="80"``; the default 70/10/20 split, one torch thread, target only (exogenous columns are
dropped), series longer than 20,000 rows keep their last 20,000 (``recipe_study.load``). The model's
figures are read from its test report (``metrics_``: ``quantiles``, ``pinball``, ``crps``,
``intervals["80"]``), on the test origins it uses (at least one season in; ``intervals.model_rows``).

Quantile arms, each scored on the same test origins with ``lstmcast.quantiles.quantile_scores``
(coverage = share of actual values at or below the quantile; pinball per level and their mean; CRPS
approximated as twice the mean pinball):

    head     the model's quantiles (its head's offsets plus the conformal shifts): the report's
    no-head  the same one-sided conformal step with the head's offsets set to zero
             (``lstmcast.quantiles.fit_shifts`` on the validation origins, in units of the model's
             window spread): per-step conformal quantiles of the network's validation errors
    ridge    the same step around the model's own ridge baseline (``ridge_``, scaled units, spread 1):
             per-step conformal quantiles of ridge's validation errors

80% bands, scored with ``lstmcast.intervals.interval_scores`` (coverage, mean width, interval score, in
the target's units): [q0.1, q0.9] of each quantile arm, the model's own ``--level 80`` conformal band
(its report) and ridge-conformal 80% (``fit_intervals`` around ``ridge_``, as intervals.py builds it).

Whether the head adapts: per step, the correlation across test origins between the head's band width
(q0.9 - q0.1) and the absolute error of its median, averaged over steps, and the width's coefficient of
variation across origins (0 for a band of one width per step with spread 1).

Checks on the library, per series (``checks`` in the JSON; a failure is printed): the quantiles rebuilt
here from ``forecast_origins``, ``lstmcast.fitting.series_offsets`` and ``quantiles_`` equal ``report.quantile_values``'
and score exactly as the report; the conformal shifts recomputed from the validation errors left after
the head equal ``quantiles_.shifts``.

    python benchmarks/quantiles.py --role dev                       # out/quantiles_dev.json
    python benchmarks/quantiles.py --role report                    # out/quantiles_report.json, once
    python benchmarks/quantiles.py --role dev --series usmelec --workers 1 --json /tmp/q.json   # smoke

Nothing about quantiles was chosen on the report series: they are reported once, as the code stands.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from role_runner import quiet_fit, run_roles  # noqa: E402

LEVELS = (0.1, 0.5, 0.9)
BAND = 80.0  # [q0.1, q0.9]
ARMS = ("head", "no_head", "ridge")
BANDS = ("head", "no_head", "ridge_q", "conformal", "ridge_conformal")


def quantile_summary(scores: dict) -> dict:
    """The figures kept of ``quantile_scores``' (or a report's ``quantiles``) output."""
    levels = {
        name: dict(
            coverage=item["coverage"],
            pinball=item["pinball"],
            step_coverage_min=float(min(item["per_step_coverage"])),
            step_coverage_max=float(max(item["per_step_coverage"])),
        )
        for name, item in scores["levels"].items()
    }
    return dict(levels=levels, pinball=scores["pinball"], crps=scores["crps"])


def band_summary(scores: dict) -> dict:
    from intervals import scores_of

    return scores_of(scores, "80")


def adaptivity(values: np.ndarray, actual: np.ndarray) -> dict:
    """How the band [q0.1, q0.9] varies across origins: its width's coefficient of variation and the
    correlation of the width with the median's absolute error, each per step, averaged over steps."""
    width = values[:, :, 2] - values[:, :, 0]  # [N, H]
    error = np.abs(actual - values[:, :, 1])
    cv, corr = [], []
    for h in range(width.shape[1]):
        w, e = width[:, h], error[:, h]
        cv.append(float(w.std() / w.mean()) if w.mean() > 0 else 0.0)
        if w.std() > 1e-12 * max(abs(w.mean()), 1e-300) and e.std() > 0:
            corr.append(float(np.corrcoef(w, e)[0, 1]))
    return dict(width_cv=float(np.mean(cv)), width_error_corr=float(np.mean(corr)) if corr else None)


def run_one(name: str, role: str, seed: int) -> dict:
    from intervals import model_rows, part_means
    from recipe_study import load

    from lstmcast import Forecaster
    from lstmcast.fitting import series_offsets
    from lstmcast.intervals import fit_intervals, interval_scores, window_spread
    from lstmcast.quantiles import fit_shifts, quantile_scores
    from lstmcast.report import Scoring, quantile_values
    from lstmcast.train import use_threads

    use_threads(1)
    spec, frame, rows = load(name, role)
    time_col = "time" if "time" in frame else None
    L, H, m = spec.lookback, spec.horizon, spec.season
    fc = Forecaster("y", time_col=time_col, lookback=L, horizon=H, season=m, seed=seed, levels="80", quantiles=LEVELS)
    seconds = quiet_fit(fc, frame)
    met = fc.metrics_

    # The same split, origins and scaled target as the model's.
    rows_seen = model_rows(fc, frame)
    series, split, val, test = rows_seen.series, rows_seen.split, rows_seen.val, rows_seen.test
    target, scaled, scale = rows_seen.target, rows_seen.scaled, rows_seen.scale
    steps, lags = np.arange(H), np.arange(L)
    actual_val, actual_test = scaled[val[:, None] + steps], target[test[:, None] + steps]
    norm = fc.window_norm_
    q = fc.quantiles_
    Q = len(LEVELS)

    # The head: the model's quantiles rebuilt here (original units) and its validation errors.
    model_test = fc.forecast_origins(series, test)  # original units
    model_val = fc.scaler_.transform_target(fc.forecast_origins(series, val))  # scaled
    offsets_test = series_offsets(fc.model_, fc.state_, series, test)  # [N, H, Q], spread units
    offsets_val = series_offsets(fc.model_, fc.state_, series, val)
    spread_val = window_spread(scaled[val[:, None] - L + lags], norm)  # scaled units
    spread_test = window_spread(scaled[test[:, None] - L + lags], norm) * scale  # original units
    head_values = q.values(model_test, offsets_test, spread_test)
    head_scores = quantile_scores(actual_test, head_values, LEVELS)

    # No head: the same conformal step on the network's validation errors, offsets zero.
    no_head = fit_shifts(actual_val, model_val, np.zeros((len(val), H, Q)), spread_val, LEVELS, norm, name)
    no_head_values = no_head.values(model_test, np.zeros((len(test), H, Q)), spread_test)

    # Ridge: the same step on the ridge baseline's validation errors (scaled units, spread 1).
    ridge = fc.ridge_
    ridge_val, ridge_test = ridge.predict(scaled, val), ridge.predict(scaled, test)  # scaled
    ridge_q = fit_shifts(
        actual_val, ridge_val, np.zeros((len(val), H, Q)), np.ones((len(val), 1)), LEVELS, "none", name
    )
    ridge_values = fc.scaler_.inverse_target(
        ridge_q.values(ridge_test, np.zeros((len(test), H, Q)), np.ones((len(test), 1)))
    )
    ridge_conf = fit_intervals(actual_val - ridge_val, np.ones((len(val), 1)), (BAND,), "none", name)
    ridge_bands = {
        level: (fc.scaler_.inverse_target(low), fc.scaler_.inverse_target(high))
        for level, (low, high) in ridge_conf.bands(ridge_test, np.ones((len(test), 1))).items()
    }

    quantiles = {
        "head": quantile_summary(met["quantiles"]),
        "no_head": quantile_summary(quantile_scores(actual_test, no_head_values, LEVELS)),
        "ridge": quantile_summary(quantile_scores(actual_test, ridge_values, LEVELS)),
    }

    def q_band(values: np.ndarray) -> dict:
        return band_summary(interval_scores(actual_test, {BAND: (values[:, :, 0], values[:, :, -1])}))

    bands = {
        "head": q_band(head_values),
        "no_head": q_band(no_head_values),
        "ridge_q": q_band(ridge_values),
        "conformal": band_summary(met["intervals"]),
        "ridge_conformal": band_summary(interval_scores(actual_test, ridge_bands)),
    }

    # Checks on the library: the quantiles rebuilt here against the report's, the shifts recomputed.
    via_report = quantile_values(Scoring.of(fc.state_), target, test, model_test, offsets_test)
    again = fit_shifts(actual_val, model_val, offsets_val, spread_val, LEVELS, norm, name)
    report_levels = met["quantiles"]["levels"]
    checks = dict(
        values_vs_report_values_max_abs_diff=float(np.abs(head_values - via_report).max() / scale),
        report_coverage_diff=float(
            max(abs(head_scores["levels"][k]["coverage"] - report_levels[k]["coverage"]) for k in report_levels)
        ),
        report_pinball_rel_diff=float(
            max(abs(head_scores["levels"][k]["pinball"] / report_levels[k]["pinball"] - 1) for k in report_levels)
        ),
        report_crps_rel_diff=float(abs(head_scores["crps"] / met["crps"] - 1)),
        shifts_max_abs_diff=float(np.abs(again.shifts - q.shifts).max()),
        calibration=q.calibration,
        val_origins=len(val),
        crossing_before_sort=int(
            (np.diff(model_test[:, :, None] + (offsets_test + q.shifts.T[None]) * spread_test[:, :, None], axis=2) < 0)
            .any(axis=2)
            .sum()
        ),
    )

    # Why a coverage can be off: the test part's errors against the validation part's (scaled RMSE).
    model_val_rmse = float(np.sqrt(np.mean((actual_val - model_val) ** 2)))
    model_test_rmse = float(np.sqrt(np.mean((actual_test - model_test) ** 2))) / scale
    ridge_val_rmse = float(np.sqrt(np.mean((actual_val - ridge_val) ** 2)))
    ridge_test_rmse = float(np.sqrt(np.mean((scaled[test[:, None] + steps] - ridge_test) ** 2)))
    head_record = fc.training_.get("quantile_head", {})
    return dict(
        series=name,
        group=spec.group,
        rows=rows,
        rows_used=len(frame),
        lookback=L,
        horizon=H,
        season=m,
        window_norm=norm,
        train_s=seconds,
        epochs_run=len(fc.history_),
        best_epoch=fc.best_epoch_,
        head=head_record,
        val_origins=len(val),
        test_origins=len(test),
        test_points=len(test) * H,
        mse=met["mse"],
        ridge_mse=met["baselines"]["ridge"]["mse"],
        quantiles=quantiles,
        bands=bands,
        adaptivity=dict(
            head=adaptivity(head_values, actual_test),
            no_head=adaptivity(no_head_values, actual_test),
        ),
        error_ratio=dict(model=model_test_rmse / model_val_rmse, ridge=ridge_test_rmse / ridge_val_rmse),
        part_means=part_means(target, split),
        target_scale=scale,
        checks=checks,
    )


def check_failures(r: dict) -> list[str]:
    c, out = r["checks"], []
    if (diff := c["values_vs_report_values_max_abs_diff"]) > 1e-9:
        out.append(f"quantiles rebuilt here differ from report.quantile_values by {diff:.3g}")
    if c["report_coverage_diff"] > 1e-9 or c["report_pinball_rel_diff"] > 1e-6 or c["report_crps_rel_diff"] > 1e-6:
        out.append(
            f"report differs from rebuilt quantiles: coverage {c['report_coverage_diff']:.3g}, "
            f"pinball {c['report_pinball_rel_diff']:.3g}, crps {c['report_crps_rel_diff']:.3g}"
        )
    if c["shifts_max_abs_diff"] > 1e-4:
        out.append(f"shifts differ from the validation errors' by {c['shifts_max_abs_diff']:.3g}")
    if c["calibration"] != c["val_origins"]:
        out.append(f"calibration {c['calibration']} != validation origins {c['val_origins']}")
    return out


def table(rows: list[dict]) -> str:
    head = (
        "| series | frequency | rows used | calibration origins | test points | coverage q0.1 / q0.5 / q0.9 | "
        "mean pinball: head / no-head / ridge | head / no-head | head / ridge | "
        "80% band coverage: q0.1-q0.9 / conformal / ridge-conformal | "
        "interval score 80: q0.1-q0.9 / conformal / ridge-conformal | head epochs (best) | "
        "width-error corr: head | test/val RMSE |"
    )
    lines = [head, "|---|---|" + "---:|" * (head.count("|") - 3)]
    for r in rows:
        qs, b = r["quantiles"], r["bands"]
        cov = " / ".join(f"{100 * qs['head']['levels'][k]['coverage']:.1f}" for k in ("q0.1", "q0.5", "q0.9"))
        pin = [qs[a]["pinball"] for a in ARMS]
        corr = r["adaptivity"]["head"]["width_error_corr"]
        lines.append(
            f"| {r['series']} | {r['group']} | {r['rows_used']:,} | {r['val_origins']:,} | {r['test_points']:,} | "
            f"{cov} | {pin[0]:.4g} / {pin[1]:.4g} / {pin[2]:.4g} | {pin[0] / pin[1]:.3f} | {pin[0] / pin[2]:.3f} | "
            f"{100 * b['head']['coverage']:.1f} / {100 * b['conformal']['coverage']:.1f} / "
            f"{100 * b['ridge_conformal']['coverage']:.1f} | "
            f"{b['head']['interval_score']:.4g} / {b['conformal']['interval_score']:.4g} / "
            f"{b['ridge_conformal']['interval_score']:.4g} | "
            f"{r['head'].get('epochs_run', '-')} ({r['head'].get('best_epoch', '-')}) | "
            f"{'-' if corr is None else f'{corr:.2f}'} | {r['error_ratio']['model']:.2f} |"
        )
    return "\n".join(lines)


def summarise(rows: list[dict]) -> dict:
    points = np.array([r["test_points"] for r in rows], dtype=float)
    out: dict = dict(series=len(rows), test_points=int(points.sum()))
    for arm in ARMS:
        per = {}
        for k in ("q0.1", "q0.5", "q0.9"):
            cov = np.array([r["quantiles"][arm]["levels"][k]["coverage"] for r in rows])
            level = float(k[1:])
            far = [r["series"] for r, c in zip(rows, cov, strict=True) if abs(c - level) > 0.05]
            per[k] = dict(
                pooled=float((cov * points).sum() / points.sum()),
                median=float(np.median(cov)),
                mean_abs_miss=float(np.mean(np.abs(cov - level))),
                min=[float(cov.min()), rows[int(cov.argmin())]["series"]],
                max=[float(cov.max()), rows[int(cov.argmax())]["series"]],
                more_than_5_points_off=far,
            )
        out[arm] = per
    pin = {a: np.array([r["quantiles"][a]["pinball"] for r in rows]) for a in ARMS}
    out["pinball"] = {
        f"head/{other}": dict(
            median_ratio=float(np.median(pin["head"] / pin[other])),
            head_lower=int((pin["head"] < pin[other]).sum()),
            worst=[float((pin["head"] / pin[other]).max()), rows[int((pin["head"] / pin[other]).argmax())]["series"]],
            best=[float((pin["head"] / pin[other]).min()), rows[int((pin["head"] / pin[other]).argmin())]["series"]],
        )
        for other in ("no_head", "ridge")
    }
    out["pinball"]["no_head/ridge"] = dict(
        median_ratio=float(np.median(pin["no_head"] / pin["ridge"])),
        no_head_lower=int((pin["no_head"] < pin["ridge"]).sum()),
    )
    cov = {b: np.array([r["bands"][b]["coverage"] for r in rows]) for b in BANDS}
    score = {b: np.array([r["bands"][b]["interval_score"] for r in rows]) for b in BANDS}
    width = {b: np.array([r["bands"][b]["width"] for r in rows]) for b in BANDS}
    out["band80"] = dict(
        pooled_coverage={b: float((c * points).sum() / points.sum()) for b, c in cov.items()},
        median_coverage={b: float(np.median(c)) for b, c in cov.items()},
        in_70_90={b: int(((c >= 0.70) & (c <= 0.90)).sum()) for b, c in cov.items()},
        median_score_ratio_head_over={b: float(np.median(score["head"] / score[b])) for b in BANDS if b != "head"},
        head_lower_score_than={b: int((score["head"] < score[b]).sum()) for b in BANDS if b != "head"},
        median_width_ratio_head_over={b: float(np.median(width["head"] / width[b])) for b in BANDS if b != "head"},
    )
    corr = [r["adaptivity"]["head"]["width_error_corr"] for r in rows]
    corr = np.array([c for c in corr if c is not None])
    out["adaptivity"] = dict(
        median_width_error_corr_head=float(np.median(corr)) if len(corr) else None,
        median_width_cv_head=float(np.median([r["adaptivity"]["head"]["width_cv"] for r in rows])),
        median_width_cv_no_head=float(np.median([r["adaptivity"]["no_head"]["width_cv"] for r in rows])),
        head_kept_start=[r["series"] for r in rows if r["head"].get("best_epoch") == 0],
    )
    return out


def progress(r: dict) -> str:
    qs, b = r["quantiles"], r["bands"]
    cov = "/".join(f"{qs['head']['levels'][k]['coverage']:.3f}" for k in ("q0.1", "q0.5", "q0.9"))
    return (
        f"fit {r['train_s']:.1f} s, coverage {cov}, "
        f"pinball head/no-head {qs['head']['pinball'] / qs['no_head']['pinball']:.3f}, head/ridge "
        f"{qs['head']['pinball'] / qs['ridge']['pinball']:.3f}; band 80 {b['head']['coverage']:.3f} "
        f"(conformal {b['conformal']['coverage']:.3f}), head epochs {r['head'].get('epochs_run')} "
        f"best {r['head'].get('best_epoch')}"
    )


def main() -> None:
    run_roles("quantiles", __doc__, run_one, progress, check_failures, summarise, table)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
