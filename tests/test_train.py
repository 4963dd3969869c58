import numpy as np
import pytest
import torch
from conftest import TINY, sine_frame

from lstmcast import ConfigError, Forecaster, TrainConfig, TrainingError
from lstmcast.config import ModelConfig
from lstmcast.models import build_model
from lstmcast.train import TensorWindows, fit, resolve_device


def small_problem(n: int = 200):
    values = torch.from_numpy(np.sin(np.arange(n) / 4.0).astype(np.float32))[:, None]  # [n, 1]
    windows = TensorWindows(values, lookback=12, horizon=4)
    return windows, np.arange(12, 140), np.arange(140, n - 4)


def test_early_stopping_restores_the_best_weights_not_the_last() -> None:
    windows, train, val = small_problem()
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=4, layers=1, window_norm="revin"), n_inputs=1, lookback=12, horizon=4)
    # A learning rate this high makes validation loss bounce, so the best epoch is not the last.
    result = fit(model, windows, train, val, TrainConfig(epochs=30, patience=3, lr=0.3, device="cpu"))
    val_losses = [h["val_loss"] for h in result.history]
    assert result.best_epoch == int(np.argmin(val_losses)) + 1
    assert result.stopped_early and len(result.history) == result.best_epoch + 3
    with torch.no_grad():
        restored = torch.nn.functional.mse_loss(
            model.eval()(windows.inputs(torch.as_tensor(val))), windows.targets(torch.as_tensor(val))
        )
    assert float(restored) == pytest.approx(result.best_val_loss, rel=1e-5)


def test_every_epoch_is_reported_through_the_callback() -> None:
    windows, train, val = small_problem()
    reports = []
    fit(
        build_model(ModelConfig(hidden=4, layers=1, window_norm="last"), 1, 12, 4),
        windows,
        train,
        val,
        TrainConfig(epochs=3, patience=5, device="cpu"),
        on_epoch=reports.append,
    )
    assert [r.epoch for r in reports] == [1, 2, 3]
    assert all(r.epochs == 3 and r.patience_left <= 5 for r in reports)


class RecordingWindows(TensorWindows):
    """Windows that note which origins each training step reads (not validation's)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.model: torch.nn.Module | None = None
        self.epochs: list[list[int]] = [[]]  # the origins of each epoch; a new list after every epoch

    def inputs(self, origins: torch.Tensor) -> torch.Tensor:
        if self.model is not None and self.model.training:
            self.epochs[-1].extend(origins.tolist())
        return super().inputs(origins)


def test_an_epoch_draws_at_most_n_windows_of_each_series_afresh() -> None:
    values = torch.from_numpy(np.sin(np.arange(400) / 4.0).astype(np.float32))[:, None]
    windows = RecordingWindows(values, lookback=12, horizon=4)
    # Three series: 100, 6 and 150 training windows.
    train = np.concatenate([np.arange(12, 112), np.arange(130, 136), np.arange(200, 350)])
    groups = np.repeat([0, 1, 2], [100, 6, 150])
    model = build_model(ModelConfig(hidden=4, layers=1, window_norm="last"), 1, 12, 4)
    windows.model = model
    config = TrainConfig(epochs=3, patience=5, device="cpu", max_windows_per_series=10, batch_size=7)
    fit(model, windows, train, np.arange(380, 396), config, lambda _: windows.epochs.append([]), train_groups=groups)
    drawn = windows.epochs[:-1]
    assert len(drawn) == 3
    for epoch in drawn:
        assert len(epoch) == len(set(epoch)) == 10 + 6 + 10  # no window twice; a short series gives all it has
        per_series = np.bincount(groups[np.searchsorted(train, epoch)], minlength=3)
        assert per_series.tolist() == [10, 6, 10]
    assert set(drawn[0]) != set(drawn[1])  # a fresh draw every epoch


def test_min_delta_makes_small_improvements_not_count() -> None:
    windows, train, val = small_problem()
    result = fit(
        build_model(ModelConfig(hidden=4, layers=1, window_norm="last"), 1, 12, 4),
        windows,
        train,
        val,
        TrainConfig(epochs=20, patience=2, min_delta=10.0, device="cpu"),
    )
    # No epoch beats the starting point by 10, so the starting weights (epoch 0) are kept.
    assert result.best_epoch == 0 and len(result.history) == 2


def test_the_starting_point_is_kept_when_no_epoch_beats_it_on_validation() -> None:
    windows, train, val = small_problem()
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=4, layers=1, window_norm="last"), 1, 12, 4)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    # A learning rate this high only makes things worse: every epoch is beaten by the start.
    result = fit(model, windows, train, val, TrainConfig(epochs=3, patience=3, lr=50.0, device="cpu"))
    assert result.best_epoch == 0 and all(h["val_loss"] > result.best_val_loss for h in result.history)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, start[name])


def test_a_diverging_loss_is_a_training_error() -> None:
    windows, train, val = small_problem()
    windows.values[20, 0] = float("nan")
    with pytest.raises(TrainingError, match=r"training diverged at epoch 1 .* try a lower --lr"):
        fit(
            build_model(ModelConfig(hidden=4, layers=1, window_norm="last"), 1, 12, 4),
            windows,
            train,
            val,
            TrainConfig(epochs=2, device="cpu"),
        )


def test_dropout_also_regularises_a_single_layer_model() -> None:
    model = build_model(ModelConfig(hidden=4, layers=1, dropout=0.5, window_norm="last"), 1, 12, 4)
    x = torch.randn(8, 12, 1)
    model.train()
    assert not torch.equal(model(x), model(x))  # dropout is active before the head
    model.eval()
    assert torch.equal(model(x), model(x))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without CUDA")
def test_asking_for_cuda_without_it_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"device 'cuda' requested but CUDA is not available here; use --device cpu"):
        resolve_device("cuda")
    assert resolve_device("auto") == torch.device("cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_training_and_forecasting_on_cuda_match_the_cpu_closely() -> None:
    frame = sine_frame()
    on_gpu = Forecaster(**{**TINY, "device": "cuda"}).fit(frame)
    assert next(on_gpu.model_.parameters()).device.type == "cuda"
    forecast = on_gpu.predict(frame)
    assert forecast["y"].notna().all() and len(forecast) == TINY["horizon"]


def test_training_flushes_subnormal_floats_to_zero() -> None:
    """Adam's moments of weights with no gradient left decay into subnormal floats, on which x86
    CPUs are many times slower; training turns the CPU's flush-to-zero on."""
    from lstmcast.train import flush_subnormals

    if not flush_subnormals():
        pytest.skip("this CPU cannot flush subnormal floats")
    torch.set_flush_denormal(False)
    assert torch.tensor([1e-39], dtype=torch.float32).item() != 0.0
    Forecaster(target="y", **TINY).fit(sine_frame())
    assert torch.tensor([1e-39], dtype=torch.float32).item() == 0.0
