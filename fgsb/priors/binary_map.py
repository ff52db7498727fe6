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


def check_same_shape(reference: np.ndarray, other: Optional[np.ndarray],
                     reference_name: str, other_name: str) -> None:
    if other is not None and other.shape != reference.shape:
        raise ValueError(f'{other_name} has shape {other.shape} but {reference_name} '
                         f'has shape {reference.shape}')


def binary_map_like(mask: np.ndarray, like) -> "np.ndarray | torch.Tensor":
    """A float32 ``{0, 1}`` map of ``mask``, a tensor on ``like``'s device if ``like`` is one."""
    prior = mask.astype(np.float32)
    if isinstance(like, torch.Tensor):
        return torch.from_numpy(prior).to(like.device)
    return prior
