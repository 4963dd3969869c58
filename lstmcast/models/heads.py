"""What sits around the recurrent encoder: a convolutional front-end before it and attention over
its states after it.

Convolutional front-end (the CNN + LSTM combination), depthwise-separable and causal:

    d = DepthwiseConv1d_K(x)     each input column gets its own ``m`` filters of length K, m = ceil(hidden / F)
    z = ReLU(PointwiseConv1d(d)) 1x1 convolution mixing the F*m filter outputs into ``hidden`` channels
    encoder input = [x, z]       the raw window stays visible beside the learned features

The window is padded with K - 1 zeros on the left only, so the features at step t see steps
t - K + 1 .. t and the window keeps its length.

Segment embedding (SegRNN, Lin et al. 2023): the window of L steps is cut into L / S segments of S
consecutive steps, and each segment, all its columns together, is embedded at once:

    e_k = ReLU(W [x_{kS+1}, ..., x_{kS+S}] + b)     k = 0 .. L/S - 1,  W: hidden x (S * F)

so the recurrent cell runs L / S steps instead of L. That is what makes long lookbacks (336, 720)
cheap, and a step of the cell sees a whole segment's shape instead of one value.

Attention (Luong et al. 2015, "general" score) over all encoder states s_1..s_L, queried by the
summary state q (the last state; for a bidirectional encoder the forward direction's last and the
backward direction's first):

    e_t = s_t . (W q) / sqrt(d)     a_t = softmax_t(e_t)     context = sum_t a_t s_t
    head input = [q, context]

The weights a_t say how much each past step of the window contributed to the context the head read.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class ConvFrontEnd(nn.Module):
    def __init__(self, n_inputs: int, channels: int, kernel: int) -> None:
        super().__init__()
        multiplier = math.ceil(channels / n_inputs)
        self.kernel = kernel
        self.depthwise = nn.Conv1d(n_inputs, n_inputs * multiplier, kernel, groups=n_inputs)
        self.pointwise = nn.Conv1d(n_inputs * multiplier, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, L, F]`` -> ``[B, L, F + channels]``: the raw inputs with the convolution's features."""
        padded = nn.functional.pad(x.transpose(1, 2), (self.kernel - 1, 0))  # [B, F, K - 1 + L]
        features = torch.relu(self.pointwise(self.depthwise(padded)))  # [B, channels, L]
        return torch.cat([x, features.transpose(1, 2)], dim=2)  # [B, L, F + channels]


class SegmentEmbedding(nn.Module):
    def __init__(self, n_inputs: int, segment: int, hidden: int) -> None:
        super().__init__()
        self.segment = segment
        self.embed = nn.Linear(segment * n_inputs, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, L, F]`` -> ``[B, L / S, hidden]``: one embedding per segment of S steps."""
        batch, length, columns = x.shape
        segments = x.reshape(batch, length // self.segment, self.segment * columns)  # [B, L/S, S*F]
        return torch.relu(self.embed(segments))  # [B, L/S, hidden]

    def spread(self, weights: torch.Tensor) -> torch.Tensor:
        """Attention weights over segments ``[B, L/S]`` as weights over steps ``[B, L]``: each step
        gets an equal share of its segment's weight, so they still sum to one."""
        return weights.repeat_interleave(self.segment, dim=1) / self.segment


class Attention(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.query = nn.Linear(width, width, bias=False)
        self.temperature = math.sqrt(width)

    def forward(self, states: torch.Tensor, summary: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``states [B, L, D]``, ``summary [B, D]`` -> context ``[B, D]`` and weights ``[B, L]``."""
        scores = torch.bmm(states, self.query(summary).unsqueeze(2)).squeeze(2) / self.temperature  # [B, L]
        weights = torch.softmax(scores, dim=1)  # [B, L]
        context = torch.bmm(weights.unsqueeze(1), states).squeeze(1)  # [B, 1, L] @ [B, L, D] -> [B, D]
        return context, weights
