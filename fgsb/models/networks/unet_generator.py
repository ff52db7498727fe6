"""The U-Net generator of pix2pix (Isola et al., CVPR 2017)."""
import torch
import torch.nn as nn

from fgsb.registry import MODELS
from .norm_layers import conv_bias, make_norm
from .weight_init import init_weights


@MODELS.register_module()
class UnetGenerator(nn.Module):
    """pix2pix U-Net: ``num_downs`` 4x4 stride-2 convs down to 1x1 (for an
    image of 2**num_downs pixels), mirrored transposed convs up, a skip
    connection between every pair of levels, tanh output.

    Widths are ngf, 2ngf, 4ngf, then 8ngf; as in pix2pix the 8ngf levels
    between the 4th and the innermost one use dropout 0.5 on the way up.
    Height and width must be divisible by 2**num_downs.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, num_downs: int = 7,
                 ngf: int = 64, norm: str = 'batch', use_dropout: bool = True,
                 init_type: str = 'normal', init_gain: float = 0.02):
        super().__init__()
        if num_downs < 2:
            raise ValueError(f"UnetGenerator needs num_downs >= 2, got {num_downs}")
        self.num_downs = num_downs
        self.in_channels, self.out_channels = in_channels, out_channels
        bias = conv_bias(norm)
        widths = [ngf * min(2 ** depth, 8) for depth in range(num_downs)]
        innermost = num_downs - 1

        self.downs = nn.ModuleList()
        self.ups = nn.ModuleList()
        for depth in range(num_downs):
            # down path: the outermost conv sees the raw image, so no activation
            # before it; the innermost (1x1) output is not normalised. Activations
            # are not in place so that the stored skips stay the block outputs.
            down = [] if depth == 0 else [nn.LeakyReLU(0.2)]
            down.append(nn.Conv2d(in_channels if depth == 0 else widths[depth - 1], widths[depth],
                                  kernel_size=4, stride=2, padding=1, bias=bias))
            if 0 < depth < innermost:
                down.append(make_norm(norm, widths[depth]))
            self.downs.append(nn.Sequential(*down))

            # up path: every level but the innermost receives [own, skip] concatenated
            up_in = widths[depth] if depth == innermost else 2 * widths[depth]
            if depth == 0:
                up = [nn.ReLU(), nn.ConvTranspose2d(up_in, out_channels, kernel_size=4,
                                                        stride=2, padding=1), nn.Tanh()]
            else:
                up = [nn.ReLU(),
                      nn.ConvTranspose2d(up_in, widths[depth - 1], kernel_size=4, stride=2,
                                         padding=1, bias=bias),
                      make_norm(norm, widths[depth - 1])]
                if use_dropout and 4 <= depth < innermost:
                    up.append(nn.Dropout(0.5))
            self.ups.append(nn.Sequential(*up))
        init_weights(self, init_type, init_gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in, H, W) -> (B, out, H, W) in [-1, 1]."""
        factor = 2 ** self.num_downs
        if x.dim() != 4 or x.shape[-2] % factor or x.shape[-1] % factor:
            raise ValueError(
                f"UnetGenerator with num_downs={self.num_downs} needs a (B, C, H, W) input with H "
                f"and W divisible by 2**{self.num_downs}={factor}, got shape {tuple(x.shape)}; "
                f"pad or resize the slices, or lower num_downs")
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        x = self.ups[-1](skips[-1])
        for depth in range(self.num_downs - 2, -1, -1):
            x = self.ups[depth](torch.cat([skips[depth], x], dim=1))
        return x
