"""A loss on the through-plane derivative of a multi-slice prediction
(docs/volumes.md, "Multi-slice output")."""
import torch
from torch import nn

from fgsb.datasets.slice_context import stack_half_width, stack_offsets
from fgsb.engine.precision import float32_island
from fgsb.registry import MODELS


def slice_order(stack: torch.Tensor) -> torch.Tensor:
    """A centre-first stack ``(B, 2m+1, H, W)`` (``slice_context.stack_offsets``)
    with its channels in slice order ``s-m, ..., s+m``."""
    offsets = stack_offsets(stack_half_width(stack.shape[1], 'the stack'))
    return stack[:, torch.as_tensor(offsets.argsort(), device=stack.device)]


@MODELS.register_module()
class ThroughPlaneL1Loss(nn.Module):
    """``loss_weight * mean(|d_z pred - d_z target|)`` over a stack's slices.

    ``pred`` and ``target`` are centre-first stacks of ``2m + 1`` slices;
    ``d_z`` is the difference of neighbouring slices in slice order. On the
    network's [-1, 1] scale and over whole images, it is twice the
    through-plane error of ``fgsb.evaluation.volume_consistency`` (scored on
    [0, 1], inside the brain) of the stack without a brain mask. A constant
    offset between the stacks costs nothing; it needs ``m >= 1``.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    @float32_island
    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if pred.shape != target.shape:
            raise ValueError(f'{type(self).__name__}: pred has shape {tuple(pred.shape)} '
                             f'but target has shape {tuple(target.shape)}')
        if pred.dim() != 4 or pred.shape[1] < 3:
            raise ValueError(f'{type(self).__name__} needs stacks of a slice and m >= 1 '
                             f'neighbours a side, (B, 2m+1, H, W); got {tuple(pred.shape)} '
                             '(set the data set\'s target_context_slices)')
        step_pred = slice_order(pred).diff(dim=1)
        step_target = slice_order(target).diff(dim=1)
        return self.loss_weight * (step_pred - step_target).abs().mean()
