"""Every report scores the network against its own untrained start: the ridge its linear path started
from, kept with the model (manifest ``baselines.linear_start``) and shown as the "linear start" row,
beside the baselines but never counted as one of them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import TINY, TINY_FLAGS, sine_frame

from lstmcast import Forecaster
from lstmcast.artifact import MANIFEST, METRICS
from lstmcast.cli import cli
from lstmcast.console import ExitCode, backtest_tables, make_console, metrics_table
from lstmcast.errors import DataWarning
from lstmcast.evaluation import LINEAR_START, score_report

ROW = "│   │ linear start "  # the table's row, unmarked


def run(*args: str | Path):
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


# -- train, evaluate, info ------------------------------------------------------------------------


def test_train_scores_the_network_against_its_linear_start(tmp_path: Path, csv_file: Path) -> None:
    result = run("train", csv_file, "-o", tmp_path / "m", *TINY_FLAGS)
    assert result.exit_code == 0, result.stderr
    metrics = json.loads((tmp_path / "m" / METRICS).read_text())
    start = metrics["baselines"][LINEAR_START]
    assert start["skill"] == pytest.approx(1 - metrics["mse"] / start["mse"])
    assert metrics["best"] != LINEAR_START
    assert ROW in result.stderr
    assert "The network " in result.stderr and " its linear start" in result.stderr
    manifest = json.loads((tmp_path / "m" / MANIFEST).read_text())
    assert manifest["baselines"][LINEAR_START]["window_norm"] == "last"  # the model's coordinates
    assert len(manifest["baselines"][LINEAR_START]["weight"]) == TINY["lookback"]


def test_a_model_without_a_linear_path_has_no_start_row(tmp_path: Path, csv_file: Path) -> None:
    result = run("train", csv_file, "-o", tmp_path / "m", "--no-linear", *TINY_FLAGS)
    assert result.exit_code == 0, result.stderr
    assert LINEAR_START not in json.loads((tmp_path / "m" / METRICS).read_text())["baselines"]
    assert LINEAR_START not in json.loads((tmp_path / "m" / MANIFEST).read_text())["baselines"]
    assert "linear start" not in result.stderr
    assert Forecaster.load(tmp_path / "m").linear_start_ is None


@pytest.mark.parametrize("window_norm", ["none", "last", "mean", "revin"])
def test_a_network_kept_at_its_start_scores_exactly_as_the_stored_start(window_norm: str) -> None:
    """The strong check that the stored start is the network's: a network that cannot move (a learning
    rate of 1e-12) keeps epoch 0, whose test forecasts are the start's up to float32 rounding."""
    model = Forecaster(**{**TINY, "epochs": 1, "lr": 1e-12}, window_norm=window_norm).fit(sine_frame())
    assert model.best_epoch_ == 0
    start = model.metrics_["baselines"][LINEAR_START]
    # revin maps its forecast back through gamma + EPS (1 + 1e-5 at the start), where the ridge uses 1.
    tolerance = 1e-5 if window_norm == "revin" else 1e-6
    assert model.metrics_["mse"] == pytest.approx(start["mse"], rel=tolerance)
    assert model.metrics_["mae"] == pytest.approx(start["mae"], rel=tolerance)


def test_the_start_survives_save_and_load_and_evaluate_scores_it(
    tmp_path: Path, fitted: Forecaster, model_dir: Path
) -> None:
    loaded = Forecaster.load(model_dir)
    np.testing.assert_array_equal(loaded.linear_start_.weight, fitted.linear_start_.weight)
    np.testing.assert_array_equal(loaded.linear_start_.bias, fitted.linear_start_.bias)
    assert (loaded.linear_start_.alpha, loaded.linear_start_.window_norm) == (fitted.linear_start_.alpha, "last")
    frame = sine_frame(n=120, seed=1).assign(time=lambda f: f["time"].str.replace("2024", "2025"))
    assert fitted.evaluate(frame)["baselines"][LINEAR_START] == loaded.evaluate(frame)["baselines"][LINEAR_START]


@pytest.fixture
def old_model(tmp_path: Path, model_dir: Path) -> Path:
    """The shared model as lstmcast saved it before the start was kept: no baselines.linear_start,
    and a report without its row."""
    model = tmp_path / "old"
    shutil.copytree(model_dir, model)

    def forget(manifest: dict[str, Any]) -> None:
        del manifest["baselines"][LINEAR_START]
        del manifest["metrics"]["baselines"][LINEAR_START]

    edit_json(model / MANIFEST, forget)
    edit_json(model / METRICS, lambda metrics: metrics["baselines"].pop(LINEAR_START))
    return model


def test_a_model_saved_before_loads_forecasts_and_reports_without_the_row(old_model: Path, csv_file: Path) -> None:
    assert Forecaster.load(old_model).linear_start_ is None
    for args in (["info"], ["evaluate", csv_file]):
        result = run(args[0], old_model, *args[1:])
        assert result.exit_code == 0, result.stderr
        assert "linear start" not in result.stderr
    assert run("predict", old_model, csv_file).exit_code == 0
    evaluated = run("evaluate", old_model, csv_file, "--json", "-q")
    assert LINEAR_START not in json.loads(evaluated.stdout)["baselines"]


DAMAGED = {  # what is wrong: (the change to the manifest, what the one-line error says)
    "weight is text": (
        lambda m: m["baselines"][LINEAR_START].update(weight="none"),
        "corrupt (baselines.linear_start.weight should be a list; it is a string)",
    ),
    "a weight row too few": (
        lambda m: m["baselines"][LINEAR_START]["weight"].pop(),
        "corrupt (baselines.linear_start.weight should be 12 x 4 (lookback x horizon); it is 11 x 4)",
    ),
    "a bias too few": (
        lambda m: m["baselines"][LINEAR_START].update(bias=[0.0]),
        "corrupt (baselines.linear_start.bias should be 4 values (one per step of the horizon); it is 1 value)",
    ),
    "another window norm": (
        lambda m: m["baselines"][LINEAR_START].update(window_norm="mean"),
        "corrupt (baselines.linear_start is in the coordinates of window norm 'mean'; the model's is 'last')",
    ),
    "no window norm (so 'none')": (
        lambda m: m["baselines"][LINEAR_START].pop("window_norm"),
        "corrupt (baselines.linear_start is in the coordinates of window norm 'none'; the model's is 'last')",
    ),
    "a start without a linear path": (
        lambda m: m["config"]["model"].update(linear=False),
        "corrupt (baselines.linear_start is there, but the model has no linear path)",
    ),
}


@pytest.mark.parametrize(("change", "message"), DAMAGED.values(), ids=DAMAGED)
def test_a_damaged_linear_start_is_exit_4_in_one_line(
    tmp_path: Path, model_dir: Path, csv_file: Path, change, message: str
) -> None:
    model = tmp_path / "damaged"
    shutil.copytree(model_dir, model)
    edit_json(model / MANIFEST, change)
    where = model / MANIFEST if message.startswith("corrupt") else model
    for command in (("predict", model, csv_file), ("info", model)):  # info reads the manifest alone
        result = run(*command)
        assert result.exit_code == ExitCode.MODEL
        assert result.stderr == f"Error: {where}: {message}\n"


# -- the verdict and the best row -------------------------------------------------------------------


def scores(mse: float, skill: float | None = None) -> dict[str, Any]:
    return {"mse": mse, "rmse": mse**0.5, "mae": mse / 2, "mape": None, "smape": None, "mase": None, "r2": 0.5} | (
        {} if skill is None else {"skill": skill}
    )


def report(model_mse: float, start_mse: float) -> dict[str, Any]:
    """A report whose model beats the ridge, against a linear start of ``start_mse``."""
    return scores(model_mse) | {
        "n_origins": 10,
        "best": "model",
        "baselines": {
            "ridge": scores(2.0, 1 - model_mse / 2.0),
            LINEAR_START: scores(start_mse, 1 - model_mse / start_mse),
        },
    }


@pytest.mark.parametrize(
    ("model_mse", "start_mse", "sentence"),
    [
        (0.88, 1.0, "The network improves on its linear start by 12.0% (MSE)."),
        (
            1.0005,
            1.0,
            "The network adds nothing over its linear start here (MSE within 0.1%); a linear model forecasts "
            "this series as well.",
        ),
        (1.0, 1.0, "The network adds nothing over its linear start here (MSE within 0.1%)"),
        (1.04, 1.0, "The network is 4.0% worse than its linear start on these rows (MSE)."),
    ],
    ids=["improves", "within the margin", "kept at the start", "worse"],
)
def test_the_verdict_says_what_the_network_added_over_its_start(
    capsys: pytest.CaptureFixture[str], model_mse: float, start_mse: float, sentence: str
) -> None:
    metrics_table(make_console(), report(model_mse, start_mse), "Held-out test metrics")
    output = capsys.readouterr().err
    assert "10 forecast origins. lstmcast beats every baseline. " + sentence in output  # the start is no baseline
    assert ROW in output


def test_a_skill_that_is_float32_rounding_shows_as_0(capsys: pytest.CaptureFixture[str]) -> None:
    kept = report(1.0, 1.0)
    kept["baselines"][LINEAR_START]["skill"] = 4.937e-09  # a network kept at epoch 0, run in float32
    metrics_table(make_console(), kept, "Held-out test metrics")
    row = next(line for line in capsys.readouterr().err.splitlines() if "linear start" in line)
    assert row.rstrip("│ ").endswith("│           0") and "e-09" not in row


def test_a_skill_that_is_float32_rounding_is_no_win_in_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    kept = report(1.0, 1.0)
    kept["baselines"]["ridge"] = scores(1.0, 7.39e-09)  # window norm none: the ridge is the start, kept
    metrics_table(make_console(), kept, "Held-out test metrics")
    output = " ".join(capsys.readouterr().err.split())
    assert "lstmcast does not beat: ridge." in output and "beats every baseline" not in output


def test_the_tie_sentence_of_many_series_speaks_of_these_series(capsys: pytest.CaptureFixture[str]) -> None:
    kept = report(1.0, 1.0) | {"series": [{"id": "a"}, {"id": "b"}]}  # a model of many series' report
    metrics_table(make_console(), kept, "Held-out test metrics")
    output = " ".join(capsys.readouterr().err.split())
    assert "a linear model forecasts these series as well." in output


def test_the_start_is_never_the_best_row_nor_the_best_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    target = np.arange(40, dtype=np.float64)
    origins = np.arange(10, 30)
    actual = target[origins[:, None] + np.arange(2)]
    forecasts = {"naive": actual + 3.0, LINEAR_START: actual}  # the start forecasts these rows perfectly
    metrics = score_report(target, origins, actual + 1.0, forecasts, target_scale=1.0)
    assert metrics["best"] == "model"
    fold = {"fold": 1, "test_start": 10, "test_end": 31, "train_rows": 10, "best_epoch": 0, "metrics": metrics}
    backtest_tables(
        make_console(),
        metrics | {"backtest": {"folds": 1, "test_rows": 22, "retrain": True}, "folds": [fold]},
        "Backtest",
    )
    output = capsys.readouterr().err
    folds_table = output.split("every fold pooled")[0]
    assert "│ naive " in folds_table and "linear start" not in folds_table  # its best baseline
    assert (
        "lstmcast beats every baseline. The network is worse than its linear start, which forecasts these rows "
        "without error." in output
    )


# -- many series ------------------------------------------------------------------------


def test_a_model_of_many_series_reports_its_one_start(tmp_path: Path) -> None:
    from test_panel import PANEL_TINY, long_table

    with pytest.warns(DataWarning):  # the shuffled rows are sorted
        model = Forecaster(**{**PANEL_TINY, "epochs": 1, "lr": 1e-12}).fit(long_table())
    start = model.metrics_["baselines"][LINEAR_START]
    assert model.best_epoch_ == 0
    assert model.metrics_["mse"] == pytest.approx(start["mse"], rel=1e-6)  # pooled, in each series' units
    rows = model.metrics_["series"]
    assert [row["start_mse"] == pytest.approx(row["mse"], rel=1e-5) for row in rows] == [True] * 3
    model.save(tmp_path / "panel")
    loaded = Forecaster.load(tmp_path / "panel")
    np.testing.assert_array_equal(loaded.linear_start_.weight, model.linear_start_.weight)


def test_a_model_whose_file_holds_no_mse_is_described_without_a_start_sentence(tmp_path: Path, model_dir: Path) -> None:
    """The file's checks allow a null score (lstmcast writes one where a score is undefined); with the
    MSE and the start's skill both null there is no ratio to speak of, so ``info`` says nothing about
    the start, where it used to stop half-way through its output with Python's words and exit 4."""
    model = tmp_path / "no-mse"
    shutil.copytree(model_dir, model)

    def null_mse(manifest: dict) -> None:
        manifest["metrics"]["mse"] = None
        manifest["metrics"]["baselines"][LINEAR_START]["skill"] = None

    edit_json(model / MANIFEST, null_mse)
    result = run("info", model)
    assert result.exit_code == 0, result.stderr
    assert "linear start on" not in result.stderr and "Error" not in result.stderr
