"""The context-preserving loss as a mean over the map's area (docs/method.md §5.7).

The paper's ``L_ctx = mean(M * |Yhat - x1|)`` averages over every pixel of
the slice, so a lesion map covering 0.1 % of it contributes a thousandth of
its error: beside ``L_rec`` at weight 100 the term is invisible. Dividing by
the map's area instead makes ``L_ctx`` the mean error *inside* the map,
whatever the lesion's size.
"""
from typing import Optional

import torch
from torch import nn

from fgsb.engine.precision import float32_island
from fgsb.registry import MODELS


@MODELS.register_module()
class AreaNormalisedPriorL1Loss(nn.Module):
    """``loss_weight * mean_b( sum(M_b * |Yhat_b - x1_b|) / (C * max(sum(M_b), min_area)) )``.

    Per sample the weighted error is divided by the map's area (the sum of
    ``M``, so soft maps weigh each pixel by its value) times the number of
    channels: the mean absolute error over the ``M = 1`` pixels. A sample
    whose map is empty contributes 0 (the term stays in the graph, with zero
    gradient); the batch mean runs over every sample. For one image of
    ``H * W`` pixels it equals ``PriorWeightedL1Loss`` times
    ``H * W / max(sum(M), min_area)``.

    Args:
        loss_weight: the term's weight.
        min_area: floor of the divisor, in pixels, so that a map of a few
            faint soft pixels cannot blow the term up (1: one pixel).
    """

    def __init__(self, loss_weight: float = 1.0, min_area: float = 1.0):
        super().__init__()
        if not min_area > 0:
            raise ValueError(f'AreaNormalisedPriorL1Loss: min_area must be > 0, got {min_area}')
        self.loss_weight = loss_weight
        self.min_area = float(min_area)

    @float32_island  # sums of bf16 errors would lose precision
    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        name = type(self).__name__
        if weight is None:
            raise ValueError(f"{name} needs the prior map M as `weight`; the batch has no "
                             "'prior' (is the dataset's prior NoPrior?)")
        if pred.shape != target.shape or pred.dim() != 4:
            raise ValueError(f'{name}: pred and target must be (B, C, H, W) of one shape, '
                             f'got {tuple(pred.shape)} and {tuple(target.shape)}')
        batch, channels, height, width = pred.shape
        if weight.dim() != 4 or weight.shape[0] != batch or weight.shape[1] not in (1, channels) \
                or weight.shape[2:] != pred.shape[2:]:
            raise ValueError(f'{name}: the prior map must be (B, 1 or C, H, W) matching images '
                             f'of shape {tuple(pred.shape)}, got {tuple(weight.shape)}')
        weight = weight.expand_as(pred)
        weighted = (weight * (pred - target).abs()).flatten(1).sum(1)
        area = weight.flatten(1).sum(1).clamp(min=self.min_area * channels)
        return self.loss_weight * (weighted / area).mean()
