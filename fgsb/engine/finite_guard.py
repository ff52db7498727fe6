"""Stop a diverging training at its first non-finite loss.

A run whose learning rate is far too high (or whose scheduler multiplies it
by 1e10) used to train on with NaN losses to the end, exit 0, and let the
checkpoint rotation replace the last good checkpoints by all-NaN ones.
:class:`FiniteLossHook` checks the losses every iteration and stops the run
with :class:`NonFiniteTrainingError`; the checkpoint hook
(:class:`fgsb.engine.finite_checkpoint_hook.FiniteCheckpointHook`) refuses to
write non-finite weights, which a finite loss can still hide (the last
update may be the one that overflowed).
"""
import math

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook

from fgsb.registry import HOOKS


class NonFiniteTrainingError(RuntimeError):
    """Training produced a NaN or infinite loss or weight."""


def non_finite_names(values):
    """Names of the non-finite entries of a mapping of numbers or tensors
    (tensors: floating ones with any NaN/Inf element)."""
    bad = []
    for name, value in values.items():
        if isinstance(value, torch.Tensor):
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                bad.append(name)
        elif isinstance(value, (int, float)) and not math.isfinite(value):
            bad.append(name)
    return bad


def last_checkpoint_note(runner):
    """Where the run can restart from, for the error message."""
    last = runner.message_hub.get_info('last_ckpt')
    return (f'the newest finite checkpoint is {last}' if last
            else 'no checkpoint was written')


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """After each training iteration, stop when a logged loss is NaN or
    infinite (on any rank), before any checkpoint of that iteration.

    Raises ``NonFiniteTrainingError`` naming the iteration, the losses and
    the newest checkpoint; ``tools/train.py`` prints it as one line and
    exits non-zero.
    """

    priority = 'HIGH'  # before the image grid, the logger and the checkpoint

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        bad = non_finite_names(outputs or {})
        if get_world_size() > 1:  # every rank stops at the same iteration
            flag = torch.tensor(float(bool(bad)))
            all_reduce(flag, op='sum')
            if flag.item() and not bad:
                bad = ['a loss on another rank']
        if bad:
            values = ', '.join(f'{name}={outputs[name]}' for name in bad if name in outputs)
            raise NonFiniteTrainingError(
                f'training diverged at iteration {runner.iter + 1}: non-finite '
                f"{values or ', '.join(bad)}; stopped, {last_checkpoint_note(runner)}")
