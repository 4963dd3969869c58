"""Threshold events for a model of many series: every series against its own threshold and alert
level, scored together as if each had been scored alone."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import TINY, TINY_FLAGS, sine_frame

from lstmcast import Forecaster
from lstmcast.cli import cli
from lstmcast.errors import ConfigError, DataWarning
from lstmcast.events import comparison, event_metrics
from lstmcast.validate import validate_panel
from lstmcast.window import panel_split

PANEL = {**TINY, "target": "y", "time_col": "time", "id_col": "store"}
LEVELS = {"a": 0.0, "b": 100.0, "c": 1000.0}  # series far apart: one threshold for all would mean nothing


def stores(lengths: tuple[int, ...] = (300, 220, 260)) -> pd.DataFrame:
    """Three hourly sines of their own level (and spread: c's swings are ten times a's)."""
    parts = []
    for k, ((name, level), n) in enumerate(zip(LEVELS.items(), lengths, strict=True)):
        part = sine_frame(n=n, seed=k, noise=0.4)
        part["y"] = level + (1 + 4.5 * k) * part["y"]
        parts.append(part.assign(store=name))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def q90() -> Forecaster:
    """Each series' own training 90% quantile, the alert level tuned over every series' validation part."""
    return Forecaster(**PANEL).fit(stores(), threshold="q0.9", tune_alert_level=True)


def training_rows(model: Forecaster, table: pd.DataFrame) -> dict[str, np.ndarray]:
    panel = validate_panel(table, model.state_.data, "store")
    split = panel_split(panel.offsets, model.state_.window)
    return {
        name: panel.values[panel.offsets[k] : split.train_end[k], 0].astype(np.float64)
        for k, name in enumerate(panel.ids)
    }


def test_a_quantile_threshold_is_each_series_own_training_quantile(q90: Forecaster) -> None:
    state = q90.state_
    thresholds = dict(zip(state.panel.ids, state.panel.events.thresholds, strict=True))
    for name, rows in training_rows(q90, stores()).items():
        assert thresholds[name] == pytest.approx(np.quantile(rows, 0.9), rel=1e-12)
    assert state.events["threshold"] is None and state.events["quantile"] == 0.9
    # A tuned alert level is one distance from each threshold in each series' own scale.
    offset, scale = state.events["alert_offset"], state.panel.scaler.scale[:, 0]
    assert state.events["alert_level_tuning"]["alert_offset"] == offset
    np.testing.assert_allclose(state.panel.events.alert_levels, state.panel.events.thresholds + offset * scale)
    # Base rates pool every series' training rows, each against its own threshold: 10% by construction.
    assert state.events["base_rate"] == pytest.approx(0.1, abs=0.01)


def test_the_pooled_report_counts_what_each_series_scored_alone_would(q90: Forecaster) -> None:
    """The report's event and pointwise counts are the sums over series of lstmcast.events run on each
    series alone, in its own units, with its own threshold and alert level."""
    table = stores()
    state = q90.state_
    with pytest.warns(DataWarning, match="origins forecast rows the model was trained"):
        report = q90.evaluate(table)
    panel = validate_panel(table, state.data, "store")
    first = max(q90.lookback, state.season)
    totals = {"actual_events": 0, "predicted_events": 0, "matched_events": 0, "tp": 0, "fp": 0, "fn": 0}
    alone: dict[str, list[int]] = {"actual_events": [], "predicted_events": [], "matched_events": []}
    for k in range(len(panel.ids)):
        one = panel.select(np.arange(len(panel.ids)) == k)
        origins = np.arange(first, len(one.values) - q90.horizon + 1)
        forecast = q90.panel_forecasts(one, origins)  # its own units
        target = one.values[:, 0].astype(np.float64)
        threshold, alert = state.panel.events.thresholds[k], state.panel.events.alert_levels[k]
        scores = event_metrics(target, forecast, origins, threshold, "above", alert, 0)
        for key in ("actual_events", "predicted_events", "matched_events"):
            totals[key] += scores[key]
            alone[key].append(scores[key])
        actual = target[origins[:, None] + np.arange(q90.horizon)]
        happened, warned = actual > threshold, forecast > alert
        totals["tp"] += int((happened & warned).sum())
        totals["fp"] += int((~happened & warned).sum())
        totals["fn"] += int((happened & ~warned).sum())
    assert totals["actual_events"] > 10  # enough events in every series for the comparison to bite
    assert {key: report[key] for key in totals} == totals
    # Each series' row has its own: they add up to the pool, and each is that series' alone.
    for key in ("actual_events", "predicted_events", "matched_events"):
        assert [row[key] for row in report["series"]] == alone[key]
    assert report["threshold"] is None and report["quantile"] == 0.9 and report["alert_level"] is None


def test_predict_writes_each_series_alert_and_probabilities(q90: Forecaster, tmp_path: Path) -> None:
    q90.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")
    table = stores()
    out = loaded.predict(table)
    assert list(out.columns) == ["store", "time", "step", "y", "prob", "prob_any", "alert"]
    assert out["alert"].dtype == bool and out["prob"].between(0, 1).all()
    levels = dict(zip(loaded.state_.panel.ids, loaded.state_.panel.events.alert_levels, strict=True))
    np.testing.assert_array_equal(out["alert"], out["y"] > out["store"].map(levels))
    # The same columns as the fitted model's, to the last bit: nothing lost in the model files.
    pd.testing.assert_frame_equal(out, q90.predict(table))
    # prob_any is one value per series' horizon, at least its largest step.
    by_store = out.groupby("store")
    assert (by_store["prob_any"].nunique() == 1).all()
    assert (by_store["prob_any"].first() >= by_store["prob"].max() - 1e-12).all()


def test_one_value_threshold_for_every_series_and_alerts_from_probability() -> None:
    model = Forecaster(**PANEL).fit(stores(), threshold=155.0, alert_prob=0.3)
    state = model.state_
    assert state.events["threshold"] == 155.0 and state.events["alert_prob"] == 0.3
    np.testing.assert_array_equal(state.panel.events.thresholds, [155.0] * 3)
    out = model.predict(stores())
    np.testing.assert_array_equal(out["alert"], out["prob"] > 0.3)
    rows = model.metrics_["series"]  # each series' own events, alerting from probabilities too
    for key in ("actual_events", "predicted_events", "matched_events"):
        assert sum(row[key] for row in rows) == model.metrics_[key]
    assert rows[0]["actual_events"] == 0 and rows[0]["event_f1"] is None  # store a never gets there
    # Store a never reaches 155 and c is always past it: probabilities say so.
    assert (out.loc[out["store"] == "a", "prob"] == 0).all()
    assert (out.loc[out["store"] == "c", "prob"] == 1).all()


def test_alert_level_with_a_quantile_threshold_is_refused_as_one_value_for_series_that_differ() -> None:
    with pytest.raises(ConfigError, match=r"--alert-level 5 is one value for every series"):
        Forecaster(**PANEL).fit(stores(), threshold="q0.9", alert_level=5.0)


@pytest.mark.parametrize("command", ["train", "tune", "backtest"])
def test_the_refusal_is_a_usage_error_before_data_or_outputs_are_looked_at(tmp_path: Path, command: str) -> None:
    """As every other contradiction of settings: exit 2 whatever else is wrong, with nothing read
    (here DATA does not exist and the output's folder neither)."""
    output = {"backtest": ["-o", tmp_path / "no" / "report.json"], "tune": ["--grid", "hidden=2,4"]}.get(command, [])
    if command != "backtest":
        output += ["-o", tmp_path / "no" / "model"]
    args = [command, tmp_path / "missing.csv", "--id-col", "store", "--threshold", "q0.9", "--alert-level", "5"]
    result = CliRunner().invoke(cli, [str(arg) for arg in [*args, *output, *TINY_FLAGS]])
    assert result.exit_code == 2, result.stderr
    assert result.stderr == (
        "Error: --alert-level 5 is one value for every series, but --threshold q0.9 gives each series its own; "
        "tune the alert level on the validation part (--tune-alert-level) instead\n"
    )


@pytest.mark.filterwarnings("ignore:.*origins forecast rows the model was trained")
def test_evaluate_takes_another_threshold_or_tolerance(q90: Forecaster) -> None:
    table = stores()
    own = q90.evaluate(table)
    wider = q90.evaluate(table, tolerance=2)
    assert wider["tolerance"] == 2 and wider["actual_events"] == own["actual_events"]
    assert wider["matched_events"] >= own["matched_events"]
    value = q90.evaluate(table, threshold=155.0)
    assert value["threshold"] == 155.0 and value["alert_level"] == 155.0 and value["quantile"] is None
    # Only store b (138 to 172) crosses 155: a stays under it and c over it, so theirs hold no event.
    alone = q90.evaluate(table[table["store"] == "b"], threshold=155.0)
    assert value["actual_events"] == alone["actual_events"] > 5
    assert value["matched_events"] == alone["matched_events"]
    with pytest.raises(ConfigError, match="--event below differs from the model's"):
        q90.evaluate(table, event="below")


def test_a_series_that_never_reaches_a_value_threshold_warns_when_none_does() -> None:
    with pytest.warns(DataWarning, match="no training row of any series is above its threshold"):
        Forecaster(**PANEL).fit(stores(), threshold=1e6)


def cli_train(tmp_path: Path, *extra: str) -> tuple[Path, Path]:
    data = tmp_path / "stores.csv"
    stores().to_csv(data, index=False)
    model = tmp_path / "model"
    args = ["train", str(data), "--target", "y", "--id-col", "store", *TINY_FLAGS, "-o", str(model), *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return data, model


def test_the_cli_trains_predicts_and_evaluates_threshold_events_of_many_series(tmp_path: Path) -> None:
    data, model = cli_train(tmp_path, "--threshold", "q0.9", "--tune-alert-level", "--quiet")
    runner = CliRunner()
    result = runner.invoke(cli, ["predict", str(model), str(data), "-o", "-"])
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0]
    assert header == "store,time,step,y,prob,prob_any,alert"
    metrics = json.loads((model / "metrics.json").read_text())
    assert metrics["quantile"] == 0.9 and metrics["actual_events"] >= 0
    result = runner.invoke(cli, ["info", str(model)])
    assert "each series' own q0.9 of its training part" in result.output
    assert "its series' threshold" in result.output
    result = runner.invoke(cli, ["evaluate", str(model), str(data), "--threshold", "155", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["threshold"] == 155.0
    result = runner.invoke(cli, ["evaluate", str(model), str(data), "--alert-level", "3"])
    assert result.exit_code == 2 and "one value for every series" in result.output


def test_a_model_whose_per_series_levels_are_lost_is_a_damaged_model(tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    _, model = cli_train(tmp_path, "--threshold", "120", "--quiet")
    weights = load_file(model / "weights.safetensors")
    del weights["panel.event.alert_level"]
    manifest = json.loads((model / "manifest.json").read_text())
    save_file(weights, model / "weights.safetensors", metadata={"panel.ids": json.dumps(["a", "b", "c"])})
    import hashlib

    manifest["weights_sha256"] = hashlib.sha256((model / "weights.safetensors").read_bytes()).hexdigest()
    (model / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(cli, ["predict", str(model), str(tmp_path / "stores.csv")])
    assert result.exit_code == 4
    assert "panel.event.threshold and panel.event.alert_level come together" in result.output


def test_an_empty_shard_has_the_event_columns_too(q90: Forecaster) -> None:
    table = stores()
    for shard in range(1, 9):
        out = q90.predict(table, shard=(shard, 8))
        assert list(out.columns) == ["store", "time", "step", "y", "prob", "prob_any", "alert"]


def test_alerts_compare_in_each_series_own_units() -> None:
    forecast = np.array([[1.0, 2.0], [150.0, 90.0]])
    levels = np.array([1.5, 100.0])
    np.testing.assert_array_equal(comparison("above")(forecast, levels[:, None]), [[False, True], [True, False]])


# -- backtests ---------------------------------------------------------------------------------------


def test_a_backtest_of_many_series_counts_each_series_events_once_against_the_first_folds_threshold() -> None:
    """Pooled over folds, a series' scored rows run from its first backtest origin to its last origin's
    horizon, events crossing a fold's edge count once, and every fold judges it by one threshold: the
    actual events are those of the data alone."""
    from lstmcast.backtest import backtest, plan_panel_folds

    table, threshold = stores(), 155.0  # only store b crosses it
    template = Forecaster(**{**PANEL, "test_frac": 0.3})
    report = backtest(template, table, folds=3, threshold=threshold, tune_alert_level=True)
    panel, bounds = plan_panel_folds(
        validate_panel(table, template.settings().data, "store"), 3, template.settings().window
    )
    expected = 0
    for k in range(len(panel.ids)):
        values = panel.values[panel.offsets[k] : panel.offsets[k + 1], 0]
        first, last = int(bounds[k, 0]), len(values) - 1  # stride 1: the last origin's horizon ends the series
        beyond = values > threshold
        starts = np.flatnonzero(beyond[first : last + 1] & ~beyond[first - 1 : last])  # runs that begin in range
        expected += len(starts)
    assert expected >= 3 and report["actual_events"] == expected
    offsets = [fold["events"]["alert_offset"] for fold in report["folds"]]
    assert all(offset is not None for offset in offsets)
    assert report["threshold"] == threshold
    if len(set(offsets)) > 1:  # each fold tuned its own: one number no longer describes them
        assert report["alert_level"] is None and report["alert_offset"] is None


def test_the_cli_backtests_threshold_events_of_many_series(tmp_path: Path) -> None:
    data = tmp_path / "stores.csv"
    stores().to_csv(data, index=False)
    args = ["backtest", str(data), "--target", "y", "--id-col", "store", *TINY_FLAGS, "--test-frac", "0.3"]
    result = CliRunner().invoke(cli, [*args, "--folds", "2", "--threshold", "q0.9", "--alert-prob", "0.4", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["quantile"] == 0.9 and report["alert_prob"] == 0.4 and report["probabilities"]["step"]["brier"] >= 0
    assert all(fold["events"]["alert_prob"] == 0.4 for fold in report["folds"])


def test_a_backtest_of_many_series_with_one_alert_level_given_keeps_it(tmp_path: Path) -> None:
    """--alert-level Y is one value for every series, so it lies at a different distance from the
    threshold in each series' scale: that is no sign that the folds tuned alert levels of their own."""
    data = tmp_path / "stores.csv"
    stores().to_csv(data, index=False)
    args = ["backtest", str(data), "--target", "y", "--id-col", "store", *TINY_FLAGS, "--test-frac", "0.3"]
    result = CliRunner().invoke(cli, [*args, "--folds", "2", "--threshold", "155", "--alert-level", "150", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert all(fold["events"]["alert_level"] == 150.0 for fold in report["folds"])
    assert report["threshold"] == 155.0 and report["alert_level"] == 150.0
    assert "alert levels tuned fold by fold" not in result.stderr
    assert "alert when the forecast > 150" in result.stderr


def test_a_backtest_of_many_series_whose_folds_tune_their_own_offsets_says_so(tmp_path: Path) -> None:
    data = tmp_path / "stores.csv"
    stores().to_csv(data, index=False)
    args = ["backtest", str(data), "--target", "y", "--id-col", "store", *TINY_FLAGS, "--test-frac", "0.3"]
    result = CliRunner().invoke(cli, [*args, "--folds", "3", "--threshold", "q0.9", "--tune-alert-level", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    offsets = {fold["events"]["alert_offset"] for fold in report["folds"]}
    assert len(offsets) > 1 and report["alert_offset"] is None  # each fold its own
    assert "value > each series' own q0.9 of its training part; alert levels tuned fold by fold" in result.stderr


def test_tune_of_many_series_keeps_the_threshold_events_with_the_best_trial() -> None:
    from lstmcast.evaluation import EventSettings
    from lstmcast.tune import tune

    events = EventSettings.from_options("q0.9", tune_alert_level=True)
    result = tune(stores(), {"hidden": [4, 6]}, {**PANEL, "events": events})
    best = result.forecaster
    assert best.state_.events["quantile"] == 0.9 and best.state_.panel.events is not None
    assert best.metrics_["quantile"] == 0.9 and best.metrics_["actual_events"] > 0
    refused = EventSettings.from_options("q0.9", alert_level=3.0)
    with pytest.raises(ConfigError, match="one value for every series"):
        tune(stores(), {"hidden": [4, 6]}, {**PANEL, "events": refused})


@pytest.mark.filterwarnings("ignore:.*origins forecast rows the model was trained")
def test_errors_and_r2_do_not_depend_on_the_threshold(q90: Forecaster) -> None:
    """Scoring events puts every series' threshold at 0; the errors and R² are those of the values
    themselves: the same as the model's with no threshold, whatever threshold is given."""
    table = stores()
    state = q90.state_
    bare = Forecaster.from_state(
        state.replace(events=None, paths=None, panel=dataclasses.replace(state.panel, events=None)), "cpu"
    ).evaluate(table)
    assert "actual_events" not in bare
    for threshold in (None, 155.0, -1e9):
        report = q90.evaluate(table, threshold=threshold)
        assert "actual_events" in report
        for key in ("mse", "mae", "r2", "mase"):
            assert report[key] == pytest.approx(bare[key], rel=1e-9), (threshold, key)
            for name, scores in report["baselines"].items():
                assert scores[key] == pytest.approx(bare["baselines"][name][key], rel=1e-9), (threshold, name, key)
        for step, plain in zip(report["per_step"], bare["per_step"], strict=True):
            assert step["r2"] == pytest.approx(plain["r2"], rel=1e-9), threshold


@pytest.mark.parametrize(
    "extra", [("--threshold", "q0.9", "--tune-alert-level"), ("--threshold", "120", "--tune-alert-prob")]
)
def test_a_plot_of_one_series_draws_its_own_threshold_and_alert_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: tuple[str, ...]
) -> None:
    data, model = cli_train(tmp_path, *extra, "--quiet")
    drawn: dict[str, object] = {}
    import lstmcast.plot

    real = lstmcast.plot.plot_forecast

    def plot_forecast(*args: object, **kwargs: object) -> None:
        drawn.update(kwargs)
        real(*args, **kwargs)

    monkeypatch.setattr("lstmcast.plot.plot_forecast", plot_forecast)
    result = CliRunner().invoke(cli, ["plot", str(model), str(data), "--series", "b", "-o", str(tmp_path / "b.png")])
    assert result.exit_code == 0, result.output
    loaded = Forecaster.load(model)
    k = loaded.state_.panel.ids.index("b")
    assert drawn["threshold"] == pytest.approx(loaded.state_.panel.events.thresholds[k])
    if "--tune-alert-prob" in extra:  # alerts from the probability: the steps predict marks
        assert drawn["alert_level"] is None
        expected = loaded.predict(stores()).query("store == 'b'")["alert"].to_numpy()
        np.testing.assert_array_equal(np.asarray(drawn["alerts"]), expected)
    else:
        assert drawn["alert_level"] == pytest.approx(loaded.state_.panel.events.alert_levels[k])
    result = CliRunner().invoke(cli, ["plot", str(model), str(data), "-o", str(tmp_path / "all.png")])
    assert result.exit_code == 2 and "give the id of the one to plot with --series" in result.output
    reference = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    row = next(line for line in reference.splitlines() if line.startswith("| `--series ID`"))
    assert "internal error" not in row and "draws that series' own threshold and alert level" in row


def test_a_model_whose_own_thresholds_have_no_quantile_is_a_damaged_model(tmp_path: Path) -> None:
    data, model = cli_train(tmp_path, "--threshold", "q0.9", "--quiet")
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["events"]["quantile"] = None
    (model / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(cli, ["predict", str(model), str(data)])
    assert result.exit_code == 4, result.output
    assert "events.quantile must be a number" in result.output


def test_a_quantile_threshold_alerting_at_each_series_own_says_nothing_was_tuned(tmp_path: Path) -> None:
    data, model = cli_train(tmp_path, "--threshold", "q0.9")
    for result in (
        CliRunner().invoke(cli, ["info", str(model)]),
        CliRunner().invoke(cli, ["evaluate", str(model), str(data)]),
    ):
        assert result.exit_code == 0, result.output
        assert "Threshold events, step by step (value > each series' own q0.9 of its training part)" in result.output
        assert "tuned fold by fold" not in result.output


def test_event_settings_of_a_model_of_many_series_are_those_of_one_series(q90: Forecaster) -> None:
    k = q90.state_.panel.ids.index("b")
    own = q90.event_settings(series="b")
    assert own.level == pytest.approx(q90.state_.panel.events.thresholds[k])
    assert own.alert_level == pytest.approx(q90.state_.panel.events.alert_levels[k])
    with pytest.raises(ConfigError, match="give the series to take them from"):
        q90.event_settings()
    assert q90.event_settings(155.0).level == 155.0  # a number given is every series' threshold


def test_evaluate_takes_the_models_own_quantile_the_other_way(q90: Forecaster) -> None:
    """Each series' q0.9 is a number per series: scoring values below it is well defined, with alerts at
    each series' threshold (the tuned alert level was for the other side)."""
    table = stores().groupby("store").tail(52)  # every series' test part
    below = q90.evaluate(table, threshold="q0.9", event="below")
    assert below["event"] == "below" and below["quantile"] == 0.9 and below["threshold"] is None
    assert below["alert_level"] is None and below["alert_offset"] is None
    above = q90.evaluate(table)
    assert below["actual_events"] != above["actual_events"] or below["tp"] != above["tp"]
    with pytest.raises(ConfigError, match="one value for every series") as refused:
        q90.evaluate(table, threshold="q0.9", event="below", alert_level=3.0)
    assert "--tune-alert-level" not in str(refused.value)  # evaluate has no such option


@pytest.mark.filterwarnings("ignore:.*origins forecast rows the model was trained")
def test_a_reliability_diagram_pools_every_series_against_its_own_threshold(q90: Forecaster, tmp_path: Path) -> None:
    table = stores()
    scores = q90.reliability(table)
    lookback, horizon = q90.lookback, q90.horizon
    lengths = table.groupby("store").size()
    assert scores["n_origins"] == int((lengths - lookback - horizon + 1).sum())
    assert sum(row["n"] for row in scores["reliability"]) == scores["n_origins"] * horizon
    # How often the event happened, pooled: each series' steps beyond its own threshold.
    thresholds = dict(zip(q90.state_.panel.ids, q90.state_.panel.events.thresholds, strict=True))
    beyond = 0
    for name, n in lengths.items():
        values = table.loc[table["store"] == name, "y"].to_numpy()
        origins = np.arange(lookback, n - horizon + 1)
        beyond += int((values[origins[:, None] + np.arange(horizon)] > thresholds[name]).sum())
    observed = sum(row["observed"] * row["n"] for row in scores["reliability"] if row["n"])
    assert observed == pytest.approx(beyond)
    assert scores["brier_skill"] > 0
    q90.save(tmp_path / "m")
    table.to_csv(tmp_path / "stores.csv", index=False)
    command = [
        "plot",
        str(tmp_path / "m"),
        str(tmp_path / "stores.csv"),
        "--reliability",
        "-o",
        str(tmp_path / "r.png"),
    ]
    drawn = CliRunner().invoke(cli, command)
    assert drawn.exit_code == 0, drawn.stderr
    assert (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG")


def test_the_cli_refusal_of_one_alert_level_names_no_option_evaluate_lacks(tmp_path: Path) -> None:
    data, model = cli_train(tmp_path, "--threshold", "q0.9", "--quiet")
    for event in ("above", "below"):
        result = CliRunner().invoke(
            cli, ["evaluate", str(model), str(data), "--threshold", "q0.9", "--event", event, "--alert-level", "3"]
        )
        assert result.exit_code == 2, result.output
        assert "one value for every series" in result.stderr and "--tune-alert-level" not in result.stderr
    missing = tmp_path / "missing.csv"  # what the model alone decides comes before DATA is read
    result = CliRunner().invoke(
        cli, ["evaluate", str(model), str(missing), "--threshold", "q0.9", "--alert-level", "3"]
    )
    assert result.exit_code == 2 and "one value for every series" in result.stderr


def test_plot_settings_take_the_models_own_quantile_as_the_series_threshold(q90: Forecaster) -> None:
    k = q90.state_.panel.ids.index("b")
    own = q90.event_settings("q0.9", series="b")
    assert own.level == pytest.approx(q90.state_.panel.events.thresholds[k]) and own.alert() == own.level
    with pytest.raises(ConfigError, match="keeps no quantiles of one training part"):
        q90.event_settings("q0.8", series="b")
