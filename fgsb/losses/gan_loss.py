"""Adversarial loss (docs/method.md §5: LSGAN by default, as in UNSB and CUT)."""
import torch
import torch.nn.functional as F
from torch import nn

from fgsb.engine.precision import float32_island
from fgsb.registry import MODELS


@MODELS.register_module()
class GANLoss(nn.Module):
    """GAN loss on discriminator outputs, returned multiplied by ``loss_weight``.

    - ``lsgan``: ``mean((D - 1)^2)`` for real, ``mean(D^2)`` for fake
      (the generator's ``L_adv = mean((D(Yhat, k) - 1)^2)``);
    - ``vanilla``: binary cross-entropy on logits;
    - ``hinge``: ``mean(relu(1 - D))`` / ``mean(relu(1 + D))`` for the
      discriminator; ``-mean(D)`` for the generator whatever ``target_is_real``.

    Args:
        gan_type: ``'lsgan'``, ``'vanilla'`` or ``'hinge'``.
        loss_weight: factor on the returned loss (also on the discriminator side).
    """

    GAN_TYPES = ('lsgan', 'vanilla', 'hinge')

    def __init__(self, gan_type: str = 'lsgan', loss_weight: float = 1.0):
        super().__init__()
        if gan_type not in self.GAN_TYPES:
            raise ValueError(f'GANLoss: unknown gan_type {gan_type!r}; '
                             f'choose one of {self.GAN_TYPES}')
        self.gan_type = gan_type
        self.loss_weight = loss_weight

    @float32_island  # the mean of bf16 discriminator outputs would stay bf16
    def forward(self, pred: torch.Tensor, target_is_real: bool,
                is_disc: bool = False) -> torch.Tensor:
        if self.gan_type == 'lsgan':
            target = 1.0 if target_is_real else 0.0
            loss = ((pred - target) ** 2).mean()
        elif self.gan_type == 'vanilla':
            target = torch.full_like(pred, 1.0 if target_is_real else 0.0)
            loss = F.binary_cross_entropy_with_logits(pred, target)
        elif is_disc:  # hinge, discriminator side
            sign = -1.0 if target_is_real else 1.0
            loss = F.relu(1.0 + sign * pred).mean()
        else:  # hinge, generator side
            loss = -pred.mean()
        return self.loss_weight * loss
