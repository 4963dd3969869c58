"""Prediction intervals (issue 16) on the report series: lstmcast's split-conformal bands against the
same split-conformal bands around the ridge baseline.

For every series of one role in benchmarks/series.py (default ``report``), lstmcast is fitted through the
Python API with its DEFAULT settings apart from the registry's lookback, horizon and season and
``levels="80,95"``, as benchmarks/recipe_study.py fits it: the default 70/10/20 split, one torch thread,
target only (exogenous columns are dropped), series longer than 20,000 rows keep their last 20,000. The
model's figures are read from its test report (``metrics_``: ``coverage_80``, ``intervals["80"]``).

Ridge-conformal is the reference: the model's own ridge baseline (``ridge_``, fitted on the training
windows in scaled units), its residuals on the same validation origins the model calibrates on, the
per-step conformal offsets of ``lstmcast.intervals.fit_intervals`` (spread 1: raw scaled units, ridge
works on the raw window), and the bands scored with ``lstmcast.intervals.interval_scores`` on the same
test origins the model's report uses (test origins at least one season into the series). Widths and
interval scores are in the target's units; "points" are test origins x horizon steps.

Checks on the library, per series (``checks`` in the JSON; a failure is printed): the model's bands
rebuilt here from ``forecast_origins`` and ``intervals_`` score the same as its report, and the
offsets recomputed from the network's validation residuals equal ``intervals_``'s.

    python benchmarks/intervals.py                                  # out/intervals_report.json
    python benchmarks/intervals.py --series fred_housing --series gasoline --workers 1

Nothing about intervals was chosen on these series: they are reported once, as the code stands.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from role_runner import quiet_fit, run_roles  # noqa: E402

LEVELS = (80.0, 95.0)


def scores_of(report: dict, name: str) -> dict:
    item = report[name]
    steps = item["per_step_coverage"]
    return dict(
        coverage=item["coverage"],
        width=item["width"],
        interval_score=item["interval_score"],
        step_coverage_min=float(min(steps)),
        step_coverage_max=float(max(steps)),
    )


@dataclass(frozen=True)
class ModelRows:
    """What the fitted model saw of ``frame``: the series as it validated it, its split, the
    validation and test origins its report used, and the target in original and scaled units."""

    series: Any
    split: Any
    val: np.ndarray
    test: np.ndarray
    target: np.ndarray  # [rows] float64, original units
    scaled: np.ndarray  # [rows] float64, the model's scaled units
    scale: float  # the scaler's scale of the target: scaled units back to original ones


def model_rows(fc, frame) -> ModelRows:
    """``ModelRows`` of the fitted ``fc`` on ``frame`` (``fitting.fit_state``, ``Forecaster.score_test``:
    test origins at least one season in), checked against the report's count. Shared by the interval,
    quantile, recalibration and probability benchmarks."""
    from lstmcast.validate import validate_frame
    from lstmcast.window import chronological_split

    series = validate_frame(frame, fc.settings().data)
    split = chronological_split(len(series), fc.state_.window, series.source)
    val = split.origins("val", fc.lookback, fc.horizon)
    test = split.origins("test", fc.lookback, fc.horizon)
    test = test[test >= fc.season_]
    assert len(test) == fc.metrics_["n_origins"], (len(test), fc.metrics_["n_origins"])
    target = series.values[:, 0].astype(np.float64)
    scaled = fc.scaler_.transform_target(target)
    return ModelRows(series, split, val, test, target, scaled, float(fc.scaler_.scale[0]))


def part_means(target: np.ndarray, split) -> dict[str, float]:
    """The target's mean over each part of the split: a level that moved shows here."""
    bounds = {"train": (0, split.train_end), "val": (split.train_end, split.val_end), "test": (split.val_end, split.n)}
    return {part: float(np.mean(target[a:b])) for part, (a, b) in bounds.items()}


def run_one(name: str, role: str, seed: int) -> dict:
    from recipe_study import load

    from lstmcast import Forecaster
    from lstmcast.intervals import fit_intervals, interval_scores
    from lstmcast.train import use_threads

    use_threads(1)
    spec, frame, rows = load(name, role)
    time_col = "time" if "time" in frame else None
    L, H, m = spec.lookback, spec.horizon, spec.season
    fc = Forecaster("y", time_col=time_col, lookback=L, horizon=H, season=m, seed=seed, levels="80,95")
    seconds = quiet_fit(fc, frame)
    met = fc.metrics_

    # The same split, origins and scaled target as the model's.
    rows_seen = model_rows(fc, frame)
    series, split, val, test = rows_seen.series, rows_seen.split, rows_seen.val, rows_seen.test
    target, scaled = rows_seen.target, rows_seen.scaled
    steps = np.arange(H)
    actual_val, actual_test = scaled[val[:, None] + steps], target[test[:, None] + steps]

    # Ridge-conformal: residuals of the ridge baseline on the validation origins, offsets in scaled units.
    ridge = fc.ridge_
    ridge_val = ridge.predict(scaled, val)
    offsets = fit_intervals(actual_val - ridge_val, np.ones((len(val), 1)), LEVELS, "none", name)
    ridge_test = ridge.predict(scaled, test)  # scaled
    bands = {
        level: (fc.scaler_.inverse_target(low), fc.scaler_.inverse_target(high))
        for level, (low, high) in offsets.bands(ridge_test, np.ones((len(test), 1))).items()
    }
    ridge_scores = interval_scores(actual_test, bands)

    # Checks on the library: the model's bands rebuilt here, and its offsets recomputed from validation.
    from lstmcast.intervals import window_spread

    model_test = fc.forecast_origins(series, test)  # original units
    model_val = fc.scaler_.transform_target(fc.forecast_origins(series, val))
    spread = window_spread(scaled[val[:, None] - L + np.arange(L)], fc.window_norm_)
    again = fit_intervals(actual_val - model_val, spread, LEVELS, fc.window_norm_, name)
    test_spread = window_spread(scaled[test[:, None] - L + np.arange(L)], fc.window_norm_) * fc.scaler_.scale[0]
    rebuilt = interval_scores(actual_test, fc.intervals_.bands(model_test, test_spread))
    checks = dict(
        offsets_max_abs_diff=float(
            max(np.abs(again.lower - fc.intervals_.lower).max(), np.abs(again.upper - fc.intervals_.upper).max())
        ),
        calibration=fc.intervals_.calibration,
        val_origins=len(val),
        report_coverage_diff=float(
            max(abs(rebuilt[k]["coverage"] - met["intervals"][k]["coverage"]) for k in ("80", "95"))
        ),
        report_width_rel_diff=float(
            max(abs(rebuilt[k]["width"] / met["intervals"][k]["width"] - 1) for k in ("80", "95"))
        ),
    )

    # Why a coverage can be off: the test part's errors against the validation part's (scaled RMSE).
    scale = fc.scaler_.scale[0]
    model_val_rmse = float(np.sqrt(np.mean((actual_val - model_val) ** 2)))
    model_test_rmse = float(np.sqrt(np.mean((actual_test - model_test) ** 2))) / scale
    ridge_val_rmse = float(np.sqrt(np.mean((actual_val - ridge_val) ** 2)))
    ridge_test_rmse = float(np.sqrt(np.mean((scaled[test[:, None] + steps] - ridge_test) ** 2)))
    # Bias: the mean error (actual minus forecast) in units of the validation RMSE; a band is placed
    # around the validation part's bias, so a bias that moves on the test part moves coverage.
    bias = dict(
        model_val=float(np.mean(actual_val - model_val)) / model_val_rmse,
        model_test=float(np.mean(actual_test - model_test)) / scale / model_val_rmse,
        ridge_val=float(np.mean(actual_val - ridge_val)) / ridge_val_rmse,
        ridge_test=float(np.mean(scaled[test[:, None] + steps] - ridge_test)) / ridge_val_rmse,
    )
    parts = part_means(target, split)
    return dict(
        series=name,
        group=spec.group,
        rows=rows,
        rows_used=len(frame),
        lookback=L,
        horizon=H,
        season=m,
        window_norm=fc.window_norm_,
        train_s=seconds,
        epochs_run=len(fc.history_),
        best_epoch=fc.best_epoch_,
        val_origins=len(val),
        test_origins=len(test),
        test_points=len(test) * H,
        mse=met["mse"],
        ridge_mse=met["baselines"]["ridge"]["mse"],
        model={k: scores_of(met["intervals"], k) for k in ("80", "95")},
        ridge={k: scores_of(ridge_scores, k) for k in ("80", "95")},
        error_ratio=dict(model=model_test_rmse / model_val_rmse, ridge=ridge_test_rmse / ridge_val_rmse),
        bias=bias,
        part_means=parts,
        target_scale=float(scale),
        checks=checks,
    )


def check_failures(r: dict) -> list[str]:
    c, out = r["checks"], []
    if c["offsets_max_abs_diff"] > 1e-4:
        out.append(f"offsets differ from the validation residuals' by {c['offsets_max_abs_diff']:.3g}")
    if c["calibration"] != c["val_origins"]:
        out.append(f"calibration {c['calibration']} != validation origins {c['val_origins']}")
    if c["report_coverage_diff"] > 1e-9 or c["report_width_rel_diff"] > 1e-6:
        out.append(
            f"report differs from rebuilt bands: coverage {c['report_coverage_diff']:.3g}, "
            f"width {c['report_width_rel_diff']:.3g}"
        )
    return out


def table(rows: list[dict]) -> str:
    head = (
        "| series | frequency | rows used | test points | coverage 80 (model / ridge) | coverage 95 (model / ridge) | "
        "width 80 model/ridge | width 95 model/ridge | interval score 80 (model / ridge) | "
        "interval score 95 (model / ridge) | test/val error (model) |"
    )
    lines = [head, "|---|---|" + "---:|" * (head.count("|") - 3)]
    for r in rows:
        mo, ri = r["model"], r["ridge"]
        lines.append(
            f"| {r['series']} | {r['group']} | {r['rows_used']:,} | {r['test_points']:,} | "
            f"{100 * mo['80']['coverage']:.1f} / {100 * ri['80']['coverage']:.1f} | "
            f"{100 * mo['95']['coverage']:.1f} / {100 * ri['95']['coverage']:.1f} | "
            f"{mo['80']['width'] / ri['80']['width']:.3f} | {mo['95']['width'] / ri['95']['width']:.3f} | "
            f"{mo['80']['interval_score']:.4g} / {ri['80']['interval_score']:.4g} | "
            f"{mo['95']['interval_score']:.4g} / {ri['95']['interval_score']:.4g} | {r['error_ratio']['model']:.2f} |"
        )
    return "\n".join(lines)


def summarise(rows: list[dict]) -> dict:
    points = np.array([r["test_points"] for r in rows], dtype=float)
    out: dict = dict(series=len(rows), test_points=int(points.sum()))
    for level in ("80", "95"):
        cov = {who: np.array([r[who][level]["coverage"] for r in rows]) for who in ("model", "ridge")}
        width = np.array([r["model"][level]["width"] / r["ridge"][level]["width"] for r in rows])
        score = np.array([r["model"][level]["interval_score"] / r["ridge"][level]["interval_score"] for r in rows])
        narrower = width < 1
        at_least = cov["model"] >= cov["ridge"]
        out[level] = dict(
            pooled_coverage={who: float((c * points).sum() / points.sum()) for who, c in cov.items()},
            mean_coverage={who: float(c.mean()) for who, c in cov.items()},
            median_coverage={who: float(np.median(c)) for who, c in cov.items()},
            min_coverage={who: [float(c.min()), rows[int(c.argmin())]["series"]] for who, c in cov.items()},
            max_coverage={who: [float(c.max()), rows[int(c.argmax())]["series"]] for who, c in cov.items()},
            median_width_ratio=float(np.median(width)),
            median_score_ratio=float(np.median(score)),
            narrower=int(narrower.sum()),
            covers_at_least_as_well=int(at_least.sum()),
            narrower_and_covers=int((narrower & at_least).sum()),
            lower_interval_score=int((score < 1).sum()),
        )
    cov80 = np.array([r["model"]["80"]["coverage"] for r in rows])
    out["target_a"] = dict(
        pooled_in_77_83=bool(0.77 <= out["80"]["pooled_coverage"]["model"] <= 0.83),
        series_in_70_90=int(((cov80 >= 0.70) & (cov80 <= 0.90)).sum()),
        outside_70_90=[r["series"] for r, c in zip(rows, cov80, strict=True) if not 0.70 <= c <= 0.90],
    )
    return out


def progress(r: dict) -> str:
    mo, ri = r["model"], r["ridge"]
    return (
        f"fit {r['train_s']:.1f} s, coverage 80/95 "
        f"{mo['80']['coverage']:.3f}/{mo['95']['coverage']:.3f} (ridge {ri['80']['coverage']:.3f}/"
        f"{ri['95']['coverage']:.3f}), width ratio 80 {mo['80']['width'] / ri['80']['width']:.3f}"
    )


def print_summary(summary: dict, results: list[dict]) -> None:
    for level in ("80", "95"):
        s = summary[level]
        print(
            f"{level}%: pooled coverage model {s['pooled_coverage']['model']:.4f}, "
            f"ridge {s['pooled_coverage']['ridge']:.4f}; "
            f"min model {s['min_coverage']['model']}, max {s['max_coverage']['model']}; min ridge "
            f"{s['min_coverage']['ridge']}, max {s['max_coverage']['ridge']}; median width model/ridge "
            f"{s['median_width_ratio']:.3f}, median interval score model/ridge {s['median_score_ratio']:.3f}; "
            f"narrower on {s['narrower']}, covers at least as well on {s['covers_at_least_as_well']}, both on "
            f"{s['narrower_and_covers']}, lower interval score on {s['lower_interval_score']} of {summary['series']}"
        )
    print(f"target (a): {summary['target_a']}")


def main() -> None:
    run_roles(
        "intervals",
        __doc__,
        run_one,
        progress,
        check_failures,
        summarise,
        table,
        role=dict(default="report"),
        final=print_summary,
        brief_load=True,
    )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
