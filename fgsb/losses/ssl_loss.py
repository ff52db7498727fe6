"""Self-supervised discriminator's reconstruction loss (paper 3.4, after FastGAN).

The discriminator's two decoders reconstruct the real target from its
features: the resize decoder the whole (down-sized) image, the crop decoder
one quadrant. FastGAN scores them with LPIPS, which needs pretrained weights
this project cannot download, so L1 is the default (docs/method.md §5, ours).
"""
import torch
from torch import nn

from fgsb.engine.precision import float32_island
from fgsb.registry import MODELS

QUADRANTS = ('top-left', 'top-right', 'bottom-left', 'bottom-right')


def quadrant_crop(x: torch.Tensor, quadrant: int) -> torch.Tensor:
    """Half-height, half-width crop of ``(..., H, W)``: 0 top-left, 1 top-right,
    2 bottom-left, 3 bottom-right.

    Odd sizes: every quadrant is ``H // 2 x W // 2`` (the middle row/column is
    dropped), so crops of a feature map and of the image stay aligned up to
    the scale factor.
    """
    if quadrant not in range(4):
        raise ValueError(f'quadrant must be 0..3 ({", ".join(QUADRANTS)}), got {quadrant}')
    if x.dim() < 2:
        raise ValueError(f'quadrant_crop needs a tensor (..., H, W), got {tuple(x.shape)}')
    height, width = x.shape[-2:]
    half_h, half_w = height // 2, width // 2
    top = 0 if quadrant in (0, 1) else height - half_h
    left = 0 if quadrant in (0, 2) else width - half_w
    return x[..., top:top + half_h, left:left + half_w]


@MODELS.register_module()
class SSLReconstructionLoss(nn.Module):
    """``L_SSL = mean|dec_resize - resize(x1)| + mean|dec_crop - crop_q(x1)|``, times ``loss_weight``."""

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    @float32_island  # the means of bf16 reconstructions would stay bf16
    def forward(self, rec_resize: torch.Tensor, real_resize: torch.Tensor,
                rec_crop: torch.Tensor, real_crop: torch.Tensor) -> torch.Tensor:
        for name, rec, real in (('resize', rec_resize, real_resize),
                                ('crop', rec_crop, real_crop)):
            if rec.shape != real.shape:
                raise ValueError(f'SSLReconstructionLoss: {name} reconstruction has shape '
                                 f'{tuple(rec.shape)} but its real image {tuple(real.shape)}')
        loss = (rec_resize - real_resize).abs().mean() + (rec_crop - real_crop).abs().mean()
        return self.loss_weight * loss
