"""The self-supervised time-conditional discriminator of FGSB (paper 3.4),
after FastGAN's discriminator with auto-encoding decoders (Liu et al., ICLR 2021)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from fgsb.losses.ssl_loss import quadrant_crop
from fgsb.registry import MODELS
from .norm_layers import make_norm
from .patch_discriminator import PatchDiscriminator
from .weight_init import init_weights


class TimeConditionalDecoder(nn.Module):
    """Feature map -> 1-channel image in [-1, 1] through conv layers that each
    upsample x2 (nearest), convolve 3x3, normalise, activate (GLU as in
    FastGAN, or LeakyReLU(0.2)) and add the projected time embedding; a final
    3x3 conv and tanh. The output is 2**len(channels) times the input size."""

    def __init__(self, in_channels: int, channels: Sequence[int], time_dim: int,
                 norm: str, activation: str = 'glu'):
        super().__init__()
        if activation not in ('glu', 'leaky_relu'):
            raise ValueError(f"decoder activation must be 'glu' or 'leaky_relu', "
                             f"got {activation!r}")
        self.layers = nn.ModuleList()
        self.time_projections = nn.ModuleList()
        for width in channels:
            # GLU halves the channels: the conv makes twice as many
            conv_width = 2 * width if activation == 'glu' else width
            act = nn.GLU(dim=1) if activation == 'glu' else nn.LeakyReLU(0.2)
            self.layers.append(nn.Sequential(
                nn.Upsample(scale_factor=2, mode='nearest'),
                nn.Conv2d(in_channels, conv_width, 3, padding=1, bias=False),
                make_norm(norm, conv_width), act))
            self.time_projections.append(nn.Linear(time_dim, width))
            in_channels = width
        self.to_image = nn.Sequential(nn.Conv2d(in_channels, 1, 3, padding=1), nn.Tanh())

    def forward(self, feat: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        for layer, projection in zip(self.layers, self.time_projections):
            feat = layer(feat) + projection(temb)[:, :, None, None]
        return self.to_image(feat)


@MODELS.register_module()
class SelfSupervisedDiscriminator(PatchDiscriminator):
    """Time-conditional PatchGAN D(y, k) with two auxiliary decoders trained
    on real targets only (METHOD 5, L_SSL):

    - resize decoder: from the final block's feature map, reconstructs the
      whole real image resized to the decoder's output size;
    - crop decoder: from one quadrant of the penultimate block's (larger)
      feature map, reconstructs the matching quadrant of the real image.

    Feature maps larger than ``decoder_input_size`` are area-resized to it
    before decoding, so that, as in FastGAN (8x8 -> 128x128), a 256x256
    slice gives 128x128 reconstructions instead of ~500x500 ones. Height and
    width must be divisible by 2**(n_layers + 1) (an even penultimate map, so
    its quadrants align with the image's) and at least 32 for n_layers = 3.
    """

    def __init__(self, in_channels: int = 1, ndf: int = 64, n_layers: int = 3,
                 num_timesteps: int = 5, norm: str = 'instance',
                 decoder_channels: Optional[Sequence[int]] = None,
                 decoder_activation: str = 'glu', decoder_input_size: Optional[int] = 8,
                 init_type: str = 'normal', init_gain: float = 0.02):
        if num_timesteps is None:
            raise ValueError("SelfSupervisedDiscriminator is time-conditional: "
                             "num_timesteps must be set")
        if n_layers < 2:
            raise ValueError(f"SelfSupervisedDiscriminator needs n_layers >= 2 (the crop decoder "
                             f"reads the last stride-2 block), got {n_layers}")
        super().__init__(in_channels=in_channels, ndf=ndf, n_layers=n_layers, norm=norm,
                         num_timesteps=num_timesteps, init_type=init_type, init_gain=init_gain)
        if decoder_channels is None:
            # FastGAN's decoder widths (128, 64, 64, 32) at ndf = 64
            decoder_channels = (2 * ndf, ndf, ndf, max(ndf // 2, 1))
        if len(decoder_channels) != 4:
            raise ValueError(f"decoder_channels must give the widths of the four decoder layers, "
                             f"got {decoder_channels}")
        self.decoder_input_size = decoder_input_size
        time_dim = 4 * ndf
        self.resize_decoder = TimeConditionalDecoder(
            self.block_channels[-1], decoder_channels, time_dim, norm, decoder_activation)
        self.crop_decoder = TimeConditionalDecoder(
            self.block_channels[-2], decoder_channels, time_dim, norm, decoder_activation)
        init_weights(self.resize_decoder, init_type, init_gain)
        init_weights(self.crop_decoder, init_type, init_gain)

    def min_input_size(self) -> int:
        # the PatchGAN's minimum, rounded up to the size multiple check_input asks for
        multiple = 2 ** (self.n_layers + 1)
        return -(-super().min_input_size() // multiple) * multiple

    def check_input(self, x: torch.Tensor) -> None:
        super().check_input(x)
        multiple = 2 ** (self.n_layers + 1)
        if x.shape[-2] % multiple or x.shape[-1] % multiple:
            raise ValueError(f"SelfSupervisedDiscriminator with n_layers={self.n_layers} needs H "
                             f"and W divisible by 2**{self.n_layers + 1}={multiple} so that "
                             f"feature quadrants match image quadrants, got {tuple(x.shape[-2:])}")

    def _decoder_input(self, feat: torch.Tensor) -> torch.Tensor:
        if self.decoder_input_size is None:
            return feat
        size = tuple(min(s, self.decoder_input_size) for s in feat.shape[-2:])
        if size == tuple(feat.shape[-2:]):
            return feat
        return F.interpolate(feat, size=size, mode='area')

    def forward_with_reconstructions(self, x: torch.Tensor, t_idx: torch.Tensor, quadrant: int
                                     ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Patch logits of ``x`` plus the two reconstructions (B, 1, h, w):
        (logits, rec_resize, rec_crop); ``quadrant`` 0..3 = top-left,
        top-right, bottom-left, bottom-right."""
        self.check_input(x)
        temb = self.embed_time(t_idx, x.shape[0])
        logits, features = self.forward_features(x, temb)
        rec_resize = self.resize_decoder(self._decoder_input(features[-1]), temb)
        crop = quadrant_crop(features[-2], quadrant)
        rec_crop = self.crop_decoder(self._decoder_input(crop), temb)
        return logits, rec_resize, rec_crop

    @staticmethod
    def ssl_targets(real: torch.Tensor, quadrant: int, rec_resize_shape: Sequence[int],
                    rec_crop_shape: Sequence[int]) -> Tuple[torch.Tensor, torch.Tensor]:
        """The real images the reconstructions are compared with: ``real``
        resized to ``rec_resize_shape``, and its ``quadrant`` resized to
        ``rec_crop_shape`` (area when shrinking, bilinear when enlarging)."""
        return (_resize(real, rec_resize_shape[-2:]),
                _resize(quadrant_crop(real, quadrant), rec_crop_shape[-2:]))


def _resize(image: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    size = tuple(int(s) for s in size)
    if size == tuple(image.shape[-2:]):
        return image
    if size[0] <= image.shape[-2] and size[1] <= image.shape[-1]:
        return F.interpolate(image, size=size, mode='area')
    return F.interpolate(image, size=size, mode='bilinear', align_corners=False)
