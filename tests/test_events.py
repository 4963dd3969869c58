"""Event-level scores, each definition checked on a small timeline worked out by hand.

Unless a test says otherwise: rows 0..11, horizon H = 3, origins 1..9 (origin t forecasts rows
t, t+1, t+2), threshold X = 80, events "above" (value > 80), so the scored rows are 1..11.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from lstmcast.errors import ConfigError
from lstmcast.events import (
    QUANTILE_LEVELS,
    Quantile,
    event_metrics,
    event_runs,
    match_events,
    parse_threshold,
    quantile_value,
    training_quantiles,
    tune_alert_level,
    tune_alert_prob,
    why_no_event,
)

H = 3
ORIGINS = np.arange(1, 10, dtype=np.int64)


def series(beyond: dict[int, float], n: int = 12, base: float = 50.0) -> np.ndarray:
    """``n`` rows of ``base`` with the given rows set to other values."""
    values = np.full(n, base)
    values[list(beyond)] = list(beyond.values())
    return values


def perfect(target: np.ndarray, origins: np.ndarray = ORIGINS, horizon: int = H) -> np.ndarray:
    """The forecaster that knows the future: forecast[i, h] = target[origins[i] + h]."""
    return target[origins[:, None] + np.arange(horizon)]


def flat_forecast(warnings: dict[tuple[int, int], float], origins: np.ndarray = ORIGINS) -> np.ndarray:
    """Forecasts of 50 everywhere except ``{(origin, row): value}``."""
    forecast = np.full((len(origins), H), 50.0)
    for (origin, row), value in warnings.items():
        forecast[np.searchsorted(origins, origin), row - origin] = value
    return forecast


# row      0  1  2  3  4  5  6  7  8  9 10 11
# target  50 50 90 95 50 50 50 50 50 85 50 50
# actual        [=====]                [=]       events [2, 3] and [9, 9]
TWO_EVENTS = series({2: 90, 3: 95, 9: 85})


# -- event_runs -------------------------------------------------------------------------------------


def test_event_runs_of_nothing_is_an_empty_table() -> None:
    assert event_runs(np.array([], dtype=bool)).shape == (0, 2)
    assert event_runs(np.zeros(4, dtype=bool)).shape == (0, 2)


def test_event_runs_all_true_is_one_run() -> None:
    assert event_runs(np.ones(5, dtype=bool)).tolist() == [[0, 4]]


def test_event_runs_are_inclusive_and_include_runs_touching_both_ends() -> None:
    flags = np.array([True, True, False, False, True, False, True])
    runs = event_runs(flags)
    assert runs.tolist() == [[0, 1], [4, 4], [6, 6]]
    assert runs.dtype == np.int64


# -- event_metrics ----------------------------------------------------------------------------------


def test_a_perfect_forecaster_detects_every_event_as_early_as_the_origins_allow() -> None:
    # Origins 3 and 4 see 90 and 95 as their last value, so they may not alert.
    # [2, 3]: origin 1 forecasts rows 1..3 and warns of rows 2, 3 -> lead 2 - 1 + 1 = 2
    #         (no origin 0: it is not scored).
    # [9, 9]: origin 7 forecasts rows 7..9 and warns of row 9 -> lead 9 - 7 + 1 = 3 = H.
    scores = event_metrics(TWO_EVENTS, perfect(TWO_EVENTS), ORIGINS, threshold=80)
    assert scores == {
        "tolerance": 0,
        "alert_level": 80.0,
        "actual_events": 2,
        "predicted_events": 2,
        "matched_events": 2,
        "event_precision": 1.0,
        "event_recall": 1.0,
        "event_f1": 1.0,
        "mean_lead_time": 2.5,
        "median_lead_time": 2.5,
    }


def test_persistence_earns_no_event_recall() -> None:
    # The naive forecast repeats target[t - 1]. It only forecasts a value above 80 from origins 3
    # and 4, whose last value is already above 80: the event is visible, so that is no alert.
    naive = np.repeat(TWO_EVENTS[ORIGINS - 1, None], H, axis=1)
    scores = event_metrics(TWO_EVENTS, naive, ORIGINS, threshold=80)
    assert scores["predicted_events"] == 0 and scores["matched_events"] == 0
    assert scores["event_recall"] == 0.0
    assert scores["event_precision"] is None and scores["event_f1"] is None
    assert scores["mean_lead_time"] is None and scores["median_lead_time"] is None


def test_a_false_alarm_lowers_precision_only() -> None:
    # As the perfect forecaster, but origin 5 also forecasts 88 for row 6:
    # row       2  3        6        9
    # predicted [==]       [=]      [=]     three predicted events, [6, 6] matches nothing
    forecast = perfect(TWO_EVENTS)
    forecast[np.searchsorted(ORIGINS, 5), 6 - 5] = 88
    scores = event_metrics(TWO_EVENTS, forecast, ORIGINS, threshold=80)
    assert (scores["predicted_events"], scores["matched_events"]) == (3, 2)
    assert scores["event_precision"] == pytest.approx(2 / 3)
    assert scores["event_recall"] == 1.0
    assert scores["event_f1"] == pytest.approx(0.8)
    assert scores["mean_lead_time"] == 2.5


# row       3  4  5  6  7  8
# target   50 50 50 90 50 50      one actual event [6, 6]
ONE_EVENT = series({6: 90})


def test_tolerance_turns_a_near_miss_into_a_hit() -> None:
    # Origin 3 forecasts 90 for row 5, one row early:
    # row       3  4  5  6  7
    # actual             [=]
    # predicted       [=]          |5 - 6| = 1 step apart
    forecast = flat_forecast({(3, 5): 90})
    exact = event_metrics(ONE_EVENT, forecast, ORIGINS, threshold=80, tolerance=0)
    assert exact["event_precision"] == 0.0 and exact["event_recall"] == 0.0
    assert exact["event_f1"] is None  # both zero
    assert exact["mean_lead_time"] is None

    tolerant = event_metrics(ONE_EVENT, forecast, ORIGINS, threshold=80, tolerance=1)
    assert tolerant["tolerance"] == 1
    assert tolerant["event_precision"] == 1.0 and tolerant["event_recall"] == 1.0
    # The first warning within [6 - 1, 6 + 1] came from origin 3: lead 6 - 3 + 1 = 4.
    assert tolerant["mean_lead_time"] == 4.0


def test_a_warning_after_the_crossing_has_lead_time_at_most_zero() -> None:
    # Origin 7 sees 90 and may not alert; origin 8 forecasts 90 for row 8, two rows late:
    # row       6  7  8
    # actual   [=]
    # predicted      [=]
    forecast = flat_forecast({(8, 8): 90})
    assert event_metrics(ONE_EVENT, forecast, ORIGINS, threshold=80, tolerance=1)["event_recall"] == 0.0
    late = event_metrics(ONE_EVENT, forecast, ORIGINS, threshold=80, tolerance=2)
    assert late["event_recall"] == 1.0
    assert late["mean_lead_time"] == 6 - 8 + 1 == -1
    assert late["median_lead_time"] == -1


def test_an_event_under_way_at_the_first_scored_row_is_not_counted() -> None:
    # Origins 3..9, scored rows 3..11:
    # row      2 | 3  4  5 ... 9
    # target  90 |90 90 50    85      [3, 4] began before the first scored row: only [9, 9] counts
    origins = np.arange(3, 10, dtype=np.int64)
    target = series({2: 90, 3: 90, 4: 90, 9: 85})
    scores = event_metrics(target, perfect(target, origins), origins, threshold=80)
    assert scores["actual_events"] == 1 and scores["predicted_events"] == 1
    assert scores["event_recall"] == 1.0 and scores["event_precision"] == 1.0
    assert scores["mean_lead_time"] == 3.0  # origin 7 warned of row 9

    # With row 2 at 50 the event starts at row 3, and origin 3 warns of it: lead 3 - 3 + 1 = 1.
    target[2] = 50
    scores = event_metrics(target, perfect(target, origins), origins, threshold=80)
    assert scores["actual_events"] == 2 and scores["matched_events"] == 2
    assert scores["mean_lead_time"] == 2.0  # (1 + 3) / 2


def test_one_long_predicted_event_matches_only_one_of_the_actual_events_it_spans() -> None:
    # Origin 2 forecasts 90 for rows 2..4, origins 5..9 for every row they see:
    # row       2  3  4  5  6  7  8  9 10 11
    # actual   [===]                [=]
    # predicted[==============================]      one event [2, 11] spanning both
    forecast = flat_forecast(
        {(2, 2): 90, (2, 3): 90, (2, 4): 90} | {(t, t + h): 90 for t in range(5, 10) for h in range(H)}
    )
    scores = event_metrics(TWO_EVENTS, forecast, ORIGINS, threshold=80)
    assert (scores["actual_events"], scores["predicted_events"], scores["matched_events"]) == (2, 1, 1)
    assert scores["event_precision"] == 1.0 and scores["event_recall"] == 0.5
    assert scores["event_f1"] == pytest.approx(2 / 3)
    # Only the matched event [2, 3] has a lead time: origin 2 warned of row 2, lead 2 - 2 + 1 = 1.
    assert scores["mean_lead_time"] == 1.0


def test_a_predicted_event_split_in_two_inside_one_actual_event_counts_one_piece_as_a_false_alarm() -> None:
    # Actual event [4, 6]; origin 2 warns of row 4 and origin 4 (which saw 50) of row 6, row 5 is missed:
    # row       4  5  6
    # actual   [======]
    # predicted[=]   [=]      two predicted events, only one of which can be matched
    target = series({4: 90, 5: 90, 6: 90})
    scores = event_metrics(target, flat_forecast({(2, 4): 90, (4, 6): 90}), ORIGINS, threshold=80)
    assert (scores["actual_events"], scores["predicted_events"], scores["matched_events"]) == (1, 2, 1)
    assert scores["event_precision"] == 0.5 and scores["event_recall"] == 1.0
    # The earlier piece is matched: origin 2 warned of row 4, lead 4 - 2 + 1 = 3.
    assert scores["mean_lead_time"] == 3.0


def test_lead_time_comes_only_from_the_matched_predicted_event() -> None:
    # Tolerance 2. Origin 2 forecasts 90 for row 4, origin 5 for row 7:
    # row       2  3  4  5  6  7
    # actual   [=]         [=]         events [2, 2] and [6, 6]
    # predicted      [=]      [=]      [4, 4] overlaps both within 2; [7, 7] only [6, 6]
    # [4, 4] goes to [2, 2] (lead 2 - 2 + 1 = 1) and [7, 7] to [6, 6]. Row 4 lies within 2 of row 6
    # too, but origin 2's warning is already credited to [2, 2]: [6, 6] gets lead 6 - 5 + 1 = 2.
    target = series({2: 90, 6: 90})
    scores = event_metrics(target, flat_forecast({(2, 4): 90, (5, 7): 90}), ORIGINS, threshold=80, tolerance=2)
    assert (scores["predicted_events"], scores["matched_events"]) == (2, 2)
    assert scores["event_f1"] == 1.0
    assert scores["mean_lead_time"] == 1.5


def test_match_events_pairs_each_event_at_most_once_in_time_order() -> None:
    # Tolerance 1. Predicted [0, 9] spans actual [2, 3] and [8, 8] and takes the earlier, leaving
    # [8, 8] unmatched; [11, 11] and [13, 13] both touch [12, 12]: the first takes it, the second
    # finds it taken and is a false alarm.
    predicted = np.array([[0, 9], [11, 11], [13, 13]])
    actual = np.array([[2, 3], [8, 8], [12, 12]])
    assert match_events(predicted, actual, 1).tolist() == [[0, 0], [1, 2]]
    assert match_events(predicted, actual[:0], 1).shape == (0, 2)
    assert match_events(predicted[:0], actual, 1).shape == (0, 2)


def test_below_events_are_runs_strictly_under_the_threshold() -> None:
    # Frost below 0, rows 0..7, H = 2, origins 1..6 (scored rows 1..7):
    # row      0  1  2  3  4  5  6  7
    # target   5  4  3 -1 -2  2  0  3
    # actual            [===]     .        row 6 is 0: not below 0
    # Origin 2 forecasts rows 2, 3 and warns of row 3: lead 3 - 2 + 1 = 2.
    target = np.array([5, 4, 3, -1, -2, 2, 0, 3], dtype=float)
    origins = np.arange(1, 7, dtype=np.int64)
    scores = event_metrics(target, perfect(target, origins, 2), origins, threshold=0, event="below")
    assert (scores["actual_events"], scores["predicted_events"], scores["matched_events"]) == (1, 1, 1)
    assert scores["event_f1"] == 1.0
    assert scores["mean_lead_time"] == 2.0


# row        1  2  3  4  5  6  7  8  9
# target    50 50 95 50 50 50 50 50 85       actual events [3, 3] and [9, 9]
# forecasts that are not 50:
#   origin 1 -> row 3: 78    origin 2 -> row 3: 79    origin 5 -> row 6: 76    origin 7 -> row 9: 84
#   origin 4 -> row 5: 99    (origin 4 saw 95: it may not alert, at any level)
UNDER_TARGET = series({3: 95, 9: 85})
UNDER_FORECAST = flat_forecast({(1, 3): 78, (2, 3): 79, (5, 6): 76, (7, 9): 84, (4, 5): 99})


def test_an_alert_level_below_the_threshold_trades_precision_for_recall() -> None:
    # At Y = X = 80 only origin 7's 84 alerts: predicted [9, 9], recall 1/2.
    at_threshold = event_metrics(UNDER_TARGET, UNDER_FORECAST, ORIGINS, threshold=80)
    assert at_threshold["alert_level"] == 80.0
    assert at_threshold["event_precision"] == 1.0 and at_threshold["event_recall"] == 0.5
    # At Y = 75, 78 and 79 warn of row 3 too, but 76 raises a false alarm for row 6.
    lower = event_metrics(UNDER_TARGET, UNDER_FORECAST, ORIGINS, threshold=80, alert_level=75)
    assert lower["alert_level"] == 75.0
    assert (lower["predicted_events"], lower["matched_events"]) == (3, 2)
    assert lower["event_recall"] == 1.0
    assert lower["event_precision"] == pytest.approx(2 / 3)
    # Actual events are still judged against X: lowering Y does not change them.
    assert lower["actual_events"] == at_threshold["actual_events"] == 2


def test_event_must_be_above_or_below() -> None:
    with pytest.raises(ValueError, match="event"):
        event_metrics(TWO_EVENTS, perfect(TWO_EVENTS), ORIGINS, threshold=80, event="sideways")


def test_a_negative_tolerance_is_a_config_error_naming_the_option() -> None:
    with pytest.raises(ConfigError, match="--tolerance"):
        event_metrics(TWO_EVENTS, perfect(TWO_EVENTS), ORIGINS, threshold=80, tolerance=-1)


# -- tune_alert_level -------------------------------------------------------------------------------


def test_tune_alert_level_picks_the_f1_best_level_closest_to_the_threshold() -> None:
    # Candidates: X = 80 and the forecast values of origins that may alert (not origin 4's 99).
    # Y   alerts (> Y)           predicted        precision recall F1
    # 50  76, 78, 79, 84         [3] [6] [9]      2/3       1      0.8
    # 76  78, 79, 84             [3] [9]          1         1      1
    # 78  79, 84                 [3] [9]          1         1      1     <- the best closest to 80
    # 79  84                     [9]              1         1/2    2/3
    # 80  84                     [9]              1         1/2    2/3
    # 84  none                   -                None      0      None
    tuned = tune_alert_level(UNDER_TARGET, UNDER_FORECAST, ORIGINS, threshold=80)
    assert tuned is not None
    assert tuned["alert_level"] == 78.0
    assert (tuned["event_precision"], tuned["event_recall"], tuned["event_f1"]) == (1.0, 1.0, 1.0)
    assert tuned["threshold_f1"] == pytest.approx(2 / 3)
    curve = tuned["curve"]
    assert [point["alert_level"] for point in curve] == [50.0, 76.0, 78.0, 79.0, 80.0, 84.0]
    assert [point["event_f1"] for point in curve] == pytest.approx([0.8, 1, 1, 2 / 3, 2 / 3, None])
    assert curve[-1] == {"alert_level": 84.0, "event_precision": None, "event_recall": 0.0, "event_f1": None}


def test_tune_alert_level_keeps_the_threshold_when_it_is_as_good_as_any() -> None:
    # The perfect forecaster scores F1 = 1 at Y = 80 and at Y = 50 alike: X wins the tie.
    tuned = tune_alert_level(TWO_EVENTS, perfect(TWO_EVENTS), ORIGINS, threshold=80)
    assert tuned is not None
    assert tuned["alert_level"] == 80.0 and tuned["event_f1"] == tuned["threshold_f1"] == 1.0
    assert [p["event_f1"] for p in tuned["curve"] if p["alert_level"] == 50.0] == [1.0]


def test_tune_alert_level_breaks_an_equidistant_tie_toward_fewer_alerts() -> None:
    # One actual event [4, 4]. Forecasts: origin 2 -> row 4: 90, origin 3 -> row 5: 79,
    # origin 4 -> row 6: 83, origin 8 -> row 8: 77.
    # Y = 77: rows 4, 5, 6 warned -> one predicted event [4, 6] that matches: F1 1
    # Y = 80: rows 4, 6          -> [4, 4] and a false [6, 6]:        F1 2/3
    # Y = 83: row 4              -> [4, 4]:                            F1 1
    # 77 and 83 are both 3 from X; for "above" events the higher level raises fewer alerts.
    target = series({4: 95})
    forecast = flat_forecast({(2, 4): 90, (3, 5): 79, (4, 6): 83, (8, 8): 77})
    tuned = tune_alert_level(target, forecast, ORIGINS, threshold=80)
    assert tuned is not None
    f1_by_level = {point["alert_level"]: point["event_f1"] for point in tuned["curve"]}
    assert f1_by_level[77.0] == f1_by_level[83.0] == 1.0
    assert f1_by_level[80.0] == pytest.approx(2 / 3)
    assert tuned["alert_level"] == 83.0


def test_tune_alert_level_does_not_reward_alerting_everything() -> None:
    # TWO_EVENTS, actual [2, 3] and [9, 9]. Origins 3 and 4 see 90 and 95 and may not alert; the
    # others forecast 78 for rows 2, 3, 9 and (a false alarm) 6, 50 for row 1 from origin 1, and 65
    # everywhere else.
    # Y   warned rows            predicted                 matched precision recall F1
    # 50  2..11                  [2, 11]                   1       1         1/2    2/3
    # 65  2, 3, 6, 9             [2, 3] [6, 6] [9, 9]      2       2/3       1      0.8   <- best
    # 78  none                   -                         0       None      0      None
    # Counting any overlap as a match, Y = 50 would score F1 1 with its one giant predicted event.
    rows = ORIGINS[:, None] + np.arange(H)
    forecast = np.where(np.isin(rows, [2, 3, 6, 9]), 78.0, 65.0)
    forecast[0, 0] = 50.0  # origin 1, row 1
    tuned = tune_alert_level(TWO_EVENTS, forecast, ORIGINS, threshold=80)
    assert tuned is not None
    assert tuned["alert_level"] == 65.0
    assert tuned["event_precision"] == pytest.approx(2 / 3) and tuned["event_recall"] == 1.0
    assert tuned["event_f1"] == pytest.approx(0.8)
    everything = tuned["curve"][0]
    assert everything["alert_level"] == 50.0
    assert (everything["event_precision"], everything["event_recall"]) == (1.0, 0.5)
    merged = event_metrics(TWO_EVENTS, forecast, ORIGINS, threshold=80, alert_level=50)
    assert (merged["predicted_events"], merged["matched_events"]) == (1, 1)


def test_tune_alert_level_caps_the_candidates_at_quantiles_of_the_forecast() -> None:
    # Two quantile levels (0 and 1) of the forecast values that may alert: 50 and 84, plus X.
    tuned = tune_alert_level(UNDER_TARGET, UNDER_FORECAST, ORIGINS, threshold=80, max_candidates=2)
    assert tuned is not None
    assert [point["alert_level"] for point in tuned["curve"]] == [50.0, 80.0, 84.0]


def test_tune_alert_level_is_none_without_an_actual_event() -> None:
    quiet = series({})
    assert tune_alert_level(quiet, flat_forecast({(2, 3): 90}), ORIGINS, threshold=80) is None


def test_why_no_event_tells_none_beyond_from_one_under_way_from_the_start() -> None:
    # ORIGINS 1..9 with H 3 score rows 1-11.
    quiet = series({})
    assert why_no_event(quiet, ORIGINS, H, 80, "above") == "the validation part has no above-threshold event"
    under_way = series({0: 90, 1: 90, 2: 90})  # beyond from before row 1 to row 2: not counted
    assert tune_alert_level(under_way, perfect(under_way), ORIGINS, threshold=80) is None
    assert why_no_event(under_way, ORIGINS, H, 80, "above") == (
        "the validation part's only above-threshold event is under way from its first row, so none starts in it"
    )
    everywhere = series({}, base=90.0)
    assert tune_alert_level(everywhere, perfect(everywhere), ORIGINS, threshold=80) is None
    assert why_no_event(everywhere, ORIGINS, H, 80, "above", part="test part") == (
        "every row of the test part is above the threshold 80, so no event starts in it"
    )
    assert why_no_event(quiet, ORIGINS, H, 60, "below").startswith("every row of the validation part is below")


# -- tune_alert_prob --------------------------------------------------------------------------------


def test_tune_alert_prob_picks_the_f1_best_probability_on_its_grid() -> None:
    # TWO_EVENTS, actual [2, 3] and [9, 9]. Probabilities of the event: 0.3 for rows 2 and 9 (from
    # origins 1 and 7), 0.6 for a false alarm at row 6 (origin 5), 0.1 everywhere else.
    # P     alerts (> P)        predicted            precision recall F1
    # 0.05  every step          [1, 11]              1         1/2    2/3
    # 0.2   rows 2, 6, 9        [2] [6] [9]          2/3       1      0.8   <- best
    # 0.5   row 6               [6]                  0         0      None
    probability = np.full((len(ORIGINS), H), 0.1)
    probability[0, 1] = probability[6, 2] = 0.3
    probability[4, 1] = 0.6
    tuned = tune_alert_prob(TWO_EVENTS, probability, ORIGINS, threshold=80, candidates=(0.05, 0.2, 0.5))
    assert tuned is not None
    assert tuned["alert_prob"] == 0.2 and tuned["event_f1"] == pytest.approx(0.8)
    assert tuned["even_odds_f1"] is None
    assert [point["alert_prob"] for point in tuned["curve"]] == [0.05, 0.2, 0.5]
    assert [point["event_f1"] for point in tuned["curve"]] == pytest.approx([2 / 3, 0.8, None])
    # The same as scoring the probabilities directly, as reports do (alerting = probability > P).
    direct = event_metrics(TWO_EVENTS, probability, ORIGINS, threshold=80, alert_level=0.2)
    assert direct["event_f1"] == tuned["event_f1"]


def test_tune_alert_prob_breaks_ties_toward_even_odds_then_fewer_alerts() -> None:
    # Perfect probabilities (1 on the event rows, 0 elsewhere): every P scores F1 1, and 0.5 wins.
    probability = (perfect(TWO_EVENTS) > 80).astype(float)
    tuned = tune_alert_prob(TWO_EVENTS, probability, ORIGINS, threshold=80)
    assert tuned is not None and tuned["alert_prob"] == 0.5 and tuned["even_odds_f1"] == 1.0
    # Rows 2 and 9 at 0.7 (origins 1 and 7), a false alarm at row 5 at 0.55 (origin 5), rows 3 and 4
    # at 0.45 (origins 1 and 2), which join it to the event [2, 3]:
    # P     alerted rows        predicted              F1
    # 0.4   2, 3, 4, 5, 9       [2, 5] [9]             1     (one-to-one: the false alarm is absorbed)
    # 0.5   2, 5, 9             [2] [5] [9]            0.8
    # 0.6   2, 9                [2] [9]                1
    # 0.4 and 0.6 are as far from 0.5: the higher P, raising fewer alerts, wins.
    probability = np.zeros((len(ORIGINS), H))
    probability[0, 1] = probability[6, 2] = 0.7
    probability[0, 2] = probability[1, 2] = 0.45
    probability[4, 0] = 0.55
    tuned = tune_alert_prob(TWO_EVENTS, probability, ORIGINS, threshold=80, candidates=(0.4, 0.6))
    assert tuned is not None
    f1 = {point["alert_prob"]: point["event_f1"] for point in tuned["curve"]}
    assert f1 == pytest.approx({0.4: 1.0, 0.5: 0.8, 0.6: 1.0})
    assert tuned["alert_prob"] == 0.6 and tuned["even_odds_f1"] == pytest.approx(0.8)


def test_tune_alert_prob_of_events_below_alerts_on_high_probabilities_too() -> None:
    # Events below 20: rows 4 and 5. The probability of that event is high (0.9) where it happens.
    target = series({4: 10, 5: 12})
    probability = np.where(perfect(target) < 20, 0.9, 0.05)
    tuned = tune_alert_prob(target, probability, ORIGINS, threshold=20, event="below")
    assert tuned is not None and tuned["alert_prob"] == 0.5 and tuned["event_f1"] == 1.0
    assert [p["event_f1"] for p in tuned["curve"] if p["alert_prob"] == 0.95] == [None]  # no alert above 0.9


def test_tune_alert_prob_is_none_without_an_actual_event_and_refuses_a_bad_grid() -> None:
    assert tune_alert_prob(series({}), np.full((len(ORIGINS), H), 0.5), ORIGINS, threshold=80) is None
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        tune_alert_prob(TWO_EVENTS, np.zeros((len(ORIGINS), H)), ORIGINS, threshold=80, candidates=(0.0, 0.5))


# -- the definitions, literally, against the vectorised code -------------------------------------------


def literal_runs(rows: list[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive rows, grown one row at a time."""
    found: list[tuple[int, int]] = []
    for row in sorted(rows):
        if found and found[-1][1] == row - 1:
            found[-1] = (found[-1][0], row)
        else:
            found.append((row, row))
    return found


def literal_event_metrics(
    target: np.ndarray, forecast: np.ndarray, origins: np.ndarray, x: float, event: str, y: float, n: int
) -> dict[str, Any]:
    """The module docstring's definitions written as plainly as possible, one row at a time."""

    def beyond(value: float, level: float) -> bool:
        return bool(value > level) if event == "above" else bool(value < level)

    first, last = int(origins[0]), int(origins[-1]) + forecast.shape[1] - 1
    actual = literal_runs([r for r in range(first, last + 1) if beyond(target[r], x)])
    if actual and actual[0][0] == first and beyond(target[first - 1], x):
        actual = actual[1:]
    warned: dict[int, int] = {}  # row -> earliest origin warning it (origins come in order)
    for i, t in enumerate(origins.tolist()):
        if not beyond(target[t - 1], x):
            for h in range(forecast.shape[1]):
                if beyond(forecast[i, h], y):
                    warned.setdefault(t + h, t)
    predicted = literal_runs(list(warned))

    pairs = literal_greedy_matching(predicted, actual, n)
    leads = []
    for p, a in pairs:
        (ps, pe), (s, e) = predicted[p], actual[a]
        leads.append(s - min(t for r, t in warned.items() if ps <= r <= pe and s - n <= r <= e + n) + 1)
    return {
        "actual_events": len(actual),
        "predicted_events": len(predicted),
        "matched_events": len(pairs),
        "mean_lead_time": float(np.mean(leads)) if leads else None,
        "median_lead_time": float(np.median(leads)) if leads else None,
        "predicted": predicted,
        "actual": actual,
    }


def overlaps(p: tuple[int, int], a: tuple[int, int], n: int) -> bool:
    return p[0] <= a[1] + n and p[1] >= a[0] - n


def literal_greedy_matching(
    predicted: list[tuple[int, int]], actual: list[tuple[int, int]], n: int
) -> list[tuple[int, int]]:
    """Each predicted event in time order takes the earliest free actual event it overlaps."""
    taken: set[int] = set()
    pairs = []
    for p, pred in enumerate(predicted):
        for a, act in enumerate(actual):
            if a not in taken and overlaps(pred, act, n):
                taken.add(a)
                pairs.append((p, a))
                break
    return pairs


def maximum_matching_size(predicted: list[tuple[int, int]], actual: list[tuple[int, int]], n: int) -> int:
    """Brute force: the largest one-to-one matching of overlapping events, as an assignment problem."""
    if not predicted or not actual:
        return 0
    overlap = np.array([[overlaps(p, a, n) for a in actual] for p in predicted])
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    return int(overlap[rows, cols].sum())


@pytest.mark.parametrize("seed", range(40))
def test_vectorised_counts_agree_with_the_literal_definitions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, horizon = int(rng.integers(8, 40)), int(rng.integers(1, 5))
    target = np.round(rng.normal(size=n), 1)
    first = int(rng.integers(1, n - horizon + 1))
    origins = np.arange(first, n - horizon + 1, int(rng.integers(1, 3)), dtype=np.int64)
    forecast = np.round(
        target[origins[:, None] + np.arange(horizon)] + rng.normal(scale=0.7, size=(len(origins), horizon)), 1
    )
    event = "above" if seed % 2 else "below"
    x, y, tolerance = 0.5 * (1 if event == "above" else -1), float(rng.choice([-0.3, 0.0, 0.5])), seed % 3
    scores = event_metrics(target, forecast, origins, x, event, alert_level=y, tolerance=tolerance)
    expected = literal_event_metrics(target, forecast, origins, x, event, y, tolerance)
    predicted, actual = expected.pop("predicted"), expected.pop("actual")
    assert {key: scores[key] for key in expected} == expected
    # The greedy matching is a maximum matching, not just some matching.
    assert scores["matched_events"] == maximum_matching_size(predicted, actual, tolerance)


@pytest.mark.parametrize("seed", range(30))
def test_many_series_score_as_the_sum_of_each_alone(seed: int) -> None:
    # Three series end to end in one array, each with a lookback gap before its first origin and a
    # tolerance wider than that gap: no event, alert run or match may cross from one to the next.
    rng = np.random.default_rng(seed)
    horizon, gap, tolerance = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(0, 6))
    event, x, y = ("above", 0.5, float(rng.choice([0.2, 0.5]))) if seed % 2 else ("below", -0.5, -0.5)
    parts, origins, groups, forecasts, offset = [], [], [], [], 0
    for k in range(3):
        n = int(rng.integers(gap + horizon + 2, 30))
        values = np.round(rng.normal(size=n), 1)
        if seed % 3 == 0:  # an event under way at this series' first scored row
            values[gap - 1 : gap + 1] = 2.0 if event == "above" else -2.0
        own = np.arange(gap, n - horizon + 1, dtype=np.int64)
        parts.append(values)
        origins.append(own + offset)
        groups.append(np.full(len(own), k))
        forecasts.append(values[own[:, None] + np.arange(horizon)] + rng.normal(scale=0.7, size=(len(own), horizon)))
        offset += n
    target, all_origins, all_groups = np.concatenate(parts), np.concatenate(origins), np.concatenate(groups)
    forecast = np.concatenate(forecasts)
    pooled = event_metrics(target, forecast, all_origins, x, event, y, tolerance, groups=all_groups)
    alone = [
        event_metrics(values, f, o - o[0] + gap, x, event, y, tolerance)
        for values, f, o in zip(parts, forecasts, origins, strict=True)
    ]
    for key in ("actual_events", "predicted_events", "matched_events"):
        assert pooled[key] == sum(scores[key] for scores in alone)
    leads = [s["mean_lead_time"] * s["matched_events"] for s in alone if s["matched_events"]]
    if pooled["matched_events"]:
        assert pooled["mean_lead_time"] == pytest.approx(sum(leads) / pooled["matched_events"])


def test_groups_whose_scored_rows_touch_are_refused() -> None:
    with pytest.raises(ValueError, match="touch"):
        event_metrics(series({}), np.zeros((4, H)), np.array([1, 2, 5, 6]), 80, groups=np.array([0, 0, 1, 1]))
    with pytest.raises(ValueError, match="one block"):
        event_metrics(series({}, n=30), np.zeros((3, H)), np.array([1, 10, 20]), 80, groups=np.array([0, 1, 0]))


def random_runs(rng: np.random.Generator, n_rows: int) -> list[tuple[int, int]]:
    return literal_runs(np.flatnonzero(rng.random(n_rows) < rng.uniform(0.2, 0.8)).tolist())


@pytest.mark.parametrize("seed", range(200))
def test_match_events_is_a_maximum_matching(seed: int) -> None:
    # Random runs with long spans and wide tolerances, so one event often overlaps several others.
    rng = np.random.default_rng(seed)
    n_rows, tolerance = int(rng.integers(1, 30)), int(rng.integers(0, 4))
    predicted, actual = random_runs(rng, n_rows), random_runs(rng, n_rows)
    pairs = match_events(np.array(predicted).reshape(-1, 2), np.array(actual).reshape(-1, 2), tolerance)
    assert [tuple(pair) for pair in pairs.tolist()] == literal_greedy_matching(predicted, actual, tolerance)
    assert len(pairs) == maximum_matching_size(predicted, actual, tolerance)


# -- thresholds on the command line ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("80", 80.0), ("-3.5", -3.5), ("1e3", 1000.0), ("q0.95", Quantile(0.95)), ("q0.999", Quantile(0.999))],
)
def test_parse_threshold_reads_numbers_and_quantiles(text: str, expected: float | Quantile) -> None:
    assert parse_threshold(text) == expected


@pytest.mark.parametrize("text", ["q1.5", "q0", "q0.9995", "abc", "nan"])
def test_parse_threshold_rejects_anything_else_naming_the_option(text: str) -> None:
    with pytest.raises(ConfigError, match="--threshold") as error:
        parse_threshold(text)
    assert f"got {text!r}" in str(error.value) and "\n" not in str(error.value)


def test_a_quantile_reads_as_it_was_written() -> None:
    assert str(Quantile(0.95)) == "q0.95"
    assert str(parse_threshold("q0.999")) == "q0.999"


def test_stored_training_quantiles_round_trip_np_quantile() -> None:
    values = np.random.default_rng(0).normal(size=500)
    stored = training_quantiles(np.append(values, np.nan))  # non-finite values are ignored
    assert len(stored) == len(QUANTILE_LEVELS) and all(isinstance(v, float) for v in stored)
    level = parse_threshold("q0.95")
    assert isinstance(level, Quantile)
    assert quantile_value(stored, level.q) == pytest.approx(np.quantile(values, 0.95), rel=1e-12)
    assert quantile_value(stored, 0.5) == pytest.approx(np.median(values), rel=1e-12)
