"""Many series in one long table: a panel. Series never mix: not in their order, their windows,
their repaired gaps or their scaling statistics."""

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, TINY_FLAGS, sine_frame

from lstmcast import DataConfig, Forecaster, WindowConfig, read_table
from lstmcast.errors import ConfigError, DataError, DataWarning
from lstmcast.scale import fit_panel_scaler, fit_scaler
from lstmcast.validate import validate_frame, validate_panel
from lstmcast.window import chronological_split, panel_split, ranges

CONFIG = DataConfig(target="y", time_col="time")


def long_table(lengths=(300, 200, 250), seed: int = 0) -> pd.DataFrame:
    """Stores a, b, c: hourly sines of their own level and length, rows interleaved as a database
    export might give them."""
    parts = []
    for k, (name, n) in enumerate(zip("abc", lengths, strict=False)):
        part = sine_frame(n=n, seed=seed + k).assign(y=lambda f, k=k: f["y"] + 100 * k, store=name)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    return table.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # shuffled rows


def test_a_long_table_becomes_one_block_per_series_in_time_order() -> None:
    table = long_table()
    with pytest.warns(DataWarning, match="not in order within each id"):
        panel = validate_panel(table, CONFIG, "store")
    first_seen = tuple(dict.fromkeys(table["store"]))
    assert panel.ids == ("a", "b", "c") and panel.lengths.tolist() == [300, 200, 250]
    assert tuple(panel.ids[k] for k in panel.input_order) == first_seen
    assert panel.frequency == "h"
    for k, name in enumerate(panel.ids):
        alone = validate_frame(table[table["store"] == name].drop(columns="store").sort_values("time"), CONFIG)
        np.testing.assert_array_equal(panel.series(k).values, alone.values)
        assert panel.series(k).index.equals(alone.index)


def test_the_order_of_the_rows_changes_nothing_but_the_order_of_the_output() -> None:
    table = long_table()
    with pytest.warns(DataWarning):
        one = validate_panel(table, CONFIG, "store")
        other = validate_panel(table.iloc[::-1], CONFIG, "store")
    np.testing.assert_array_equal(one.values, other.values)
    np.testing.assert_array_equal(one.offsets, other.offsets)
    assert one.ids == other.ids and not np.array_equal(one.input_order, other.input_order)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.assign(store=t["store"].where(t.index != 7)), r"column 'store', row 8: missing id"),
        (lambda t: t.assign(store=t["store"].where(t.index != 7, " ")), r"column 'store', row 8: missing id"),
        (lambda t: t.rename(columns={"store": "shop"}), r"id column 'store' not found"),
        (lambda t: pd.concat([t, t.iloc[[5]]], ignore_index=True), r"store '.', rows 6 and 751|rows 6, 751"),
    ],
    ids=["a missing id", "a blank id", "no such column", "the same time twice for one id"],
)
def test_bad_ids_are_one_clear_error(change, message: str) -> None:
    with pytest.raises(DataError, match=message):
        validate_panel(change(long_table()), CONFIG, "store")


def test_the_same_time_in_different_series_is_fine_and_series_must_share_a_step() -> None:
    table = long_table().sort_values(["store", "time"])
    daily = sine_frame(n=60, freq="D").assign(store="d")
    with pytest.raises(DataError, match=r"store 'd': rows step otherwise than 'h'"):
        validate_panel(pd.concat([table, daily], ignore_index=True), CONFIG, "store")


def test_a_gap_within_a_series_warns_and_is_kept() -> None:
    table = long_table().sort_values(["store", "time"])
    table = table.drop(index=table.index[(table["store"] == "b")][50])
    with pytest.warns(DataWarning, match="irregular spacing: 1 gaps"):
        panel = validate_panel(table, CONFIG, "store")
    assert panel.frequency == "h"


@pytest.mark.parametrize("fill", ["interpolate", "ffill"])
def test_gaps_are_filled_within_their_own_series(fill: str) -> None:
    table = long_table(seed=1).sort_values(["store", "time"], kind="stable").reset_index(drop=True)
    first_b = int(np.flatnonzero(table["store"] == "b")[0])
    table.loc[[first_b, first_b + 1, first_b + 40], "y"] = np.nan  # b's first rows, and one inside it
    config = DataConfig(target="y", time_col="time", fill=fill)
    with pytest.warns(DataWarning, match="filled 3 rows"):
        panel = validate_panel(table, config, "store")
    b = panel.ids.index("b")
    with pytest.warns(DataWarning):
        alone = validate_frame(table[table["store"] == "b"].drop(columns="store"), config)
    np.testing.assert_allclose(panel.series(b).values, alone.values, rtol=1e-6)


@pytest.mark.parametrize("fill", ["interpolate", "ffill"])
def test_a_series_whose_target_has_no_values_is_named(fill: str) -> None:
    table = long_table().sort_values(["store", "time"], kind="stable").reset_index(drop=True)
    table.loc[table["store"].isin(["a", "c"]), "y"] = np.nan  # nothing in a or c to fill from
    config = DataConfig(target="y", time_col="time", fill=fill)
    with pytest.raises(
        DataError, match=r"^<frame>: column 'y' has no values at all in 2 of 3 series \(store 'a', 'c'\)$"
    ):
        validate_panel(table, config, "store")


def test_windows_never_cross_from_one_series_into_the_next() -> None:
    with pytest.warns(DataWarning):
        panel = validate_panel(long_table(), CONFIG, "store")
    window = WindowConfig(lookback=24, horizon=6)
    split = panel_split(panel.offsets, window)
    series = np.repeat(np.arange(len(panel.ids)), panel.lengths)
    for part in ("train", "val", "test"):
        origins = split.origins(part, 24, 6)
        first, last = origins - 24, origins + 6 - 1  # the window's first input and last target rows
        assert np.array_equal(series[first], series[last])
        # the same origins as each series split alone, shifted to its block
        expected = [
            panel.offsets[k] + chronological_split(n, window).origins(part, 24, 6) for k, n in enumerate(panel.lengths)
        ]
        np.testing.assert_array_equal(origins, np.concatenate(expected))


def test_a_series_too_short_to_split_gives_no_origins() -> None:
    offsets = np.array([0, 300, 320, 600])  # the middle one has 20 rows
    split = panel_split(offsets, WindowConfig(lookback=24, horizon=6))
    assert split.fits.tolist() == [True, False, True]
    origins = np.concatenate([split.origins(part, 24, 6) for part in ("train", "val", "test")])
    assert not np.any((origins >= 300) & (origins < 320))


def test_each_series_is_scaled_by_its_own_training_rows_only() -> None:
    with pytest.warns(DataWarning):
        panel = validate_panel(long_table(), CONFIG, "store")
    split = panel_split(panel.offsets, WindowConfig())
    for kind in ("standard", "minmax", "robust"):
        scaler = fit_panel_scaler(kind, panel.values, panel.offsets, split.train_end)
        for k in range(len(panel.ids)):
            alone = fit_scaler(kind, panel.values[panel.offsets[k] : split.train_end[k]])
            np.testing.assert_allclose(scaler.center[k], alone.center, rtol=1e-6)
            np.testing.assert_allclose(scaler.scale[k], alone.scale, rtol=1e-6)
    changed = panel.values.copy()
    changed[split.train_end[0] : panel.offsets[1]] += 1e3  # series 0's validation and test rows
    before = fit_panel_scaler("standard", panel.values, panel.offsets, split.train_end)
    after = fit_panel_scaler("standard", changed, panel.offsets, split.train_end)
    np.testing.assert_array_equal(before.center, after.center)
    scaled = after.transform(changed, panel.offsets)
    assert abs(scaled[panel.offsets[1] : panel.offsets[2], 0].mean()) < 0.5  # series 1 near 0 in its own units


def test_ranges_concatenates_aranges() -> None:
    starts, counts = np.array([5, 0, 40, 7]), np.array([3, 0, 2, 1])
    expected = np.concatenate([np.arange(s, s + c) for s, c in zip(starts, counts, strict=True)])
    np.testing.assert_array_equal(ranges(starts, counts), expected)


def test_baselines_read_only_the_history_of_their_own_series() -> None:
    from lstmcast.baselines import drift, mean_forecast, naive, seasonal_naive

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=100), 50 + rng.normal(size=80)
    values = np.concatenate([a, b])
    origins = np.array([30, 99, 100 + 30, 100 + 79])
    starts = np.array([0, 0, 100, 100])
    alone = [(a, 30), (a, 99), (b, 30), (b, 79)]
    for name, together, single in [
        ("naive", naive(values, origins, 4), [naive(v, np.array([o]), 4)[0] for v, o in alone]),
        ("drift", drift(values, origins, 4, starts), [drift(v, np.array([o]), 4)[0] for v, o in alone]),
        ("mean", mean_forecast(values, origins, 4, starts), [mean_forecast(v, np.array([o]), 4)[0] for v, o in alone]),
        (
            "seasonal naive",
            seasonal_naive(values, origins, 4, 24, starts),
            [seasonal_naive(v, np.array([o]), 4, 24)[0] for v, o in alone],
        ),
    ]:
        np.testing.assert_allclose(together, np.array(single), err_msg=name)
    with pytest.raises(ValueError, match="a whole season"):
        seasonal_naive(values, np.array([110]), 4, 24, np.array([100]))  # 10 rows of its own series


def _uneven_panel(count: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` noisy series of their own lengths, shapes and trends, end to end: values, offsets."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(60, 300, count)
    parts = [
        np.sin(np.arange(n) / rng.uniform(2, 9)) + rng.normal(0, 0.3, n) + np.linspace(0, rng.normal(), n)
        for n in lengths
    ]
    return np.concatenate(parts), np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


@pytest.mark.parametrize("block_floats", [4_000_000, 3_000])  # one block; a block of one or two series each
def test_a_ridge_per_series_is_the_ridge_fitted_on_that_series_alone(
    block_floats: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lstmcast import baselines
    from lstmcast.baselines import fit_panel_ridges, fit_ridge

    monkeypatch.setattr(baselines, "_BLOCK_FLOATS", block_floats)
    values, offsets = _uneven_panel()
    lookback, horizon = 12, 4
    split = panel_split(offsets, WindowConfig(lookback=lookback, horizon=horizon))
    train, val = split.origins("train", lookback, horizon), split.origins("val", lookback, horizon)
    ridges = fit_panel_ridges(values, offsets, train, val, lookback, horizon)
    assert ridges.fitted.tolist() == split.fits.tolist()
    for k in np.flatnonzero(split.fits):
        first, end = offsets[k], offsets[k + 1]
        own = values[first:end]
        alone = fit_ridge(
            own,
            train[(train >= first) & (train < end)] - first,
            val[(val >= first) & (val < end)] - first,
            lookback,
            horizon,
        )
        assert ridges.alpha[k] == pytest.approx(alone.alpha, rel=1e-9)
        origins = np.arange(lookback, len(own) - horizon + 1)
        together = ridges.predict(values, origins + first, np.full(len(origins), k))
        np.testing.assert_allclose(together, alone.predict(own, origins), atol=1e-5)  # weights kept as float32


def test_the_mase_denominator_of_every_series_is_its_own() -> None:
    from lstmcast.metrics import mase_scale, panel_mase_scale

    values, offsets = _uneven_panel(count=5)
    values[offsets[2] : offsets[3]] = 7.0  # constant: no denominator
    train_end = offsets[:-1] + np.diff(offsets) * 7 // 10
    together = panel_mase_scale(values, offsets, train_end, season=24)
    for k in range(5):
        alone = mase_scale(values[offsets[k] : train_end[k]], 24)
        assert (np.isnan(together[k]) and alone is None) or together[k] == pytest.approx(alone)


# -- one model for many series: train and predict ----------------------------------------------------

PANEL_TINY = {**TINY, "target": "y", "time_col": "time", "id_col": "store"}


@pytest.fixture(scope="module")
def global_model() -> Forecaster:
    with pytest.warns(DataWarning):  # the shuffled rows are sorted
        return Forecaster(**PANEL_TINY).fit(long_table())


def test_one_model_reports_every_series_and_the_pool(global_model: Forecaster) -> None:
    metrics = global_model.metrics_
    assert metrics["part"] == "test" and metrics["units"] == "each series scaled by its own training rows"
    assert [row["id"] for row in metrics["series"]] == ["a", "b", "c"]
    assert sum(row["n_origins"] for row in metrics["series"]) == metrics["n_origins"]
    assert metrics["worst_series"] in ("a", "b", "c") and metrics["mape"] is None
    assert global_model.training_["series"] == 3 == global_model.training_["series_fitted"]


def test_a_quantile_threshold_on_a_model_of_many_series_says_why_it_cannot_be_resolved(
    global_model: Forecaster,
) -> None:
    # It said "saved without the quantiles of its training part (lstmcast before 0.4)" of a new model.
    with pytest.raises(ConfigError, match=r"^--threshold q0.9: a model of many series keeps no quantiles of one "):
        global_model.event_settings("q0.9")
    assert global_model.event_settings(12.5).level == 12.5


def test_every_series_is_scored_against_its_own_ridge_and_mase_denominator(global_model: Forecaster) -> None:
    """The report's ridge for a series is the ridge fitted on that series alone, and its MASE divides by
    that series' in-sample seasonal-naive error: what a model per series would be scored against."""
    from lstmcast.baselines import fit_ridge
    from lstmcast.metrics import mase_scale

    lookback, horizon, season = TINY["lookback"], TINY["horizon"], global_model.season_
    with pytest.warns(DataWarning):
        panel = validate_panel(long_table(), CONFIG, "store")
    split = panel_split(panel.offsets, global_model.state_.window)
    errors, mase_sum, mase_count = [], 0.0, 0
    for k, row in enumerate(global_model.metrics_["series"]):
        series = panel.series(k)
        n_train, n_val = (split.train_end[k] - panel.offsets[k]), (split.val_end[k] - panel.offsets[k])
        scaler = fit_scaler("standard", series.values[:n_train])
        target = scaler.transform_target(series.values[:, 0].astype(np.float64))
        ridge = fit_ridge(
            target,
            np.arange(lookback, n_train - horizon + 1),
            np.arange(n_train, n_val - horizon + 1),
            lookback,
            horizon,
        )
        test = np.arange(max(n_val, season), len(series) - horizon + 1)
        ridge_mse = ridge.mse(target, test) * float(scaler.scale[0]) ** 2
        assert row["ridge_mse"] == pytest.approx(ridge_mse, rel=1e-4)
        denominator = mase_scale(target[:n_train], season)
        assert row["ridge_mase"] == pytest.approx(
            np.abs(ridge.predict(target, test) - target[test[:, None] + np.arange(horizon)]).mean() / denominator,
            rel=1e-4,
        )
        errors.append(row["mse"] / ridge_mse)
        mase_sum += row["mase"] * row["n_origins"]
        mase_count += row["n_origins"]
    pooled = global_model.metrics_
    assert pooled["mase"] == pytest.approx(mase_sum / mase_count)  # every error over its own series' denominator
    assert pooled["worst_series"] == "abc"[int(np.argmax(errors))]
    assert "alpha" not in pooled["baselines"]["ridge"]  # one penalty per series


def test_the_forecast_of_every_series_follows_its_own_level_and_time(global_model: Forecaster) -> None:
    table = long_table()
    with pytest.warns(DataWarning):
        forecast = global_model.predict(table)
    horizon = TINY["horizon"]
    assert list(forecast.columns) == ["store", "time", "step", "y"] and len(forecast) == 3 * horizon
    assert forecast["store"].tolist()[::horizon] == list(dict.fromkeys(table["store"]))  # input order
    for name, level in (("a", 10), ("b", 110), ("c", 210)):  # each series' own level, not a mix
        rows = forecast[forecast["store"] == name]
        last = pd.to_datetime(table.loc[table["store"] == name, "time"]).max()
        assert rows["time"].iloc[0] == last + pd.Timedelta(hours=1)
        assert abs(rows["y"].mean() - level) < 5


def test_the_numpy_forecast_is_the_trained_networks(global_model: Forecaster, tmp_path: Path) -> None:
    from lstmcast.fitting import panel_forecasts

    with pytest.warns(DataWarning):
        panel = validate_panel(long_table(), DataConfig(target="y", time_col="time", id_col="store"), "store")
        forecast = global_model.predict(long_table())
    scaled = panel_forecasts(global_model.model_, global_model.state_, panel, panel.offsets[1:])  # [S, H]
    stats = global_model.state_.panel.scaler
    expected = scaled * stats.scale[:, :1] + stats.center[:, :1]
    for k, name in enumerate(panel.ids):
        got = forecast.loc[forecast["store"] == name, "y"].to_numpy()
        np.testing.assert_allclose(got, expected[k], rtol=0, atol=1e-4)
    global_model.save(tmp_path / "m")
    with pytest.warns(DataWarning):
        again = Forecaster.load(tmp_path / "m").predict(long_table())
    pd.testing.assert_frame_equal(again, forecast)


def test_a_plot_of_one_series_shows_what_predict_forecasts_for_it(global_model: Forecaster) -> None:
    table = long_table().sort_values(["store", "time"])
    history, forecast, actual = global_model.forecast_context(table, series="c")
    expected = global_model.predict(table)
    np.testing.assert_allclose(forecast.to_numpy(), expected.loc[expected["store"] == "c", "y"].to_numpy(), atol=1e-9)
    c = table[table["store"] == "c"]
    assert actual is None
    np.testing.assert_allclose(history.to_numpy(), c["y"].to_numpy()[-TINY["lookback"] :], rtol=1e-6)  # float32
    past, _, seen = global_model.forecast_context(table, origin=100, series="c")  # row 100 of series c
    np.testing.assert_allclose(seen.to_numpy(), c["y"].to_numpy()[99 : 99 + TINY["horizon"]], rtol=1e-6)
    with pytest.raises(ConfigError, match="give the id of the one to plot with --series"):
        global_model.forecast_context(table)
    single = Forecaster(**{**PANEL_TINY, "id_col": None}).fit(table[table["store"] == "a"].drop(columns="store"))
    with pytest.raises(ConfigError, match="--series picks one series of a model of many"):
        single.forecast_context(table[table["store"] == "a"].drop(columns="store"), series="a")


def test_unknown_or_short_series_and_one_series_commands_are_clear_errors(global_model: Forecaster) -> None:
    table = long_table().sort_values(["store", "time"])
    stranger = sine_frame(n=50).assign(store="z")
    with pytest.raises(DataError, match=r"store 'z': not among the series the model was trained on"):
        global_model.predict(pd.concat([table, stranger], ignore_index=True))
    with pytest.raises(ConfigError, match="--explain takes a model of one series; this one was trained on 3 series"):
        global_model.explain(table)


def test_skip_unknown_forecasts_the_known_series_and_names_the_others(global_model: Forecaster, tmp_path: Path) -> None:
    """A nightly batch with a new store: by default the whole batch fails (exit 3, saying how to go on);
    with --skip-unknown the known stores are forecast exactly as without the stranger."""
    from click.testing import CliRunner

    from lstmcast.cli import cli

    table = long_table().sort_values(["store", "time"])
    mixed = pd.concat([table, sine_frame(n=50).assign(store="z")], ignore_index=True)
    with pytest.raises(DataError, match="or leave them out with --skip-unknown"):
        global_model.predict(mixed)
    with pytest.warns(DataWarning, match=r"left out 1 of 4 series the model was not trained on \(store 'z'\)"):
        kept = global_model.predict(mixed, skip_unknown=True)
    pd.testing.assert_frame_equal(kept, global_model.predict(table))
    with pytest.raises(DataError, match="no series is one the model was trained on"):
        global_model.predict(sine_frame(n=50).assign(store="z"), skip_unknown=True)
    model, data = tmp_path / "model", tmp_path / "mixed.csv"
    global_model.save(model)
    mixed.to_csv(data, index=False)
    runner = CliRunner()
    failed = runner.invoke(cli, ["predict", str(model), str(data), "-o", str(tmp_path / "f.csv")])
    assert failed.exit_code == 3 and not (tmp_path / "f.csv").exists()
    result = runner.invoke(cli, ["predict", str(model), str(data), "--skip-unknown", "-o", "-"])
    assert result.exit_code == 0 and "store 'z'" in result.stderr
    assert set(pd.read_csv(io.StringIO(result.stdout))["store"]) == {"a", "b", "c"}


def test_skip_unknown_leaves_out_a_new_series_whose_own_rows_are_bad(global_model: Forecaster, tmp_path: Path) -> None:
    """A new store's gap, repeated day or other step is no reason to fail the stores the model knows: its
    rows are left out before they are checked. A bad row of a known store still fails, named as the file
    numbers it."""
    from click.testing import CliRunner

    from lstmcast.cli import cli

    table = long_table().sort_values(["store", "time"], ignore_index=True)
    stranger = sine_frame(n=50).assign(store="z")
    gap = stranger.assign(y=stranger["y"].where(stranger.index != 5))
    repeated = pd.concat([stranger, stranger.tail(1)], ignore_index=True)
    hourly = stranger.assign(time=pd.date_range("2020-01-01", periods=50, freq="min"))
    for bad in (gap, repeated, hourly):
        with pytest.warns(DataWarning, match=r"left out 1 of 4 series the model was not trained on \(store 'z'\)"):
            kept = global_model.predict(pd.concat([bad, table], ignore_index=True), skip_unknown=True)
        pd.testing.assert_frame_equal(kept, global_model.predict(table))
    known_gap = table.assign(y=table["y"].where(table.index != 7))
    model, data = tmp_path / "model", tmp_path / "mixed.csv"
    global_model.save(model)
    pd.concat([stranger, known_gap], ignore_index=True).to_csv(data, index=False)
    result = CliRunner().invoke(cli, ["predict", str(model), str(data), "--skip-unknown"])
    assert result.exit_code == 3 and "row 58: missing value" in result.stderr  # 50 rows of 'z' before it


@pytest.mark.filterwarnings("ignore:.*(those scores are optimistic|bands and quantiles taken from them)")
def test_skip_unknown_evaluates_and_recalibrates_on_the_known_series(tmp_path: Path) -> None:
    """The nightly evaluate and calibrate of a model of many series meet the same new store as predict:
    by default exit 3, saying how to go on; with --skip-unknown the known stores are scored, and their
    bands taken again, exactly as without the stranger, whose own bad rows do not matter."""
    from click.testing import CliRunner

    from lstmcast.calibration import calibrate
    from lstmcast.cli import cli

    table = long_table().sort_values(["store", "time"], ignore_index=True)
    model = Forecaster(**PANEL_TINY, levels="80").fit(table)
    stranger = sine_frame(n=50).assign(store="z")
    mixed = pd.concat([stranger.assign(y=stranger["y"].where(stranger.index != 5)), table], ignore_index=True)
    left_out = r"left out 1 of 4 series the model was not trained on \(store 'z'\); train again to"
    with pytest.raises(DataError, match="or leave them out with --skip-unknown"):
        model.evaluate(pd.concat([stranger, table], ignore_index=True))
    with pytest.warns(DataWarning, match=left_out + " evaluate them"):
        scored = model.evaluate(mixed, skip_unknown=True)
    assert scored == model.evaluate(table)
    with pytest.raises(DataError, match="or leave them out with --skip-unknown"):
        calibrate(model.state_, pd.concat([stranger, table], ignore_index=True))
    with pytest.warns(DataWarning, match=left_out + " calibrate on them"):
        refreshed = calibrate(model.state_, mixed, skip_unknown=True).state.intervals
    expected = calibrate(model.state_, table).state.intervals
    np.testing.assert_array_equal(refreshed.lower, expected.lower)
    np.testing.assert_array_equal(refreshed.upper, expected.upper)
    with pytest.raises(DataError, match="no series is one the model was trained on .*; nothing to calibrate on"):
        calibrate(model.state_, stranger, skip_unknown=True)

    saved, data = tmp_path / "model", tmp_path / "mixed.csv"
    model.save(saved)
    mixed.to_csv(data, index=False)
    before = (saved / "manifest.json").read_bytes()
    runner = CliRunner()
    for command in (["evaluate", saved, data, "--json"], ["calibrate", saved, data]):
        failed = runner.invoke(cli, [str(part) for part in command])
        assert failed.exit_code == 3 and "row 6: missing value" in failed.stderr  # the stranger's gap fails all
        assert (saved / "manifest.json").read_bytes() == before
    evaluated = runner.invoke(cli, ["evaluate", str(saved), str(data), "--json", "--skip-unknown"])
    assert evaluated.exit_code == 0 and "store 'z'" in evaluated.stderr
    assert [row["id"] for row in json.loads(evaluated.stdout)["series"]] == ["a", "b", "c"]
    recalibrated = runner.invoke(cli, ["calibrate", str(saved), str(data), "--skip-unknown"])
    assert recalibrated.exit_code == 0 and "store 'z'" in recalibrated.stderr
    assert json.loads((saved / "manifest.json").read_text())["calibration"]["origins"] > 0


@pytest.mark.parametrize("command", ["predict", "evaluate", "calibrate"])
def test_skip_unknown_on_a_model_of_one_series_is_a_usage_error(model_dir: Path, tmp_path: Path, command: str) -> None:
    """Checked before DATA is read: a file that does not exist does not change the answer."""
    from click.testing import CliRunner

    from lstmcast.cli import cli

    result = CliRunner().invoke(cli, [command, str(model_dir), str(tmp_path / "missing.csv"), "--skip-unknown"])
    assert result.exit_code == 2 and "--skip-unknown is for a model of many series" in result.stderr


def test_a_series_too_short_to_forecast_is_left_out_with_a_warning_or_refused_when_strict(
    global_model: Forecaster,
) -> None:
    table = long_table().sort_values(["store", "time"])
    short = table[(table["store"] != "a") | (table["time"] < "2024-01-01 05:00")]  # store a: 5 rows
    with pytest.warns(DataWarning, match=r"left out 1 of 3 series too short to forecast .*\(store 'a'\)"):
        forecast = global_model.predict(short)
    assert sorted(set(forecast["store"])) == ["b", "c"]
    assert forecast.equals(global_model.predict(table[table["store"] != "a"]).reset_index(drop=True))
    with pytest.raises(DataError, match=r"1 of 3 series too short to forecast .*\(store 'a'\); --strict refuses them"):
        global_model.predict(short, strict=True)
    with pytest.raises(DataError, match=r"every series is too short to forecast"):
        global_model.predict(table.groupby("store").head(5))


def test_series_too_short_to_split_are_left_out_with_a_warning_or_refused_when_strict() -> None:
    table = pd.concat([long_table().sort_values(["store", "time"]), sine_frame(n=30).assign(store="tiny")])
    with pytest.warns(DataWarning, match=r"left out 1 of 4 series too short to split \(store 'tiny'\)"):
        fitted = Forecaster(**PANEL_TINY).fit(table)
    assert fitted.training_["series_fitted"] == 3
    assert "tiny" not in [row["id"] for row in fitted.metrics_["series"]]
    with pytest.raises(DataError, match=r"1 of 4 series too short to split \(store 'tiny'\); --strict refuses them"):
        Forecaster(**PANEL_TINY).fit(table, strict=True)


def test_evaluate_leaves_out_series_too_short_to_score_or_refuses_them_when_strict(global_model: Forecaster) -> None:
    table = long_table().sort_values(["store", "time"])
    short = table[(table["store"] != "b") | (table["time"] < "2024-01-01 10:00")]  # store b: 10 rows
    with pytest.warns(DataWarning, match=r"left out 1 of 3 series too short to evaluate .*\(store 'b'\)"):
        metrics = global_model.evaluate(short.groupby("store").tail(60))  # rows training never saw
    assert [row["id"] for row in metrics["series"]] == ["a", "c"]
    with pytest.raises(DataError, match=r"--strict refuses them"):
        global_model.evaluate(short, strict=True)


def test_train_and_predict_many_series_from_the_command_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lstmcast.cli import cli

    long_table().sort_values(["store", "time"]).to_csv(tmp_path / "stores.csv", index=False)
    run = CliRunner().invoke
    trained = run(
        cli, ["train", str(tmp_path / "stores.csv"), "--id-col", "store", "-o", str(tmp_path / "m"), *TINY_FLAGS]
    )
    assert trained.exit_code == 0, trained.stderr
    assert "Pooled over the test parts of 3 series, each in its own scaled units." in trained.stderr
    assert json.loads((tmp_path / "m" / "manifest.json").read_text())["panel"] == {"series": 3, "time_zone": None}
    predicted = run(cli, ["predict", str(tmp_path / "m"), str(tmp_path / "stores.csv")])
    assert predicted.exit_code == 0 and predicted.stderr == ""
    lines = predicted.stdout.splitlines()
    assert lines[0] == "store,time,step,y" and len(lines) == 1 + 3 * TINY["horizon"]
    plot = ["plot", str(tmp_path / "m"), str(tmp_path / "stores.csv"), "-o", str(tmp_path / "f.png")]
    refused = run(cli, plot)
    assert refused.exit_code == 2 and "give the id of the one to plot with --series" in refused.stderr
    plotted = run(cli, [*plot, "--series", "b"])
    assert plotted.exit_code == 0, plotted.stderr
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    unknown = run(cli, [*plot, "--series", "z"])
    assert unknown.exit_code == 3 and "store 'z': not among the series the model was trained on" in unknown.stderr
    long_table().query("store != 'b'").to_csv(tmp_path / "no-b.csv", index=False)
    plot_no_b = ["plot", str(tmp_path / "m"), str(tmp_path / "no-b.csv"), "-o", str(tmp_path / "f.png")]
    missing = run(cli, [*plot_no_b, "--series", "b"])
    assert missing.exit_code == 3 and "store 'b' has no rows" in missing.stderr
    before_data = ["plot", str(tmp_path / "m"), str(tmp_path / "missing.csv"), "-o", str(tmp_path / "f.png")]
    for options, code, message in [
        ([], 2, "give the id of the one to plot with --series"),  # the model alone decides: before DATA
        (["--series", "b", "--threshold", "abc"], 2, "--threshold must be a number"),
        (["--series", "z"], 3, "store 'z': not among the series the model was trained on"),
    ]:
        refused = run(cli, [*before_data, *options])
        assert refused.exit_code == code and message in refused.stderr, refused.stderr
    evaluated = run(cli, ["evaluate", str(tmp_path / "m"), str(tmp_path / "stores.csv"), "--json", "-q"])
    assert evaluated.exit_code == 0, evaluated.stderr
    assert [row["id"] for row in json.loads(evaluated.stdout)["series"]] == ["a", "b", "c"]
    described = run(cli, ["info", str(tmp_path / "m")]).stderr
    assert "series              3 (id column store)" in described
    worst = [line for line in trained.stderr.splitlines() if line.startswith("Worst against ridge: ")]
    assert len(worst) == 1 and worst[0] in described.splitlines()  # info says what train said after the table
    assert "Pooled over the test parts of 3 series, each in its own scaled units." in described


def test_explain_refuses_a_model_of_many_series_as_the_cli_reference_says(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lstmcast.cli import cli

    long_table().sort_values(["store", "time"]).to_csv(tmp_path / "stores.csv", index=False)
    run = CliRunner().invoke
    train = ["train", str(tmp_path / "stores.csv"), "--id-col", "store", "--attention", "-o", str(tmp_path / "m")]
    assert run(cli, [*train, *TINY_FLAGS, "-q"]).exit_code == 0
    outputs = ["-o", str(tmp_path / "f.csv"), "--explain", str(tmp_path / "w.csv")]
    refused = run(cli, ["predict", str(tmp_path / "m"), str(tmp_path / "stores.csv"), *outputs])
    message = "--explain takes a model of one series; this one was trained on 3 series (id column 'store')"
    assert refused.exit_code == 2 and refused.stderr.startswith(f"Error: {message}")
    assert not (tmp_path / "f.csv").exists() and not (tmp_path / "w.csv").exists()
    reference = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    row = next(line for line in reference.splitlines() if line.startswith("| `--explain PATH`"))
    assert "a model trained on many series (`train --id-col`) is exit 2" in row
    assert "`--explain takes a model of one series; this one was trained on " in row


def test_many_series_forecasts_at_midnight_keep_their_time_of_day(tmp_path: Path) -> None:
    """Every series of an hourly table ends at 23:00, so a one-step forecast is at midnight for all of
    them: pandas wrote such a column as bare dates."""
    from click.testing import CliRunner

    from lstmcast.cli import cli

    long_table(lengths=(288, 216, 240)).sort_values(["store", "time"]).to_csv(tmp_path / "s.csv", index=False)
    flags = [*TINY_FLAGS, "--horizon=1", "-q"]
    run = CliRunner().invoke
    assert (
        run(cli, ["train", str(tmp_path / "s.csv"), "--id-col", "store", "-o", str(tmp_path / "m"), *flags]).exit_code
        == 0
    )
    predicted = run(cli, ["predict", str(tmp_path / "m"), str(tmp_path / "s.csv")])
    assert predicted.exit_code == 0, predicted.stderr
    assert [line.split(",")[:3] for line in predicted.stdout.splitlines()] == [
        ["store", "time", "step"],
        ["a", "2024-01-13 00:00:00", "1"],
        ["b", "2024-01-10 00:00:00", "1"],
        ["c", "2024-01-11 00:00:00", "1"],
    ]


def test_per_series_scores_go_to_a_file_and_need_an_id_column(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lstmcast.cli import cli

    long_table().sort_values(["store", "time"]).to_csv(tmp_path / "stores.csv", index=False)
    data, model = str(tmp_path / "stores.csv"), str(tmp_path / "m")
    out = str(tmp_path / "series.csv")
    result = CliRunner().invoke(
        cli, ["train", data, "--id-col", "store", "--per-series", out, "-o", model, *TINY_FLAGS]
    )
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(out)
    columns = ["id", "n_origins", "mse", "mae", "mase", "ridge_mse", "ridge_mase", "skill", "start_mse"]
    assert list(table.columns) == columns
    assert table["id"].tolist() == ["a", "b", "c"]
    refused = CliRunner().invoke(cli, ["train", data, "--target", "y", "--per-series", out, "-o", model, *TINY_FLAGS])
    assert refused.exit_code == 2 and "--per-series scores the test part of every series" in refused.stderr


def test_evaluate_scores_every_series_from_every_origin_like_the_test_report(global_model: Forecaster) -> None:
    table = long_table().sort_values(["store", "time"])
    with pytest.warns(DataWarning, match=r"origins forecast rows the model was trained or early-stopped on"):
        report = global_model.evaluate(table, stride=1)
    lookback, horizon, season = TINY["lookback"], TINY["horizon"], global_model.season_
    first = max(lookback, season)
    counts = {name: n - first - horizon + 1 for name, n in zip("abc", (300, 200, 250), strict=True)}
    assert {row["id"]: row["n_origins"] for row in report["series"]} == counts
    # Training saw each series' first 80% (train and validation parts): origins at rows up to there.
    seen = {name: round(n * 0.8) - first for name, n in zip("abc", (300, 200, 250), strict=True)}
    assert report["in_sample_origins"] == sum(seen.values())
    assert report["n_origins"] == sum(counts.values()) and report["mape"] is None
    unseen = table.groupby("store").tail(50)  # every series' last 50 rows: in its test part
    assert global_model.evaluate(unseen)["in_sample_origins"] == 0
    with pytest.warns(DataWarning):
        thinned = global_model.evaluate(table, stride=5)
    assert thinned["n_origins"] == sum((n - 1) // 5 + 1 for n in counts.values())
    with pytest.warns(DataWarning):  # longer than any series, even past numpy's integers: each its first origin
        for stride in (300, 10**20):
            assert [row["n_origins"] for row in global_model.evaluate(table, stride=stride)["series"]] == [1, 1, 1]
    with pytest.raises(DataError, match="store 'z': not among the series the model was trained on"):
        global_model.evaluate(pd.concat([table, sine_frame(n=100).assign(store="z")], ignore_index=True))
    with pytest.raises(ConfigError, match="keeps each series' quantile only for the --threshold it was trained with"):
        global_model.evaluate(unseen, threshold="q0.9")
    with pytest.raises(ConfigError, match="--alert-level needs --threshold"):
        global_model.evaluate(unseen, alert_level=1.0)


def test_shards_together_forecast_every_series_once_and_exactly(global_model: Forecaster, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lstmcast.cli import cli

    table = pd.concat(
        [long_table().sort_values(["store", "time"])]
        + [sine_frame(n=100, seed=k).assign(store=f"s{k}") for k in range(67)],  # 70 stores
        ignore_index=True,
    )
    table.to_csv(tmp_path / "stores.csv", index=False)
    model = tmp_path / "m"
    run = CliRunner().invoke
    assert (
        run(  # hidden 64: products wide enough that BLAS rounds rows otherwise in batches of other sizes
            cli,
            ["train", str(tmp_path / "stores.csv"), "--id-col", "store", "-o", str(model), *TINY_FLAGS, "--hidden=64"],
        ).exit_code
        == 0
    )
    whole = run(cli, ["predict", str(model), str(tmp_path / "stores.csv")])
    parts = [run(cli, ["predict", str(model), str(tmp_path / "stores.csv"), "--shard", f"{i}/4"]) for i in (1, 2, 3, 4)]
    assert all(part.exit_code == 0 for part in parts), [part.stderr for part in parts]
    frames = [pd.read_csv(io.StringIO(part.stdout), dtype={"store": str}) for part in parts]
    assert sum(len(frame) for frame in frames) == len(pd.read_csv(io.StringIO(whole.stdout)))
    ids = [set(frame["store"]) for frame in frames]
    assert all(not (ids[a] & ids[b]) for a in range(4) for b in range(a + 1, 4))  # no id twice
    # To the last digit: a series' forecast does not depend on which others are forecast with it.
    together = sorted(line for part in parts for line in part.stdout.splitlines()[1:])
    assert together == sorted(whole.stdout.splitlines()[1:])
    table[table["store"] == "s3"].to_csv(tmp_path / "one.csv", index=False)
    alone = run(cli, ["predict", str(model), str(tmp_path / "one.csv")]).stdout.splitlines()[1:]
    assert alone == [line for line in whole.stdout.splitlines() if line.startswith("s3,")]  # a batch of one
    again = run(cli, ["predict", str(model), str(tmp_path / "stores.csv"), "--shard", "2/4"])
    assert again.stdout == parts[1].stdout  # the same share every time


@pytest.mark.parametrize("shard", ["0/4", "5/4", "two/4", f"1/{2**64}"])
def test_a_shard_out_of_range_is_a_usage_error(global_model: Forecaster, tmp_path: Path, shard: str) -> None:
    from click.testing import CliRunner

    from lstmcast.cli import cli

    global_model.save(tmp_path / "m")
    long_table().to_csv(tmp_path / "stores.csv", index=False)
    result = CliRunner().invoke(cli, ["predict", str(tmp_path / "m"), str(tmp_path / "stores.csv"), "--shard", shard])
    assert result.exit_code == 2 and "--shard" in result.stderr


def test_as_many_shards_as_the_hash_has_values_and_no_more(global_model: Forecaster) -> None:
    """An id's shard is its 64-bit hash modulo N: N up to 2**64 - 1 splits the ids (almost all shards
    empty), and a larger N is a usage error, not Python's overflow as an internal error."""
    table = long_table().sort_values(["store", "time"])
    whole = global_model.predict(table)
    hashes = pd.util.hash_array(np.array(["a", "b", "c"], dtype=object))
    first = global_model.predict(table, shard=(int(hashes[0]) + 1, 2**64 - 1))
    assert first.equals(whole[whole["store"] == "a"].reset_index(drop=True))
    with pytest.raises(ConfigError, match=r"at most 18446744073709551615 shards"):
        global_model.predict(table, shard=(1, 2**64))


def test_strict_makes_a_short_series_exit_3_and_evaluate_writes_per_series_scores(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lstmcast.cli import cli

    table = long_table().sort_values(["store", "time"])
    table.to_csv(tmp_path / "stores.csv", index=False)
    table[(table["store"] != "a") | (table["time"] < "2024-01-01 05:00")].to_csv(tmp_path / "short.csv", index=False)
    model, short = str(tmp_path / "m"), str(tmp_path / "short.csv")
    run = CliRunner().invoke
    assert (
        run(cli, ["train", str(tmp_path / "stores.csv"), "--id-col", "store", "-o", model, *TINY_FLAGS]).exit_code == 0
    )
    lenient = run(cli, ["predict", model, short])
    assert lenient.exit_code == 0 and "left out 1 of 3 series too short to forecast" in lenient.stderr
    strict = run(cli, ["predict", model, short, "--strict", "-o", str(tmp_path / "f.csv")])
    assert strict.exit_code == 3 and "--strict refuses them" in strict.stderr
    assert not (tmp_path / "f.csv").exists()
    only_short = str(tmp_path / "only_short.csv")
    table[table["store"] == "a"].head(5).to_csv(only_short, index=False)
    assert run(cli, ["predict", model, only_short]).exit_code == 3  # nothing at all to forecast
    shard = run(cli, ["predict", model, only_short, "--shard", "1/1"])  # a shard: part of the work, like an empty one
    assert shard.exit_code == 0 and shard.stdout == "store,time,step,y\n"
    assert "left out 1 of 1 series too short to forecast" in shard.stderr
    scored = run(cli, ["evaluate", model, str(tmp_path / "stores.csv"), "--per-series", "-", "-q"])
    assert scored.exit_code == 0, scored.stderr
    assert scored.stdout.splitlines()[0].startswith("id,n_origins,mse")
    assert [line.split(",")[0] for line in scored.stdout.splitlines()[1:]] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda arrays: arrays.pop("panel.ridge.bias"), "come together; some are missing"),
        (lambda arrays: arrays.update({"panel.mase_scale": np.ones(2)}), r"panel\.mase_scale should be 3 numbers"),
        (
            lambda arrays: arrays["panel.ridge.weight"].__setitem__((0, 0, 0), np.inf),
            r"panel\.ridge\.weight and panel\.ridge\.bias must be finite",
        ),
    ],
)
def test_each_series_baselines_are_kept_with_the_model_and_checked_on_load(
    global_model: Forecaster, tmp_path: Path, change, message: str
) -> None:
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    from lstmcast.errors import ArtifactError

    global_model.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m").state_.panel
    kept = global_model.state_.panel
    np.testing.assert_array_equal(loaded.ridge.weight, kept.ridge.weight)
    np.testing.assert_array_equal(loaded.mase_scale, kept.mase_scale)
    weights = tmp_path / "m" / "weights.safetensors"
    with safe_open(str(weights), framework="np") as stream:
        metadata = stream.metadata()
    arrays = load_file(str(weights))
    change(arrays)
    save_file(arrays, str(weights), metadata=metadata)
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    del manifest["weights_sha256"]  # a checksum that matches the change: the check behind it must catch it
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=message):
        Forecaster.load(tmp_path / "m")


def test_the_windows_drawn_per_series_are_a_setting_kept_with_the_model(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lstmcast.cli import cli

    long_table().sort_values(["store", "time"]).to_csv(tmp_path / "stores.csv", index=False)
    data, model = str(tmp_path / "stores.csv"), str(tmp_path / "m")
    run = CliRunner().invoke
    capped = run(cli, ["train", data, "--id-col", "store", "--max-windows-per-series", "8", "-o", model, *TINY_FLAGS])
    assert capped.exit_code == 0, capped.stderr
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["config"]["train"]["max_windows_per_series"] == 8
    whole = Forecaster(**PANEL_TINY).fit(long_table().sort_values(["store", "time"]))
    assert Forecaster.load(model).history_ != whole.history_  # another draw of windows, another training
    refused = run(cli, ["train", data, "--id-col", "store", "--max-windows-per-series", "-1", "-o", model])
    assert refused.exit_code == 2 and "max_windows_per_series" in refused.stderr


# -- backtests of one model over many series ---------------------------------------------------------

BACKTEST = {**PANEL_TINY, "test_frac": 0.3}


def test_a_panel_backtest_with_a_stride_past_numpys_integers_says_which_fold_has_no_origin() -> None:
    from lstmcast.backtest import backtest

    table = long_table().sort_values(["store", "time"])
    with pytest.raises(DataError, match=r"with --stride 100000000000000000000, fold 2 of 3 has no forecast origin"):
        backtest(Forecaster(**BACKTEST), table, folds=3, stride=10**20)


def test_a_backtest_of_a_panel_of_one_series_is_the_backtest_of_that_series() -> None:
    """The same folds, training, forecasts and scores as the one-series backtest (whose scaled errors
    are the panel's units)."""
    from lstmcast.backtest import backtest

    a = long_table().sort_values(["store", "time"]).query("store == 'a'")
    pooled = backtest(Forecaster(**BACKTEST), a, folds=3)
    alone = backtest(Forecaster(**{**BACKTEST, "id_col": None}), a.drop(columns="store"), folds=3)
    assert pooled["n_origins"] == alone["n_origins"]
    assert pooled["mse"] == pytest.approx(alone["mse_scaled"], rel=1e-5)
    assert pooled["baselines"]["ridge"]["mse"] == pytest.approx(alone["baselines"]["ridge"]["mse_scaled"], rel=1e-5)
    for together, single in zip(pooled["folds"], alone["folds"], strict=True):
        assert together["train_rows"] == single["train_rows"] and together["test_start"] == single["test_start"]
        assert together["metrics"]["mse"] == pytest.approx(single["metrics"]["mse_scaled"], rel=1e-5)


def test_no_fold_of_a_panel_backtest_trains_on_its_own_block_of_any_series() -> None:
    from lstmcast.backtest import backtest, plan_panel_folds

    table = long_table().sort_values(["store", "time"]).reset_index(drop=True)
    window = WindowConfig(**{k: BACKTEST[k] for k in ("lookback", "horizon", "test_frac")})
    panel, bounds = plan_panel_folds(validate_panel(table, CONFIG, "store"), 3, window)
    position = table.groupby("store").cumcount().to_numpy()
    own_first_block = bounds[np.searchsorted(panel.ids, table["store"].to_numpy()), 0]
    changed = table.assign(y=np.where(position >= own_first_block, table["y"] * 3 + 50, table["y"]))
    records = [backtest(Forecaster(**BACKTEST), frame, folds=3)["folds"] for frame in (table, changed)]
    first, later = (records[0][0], records[1][0]), (records[0][1], records[1][1])
    assert first[0]["val_mse"] == first[1]["val_mse"] and first[0]["train_rows"] == first[1]["train_rows"]
    assert later[0]["val_mse"] != later[1]["val_mse"]  # fold 2 trains on fold 1's blocks


def test_series_too_short_to_backtest_are_left_out_or_refused_when_strict(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lstmcast.backtest import backtest
    from lstmcast.cli import cli

    table = pd.concat([long_table().sort_values(["store", "time"]), sine_frame(n=40).assign(store="tiny")])
    with pytest.warns(DataWarning, match=r"left out 1 of 4 series too short to backtest .*\(store 'tiny'\)"):
        report = backtest(Forecaster(**BACKTEST), table, folds=3)
    assert [row["id"] for row in report["series"]] == ["a", "b", "c"] and report["backtest"]["series"] == 3
    table.to_csv(tmp_path / "stores.csv", index=False)
    command = ["backtest", str(tmp_path / "stores.csv"), "--id-col", "store", "--folds", "3", "--test-frac", "0.3"]
    command += [*TINY_FLAGS, "--per-series", str(tmp_path / "series.csv")]
    ran = CliRunner().invoke(cli, command)
    assert ran.exit_code == 0, ran.stderr
    assert "Pooled over the folds of 3 series" in ran.stderr
    assert pd.read_csv(tmp_path / "series.csv")["id"].tolist() == ["a", "b", "c"]
    strict = CliRunner().invoke(cli, [*command, "--strict"])
    assert strict.exit_code == 3 and "--strict refuses them" in strict.stderr


# -- tuning one model over many series ---------------------------------------------------------------


def test_tune_searches_one_model_over_many_series_and_scores_the_best_on_every_test_part(tmp_path: Path) -> None:
    from lstmcast.tune import tune

    table = long_table().sort_values(["store", "time"])
    result = tune(table, {"hidden": [4, 8]}, PANEL_TINY)
    assert [trial.status for trial in result.trial_list] == ["ok", "ok"]
    best = min(result.trial_list, key=lambda trial: trial.val_mse)
    assert result.best_trial == best.number
    model = result.forecaster
    assert model.state_.panel is not None and model.hidden == best.params["hidden"]
    assert model.metrics_["part"] == "test" and [row["id"] for row in model.metrics_["series"]] == ["a", "b", "c"]
    assert model.metrics_["n_origins"] == Forecaster(**{**PANEL_TINY, **best.params}).fit(table).metrics_["n_origins"]
    model.save(tmp_path / "m")
    assert len(Forecaster.load(tmp_path / "m").predict(table)) == 3 * TINY["horizon"]


def test_tuning_the_scaler_of_many_series_is_refused_since_their_validation_errors_would_not_compare() -> None:
    from lstmcast.tune import tune

    with pytest.raises(ConfigError, match="--grid scaler: with --id-col"):
        tune(long_table(), {"scaler": ["standard", "minmax"]}, PANEL_TINY)


# -- found by an adversarial pass ---------------------------------------------------------------------


def _stores(ids: list[str], rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    parts = []
    for k, name in enumerate(ids):
        y = 10 + k + 3 * np.sin(np.arange(rows) * 2 * np.pi / 24) + rng.normal(0, 0.5, rows)
        times = pd.date_range("2024-01-01", periods=rows, freq="h")
        parts.append(pd.DataFrame({"id": name, "time": times, "y": y.round(3)}))
    return pd.concat(parts, ignore_index=True)


def test_ids_are_read_as_written_so_007_and_7_are_two_series(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lstmcast.cli import cli

    _stores(["007", "7", "08"]).to_csv(tmp_path / "a.csv", index=False)
    run = CliRunner().invoke
    model = str(tmp_path / "m")
    trained = run(cli, ["train", str(tmp_path / "a.csv"), "--id-col", "id", "--target", "y", *TINY_FLAGS, "-o", model])
    assert trained.exit_code == 0, trained.stderr
    ids = [line.split(",")[0] for line in run(cli, ["predict", model, str(tmp_path / "a.csv")]).stdout.splitlines()[1:]]
    assert ids[:: TINY["horizon"]] == ["007", "7", "08"]
    plotted = run(cli, ["plot", model, str(tmp_path / "a.csv"), "--series", "007", "-o", str(tmp_path / "p.png")])
    assert plotted.exit_code == 0, plotted.stderr


def test_ids_that_pandas_would_read_as_missing_are_ids_like_any_other(tmp_path: Path) -> None:
    """Namibia's code is NA, and a store may be called "null": only an empty id is missing, while the
    target's own NA still reads as a missing value."""
    from click.testing import CliRunner

    from lstmcast.cli import cli

    table = _stores(["NA", "null", "None"])
    table.loc[5, "y"] = np.nan
    table.to_csv(tmp_path / "a.csv", index=False, na_rep="NA")
    run = CliRunner().invoke
    model = str(tmp_path / "m")
    train = ["train", str(tmp_path / "a.csv"), "--id-col", "id", "--target", "y", *TINY_FLAGS, "-o", model]
    gap = run(cli, train)
    assert gap.exit_code == 3 and "column 'y', row 6: missing value" in gap.stderr
    trained = run(cli, [*train, "--fill", "interpolate"])
    assert trained.exit_code == 0, trained.stderr
    ids = [line.split(",")[0] for line in run(cli, ["predict", model, str(tmp_path / "a.csv")]).stdout.splitlines()[1:]]
    assert ids[:: TINY["horizon"]] == ["NA", "null", "None"]
    table.loc[7, "id"] = ""
    table.to_csv(tmp_path / "b.csv", index=False, na_rep="NA")
    refused = run(cli, ["predict", model, str(tmp_path / "b.csv")])
    assert refused.exit_code == 3 and refused.stderr == f"Error: {tmp_path / 'b.csv'}: column 'id', row 8: missing id\n"


def test_a_column_named_na_still_reads_its_empty_cells_as_missing(tmp_path: Path) -> None:
    """North America's sales in a column called NA: the header is read as written, so the column's
    empty cell is a missing value to fill, not text that stops the run."""
    from click.testing import CliRunner

    from lstmcast.cli import cli

    table = _stores(["a", "b"]).rename(columns={"y": "NA"})
    table.loc[5, "NA"] = np.nan
    table.to_csv(tmp_path / "a.csv", index=False)
    model = str(tmp_path / "m")
    train = ["train", str(tmp_path / "a.csv"), "--id-col", "id", "--target", "NA", *TINY_FLAGS, "-o", model]
    gap = CliRunner().invoke(cli, train)
    assert gap.exit_code == 3 and "column 'NA', row 6: missing value" in gap.stderr
    trained = CliRunner().invoke(cli, [*train, "--fill", "interpolate"])
    assert trained.exit_code == 0, trained.stderr


def test_a_series_flat_over_its_training_rows_is_left_out_and_then_unknown(tmp_path: Path) -> None:
    table = _stores(["a", "b", "c"])
    flat = _stores(["k"]).assign(y=lambda f: np.where(np.arange(len(f)) < 140, 1000.0, 1000 + f["y"]))
    both = pd.concat([table, flat], ignore_index=True)
    settings = {**PANEL_TINY, "id_col": "id", "levels": "80", "val_frac": 0.2}
    with pytest.warns(DataWarning, match=r"left out 1 of 4 series with one value on every training row \(id 'k'\)"):
        model = Forecaster(**settings).fit(both)
    alone = Forecaster(**settings).fit(table)
    assert model.training_["series"] == 4 and model.training_["series_fitted"] == 3
    assert model.state_.panel.ids == ("a", "b", "c")
    np.testing.assert_allclose(model.intervals_.upper, alone.intervals_.upper)  # k changes nobody's bands
    with pytest.raises(DataError, match="id 'k': not among the series the model was trained on"):
        model.predict(both)
    with pytest.raises(DataError, match="--strict refuses them"):
        Forecaster(**settings).fit(both, strict=True)


def test_the_report_does_not_call_a_flat_series_too_short(tmp_path: Path) -> None:
    """The summary line counts the series left out without giving them a reason the warning does not."""
    from click.testing import CliRunner

    from lstmcast.cli import cli

    flat = _stores(["k"]).assign(y=1000.0)
    pd.concat([_stores(["a", "b", "c"]), flat], ignore_index=True).to_csv(tmp_path / "s.csv", index=False)
    args = ["train", str(tmp_path / "s.csv"), "--id-col", "id", "--target", "y", "-o", str(tmp_path / "m")]
    trained = CliRunner().invoke(cli, [*args, *TINY_FLAGS])
    assert trained.exit_code == 0, trained.stderr
    assert "left out 1 of 4 series with one value on every training row (id 'k')" in trained.stderr
    assert "too short" not in trained.stderr
    assert "Pooled over the test parts of 3 series, each in its own scaled units (1 more left out)." in trained.stderr


def test_an_id_column_named_like_a_forecast_column_is_refused_at_training() -> None:
    table = _stores(["a", "b"]).rename(columns={"id": "step"})
    with pytest.raises(DataError, match="the id column is named 'step'"):
        Forecaster(**{**PANEL_TINY, "id_col": "step"}).fit(table)


def test_tune_refuses_levels_the_validation_part_is_too_short_for_before_any_trial() -> None:
    from lstmcast.tune import tune

    with pytest.raises(DataError, match="too few for 95% intervals"):
        tune(sine_frame(n=400), {"hidden": [4, 5]}, {**TINY, "target": "y", "time_col": "time", "levels": "95"})
    short = pd.concat([_stores(["a", "b", "c"]), _stores(["s"], rows=14)], ignore_index=True)
    with pytest.warns(DataWarning, match=r"left out 1 of 4 series too short to split \(id 's'\)"):
        tune(short, {"hidden": [4]}, {**PANEL_TINY, "id_col": "id"})


def test_an_empty_shard_has_the_column_types_of_a_full_one(global_model: Forecaster, tmp_path: Path) -> None:
    import pyarrow as pa

    table = long_table().sort_values(["store", "time"])
    shards = [global_model.predict(table, shard=(k, 6)) for k in range(1, 7)]
    assert any(frame.empty for frame in shards) and not all(frame.empty for frame in shards)
    schemas = {str(pa.Table.from_pandas(frame, preserve_index=False).schema.remove_metadata()) for frame in shards}
    assert len(schemas) == 1


def test_many_series_warn_when_their_step_differs_from_the_models(global_model: Forecaster) -> None:
    table = long_table().sort_values(["store", "time"])
    every_other = table.groupby("store").nth(slice(None, None, 2))
    with pytest.warns(DataWarning, match="rows are '2h' apart but the model was trained on 'h' data"):
        global_model.predict(every_other)


def test_forecasts_that_are_not_finite_numbers_name_their_series() -> None:
    """Series that barely move (10 +- 3e-5): a spike of 3e35 at the end of store b overflows on the way
    through the network. predict and evaluate name that series instead of writing or scoring NaN."""
    table = long_table().sort_values(["store", "time"], ignore_index=True)
    table["y"] = 10 + (table["y"] - 100 * (table["store"] == "b") - 200 * (table["store"] == "c")) * 1e-5
    model = Forecaster(**PANEL_TINY).fit(table)
    last_b = table.index[table["store"] == "b"][-1]
    spiked = table.assign(y=table["y"].where(table.index != last_b - 5, 3e35))
    with pytest.raises(DataError, match=r"^<frame> \(store 'b'\): the forecast is not a finite number \(its input"):
        model.predict(spiked)
    with pytest.raises(
        DataError, match=r"^<frame> \(store 'b'\): \d+ forecasts are not finite numbers, the first from origin 2024-"
    ):
        model.evaluate(spiked)


def test_messages_quote_series_ids_so_commas_and_spaces_read_unambiguously() -> None:
    """Ids are text as written: 'north, east' is one id and ' 7' another than '7'. Bare, a list of
    them could not be read back; quoted as Python quotes text, it can."""
    names = {"a": "north, east", "b": " 7", "c": "7"}
    table = long_table().sort_values(["store", "time"], ignore_index=True)
    table["store"] = table["store"].map(names)
    model = Forecaster(**PANEL_TINY).fit(table)
    short = table[(table["store"] != " 7") | (table["time"] < "2024-01-01 05:00")]
    with pytest.warns(DataWarning, match=r"left out 1 of 3 series too short to forecast .* \(store ' 7'\)$"):
        model.predict(short)
    stranger = sine_frame(n=50).assign(store="south, west")
    with pytest.raises(DataError, match=r"^<frame>: store 'south, west': not among the series the model was trained"):
        model.predict(pd.concat([table, stranger], ignore_index=True))
    with pytest.raises(DataError, match=r"^<frame> \(store 'north, east'\): 5 rows are too few to forecast"):
        model.forecast_context(table[table["store"] != "7"].groupby("store").head(5), series="north, east")
    with pytest.raises(DataError, match=r"1 of 3 series too short to evaluate .* \(store ' 7'\); --strict refuses"):
        model.evaluate(short, strict=True)


# -- time zones: times with a zone are stored in UTC, times without one as they read ----------------


@pytest.fixture(scope="module")
def zone_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the same long table twice, ``plain.csv`` (times without a zone) and ``zoned.csv``
    (the same wall-clock times at +02:00), and a model of many series trained through the CLI on each
    (``plain/``, ``zoned/``), with 80% bands so that ``calibrate`` has something to refresh."""
    from click.testing import CliRunner

    from lstmcast.cli import cli

    root = tmp_path_factory.mktemp("zones")
    plain = long_table(lengths=(400, 300, 350)).sort_values(["store", "time"])
    plain.to_csv(root / "plain.csv", index=False)
    plain.assign(time=plain["time"] + "+02:00").to_csv(root / "zoned.csv", index=False)
    for name in ("plain", "zoned"):
        flags = ["--id-col", "store", "--level", "80", "-o", str(root / name), *TINY_FLAGS, "-q"]
        trained = CliRunner().invoke(cli, ["train", str(root / f"{name}.csv"), *flags])
        assert trained.exit_code == 0, trained.stderr
    return root


def in_sample(model: Path, data: Path) -> int | None:
    """``evaluate``'s count of origins forecasting rows the model was trained or early-stopped on."""
    from click.testing import CliRunner

    from lstmcast.cli import cli

    result = CliRunner().invoke(cli, ["evaluate", str(model), str(data), "--json", "-q"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["in_sample_origins"]


def test_a_model_of_many_series_records_the_zone_of_its_training_times(zone_models: Path) -> None:
    manifest = {name: json.loads((zone_models / name / "manifest.json").read_text()) for name in ("plain", "zoned")}
    assert manifest["plain"]["panel"] == {"series": 3, "time_zone": None}
    assert manifest["zoned"]["panel"] == {"series": 3, "time_zone": "UTC+02:00"}
    assert Forecaster.load(zone_models / "zoned").state_.panel.time_zone == "UTC+02:00"
    from click.testing import CliRunner

    from lstmcast.cli import cli

    said = {name: CliRunner().invoke(cli, ["info", str(zone_models / name)]).stderr for name in ("plain", "zoned")}
    assert "; training times in UTC+02:00)" in said["zoned"]  # which clock its stored training ends are on
    assert "training times in" not in said["plain"]


def test_in_sample_origins_are_not_counted_between_times_with_a_zone_and_times_without(zone_models: Path) -> None:
    """The stored training times are UTC for zoned times and wall-clock for others: compared raw, a file
    of the other kind moved every series' training end by two hours, and the count with it. As for one
    series, the count is null then."""
    plain, zoned = zone_models / "plain", zone_models / "zoned"
    same = in_sample(plain, zone_models / "plain.csv")
    assert same and in_sample(zoned, zone_models / "zoned.csv") == same
    assert in_sample(zoned, zone_models / "plain.csv") is None
    assert in_sample(plain, zone_models / "zoned.csv") is None
    one = Forecaster(**{**TINY, "time_col": "time"}).fit(sine_frame().assign(time=lambda f: f["time"] + "+02:00"))
    assert one.evaluate(sine_frame())["in_sample_origins"] is None  # what one series gives


def test_calibrate_since_validation_reads_training_times_without_a_zone_on_the_datas_clock(zone_models) -> None:
    """As a --since time without a zone is: the same origins as from the file the model was trained on."""
    from lstmcast.calibration import calibrate

    def origins(model: str, data: str) -> int:
        state = Forecaster.load(zone_models / model).state_
        return calibrate(state, read_table(zone_models / data), since="validation").origins

    assert origins("plain", "zoned.csv") == origins("plain", "plain.csv") == origins("zoned", "zoned.csv")


def test_calibrate_since_validation_refuses_times_without_a_zone_for_a_model_trained_on_zoned_ones(
    zone_models: Path,
) -> None:
    from click.testing import CliRunner

    from lstmcast.cli import cli

    before = (zone_models / "zoned" / "manifest.json").read_bytes()
    data = str(zone_models / "plain.csv")
    result = CliRunner().invoke(cli, ["calibrate", str(zone_models / "zoned"), data, "--since", "validation"])
    assert result.exit_code == 3 and result.stdout == ""
    assert result.stderr == (
        f"Error: {data}: the times have no zone, but the model was trained on times in UTC+02:00, so --since "
        "validation cannot tell where its validation part starts; write the times with their zone, or give --since "
        "a time\n"
    )
    assert (zone_models / "zoned" / "manifest.json").read_bytes() == before


def test_a_model_of_many_series_saved_before_its_zone_was_recorded_compares_times_as_before(
    zone_models: Path, tmp_path: Path
) -> None:
    """Without ``panel.time_zone`` the zone is unknown: the model loads, and its times are compared with
    new ones as they are (right for a file of the training file's kind); saved again, it stays unknown."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(zone_models / "zoned", old)
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["panel"] = {"series": 3}
    (old / "manifest.json").write_text(json.dumps(manifest))
    state = Forecaster.load(old).state_
    assert not state.panel.time_zone_known
    assert in_sample(old, zone_models / "zoned.csv") == in_sample(zone_models / "zoned", zone_models / "zoned.csv")
    assert isinstance(in_sample(old, zone_models / "plain.csv"), int)  # compared as they are
    Forecaster.load(old).save(tmp_path / "again")
    assert json.loads((tmp_path / "again" / "manifest.json").read_text())["panel"] == {"series": 3}
