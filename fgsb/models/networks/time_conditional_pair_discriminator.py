"""SynDiff's time-conditional discriminator on diffusion pairs (DDGAN's
``Discriminator_large``): ``D(cat(x_{k-1}, x_k), k)``, one logit an image."""
import math

import torch
import torch.nn as nn

from fgsb.registry import MODELS
from .ncsnpp_blocks import FIRResample, conv1x1, conv3x3, xavier_init
from .time_embedding import TimeEmbedding


class TimeConditionalDownBlock(nn.Module):
    """``(skip(down(x)) + conv3x3(down(act(conv3x3(act(x)) + Linear(temb))))) / sqrt(2)``,
    the second conv initialised near zero, the skip a bias-free 1x1 conv."""

    def __init__(self, in_channels: int, out_channels: int, time_dim: int):
        super().__init__()
        self.conv0 = conv3x3(in_channels, out_channels)
        self.time_projection = xavier_init(nn.Linear(time_dim, out_channels))
        self.down = FIRResample('down')
        self.conv1 = conv3x3(out_channels, out_channels, near_zero=True)
        self.skip = conv1x1(in_channels, out_channels, bias=False)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv0(self.act(x)) + self.time_projection(temb)[:, :, None, None]
        h = self.conv1(self.down(self.act(h)))
        return (h + self.skip(self.down(x))) / math.sqrt(2.0)


def _stddev_group(batch_size: int, largest: int = 4) -> int:
    """The largest divisor of the batch up to ``largest`` (DDGAN's group of 4
    fails on a batch it does not divide)."""
    return max(g for g in range(1, min(batch_size, largest) + 1) if batch_size % g == 0)


@MODELS.register_module()
class TimeConditionalPairDiscriminator(nn.Module):
    """A 1x1 conv to 2 ndf, ``n_layers`` downsampling blocks (widths 4 ndf,
    then 8 ndf), a minibatch-standard-deviation channel, a 3x3 conv,
    LeakyReLU(0.2), a sum over positions and a linear layer to one logit.

    Every block adds the projected embedding of the step index (sinusoid of
    size ``t_emb_dim`` and a two-layer MLP with LeakyReLU: the project's
    ``TimeEmbedding``, as DDGAN's). The input is the pair
    ``cat(x_{k-1}, x_k)``, so ``in_channels`` is twice the image's; H and W
    must be divisible by ``2^n_layers``. Paper scale: ndf 64, 6 layers.
    """

    def __init__(self, in_channels: int = 2, ndf: int = 64, n_layers: int = 6,
                 num_timesteps: int = 4, t_emb_dim: int = 256):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f'{type(self).__name__} needs n_layers >= 1, got {n_layers}')
        self.in_channels, self.n_layers = in_channels, n_layers
        self.num_timesteps = num_timesteps
        self.time_embedding = TimeEmbedding(num_timesteps, t_emb_dim, t_emb_dim)
        self.stem = conv1x1(in_channels, 2 * ndf)
        widths = [2 * ndf] + [ndf * min(4 * 2 ** i, 8) for i in range(n_layers)]
        self.blocks = nn.ModuleList(TimeConditionalDownBlock(cin, cout, t_emb_dim)
                                    for cin, cout in zip(widths[:-1], widths[1:]))
        self.final_conv = conv3x3(widths[-1] + 1, widths[-1])
        self.act = nn.LeakyReLU(0.2)
        self.end_linear = xavier_init(nn.Linear(widths[-1], 1))

    @property
    def time_conditional(self) -> bool:
        return True

    def min_input_size(self) -> int:
        return 2 ** self.n_layers

    def forward(self, x: torch.Tensor, t_idx: torch.Tensor) -> torch.Tensor:
        """The pair (B, in, H, W) at step index (B,) -> logits (B, 1)."""
        name = type(self).__name__
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'{name} expects (B, {self.in_channels}, H, W) input (the pair '
                             f'x_(k-1), x_k), got shape {tuple(x.shape)}')
        factor = self.min_input_size()
        if x.shape[-2] % factor or x.shape[-1] % factor:
            raise ValueError(f'{name} with n_layers={self.n_layers} needs H and W divisible '
                             f'by {factor}, got {tuple(x.shape[-2:])}')
        temb = self.time_embedding(t_idx, x.shape[0], owner=name)
        h = self.stem(x)
        for block in self.blocks:
            h = block(h, temb)
        h = torch.cat([h, self._minibatch_stddev(h)], dim=1)
        h = self.act(self.final_conv(h)).sum(dim=(2, 3))
        return self.end_linear(h)

    @staticmethod
    def _minibatch_stddev(h: torch.Tensor) -> torch.Tensor:
        """One channel: the standard deviation of the features across groups of
        samples, averaged (StyleGAN's minibatch discrimination)."""
        b, c, height, width = h.shape
        group = _stddev_group(b)
        grouped = h.view(group, b // group, c, height, width)
        std = (grouped.var(0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))
        return std.repeat(group)[:, None, None, None].expand(b, 1, height, width)
