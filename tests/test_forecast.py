import inspect
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY, sine_frame

from lstmcast import (
    ConfigError,
    DataConfig,
    DataError,
    DataWarning,
    Forecaster,
    ModelConfig,
    NotFittedError,
    TrainConfig,
    WindowConfig,
)


def states_equal(a: Forecaster, b: Forecaster) -> bool:
    sa, sb = a.model_.state_dict(), b.model_.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_a_few_seconds_of_training_on_a_noisy_sine_beat_the_naive_forecast_clearly() -> None:
    frame = sine_frame(n=900, noise=0.2)
    forecaster = Forecaster(
        lookback=48, horizon=12, hidden=16, layers=1, epochs=15, patience=5, lr=0.01, device="cpu"
    ).fit(frame)
    metrics = forecaster.metrics_
    assert metrics["part"] == "test" and metrics["n_origins"] > 100
    # Naive repeats the last value over a sine: skill must be far above zero, and the error near the noise.
    assert metrics["baselines"]["naive"]["skill"] > 0.8
    assert metrics["rmse"] < 0.6


def test_same_data_and_seed_give_identical_weights_and_forecasts(frame: pd.DataFrame) -> None:
    first = Forecaster(**TINY).fit(frame)
    second = Forecaster(**TINY).fit(frame)
    other_seed = Forecaster(**{**TINY, "seed": 1}).fit(frame)
    assert states_equal(first, second)
    pd.testing.assert_frame_equal(first.predict(frame), second.predict(frame))
    assert not states_equal(first, other_seed)


def test_the_test_part_never_reaches_the_scaler_or_the_weights(frame: pd.DataFrame) -> None:
    changed = frame.copy()
    test_rows = slice(int(len(frame) * 0.8), None)
    changed.loc[changed.index[test_rows], "y"] *= 100  # wildly different future
    original = Forecaster(**TINY).fit(frame)
    perturbed = Forecaster(**TINY).fit(changed)
    np.testing.assert_array_equal(original.scaler_.center, perturbed.scaler_.center)
    np.testing.assert_array_equal(original.scaler_.scale, perturbed.scaler_.scale)
    assert states_equal(original, perturbed)
    assert original.history_ == perturbed.history_
    assert original.metrics_["mse"] != perturbed.metrics_["mse"]


def test_the_scaler_is_fitted_on_the_training_rows_only(frame: pd.DataFrame) -> None:
    forecaster = Forecaster(**TINY).fit(frame)
    train_rows = frame["y"].to_numpy()[: forecaster.training_["parts"]["train"]["rows"]]
    assert forecaster.scaler_.center[0] == pytest.approx(train_rows.mean(), rel=1e-6)
    assert forecaster.scaler_.scale[0] == pytest.approx(train_rows.std(), rel=1e-5)


def test_save_and_load_give_identical_forecasts_and_metrics(fitted: Forecaster, model_dir, frame) -> None:
    loaded = Forecaster.load(model_dir, device="cpu")
    pd.testing.assert_frame_equal(loaded.predict(frame), fitted.predict(frame))
    # segment and window_norm "auto" are saved as what they chose: the loaded model says what it is
    chosen = {"segment": fitted.segment_, "window_norm": fitted.window_norm_}
    assert loaded.get_params() == {**fitted.get_params(), "device": "cpu", **chosen}
    assert loaded.segment_ == fitted.segment_
    assert loaded.metrics_ == fitted.metrics_
    assert loaded.evaluate(frame.tail(60)) == fitted.evaluate(frame.tail(60))


@pytest.mark.parametrize(
    ("freq", "expected"),
    [
        ("h", ["2024-01-13 12:00:00", "2024-01-13 13:00:00"]),
        ("D", ["2024-10-27", "2024-10-28"]),
        ("ME", ["2049-01-31", "2049-02-28"]),
    ],
)
def test_predict_continues_the_input_frequency(freq: str, expected: list[str]) -> None:
    frame = sine_frame(n=300, freq=freq)
    forecast = Forecaster(**TINY).fit(frame).predict(frame)
    assert list(forecast.columns) == ["time", "step", "y"]
    assert forecast["step"].tolist() == [1, 2, 3, 4]
    assert forecast["time"].iloc[:2].tolist() == [pd.Timestamp(t) for t in expected]
    assert forecast["y"].notna().all()


def test_predict_reads_only_the_last_lookback_rows(fitted: Forecaster, frame: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(fitted.predict(frame), fitted.predict(frame.tail(TINY["lookback"])))
    with pytest.raises(DataError, match=r"11 rows are too few to forecast; the model reads the last 12 rows"):
        fitted.predict(frame.tail(11))


def test_features_are_inputs_and_must_be_present_to_predict() -> None:
    frame = sine_frame(features=True)
    forecaster = Forecaster(target="y", features=["x"], **TINY).fit(frame)
    assert forecaster.model_.core.segments.embed.in_features == 2 * forecaster.segment_  # both columns
    step_by_step = Forecaster(target="y", features=["x"], **{**TINY, "segment": 0}).fit(frame)
    assert step_by_step.model_.core.encoder.input_size == 2
    assert len(forecaster.predict(frame)) == TINY["horizon"]
    with pytest.raises(DataError, match=r"feature column 'x' not found"):
        forecaster.predict(frame.drop(columns="x"))


def test_a_production_fit_without_test_part_has_no_metrics(frame: pd.DataFrame) -> None:
    forecaster = Forecaster(**{**TINY, "test_frac": 0}).fit(frame)
    assert forecaster.metrics_ == {}
    assert "test" not in forecaster.training_["parts"]


def test_evaluate_warns_when_origins_overlap_the_training_period(fitted: Forecaster, frame: pd.DataFrame) -> None:
    with pytest.warns(DataWarning, match=r"origins forecast rows the model was trained or early-stopped on"):
        metrics = fitted.evaluate(frame, stride=4)
    assert 0 < metrics["in_sample_origins"] < metrics["n_origins"]
    held_out = fitted.evaluate(frame.tail(60), threshold=11, event="above")
    assert held_out["in_sample_origins"] == 0
    assert {"precision", "recall", "f1", "tp", "fp", "fn", "tn"} <= held_out.keys()
    assert held_out["tp"] + held_out["fp"] + held_out["fn"] + held_out["tn"] == held_out["n_origins"] * 4


def test_evaluate_needs_lookback_or_season_plus_horizon_rows(fitted: Forecaster, frame: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"27 rows are too few to evaluate; need at least 28 \(lookback or season 24"):
        fitted.evaluate(frame.tail(27))


def test_an_unfitted_forecaster_says_so(frame: pd.DataFrame) -> None:
    with pytest.raises(NotFittedError, match="not fitted yet"):
        Forecaster().predict(frame)


def test_defaults_are_the_config_defaults() -> None:
    defaults = {
        **DataConfig().to_dict(),
        **WindowConfig().to_dict(),
        **ModelConfig().to_dict(),
        **TrainConfig().to_dict(),
        "events": None,
        "levels": [],
    }
    signature = inspect.signature(Forecaster)
    for name, parameter in signature.parameters.items():
        expected = defaults[name]
        assert (list(parameter.default) if isinstance(parameter.default, tuple) else parameter.default) == expected


def test_set_params_checks_names_and_fit_checks_values(frame: pd.DataFrame) -> None:
    forecaster = Forecaster().set_params(lookback=8, horizon=2)
    assert forecaster.get_params()["lookback"] == 8
    with pytest.raises(ValueError, match="unknown parameter 'lookbak'"):
        forecaster.set_params(lookbak=3)
    with pytest.raises(ValueError, match="horizon must be at least 1; got 0"):
        Forecaster(horizon=0).fit(frame)


def test_predict_warns_when_the_data_frequency_differs_from_training(fitted: Forecaster) -> None:
    daily = sine_frame(n=30, freq="D")
    with pytest.warns(DataWarning, match=r"rows are 'D' apart but the model was trained on 'h' data"):
        forecast = fitted.predict(daily)
    assert forecast["time"].iloc[0] == pd.Timestamp("2024-01-31")


def test_evaluate_warns_as_predict_does_when_the_data_frequency_differs(fitted: Forecaster) -> None:
    """Scores of an hourly model on daily rows are scores of a misused model: say so, as predict does."""
    with pytest.warns(DataWarning, match=r"rows are 'D' apart but the model was trained on 'h' data"):
        fitted.evaluate(sine_frame(n=200, freq="D"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted.evaluate(sine_frame(n=200))  # hourly, as trained: nothing about the step
    assert not [w for w in caught if "apart" in str(w.message)]


def test_set_params_on_a_fitted_forecaster_forgets_the_fit(frame: pd.DataFrame) -> None:
    forecaster = Forecaster(**TINY).fit(frame)
    forecaster.set_params(horizon=6)
    with pytest.raises(NotFittedError):
        forecaster.predict(frame)


def test_predict_keeps_the_data_time_column_name_when_the_model_had_none() -> None:
    plain = sine_frame().drop(columns="time")
    forecaster = Forecaster(**TINY).fit(plain)
    stamped = sine_frame().rename(columns={"time": "timestamp"})
    assert list(forecaster.predict(stamped).columns) == ["timestamp", "step", "y"]


def test_a_daily_model_does_not_warn_about_24h_data(tmp_path) -> None:
    from lstmcast.validate import same_step

    assert same_step("D", "24h") and not same_step("D", "h") and not same_step("ME", "30D")


def test_a_frame_indexed_by_time_works_for_fit_predict_and_evaluate() -> None:
    indexed = sine_frame().assign(time=lambda f: pd.to_datetime(f["time"])).set_index("time")
    forecaster = Forecaster(**TINY).fit(indexed)
    assert forecaster.time_col_ == "time"
    assert forecaster.predict(indexed)["time"].iloc[0] == pd.Timestamp("2024-01-13 12:00")
    assert forecaster.evaluate(indexed.tail(60))["n_origins"] > 0


def test_a_season_longer_than_the_training_part_is_refused_before_training() -> None:
    # 300 rows: 210 train, 30 validation, 60 test. A season of 500 leaves no test origin to score
    # the seasonal-naive baseline from, which used to drop the whole test report silently.
    from lstmcast import ConfigError

    epochs: list[object] = []
    forecaster = Forecaster(**{**TINY, "season": 500})
    with pytest.raises(
        ConfigError,
        match=r"^season 500 does not fit in the training part \(210 of 300 rows\); "
        r"pass a --season below 210, or 0 to infer it$",
    ):
        forecaster.fit(sine_frame(n=300), on_epoch=epochs.append)
    assert epochs == []  # refused before the first epoch
    assert Forecaster(**{**TINY, "season": 209}).fit(sine_frame(n=300)).metrics_["part"] == "test"


def test_an_inferred_season_that_does_not_fit_falls_back_to_the_last_value_with_a_warning() -> None:
    # Daily rows infer a weekly season; 6 training rows cannot hold one.
    frame = sine_frame(n=20, freq="D")
    settings = {**TINY, "lookback": 2, "horizon": 1, "val_frac": 0.2, "test_frac": 0.5}
    with pytest.warns(DataWarning, match=r"the season inferred from the frequency \(7 steps\) does not fit in the "):
        forecaster = Forecaster(**settings).fit(frame)
    assert forecaster.season_ == 1
    assert forecaster.metrics_["baselines"]["seasonal_naive"]["season"] == 1


def test_predicting_from_a_flat_stretch_does_not_warn(fitted) -> None:
    flat = sine_frame()
    flat["y"] = 5.0  # a meter reading zero all night, say: nothing to warn about when forecasting
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted.predict(flat)


def test_scikit_learn_can_clone_a_forecaster_and_its_repr_shows_what_differs() -> None:
    from sklearn.base import clone

    original = Forecaster(target="load", features=["temperature"], lookback=168, ensemble=1)
    copy = clone(original)
    assert copy is not original and copy.get_params(deep=True) == original.get_params(deep=False)
    assert repr(copy) == "Forecaster(target='load', features=('temperature',), lookback=168, ensemble=1)"
    assert repr(Forecaster()) == "Forecaster()"


def test_every_setting_is_a_constructor_argument_in_the_settings_order() -> None:
    import dataclasses
    import inspect

    from lstmcast.config import DataConfig, ModelConfig, TrainConfig, WindowConfig

    settings = [f.name for cls in (DataConfig, WindowConfig, ModelConfig, TrainConfig) for f in dataclasses.fields(cls)]
    assert list(inspect.signature(Forecaster).parameters) == [*settings, "events", "levels"]  # scored, kept
    defaults = {name: p.default for name, p in inspect.signature(Forecaster).parameters.items()}
    configs = {
        f.name: f.default
        for cls in (DataConfig, WindowConfig, ModelConfig, TrainConfig)
        for f in dataclasses.fields(cls)
    }
    assert defaults == {
        **configs,
        "events": None,
        "levels": (),
    }  # one default per setting, stated twice: the signature is explicit


def test_not_fitted_is_also_a_value_error_as_in_scikit_learn() -> None:
    with pytest.raises(ValueError, match="not fitted yet"):
        Forecaster().predict(sine_frame())


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"features": "temperature"}, "features must be a list or tuple of column names, such as ['temperature']; got"),
        ({"features": 5}, "features must be a list or tuple of column names, such as ['temperature']; got 5"),
        ({"features": [["a"]]}, "features must be a list or tuple of column names; got (['a'],)"),
        ({"target": ["y"]}, "target must be one column name; got ['y']"),
        ({"time_col": ["time"]}, "time_col must be one column name; got ['time']"),
        ({"levels": 80}, "--level takes percentages like 80,95, as text or a list or tuple; got 80"),
        ({"quantiles": 0.5}, "--quantiles takes levels like 0.1,0.5,0.9, as text or a list or tuple; got 0.5"),
    ],
)
def test_arguments_of_the_wrong_kind_are_config_errors_not_type_errors(params: dict, message: str) -> None:
    # These raised TypeError from inside (unhashable list, 'int' object is not iterable), or for a bare
    # "temperature" "features lists a column twice" (its letters).
    with pytest.raises(ConfigError) as caught:
        Forecaster(**{**TINY, "target": "y", **params}).fit(sine_frame())
    assert str(caught.value).startswith(message)


def test_numpy_integers_are_taken_as_integers() -> None:
    # hidden=np.int32(4) reached torch, which raised "input_size should be of type int, got: int32".
    fitted = Forecaster(**{**TINY, "hidden": np.int32(4), "lookback": np.int64(12)}).fit(sine_frame())
    assert len(fitted.predict(sine_frame())) == TINY["horizon"]


def test_a_device_that_is_not_one_is_a_config_error_after_load_too(model_dir: Path) -> None:
    # Forecaster.load(path, device="tpu").evaluate(...) raised torch's RuntimeError.
    with pytest.raises(ConfigError, match=r"^device must be auto, cpu, cuda or cuda:N; got 'tpu'$"):
        Forecaster.load(model_dir, device="tpu").evaluate(sine_frame())
