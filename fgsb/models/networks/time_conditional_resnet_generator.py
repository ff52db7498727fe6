"""The time- and noise-conditional ResNet generator G(x, k, z) of UNSB
(ResnetGenerator_ncsn), used by FGSB."""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn

from fgsb.registry import MODELS
from .norm_layers import conv_bias, make_norm
from .time_embedding import TimeEmbedding
from .weight_init import init_weights


class PixelNorm(nn.Module):
    """Scale each latent vector to unit root-mean-square (StyleGAN's mapping input)."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class ConditionalResnetBlock(nn.Module):
    """Residual block x + F(x, k, z) with F = conv3x3, norm, modulation, ReLU,
    conv3x3, norm.

    Modulation (after UNSB's ResnetBlock_cond): the mapped latent w(z) gives a
    per-channel scale and shift (adaptive instance norm, ``(1 + gamma) h + beta``
    so that the block starts unmodulated), and the projected time embedding is
    added. Both act after the norm so that instance norm cannot remove them.
    """

    def __init__(self, channels: int, norm: str, time_dim: int, style_dim: int):
        super().__init__()
        bias = conv_bias(norm)
        self.conv1 = nn.Sequential(nn.ReflectionPad2d(1),
                                   nn.Conv2d(channels, channels, 3, bias=bias),
                                   make_norm(norm, channels))
        self.style = nn.Linear(style_dim, 2 * channels)
        self.time_projection = nn.Linear(time_dim, channels)
        self.conv2 = nn.Sequential(nn.ReLU(),
                                   nn.ReflectionPad2d(1),
                                   nn.Conv2d(channels, channels, 3, bias=bias),
                                   make_norm(norm, channels))

    def forward(self, x: torch.Tensor, temb: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.style(w)[:, :, None, None].chunk(2, dim=1)
        h = (1 + gamma) * self.conv1(x) + beta + self.time_projection(temb)[:, :, None, None]
        return x + self.conv2(h)


@MODELS.register_module()
class TimeConditionalResnetGenerator(nn.Module):
    """G(x, k, z): reflection-pad 7x7 conv, two stride-2 downsamplings,
    ``n_blocks`` residual blocks conditioned on the step index k (sinusoid of
    size ngf, MLP to 4ngf) and on the latent z (``n_mlp``-layer mapping MLP to
    4ngf), two transposed-conv upsamplings, 7x7 conv, tanh.

    The encoder layer list read by PatchNCE is, as in CUT/UNSB: indices 0-9
    the layers of the stem (0 = padded input, 1 conv, 2 norm, 3 ReLU,
    4 down-conv, 5 norm, 6 ReLU, 7 down-conv, 8 norm, 9 ReLU), then one index
    per residual block (10 = block 0, ...). Height and width must be
    divisible by 4.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, ngf: int = 64,
                 n_blocks: int = 9, num_timesteps: int = 5, z_dim: Optional[int] = None,
                 norm: str = 'instance', n_mlp: int = 3,
                 init_type: str = 'normal', init_gain: float = 0.02):
        super().__init__()
        if n_blocks < 0 or n_mlp < 1:
            raise ValueError(f"TimeConditionalResnetGenerator needs n_blocks >= 0 and "
                             f"n_mlp >= 1, got n_blocks={n_blocks}, n_mlp={n_mlp}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.z_dim = 4 * ngf if z_dim is None else z_dim
        self.num_timesteps = num_timesteps
        bias = conv_bias(norm)
        width = 4 * ngf

        self.stem = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias),
            make_norm(norm, ngf), nn.ReLU(),
            nn.Conv2d(ngf, 2 * ngf, 3, stride=2, padding=1, bias=bias),
            make_norm(norm, 2 * ngf), nn.ReLU(),
            nn.Conv2d(2 * ngf, width, 3, stride=2, padding=1, bias=bias),
            make_norm(norm, width), nn.ReLU())
        self.blocks = nn.ModuleList(
            ConditionalResnetBlock(width, norm, time_dim=width, style_dim=width)
            for _ in range(n_blocks))
        # output channels of every encoder layer, for encoder_channels()
        self._layer_channels = ([in_channels, ngf, ngf, ngf, 2 * ngf, 2 * ngf, 2 * ngf]
                                + [width] * (3 + n_blocks))
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(width, 2 * ngf, 3, stride=2, padding=1, output_padding=1,
                               bias=bias),
            make_norm(norm, 2 * ngf), nn.ReLU(),
            nn.ConvTranspose2d(2 * ngf, ngf, 3, stride=2, padding=1, output_padding=1,
                               bias=bias),
            make_norm(norm, ngf), nn.ReLU(),
            nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh())

        mapping = [PixelNorm()]
        for n in range(n_mlp):
            mapping += [nn.Linear(self.z_dim if n == 0 else width, width), nn.LeakyReLU(0.2)]
        self.z_mapping = nn.Sequential(*mapping)
        self.time_embedding = TimeEmbedding(num_timesteps, ngf, width)
        init_weights(self, init_type, init_gain)

    @property
    def num_encoder_layers(self) -> int:
        return len(self.stem) + len(self.blocks)

    def encoder_channels(self, layer_ids: Sequence[int] = (0, 4, 8, 12, 16)) -> List[int]:
        """Channels of the encoder layers ``layer_ids`` (to build the feature MLP)."""
        self._check_layer_ids(layer_ids)
        return [self._layer_channels[i] for i in layer_ids]

    def _check_layer_ids(self, layer_ids: Sequence[int]) -> None:
        ids = list(layer_ids)
        if not ids or ids != sorted(set(ids)) or ids[0] < 0 or ids[-1] >= self.num_encoder_layers:
            raise ValueError(f"layer_ids must be increasing, distinct indices in "
                             f"[0, {self.num_encoder_layers - 1}], got {layer_ids}")

    def _conditions(self, x: torch.Tensor, t_idx: torch.Tensor, z: torch.Tensor):
        """Check the inputs; return the time embedding and the mapped latent."""
        name = type(self).__name__
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{name} expects (B, {self.in_channels}, H, W) input, "
                             f"got shape {tuple(x.shape)}")
        if x.shape[-2] % 4 or x.shape[-1] % 4:
            raise ValueError(f"{name}: H and W must be divisible by 4 (two stride-2 "
                             f"downsamplings), got {tuple(x.shape[-2:])}")
        if not isinstance(z, torch.Tensor) or z.shape != (x.shape[0], self.z_dim):
            raise ValueError(f"{name}: z must be a tensor of shape ({x.shape[0]}, {self.z_dim}), "
                             f"got {tuple(z.shape) if isinstance(z, torch.Tensor) else type(z)}")
        return self.time_embedding(t_idx, x.shape[0], owner=name), self.z_mapping(z)

    def forward(self, x: torch.Tensor, t_idx: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """X_k (B, in, H, W), k (B,), z (B, z_dim) -> prediction (B, out, H, W) in [-1, 1]."""
        temb, w = self._conditions(x, t_idx, z)
        h = self.stem(x)
        for block in self.blocks:
            h = block(h, temb, w)
        return self.decoder(h)

    def encode(self, x: torch.Tensor, t_idx: torch.Tensor, z: torch.Tensor,
               layer_ids: Sequence[int] = (0, 4, 8, 12, 16)) -> List[torch.Tensor]:
        """Outputs of the encoder layers ``layer_ids`` (in that order); stops
        after the last requested layer, so the decoder never runs."""
        self._check_layer_ids(layer_ids)
        temb, w = self._conditions(x, t_idx, z)
        wanted, last = set(layer_ids), layer_ids[-1]
        features = []
        h = x
        for i, layer in enumerate(self.stem):
            h = layer(h)
            if i in wanted:
                features.append(h)
            if i == last:
                return features
        for j, block in enumerate(self.blocks):
            h = block(h, temb, w)
            if len(self.stem) + j in wanted:
                features.append(h)
            if len(self.stem) + j == last:
                break
        return features
