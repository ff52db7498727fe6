"""SynDiff's adversarial diffusion: a few large denoising steps, each a
generator call that predicts the clean target (docs/method.md §12).

Training (DDGAN's formulation): draw a state ``k`` in ``1..T``, diffuse the
target to the pair ``(x_{k-1}, x_k)``; the generator predicts ``x0_hat``
from ``x_k`` and the source, and the fake pair is
``(x'_{k-1} ~ q(x_{k-1} | x_k, x0_hat), x_k)``. Inference: ``x_T ~ N(0, I)``,
then ``T`` generator calls, each followed by a posterior sample.
"""
from typing import Optional

import torch

from fgsb.registry import SAMPLERS
from .diffusion_schedule import (inference_states, posterior_coefficients, step_betas,
                                 vp_alpha_bars)
from .generator_calls import Generator, draw_latent, frozen_generator
from .slice_noise import draw_normal


def _per_sample(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """float64 values (B,) as a (B, 1, 1, 1) tensor in ``like``'s dtype and device."""
    return values.to(device=like.device, dtype=like.dtype).view(-1, *[1] * (like.dim() - 1))


def _states(k, x: torch.Tensor) -> torch.Tensor:
    """``k`` (an int or a tensor (B,)) as a CPU LongTensor (B,) for the batch ``x``."""
    k = torch.as_tensor(k, dtype=torch.long).cpu()
    return k.expand(x.shape[0]) if k.dim() == 0 else k


@SAMPLERS.register_module()
class AdversarialDiffusionSampler:
    """The diffusion of SynDiff (Ozbey et al., IEEE TMI 2023) with ``T`` large
    steps: the variance-preserving schedule of SynDiff's and DDGAN's code
    (``beta_min = 0.1``, ``beta_max = 20``, ``T = 4``: the paper's fast
    sampling, T/k = 4 steps), :func:`vp_alpha_bars`.

    The generator is any callable ``G(cat(x_k, source), t_idx, z)`` with
    ``t_idx = k - 1`` (a LongTensor (B,) in ``0..T-1``) and ``z ~ N(0, I)`` of
    ``(B, G.z_dim)``; it returns the predicted clean target. Every method
    takes an optional ``torch.Generator``: the same seed gives the same draws.
    """

    def __init__(self, num_steps: int = 4, beta_min: float = 0.1, beta_max: float = 20.0):
        self.alpha_bars = vp_alpha_bars(num_steps, beta_min, beta_max)
        self.betas = step_betas(self.alpha_bars)
        self.num_steps = num_steps

    # ------------------------------------------------------------ the process
    def draw_states(self, batch_size: int, device=None,
                    generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``k ~ U{1, ..., T}`` for each sample (SynDiff draws one a sample)."""
        draw_device = generator.device if generator is not None else 'cpu'
        k = torch.randint(1, self.num_steps + 1, (batch_size,), generator=generator,
                          device=draw_device)
        return k if device is None else k.to(device)

    def q_sample(self, x0: torch.Tensor, k, generator: Optional[torch.Generator] = None
                 ) -> torch.Tensor:
        """``x_k ~ q(x_k | x_0) = N(sqrt(alpha_bar_k) x_0, (1 - alpha_bar_k) I)``."""
        bar = self.alpha_bars[_states(k, x0)]
        return (_per_sample(bar.sqrt(), x0) * x0
                + _per_sample((1.0 - bar).sqrt(), x0) * draw_normal(x0.shape, x0, generator))

    def q_sample_pair(self, x0: torch.Tensor, k, generator: Optional[torch.Generator] = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """The real pair ``(x_{k-1}, x_k)``: ``x_{k-1} ~ q(x_{k-1} | x_0)``, then
        one forward step ``x_k = sqrt(1 - beta_k) x_{k-1} + sqrt(beta_k) eps``."""
        k = _states(k, x0)
        if ((k < 1) | (k > self.num_steps)).any():
            raise ValueError(f'states k must lie in 1..{self.num_steps}, got {k.tolist()}')
        x_prev = self.q_sample(x0, k - 1, generator)
        beta = self.betas[k - 1]
        x_k = (_per_sample((1.0 - beta).sqrt(), x0) * x_prev
               + _per_sample(beta.sqrt(), x0) * draw_normal(x0.shape, x0, generator))
        return x_prev, x_k

    def posterior_mean_variance(self, x0: torch.Tensor, x_k: torch.Tensor, k, j=None
                                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance ((B, 1, 1, 1)) of ``q(x_j | x_k, x_0)``; ``j``
        defaults to ``k - 1``, one step back."""
        k = _states(k, x_k)
        j = k - 1 if j is None else _states(j, x_k)
        coef_x0, coef_xk, variance = posterior_coefficients(self.alpha_bars, k, j)
        mean = _per_sample(coef_x0, x_k) * x0 + _per_sample(coef_xk, x_k) * x_k
        return mean, _per_sample(variance, x_k)

    def posterior_sample(self, x0: torch.Tensor, x_k: torch.Tensor, k, j=None,
                         generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``x_j ~ q(x_j | x_k, x_0)`` (``j = k - 1`` by default), differentiable
        in ``x0``: how a predicted ``x0_hat`` becomes the fake ``x'_{k-1}``."""
        mean, variance = self.posterior_mean_variance(x0, x_k, k, j)
        return mean + variance.sqrt() * draw_normal(x_k.shape, x_k, generator)

    # ---------------------------------------------------- the generator calls
    def predict(self, G: Generator, x_k: torch.Tensor, k, source: torch.Tensor,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``x0_hat = G(cat(x_k, source), k - 1, z)`` with a fresh latent ``z``
        (with gradients and in ``G``'s current mode: callers choose both).
        ``source`` may have more channels than ``x_k`` (2.5D input: the slice
        and its neighbours, docs/volumes.md)."""
        if source.shape[0] != x_k.shape[0] or source.shape[2:] != x_k.shape[2:]:
            raise ValueError(f'source has shape {tuple(source.shape)} but the diffusion '
                             f'state has shape {tuple(x_k.shape)}: they must share B, H, W')
        t_idx = (_states(k, x_k) - 1).to(x_k.device)
        return G(torch.cat([x_k, source], dim=1), t_idx, draw_latent(G, x_k, generator))

    def sample(self, G: Generator, source: torch.Tensor, num_steps: Optional[int] = None,
               generator: Optional[torch.Generator] = None,
               return_intermediates: bool = False, state_channels: Optional[int] = None):
        """Inference: ``x_T ~ N(0, I)`` (``state_channels``, default the
        source's), then exactly ``num_steps`` (default
        ``T``) generator calls without gradients, ``G`` in eval mode.

        Call ``i`` reads the state ``k_i`` (:func:`inference_states`) and the
        posterior ``q(x_{k_{i+1}} | x_{k_i}, x0_hat)`` draws the next state; the
        last lands on ``x_0``, where the posterior is the point ``x0_hat``.

        Returns:
            the last ``x0_hat``, or ``(x0_hat, [x0_hat of each call])``.
        """
        states = inference_states(self.num_steps, self.num_steps if num_steps is None
                                  else num_steps)
        predictions = []
        channels = source.shape[1] if state_channels is None else int(state_channels)
        x = draw_normal((source.shape[0], channels, *source.shape[2:]), source, generator)
        with frozen_generator(G):
            for i, k in enumerate(states):
                x0_hat = self.predict(G, x, k, source, generator)
                predictions.append(x0_hat)
                if i + 1 < len(states):
                    x = self.posterior_sample(x0_hat, x, k, states[i + 1], generator)
        if return_intermediates:
            return predictions[-1], predictions
        return predictions[-1]
