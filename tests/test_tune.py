"""lstmcast tune: grid and random search over settings, ranked on the validation part only; the best
trial's model is saved like a trained one. Tiny models and 2 to 4 trials per search."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import TINY, TINY_FLAGS, sine_frame

from lstmcast import ConfigError, Forecaster, TrainingError
from lstmcast.cli import cli
from lstmcast.console import ExitCode
from lstmcast.tune import TUNABLE, Range, parse_duration, parse_grid, plan_trials, tune

SETTINGS_FREE = ["trial", "val_mse", "best_epoch", "epochs_run", "status"]  # every column but seconds


def run(*args: object):
    return CliRunner().invoke(cli, ["tune", *(str(a) for a in args)])


def run_json(*args: object) -> dict:
    result = run(*args, "--json", "--quiet", *TINY_FLAGS)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)


def without_seconds(trials: list[dict]) -> list[dict]:
    return [{k: v for k, v in trial.items() if k != "seconds"} for trial in trials]


# -- the search -------------------------------------------------------------------------------------


def test_grid_runs_every_combination_and_saves_the_lowest_val_mse(tmp_path: Path, csv_file: Path) -> None:
    out = run_json(csv_file, "--grid", "hidden=2,4", "--grid", "window-norm=none,revin", "-o", tmp_path / "best")
    settings = [(t["hidden"], t["window_norm"]) for t in out["trials"]]
    assert sorted(settings) == [(2, "none"), (2, "revin"), (4, "none"), (4, "revin")]
    assert [t["status"] for t in out["trials"]] == ["ok"] * 4
    winner = min(out["trials"], key=lambda t: t["val_mse"])
    assert out["best"] == {k: winner[k] for k in ("trial", "hidden", "window_norm", "val_mse")}
    assert out["stopped"] == "completed"

    model = Forecaster.load(tmp_path / "best")
    assert (model.hidden, model.window_norm) == (winner["hidden"], winner["window_norm"])
    assert model.val_mse_ == pytest.approx(winner["val_mse"])
    assert len(model.predict(sine_frame())) == TINY["horizon"]
    metrics = json.loads((tmp_path / "best" / "metrics.json").read_text())
    assert metrics == out["test_metrics"]
    assert metrics["part"] == "test" and {"mse", "baselines", "n_origins"} <= metrics.keys()
    tuning = json.loads((tmp_path / "best" / "manifest.json").read_text())["training"]["tuning"]
    assert tuning["space"] == {"hidden": [2, 4], "window_norm": ["none", "revin"]}
    assert (tuning["best_trial"], tuning["n_trials"], tuning["stopped"]) == (winner["trial"], 4, "completed")


def test_the_best_trial_keeps_the_threshold_events_it_was_given(tmp_path: Path, csv_file: Path) -> None:
    out = run_json(csv_file, "--grid", "hidden=2,4", "--threshold", "q0.9", "--tune-alert-level", "-o", tmp_path / "m")
    assert out["test_metrics"]["threshold"] is not None and "event_f1" in out["test_metrics"]
    model = Forecaster.load(tmp_path / "m")
    assert model.events_["quantile"] == 0.9 and model.events_["alert_level_tuning"] is not None
    assert list(model.predict(sine_frame()).columns)[-1] == "alert"
    refused = run(csv_file, "--grid", "hidden=2,4", "--alert-level", "3", "-o", tmp_path / "n", *TINY_FLAGS)
    assert refused.exit_code == 2 and "--alert-level needs --threshold" in refused.stderr
    assert not (tmp_path / "n").exists()


def test_what_training_the_best_trial_warned_is_said_once(tmp_path: Path, csv_file: Path) -> None:
    """The trials' own data warnings are quiet (each would repeat the data's), but what training the
    kept model found is said, as train says it: here a threshold no row reaches, so the alert
    probability could not be tuned and the probabilities learnt nothing about events."""
    result = run(
        csv_file, "--grid", "hidden=2,4", "--threshold", "1000", "--tune-alert-prob", "-o", tmp_path / "m", *TINY_FLAGS
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("no training row is above the threshold 1000") == 1
    assert result.stderr.count("the alert probability is 0.5, untuned") == 1
    assert Forecaster.load(tmp_path / "m").events_["alert_prob"] == 0.5


def test_settings_not_in_the_grid_come_from_the_options(tmp_path: Path, csv_file: Path) -> None:
    out = run_json(csv_file, "--grid", "lr=0.01,0.001", "--scaler", "minmax", "-o", tmp_path / "best")
    model = Forecaster.load(tmp_path / "best")
    assert (model.scaler, model.hidden, model.epochs, model.seed) == ("minmax", TINY["hidden"], TINY["epochs"], 0)
    assert model.lr == out["best"]["lr"]


def test_random_search_is_reproducible_with_a_seed(tmp_path: Path, csv_file: Path) -> None:
    args = [csv_file, "--grid", "hidden=2,4", "--grid", "lr=log:1e-4..1e-2", "--random", "2", "-o", tmp_path / "m"]
    first, second = run_json(*args), run_json(*args)
    assert without_seconds(first["trials"]) == without_seconds(second["trials"])
    assert first["best"] == second["best"]


def test_another_seed_samples_other_settings() -> None:
    space = parse_grid(["hidden=2,4,8", "lr=log:1e-4..1e-2"])
    assert plan_trials(space, TINY, 3, seed=0).settings == plan_trials(space, TINY, 3, seed=0).settings
    assert plan_trials(space, TINY, 3, seed=0).settings != plan_trials(space, {**TINY, "seed": 1}, 3, seed=1).settings


def test_ranges_sample_inside_the_range_with_the_settings_type() -> None:
    space = parse_grid(["lr=log:1e-4..1e-2", "dropout=0..0.5", "hidden=2..5"])
    assert space["lr"] == Range(1e-4, 1e-2, log=True) and space["hidden"] == Range(2, 5)
    settings = plan_trials(space, TINY, 400, seed=0).settings
    lrs = np.array([s["lr"] for s in settings])
    assert lrs.min() >= 1e-4 and lrs.max() <= 1e-2
    # Log-uniform: as many draws below 1e-3 as above (a uniform range would put 9% there).
    assert 0.4 < np.mean(lrs < 1e-3) < 0.6
    assert all(0 <= s["dropout"] <= 0.5 for s in settings)
    assert {s["hidden"] for s in settings} == {2, 3, 4, 5}
    assert all(type(s["hidden"]) is int and type(s["lr"]) is float for s in settings)


def test_random_covering_the_whole_grid_runs_it_once(tmp_path: Path, csv_file: Path) -> None:
    result = run(csv_file, "--grid", "hidden=2,4", "--random", "5", "-o", tmp_path / "m", *TINY_FLAGS)
    assert result.exit_code == 0, result.stderr
    assert "--random 5 covers the whole grid (2 settings): running each once instead." in result.stderr
    assert "trial 1/2  hidden=2  val_mse" in result.stderr and "trial 2/2  hidden=4  val_mse" in result.stderr
    assert result.stdout == ""


def test_the_test_part_plays_no_part_in_the_choice() -> None:
    frame = sine_frame()
    changed = frame.copy()
    test_rows = slice(len(frame) - round(len(frame) * 0.2), None)
    changed.loc[changed.index[test_rows], "y"] = np.random.default_rng(1).normal(50, 20, len(frame[test_rows]))
    space = {"hidden": [2, 4], "window_norm": ["none", "revin"]}
    a, b = tune(frame, space, TINY), tune(changed, space, TINY)
    assert a.trials["val_mse"].tolist() == b.trials["val_mse"].tolist()
    assert a.best_trial == b.best_trial
    assert a.test_metrics["mse"] != pytest.approx(b.test_metrics["mse"])  # the test part did change


# -- stopping early -----------------------------------------------------------------------------


def test_budget_stops_the_search_and_keeps_the_trial_it_cut(tmp_path: Path, csv_file: Path) -> None:
    out = run_json(csv_file, "--grid", "hidden=2,4", "--budget", "0.000001s", "-o", tmp_path / "m")
    assert out["stopped"] == "budget"
    assert len(out["trials"]) < 2 or out["trials"][-1]["status"] == "budget"
    assert out["trials"][0]["status"] == "budget" and out["trials"][0]["epochs_run"] < TINY["epochs"]
    assert out["best"]["trial"] == 1
    assert len(Forecaster.load(tmp_path / "m").predict(sine_frame())) == TINY["horizon"]


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("10m", 600), ("1.5h", 5400), ("600", 600)])
def test_budget_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.fixture
def interrupt_trial(monkeypatch: pytest.MonkeyPatch):
    """Make trial ``n`` raise KeyboardInterrupt from inside training, as Ctrl-C would."""

    def arm(n: int) -> None:
        original, calls = Forecaster.fit_series, []

        def train(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == n:
                raise KeyboardInterrupt
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Forecaster, "fit_series", train)

    return arm


def test_ctrl_c_saves_the_best_trial_so_far_and_exits_130(tmp_path: Path, csv_file: Path, interrupt_trial) -> None:
    interrupt_trial(3)
    trials = tmp_path / "trials.csv"
    args = ["--grid", "hidden=2,4,8", "--trials", trials, "--json", *TINY_FLAGS]
    result = run(csv_file, *args, "-o", tmp_path / "m")
    assert result.exit_code == ExitCode.INTERRUPTED
    assert "Warning: the search was interrupted at trial 3 of 3; saved the best so far (trial " in result.stderr
    out = json.loads(result.stdout)
    assert [t["status"] for t in out["trials"]] == ["ok", "ok", "interrupted"]
    assert out["stopped"] == "interrupted" and out["best"]["trial"] in (1, 2)
    assert Forecaster.load(tmp_path / "m").hidden == out["best"]["hidden"]
    assert pd.read_csv(trials)["status"].tolist() == ["ok", "ok", "interrupted"]


def test_ctrl_c_before_any_model_writes_nothing(tmp_path: Path, csv_file: Path, interrupt_trial) -> None:
    interrupt_trial(1)
    result = run(csv_file, "--grid", "hidden=2,4", "-o", tmp_path / "m", *TINY_FLAGS)
    assert result.exit_code == ExitCode.INTERRUPTED
    assert result.stderr.endswith("Error: interrupted; nothing was written\n")
    assert not (tmp_path / "m").exists()


# -- failed trials ----------------------------------------------------------------------------------


def test_a_diverging_trial_is_marked_failed_and_the_search_goes_on(tmp_path: Path, csv_file: Path) -> None:
    out = run_json(csv_file, "--grid", "lr=1e30,0.001", "--grad-clip", "0", "-o", tmp_path / "m")
    failed, ok = out["trials"]
    assert failed["status"].startswith("failed: training diverged at epoch 1")
    assert failed["val_mse"] is None and ok["status"] == "ok"
    assert out["best"]["trial"] == 2


def test_a_combination_that_does_not_fit_is_a_failed_trial() -> None:
    # conv_kernel 16 fits lookback 24 but not 12: a trial that fails, not a usage error.
    result = tune(sine_frame(), {"lookback": [12, 24], "conv_kernel": [0, 16]}, {**TINY, "epochs": 1})
    statuses = result.trials.set_index(["lookback", "conv_kernel"])["status"].to_dict()
    assert statuses[(12, 16)] == "failed: conv_kernel (16) must not exceed lookback (12)"
    assert [statuses[k] for k in ((12, 0), (24, 0), (24, 16))] == ["ok"] * 3
    failed = result.trials[result.trials["status"].str.startswith("failed")]
    assert failed["val_mse"].isna().all() and failed["best_epoch"].isna().all()


def test_segment_is_tuned_over_whole_numbers_and_auto(tmp_path: Path, csv_file: Path) -> None:
    # --grid parses segment=0,4 as numbers; its type check once wanted text (the default is "auto").
    out = run_json(csv_file, "--grid", "segment=0,4,auto", "-o", tmp_path / "m")
    assert [(t["segment"], t["status"]) for t in out["trials"]] == [(0, "ok"), (4, "ok"), ("auto", "ok")]
    assert parse_grid(["segment=0,4,auto"]) == {"segment": [0, 4, "auto"]}
    with pytest.raises(ConfigError, match=r"^--grid segment=4,auto,AUTO lists one value twice \(auto and AUTO\); give"):
        parse_grid(["segment=4,auto,AUTO"])
    with pytest.raises(ConfigError, match=r"^--grid segment: \[4, 'auto', np.int64\(4\)\] lists 4 twice; give"):
        plan_trials({"segment": [4, "auto", np.int64(4)]}, TINY)  # the Python API's space, checked the same way
    plan = plan_trials({"segment": [np.int64(4), "auto"]}, TINY)
    assert plan.settings == [{"segment": 4}, {"segment": "auto"}]
    with pytest.raises(ConfigError, match=r"^--grid segment=2.5: segment takes auto or a whole number of steps$"):
        plan_trials({"segment": [2.5]}, TINY)


def test_every_trial_failing_is_a_training_error(tmp_path: Path, csv_file: Path) -> None:
    result = run(csv_file, "--grid", "lr=1e30,1e31", "--grad-clip", "0", "-o", tmp_path / "m", *TINY_FLAGS)
    assert result.exit_code == ExitCode.TRAINING
    assert "Error: all 2 trials failed; trial 1 failed: training diverged at epoch 1" in result.stderr
    assert not (tmp_path / "m").exists()
    with pytest.raises(TrainingError, match="all 2 trials failed"):
        tune(sine_frame(), {"lr": [1e30, 1e31]}, {**TINY, "grad_clip": 0.0})


# -- mistakes fail before any training -----------------------------------------------------------


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    def train(*args, **kwargs):
        raise AssertionError("trained despite a usage error")

    monkeypatch.setattr(Forecaster, "fit_series", train)


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (["hiden=3"], "--grid 'hiden' is not a setting (did you mean hidden?); tunable: lookback, scaler, model,"),
        (["horizon=6,12"], "--grid 'horizon' is not tunable; tunable: lookback,"),
        (["seed=1,2"], "--grid 'seed' is not tunable"),
        (["hidden=4,0"], "--grid hidden=0: hidden must be at least 1; got 0"),
        (["hidden=4,x"], "--grid hidden=x: hidden takes an integer"),
        (["lr=fast"], "--grid lr=fast: lr takes a number"),
        (["bidirectional=true,maybe"], "--grid bidirectional=maybe: bidirectional takes true or false"),
        (["hidden=2", "model=lstm,lsmt"], "--grid model=lsmt: model must be one of"),
        (["lr=log:0..1e-2"], "--grid lr=log:0..1e-2: a log range needs LOW > 0"),
        (["scaler=1..2"], "--grid scaler=1..2: scaler is not a number, so it takes a list of values, not a range"),
        (["hidden"], "--grid hidden: expected NAME=V1,V2,... or NAME=LOW..HIGH or NAME=log:LOW..HIGH"),
        (["hidden=2", "hidden=4"], "--grid hidden is given twice"),
        (["hidden=2,2"], "--grid hidden=2,2 lists 2 twice; give each value once"),
        (["lr=1e-3,0.001"], "--grid lr=1e-3,0.001 lists one value twice (1e-3 and 0.001); give each value once"),
        (["bidirectional=true,no,yes"], "--grid bidirectional=true,no,yes lists one value twice (true and yes)"),
        (["lr=1e-4..1e-2"], "ranges (lr) are sampled by a random search: give --random N"),
    ],
)
def test_bad_grids_are_usage_errors_before_any_training(
    tmp_path: Path, csv_file: Path, no_training, grid: list[str], message: str
) -> None:
    result = run(csv_file, *(a for g in grid for a in ("--grid", g)), "-o", tmp_path / "m", *TINY_FLAGS)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith(f"Error: {message}") and result.stderr.count("\n") == 1
    assert result.stdout == "" and not (tmp_path / "m").exists()


def test_every_tunable_name_is_a_forecaster_setting_but_not_data_or_split() -> None:
    assert set(TUNABLE) < set(Forecaster().get_params())
    assert not set(TUNABLE) & {"target", "features", "horizon", "val_frac", "test_frac", "device", "seed"}
    with pytest.raises(ConfigError, match="--grid hidden=2.5: hidden takes int values"):
        plan_trials({"hidden": [2.5]}, TINY)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--budget", "soon"], ExitCode.USAGE, "Error: budget 'soon': expected a positive duration"),
        (["--budget", "0"], ExitCode.USAGE, "Error: budget '0': expected a positive duration"),
        (["--trials", "no/such/dir/t.csv"], ExitCode.OUTPUT, "the folder no/such/dir does not exist"),
        (["--trials", "trials.txt"], ExitCode.OUTPUT, "cannot tell the output format from the name"),
    ],
)
def test_bad_budget_or_trials_path_fail_before_training(
    tmp_path: Path, csv_file: Path, no_training, args: list[str], code: ExitCode, message: str, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(csv_file, "--grid", "hidden=2,4", *args, "-o", tmp_path / "m", *TINY_FLAGS)
    assert result.exit_code == code and message in result.stderr
    assert not (tmp_path / "m").exists()


def test_an_output_that_is_not_a_model_dir_is_refused_before_training(tmp_path: Path, csv_file: Path, no_training):
    (tmp_path / "notes.txt").write_text("mine")
    result = run(csv_file, "--grid", "hidden=2,4", "-o", tmp_path / "notes.txt", *TINY_FLAGS)
    assert result.exit_code == ExitCode.OUTPUT and "refusing to replace it" in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


# -- outputs ------------------------------------------------------------------------------------


def test_trials_are_written_as_csv_or_json_and_shown_on_stderr(tmp_path: Path, csv_file: Path) -> None:
    for name in ("trials.csv", "trials.json"):
        result = run(csv_file, "--grid", "hidden=2,4", "--trials", tmp_path / name, "-o", tmp_path / "m", *TINY_FLAGS)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
    from_csv = pd.read_csv(tmp_path / "trials.csv")
    from_json = pd.DataFrame(json.loads((tmp_path / "trials.json").read_text()))
    columns = ["trial", "hidden", "val_mse", "best_epoch", "epochs_run", "seconds", "status"]
    assert list(from_csv.columns) == columns and list(from_json.columns) == columns
    # Every digit in both (JSON was rounded to 10 decimal places).
    pd.testing.assert_frame_equal(from_csv[SETTINGS_FREE], from_json[SETTINGS_FREE], check_exact=True)
    assert from_csv["hidden"].tolist() == [2, 4] and from_csv["status"].tolist() == ["ok", "ok"]
    best = int(from_csv.loc[from_csv["val_mse"].idxmin(), "trial"])
    assert "Trials (ranked by validation MSE; the test part is not used)" in result.stderr
    assert f"Saved the best model (trial {best}, val_mse" in result.stderr
    assert "Held-out test metrics of the best trial" in result.stderr


def test_trials_to_stdout_and_a_data_warning_shown_once(tmp_path: Path) -> None:
    data = tmp_path / "shuffled.csv"
    sine_frame().sample(frac=1, random_state=0).to_csv(data, index=False)
    result = run(data, "--grid", "hidden=2,4", "--trials", "-", "-o", tmp_path / "m", *TINY_FLAGS)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("Warning:") == 1 and "timestamps were not in order; sorted them" in result.stderr
    assert result.stdout.splitlines()[0] == "trial,hidden,val_mse,best_epoch,epochs_run,seconds,status"
    assert len(result.stdout.splitlines()) == 3


def test_json_output_shape(tmp_path: Path, csv_file: Path) -> None:
    out = run_json(csv_file, "--grid", "hidden=2,4", "-o", tmp_path / "m")
    assert set(out) == {"best", "trials", "test_metrics", "stopped"}
    assert set(out["best"]) == {"trial", "hidden", "val_mse"}
    assert [set(t) for t in out["trials"]] == [set(SETTINGS_FREE) | {"hidden", "seconds"}] * 2
    assert out["test_metrics"]["part"] == "test"


def test_trials_to_stdout_cannot_share_it_with_json(tmp_path: Path, csv_file: Path, no_training) -> None:
    result = run(csv_file, "--grid", "hidden=2,4", "--trials", "-", "--json", "-o", tmp_path / "m", *TINY_FLAGS)
    assert result.exit_code == ExitCode.USAGE and "--json and --trials - both want stdout" in result.stderr


def test_a_season_longer_than_the_training_part_stops_before_any_trial(tmp_path: Path, csv_file: Path) -> None:
    result = run(csv_file, "--grid", "hidden=2,4", "-o", tmp_path / "m", *TINY_FLAGS, "--season", "5000")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.splitlines()[-1].startswith("Error: season 5000 does not fit in the training part")
    assert "trial" not in result.stderr and not (tmp_path / "m").exists()
