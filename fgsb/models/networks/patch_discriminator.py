"""The 70x70 PatchGAN discriminator of pix2pix, optionally conditioned on the
bridge step index k as in UNSB's NLayerDiscriminator_ncsn: D(y, k)."""
from typing import List, Optional

import torch
import torch.nn as nn

from fgsb.registry import MODELS
from .norm_layers import conv_bias, make_norm
from .time_embedding import TimeEmbedding
from .weight_init import init_weights


@MODELS.register_module()
class PatchDiscriminator(nn.Module):
    """PatchGAN: ``n_layers`` 4x4 stride-2 conv blocks (widths ndf, 2ndf, 4ndf,
    ... up to 8ndf), one 4x4 stride-1 block, a 4x4 conv to one logit per patch.
    Every block is conv, norm (not on the first), LeakyReLU(0.2).

    With ``num_timesteps`` set the network is time-conditional: the step index
    k is embedded (sinusoid of size 4ndf, MLP to 4ndf), projected to each
    block's width and added to the block's output. It is added after the norm,
    not before as in UNSB, because instance norm would remove a per-channel
    constant. Then call ``forward(x, t_idx)``; otherwise ``forward(x)``.

    ``forward(..., return_features=True)`` also returns the output of every
    block (n_layers + 1 maps), for the self-supervised decoders.
    """

    def __init__(self, in_channels: int = 2, ndf: int = 64, n_layers: int = 3,
                 norm: str = 'instance', num_timesteps: Optional[int] = None,
                 init_type: str = 'normal', init_gain: float = 0.02):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"{type(self).__name__} needs n_layers >= 1, got {n_layers}")
        self.in_channels = in_channels
        self.n_layers = n_layers
        self.num_timesteps = num_timesteps
        bias = conv_bias(norm)

        self.block_channels = [ndf * min(2 ** n, 8) for n in range(n_layers + 1)]
        self.blocks = nn.ModuleList()
        for n, width in enumerate(self.block_channels):
            stride = 2 if n < n_layers else 1
            if n == 0:
                layers = [nn.Conv2d(in_channels, width, 4, stride, padding=1)]
            else:
                layers = [nn.Conv2d(self.block_channels[n - 1], width, 4, stride, padding=1,
                                    bias=bias), make_norm(norm, width)]
            self.blocks.append(nn.Sequential(*layers, nn.LeakyReLU(0.2)))
        self.final_conv = nn.Conv2d(self.block_channels[-1], 1, 4, stride=1, padding=1)

        if num_timesteps is not None:
            self.time_embedding = TimeEmbedding(num_timesteps, 4 * ndf, 4 * ndf)
            self.time_projections = nn.ModuleList(
                nn.Linear(4 * ndf, width) for width in self.block_channels)
        init_weights(self, init_type, init_gain)

    @property
    def time_conditional(self) -> bool:
        return self.num_timesteps is not None

    def min_input_size(self) -> int:
        """Smallest height/width that leaves at least one output patch: the
        stride-2 blocks halve the size, the two stride-1 convs take 1 each."""
        return 3 * 2 ** self.n_layers

    def embed_time(self, t_idx: Optional[torch.Tensor], batch_size: int) -> Optional[torch.Tensor]:
        """Time embedding (B, 4ndf), or None for the unconditional network."""
        name = type(self).__name__
        if not self.time_conditional:
            if t_idx is not None:
                raise ValueError(f"{name} was built without num_timesteps, so it takes no t_idx")
            return None
        if t_idx is None:
            raise ValueError(f"{name} is time-conditional (num_timesteps={self.num_timesteps}): "
                             f"call it with a step index tensor t_idx of shape (B,)")
        return self.time_embedding(t_idx, batch_size, owner=name)

    def check_input(self, x: torch.Tensor) -> None:
        name = type(self).__name__
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{name} expects (B, {self.in_channels}, H, W) input, "
                             f"got shape {tuple(x.shape)}")
        if min(x.shape[-2:]) < self.min_input_size():
            raise ValueError(f"{name} with n_layers={self.n_layers} needs H, W >= "
                             f"{self.min_input_size()}, got {tuple(x.shape[-2:])}")

    def forward_features(self, x: torch.Tensor, temb: Optional[torch.Tensor]):
        """Run the blocks on ``x`` with time embedding ``temb`` (or None):
        returns (logits (B, 1, h, w), [output of each block])."""
        features: List[torch.Tensor] = []
        for n, block in enumerate(self.blocks):
            x = block(x)
            if temb is not None:
                x = x + self.time_projections[n](temb)[:, :, None, None]
            features.append(x)
        return self.final_conv(x), features

    def forward(self, x: torch.Tensor, t_idx: Optional[torch.Tensor] = None,
                return_features: bool = False):
        """Patch logits (B, 1, h, w) of ``x``; with ``return_features`` the pair
        (logits, [block outputs])."""
        self.check_input(x)
        logits, features = self.forward_features(x, self.embed_time(t_idx, x.shape[0]))
        return (logits, features) if return_features else logits
