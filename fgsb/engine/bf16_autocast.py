"""bf16 mixed precision that runs on CPU as well as on CUDA.

MMEngine's ``AmpOptimWrapper`` insists on CUDA and a float16 loss scaler.
bfloat16 keeps float32's exponent range, so it needs no loss scaling, and
recent CPUs (AVX512-BF16, AMX) run it natively.
"""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from fgsb.registry import OPTIM_WRAPPERS


def bf16_autocast_for(model):
    """bf16 autocast on the device that holds ``model``'s weights."""
    device_type = next(model.parameters()).device.type
    return torch.autocast(device_type=device_type, dtype=torch.bfloat16)


@OPTIM_WRAPPERS.register_module()
class BF16AutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose ``optim_context`` runs under bf16 autocast."""

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), bf16_autocast_for(model):
            yield


def enable_bf16_autocast(cfg):
    """Switch every optimiser wrapper of a config to bf16 autocast."""
    optim_cfg = cfg.optim_wrapper
    if 'constructor' in optim_cfg:
        # a network switched off in an ablation has no wrapper (None)
        wrappers = [v for k, v in optim_cfg.items() if k != 'constructor' and v is not None]
    else:
        wrappers = [optim_cfg]
    for wrapper in wrappers:
        wrapper['type'] = 'BF16AutocastOptimWrapper'
    return cfg
