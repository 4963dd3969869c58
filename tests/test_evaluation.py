"""The report shared by train, evaluate and backtest, and the threshold settings kept with a model."""

import json
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import TINY, TINY_FLAGS, sine_frame

from lstmcast import Forecaster
from lstmcast.cli import cli
from lstmcast.errors import ConfigError
from lstmcast.evaluation import EventSettings, per_step_table, score_report
from lstmcast.events import Quantile

METRIC_KEYS = {"mse", "rmse", "mae", "mape", "mape_skipped", "smape", "mase", "r2", "mse_scaled", "mae_scaled"}
ARTIFACTS = Path(__file__).parent / "data" / "artifacts"


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_a_report_scores_the_model_and_each_baseline_and_names_the_best() -> None:
    target = np.arange(10.0)  # a straight line: drift is perfect, naive is off by h
    origins = np.array([5, 6])
    forecast = np.array([[5.0, 7.0], [6.0, 8.0]])  # errors 0, 1, 0, 1
    baselines = {"naive": np.array([[4.0, 4.0], [5.0, 5.0]]), "drift": np.array([[5.0, 6.0], [6.0, 7.0]])}
    report = score_report(target, origins, forecast, baselines, target_scale=1.0, mase_scale=1.0)
    assert report["mse"] == pytest.approx(0.5) and report["mase"] == pytest.approx(0.5)
    assert report["baselines"]["naive"]["mse"] == pytest.approx((1 + 4 + 1 + 4) / 4)
    assert report["baselines"]["naive"]["skill"] == pytest.approx(1 - 0.5 / 2.5)
    assert report["baselines"]["drift"]["skill"] is None  # a perfect baseline leaves no skill to measure
    assert report["best"] == "drift"
    assert [step["mse"] for step in report["per_step"]] == pytest.approx([0.0, 1.0])


def test_events_in_a_report_are_scored_step_by_step_and_as_events() -> None:
    target = np.array([0, 0, 0, 0, 9, 9, 0, 0, 0, 0], dtype=float)
    origins = np.arange(2, 7)
    forecast = target[origins[:, None] + np.arange(2)]  # a perfect forecast
    events = EventSettings(5.0)
    report = score_report(target, origins, forecast, {}, 1.0, events=events)
    assert (report["precision"], report["recall"], report["tp"]) == (1.0, 1.0, 2 + 2)  # rows 4, 5 twice each
    assert (report["actual_events"], report["matched_events"], report["event_f1"]) == (1, 1, 1.0)
    assert report["mean_lead_time"] == 2  # origin 3 warned of the crossing at row 4 at step 2
    assert {"precision", "tp"} <= set(report["per_step"][0])


def test_per_origin_alert_levels_are_the_same_as_one_level_when_equal() -> None:
    rng = np.random.default_rng(0)
    target = rng.normal(0, 1, 60)
    origins = np.arange(10, 50)
    forecast = target[origins[:, None] + np.arange(3)] + rng.normal(0, 0.5, (40, 3))
    events = EventSettings(1.0, alert_level=0.7)
    one = score_report(target, origins, forecast, {}, 1.0, events=events)
    each = score_report(target, origins, forecast, {}, 1.0, events=events, alert_levels=np.full(40, 0.7))
    for key in ("tp", "fp", "fn", "predicted_events", "matched_events", "event_f1"):
        assert one[key] == each[key]
    assert each["alert_level"] is None and one["alert_level"] == 0.7


def test_the_per_step_table_has_a_row_per_step_and_forecaster() -> None:
    report = score_report(np.arange(10.0), np.array([5, 6]), np.ones((2, 3)), {"naive": np.zeros((2, 3))}, 1.0)
    table = per_step_table(report)
    assert list(table.columns[:3]) == ["step", "forecaster", "mse"]
    assert list(zip(table["step"], table["forecaster"], strict=True)) == [
        (1, "model"), (1, "naive"), (2, "model"), (2, "naive"), (3, "model"), (3, "naive")
    ]  # fmt: skip


def test_event_settings_refuse_contradictions() -> None:
    with pytest.raises(ConfigError, match="--alert-level and --tune-alert-level"):
        EventSettings(1.0, alert_level=2.0, tune_alert_level=True)
    with pytest.raises(ConfigError, match="needs --threshold"):
        EventSettings.from_options(None, tune_alert_level=True)
    with pytest.raises(ConfigError, match="--threshold must be a number or a quantile"):
        EventSettings.from_options("q2")
    assert EventSettings.from_options("q0.9").threshold == Quantile(0.9)


def test_fit_keeps_its_event_settings_and_evaluate_uses_them() -> None:
    frame = sine_frame(n=400)
    model = Forecaster(**TINY).fit(frame, threshold="q0.9", tune_alert_level=True, tolerance=1)
    events = model.events_
    train_target = frame["y"].to_numpy()[: model.training_["parts"]["train"]["rows"]]
    assert events["threshold"] == pytest.approx(np.quantile(train_target.astype(np.float32), 0.9), rel=1e-5)
    assert events["quantile"] == 0.9 and events["tolerance"] == 1
    assert model.metrics_["threshold"] == events["threshold"]
    assert model.metrics_["alert_level"] == events["alert_level"]
    later = sine_frame(n=200, seed=3).assign(time=lambda f: f["time"].str.replace("2024", "2025"))
    assert model.evaluate(later)["threshold"] == events["threshold"]
    assert "threshold" not in Forecaster(**TINY).fit(frame).evaluate(later)


def test_train_and_evaluate_from_the_cli_with_a_quantile_threshold(tmp_path: Path) -> None:
    data = tmp_path / "series.csv"
    sine_frame(n=400).to_csv(data, index=False)
    model, steps = tmp_path / "model", tmp_path / "steps.json"
    result = run("train", data, "-o", model, *TINY_FLAGS, "--threshold", "q0.9", "--tune-alert-level")
    assert result.exit_code == 0, result.stderr
    assert "Events: value > " in result.stderr and "the training part's q0.9" in result.stderr
    assert "Threshold events as events" in result.stderr
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["events"]["quantile"] == 0.9 and len(manifest["target_quantiles"]) == 1001
    result = run("evaluate", model, data, "--threshold", "q0.5", "--event", "below", "--per-step", steps, "--json")
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["threshold"] == pytest.approx(manifest["target_quantiles"][500])
    assert metrics["event"] == "below" and METRIC_KEYS <= set(metrics)
    assert len(json.loads(steps.read_text())) == TINY["horizon"] * 7  # model, 5 baselines, linear start


def test_a_quantile_threshold_on_a_model_from_before_0_4_is_refused_clearly() -> None:
    saved = ARTIFACTS / "v0.3.0"
    result = run("evaluate", saved / "model", saved / "input.csv", "--threshold", "q0.9")
    assert result.exit_code == 2
    assert "saved without the quantiles of its training part" in result.stderr
    result = run("evaluate", saved / "model", saved / "input.csv", "--threshold", "10", "--json", "-q")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["mase"] is None  # the training part's scale was not recorded then


def test_per_step_needs_a_test_part_and_stdout_takes_one_output(tmp_path: Path, csv_file: Path) -> None:
    result = run("train", csv_file, "-o", tmp_path / "m", *TINY_FLAGS, "--test-frac", "0", "--per-step", "x.csv")
    assert result.exit_code == 2 and "--test-frac 0 leaves none" in result.stderr
    result = run("train", csv_file, "-o", tmp_path / "m", *TINY_FLAGS, "--per-step", "-", "--json")
    assert result.exit_code == 2 and "only one output can go to stdout" in result.stderr
    assert not (tmp_path / "m").exists()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_plot_draws_a_forecast_with_actuals_and_the_loss_history(tmp_path: Path) -> None:
    data = tmp_path / "series.csv"
    frame = sine_frame(n=300)
    frame.to_csv(data, index=False)
    model = tmp_path / "model"
    Forecaster(**TINY).fit(frame, threshold=12).save(model)
    forecast_png, loss_png = tmp_path / "forecast.png", tmp_path / "loss.png"
    origin = frame["time"].iloc[-10]
    result = run("plot", model, data, "-o", forecast_png, "--origin", origin, "--size", "800x400")
    assert result.exit_code == 0, result.stderr
    assert png_size(forecast_png) == (800, 400)
    result = run("plot", "--history", model, "-o", loss_png)
    assert result.exit_code == 0, result.stderr
    assert png_size(loss_png) == (1200, 600)
    assert result.stdout == ""


def test_plot_options_that_cannot_work_together_are_usage_errors(tmp_path: Path, model_dir: Path) -> None:
    assert run("plot", model_dir, "-o", tmp_path / "x.png").exit_code == 2
    assert run("plot", "--history", model_dir, "data.csv", "-o", tmp_path / "x.png").exit_code == 2
    assert run("plot", model_dir, "d.csv", "-o", tmp_path / "x.png", "--size", "big").exit_code == 2
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    "option", [["--context", "5"], ["--event", "below"], ["--alert-level", "3"], ["--input-format", "csv"]]
)
def test_plot_history_refuses_the_forecast_options_it_would_ignore(
    tmp_path: Path, model_dir: Path, option: list[str]
) -> None:
    result = run("plot", "--history", model_dir, "-o", tmp_path / "x.png", *option)
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "Error: --history draws the loss curves only: it takes no DATA, --origin, --series, --threshold, --event, "
        "--alert-level, --context or --input-format\n"
    )
    assert not (tmp_path / "x.png").exists()


def test_forecast_context_from_an_origin_inside_the_data(fitted: Forecaster) -> None:
    frame = sine_frame()
    history, forecast, actual = fitted.forecast_context(frame, origin=str(frame["time"].iloc[-2]))
    assert len(history) == TINY["lookback"] and history.index[-1] == pd.Timestamp(frame["time"].iloc[-3])
    assert forecast.index[0] == pd.Timestamp(frame["time"].iloc[-2]) and len(forecast) == TINY["horizon"]
    assert actual is not None and list(actual) == pytest.approx(frame["y"].iloc[-2:].tolist(), rel=1e-6)
    _, _, none = fitted.forecast_context(frame)
    assert none is None
    with pytest.raises(Exception, match="no row at --origin"):
        fitted.forecast_context(frame, origin="1999-01-01")
    with pytest.raises(Exception, match="leaves 3 rows before it"):
        fitted.forecast_context(frame, origin="4")


def test_predict_flags_the_steps_beyond_the_alert_level_of_a_model_trained_with_a_threshold() -> None:
    frame = sine_frame(n=300)
    plain = Forecaster(**TINY).fit(frame).predict(frame)
    assert "alert" not in plain
    model = Forecaster(**TINY).fit(frame, threshold=10.0, alert_level=9.5)
    forecast = model.predict(frame)
    assert list(forecast.columns) == ["time", "step", "y", "prob", "prob_any", "alert"]
    assert (forecast["alert"] == (forecast["y"] > 9.5)).all()
    assert forecast["alert"].any() and not forecast["alert"].all()


def test_event_options_without_a_threshold_are_errors_unless_the_model_keeps_one(tmp_path: Path) -> None:
    frame = sine_frame(n=300)
    data, plain, kept = tmp_path / "series.csv", tmp_path / "plain", tmp_path / "kept"
    frame.to_csv(data, index=False)
    Forecaster(**TINY).fit(frame).save(plain)
    Forecaster(**TINY).fit(frame, threshold=12.0, tolerance=1).save(kept)
    for option in (["--tolerance", "2"], ["--event", "below"], ["--alert-level", "11"]):
        result = run("evaluate", plain, data, *option)
        assert result.exit_code == 2 and "needs --threshold" in result.stderr, option
    result = run("evaluate", kept, data, "--alert-level", "11.5", "--tolerance", "3", "--json", "-q")
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert (metrics["threshold"], metrics["alert_level"], metrics["tolerance"]) == (12.0, 11.5, 3)
    assert run("evaluate", kept, data, "--event", "below").exit_code == 2


def test_outputs_with_a_name_that_does_not_say_their_format_fail_before_any_work(
    tmp_path: Path, csv_file: Path
) -> None:
    result = run("train", csv_file, "-o", tmp_path / "m", *TINY_FLAGS, "--per-step", tmp_path / "steps.txt")
    assert result.exit_code == 2 and "name the file .csv, .parquet or .json" in result.stderr
    assert not (tmp_path / "m").exists()
    result = run("backtest", csv_file, *TINY_FLAGS, "--plot", tmp_path / "bt.jpg")
    assert result.exit_code == 2 and "name the file .png" in result.stderr


def test_an_error_message_with_brackets_is_shown_as_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import lstmcast.plot

    def missing() -> None:
        raise ConfigError("plotting needs matplotlib, which is not installed: pip install 'lstmcast[plot]'")

    monkeypatch.setattr(lstmcast.plot, "require_matplotlib", missing)
    result = run("plot", "--history", tmp_path, "-o", tmp_path / "loss.png")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: plotting needs matplotlib, which is not installed: pip install 'lstmcast[plot]'"
    )


# -- the event settings as an estimator parameter -------------------------------------------------


def test_event_settings_round_trip_through_plain_values() -> None:
    settings = EventSettings.from_options("q0.95", "below", None, 2, True)
    assert settings.to_dict() == {
        "threshold": "q0.95",
        "event": "below",
        "alert_level": None,
        "tolerance": 2,
        "tune_alert_level": True,
        "alert_prob": None,
        "tune_alert_prob": False,
    }
    assert EventSettings.from_dict(settings.to_dict()) == settings
    tuned = EventSettings.from_options(10.0, tune_alert_prob=True)
    assert EventSettings.from_dict(tuned.to_dict()) == tuned
    by_chance = EventSettings.from_options(10.0, alert_prob=0.3)
    assert EventSettings.from_dict(by_chance.to_dict()) == by_chance
    with pytest.raises(ConfigError, match="strictly between 0 and 1"):
        EventSettings.from_options(10.0, alert_prob=1.5)
    with pytest.raises(ConfigError, match="give it or an alert level, not both"):
        EventSettings.from_options(10.0, alert_level=9.0, alert_prob=0.3)
    with pytest.raises(ConfigError, match="--alert-prob needs --threshold"):
        EventSettings.from_options(None, alert_prob=0.3)
    with pytest.raises(ConfigError, match="--tune-alert-prob chooses the alert probability: give it or --alert-prob"):
        EventSettings.from_options(10.0, alert_prob=0.3, tune_alert_prob=True)
    for level, tune_level in ((9.0, False), (None, True)):
        with pytest.raises(ConfigError, match="--tune-alert-prob raises alerts from the probability"):
            EventSettings.from_options(10.0, alert_level=level, tune_alert_level=tune_level, tune_alert_prob=True)
    with pytest.raises(ConfigError, match="--tune-alert-prob needs --threshold"):
        EventSettings.from_options(None, tune_alert_prob=True)
    with pytest.raises(ConfigError, match="unknown keys level"):
        EventSettings.from_dict({"threshold": 3.0, "level": 2})


def test_events_given_to_the_constructor_are_scored_kept_and_cloned() -> None:
    from sklearn.base import clone

    events = EventSettings.from_options("q0.9", tolerance=1)
    forecaster = Forecaster(**TINY, events=events)
    assert clone(forecaster).get_params()["events"] == events
    fitted = forecaster.fit(sine_frame())
    assert fitted.events_["quantile"] == 0.9 and fitted.events_["tolerance"] == 1
    assert "event_f1" in fitted.metrics_
    # fit's own threshold is for that fit only: the parameter stays as given
    once = Forecaster(**TINY, events=events).fit(sine_frame(), threshold=11.0)
    assert once.events_["threshold"] == 11.0 and once.events == events


def test_a_loaded_model_gives_back_the_event_settings_it_was_fitted_with(tmp_path) -> None:
    events = EventSettings.from_options("q0.9", "above", None, 1, True)
    Forecaster(**TINY, events=events).fit(sine_frame()).save(tmp_path / "m")
    assert Forecaster.load(tmp_path / "m").events == events


def test_events_must_be_event_settings() -> None:
    with pytest.raises(ConfigError, match="events must be EventSettings"):
        Forecaster(**TINY, events={"threshold": 3}).fit(sine_frame())
