import numpy as np
import pytest

from lstmcast.baselines import Ridge, drift, fit_ridge, mean_forecast, naive, season_length, seasonal_naive


def test_naive_repeats_the_last_value() -> None:
    assert naive(np.arange(10.0), np.array([4, 7]), horizon=3).tolist() == [[3, 3, 3], [6, 6, 6]]


@pytest.mark.parametrize(
    ("freq", "season"),
    [("h", 24), ("15min", 96), ("D", 7), ("B", 5), ("W-SUN", 52), ("ME", 12), ("QE-DEC", 4), ("YE", 1), (None, 1)],
)
def test_season_length_follows_the_frequency(freq: str | None, season: int) -> None:
    assert season_length(freq) == season


def test_seasonal_naive_repeats_the_last_season() -> None:
    values = np.arange(10.0)
    # season 3, origin 6: the last full season is rows 3, 4, 5, then it repeats.
    assert seasonal_naive(values, np.array([6]), horizon=5, season=3).tolist() == [[3, 4, 5, 3, 4]]


def test_seasonal_naive_refuses_an_origin_with_less_than_a_season_before_it() -> None:
    # numpy would read rows 260-263 from the end of the series for origin 210 and season 250
    with pytest.raises(ValueError, match=r"a whole season \(250 rows\) before every origin; origin 210 has fewer"):
        seasonal_naive(np.arange(300.0), np.array([210, 260]), horizon=4, season=250)
    assert seasonal_naive(np.arange(300.0), np.array([250]), horizon=2, season=250).tolist() == [[0, 1]]


SHORT = np.array([1.0, 3.0, 2.0, 6.0, 4.0])


def test_drift_extends_the_average_change_since_the_start() -> None:
    # origin 2: last 3, slope (3 - 1) / 1 = 2 -> 5, 7, 9
    # origin 4: last 6, slope (6 - 1) / 3 = 5/3 -> 6 + 5/3, 6 + 10/3, 6 + 5
    expected = [[5, 7, 9], [23 / 3, 28 / 3, 11]]
    np.testing.assert_allclose(drift(SHORT, np.array([2, 4]), horizon=3), expected)


def test_drift_from_a_single_value_is_flat() -> None:
    assert drift(SHORT, np.array([1]), horizon=2).tolist() == [[1, 1]]  # slope 0: nothing to average yet


def test_mean_forecast_repeats_the_mean_of_the_history() -> None:
    # origin 2: (1 + 3) / 2 = 2; origin 4: (1 + 3 + 2 + 6) / 4 = 3; origin 1: just y[0] = 1
    forecast = mean_forecast(SHORT, np.array([2, 4, 1]), horizon=3)
    np.testing.assert_allclose(forecast, [[2, 2, 2], [3, 3, 3], [1, 1, 1]])


def test_ridge_recovers_a_linear_autoregression() -> None:
    rng = np.random.default_rng(0)
    values = np.zeros(3000)
    for t in range(2, len(values)):
        values[t] = 0.6 * values[t - 1] + 0.3 * values[t - 2] + rng.normal(0, 1)
    train, val, test = np.arange(8, 2000), np.arange(2000, 2500), np.arange(2500, 2999)
    ridge = fit_ridge(values, train, val, lookback=8, horizon=1)
    # One step ahead the best possible forecast has the noise variance (1) as its error.
    assert ridge.mse(values, test) == pytest.approx(1.0, abs=0.15)
    np.testing.assert_allclose(ridge.weight[-2:, 0], [0.3, 0.6], atol=0.08)
    assert ridge.predict(values, test).shape == (len(test), 1)


def test_ridge_penalty_is_chosen_on_the_validation_windows() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(0, 1, 600)  # pure noise: the best ridge shrinks hard towards the mean
    ridge = fit_ridge(values, np.arange(24, 400), np.arange(400, 590), lookback=24, horizon=4)
    assert np.abs(ridge.weight).max() < 0.1


@pytest.mark.parametrize("mode", ["last", "mean"])
def test_ridge_in_window_normalised_coordinates_is_level_free(mode: str) -> None:
    # Fitted on normalised windows, ridge's forecast moves with the window: shifting the whole
    # series by a constant shifts every forecast by it (the plain baseline would mean-revert).
    rng = np.random.default_rng(0)
    values = np.cumsum(rng.normal(size=600))
    train, val = np.arange(24, 400), np.arange(400, 590)
    ridge = fit_ridge(values, train, val, lookback=24, horizon=6, window_norm=mode)
    origins = np.arange(24, 590)
    np.testing.assert_allclose(ridge.predict(values + 50.0, origins), ridge.predict(values, origins) + 50.0)
    assert Ridge.from_dict(ridge.to_dict()).window_norm == mode
