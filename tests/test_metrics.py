import json

import numpy as np
import pytest

from lstmcast.metrics import mase_scale, per_step_metrics, point_metrics, skill, threshold_metrics


def test_point_metrics_on_a_hand_computed_example() -> None:
    actual = np.array([[1.0, 2.0], [3.0, 4.0]])
    forecast = np.array([[2.0, 2.0], [3.0, 1.0]])  # errors 1, 0, 0, -3
    scores = point_metrics(actual, forecast, target_scale=2.0)
    assert scores["mse"] == pytest.approx(10 / 4)
    assert scores["rmse"] == pytest.approx(np.sqrt(2.5))
    assert scores["mae"] == pytest.approx(1.0)
    assert scores["mse_scaled"] == pytest.approx(2.5 / 4)
    assert scores["mae_scaled"] == pytest.approx(0.5)


def test_skill_is_one_minus_the_mse_ratio() -> None:
    assert skill(1.0, 4.0) == pytest.approx(0.75)
    assert skill(4.0, 4.0) == 0
    assert skill(8.0, 4.0) == pytest.approx(-1.0)
    assert skill(1.0, 0.0) is None


def test_threshold_events_count_every_origin_and_step() -> None:
    actual = np.array([[81, 79], [85, 90]])
    forecast = np.array([[82, 81], [70, 95]])  # TP, FP, FN, TP
    scores = threshold_metrics(actual, forecast, threshold=80)
    assert (scores["tp"], scores["fp"], scores["fn"], scores["tn"]) == (2, 1, 1, 0)
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 / 3)


def test_below_events_and_strict_comparison() -> None:
    scores = threshold_metrics(np.array([[5, 10]]), np.array([[5, 9]]), threshold=10, event="below")
    assert (scores["tp"], scores["fp"], scores["fn"], scores["tn"]) == (1, 1, 0, 0)


def test_undefined_ratios_are_none_not_zero() -> None:
    scores = threshold_metrics(np.array([[1, 2]]), np.array([[1, 2]]), threshold=80)
    assert scores["precision"] is None and scores["recall"] is None and scores["f1"] is None
    assert scores["tn"] == 2


def test_point_metrics_percentages_mase_and_r2_by_hand() -> None:
    actual = np.array([[2.0, 0.0], [4.0, 5.0]])
    forecast = np.array([[3.0, 0.0], [2.0, 5.0]])  # errors 1, 0, -2, 0
    scores = point_metrics(actual, forecast, 2.0, mase_scale=0.5)
    assert list(scores) == [
        "mse", "rmse", "mae", "mape", "mape_skipped", "smape", "mase", "r2", "mse_scaled", "mae_scaled"
    ]  # fmt: skip
    assert scores["mse"] == pytest.approx(5 / 4)  # (1 + 0 + 4 + 0) / 4
    assert scores["rmse"] == pytest.approx(np.sqrt(5 / 4))
    assert scores["mae"] == pytest.approx(3 / 4)  # (1 + 0 + 2 + 0) / 4
    # The zero actual is skipped and counted: 100 * (1/2 + 2/4 + 0/5) / 3
    assert scores["mape"] == pytest.approx(100 / 3)
    assert scores["mape_skipped"] == 1
    # 200 * (1/(2+3) + 0 [0/0 pair] + 2/(4+2) + 0/(5+5)) / 4 = (40 + 200/3) / 4
    assert scores["smape"] == pytest.approx(80 / 3)
    assert scores["mase"] == pytest.approx(1.5)  # MAE 0.75 / scale 0.5
    # mean actual 11/4; SST = 0.5625 + 7.5625 + 1.5625 + 5.0625 = 14.75; SSE = 5
    assert scores["r2"] == pytest.approx(1 - 5 / 14.75)
    assert scores["mse_scaled"] == pytest.approx(5 / 4 / 2**2)
    assert scores["mae_scaled"] == pytest.approx(3 / 4 / 2)


def test_point_metrics_are_plain_json_numbers() -> None:
    scores = point_metrics(np.array([[2.0, 0.0], [4.0, 5.0]]), np.array([[3.0, 0.0], [2.0, 5.0]]), 2.0, 0.5)
    assert all(value is None or type(value) in (float, int) for value in scores.values())
    assert type(scores["mape_skipped"]) is int
    json.dumps(scores, allow_nan=False)


def test_constant_actuals_leave_r2_undefined() -> None:
    scores = point_metrics(np.full((2, 2), 3.0), np.array([[3.0, 4.0], [2.0, 3.0]]), 1.0)
    assert scores["r2"] is None  # SST = 0
    assert point_metrics(np.array([[3.0]]), np.array([[1.0]]), 1.0)["r2"] is None  # one pair: SST = 0 too


def test_all_zero_actuals_leave_mape_undefined_but_smape_defined() -> None:
    scores = point_metrics(np.zeros((2, 2)), np.array([[0.0, 1.0], [-2.0, 0.0]]), 1.0)
    assert scores["mape"] is None
    assert scores["mape_skipped"] == 4
    # 200 * (0 [0/0] + 1/1 + 2/2 + 0 [0/0]) / 4
    assert scores["smape"] == pytest.approx(100.0)
    json.dumps(scores, allow_nan=False)


@pytest.mark.parametrize("scale", [None, 0.0])
def test_mase_is_none_without_a_scale(scale: float | None) -> None:
    assert point_metrics(np.array([[1.0, 2.0]]), np.array([[2.0, 2.0]]), 1.0, mase_scale=scale)["mase"] is None


PER_STEP_ACTUAL = np.array([[1.0, 0.0], [2.0, 4.0], [3.0, 8.0]])
PER_STEP_FORECAST = np.array([[2.0, 0.0], [2.0, 2.0], [0.0, 8.0]])  # errors: step 1: 1, 0, -3; step 2: 0, -2, 0


def test_per_step_metrics_by_hand() -> None:
    first, second = per_step_metrics(PER_STEP_ACTUAL, PER_STEP_FORECAST, mase_scale=2.0)
    assert list(first) == ["step", "mse", "rmse", "mae", "mape", "mape_skipped", "smape", "mase", "r2"]
    assert (first["step"], second["step"]) == (1, 2)
    assert first["mse"] == pytest.approx(10 / 3)  # (1 + 0 + 9) / 3
    assert first["rmse"] == pytest.approx(np.sqrt(10 / 3))
    assert first["mae"] == pytest.approx(4 / 3)  # (1 + 0 + 3) / 3
    assert first["mape"] == pytest.approx(200 / 3)  # 100 * (1/1 + 0/2 + 3/3) / 3
    assert first["mape_skipped"] == 0
    assert first["smape"] == pytest.approx(800 / 9)  # 200 * (1/3 + 0/4 + 3/3) / 3
    assert first["mase"] == pytest.approx(2 / 3)  # (4/3) / 2
    assert first["r2"] == pytest.approx(-4.0)  # mean 2: SST = 1 + 0 + 1 = 2, SSE = 10: 1 - 10/2
    assert second["mse"] == pytest.approx(4 / 3)  # (0 + 4 + 0) / 3
    assert second["mae"] == pytest.approx(2 / 3)
    assert second["mape"] == pytest.approx(25.0)  # the zero actual skipped: 100 * (2/4 + 0/8) / 2
    assert second["mape_skipped"] == 1
    assert second["smape"] == pytest.approx(200 / 9)  # 200 * (0 [0/0] + 2/6 + 0/16) / 3
    assert second["mase"] == pytest.approx(1 / 3)  # (2/3) / 2
    assert second["r2"] == pytest.approx(7 / 8)  # mean 4: SST = 16 + 0 + 16 = 32, SSE = 4: 1 - 4/32


def test_per_step_metrics_agree_with_point_metrics_on_each_column() -> None:
    rng = np.random.default_rng(0)
    actual = np.vstack([PER_STEP_ACTUAL, rng.normal(size=(5, 2))])
    forecast = np.vstack([PER_STEP_FORECAST, rng.normal(size=(5, 2))])
    for step in per_step_metrics(actual, forecast, mase_scale=1.5):
        column = step["step"] - 1
        whole = point_metrics(actual[:, column], forecast[:, column], 3.0, mase_scale=1.5)
        for name, value in step.items():
            if name != "step":
                assert value == pytest.approx(whole[name]), name


def test_per_step_r2_is_none_for_a_constant_step_or_a_single_origin() -> None:
    steps = per_step_metrics(np.array([[1.0, 5.0], [2.0, 5.0]]), np.array([[1.0, 4.0], [3.0, 6.0]]))
    assert steps[0]["r2"] == pytest.approx(-1.0)  # mean 1.5: SST = 0.5, SSE = 1
    assert steps[1]["r2"] is None  # the actuals of step 2 are constant
    single = per_step_metrics(np.array([[1.0, 2.0]]), np.array([[2.0, 2.0]]))
    assert [step["r2"] for step in single] == [None, None]
    json.dumps(single, allow_nan=False)


def test_per_step_mape_is_none_for_a_step_of_zero_actuals() -> None:
    steps = per_step_metrics(np.array([[0.0, 2.0], [0.0, 4.0]]), np.array([[1.0, 1.0], [0.0, 4.0]]))
    assert (steps[0]["mape"], steps[0]["mape_skipped"]) == (None, 2)
    assert steps[1]["mape"] == pytest.approx(25.0)  # 100 * (1/2 + 0/4) / 2
    json.dumps(steps, allow_nan=False)


def test_mase_scale_is_the_in_sample_seasonal_naive_error() -> None:
    values = np.array([1.0, 3.0, 2.0, 6.0])
    assert mase_scale(values, season=1) == pytest.approx(7 / 3)  # (|3-1| + |2-3| + |6-2|) / 3
    assert mase_scale(values, season=2) == pytest.approx(2.0)  # (|2-1| + |6-3|) / 2
    assert mase_scale(values, season=0) == pytest.approx(7 / 3)  # no season: one step back


@pytest.mark.parametrize(
    ("values", "season"), [([5.0], 1), ([1.0, 2.0], 2), ([4.0, 4.0, 4.0], 1), ([1.0, 2.0, 1.0, 2.0], 2)]
)
def test_mase_scale_is_none_without_a_usable_error(values: list[float], season: int) -> None:
    # too short for one pair, or a zero mean error (constant, or exactly periodic at the season)
    assert mase_scale(np.array(values), season) is None


def test_a_lower_alert_level_trades_misses_for_false_alarms() -> None:
    actual = np.array([[81, 79], [85, 72]])  # events (> 80): yes, no / yes, no
    forecast = np.array([[78, 76], [83, 70]])
    at_threshold = threshold_metrics(actual, forecast, 80, "above")
    # alerts at 80: no, no / yes, no -> TP 1 (85/83), FN 1 (81/78), TN 2
    assert (at_threshold["tp"], at_threshold["fp"], at_threshold["fn"], at_threshold["tn"]) == (1, 0, 1, 2)
    assert at_threshold["alert_level"] == 80.0
    early = threshold_metrics(actual, forecast, 80, "above", alert_level=75)
    # alerts at 75: yes, yes / yes, no -> TP 2, FP 1 (79/76), FN 0, TN 1 (72/70)
    assert (early["tp"], early["fp"], early["fn"], early["tn"]) == (2, 1, 0, 1)
    assert early["precision"] == pytest.approx(2 / 3)
    assert early["recall"] == pytest.approx(1.0)
    assert early["f1"] == pytest.approx(0.8)  # 2 * (2/3) * 1 / (2/3 + 1)
    assert (early["threshold"], early["alert_level"], early["event"]) == (80.0, 75.0, "above")


def test_alert_level_for_below_events() -> None:
    # events: actual < 10; alerts: forecast < 12 -> 11 alerts (TP with 9), 13 does not (FN with 8)
    scores = threshold_metrics(np.array([[9, 8, 20]]), np.array([[11, 13, 11]]), 10, "below", alert_level=12)
    assert (scores["tp"], scores["fp"], scores["fn"], scores["tn"]) == (1, 1, 1, 0)


def test_threshold_per_step_counts_sum_to_the_overall_counts() -> None:
    actual = np.array([[81, 79], [85, 72]])
    forecast = np.array([[78, 76], [83, 70]])
    scores = threshold_metrics(actual, forecast, 80, alert_level=75)
    first, second = scores["per_step"]
    # step 1: events 81, 85 both alerted (78, 83 > 75) -> TP 2
    assert first == {"step": 1, "precision": 1.0, "recall": 1.0, "f1": 1.0, "tp": 2, "fp": 0, "fn": 0, "tn": 0}
    # step 2: no events; 76 alerts (FP), 70 does not (TN); nothing happened, so recall and F1 are None
    assert second == {"step": 2, "precision": 0.0, "recall": None, "f1": None, "tp": 0, "fp": 1, "fn": 0, "tn": 1}
    for key in ("tp", "fp", "fn", "tn"):
        assert first[key] + second[key] == scores[key]
    json.dumps(scores, allow_nan=False)
