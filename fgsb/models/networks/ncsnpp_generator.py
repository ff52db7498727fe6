"""The NCSN++-style time- and latent-conditioned U-Net of SynDiff's diffusive
generator (DDGAN's ``NCSNpp`` with AdaGN): ``G(cat(x_k, source), k, z)``."""
from typing import Sequence

import torch
import torch.nn as nn

from fgsb.registry import MODELS
from .ncsnpp_blocks import (ConditionalResBlock, FIRResample, SelfAttention, conv3x3,
                            group_count, xavier_init)
from .time_conditional_resnet_generator import PixelNorm
from .time_embedding import TimeEmbedding


@MODELS.register_module()
class NCSNppGenerator(nn.Module):
    """U-Net over ``len(ch_mult)`` levels (level ``i`` at ``H / 2^i``, width
    ``ngf * ch_mult[i]``), as SynDiff's NCSN++ configuration builds it:

    - a 3x3 stem; per level ``num_res_blocks`` residual blocks
      (:class:`ConditionalResBlock`) and, between levels, a downsampling
      residual block; the input pyramid (``progressive_input='residual'``)
      adds a FIR-downsampled 3x3 conv of the previous level's output;
    - the middle: block, self-attention, block;
    - per level upwards ``num_res_blocks + 1`` blocks on the concatenated
      skips, then an upsampling block; group norm, SiLU, 3x3 conv, tanh.

    Self-attention follows every block of the levels in ``attention_levels``
    (paper scale: level 4, 16x16 at 256x256). Every block reads the step's
    embedding (sinusoid of size ngf, MLP to 4 ngf: the project's
    ``TimeEmbedding``) and the latent ``z`` through AdaGN (``z`` -> PixelNorm
    -> ``n_mlp + 1`` Linear + SiLU layers of width ``z_emb_dim``).

    The source condition is read as input channels: ``in_channels`` is the
    state's plus the source's channels (2 for MR). Height and width must be
    divisible by ``2^(len(ch_mult) - 1)``.
    """

    def __init__(self, in_channels: int = 2, out_channels: int = 1, ngf: int = 64,
                 ch_mult: Sequence[int] = (1, 1, 2, 2, 4, 4), num_res_blocks: int = 2,
                 attention_levels: Sequence[int] = (4,), num_timesteps: int = 4,
                 z_dim: int = 100, z_emb_dim: int = 256, n_mlp: int = 3,
                 dropout: float = 0.0):
        super().__init__()
        ch_mult, attention_levels = tuple(ch_mult), tuple(attention_levels)
        if not ch_mult or num_res_blocks < 1 or n_mlp < 0:
            raise ValueError('NCSNppGenerator needs a non-empty ch_mult, num_res_blocks >= 1 '
                             f'and n_mlp >= 0, got ch_mult={ch_mult}, '
                             f'num_res_blocks={num_res_blocks}, n_mlp={n_mlp}')
        if any(not 0 <= level < len(ch_mult) for level in attention_levels):
            raise ValueError(f'attention_levels must lie in 0..{len(ch_mult) - 1}, '
                             f'got {attention_levels}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.z_dim, self.num_timesteps = z_dim, num_timesteps
        self.num_levels = len(ch_mult)
        time_dim = 4 * ngf
        self.time_embedding = TimeEmbedding(num_timesteps, ngf, time_dim)
        mapping = [PixelNorm()]
        for n in range(n_mlp + 1):
            mapping += [xavier_init(nn.Linear(z_dim if n == 0 else z_emb_dim, z_emb_dim)),
                        nn.SiLU()]
        self.z_mapping = nn.Sequential(*mapping)

        def block(cin, cout, resample=None):
            return ConditionalResBlock(cin, cout, time_dim, z_emb_dim, resample, dropout)

        self.stem = conv3x3(in_channels, ngf)
        self.down_blocks = nn.ModuleList()
        self.down_attention = nn.ModuleList()
        self.downsamplers = nn.ModuleList()
        self.pyramid_downsamplers = nn.ModuleList()
        skips, width, pyramid_width = [ngf], ngf, in_channels
        for level, mult in enumerate(ch_mult):
            blocks, attention = nn.ModuleList(), nn.ModuleList()
            for _ in range(num_res_blocks):
                blocks.append(block(width, ngf * mult))
                width = ngf * mult
                attention.append(SelfAttention(width) if level in attention_levels
                                 else nn.Identity())
                skips.append(width)
            self.down_blocks.append(blocks)
            self.down_attention.append(attention)
            if level < self.num_levels - 1:
                self.downsamplers.append(block(width, width, 'down'))
                self.pyramid_downsamplers.append(
                    nn.Sequential(FIRResample('down'), conv3x3(pyramid_width, width)))
                pyramid_width = width
                skips.append(width)

        self.middle = nn.ModuleList([block(width, width), SelfAttention(width),
                                     block(width, width)])

        self.up_blocks = nn.ModuleList()
        self.up_attention = nn.ModuleList()
        self.upsamplers = nn.ModuleList()
        for level in reversed(range(self.num_levels)):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks + 1):
                blocks.append(block(width + skips.pop(), ngf * ch_mult[level]))
                width = ngf * ch_mult[level]
            self.up_blocks.append(blocks)
            self.up_attention.append(SelfAttention(width) if level in attention_levels
                                     else nn.Identity())
            if level > 0:
                self.upsamplers.append(block(width, width, 'up'))
        self.head = nn.Sequential(nn.GroupNorm(group_count(width), width, eps=1e-6),
                                  nn.SiLU(), conv3x3(width, out_channels, near_zero=True),
                                  nn.Tanh())

    def _check_input(self, x: torch.Tensor, z: torch.Tensor) -> None:
        name = type(self).__name__
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'{name} expects (B, {self.in_channels}, H, W) input (the state '
                             f'and the source), got shape {tuple(x.shape)}')
        factor = 2 ** (self.num_levels - 1)
        if x.shape[-2] % factor or x.shape[-1] % factor:
            raise ValueError(f'{name}: H and W must be divisible by {factor} '
                             f'({self.num_levels} levels), got {tuple(x.shape[-2:])}')
        if not isinstance(z, torch.Tensor) or z.shape != (x.shape[0], self.z_dim):
            raise ValueError(f'{name}: z must be a tensor of shape ({x.shape[0]}, {self.z_dim})'
                             f', got {tuple(z.shape) if isinstance(z, torch.Tensor) else type(z)}')

    def forward(self, x: torch.Tensor, t_idx: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``cat(x_k, source)`` (B, in, H, W), step index (B,), z (B, z_dim) ->
        the predicted clean target (B, out, H, W) in [-1, 1]."""
        self._check_input(x, z)
        temb = self.time_embedding(t_idx, x.shape[0], owner=type(self).__name__)
        w = self.z_mapping(z)
        pyramid = x
        h = self.stem(x)
        skips = [h]
        for level in range(self.num_levels):
            for block, attention in zip(self.down_blocks[level], self.down_attention[level]):
                h = attention(block(h, temb, w))
                skips.append(h)
            if level < self.num_levels - 1:
                h = self.downsamplers[level](h, temb, w)
                pyramid = (self.pyramid_downsamplers[level](pyramid) + h) / 2 ** 0.5
                h = pyramid
                skips.append(h)
        first, attention, second = self.middle
        h = second(attention(first(h, temb, w)), temb, w)
        for i, (blocks, attention) in enumerate(zip(self.up_blocks, self.up_attention)):
            for block in blocks:
                h = block(torch.cat([h, skips.pop()], dim=1), temb, w)
            h = attention(h)
            if i < len(self.upsamplers):
                h = self.upsamplers[i](h, temb, w)
        return self.head(h)
