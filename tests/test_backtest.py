"""Walk-forward backtests: each fold's model sees only the rows before its block, forecasts for all
origins are scored in one report like evaluate's, and the CLI writes only what it is asked for."""

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import TINY, TINY_FLAGS, sine_frame

from lstmcast import Forecaster
from lstmcast.backtest import Fold, backtest, plan_folds
from lstmcast.cli import cli
from lstmcast.config import WindowConfig
from lstmcast.errors import ConfigError, DataError

WINDOW = WindowConfig(lookback=TINY["lookback"], horizon=TINY["horizon"], test_frac=0.3)


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def report() -> dict:
    return backtest(Forecaster(**TINY, test_frac=0.3), sine_frame(n=400), folds=3)


def test_folds_cut_the_test_part_into_consecutive_blocks() -> None:
    assert plan_folds(1000, 4, WINDOW) == [Fold(1, 700, 775), Fold(2, 775, 850), Fold(3, 850, 925), Fold(4, 925, 1000)]


def test_too_many_folds_or_no_test_part_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="the last 300 rows .* too few for 100 folds.*raise --test-frac or lower"):
        plan_folds(1000, 100, WINDOW)
    with pytest.raises(ConfigError, match="needs --test-frac above 0"):
        plan_folds(1000, 2, WindowConfig(lookback=12, horizon=4, test_frac=0.0))
    with pytest.raises(DataError, match="fold 1 would train on the first 14 rows"):
        plan_folds(20, 1, WindowConfig(lookback=12, horizon=4, val_frac=0.1, test_frac=0.3))


def test_each_fold_trains_only_on_the_rows_before_its_block(report: dict) -> None:
    starts = [fold.start for fold in plan_folds(400, 3, WINDOW)]
    assert [record["train_rows"] for record in report["folds"]] == starts
    assert all(record["trained"] for record in report["folds"])
    assert report["backtest"] == {"folds": 3, "retrain": True, "stride": 1, "test_rows": 120, "source": "<frame>"}


def test_the_pooled_report_covers_every_origin_once_with_evaluates_shape(report: dict, fitted: Forecaster) -> None:
    assert report["n_origins"] == sum(record["metrics"]["n_origins"] for record in report["folds"])
    # Every row of the test part is an origin but the last horizon - 1 (their horizon runs off the data);
    # a fold's forecasts may run past its block, into rows its model has still not seen.
    assert report["n_origins"] == 120 - (TINY["horizon"] - 1)
    evaluated = fitted.evaluate(sine_frame(n=120, seed=1).assign(time=lambda f: f["time"].str.replace("2024", "2025")))
    assert set(evaluated) - {"in_sample_origins"} <= set(report)
    assert set(report["baselines"]) == {"naive", "seasonal_naive", "drift", "mean", "ridge", "linear_start"}
    assert len(report["per_step"]) == TINY["horizon"]


def test_later_rows_cannot_change_an_earlier_folds_scores() -> None:
    frame = sine_frame(n=400)
    plan = plan_folds(400, 3, WINDOW)
    changed = frame.copy()
    unseen_by_fold_1 = plan[1].start + TINY["horizon"]  # fold 1 forecasts rows up to here, never beyond
    changed.loc[unseen_by_fold_1:, "y"] += 50.0
    first = backtest(Forecaster(**TINY, test_frac=0.3), frame, folds=3)["folds"][0]
    second = backtest(Forecaster(**TINY, test_frac=0.3), changed, folds=3)["folds"][0]
    assert first["metrics"]["mse"] == second["metrics"]["mse"]


def test_every_fold_and_the_pool_score_the_networks_own_linear_start(report: dict) -> None:
    folds = [record["metrics"] for record in report["folds"]]
    assert all("linear_start" in metrics["baselines"] for metrics in folds)
    # Pooled over every fold's origins: each fold's start scored on its own rows, weighted by them.
    total = sum(metrics["baselines"]["linear_start"]["mse"] * metrics["n_origins"] for metrics in folds)
    assert report["baselines"]["linear_start"]["mse"] == pytest.approx(total / report["n_origins"])
    assert report["best"] != "linear_start" and all(metrics["best"] != "linear_start" for metrics in folds)


def test_each_fold_reports_the_penalty_of_its_own_ridge(report: dict) -> None:
    alphas = [record["metrics"]["baselines"]["ridge"]["alpha"] for record in report["folds"]]
    assert all(isinstance(alpha, float) and alpha > 0 for alpha in alphas)


def test_no_retrain_rolls_the_first_folds_model_over_every_block(report: dict) -> None:
    rolled = backtest(Forecaster(**TINY, test_frac=0.3), sine_frame(n=400), folds=3, retrain=False)
    assert [record["trained"] for record in rolled["folds"]] == [True, False, False]
    assert len({record["train_rows"] for record in rolled["folds"]}) == 1
    assert rolled["folds"][0]["metrics"]["mse"] == pytest.approx(report["folds"][0]["metrics"]["mse"])


def test_stride_thins_the_origins() -> None:
    strided = backtest(Forecaster(**TINY, test_frac=0.3), sine_frame(n=400), folds=3, stride=4)
    assert strided["n_origins"] == 30


def test_a_huge_stride_is_refused_at_once_naming_the_largest_that_works() -> None:
    """A stride longer than the data leaves every fold but the first without an origin. The largest
    stride that works is sought among the strides the rows allow, not by counting down from the one
    given: --stride 10**18 used to run for hours before any message."""
    import signal

    def still_counting(signum: int, frame: object) -> None:
        raise TimeoutError("still counting strides down")

    previous = signal.signal(signal.SIGALRM, still_counting)
    signal.alarm(60)
    try:
        with pytest.raises(DataError, match=r"--stride 1000000000000000000, fold 2 of 5 .* --stride 14 is the largest"):
            backtest(Forecaster(**TINY), sine_frame(), folds=5, stride=10**18)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_quantile_threshold_comes_from_the_first_folds_training_part_and_alert_levels_per_fold() -> None:
    frame = sine_frame(n=400)
    result = backtest(
        Forecaster(**TINY, test_frac=0.3), frame, folds=2, threshold="q0.9", tolerance=1, tune_alert_level=True
    )
    first_training_part = frame["y"].to_numpy()[: result["folds"][0]["train_rows"]]
    # the fold's own training part is its rows minus the validation part
    assert result["threshold"] < first_training_part.max()
    assert {record["events"]["threshold"] for record in result["folds"]} == {result["threshold"]}
    for record in result["folds"]:
        assert record["events"]["alert_level_tuning"] is None or "curve" in record["events"]["alert_level_tuning"]
        assert record["metrics"]["alert_level"] == record["events"]["alert_level"]
    assert {"event_precision", "event_recall", "event_f1", "mean_lead_time"} <= set(result)


def test_backtest_cli_prints_folds_and_writes_json_per_step_and_plot(tmp_path: Path) -> None:
    data = tmp_path / "series.csv"
    sine_frame(n=400).to_csv(data, index=False)
    out, steps, png = tmp_path / "report.json", tmp_path / "steps.csv", tmp_path / "bt.png"
    flags = [*TINY_FLAGS, "--test-frac", "0.3", "--folds", "2"]
    result = run("backtest", data, *flags, "-o", out, "--per-step", steps, "--plot", png, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report == json.loads(out.read_text())
    assert [record["fold"] for record in report["folds"]] == [1, 2]
    assert "fold 1/2" in result.stderr and "fold 2/2" in result.stderr and "every fold pooled" in result.stderr
    table = steps.read_text().splitlines()
    assert table[0].startswith("step,forecaster,mse,rmse,mae")
    assert len(table) == 1 + TINY["horizon"] * 7  # the model, five baselines and the linear start per step
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", header[16:24]) == (1200, 600)


def test_backtest_cli_errors_are_one_line_and_write_nothing(tmp_path: Path) -> None:
    data = tmp_path / "series.csv"
    sine_frame(n=200).to_csv(data, index=False)
    out = tmp_path / "report.json"
    result = run("backtest", data, *TINY_FLAGS, "--folds", "30", "-o", out)
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1 and "too few for 30 folds" in result.stderr
    assert not out.exists() and result.stdout == ""
    result = run("backtest", data, *TINY_FLAGS, "--alert-level", "3")
    assert result.exit_code == 2 and "needs --threshold" in result.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--alert-level", "3"], "--alert-level needs --threshold"),
        (["--threshold", "abc"], "--threshold must be a number or a quantile"),
        (["--threshold", "5", "--alert-prob", "3"], "--alert-prob is a probability strictly between 0 and 1"),
    ],
)
def test_threshold_options_are_checked_before_data_or_outputs(tmp_path: Path, options: list[str], message: str) -> None:
    """As train's: a usage error (exit 2) whatever else is wrong; here DATA and the output's folder are missing."""
    result = run("backtest", tmp_path / "missing.csv", *options, "-o", tmp_path / "no" / "report.json", *TINY_FLAGS)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"Error: {message}") and result.stderr.count("\n") == 1


def test_pooled_skill_matches_the_pooled_mses(report: dict) -> None:
    for scores in report["baselines"].values():
        assert scores["skill"] == pytest.approx(1 - report["mse"] / scores["mse"])
    mses = {"model": report["mse"], **{name: scores["mse"] for name, scores in report["baselines"].items()}}
    best = min(mses, key=mses.__getitem__)
    assert report["best"] == best
    assert np.isfinite(report["mase"])


def test_the_templates_event_settings_are_scored_in_every_fold() -> None:
    from lstmcast.evaluation import EventSettings

    template = Forecaster(**TINY, test_frac=0.3, events=EventSettings.from_options(11.0, tolerance=1))
    result = backtest(template, sine_frame(n=400), folds=2)
    assert "event_f1" in result and all("event_f1" in fold["metrics"] for fold in result["folds"])
    assert all(fold["events"]["threshold"] == 11.0 for fold in result["folds"])


def test_a_warning_from_a_folds_training_names_the_fold(tmp_path: Path) -> None:
    """A threshold no training row reaches is said once per fold, each time naming which: five identical
    lines used to read as one problem repeated, and a warning of one fold as one of the whole run."""
    sine_frame(n=400).to_csv(tmp_path / "series.csv", index=False)
    result = run("backtest", tmp_path / "series.csv", *TINY_FLAGS, "--test-frac", "0.3", "--folds", "2", "-q",
                 "--threshold", "1e9")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    said = [line for line in result.stderr.splitlines() if "no training row is above the threshold" in line]
    assert [line.split(": ")[1] for line in said] == ["fold 1 of 2", "fold 2 of 2"]
    assert all(line.startswith("Warning: fold ") for line in said)
