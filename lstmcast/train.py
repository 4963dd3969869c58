"""The training loop: Adam, gradient clipping, early stopping on validation loss.

It never prints; each finished epoch is reported through ``on_epoch``. Data lives on the device
once; a batch is gathered there from the series by index, never copied from the host per step.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from lstmcast.config import TrainConfig, resolve_threads
from lstmcast.errors import ConfigError, TrainingError
from lstmcast.models import Ensemble, members, quantile_offsets

EVAL_BATCH = 2048
HEAP_TOP_PAD = 256 << 20  # bytes glibc keeps at the top of the heap instead of trimming after every step
_M_TOP_PAD = -2  # glibc's mallopt parameter number


def use_threads(threads: int | None = None) -> int:
    """Set the CPU threads torch computes with: ``threads``, else ``$LSTMCAST_THREADS``, else 1.

    One thread is the default because the models lstmcast trains are small: a second thread saves
    little on an idle machine and costs several times over when another process wants the cores
    (OpenMP threads wait on each other). Also keeps glibc from trimming the heap after every step.
    Returns the number set.
    """
    threads = resolve_threads(threads)
    torch.set_num_threads(threads)
    _pad_heap_top()
    return threads


def _pad_heap_top() -> None:
    """glibc returns freed memory at the top of the heap to the kernel at once, so every training
    step touches tens of megabytes afresh (a third of an epoch in page faults); padding the top
    keeps it. A no-op with another allocator, or when MALLOC_TOP_PAD_ is set by the user."""
    import ctypes
    import os
    import platform

    if platform.libc_ver()[0] != "glibc" or "MALLOC_TOP_PAD_" in os.environ:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(_M_TOP_PAD, HEAP_TOP_PAD)


def flush_subnormals() -> bool:
    """Have the CPU treat subnormal floats (below 1.2e-38 in float32) as zero. Adam's moment
    estimates of a weight whose gradient has gone to zero (a dead ReLU unit of the segment
    embedding, a weight held at zero by --weight-decay) decay geometrically into that range, and x86
    CPUs compute on subnormals many times slower: with --weight-decay 0.001 epochs grew from 1 s to
    10 s within 20 epochs (docs/benchmarks.md). Numerically nothing of the model lives there. The
    setting is process-wide and stays on (torch offers no way to read the previous one). Returns
    whether the CPU supports it."""
    return bool(torch.set_flush_denormal(True))


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available; asking for CUDA without it is a clear error."""
    if not isinstance(name, str) or re.fullmatch(r"auto|cpu|cuda(:\d+)?", name) is None:
        raise ConfigError(f"device must be auto, cpu, cuda or cuda:N; got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r} requested but CUDA is not available here; use --device cpu")
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r} requested but only {torch.cuda.device_count()} GPU(s) exist")
    return torch.device(name)


class TensorWindows:
    """Input/target windows gathered by origin from one ``[rows, columns]`` tensor (target in column 0)."""

    def __init__(self, values: torch.Tensor, lookback: int, horizon: int) -> None:
        self.values = values  # [n, F]
        self.input_offsets = torch.arange(-lookback, 0, device=values.device)  # [L]
        self.target_offsets = torch.arange(horizon, device=values.device)  # [H]

    def inputs(self, origins: torch.Tensor) -> torch.Tensor:
        return self.values[origins[:, None] + self.input_offsets]  # [B, L, F]

    def targets(self, origins: torch.Tensor) -> torch.Tensor:
        return self.values[origins[:, None] + self.target_offsets, 0]  # [B, H]


# What training minimises (--loss), on scaled values. Early stopping always watches the validation MSE,
# the error the reports lead with. MAE is the default: on the development series of docs/benchmarks.md
# it let the network improve on its linear start more often than MSE did (a few large errors no longer
# steer every step). Huber is quadratic within one scaled unit (a standard deviation of the training
# target under the standard scaler) and linear beyond it.
LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mse": nn.functional.mse_loss,
    "mae": nn.functional.l1_loss,
    "huber": nn.functional.huber_loss,
}


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    best_val_loss: float
    best_epoch: int
    patience_left: int
    seconds: float


@dataclass
class FitResult:
    best_state: dict[str, torch.Tensor]
    best_epoch: int
    best_val_loss: float
    stopped_early: bool
    stopped_by: str | None = None
    start_val_loss: float = math.nan  # the validation loss before the first epoch (epoch 0)
    history: list[dict[str, float]] = field(default_factory=list)


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode without gradients for the block; the model's previous mode is restored after it."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def predict_windows(model: nn.Module, windows: TensorWindows, origins: torch.Tensor) -> torch.Tensor:
    """Forecasts ``[n_origins, horizon]`` (scaled) in large batches, in eval mode."""
    with evaluating(model):
        parts = [model(windows.inputs(chunk)) for chunk in origins.split(EVAL_BATCH)]
    if not parts:
        return torch.empty(0, windows.target_offsets.numel(), device=windows.values.device)
    return torch.cat(parts)


def _validation_loss(model: nn.Module, windows: TensorWindows, origins: torch.Tensor) -> float:
    forecast = predict_windows(model, windows, origins)
    return float(nn.functional.mse_loss(forecast, windows.targets(origins)))


def _penalised(model: nn.Module) -> list[nn.Parameter]:
    """The weight matrices (``dim >= 2``): what L1 and L2 act on. Biases, RevIN's affine and other
    vectors stay free, as in nanoGPT, since shrinking them only moves the output's level."""
    return [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam; ``weight_decay`` adds ``weight_decay * w`` to each weight matrix's gradient (classic L2)."""
    penalised = {id(p) for p in _penalised(model)}
    groups = [
        {"params": [p for p in model.parameters() if id(p) in penalised], "weight_decay": config.weight_decay},
        {"params": [p for p in model.parameters() if id(p) not in penalised], "weight_decay": 0.0},
    ]
    return torch.optim.Adam([g for g in groups if g["params"]], lr=config.lr)


def _train_epoch(
    model: nn.Module,
    windows: TensorWindows,
    origins: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    generator: torch.Generator,
    groups: torch.Tensor | None = None,
) -> float:
    """One pass over the training origins (with ``config.max_windows_per_series``, over a fresh draw of
    at most that many from each series, ``groups`` numbering each origin's series); returns the mean
    training loss (``config.loss``, without the L1 penalty)."""
    model.train()
    criterion = LOSSES[config.loss]
    if config.max_windows_per_series and groups is not None:
        origins = origins[_draw_per_group(groups, config.max_windows_per_series, generator).to(origins.device)]
    order = origins[torch.randperm(len(origins), generator=generator).to(origins.device)]
    penalised = _penalised(model) if config.l1 > 0 else []
    total = torch.zeros((), device=origins.device)
    for batch in order.split(config.batch_size):
        optimizer.zero_grad(set_to_none=True)
        forecasts = _trained_forecasts(model, windows.inputs(batch))  # [B, H], or [K, B, H] for an ensemble
        error = criterion(forecasts, windows.targets(batch).expand_as(forecasts))
        loss = error + config.l1 * sum(p.abs().sum() for p in penalised) if penalised else error
        loss.backward()
        if config.grad_clip > 0:
            # An ensemble's members are clipped together: one norm over all their gradients (each is
            # 1/K of its own loss's, as the loss is the members' mean). The 0.5 defaults were measured so.
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        total += error.detach() * len(batch)  # summed on the device: no host sync per batch
    return float(total) / len(origins)


def _draw_per_group(groups: torch.Tensor, most: int, generator: torch.Generator) -> torch.Tensor:
    """Positions of at most ``most`` origins of each group, drawn at random without replacement:
    every origin gets a random key, each group is ordered by it, and the first ``most`` are kept."""
    keys = groups.cpu().to(torch.float64) + torch.rand(len(groups), generator=generator, dtype=torch.float64)
    order = torch.argsort(keys)  # grouped (groups are whole numbers, keys in [g, g + 1)), random within
    sorted_groups = groups.cpu()[order]
    first = torch.searchsorted(sorted_groups, sorted_groups)  # each one's group's first place in the order
    rank = torch.arange(len(order)) - first
    return torch.sort(order[rank < most]).values


def _trained_forecasts(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """What the loss scores: an ensemble's members one by one (each learns on its own, and the mean of
    their losses is the loss), any other model's forecast."""
    return model.member_forecasts(inputs) if isinstance(model, Ensemble) else model(inputs)


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def fit(
    model: nn.Module,
    windows: TensorWindows,
    train_origins: np.ndarray,
    val_origins: np.ndarray,
    config: TrainConfig,
    on_epoch: Callable[[EpochReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    train_groups: np.ndarray | None = None,
) -> FitResult:
    """Train until validation loss stops improving; returns the best weights (on the CPU) and history.
    ``train_groups`` numbers each training origin's series (in ascending order) for
    ``config.max_windows_per_series``; without it the origins are one series.

    ``should_stop`` is asked after every epoch; when it says yes, training ends there and keeps the
    best weights so far (``stopped_by`` is then "caller": how ``tune --budget`` ends a trial in time).
    """
    device = windows.values.device
    flush_subnormals()
    train_idx = torch.as_tensor(train_origins, device=device)
    val_idx = torch.as_tensor(val_origins, device=device)
    groups = torch.as_tensor(train_groups if train_groups is not None else np.zeros(len(train_origins), np.int64))
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = make_optimizer(model, config)
    best = FitResult({}, 0, math.inf, stopped_early=False)
    # Epoch 0 is the starting point: when no epoch beats it on validation, it is what is kept. With
    # the linear path started from the ridge fit, training then cannot end worse than that fit.
    initial = best.start_val_loss = _validation_loss(model, windows, val_idx)
    if math.isfinite(initial):
        best.best_state = _snapshot(model)
        best.best_val_loss = initial
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        train_loss = _train_epoch(model, windows, train_idx, optimizer, config, generator, groups)
        val_loss = _validation_loss(model, windows, val_idx)
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            raise TrainingError(f"training diverged at epoch {epoch} (loss is not finite); try a lower --lr")
        if val_loss < best.best_val_loss - config.min_delta:
            best.best_state = _snapshot(model)
            best.best_epoch, best.best_val_loss = epoch, val_loss
        best.history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss})
        patience_left = config.patience - (epoch - best.best_epoch)
        if on_epoch is not None:
            on_epoch(
                EpochReport(
                    epoch,
                    config.epochs,
                    train_loss,
                    val_loss,
                    best.best_val_loss,
                    best.best_epoch,
                    patience_left,
                    time.perf_counter() - started,
                )
            )
        if patience_left <= 0:
            best.stopped_early = epoch < config.epochs
            break
        if should_stop is not None and epoch < config.epochs and should_stop():
            best.stopped_by = "caller"
            break
    model.load_state_dict(best.best_state)
    return best


# -- the quantile head (lstmcast.quantiles) -------------------------------------------------------

MAX_QUANTILE_WINDOWS = 100_000  # training windows the quantile head learns from, drawn at random beyond this
# The head is a linear model on fixed features (a convex problem), so it takes larger steps than the
# network: on a synthetic heteroscedastic AR(1) series 10x --lr reached in 5 epochs what --lr did in 30.
HEAD_LR_FACTOR = 10


@dataclass(frozen=True)
class HeadData:
    """What the quantile heads learn from, computed once with the network frozen: each member's summary
    state ``[K, N, W]`` and forecast ``[K, N, H]``, each window's spread ``[N, 1]``, the targets ``[N, H]``."""

    summaries: torch.Tensor
    points: torch.Tensor
    spread: torch.Tensor
    target: torch.Tensor


@dataclass(frozen=True)
class HeadFit:
    best_epoch: int
    best_val_loss: float  # the validation part's mean pinball loss (scaled units) of the kept head
    start_val_loss: float  # ... of the head's start (the training errors' quantiles)
    epochs_run: int


def pinball_loss(actual: torch.Tensor, quantiles: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """The mean pinball loss of ``quantiles [..., H, Q]`` against ``actual [..., H]``."""
    error = actual.unsqueeze(-1) - quantiles
    return torch.maximum(levels * error, (levels - 1) * error).mean()


def _head_data(model: nn.Module, windows: TensorWindows, origins: torch.Tensor) -> HeadData:
    parts: list[tuple[torch.Tensor, ...]] = []
    with evaluating(model):
        for chunk in origins.split(EVAL_BATCH):
            x = windows.inputs(chunk)
            features = [member.quantile_features(x) for member in members(model)]
            summaries = torch.stack([summary for summary, _ in features])  # [K, B, W]
            points = torch.stack([point for _, point in features])  # [K, B, H]
            parts.append((summaries, points, model.spread(x), windows.targets(chunk)))
    if not parts:
        raise ValueError("no windows to fit the quantile head on")
    summaries, points, spread, target = zip(*parts, strict=True)
    return HeadData(torch.cat(summaries, dim=1), torch.cat(points, dim=1), torch.cat(spread), torch.cat(target))


def _head_quantiles(heads: list[nn.Linear], data: HeadData, rows: torch.Tensor | slice) -> torch.Tensor:
    """Every member's quantiles ``[K, B, H, Q]`` (scaled, unsorted) at ``rows`` of ``data``."""
    points = data.points[:, rows]  # [K, B, H]
    offsets = torch.stack([head(data.summaries[k, rows]) for k, head in enumerate(heads)])  # [K, B, H * Q]
    offsets = offsets.reshape(*points.shape, -1)  # [K, B, H, Q]
    return points.unsqueeze(-1) + offsets * data.spread[rows].unsqueeze(-1)


def fit_quantile_heads(
    model: nn.Module,
    windows: TensorWindows,
    train_origins: np.ndarray,
    val_origins: np.ndarray,
    levels: tuple[float, ...],
    config: TrainConfig,
) -> HeadFit:
    """Train the quantile heads of ``model`` (lstmcast.quantiles) on the pinball loss, every other
    weight frozen: from the training errors' empirical quantiles per step, with Adam (``config``'s
    batch size and gradient clipping) and early stopping on the validation part's
    pinball loss of the members' mean (``config``'s epochs and patience). At most
    ``MAX_QUANTILE_WINDOWS`` training and as many validation windows, drawn at random (seeded); the
    best heads are kept. The
    learning rate is ``HEAD_LR_FACTOR`` times ``config.lr``."""
    generator = torch.Generator().manual_seed(config.seed)
    heads = [member.quantile_head for member in members(model)]
    assert all(head is not None for head in heads), "a model built without quantiles"
    train = _head_data(model, windows, _at_most(train_origins, MAX_QUANTILE_WINDOWS, generator, windows))
    val = _head_data(model, windows, _at_most(val_origins, MAX_QUANTILE_WINDOWS, generator, windows))
    device = windows.values.device
    taus = torch.tensor(levels, dtype=torch.float32, device=device)
    _start_heads(heads, train, levels)
    parameters = [p for head in heads for p in head.parameters()]

    def val_loss() -> float:
        with torch.no_grad():
            return float(pinball_loss(val.target, _head_quantiles(heads, val, slice(None)).mean(dim=0), taus))

    best_loss = start_loss = val_loss()
    best_state = [{k: v.detach().clone() for k, v in head.state_dict().items()} for head in heads]
    best_epoch, epoch = 0, 0
    optimizer = torch.optim.Adam(parameters, lr=config.lr * HEAD_LR_FACTOR)
    for epoch in range(1, config.epochs + 1):
        order = torch.randperm(len(train.target), generator=generator).to(device)
        for batch in order.split(config.batch_size):
            optimizer.zero_grad(set_to_none=True)
            loss = pinball_loss(train.target[batch], _head_quantiles(heads, train, batch), taus)  # each member's own
            loss.backward()
            if config.grad_clip > 0:
                nn.utils.clip_grad_norm_(parameters, config.grad_clip)
            optimizer.step()
        loss_now = val_loss()
        if not math.isfinite(loss_now):
            raise TrainingError(f"the quantile head diverged at epoch {epoch}; try a lower --lr")
        if loss_now < best_loss - config.min_delta:
            best_loss, best_epoch = loss_now, epoch
            best_state = [{k: v.detach().clone() for k, v in head.state_dict().items()} for head in heads]
        if epoch - best_epoch >= config.patience:
            break
    for head, state in zip(heads, best_state, strict=True):
        head.load_state_dict(state)
    return HeadFit(best_epoch, best_loss, start_loss, epoch)


def _at_most(origins: np.ndarray, most: int, generator: torch.Generator, windows: TensorWindows) -> torch.Tensor:
    """``origins`` on the windows' device, or ``most`` of them drawn at random (in time order) when there
    are more: the heads' features are held in memory, and a linear head needs no million windows."""
    index = torch.as_tensor(origins, device=windows.values.device)
    if len(index) <= most:
        return index
    keep = torch.randperm(len(index), generator=generator)[:most].sort().values
    return index[keep.to(index.device)]


def _start_heads(heads: list[nn.Linear], data: HeadData, levels: tuple[float, ...]) -> None:
    """Every head starts at the training errors' empirical quantiles per step (in spread units) and
    weights of zero: a constant band, from which training learns how it varies with the window."""
    errors = ((data.target - data.points.mean(dim=0)) / data.spread).cpu().numpy()  # [N, H]
    start = torch.as_tensor(np.quantile(errors, levels, axis=0).T.reshape(-1), dtype=torch.float32)  # [H * Q]
    with torch.no_grad():
        for head in heads:
            head.weight.zero_()
            head.bias.copy_(start.to(head.bias.device))


def predict_quantile_offsets(
    model: nn.Module, windows: TensorWindows, origins: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The forecasts ``[N, H]`` and quantile offsets ``[N, H, Q]`` (scaled, spread units) from ``origins``."""
    with evaluating(model):
        parts = [quantile_offsets(model, windows.inputs(chunk))[:2] for chunk in origins.split(EVAL_BATCH)]
    if not parts:
        raise ValueError("no origins to forecast quantiles from")
    points, offsets = zip(*parts, strict=True)
    return torch.cat(points), torch.cat(offsets)
