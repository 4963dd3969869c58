"""The saved network's forward pass in numpy: what ``predict`` runs, so forecasting never imports torch.

Every function here mirrors a torch module of ``lstmcast.models`` and reads its weights by the same
state-dict names (``core.encoder.weight_ih_l0``, ``members.2.linear.bias``, ...), so a model trained
by torch runs here unchanged; ``tests/test_runtime.py`` holds the two equal to 1e-5 over every variant.
Dropout is the identity at inference and has no weights, so it does not appear.

Arrays are float32 like the weights. Sigmoids are written as ``(1 + tanh(x / 2)) / 2``, which is
exact and cannot overflow in ``exp`` the way ``1 / (1 + exp(-x))`` does for large negative x.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from lstmcast.config import AUTO, ModelConfig

Weights = Mapping[str, np.ndarray]
EPS = 1e-5  # lstmcast.models.window_norm.EPS (that module imports torch)
_GATES = {"lstm": 4, "gru": 3, "peephole": 4}  # blocks of `hidden` rows in weight_ih / weight_hh
STEP_FEATURES = 2  # lstmcast.models.recurrent.STEP_FEATURES (that module imports torch)


def forecast(config: ModelConfig, weights: Weights, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``x [B, L, F]`` (scaled) -> the forecast ``[B, H]`` (scaled) and the attention weights ``[B, L]``
    (None without attention): what the torch model's ``explain`` returns."""
    y, attention, _ = _forward(config, weights, x, with_quantiles=False)
    return y, attention


def forecast_offsets(config: ModelConfig, weights: Weights, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x [B, L, F]`` (scaled) -> the forecast ``[B, H]`` and, for a model with quantiles, the quantile
    head's offsets ``[B, H, Q]`` (the members' mean, in units of each window's spread: see
    ``lstmcast.quantiles``)."""
    if not config.quantiles:
        raise ValueError("this model has no quantile head")
    y, _, offsets = _forward(config, weights, x, with_quantiles=True)
    assert offsets is not None
    return y, offsets


def _forward(
    config: ModelConfig, weights: Weights, x: np.ndarray, with_quantiles: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    _check_resolved(config)
    x = np.asarray(x, dtype=np.float32)
    if config.ensemble <= 1:
        return _member(config, weights, x, with_quantiles)
    outputs = [_member(config, _part(weights, f"members.{k}."), x, with_quantiles) for k in range(config.ensemble)]
    mean_forecast = np.mean(np.stack([y for y, _, _ in outputs]), axis=0)  # [B, H]
    attention = [a for _, a, _ in outputs]
    offsets = [o for _, _, o in outputs]
    return (
        mean_forecast,
        None if attention[0] is None else np.mean(np.stack(attention), axis=0),  # type: ignore[arg-type]
        None if offsets[0] is None else np.mean(np.stack(offsets), axis=0),  # type: ignore[arg-type]
    )


INVARIANT_BATCH = 256  # rows per fixed-shape pass of forecast_rows (faster than one pass over 100,000 rows, too)


def forecast_rows(config: ModelConfig, weights: Weights, x: np.ndarray) -> np.ndarray:
    """``forecast``'s ``[B, H]``, each row the same whatever other rows are forecast with it: the rows
    go through in passes of exactly ``INVARIANT_BATCH`` (the last padded with copies of its first
    row), because a BLAS product's rounding may depend on the number of rows it multiplies. So every
    shard of a table of many series forecasts its series to the bit, as the whole table does."""
    return _rows(lambda chunk: forecast(config, weights, chunk)[:1], x)[0]


def offset_rows(config: ModelConfig, weights: Weights, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``forecast_offsets`` in ``forecast_rows``' fixed passes: each row the same in any shard."""
    y, offsets = _rows(lambda chunk: forecast_offsets(config, weights, chunk), x)
    return y, offsets


def _rows(run: Callable[[np.ndarray], tuple[np.ndarray, ...]], x: np.ndarray) -> tuple[np.ndarray, ...]:
    """``run``'s arrays over the rows of ``x``, in passes of exactly ``INVARIANT_BATCH`` rows."""
    x = np.asarray(x, dtype=np.float32)
    if not len(x):
        return run(x)
    parts = []
    for start in range(0, len(x), INVARIANT_BATCH):
        chunk = x[start : start + INVARIANT_BATCH]
        padding = INVARIANT_BATCH - len(chunk)
        if padding:
            chunk = np.concatenate([chunk, np.repeat(chunk[:1], padding, axis=0)])
        parts.append(tuple(out[: INVARIANT_BATCH - padding] for out in run(chunk)))
    return tuple(np.concatenate(arrays) for arrays in zip(*parts, strict=True))


def parameter_shapes(config: ModelConfig, n_inputs: int, lookback: int, horizon: int) -> dict[str, tuple[int, ...]]:
    """Every weight's name and shape for these settings: what a weights file must hold, checked before
    any forecast (the torch modules' state dicts, without building them)."""
    _check_resolved(config)
    one = _member_shapes(config, n_inputs, lookback, horizon)
    if config.ensemble <= 1:
        return one
    return {f"members.{k}.{name}": shape for k in range(config.ensemble) for name, shape in one.items()}


def _check_resolved(config: ModelConfig) -> None:
    if config.segment == AUTO or config.window_norm == AUTO:
        raise ValueError("segment and window_norm must be resolved (as a fitted model records them), not 'auto'")


def _part(weights: Weights, prefix: str) -> dict[str, np.ndarray]:
    """The weights under ``prefix``, with the prefix taken off their names."""
    return {name[len(prefix) :]: value for name, value in weights.items() if name.startswith(prefix)}


# -- one network: window normalisation and the linear path around the core -----------------------


def _wrapped(config: ModelConfig) -> bool:
    """Whether the core sits inside a NormalisedForecaster (its weights then start with ``core.``)."""
    return config.window_norm != "none" or config.linear


def _member(
    config: ModelConfig, weights: Weights, x: np.ndarray, with_quantiles: bool = False
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """One network's forecast ``[B, H]``, attention ``[B, L]`` or None, and with ``with_quantiles`` its
    quantile head's offsets ``[B, H, Q]`` (the head reads the core's summary state; the offsets are
    in spread units, so window normalisation does not touch them)."""
    if not _wrapped(config):
        return _core(config, weights, x, with_quantiles)
    normalised, loc, scale = _normalise(config.window_norm, weights, x)  # [B, L, F], [B, 1, F], [B, 1, F]
    y, attention, offsets = _core(config, _part(weights, "core."), normalised, with_quantiles)  # [B, H]
    if config.linear:
        y = y + normalised[:, :, 0] @ weights["linear.weight"].T + weights["linear.bias"]  # [B, L] -> [B, H]
    if config.window_norm == "revin":
        y = (y - weights["norm.beta"][0]) / (weights["norm.gamma"][0] + np.float32(EPS))
    return y * scale[:, :, 0] + loc[:, :, 0], attention, offsets  # [B, H] * [B, 1] + [B, 1]


def _normalise(mode: str, weights: Weights, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """As ``WindowNorm.normalise``: the normalised window and the ``loc``, ``scale`` that undo it."""
    if mode in ("none", "last"):
        loc = x[:, -1:, :] if mode == "last" else np.zeros_like(x[:, -1:, :])  # [B, 1, F]
        return x - loc, loc, np.ones_like(loc)
    loc = x.mean(axis=1, keepdims=True)  # [B, 1, F]
    scale = np.sqrt(x.var(axis=1, keepdims=True) + np.float32(EPS))  # population variance, as torch's unbiased=False
    normalised = (x - loc) / scale
    if mode == "revin":
        normalised = normalised * weights["norm.gamma"] + weights["norm.beta"]
    return normalised, loc, scale


# -- the core: front-end, segments, encoder, attention, head --------------------------------------


def _core(
    config: ModelConfig, weights: Weights, x: np.ndarray, with_quantiles: bool = False
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """As ``RecurrentForecaster.explain``: ``x [B, L, F]`` -> ``[B, H]`` and attention ``[B, L]`` or None;
    with ``with_quantiles`` also the quantile head's offsets ``[B, H, Q]``."""
    steps = _step_sizes(x[:, :, 0]) if with_quantiles else None  # [B, 2], from the window as given
    if config.conv_kernel:
        x = _conv_front(weights, x, config.conv_kernel)  # [B, L, F + hidden]
    segment = int(config.segment)
    if segment:
        batch, length, columns = x.shape
        segments = x.reshape(batch, length // segment, segment * columns)  # [B, L/S, S*F]
        x = _relu(segments @ weights["segments.embed.weight"].T + weights["segments.embed.bias"])  # [B, L/S, hidden]
    states = _encode(config, _part(weights, "encoder."), x)  # [B, T, D * hidden]
    summary = _summary(states, config.hidden, config.bidirectional)  # [B, D * hidden]
    attention = None
    if config.attention:
        context, attention = _attend(weights["attention.query.weight"], states, summary)  # [B, D*h], [B, T]
        summary = np.concatenate([summary, context], axis=1)
        if segment:  # each step gets an equal share of its segment's weight
            attention = np.repeat(attention, segment, axis=1) / np.float32(segment)  # [B, L]
    y = summary @ weights["head.weight"].T + weights["head.bias"]  # [B, H]
    offsets = None
    if with_quantiles:
        assert steps is not None
        inputs = np.concatenate([summary, steps], axis=1)  # [B, W + 2]
        flat = inputs @ weights["quantile_head.weight"].T + weights["quantile_head.bias"]  # [B, H * Q]
        offsets = flat.reshape(len(x), y.shape[1], len(config.quantiles))
    return y, attention, offsets


def _step_sizes(target: np.ndarray) -> np.ndarray:
    """As ``models.recurrent.step_sizes``: the mean absolute step over the window and its last quarter."""
    steps = np.abs(np.diff(target, axis=1))  # [B, L - 1]
    if steps.shape[1] == 0:
        return np.zeros((len(target), STEP_FEATURES), dtype=np.float32)
    recent = steps[:, -max(steps.shape[1] // 4, 1) :]
    return np.stack([steps.mean(axis=1), recent.mean(axis=1)], axis=1).astype(np.float32)


def _conv_front(weights: Weights, x: np.ndarray, kernel: int) -> np.ndarray:
    """As ``ConvFrontEnd``: a causal depthwise convolution (each input column its own filters), a
    pointwise one and ReLU; the raw window stays beside the features."""
    depthwise = weights["front.depthwise.weight"][:, 0, :]  # [F*m, K]
    multiplier = depthwise.shape[0] // x.shape[2]
    padded = np.pad(x, ((0, 0), (kernel - 1, 0), (0, 0)))  # [B, K - 1 + L, F], zeros on the left only
    taps = np.lib.stride_tricks.sliding_window_view(padded, kernel, axis=1)  # [B, L, F, K]
    taps = np.repeat(taps, multiplier, axis=2)  # [B, L, F*m, K]: filter j reads column j // m
    filtered = np.einsum("blck,ck->blc", taps, depthwise) + weights["front.depthwise.bias"]  # [B, L, F*m]
    pointwise = weights["front.pointwise.weight"][:, :, 0]  # [hidden, F*m]
    features = _relu(filtered @ pointwise.T + weights["front.pointwise.bias"])  # [B, L, hidden]
    return np.concatenate([x, features.astype(np.float32)], axis=2)


def _summary(states: np.ndarray, hidden: int, bidirectional: bool) -> np.ndarray:
    """The state that has read the whole window (bidirectional: forward's last, backward's first)."""
    if not bidirectional:
        return states[:, -1]
    return np.concatenate([states[:, -1, :hidden], states[:, 0, hidden:]], axis=1)


def _attend(query: np.ndarray, states: np.ndarray, summary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """As ``Attention``: context ``[B, D]`` and weights ``[B, T]`` over the states ``[B, T, D]``."""
    scores = np.einsum("btd,bd->bt", states, summary @ query.T) / np.float32(math.sqrt(states.shape[2]))
    scores = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights = scores / scores.sum(axis=1, keepdims=True)  # softmax over T
    return np.einsum("bt,btd->bd", weights, states), weights


# -- recurrent encoders ---------------------------------------------------------------------------


def _encode(config: ModelConfig, weights: Weights, x: np.ndarray) -> np.ndarray:
    """Stacked (and optionally bidirectional) layers of the cell: ``x [B, T, in]`` -> ``[B, T, D * hidden]``."""
    directions = ("", "_reverse") if config.bidirectional else ("",)
    for layer in range(config.layers):
        outputs = [_direction(config.model, weights, x, f"_l{layer}{suffix}", bool(suffix)) for suffix in directions]
        x = np.concatenate(outputs, axis=2) if len(outputs) > 1 else outputs[0]
    return x


def _direction(cell: str, weights: Weights, x: np.ndarray, suffix: str, reverse: bool) -> np.ndarray:
    """One direction of one layer: ``x [B, T, in]`` -> the hidden states ``[B, T, hidden]``."""
    if reverse:
        x = x[:, ::-1]
    w_hh = weights[f"weight_hh{suffix}"].T  # [hidden, G*hidden]
    b_hh = weights[f"bias_hh{suffix}"]
    x_proj = x @ weights[f"weight_ih{suffix}"].T + weights[f"bias_ih{suffix}"]  # [B, T, G*hidden]: all steps at once
    hidden = w_hh.shape[0]
    h = np.zeros((x.shape[0], hidden), dtype=np.float32)
    c = np.zeros_like(h)
    states = np.empty((x.shape[0], x.shape[1], hidden), dtype=np.float32)
    peepholes = weights.get(f"weight_ch{suffix}")  # [3, hidden] rows i, f, o
    for t in range(x.shape[1]):  # the recurrence: one step depends on the last
        if cell == "gru":
            h = _gru_step(x_proj[:, t], h @ w_hh + b_hh, h)
        else:
            h, c = _lstm_step(x_proj[:, t] + b_hh + h @ w_hh, c, peepholes)
        states[:, t] = h
    return states[:, ::-1] if reverse else states


def _lstm_step(pre: np.ndarray, c: np.ndarray, peepholes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """nn.LSTM's step (gates i, f, g, o), or with ``peepholes`` the peephole LSTM's (i, f look at
    c_{t-1}, o at c_t)."""
    i, f, g, o = np.split(pre, 4, axis=1)  # [B, hidden] each
    if peepholes is not None:
        i, f = i + peepholes[0] * c, f + peepholes[1] * c
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    if peepholes is not None:
        o = o + peepholes[2] * c
    return _sigmoid(o) * np.tanh(c), c


def _gru_step(x_proj: np.ndarray, h_proj: np.ndarray, h: np.ndarray) -> np.ndarray:
    """nn.GRU's step (gates r, z, n): the reset gate scales the hidden projection, bias included."""
    x_r, x_z, x_n = np.split(x_proj, 3, axis=1)
    h_r, h_z, h_n = np.split(h_proj, 3, axis=1)
    reset, update = _sigmoid(x_r + h_r), _sigmoid(x_z + h_z)
    candidate = np.tanh(x_n + reset * h_n)
    return (1 - update) * candidate + update * h


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (np.tanh(x * np.float32(0.5)) + np.float32(1)) * np.float32(0.5)


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, np.float32(0))


# -- shapes ---------------------------------------------------------------------------------------


def _member_shapes(config: ModelConfig, n_inputs: int, lookback: int, horizon: int) -> dict[str, tuple[int, ...]]:
    core = _core_shapes(config, n_inputs, horizon)
    if not _wrapped(config):
        return core
    shapes = {f"core.{name}": shape for name, shape in core.items()}
    if config.window_norm == "revin":
        shapes.update({"norm.gamma": (n_inputs,), "norm.beta": (n_inputs,)})
    if config.linear:
        shapes.update({"linear.weight": (horizon, lookback), "linear.bias": (horizon,)})
    return shapes


def _core_shapes(config: ModelConfig, n_inputs: int, horizon: int) -> dict[str, tuple[int, ...]]:
    hidden, shapes = config.hidden, {}
    step_inputs = n_inputs
    if config.conv_kernel:
        channels = n_inputs * math.ceil(hidden / n_inputs)
        shapes.update(
            {
                "front.depthwise.weight": (channels, 1, config.conv_kernel),
                "front.depthwise.bias": (channels,),
                "front.pointwise.weight": (hidden, channels, 1),
                "front.pointwise.bias": (hidden,),
            }
        )
        step_inputs += hidden
    if config.segment:
        shapes["segments.embed.weight"] = (hidden, int(config.segment) * step_inputs)
        shapes["segments.embed.bias"] = (hidden,)
        step_inputs = hidden
    directions = 2 if config.bidirectional else 1
    rows = _GATES[config.model] * hidden
    for layer in range(config.layers):
        width = step_inputs if layer == 0 else hidden * directions
        for suffix in ("", "_reverse")[:directions]:
            name = f"_l{layer}{suffix}"
            shapes.update(
                {
                    f"encoder.weight_ih{name}": (rows, width),
                    f"encoder.weight_hh{name}": (rows, hidden),
                    f"encoder.bias_ih{name}": (rows,),
                    f"encoder.bias_hh{name}": (rows,),
                }
            )
            if config.model == "peephole":
                shapes[f"encoder.weight_ch{name}"] = (3, hidden)
    width = hidden * directions
    if config.attention:
        shapes["attention.query.weight"] = (width, width)
    head_inputs = width * (2 if config.attention else 1)
    shapes.update({"head.weight": (horizon, head_inputs), "head.bias": (horizon,)})
    if config.quantiles:
        levels = len(config.quantiles)
        shapes["quantile_head.weight"] = (horizon * levels, head_inputs + STEP_FEATURES)
        shapes["quantile_head.bias"] = (horizon * levels,)
    return shapes
