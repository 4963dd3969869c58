"""Event probabilities under nightly recalibration (issue 16): ``lstmcast calibrate`` refreshes a
threshold model's error paths before every "day" of the test part, as it refreshes the bands.

``event_probabilities.py`` scored the probabilities training left (error paths from the validation
part) and found two causes of its misses: a bias that moved between the validation and test parts
(fred_housing, manaus, elnino), and error paths in the target's units added near a floor the series
rarely crosses (appliances_energy, household_power, wind_power). The product's answer to drift is
``lstmcast calibrate MODEL recent.csv --since validation`` from cron, which takes the paths again from
every origin since the validation part; this script measures what that does to the Brier score, and
tries two refinements on the same forecasts.

Set-up as ``recalibration_decay.py``: each series fitted once with its defaults (the registry's
lookback, horizon and season), seed 0, one thread, ``fit(frame, threshold="q0.9")``; training does
not depend on the threshold, so the low-side case (below the training part's q0.1) is scored on the
same forecasts. The test origins are cut into blocks of one season (at most 60 kept, evenly spread);
before each block, the calibration origins are every origin from the first validation origin to the
last whose horizon ends before the block (no leakage). Arms, all scored on the same blocks:

* ``trained``: the paths training kept (the validation part's), checked equal to the model's;
* ``all``: ``calibrate --since validation``: every usable origin's path, at most 2,000 evenly spaced
  (``lstmcast.intervals.keep_paths``);
* ``hl30``: the same origins weighted ``0.5 ** (age / (30 seasons))``, as ``calibrate --half-life 30``
  weighs the bands; 2,000 paths drawn in proportion to the weights
  (systematic resampling, ``weighted_paths``, so a model file would need no weights);
* ``near`` (a probe only; no library code does it): of ``all``'s paths, each origin uses the quarter
  (at least 50) whose origin's mean forecast over the horizon is nearest its own: errors learnt at
  a similar level, against the floor problem.

Scores per (series, case, kind): Brier score and Brier skill against the training part's base rate
(``lstmcast.intervals.probability_scores``), for each step (``step``) and any step of a horizon
(``any``), and the number of events. #16's target counts series with at least 10 test events.

**The rule, written before the development run.** ``hl30`` becomes what ``calibrate --half-life``
does with a threshold model's paths if, on the development series, against ``all``: (1) the median
Brier ratio over every (series, case, kind) with at least 10 test events is at most 1, and (2) no
more of them have a skill at or below 0. Otherwise the paths stay taken from every origin alike.
``near`` is recorded as promising for a later change if its median ratio against ``all`` is below
0.98 with fewer skills at or below 0; nothing about it is built now. Then the report series, once.

    python benchmarks/recalibration_events.py --role dev        # out/recalibration_events_dev.json
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from recalibration import block_length, blocks_of  # noqa: E402
from recalibration_decay import add_options  # noqa: E402
from role_runner import quiet_fit, run_roles  # noqa: E402

HALF_LIFE = 30  # seasons: what recalibration_decay.py chose for the bands
ARMS = ("trained", "all", "hl30", "near")
CASES = {"above": 0.9, "below": 0.1}
KINDS = ("step", "any")
MIN_EVENTS = 10
NEAR_SHARE, NEAR_LEAST = 0.25, 50
CHUNK = 16  # origins at a time in the "near" arm


def weighted_paths(errors: np.ndarray, spread: np.ndarray, weights: np.ndarray, count: int) -> np.ndarray:
    """``count`` whole error paths (spread units, float32) drawn in proportion to ``weights`` by
    systematic resampling (deterministic): path ``i`` fills about ``count * w_i / sum(w)`` slots, so the
    share of them beyond a threshold is the weighted share, and a model file would need no weights."""
    cumulative = np.cumsum(weights)
    positions = (np.arange(count) + 0.5) / count * cumulative[-1]
    chosen = np.minimum(np.searchsorted(cumulative, positions, side="right"), len(cumulative) - 1)
    return (errors / spread)[chosen].astype(np.float32)


def effective_paths(weights: np.ndarray) -> float:
    """Kish's effective number of paths, ``sum(w)^2 / sum(w^2)``."""
    return float(weights.sum() ** 2 / np.square(weights).sum())


def near_probabilities(errors, feature, forecast, spread, block_feature, threshold, event):
    """Per origin of a block, the share of its nearest paths (by mean forecast) beyond ``threshold``."""
    k = min(len(errors), max(NEAR_LEAST, int(NEAR_SHARE * len(errors))))
    step = np.empty(forecast.shape)
    anywhere = np.empty(len(forecast))
    for start in range(0, len(forecast), CHUNK):
        rows = slice(start, start + CHUNK)
        distance = np.abs(block_feature[rows, None] - feature[None, :])  # [C, P]
        nearest = np.argpartition(distance, k - 1, axis=1)[:, :k]  # [C, k]
        values = forecast[rows, None, :] + errors[nearest] * spread[rows, None, :]  # [C, k, H]
        beyond = values > threshold if event == "above" else values < threshold
        step[rows] = beyond.mean(axis=1)
        anywhere[rows] = beyond.any(axis=2).mean(axis=1)
    return step, anywhere


def fit_threshold_model(name: str, role: str, seed: int):
    """The series' spec, the Forecaster fitted on it with its defaults (the registry's lookback,
    horizon and season, one thread) and ``threshold="q0.9"``, the fit's seconds, and its
    ``intervals.ModelRows``: the split, origins and scaled target as the model sees them."""
    from intervals import model_rows
    from recipe_study import load

    from lstmcast import Forecaster
    from lstmcast.train import use_threads

    use_threads(1)
    spec, frame, rows = load(name, role)
    time_col = "time" if "time" in frame else None
    fc = Forecaster("y", time_col=time_col, lookback=spec.lookback, horizon=spec.horizon, season=spec.season, seed=seed)
    fit_s = quiet_fit(fc, frame, threshold="q0.9", event="above")
    return spec, fc, fit_s, model_rows(fc, frame)


def run_one(name: str, role: str, seed: int, cap: int) -> dict:  # noqa: C901 (one straight run: fit, arms, checks)
    from lstmcast.intervals import (
        MAX_PATHS,
        decay_weights,
        event_probabilities,
        keep_paths,
        probability_scores,
        window_spread,
    )

    spec, fc, fit_s, seen = fit_threshold_model(name, role, seed)
    L, H = spec.lookback, spec.horizon
    series, split, val, test = seen.series, seen.split, seen.val, seen.test
    target, scaled, scale = seen.target, seen.scaled, seen.scale
    steps, lags = np.arange(H), np.arange(L)
    pool = np.arange(val[0], test[-1] + 1)  # every origin from validation on, as calibrate --since validation
    forecast = fc.forecast_origins(series, pool)
    spread = window_spread(scaled[pool[:, None] - L + lags], fc.window_norm_) * scale  # original units
    actual = target[pool[:, None] + steps]
    errors = (actual - forecast) / spread  # [N, H], spread units, as the paths are kept
    feature = forecast.mean(axis=1)
    at = {int(o): i for i, o in enumerate(pool)}

    # Checks: the trained arm's paths are the model's; the thresholds and base rates are the library's.
    trained_paths = keep_paths(actual[: len(val)] - forecast[: len(val)], spread[: len(val)])
    paths_check = (
        float(np.abs(trained_paths - fc.state_.paths).max()) if trained_paths.shape == fc.state_.paths.shape else np.inf
    )
    train = target[: split.train_end]
    thresholds = {case: float(np.quantile(train, q)) for case, q in CASES.items()}
    threshold_check = abs(thresholds["above"] - float(fc.events_["threshold"]))

    def base_rates(case: str) -> tuple[float, float]:
        beyond = train > thresholds[case] if case == "above" else train < thresholds[case]
        windows = np.lib.stride_tricks.sliding_window_view(beyond, H)
        return float(beyond.mean()), float(windows.any(axis=1).mean())

    base = {case: base_rates(case) for case in CASES}
    base_check = abs(base["above"][0] - fc.events_["base_rate"]) + abs(base["above"][1] - fc.events_["base_rate_any"])

    K = block_length(spec)
    blocks, total = blocks_of(test, K, cap)
    chances = {(arm, case, kind): [] for arm in ARMS for case in CASES for kind in KINDS}
    kept, effective = [], []
    for block in blocks:
        o = int(block[0])
        idx = np.array([at[int(b)] for b in block])
        kept.append(idx)
        usable = pool <= o - H  # whose whole horizon ends before the block
        e, s = actual[usable] - forecast[usable], spread[usable]
        weights = decay_weights((o - H - pool[usable]).astype(np.float64), float(HALF_LIFE * K))
        effective.append(effective_paths(weights))
        arm_paths = {
            "trained": fc.state_.paths,
            "all": keep_paths(e, s),
            "hl30": weighted_paths(e, s, weights, MAX_PATHS),
        }
        for case, level in thresholds.items():
            for arm, paths in arm_paths.items():
                step_p, any_p = event_probabilities(paths, forecast[idx], spread[idx], level, case)
                chances[arm, case, "step"].append(step_p)
                chances[arm, case, "any"].append(any_p)
            step_p, any_p = near_probabilities(
                errors[usable], feature[usable], forecast[idx], spread[idx], feature[idx], level, case
            )
            chances["near", case, "step"].append(step_p)
            chances["near", case, "any"].append(any_p)
    rows_kept = np.concatenate(kept)
    act = actual[rows_kept]
    scores: dict = {}
    for case, level in thresholds.items():
        happened = act > level if case == "above" else act < level
        for kind in KINDS:
            y = happened if kind == "step" else happened.any(axis=1)
            rate = base[case][0 if kind == "step" else 1]
            for arm in ARMS:
                s = probability_scores(np.concatenate(chances[arm, case, kind]), y, rate)
                scores.setdefault(case, {}).setdefault(kind, {})[arm] = dict(
                    brier=s["brier"], skill=s["brier_skill"], events=s["events"]
                )
            scores[case][kind]["test_rate"] = float(y.mean())
            scores[case][kind]["base_rate"] = rate
    return dict(
        series=name,
        group=spec.group,
        block=K,
        blocks_kept=len(blocks),
        blocks_total=total,
        calibration_paths=[int(np.sum(pool <= int(b[0]) - H)) for b in (blocks[0], blocks[-1])],
        effective_hl30=[float(min(effective)), float(max(effective))],
        fit_s=fit_s,
        paths_check=paths_check,
        threshold_check=threshold_check,
        base_check=base_check,
        scores=scores,
    )


def counted(r: dict, case: str, kind: str) -> bool:
    return r["scores"][case][kind]["all"]["events"] >= MIN_EVENTS


def progress(r: dict) -> str:
    parts = []
    for case in CASES:
        S = r["scores"][case]["step"]
        parts.append(f"{case} " + " ".join(f"{a} {S[a]['skill']:+.3f}" for a in ARMS if S[a]["skill"] is not None))
    return f"fit {r['fit_s']:.0f} s; step skill: {'; '.join(parts)}; load {os.getloadavg()[0]:.2f}"


def check_failures(r: dict) -> list[str]:
    out = []
    if r["paths_check"] > 1e-6:
        out.append(f"the trained arm's paths differ from the model's by {r['paths_check']:.3g}")
    if r["threshold_check"] > 1e-9:
        out.append(f"q0.9 differs from the model's threshold by {r['threshold_check']:.3g}")
    if r["base_check"] > 1e-12:
        out.append(f"the base rates differ from the model's by {r['base_check']:.3g}")
    return out


def summarise(rows: list[dict]) -> dict:
    out: dict = {"series": len(rows)}
    for arm in ARMS:
        ratios, failures, per_case = [], [], {}
        for case in CASES:
            for kind in KINDS:
                these = [r for r in rows if counted(r, case, kind)]
                bad = [
                    f"{r['series']} {r['scores'][case][kind][arm]['skill']:+.3f}"
                    for r in these
                    if r["scores"][case][kind][arm]["skill"] <= 0
                ]
                per_case[f"{case} {kind}"] = dict(
                    counted=len(these), skill_above_0=len(these) - len(bad), not_above=bad
                )
                failures += [f"{case} {kind} {b}" for b in bad]
                for r in these:
                    mine, theirs = r["scores"][case][kind][arm]["brier"], r["scores"][case][kind]["all"]["brier"]
                    ratios.append(mine / theirs if theirs > 0 else (1.0 if mine == 0 else np.inf))
        out[arm] = dict(
            median_brier_vs_all=float(np.median(ratios)),
            brier_below_all=int(np.sum(np.array(ratios) < 1)),
            cases=len(ratios),
            skill_not_above_0=len(failures),
            per_case=per_case,
        )
    return out


def table(rows: list[dict]) -> str:
    head = (
        "| series | K | blocks | case | kind | events | base / test rate | "
        + " | ".join(f"skill: {a}" for a in ARMS)
        + " |"
    )
    lines = [head, "|---|---:|---:|---|---|---:|---:|" + "---:|" * len(ARMS)]
    for r in rows:
        for case in CASES:
            for kind in KINDS:
                S = r["scores"][case][kind]
                skills = " | ".join("-" if S[a]["skill"] is None else f"{S[a]['skill']:+.3f}" for a in ARMS)
                mark = "" if counted(r, case, kind) else " (under 10)"
                lines.append(
                    f"| {r['series']} | {r['block']} | {r['blocks_kept']} ({r['blocks_total']}) | {case} | {kind} | "
                    f"{S['all']['events']}{mark} | {S['base_rate']:.3f} / {S['test_rate']:.3f} | {skills} |"
                )
    return "\n".join(lines)


def main() -> None:
    run_roles(
        "recalibration_events",
        __doc__,
        run_one,
        progress,
        check_failures,
        summarise,
        table,
        add_options=add_options,
        run_args=lambda args: (args.max_blocks,),
    )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
