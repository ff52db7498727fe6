"""The (fully guided) Schrodinger-bridge chain: training chains and inference.

docs/method.md §3 (generation stage during training) and 4 (inference). The same
sampler serves UNSB (``guidance=None``) and FGSB (a guidance schedule): UNSB
is FGSB with the target's weight at zero.
"""
import math
from contextlib import contextmanager
from typing import Callable, Optional, Sequence, Union

import torch
from torch import nn

from fgsb.registry import GUIDANCE, SAMPLERS
from .bridge_step import bridge_step, guided_prediction
from .time_grid import bridge_coefficients, bridge_time_grid

Generator = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def _randn(shape, like: torch.Tensor, generator: Optional[torch.Generator],
           dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """N(0, I) draws on ``like``'s device, in ``like``'s dtype unless ``dtype``
    is given, from an optional seeded generator.

    Drawn on the generator's own device and moved, so that a CPU generator
    also seeds a chain that runs on a GPU.
    """
    device = generator.device if generator is not None else like.device
    noise = torch.randn(shape, generator=generator, device=device)
    return noise.to(device=like.device, dtype=dtype or like.dtype)


def _latent(G: Generator, x: torch.Tensor,
            generator: Optional[torch.Generator]) -> torch.Tensor:
    """A fresh latent ``z ~ N(0, I)`` of ``(B, G.z_dim)`` for the batch ``x``.

    In the dtype of ``G``'s weights, which read it (under autocast a
    prediction fed back to ``G`` may be bf16 while the weights are not).
    """
    network = G if hasattr(G, 'z_dim') else getattr(G, 'module', G)  # DDP keeps .module
    z_dim = getattr(network, 'z_dim', None)
    if z_dim is None:
        raise AttributeError(
            f'the generator {type(G).__name__} has no attribute `z_dim`: the bridge '
            'sampler needs it to draw the latent z of G(x, t_idx, z)')
    weight = next(network.parameters(), None) if isinstance(network, nn.Module) else None
    return _randn((x.shape[0], int(z_dim)), x, generator,
                  dtype=None if weight is None else weight.dtype)


@contextmanager
def _frozen(G: Generator):
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


@SAMPLERS.register_module()
class SchrodingerBridgeSampler:
    """Discretised Schrodinger bridge from the source ``x0`` towards the target domain.

    One step (docs/method.md §2, paper Eq. 7):
    ``X_j = (1 - rho) X_{j-1} + rho * (alpha_j x1 + (1 - alpha_j) Yhat_{j-1}) + sqrt(var) eps``
    with ``Yhat_{j-1} = G(X_{j-1}, j-1, z)``, ``X_0 = x0``; without guidance
    (UNSB, or inference) ``alpha_j = 0``.

    Args:
        num_steps: ``T``, the number of generator evaluations at inference (NFE).
        tau: bridge stochasticity; the step variance is ``tau * delta * (1 - rho)``.
        use_noise: ``False`` is the "w/o noise" ablation (``eps = 0``).
        guidance: ``None`` (unguided, UNSB), a GUIDANCE config dict such as
            ``dict(type='LinearGuidance')``, or a callable
            ``schedule(num_steps) -> [alpha_1, ..., alpha_T]``.
        first_step_weight: how much more often the training step ``k = 0``
            is drawn than each other step: ``P(k = 0) = w / (w + T - 1)``.
            1 (default) is UNSB's uniform draw. A larger weight trains the
            first prediction, on which the whole inference chain builds, more
            often (docs/results.md); one number serves every NFE.
        condition_on_source: ``False`` (default, the paper) gives the generator
            the bridge state alone. ``True`` gives it ``cat(X_j, x0)`` at every
            step, the chain's own source as a second channel (conditional
            diffusion models do the same), so that no step has to read the
            anatomy from the half-way average of two contrasts
            (docs/results.md, "Why FGSB (2) trails Pix2Pix (2)"). The
            generator then needs twice the image channels as input.

    The generator is any callable ``G(x, t_idx, z)`` with ``t_idx`` a LongTensor
    ``(B,)`` of step indices and ``z`` a latent ``(B, G.z_dim)``. Every method
    takes an optional ``torch.Generator``: the same seed gives the same chain.
    """

    def __init__(self, num_steps: int = 5, tau: float = 0.01, use_noise: bool = True,
                 guidance: Union[None, dict, Callable[[int], Sequence[float]]] = None,
                 first_step_weight: float = 1.0, condition_on_source: bool = False):
        if tau < 0:
            raise ValueError(f'tau must be >= 0, got {tau}')
        self.num_steps = num_steps
        self.tau = float(tau)
        self.use_noise = bool(use_noise)
        self.grid = bridge_time_grid(num_steps)
        if isinstance(guidance, dict):
            guidance = GUIDANCE.build(guidance)
        if guidance is not None and not callable(guidance):
            raise TypeError('guidance must be None, a GUIDANCE config dict or a callable '
                            f'schedule(num_steps), got {type(guidance).__name__}')
        self.guidance = guidance
        # Built once here so that a bad schedule fails when the config is read.
        self.alphas = None if guidance is None else list(guidance(num_steps))
        if self.alphas is not None and len(self.alphas) != num_steps:
            raise ValueError(f'guidance schedule returned {len(self.alphas)} weights '
                             f'for num_steps={num_steps}')
        if not (math.isfinite(first_step_weight) and first_step_weight > 0):
            raise ValueError(f'first_step_weight must be a positive number, '
                             f'got {first_step_weight}')
        self.first_step_weight = float(first_step_weight)
        weights = torch.ones(num_steps, dtype=torch.float64)
        weights[0] = self.first_step_weight
        self.step_probs = weights / weights.sum()
        self.condition_on_source = bool(condition_on_source)

    def guidance_weights(self) -> Optional[list[float]]:
        """``[alpha_1, ..., alpha_T]``, or ``None`` for an unguided (UNSB) sampler."""
        return None if self.alphas is None else list(self.alphas)

    def draw_step_index(self, generator: Optional[torch.Generator] = None) -> int:
        """``k ~ U{0, ..., T-1}`` (docs/method.md §3.1), or step 0 weighted by
        ``first_step_weight``: the step trained in this iteration."""
        device = generator.device if generator is not None else 'cpu'
        if self.first_step_weight == 1.0:
            return int(torch.randint(self.num_steps, (1,), generator=generator,
                                     device=device).item())
        return int(torch.multinomial(self.step_probs.to(device), 1,
                                     generator=generator).item())

    # ------------------------------------------------------------------ training
    def run_chain(self, G: Generator, x0: torch.Tensor, k: int,
                  target: Optional[torch.Tensor] = None,
                  generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``X_k`` after steps ``j = 1..k`` from ``X_0 = x0`` (docs/method.md §3.2).

        Guided towards ``target`` when this sampler has a guidance schedule and
        a target is given. Runs without gradients with ``G`` in eval mode
        (restored afterwards); ``k`` generator calls.
        """
        return self.run_training_chains(G, [x0], k, [target], generator)[0]

    def run_training_chains(self, G: Generator, sources: Sequence[torch.Tensor], k: int,
                            targets: Optional[Sequence[Optional[torch.Tensor]]] = None,
                            generator: Optional[torch.Generator] = None,
                            guidance_scale: float = 1.0) -> list[torch.Tensor]:
        """Several no-grad chains advanced together, one ``G`` call per step.

        The chains of docs/method.md §3 (source ``x0``, identity from ``x1``, a
        second sample for the MI estimator's negatives) are concatenated along
        the batch, advanced ``k`` steps with ``k`` generator calls, and split
        back. Each chain is guided by its own target, or unguided where its
        target is ``None`` or the sampler has no guidance. ``guidance_scale``
        multiplies every ``alpha_j`` (FGSB's ``guidance_anneal`` lowers it over
        training; 0 gives the unguided chain that inference runs).

        Returns:
            ``[X_k]`` for each source, in order.
        """
        if not 0.0 <= guidance_scale <= 1.0:
            raise ValueError(f'guidance_scale must lie in [0, 1], got {guidance_scale}')
        k = int(k)
        if not 0 <= k <= self.num_steps:
            raise ValueError(f'step index k must be in 0..{self.num_steps}, got {k}')
        if len(sources) == 0:
            raise ValueError('run_training_chains needs at least one source batch')
        targets = [None] * len(sources) if targets is None else list(targets)
        if len(targets) != len(sources):
            raise ValueError(f'got {len(sources)} sources but {len(targets)} targets; '
                             'give one target (or None) per source')
        for i, (source, target) in enumerate(zip(sources, targets)):
            if source.shape[1:] != sources[0].shape[1:]:
                raise ValueError(f'source {i} has shape {tuple(source.shape)}, source 0 '
                                 f'{tuple(sources[0].shape)}: chains must share C, H, W')
            if target is not None and target.shape != source.shape:
                raise ValueError(f'target {i} has shape {tuple(target.shape)} but its '
                                 f'source has shape {tuple(source.shape)}')
        sizes = [source.shape[0] for source in sources]
        x = torch.cat(list(sources), dim=0)
        condition = x  # every chain is conditioned on its own source
        with _frozen(G):
            for j in range(1, k + 1):
                y_hat = self.predict(G, x, j - 1, generator, source=condition)
                if self.alphas is not None:
                    y_hat = torch.cat([
                        y if target is None else
                        guided_prediction(y, target, guidance_scale * self.alphas[j - 1])
                        for y, target in zip(y_hat.split(sizes), targets)])
                x = self._step(x, y_hat, self.grid, j, generator)
        return list(x.split(sizes))

    # ----------------------------------------------------------------- inference
    def sample(self, G: Generator, x0: torch.Tensor, num_steps: Optional[int] = None,
               generator: Optional[torch.Generator] = None,
               return_intermediates: bool = False):
        """Inference (docs/method.md §4): no target, exactly ``T`` generator calls.

        ``Yhat_j = G(X_j, j, z)`` for ``j = 0..T-1``, with
        ``X_{j+1} = (1 - rho) X_j + rho Yhat_j + sqrt(var) eps`` between calls.

        Args:
            num_steps: NFE for this call; defaults to the sampler's ``T`` (a
                different value uses its own grid and step indices ``0..T'-1``).
            return_intermediates: also return ``[Yhat_0, ..., Yhat_{T-1}]``.

        Returns:
            ``Yhat_{T-1}``, or ``(Yhat_{T-1}, [Yhat_0, ..., Yhat_{T-1}])``.
        """
        num_steps = self.num_steps if num_steps is None else num_steps
        grid = self.grid if num_steps == self.num_steps else bridge_time_grid(num_steps)
        predictions = []
        x = x0
        with _frozen(G):
            for j in range(num_steps):
                y_hat = self.predict(G, x, j, generator, source=x0)
                predictions.append(y_hat)
                if j < num_steps - 1:
                    x = self._step(x, y_hat, grid, j + 1, generator)
        if return_intermediates:
            return predictions[-1], predictions
        return predictions[-1]

    def training_predictions(self, G: Generator, x0: torch.Tensor,
                             target: Optional[torch.Tensor] = None,
                             generator: Optional[torch.Generator] = None
                             ) -> list[torch.Tensor]:
        """``[G(X_k, k, z) for k = 0..T-1]``, each ``X_k`` from its own training
        chain guided towards ``target`` at full guidance: what the pass with
        gradients shows the generator at step ``k`` (no gradients, eval mode)."""
        with _frozen(G):
            return [self.predict(G, self.run_chain(G, x0, k, target, generator), k,
                                 generator, source=x0)
                    for k in range(self.num_steps)]

    # ------------------------------------------------ the generator calls, all here
    def predict(self, G: Generator, x: torch.Tensor, step: int,
                generator: Optional[torch.Generator] = None,
                source: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``G(X_step, step, z)`` with a fresh latent ``z ~ N(0, I)`` (with
        gradients and in ``G``'s current mode: callers choose both).

        ``source`` is the chain's ``x0``; a sampler with
        ``condition_on_source`` needs it and feeds ``cat(X_step, x0)``.
        """
        z = _latent(G, x, generator)
        return G(self.generator_input(x, source), self._step_indices(x, step), z)

    def encode(self, G: Generator, x: torch.Tensor, step: int, layer_ids: Sequence[int],
               generator: Optional[torch.Generator] = None,
               source: Optional[torch.Tensor] = None) -> list[torch.Tensor]:
        """``G.encode(X_step, step, z, layer_ids)``, the encoder features that
        PatchNCE reads, with a fresh ``z`` and ``source`` as in :meth:`predict`."""
        z = _latent(G, x, generator)
        return G.encode(self.generator_input(x, source), self._step_indices(x, step), z,
                        layer_ids)

    def generator_input(self, x: torch.Tensor,
                        source: Optional[torch.Tensor]) -> torch.Tensor:
        """What the generator reads for state ``x`` of the chain from ``source``:
        ``x`` itself, or ``cat(x, source)`` with ``condition_on_source``."""
        if not self.condition_on_source:
            return x
        if source is None:
            raise ValueError('this sampler has condition_on_source=True: give the '
                             "chain's source x0 (source=...) with every generator call")
        if source.shape != x.shape:
            raise ValueError(f'source has shape {tuple(source.shape)} but the bridge '
                             f'state has shape {tuple(x.shape)}')
        return torch.cat([x, source], dim=1)

    @staticmethod
    def _step_indices(x: torch.Tensor, step: int) -> torch.Tensor:
        return torch.full((x.shape[0],), step, dtype=torch.long, device=x.device)

    def _step(self, x: torch.Tensor, y_hat: torch.Tensor, grid: torch.Tensor, j: int,
              generator: Optional[torch.Generator]) -> torch.Tensor:
        rho, var_over_tau = bridge_coefficients(grid, j)
        var = self.tau * var_over_tau
        noise = _randn(x.shape, x, generator) if self.use_noise and var > 0 else None
        return bridge_step(x, y_hat, rho, var, noise)
