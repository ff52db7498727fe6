"""L1 reconstruction and the prior-weighted context-preserving loss (docs/method.md §5)."""
from typing import Optional

import torch
from torch import nn

from fgsb.engine.precision import float32_island
from fgsb.registry import MODELS


@MODELS.register_module()
class L1Loss(nn.Module):
    """``loss_weight * mean(|pred - target|)``, or with a weight map
    ``loss_weight * mean(weight * |pred - target|)``.

    ``L_rec = mean(|Yhat - x1|)`` (weight 100 in the paper). With the prior map
    ``M`` as ``weight`` this is the context-preserving loss
    ``L_ctx = mean(M * |Yhat - x1|)``: the mean runs over all pixels (not over
    the map's area), so pixels outside the map add nothing. A ``(B, 1, H, W)``
    map broadcasts over channels.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    @float32_island  # the mean of bf16 errors would stay bf16
    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        if pred.shape != target.shape:
            raise ValueError(f'{type(self).__name__}: pred has shape {tuple(pred.shape)} '
                             f'but target has shape {tuple(target.shape)}')
        error = (pred - target).abs()
        if weight is not None:
            try:
                error = weight * error
            except RuntimeError as exc:
                raise ValueError(
                    f'{type(self).__name__}: weight map of shape {tuple(weight.shape)} does '
                    f'not broadcast onto images of shape {tuple(pred.shape)}') from exc
            if error.shape != pred.shape:
                raise ValueError(
                    f'{type(self).__name__}: weight map of shape {tuple(weight.shape)} '
                    f'would change the image shape {tuple(pred.shape)}')
        return self.loss_weight * error.mean()


@MODELS.register_module()
class PriorWeightedL1Loss(L1Loss):
    """Context-preserving loss ``L_ctx = mean(M * |Yhat - x1|)`` (paper: weight 10).

    :class:`L1Loss` with the prior map required, so that a config asking for
    ``L_ctx`` on data without a prior fails loudly instead of silently
    becoming a plain L1 term.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        if weight is None:
            raise ValueError('PriorWeightedL1Loss needs the prior map M as `weight`; the '
                             "batch has no 'prior' (is the dataset's prior NoPrior?)")
        return super().forward(pred, target, weight)
