"""How a sampler calls its generator ``G(x, t_idx, z)``: the latent ``z`` it
draws for a batch and the frozen mode of inference. Shared by the bridge
(``SchrodingerBridgeSampler``) and the diffusion (``AdversarialDiffusionSampler``)."""
from contextlib import contextmanager
from typing import Callable

import torch
from torch import nn

from .slice_noise import draw_normal

Generator = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def draw_latent(G: Generator, x: torch.Tensor, generator=None) -> torch.Tensor:
    """A fresh latent ``z ~ N(0, I)`` of ``(B, G.z_dim)`` for the batch ``x``,
    from ``generator`` (a ``torch.Generator``, a ``SliceNoise`` or None:
    ``draw_normal``).

    In the dtype of ``G``'s weights, which read it (under autocast a
    prediction fed back to ``G`` may be bf16 while the weights are not).
    """
    network = G if hasattr(G, 'z_dim') else getattr(G, 'module', G)  # DDP keeps .module
    z_dim = getattr(network, 'z_dim', None)
    if z_dim is None:
        raise AttributeError(
            f'the generator {type(G).__name__} has no attribute `z_dim`: the sampler '
            'needs it to draw the latent z of G(x, t_idx, z)')
    weight = next(network.parameters(), None) if isinstance(network, nn.Module) else None
    return draw_normal((x.shape[0], int(z_dim)), x, generator,
                       dtype=None if weight is None else weight.dtype)


@contextmanager
def frozen_generator(G: Generator):
    """No gradients and eval mode for ``G``; every submodule's mode is restored after."""
    modes = [(m, m.training) for m in G.modules()] if isinstance(G, nn.Module) else []
    try:
        if isinstance(G, nn.Module):
            G.eval()
        with torch.no_grad():
            yield
    finally:
        for module, training in modes:
            module.training = training
