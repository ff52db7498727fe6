"""Shared plumbing of the prior builders: numpy/torch in, the same kind out."""
from typing import Optional

import numpy as np
import torch


def as_numpy(array, name: str) -> Optional[np.ndarray]:
    """``array`` as a numpy array (``None`` stays ``None``); torch tensors are copied to CPU."""
    if array is None:
        return None
    if isinstance(array, torch.Tensor):
        return array.detach().cpu().numpy()
    if isinstance(array, np.ndarray):
        return array
    raise TypeError(f'{name} must be a numpy array or a torch tensor, got {type(array).__name__}')


def check_mask_shape(reference: np.ndarray, mask: Optional[np.ndarray],
                     reference_name: str, mask_name: str) -> None:
    """Refuse a mask (``None`` passes) whose shape differs from ``reference``'s."""
    if mask is not None and mask.shape != reference.shape:
        raise ValueError(f'{mask_name} has shape {mask.shape} but {reference_name} '
                         f'has shape {reference.shape}')


def binary_map_like(mask: np.ndarray, like) -> "np.ndarray | torch.Tensor":
    """A float32 ``{0, 1}`` map of ``mask``, a tensor on ``like``'s device if ``like`` is one."""
    prior = mask.astype(np.float32)
    if isinstance(like, torch.Tensor):
        return torch.from_numpy(prior).to(like.device)
    return prior
