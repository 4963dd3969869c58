"""Recurrent encoder (torch's fused LSTM or GRU, or our peephole LSTM) with a direct multi-step head.

The encoder reads the lookback window, step by step or (with ``segment``) one embedded segment of
steps at a time; a linear head maps its summary state (and, with attention,
a weighted sum of all its states) to all horizon steps at once, so there is no error feedback
between steps.
"""

from __future__ import annotations

import torch
from torch import nn

from lstmcast.config import ModelConfig
from lstmcast.models.heads import Attention, ConvFrontEnd, SegmentEmbedding
from lstmcast.models.peephole import PeepholeLSTM

STEP_FEATURES = 2  # what the quantile head reads beside the summary state: see step_sizes


def step_sizes(target: torch.Tensor) -> torch.Tensor:
    """``target [B, L]`` -> ``[B, 2]``: the mean absolute step over the window and over its last
    quarter. The summary state is trained to forecast the level, not how far off that forecast may be;
    the window's recent step size is what a band's width follows (for Gaussian noise of scale sigma,
    the mean absolute step is proportional to sigma), so the quantile head reads it directly."""
    steps = (target[:, 1:] - target[:, :-1]).abs()  # [B, L - 1]
    if steps.shape[1] == 0:
        return target.new_zeros(len(target), STEP_FEATURES)
    recent = steps[:, -max(steps.shape[1] // 4, 1) :]
    return torch.stack([steps.mean(dim=1), recent.mean(dim=1)], dim=1)


_CELLS: dict[str, type[nn.Module]] = {"lstm": nn.LSTM, "gru": nn.GRU, "peephole": PeepholeLSTM}


class RecurrentForecaster(nn.Module):
    def __init__(self, n_inputs: int, horizon: int, config: ModelConfig) -> None:
        super().__init__()
        hidden, layers = config.hidden, config.layers
        self.front = ConvFrontEnd(n_inputs, hidden, config.conv_kernel) if config.conv_kernel else None
        self.input_dropout = nn.Dropout(config.input_dropout)
        step_inputs = n_inputs + (hidden if self.front is not None else 0)
        self.segments = SegmentEmbedding(step_inputs, config.segment, hidden) if config.segment else None
        self.encoder = _CELLS[config.model](
            hidden if self.segments is not None else step_inputs,
            hidden,
            num_layers=layers,
            dropout=config.dropout if layers > 1 else 0.0,
            bidirectional=config.bidirectional,
            batch_first=True,
        )
        self.hidden = hidden
        self.bidirectional = config.bidirectional
        width = hidden * (2 if config.bidirectional else 1)
        self.attention = Attention(width) if config.attention else None
        # torch's dropout acts between stacked layers only, so it is also applied before the head:
        # --dropout then regularises a one-layer model too.
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(width * (2 if self.attention is not None else 1), horizon)
        self.quantile_levels = len(config.quantiles)
        self.quantile_head = None
        if config.quantiles:
            # Built on a forked random stream and started at zero (training sets its bias), so every
            # other weight, of this network and of an ensemble's next members, starts as without it.
            with torch.random.fork_rng(devices=[]):
                self.quantile_head = nn.Linear(self.head.in_features + STEP_FEATURES, horizon * self.quantile_levels)
            nn.init.zeros_(self.quantile_head.weight)
            nn.init.zeros_(self.quantile_head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.explain(x)[0]

    def explain(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x [B, L, F]`` -> forecast ``[B, H]`` and the attention weights ``[B, L]`` (None without attention)."""
        summary, weights = self.features(x)
        return self.head(self.dropout(summary)), weights  # [B, H]

    def spread(self, x: torch.Tensor) -> torch.Tensor:
        """Each window's spread ``[B, 1]`` (the unit of quantile offsets): 1, without window normalisation."""
        return x.new_ones(len(x), 1)

    def quantile_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What the quantile head reads, the summary state and the window's step sizes ``[B, W + 2]``,
        and the forecast ``[B, H]``."""
        summary, _ = self.features(x)
        return torch.cat([summary, step_sizes(x[:, :, 0])], dim=1), self.head(self.dropout(summary))

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x [B, L, F]`` -> the summary state the heads read ``[B, W]`` and the attention weights."""
        x = self.input_dropout(x)
        if self.front is not None:
            x = self.front(x)  # [B, L, F] -> [B, L, F + hidden]
        if self.segments is not None:
            x = self.segments(x)  # [B, L, F'] -> [B, L/S, hidden]: the cell runs L/S steps
        states, _ = self.encoder(x)  # [B, T, D * hidden], T = L or L/S
        summary = self._summary(states)  # [B, D * hidden]
        weights = None
        if self.attention is not None:
            context, weights = self.attention(states, summary)  # [B, D * hidden], [B, T]
            summary = torch.cat([summary, context], dim=1)  # [B, 2 * D * hidden]
            if self.segments is not None:
                weights = self.segments.spread(weights)  # [B, L/S] -> [B, L]
        return summary, weights

    def _summary(self, states: torch.Tensor) -> torch.Tensor:
        """The state that has read the whole window: the last one, or for a bidirectional encoder the
        forward direction's last and the backward direction's first."""
        if not self.bidirectional:
            return states[:, -1]  # [B, hidden]
        return torch.cat([states[:, -1, : self.hidden], states[:, 0, self.hidden :]], dim=1)  # [B, 2 * hidden]
