"""Window-level normalisation and the linear path: what lets a recurrent net forecast a series
whose level has drifted since training.

A global scaler fitted on the training part no longer centres a series that has drifted, so the
network sees inputs at a level it never learned. Normalising each input window by its own
statistics, and mapping the forecast back with the same statistics, removes the level (and for
``mean``/``revin`` the scale) from what the network must learn:

    none:   x' = x
    last:   x' = x - x_L                          (relative to the window's last value)
    mean:   x' = (x - mu) / sigma                 (mu, sigma over the window, per column)
    revin:  x' = gamma * (x - mu) / sigma + beta  (learnable gamma, beta: Kim et al., ICLR 2022)

and the forecast is y = y' * sigma + mu (for revin, y' is first mapped back through (y' - beta) / gamma).

The linear path adds ``W x'_target + b`` (a linear autoregression on the normalised target window)
to the recurrent forecast, as LSTNet's highway (Lai et al. 2018) and the linear models of Zeng et
al. (2023): the network only has to learn a correction to a linear forecast.
"""

from __future__ import annotations

import torch
from torch import nn

from lstmcast.models.recurrent import RecurrentForecaster

EPS = 1e-5
SPREAD_FLOOR = 0.01  # lstmcast.intervals.SPREAD_FLOOR (not imported: models do not import the numpy side)


class WindowNorm(nn.Module):
    def __init__(self, mode: str, n_inputs: int) -> None:
        super().__init__()
        self.mode = mode
        if mode == "revin":
            self.gamma = nn.Parameter(torch.ones(n_inputs))  # [F]
            self.beta = nn.Parameter(torch.zeros(n_inputs))  # [F]

    def normalise(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x [B, L, F]`` -> normalised ``[B, L, F]`` and the ``loc``, ``scale`` ``[B, 1, F]`` to undo it."""
        if self.mode in ("none", "last"):
            loc = x[:, -1:, :] if self.mode == "last" else torch.zeros_like(x[:, -1:, :])  # [B, 1, F]
            return x - loc, loc, torch.ones_like(loc)
        loc = x.mean(dim=1, keepdim=True)  # [B, 1, F]
        scale = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + EPS)  # [B, 1, F]
        normalised = (x - loc) / scale
        if self.mode == "revin":
            normalised = normalised * self.gamma + self.beta
        return normalised, loc, scale

    def restore_target(self, y: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """Map a normalised target forecast ``[B, H]`` back with column 0's statistics."""
        if self.mode == "revin":
            y = (y - self.beta[0]) / (self.gamma[0] + EPS)
        return y * scale[:, :, 0] + loc[:, :, 0]  # [B, H] * [B, 1] + [B, 1]


class NormalisedForecaster(nn.Module):
    """Window normalisation around a core network, with an optional linear path beside it."""

    def __init__(
        self, core: RecurrentForecaster, mode: str, n_inputs: int, lookback: int, horizon: int, linear: bool
    ) -> None:
        super().__init__()
        self.norm = WindowNorm(mode, n_inputs)
        self.core = core
        self.linear = nn.Linear(lookback, horizon) if linear else None
        if self.linear is not None:
            # Start from "the window's level" (zero in normalised units); training moves it from there.
            nn.init.zeros_(self.linear.weight)
            nn.init.zeros_(self.linear.bias)

    @torch.no_grad()
    def start_from_linear(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        """Start training from a linear forecast: the linear path takes ``weight [H, L]`` and
        ``bias [H]`` (a linear autoregression on the normalised target window) and the recurrent
        head is zeroed, so the untrained model's forecast is exactly that linear one."""
        if self.linear is None:
            raise ValueError("this model has no linear path")
        self.linear.weight.copy_(weight)
        self.linear.bias.copy_(bias)
        nn.init.zeros_(self.core.head.weight)
        nn.init.zeros_(self.core.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.explain(x)[0]

    def spread(self, x: torch.Tensor) -> torch.Tensor:
        """Each window's spread ``[B, 1]``, the unit of quantile offsets and interval bands: the target
        column's standard deviation for ``mean`` and ``revin``, at least ``SPREAD_FLOOR``, and 1
        otherwise (as ``lstmcast.intervals.window_spread``)."""
        if self.norm.mode not in ("mean", "revin"):
            return x.new_ones(len(x), 1)
        return self.norm.normalise(x)[2][:, :, 0].clamp(min=SPREAD_FLOOR)

    @property
    def quantile_head(self) -> nn.Linear | None:
        return self.core.quantile_head

    def quantile_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What the quantile head reads, the core's summary state ``[B, W]``, and the forecast ``[B, H]``."""
        normalised, loc, scale = self.norm.normalise(x)
        summary, y = self.core.quantile_features(normalised)  # [B, W], [B, H]
        if self.linear is not None:
            y = y + self.linear(normalised[:, :, 0])
        return summary, self.norm.restore_target(y, loc, scale)

    def explain(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The forecast ``[B, H]`` and the core's attention weights ``[B, L]`` (None without attention)."""
        normalised, loc, scale = self.norm.normalise(x)  # [B, L, F], [B, 1, F], [B, 1, F]
        y, weights = self.core.explain(normalised)  # [B, H], [B, L] | None
        if self.linear is not None:
            y = y + self.linear(normalised[:, :, 0])  # [B, L] -> [B, H]
        return self.norm.restore_target(y, loc, scale), weights
