"""The training recipe of 0.5: segments chosen automatically, the loss, and seed ensembles."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from conftest import TINY, TINY_FLAGS, sine_frame

from lstmcast import Forecaster
from lstmcast.cli import cli
from lstmcast.config import ModelConfig, TrainConfig, auto_segment, parse_segment
from lstmcast.errors import ConfigError
from lstmcast.models import Ensemble, build_model
from lstmcast.train import LOSSES


@pytest.mark.parametrize(
    ("lookback", "season", "segment"),
    [
        (168, 24, 24),  # a week of hours: days
        (336, 48, 48),  # a week of half-hours: days
        (56, 7, 7),  # eight weeks of days: weeks
        (104, 52, 13),  # two years of weeks: 2 seasons are too few segments, so about 8 of 13 weeks
        (36, 12, 12),  # three years of months: years
        (96, 0, 12),  # no season: the divisor closest to 8 segments
        (60, 7, 10),  # a season that does not divide the lookback is not used: about 8 segments (6 of 10)
        (97, 24, 97),  # a prime lookback has no segments between 1 step and all of it: one segment
        (10_000_000, 0, 1_250_000),  # found without counting to ten million
    ],
)
def test_auto_segment_is_the_season_when_it_cuts_the_lookback_into_3_to_24_parts(lookback, season, segment) -> None:
    assert auto_segment(lookback, season) == segment
    assert lookback % segment == 0


def test_auto_segment_breaks_a_tie_towards_the_longer_segment() -> None:
    assert abs(60 / 6 - 8) == abs(60 / 10 - 8)  # 10 segments of 6 or 6 of 10
    assert auto_segment(60, 0) == 10


def test_a_forecaster_resolves_auto_with_the_season_of_its_data_and_saves_the_number(tmp_path) -> None:
    frame = sine_frame(400)  # hourly: season 24
    fitted = Forecaster(target="y", time_col="time", **{**TINY, "lookback": 72}).fit(frame)
    assert fitted.segment == "auto" and fitted.segment_ == 24
    assert fitted.model_.core.segments.segment == 24
    fitted.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["config"]["model"]["segment"] == 24
    assert manifest["config"]["train"]["loss"] == "mae"


@pytest.mark.parametrize("text", ["auto", "AUTO", " 12 ", "0"])
def test_segment_is_auto_or_a_whole_number(text) -> None:
    assert parse_segment(text) == ("auto" if text.lower() == "auto" else int(text))


def test_a_segment_that_is_neither_is_one_clear_line(tmp_path) -> None:
    frame = tmp_path / "s.csv"
    sine_frame().to_csv(frame, index=False)
    result = CliRunner().invoke(cli, ["train", str(frame), "-o", str(tmp_path / "m"), "--segment", "day"])
    assert result.exit_code == 2
    assert "segment must be auto or a whole number of steps; got 'day'" in result.output
    assert not (tmp_path / "m").exists()
    with pytest.raises(ConfigError, match="segment must be a whole number"):
        ModelConfig(segment=2.5)


def test_the_loss_is_one_of_three() -> None:
    assert set(LOSSES) == {"mse", "mae", "huber"}
    with pytest.raises(ConfigError, match="loss must be one of mse, mae, huber; got 'l3'"):
        TrainConfig(loss="l3")


def test_the_history_records_the_training_loss_and_the_validation_mse() -> None:
    frame = sine_frame(noise=2.0)
    fits = {loss: Forecaster(target="y", **{**TINY, "epochs": 1}, loss=loss).fit(frame) for loss in LOSSES}
    train = {loss: fitted.history_[0]["train_loss"] for loss, fitted in fits.items()}
    assert len(set(train.values())) == 3
    assert train["mae"] ** 2 < train["mse"]  # the mean absolute error, squared, is below the mean squared one
    assert train["huber"] < train["mse"]  # half the square within one scaled unit, linear beyond
    for fitted in fits.values():  # early stopping compares validation MSE whatever the training loss
        start = fitted.training_["start_val_mse"] / fitted.scaler_.scale[0] ** 2
        assert min(start, fitted.history_[0]["val_loss"]) == pytest.approx(
            fitted.val_mse_ / fitted.scaler_.scale[0] ** 2
        )


def test_an_ensemble_forecasts_the_mean_of_its_members() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=4, layers=1, ensemble=3, segment=4, window_norm="last"), 1, 12, 4).eval()
    assert isinstance(model, Ensemble) and len(model.members) == 3
    x = torch.randn(5, 12, 1)
    members = torch.stack([member(x) for member in model.members])
    torch.testing.assert_close(model(x), members.mean(dim=0))
    assert model.member_forecasts(x).shape == (3, 5, 4)
    # members start from different random weights (the linear path, zeroed or ridge-started, is shared)
    first, second = (m.core.encoder.weight_ih_l0 for m in model.members[:2])
    assert not torch.equal(first, second)


def test_a_single_network_is_not_wrapped() -> None:
    assert isinstance(build_model(ModelConfig(hidden=4, window_norm="last"), 1, 12, 4), Ensemble)  # the default is 3
    model = build_model(ModelConfig(hidden=4, ensemble=1, window_norm="last"), 1, 12, 4)
    assert not isinstance(model, Ensemble)
    assert not any(name.startswith("members.") for name in model.state_dict())


def test_an_ensemble_trains_every_member_saves_and_loads_identically(tmp_path) -> None:
    frame = sine_frame(noise=0.3)
    fitted = Forecaster(
        target="y", time_col="time", **{**TINY, "ensemble": 3, "epochs": 10, "patience": 10, "window_norm": "last"}
    ).fit(frame)
    assert fitted.best_epoch_ > 0
    heads = [member.core.head.weight for member in fitted.model_.members]
    assert all(head.abs().sum() > 0 for head in heads)  # every head started at zero and was trained
    assert not torch.equal(heads[0], heads[1]) and not torch.equal(heads[1], heads[2])
    fitted.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")
    assert loaded.ensemble == 3
    assert (loaded.predict(frame)["y"] == fitted.predict(frame)["y"]).all()


def test_ensemble_from_the_cli_shows_in_info(tmp_path) -> None:
    frame = tmp_path / "s.csv"
    sine_frame().to_csv(frame, index=False)
    runner = CliRunner()
    trained = runner.invoke(cli, ["train", str(frame), "-o", str(tmp_path / "m"), "-q", *TINY_FLAGS, "--ensemble=2"])
    assert trained.exit_code == 0, trained.output
    info = runner.invoke(cli, ["info", str(tmp_path / "m")])
    assert "mean of 2 networks" in info.output
    assert "MAE loss, lr 0.001" in info.output
    refused = runner.invoke(cli, ["train", str(frame), "-o", str(tmp_path / "n"), *TINY_FLAGS, "--ensemble=0"])
    assert refused.exit_code == 2
    assert "ensemble must be at least 1; got 0" in refused.output


def test_tune_searches_over_segments_losses_and_ensembles() -> None:
    from lstmcast.tune import parse_grid

    space = parse_grid(["segment=auto,24,0", "loss=mae,mse", "ensemble=1,3"])
    assert space == {"segment": ["auto", 24, 0], "loss": ["mae", "mse"], "ensemble": [1, 3]}
    with pytest.raises(ConfigError, match="segment must be auto or a whole number of steps; got 'day'"):
        parse_grid(["segment=day"])


def test_window_norm_auto_takes_the_coordinates_whose_ridge_start_validates_best(tmp_path) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    # Noise around a fixed level: the best linear forecast is the level itself, which a ridge on the
    # raw window can give and one on the window relative to its last value cannot (its weights sum to 1).
    level = pd.DataFrame({"y": 5 + rng.normal(size=600)})
    chosen = Forecaster(target="y", **{**TINY, "lookback": 4, "window_norm": "auto"}).fit(level)
    assert chosen.window_norm == "auto" and chosen.window_norm_ == "none"
    # A random walk: relative to the last value wins
    walk = pd.DataFrame({"y": np.cumsum(rng.normal(size=600))})
    assert Forecaster(target="y", **{**TINY, "window_norm": "auto"}).fit(walk).window_norm_ == "last"
    chosen.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "manifest.json").read_text())["config"]["model"]["window_norm"] == "none"
    loaded = Forecaster.load(tmp_path / "m")
    assert loaded.window_norm_ == "none"
    assert (loaded.predict(level)["y"] == chosen.predict(level)["y"]).all()


@pytest.mark.parametrize(("raw_mse", "chosen"), [(0.98, "last"), (0.96, "none")])
def test_window_norm_auto_leaves_last_only_for_a_ridge_at_least_3_percent_better(monkeypatch, raw_mse, chosen) -> None:
    """A hair's advantage on validation is noise: the raw window must beat the shift-equivariant
    coordinates by the margin before the model gives up following the series' level."""
    import numpy as np

    from lstmcast import fitting

    class Fixed:
        def __init__(self, mse: float) -> None:
            self.value = mse

        def mse(self, values, origins) -> float:
            return self.value

    monkeypatch.setattr(
        fitting, "fit_ridge", lambda *args, **kwargs: Fixed(1.0)
    )  # the start relative to the last value
    model, start = fitting.choose_start(
        ModelConfig(window_norm="auto"), Fixed(raw_mse), np.zeros(50), np.arange(10), np.arange(10, 20), 4, 2
    )
    assert model.window_norm == chosen
    assert start.value == (1.0 if chosen == "last" else raw_mse)


def test_window_norm_auto_needs_training_data_to_be_chosen() -> None:
    with pytest.raises(ConfigError, match="window_norm auto is chosen on the validation part"):
        build_model(ModelConfig(window_norm="auto"), 1, 12, 4)
