"""Recurrent encoder (torch's fused LSTM) with a direct multi-step head.

The encoder reads the lookback window; a linear head maps its last hidden state to all horizon
steps at once, so there is no error feedback between steps.
"""

from __future__ import annotations

import torch
from torch import nn

_CELLS = {"lstm": nn.LSTM}


class RecurrentForecaster(nn.Module):
    def __init__(
        self, n_inputs: int, horizon: int, hidden: int, layers: int, dropout: float, cell: str = "lstm"
    ) -> None:
        super().__init__()
        # torch's dropout acts between stacked layers only, so it is also applied before the head:
        # --dropout then regularises a one-layer model too.
        self.encoder = _CELLS[cell](
            n_inputs, hidden, num_layers=layers, dropout=dropout if layers > 1 else 0.0, batch_first=True
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states, _ = self.encoder(x)  # [B, L, F] -> [B, L, hidden]
        return self.head(self.dropout(states[:, -1]))  # [B, hidden] -> [B, H]
