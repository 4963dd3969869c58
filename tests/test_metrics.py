import numpy as np
import pytest

from lstmcast.metrics import point_metrics, skill, threshold_metrics


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
