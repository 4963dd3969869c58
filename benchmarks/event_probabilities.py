"""Event probabilities (issue 16) on the report series: the Brier score and Brier skill of lstmcast's
threshold-event probabilities against the training part's base rate.

For every series of one role in benchmarks/series.py (default ``report``), lstmcast is fitted through the
Python API with its DEFAULT settings apart from the registry's lookback, horizon and season and a threshold
(``fit(frame, threshold=..., event=...)``), as benchmarks/recipe_study.py and benchmarks/intervals.py fit it:
the default 70/10/20 split, one torch thread, target only (exogenous columns are dropped), series longer
than 20,000 rows keep their last 20,000, seed 0. Two cases by default, each a fit of its own:

* ``above``: ``threshold="q0.9"``, event ``above`` (the training part's 90% quantile; a high-side event)
* ``below``: ``threshold="q0.1"``, event ``below`` (the training part's 10% quantile; a low-side event)

The figures are read from the model's test report (``metrics_["probabilities"]``, ``step`` and ``any``):
``brier``, ``brier_skill`` (against the training part's base rate, ``events_["base_rate"]`` and
``["base_rate_any"]``), ``events`` (test steps, over all test origins x horizon steps, or test horizons
with an event) and the reliability table. Added here, from that table and the test part:

* ``reliability_gap``: the mean of ``|mean_probability - observed|`` over the reliability bins, weighted by
  their ``n`` (0 is perfectly reliable);
* ``test_rate``: the share of test steps (horizons) with the event, against the training ``base_rate``: a
  base rate that moves between training and test makes the reference worse (Brier of the reference =
  test_rate (1 - test_rate) + (base_rate - test_rate)^2);
* ``skill_vs_test_rate``: the skill against always saying the test part's own rate (a harder, unattainable
  reference that no forecast made before the test could know), to separate "beats a stale base rate" from
  "knows when";
* ``murphy``: the binned decomposition brier ~ reliability - resolution + uncertainty (bin means only);
* ``deterministic_brier``: the Brier score of the 0/1 forecast "the point forecast is beyond the threshold".

Checks on the library, per series (``checks``; a failure is printed): the probabilities rebuilt here from
``forecast_origins``, the kept error paths and ``lstmcast.intervals.event_probabilities`` score the same as
the report; the base rates recomputed from the training part equal the model's.

    python benchmarks/event_probabilities.py                        # out/event_probabilities.json
    python benchmarks/event_probabilities.py --case above --series gasoline --workers 1 --json /tmp/e.json

Nothing about probabilities was chosen on these series: this is a first report, as the code stands.
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

CASES = {"above": ("q0.9", "above"), "below": ("q0.1", "below")}
MIN_EVENTS = 10  # the target counts series with at least this many test events


def summarise_scores(scores: dict, points: int) -> dict:
    """A compact record of one ``probability_scores`` dict (``step`` or ``any``) over ``points`` forecasts."""
    table = scores["reliability"]
    n = np.array([b["n"] for b in table], dtype=float)
    mean_p = np.array([b["mean_probability"] for b in table])
    observed = np.array([b["observed"] for b in table])
    total = n.sum()
    rate = float((n * observed).sum() / total) if total else None
    gap = float((n * np.abs(mean_p - observed)).sum() / total) if total else None
    murphy = None
    if total:
        murphy = dict(
            reliability=float((n * (mean_p - observed) ** 2).sum() / total),
            resolution=float((n * (observed - rate) ** 2).sum() / total),
            uncertainty=float(rate * (1 - rate)),
        )
    base = scores["base_rate"]
    reference_test = rate * (1 - rate) if rate is not None else None
    return dict(
        brier=scores["brier"],
        brier_skill=scores["brier_skill"],
        base_rate=base,
        events=scores["events"],
        points=points,
        test_rate=rate,
        reference_brier=(None if base is None or rate is None else reference_test + (base - rate) ** 2),
        skill_vs_test_rate=(1 - scores["brier"] / reference_test) if reference_test else None,
        reliability_gap=gap,
        murphy=murphy,
        bins=[[b["from"], b["n"], round(b["mean_probability"], 4), round(b["observed"], 4)] for b in table],
    )


def run_one(name: str, role: str, seed: int, case: str) -> dict:
    from intervals import model_rows, part_means
    from recipe_study import load
    from role_runner import quiet_fit

    from lstmcast import Forecaster
    from lstmcast.intervals import event_probabilities, probability_scores, window_spread
    from lstmcast.train import use_threads

    use_threads(1)
    threshold, event = CASES[case]
    spec, frame, rows = load(name, role)
    time_col = "time" if "time" in frame else None
    L, H, m = spec.lookback, spec.horizon, spec.season
    fc = Forecaster("y", time_col=time_col, lookback=L, horizon=H, season=m, seed=seed)
    seconds = quiet_fit(fc, frame, threshold=threshold, event=event)
    met = fc.metrics_
    record = fc.events_
    probs = met["probabilities"]

    # The same split, origins and target as the model's report.
    state = fc.state_
    rows_seen = model_rows(fc, frame)
    series, split, test, target = rows_seen.series, rows_seen.split, rows_seen.test, rows_seen.target
    steps = np.arange(H)
    actual = target[test[:, None] + steps]
    level = float(record["threshold"])
    happened = actual > level if event == "above" else actual < level

    # Checks: probabilities rebuilt from the forecasts and the kept paths; base rates from the training part.
    forecast = fc.forecast_origins(series, test)  # original units
    scale = float(fc.scaler_.scale[0])
    windows = target[test[:, None] - L + np.arange(L)] / scale
    spread = window_spread(windows, fc.window_norm_) * scale
    paths = state.paths
    step_p, any_p = event_probabilities(paths, forecast, spread, level, event)
    again_step = probability_scores(step_p, happened, record["base_rate"])
    again_any = probability_scores(any_p, happened.any(axis=1), record["base_rate_any"])
    train = target[: split.train_end]
    beyond = train > level if event == "above" else train < level
    base_any = float(np.lib.stride_tricks.sliding_window_view(beyond, H).any(axis=1).mean())
    checks = dict(
        step_brier_diff=abs(again_step["brier"] - probs["step"]["brier"]),
        any_brier_diff=abs(again_any["brier"] - probs["any"]["brier"]),
        events_equal=bool(
            again_step["events"] == probs["step"]["events"] and again_any["events"] == probs["any"]["events"]
        ),
        base_rate_diff=abs(float(beyond.mean()) - record["base_rate"]),
        base_rate_any_diff=abs(base_any - record["base_rate_any"]),
        paths=int(len(paths)),
    )
    point_beyond = forecast > level if event == "above" else forecast < level
    deterministic = dict(
        step=float(np.mean(point_beyond != happened)),
        any=float(np.mean(point_beyond.any(axis=1) != happened.any(axis=1))),
    )
    parts = part_means(target, split)
    return dict(
        series=name,
        case=case,
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
        test_origins=len(test),
        test_points=len(test) * H,
        mse=met["mse"],
        threshold=level,
        quantile=record["quantile"],
        event=event,
        step=summarise_scores(probs["step"], len(test) * H),
        any=summarise_scores(probs["any"], len(test)),
        deterministic_brier=deterministic,
        part_means=parts,
        target_scale=scale,
        checks=checks,
    )


def check_failures(r: dict) -> list[str]:
    c, out = r["checks"], []
    if c["step_brier_diff"] > 1e-9 or c["any_brier_diff"] > 1e-9:
        out.append(
            f"rebuilt Brier differs from the report: step {c['step_brier_diff']:.3g}, any {c['any_brier_diff']:.3g}"
        )
    if not c["events_equal"]:
        out.append("rebuilt event counts differ from the report")
    if c["base_rate_diff"] > 1e-12 or c["base_rate_any_diff"] > 1e-12:
        out.append(f"base rates differ: {c['base_rate_diff']:.3g}, any {c['base_rate_any_diff']:.3g}")
    return out


def fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def table(rows: list[dict]) -> str:
    head = (
        "| series | frequency | H | test origins | step events | base rate / test rate | Brier (step) | "
        "skill (step) | gap (step) | any events | base / test (any) | Brier (any) | skill (any) | gap (any) |"
    )
    lines = [head, "|---|---|" + "---:|" * (head.count("|") - 3)]
    for r in rows:
        s, a = r["step"], r["any"]
        lines.append(
            f"| {r['series']} | {r['group']} | {r['horizon']} | {r['test_origins']:,} | {s['events']:,} | "
            f"{fmt(s['base_rate'])} / {fmt(s['test_rate'])} | {fmt(s['brier'], '.4f')} | {fmt(s['brier_skill'])} | "
            f"{fmt(s['reliability_gap'])} | {a['events']:,} | {fmt(a['base_rate'])} / {fmt(a['test_rate'])} | "
            f"{fmt(a['brier'], '.4f')} | {fmt(a['brier_skill'])} | {fmt(a['reliability_gap'])} |"
        )
    return "\n".join(lines)


def summarise(rows: list[dict]) -> dict:
    out: dict = dict(series=len(rows))
    for kind in ("step", "any"):
        eligible = [r for r in rows if r[kind]["events"] >= MIN_EVENTS]
        skill = [r[kind]["brier_skill"] for r in eligible]
        positive = [r["series"] for r in eligible if r[kind]["brier_skill"] is not None and r[kind]["brier_skill"] > 0]
        points = np.array([r[kind]["points"] for r in rows], dtype=float)
        out[kind] = dict(
            eligible=len(eligible),
            positive_skill=len(positive),
            not_positive=[(r["series"], r[kind]["brier_skill"]) for r in eligible if r["series"] not in positive],
            fewer_events=[(r["series"], r[kind]["events"]) for r in rows if r[kind]["events"] < MIN_EVENTS],
            median_skill=float(np.median([s for s in skill if s is not None])) if skill else None,
            median_skill_vs_test_rate=float(
                np.median(
                    [r[kind]["skill_vs_test_rate"] for r in eligible if r[kind]["skill_vs_test_rate"] is not None]
                )
            )
            if eligible
            else None,
            median_reliability_gap=float(np.median([r[kind]["reliability_gap"] for r in rows])),
            pooled_brier=float(sum(r[kind]["brier"] * r[kind]["points"] for r in rows) / points.sum()),
            target_met=bool(eligible) and len(positive) == len(eligible),
        )
    return out


def main() -> None:
    from series import by_role

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", choices=("dev", "report"), default="report")
    parser.add_argument("--series", action="append", help="a series of that role; repeat for several (default all)")
    parser.add_argument(
        "--case", action="append", choices=tuple(CASES), help="above (q0.9) and/or below (q0.1); default both"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="processes, one thread each (default 2)")
    parser.add_argument("--json", type=Path, default=None, help="default benchmarks/out/event_probabilities.json")
    args = parser.parse_args()
    names = [s.name for s in by_role(args.role) if not args.series or s.name in args.series]
    cases = args.case or list(CASES)
    load_before = os.getloadavg()
    print(
        f"{len(names)} {args.role} series x {cases}, {args.workers} workers; load average before {load_before}",
        flush=True,
    )
    t0 = time.perf_counter()
    results: dict[str, list[dict]] = {case: [] for case in cases}
    failures = 0
    with ProcessPoolExecutor(args.workers) as pool:
        futures = {pool.submit(run_one, n, args.role, args.seed, case): (n, case) for case in cases for n in names}
        for future in as_completed(futures):
            r = future.result()
            results[r["case"]].append(r)
            s, a = r["step"], r["any"]
            print(
                f"[{time.perf_counter() - t0:6.0f} s] {r['case']} {r['series']}: fit {r['train_s']:.1f} s, "
                f"step events {s['events']} brier {s['brier']:.4f} skill {fmt(s['brier_skill'])} gap "
                f"{fmt(s['reliability_gap'])}; any events {a['events']} brier {a['brier']:.4f} skill "
                f"{fmt(a['brier_skill'])}",
                flush=True,
            )
            for problem in check_failures(r):
                failures += 1
                print(f"  CHECK FAILED {r['case']} {r['series']}: {problem}", flush=True)
    took = time.perf_counter() - t0
    load_after = os.getloadavg()
    summaries = {}
    for case in cases:
        results[case].sort(key=lambda r: names.index(r["series"]))
        summaries[case] = summarise(results[case])
        threshold, event = CASES[case]
        print(f"\n## {case}: threshold {threshold}, event {event}\n")
        print(table(results[case]))
        print()
        for kind in ("step", "any"):
            s = summaries[case][kind]
            print(
                f"{kind}: Brier skill > 0 on {s['positive_skill']} of {s['eligible']} series with >= {MIN_EVENTS} "
                f"test events (not: {s['not_positive']}; fewer events: {s['fewer_events']}); median skill "
                f"{fmt(s['median_skill'])}, median skill vs the test rate {fmt(s['median_skill_vs_test_rate'])}, "
                f"median reliability gap {s['median_reliability_gap']:.3f}, pooled Brier {s['pooled_brier']:.4f}"
            )
    print(f"\n{failures} check failures")
    print(f"took {took:.0f} s; load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    out = args.json or HERE / "out" / "event_probabilities.json"
    out.parent.mkdir(exist_ok=True)
    meta = dict(took_s=took, args=vars(args), cases={c: CASES[c] for c in cases}, load=[load_before, load_after])
    out.write_text(json.dumps(dict(meta, summary=summaries, results=results), indent=1, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
