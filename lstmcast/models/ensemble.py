"""A seed ensemble: K networks of the same settings, each started from its own random weights and
trained on its own loss over the same batches; the forecast is their mean (a deep ensemble,
Lakshminarayanan et al. 2017).

Where the data do not pin the network down, members settle on different answers; averaging cancels
that part of their error, so the mean is better than the typical member and the result depends far
less on the seed. Members share the epochs and the early stopping, which watches the mean's
validation error, and --grad-clip, which bounds one norm over all members' gradients. Cost: K
times the training and forecasting compute of one network.
"""

from __future__ import annotations

import torch
from torch import nn


class Ensemble(nn.Module):
    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def member_forecasts(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, L, F]`` -> every member's forecast ``[K, B, H]`` (what training scores, member by member)."""
        return torch.stack([member(x) for member in self.members])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.member_forecasts(x).mean(dim=0)  # [B, H]

    def spread(self, x: torch.Tensor) -> torch.Tensor:
        return self.members[0].spread(x)

    def explain(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The mean forecast ``[B, H]`` and the members' mean attention weights ``[B, L]`` (None without)."""
        forecasts, weights = zip(*(member.explain(x) for member in self.members), strict=True)
        mean_weights = None if weights[0] is None else torch.stack(weights).mean(dim=0)
        return torch.stack(forecasts).mean(dim=0), mean_weights

    @torch.no_grad()
    def start_from_linear(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        """Every member starts from the same linear forecast (see NormalisedForecaster.start_from_linear)."""
        for member in self.members:
            member.start_from_linear(weight, bias)
