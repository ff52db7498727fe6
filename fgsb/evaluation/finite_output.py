"""Non-finite model output is an error, never a score or a file.

A model with NaN weights (a diverged run) predicts NaN: scored, it would
report ``PSNR: nan``; written, a volume with NaN voxels. Both the
evaluators and volume synthesis refuse it with this error instead.
"""
import numpy as np
import torch


class NonFiniteOutputError(ValueError):
    """A model output holding NaN or Inf values; the message names where."""


def non_finite_count(values):
    """How many NaN/Inf values a tensor or array holds."""
    if isinstance(values, torch.Tensor):
        return int((~torch.isfinite(values)).sum())
    return int((~np.isfinite(np.asarray(values))).sum())
