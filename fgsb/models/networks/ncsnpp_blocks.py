"""Building blocks of the NCSN++ generator and the pair discriminator of
SynDiff / DDGAN: FIR resampling, adaptive group norm, the BigGAN-style
residual block conditioned on the step and the latent, self-attention."""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

# NCSN++'s FIR kernel [1, 3, 3, 1] (outer product, normalised): a blur that
# keeps resampling free of aliasing
_FIR_TAPS = (1.0, 3.0, 3.0, 1.0)


def xavier_init(module: nn.Module, near_zero: bool = False) -> nn.Module:
    """NCSN++'s ``default_init`` (variance scaling, fan average, uniform: Xavier
    uniform) with zero biases. ``near_zero`` for the layers it starts near 0
    (``init_scale=0``, which DDGAN's code turns into a variance scale of
    1e-10: Xavier gain 1e-5), so that each residual branch starts as almost
    the identity; not exactly 0, so that Adam moves every layer from the
    first step."""
    nn.init.xavier_uniform_(module.weight, gain=1e-5 if near_zero else 1.0)
    if module.bias is not None:
        nn.init.zeros_(module.bias)
    return module


def conv3x3(in_channels: int, out_channels: int, near_zero: bool = False, bias: bool = True):
    return xavier_init(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias), near_zero)


def conv1x1(in_channels: int, out_channels: int, bias: bool = True):
    return xavier_init(nn.Conv2d(in_channels, out_channels, 1, bias=bias))


def group_count(channels: int) -> int:
    """NCSN++'s group norm: groups of 4 channels, at most 32 groups."""
    if channels < 4:
        raise ValueError(f'group norm needs at least 4 channels, got {channels}')
    return min(channels // 4, 32)


class FIRResample(nn.Module):
    """Halve (``'down'``) or double (``'up'``) the height and width with the
    FIR kernel, channel by channel. Needs even H, W to go down."""

    def __init__(self, mode: str):
        super().__init__()
        if mode not in ('down', 'up'):
            raise ValueError(f"mode must be 'down' or 'up', got {mode!r}")
        self.mode = mode
        taps = torch.tensor(_FIR_TAPS)
        kernel = torch.outer(taps, taps)
        kernel = kernel / kernel.sum() * (4.0 if mode == 'up' else 1.0)
        self.register_buffer('kernel', kernel[None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        weight = self.kernel.to(x.dtype).expand(channels, 1, 4, 4)
        if self.mode == 'down':
            return F.conv2d(x, weight, stride=2, padding=1, groups=channels)
        return F.conv_transpose2d(x, weight, stride=2, padding=1, groups=channels)


class AdaptiveGroupNorm(nn.Module):
    """Group norm whose per-channel scale and shift come from the mapped
    latent ``w(z)`` (DDGAN's AdaGN); starts at scale 1, shift 0."""

    def __init__(self, channels: int, style_dim: int):
        super().__init__()
        self.norm = nn.GroupNorm(group_count(channels), channels, affine=False, eps=1e-6)
        self.style = xavier_init(nn.Linear(style_dim, 2 * channels))
        with torch.no_grad():
            self.style.bias[:channels] = 1.0

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.style(w)[:, :, None, None].chunk(2, dim=1)
        return gamma * self.norm(x) + beta


class ConditionalResBlock(nn.Module):
    """BigGAN-style residual block of NCSN++ with AdaGN:
    ``(skip(x) + F(x, temb, w)) / sqrt(2)`` with ``F`` = AdaGN, SiLU,
    [resample], conv3x3, + Linear(temb), AdaGN, SiLU, dropout, conv3x3 (near-zero
    init). ``resample`` is None, ``'down'`` or ``'up'``; the skip is a 1x1
    conv where the width or the size changes."""

    def __init__(self, in_channels: int, out_channels: int, time_dim: int, style_dim: int,
                 resample: Optional[str] = None, dropout: float = 0.0):
        super().__init__()
        self.norm0 = AdaptiveGroupNorm(in_channels, style_dim)
        self.resample = None if resample is None else FIRResample(resample)
        self.conv0 = conv3x3(in_channels, out_channels)
        self.time_projection = xavier_init(nn.Linear(time_dim, out_channels))
        self.norm1 = AdaptiveGroupNorm(out_channels, style_dim)
        self.dropout = nn.Dropout(dropout)
        self.conv1 = conv3x3(out_channels, out_channels, near_zero=True)
        self.skip = (conv1x1(in_channels, out_channels)
                     if in_channels != out_channels or resample is not None else None)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, temb: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        h = self.act(self.norm0(x, w))
        if self.resample is not None:
            h, x = self.resample(h), self.resample(x)
        h = self.conv0(h) + self.time_projection(temb)[:, :, None, None]
        h = self.conv1(self.dropout(self.act(self.norm1(h, w))))
        if self.skip is not None:
            x = self.skip(x)
        return (x + h) / math.sqrt(2.0)


class SelfAttention(nn.Module):
    """Non-local self-attention over all positions (NCSN++'s AttnBlockpp):
    ``(x + proj(softmax(q^T k / sqrt(C)) v)) / sqrt(2)``, the projection near-zero
    initialised."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.GroupNorm(group_count(channels), channels, eps=1e-6)
        self.qkv = conv1x1(channels, 3 * channels)
        self.proj = xavier_init(nn.Conv2d(channels, channels, 1), near_zero=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).flatten(2).chunk(3, dim=1)  # (B, C, HW) each
        weights = torch.softmax(torch.bmm(q.transpose(1, 2), k) / math.sqrt(c), dim=-1)
        out = torch.bmm(v, weights.transpose(1, 2)).view(b, c, h, w)
        return (x + self.proj(out)) / math.sqrt(2.0)
