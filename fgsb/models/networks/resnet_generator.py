"""The unconditional ResNet generator of pix2pix/CycleGAN (``resnet_9blocks``).

The paper's Pix2Pix baseline (Table 6: 14.12 M parameters, 51.99 GFLOPs at
256x256) is this generator with ngf 64 and 9 blocks plus the 70x70 PatchGAN;
it is also FGSB's generator without the step and latent conditioning, so the
two methods compare at the same capacity.
"""
import torch
import torch.nn as nn

from fgsb.registry import MODELS
from .norm_layers import conv_bias, make_norm
from .weight_init import init_weights


class ResnetBlock(nn.Module):
    """x + (conv3x3, norm, ReLU, [dropout], conv3x3, norm)(x), reflection padded."""

    def __init__(self, channels: int, norm: str, use_dropout: bool):
        super().__init__()
        bias = conv_bias(norm)
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias),
                  make_norm(norm, channels), nn.ReLU()]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias),
                   make_norm(norm, channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@MODELS.register_module()
class ResnetGenerator(nn.Module):
    """G(x): reflection-pad 7x7 conv, two stride-2 downsamplings, ``n_blocks``
    residual blocks at 4ngf channels, two transposed-conv upsamplings, 7x7
    conv, tanh. Height and width must be divisible by 4."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, ngf: int = 64,
                 n_blocks: int = 9, norm: str = 'instance', use_dropout: bool = False,
                 init_type: str = 'normal', init_gain: float = 0.02):
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f'ResnetGenerator needs n_blocks >= 0, got {n_blocks}')
        self.in_channels, self.out_channels = in_channels, out_channels
        bias = conv_bias(norm)
        width = 4 * ngf
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias),
                  make_norm(norm, ngf), nn.ReLU()]
        for mult in (1, 2):  # ngf -> 2ngf -> 4ngf
            layers += [nn.Conv2d(mult * ngf, 2 * mult * ngf, 3, stride=2, padding=1, bias=bias),
                       make_norm(norm, 2 * mult * ngf), nn.ReLU()]
        layers += [ResnetBlock(width, norm, use_dropout) for _ in range(n_blocks)]
        for mult in (4, 2):  # 4ngf -> 2ngf -> ngf
            layers += [nn.ConvTranspose2d(mult * ngf, mult * ngf // 2, 3, stride=2, padding=1,
                                          output_padding=1, bias=bias),
                       make_norm(norm, mult * ngf // 2), nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        init_weights(self, init_type, init_gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in, H, W) -> (B, out, H, W) in [-1, 1]."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'ResnetGenerator expects (B, {self.in_channels}, H, W) input, '
                             f'got shape {tuple(x.shape)}')
        if x.shape[-2] % 4 or x.shape[-1] % 4:
            raise ValueError('ResnetGenerator: H and W must be divisible by 4 (two stride-2 '
                             f'downsamplings), got {tuple(x.shape[-2:])}')
        return self.model(x)
