"""A probe on the DEVELOPMENT series (issue 16): would a map from the error paths' event
probabilities to observed frequencies, learnt on the validation part, make them better on the test part?

``event_probabilities.py`` found probabilities that are systematically off on some series (a floor
the paths do not know; "any step" chances near certainty that come out lower). Recalibrating
probabilities with an increasing map (isotonic regression, as in Zadrozny and Elkan 2002) learnt on
held-out data is the classic remedy. Here the held-out data is the validation part itself, each origin
scored only with the paths of origins at least a horizon away (``lstmcast.intervals.
held_out_probabilities``, what ``--tune-alert-prob`` uses), so no path shares an actual value with
the forecast it is scored on. The map (scikit-learn's ``IsotonicRegression``, clipped to [0, 1]) is
fitted per (series, case, kind) on those validation probabilities and applied to the test part's
probabilities from the kept paths (what the model's report scores).

Set-up as ``recalibration_events.py``: each series fitted once with its defaults (the registry's
lookback, horizon, season), seed 0, one thread, ``threshold="q0.9"``; the low-side case (below the
training part's q0.1) on the same forecasts; every test origin of the model's report.

**The rule, written before the run:** the map is worth building into lstmcast if, on the development
series, over every (series, case, kind) with at least 10 test events, the median Brier ratio
(mapped / raw) is below 0.98 and fewer of them have a skill at or below 0. Otherwise it is not built.

    python benchmarks/probability_mapping.py --role dev        # out/probability_mapping_dev.json
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from recalibration_events import fit_threshold_model  # noqa: E402
from role_runner import run_roles  # noqa: E402

CASES = {"above": 0.9, "below": 0.1}
KINDS = ("step", "any")
ARMS = ("raw", "mapped")
MIN_EVENTS = 10


def held_out_any(paths, path_origins, forecast, spread, origins, threshold, event) -> np.ndarray:
    """``held_out_probabilities``' counterpart for any step of a horizon: the share of the paths of
    origins at least a horizon away that, added to the forecast, take some step beyond the threshold."""
    H = forecast.shape[1]
    out = np.empty(len(origins))
    for start in range(0, len(origins), 64):
        rows = slice(start, start + 64)
        values = forecast[rows, None, :] + paths[None, :, :] * spread[rows, None, :]
        beyond = (values > threshold if event == "above" else values < threshold).any(axis=2)  # [C, P]
        far = np.abs(origins[rows, None] - path_origins[None, :]) >= H
        out[rows] = (beyond & far).sum(axis=1) / far.sum(axis=1)
    return out


def run_one(name: str, role: str, seed: int) -> dict:
    from sklearn.isotonic import IsotonicRegression

    from lstmcast.intervals import (
        event_probabilities,
        held_out_probabilities,
        kept_paths,
        probability_scores,
        window_spread,
    )

    spec, fc, fit_s, seen = fit_threshold_model(name, role, seed)
    L, H = spec.lookback, spec.horizon
    series, split, val, test = seen.series, seen.split, seen.val, seen.test
    target, scaled, scale = seen.target, seen.scaled, seen.scale
    steps, lags = np.arange(H), np.arange(L)
    paths = fc.state_.paths
    path_origins = val[kept_paths(len(val))]

    def rows_of(origins):
        forecast = fc.forecast_origins(series, origins)
        spread = window_spread(scaled[origins[:, None] - L + lags], fc.window_norm_) * scale
        return forecast, spread, target[origins[:, None] + steps]

    f_val, s_val, a_val = rows_of(val)
    f_test, s_test, a_test = rows_of(test)
    train = target[: split.train_end]
    scores: dict = {}
    report_check = None
    for case, q in CASES.items():
        level = float(np.quantile(train, q))
        beyond = train > level if case == "above" else train < level
        base = (float(beyond.mean()), float(np.lib.stride_tricks.sliding_window_view(beyond, H).any(axis=1).mean()))
        step_test, any_test = event_probabilities(paths, f_test, s_test, level, case)
        step_val = held_out_probabilities(paths, path_origins, f_val, s_val, val, level, case)
        any_val = held_out_any(paths, path_origins, f_val, s_val, val, level, case)
        y_val = a_val > level if case == "above" else a_val < level
        y_test = a_test > level if case == "above" else a_test < level
        for kind, p_val, yv, p_test, yt, rate in (
            ("step", step_val, y_val, step_test, y_test, base[0]),
            ("any", any_val, y_val.any(axis=1), any_test, y_test.any(axis=1), base[1]),
        ):
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            iso.fit(p_val.ravel(), yv.ravel().astype(float))
            mapped = iso.predict(p_test.ravel()).reshape(p_test.shape)
            raw_s = probability_scores(p_test, yt, rate)
            map_s = probability_scores(mapped, yt, rate)
            scores.setdefault(case, {})[kind] = dict(
                raw=dict(brier=raw_s["brier"], skill=raw_s["brier_skill"]),
                mapped=dict(brier=map_s["brier"], skill=map_s["brier_skill"]),
                events=raw_s["events"],
                val_events=int(yv.sum()),
                base_rate=rate,
                test_rate=float(yt.mean()),
            )
            if case == "above" and kind == "step":
                report_check = abs(raw_s["brier"] - fc.metrics_["probabilities"]["step"]["brier"])
    return dict(series=name, group=spec.group, fit_s=fit_s, report_check=report_check, scores=scores)


def counted(r: dict, case: str, kind: str) -> bool:
    return r["scores"][case][kind]["events"] >= MIN_EVENTS


def progress(r: dict) -> str:
    parts = [
        f"{c} {k} {r['scores'][c][k]['raw']['skill']:+.3f} -> {r['scores'][c][k]['mapped']['skill']:+.3f}"
        for c in CASES
        for k in KINDS
        if r["scores"][c][k]["raw"]["skill"] is not None
    ]
    return f"fit {r['fit_s']:.0f} s; skill {'; '.join(parts)}; load {os.getloadavg()[0]:.2f}"


def check_failures(r: dict) -> list[str]:
    if r["report_check"] is None or r["report_check"] > 1e-9:
        return [f"raw Brier differs from the model's report by {r['report_check']}"]
    return []


def summarise(rows: list[dict]) -> dict:
    ratios, failures = [], {arm: [] for arm in ARMS}
    for r in rows:
        for case in CASES:
            for kind in KINDS:
                if not counted(r, case, kind):
                    continue
                S = r["scores"][case][kind]
                raw, mapped = S["raw"]["brier"], S["mapped"]["brier"]
                ratios.append(mapped / raw if raw > 0 else (1.0 if mapped == 0 else np.inf))
                for arm in ARMS:
                    if S[arm]["skill"] <= 0:
                        failures[arm].append(f"{r['series']} {case} {kind} {S[arm]['skill']:+.3f}")
    return dict(
        cases=len(ratios),
        median_brier_mapped_vs_raw=float(np.median(ratios)),
        mapped_lower=int(np.sum(np.array(ratios) < 1)),
        skill_not_above_0={arm: failures[arm] for arm in ARMS},
    )


def table(rows: list[dict]) -> str:
    lines = [
        "| series | case | kind | test events | base / test rate | skill: raw | skill: mapped | Brier mapped / raw |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        for case in CASES:
            for kind in KINDS:
                S = r["scores"][case][kind]
                raw, mapped = S["raw"], S["mapped"]
                ratio = mapped["brier"] / raw["brier"] if raw["brier"] > 0 else float("nan")
                skills = " | ".join("-" if x["skill"] is None else f"{x['skill']:+.3f}" for x in (raw, mapped))
                mark = "" if counted(r, case, kind) else " (under 10)"
                lines.append(
                    f"| {r['series']} | {case} | {kind} | {S['events']}{mark} | {S['base_rate']:.3f} / "
                    f"{S['test_rate']:.3f} | {skills} | {ratio:.3f} |"
                )
    return "\n".join(lines)


def main() -> None:
    run_roles(
        "probability_mapping",
        __doc__,
        run_one,
        progress,
        check_failures,
        summarise,
        table,
        role=dict(default="dev", help="dev (the default): this probe is for the development series only"),
    )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
