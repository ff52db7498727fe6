"""The (fully guided) Schrodinger-bridge chain: training chains and inference.

docs/method.md §3 (generation stage during training) and 4 (inference). The same
sampler serves UNSB (``guidance=None``) and FGSB (a guidance schedule): UNSB
is FGSB with the target's weight at zero.
"""
import math
from typing import Callable, Optional, Sequence, Union

import torch

from fgsb.registry import GUIDANCE, SAMPLERS
from .bridge_step import bridge_step, guided_prediction
from .generator_calls import Generator, draw_latent, frozen_generator
from .slice_noise import draw_normal
from .time_grid import bridge_coefficients, bridge_time_grid


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

    2.5D input (docs/volumes.md): every method also takes the neighbour
    slices of the chain's source (``context``, ``contexts``), which the
    generator reads after the state (and the source) at every call; the
    bridge itself runs on the centre slice alone.

    The generator is any callable ``G(x, t_idx, z)`` with ``t_idx`` a LongTensor
    ``(B,)`` of step indices and ``z`` a latent ``(B, G.z_dim)``. Every method
    takes an optional ``torch.Generator``: the same seed gives the same chain;
    ``sample`` also takes a ``SliceNoise`` (``fgsb.samplers.slice_noise``),
    which makes the draws consistent across the slices of a volume.
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
                  generator: Optional[torch.Generator] = None,
                  context: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``X_k`` after steps ``j = 1..k`` from ``X_0 = x0`` (docs/method.md §3.2).

        Guided towards ``target`` when this sampler has a guidance schedule and
        a target is given. Runs without gradients with ``G`` in eval mode
        (restored afterwards); ``k`` generator calls.
        """
        return self.run_training_chains(G, [x0], k, [target], generator,
                                        contexts=None if context is None else [context])[0]

    def run_training_chains(self, G: Generator, sources: Sequence[torch.Tensor], k: int,
                            targets: Optional[Sequence[Optional[torch.Tensor]]] = None,
                            generator: Optional[torch.Generator] = None,
                            guidance_scale: float = 1.0,
                            contexts: Optional[Sequence[torch.Tensor]] = None
                            ) -> list[torch.Tensor]:
        """Several no-grad chains advanced together, one ``G`` call per step.

        The chains of docs/method.md §3 (source ``x0``, identity from ``x1``, a
        second sample for the MI estimator's negatives) are concatenated along
        the batch, advanced ``k`` steps with ``k`` generator calls, and split
        back. Each chain is guided by its own target, or unguided where its
        target is ``None`` or the sampler has no guidance. ``guidance_scale``
        multiplies every ``alpha_j`` (FGSB's ``guidance_anneal`` lowers it over
        training; 0 gives the unguided chain that inference runs).
        ``contexts``: each chain's neighbour slices (2.5D input), or None.

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
        if contexts is not None and len(contexts) != len(sources):
            raise ValueError(f'got {len(sources)} sources but {len(contexts)} contexts; '
                             'give one context per source')
        context = None if contexts is None else torch.cat(list(contexts), dim=0)
        with frozen_generator(G):
            for j in range(1, k + 1):
                y_hat = self.predict(G, x, j - 1, generator, source=condition,
                                     context=context)
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
               return_intermediates: bool = False,
               context: Optional[torch.Tensor] = None):
        """Inference (docs/method.md §4): no target, exactly ``T`` generator calls.

        ``Yhat_j = G(X_j, j, z)`` for ``j = 0..T-1``, with
        ``X_{j+1} = (1 - rho) X_j + rho Yhat_j + sqrt(var) eps`` between calls.

        Args:
            num_steps: NFE for this call; defaults to the sampler's ``T`` (a
                different value uses its own grid and step indices ``0..T'-1``).
            return_intermediates: also return ``[Yhat_0, ..., Yhat_{T-1}]``.
            context: the neighbour slices of ``x0`` (2.5D input), or None.

        Returns:
            ``Yhat_{T-1}``, or ``(Yhat_{T-1}, [Yhat_0, ..., Yhat_{T-1}])``.
        """
        num_steps = self.num_steps if num_steps is None else num_steps
        grid = self.grid if num_steps == self.num_steps else bridge_time_grid(num_steps)
        predictions = []
        x = x0
        with frozen_generator(G):
            for j in range(num_steps):
                y_hat = self.predict(G, x, j, generator, source=x0, context=context)
                predictions.append(y_hat)
                if j < num_steps - 1:
                    x = self._step(x, y_hat, grid, j + 1, generator)
        if return_intermediates:
            return predictions[-1], predictions
        return predictions[-1]

    def training_predictions(self, G: Generator, x0: torch.Tensor,
                             target: Optional[torch.Tensor] = None,
                             generator: Optional[torch.Generator] = None,
                             context: Optional[torch.Tensor] = None
                             ) -> list[torch.Tensor]:
        """``[G(X_k, k, z) for k = 0..T-1]``, each ``X_k`` from its own training
        chain guided towards ``target`` at full guidance: what the pass with
        gradients shows the generator at step ``k`` (no gradients, eval mode)."""
        with frozen_generator(G):
            return [self.predict(G, self.run_chain(G, x0, k, target, generator, context), k,
                                 generator, source=x0, context=context)
                    for k in range(self.num_steps)]

    # ------------------------------------------------ the generator calls, all here
    def predict(self, G: Generator, x: torch.Tensor, step: int,
                generator: Optional[torch.Generator] = None,
                source: Optional[torch.Tensor] = None,
                context: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``G(X_step, step, z)`` with a fresh latent ``z ~ N(0, I)`` (with
        gradients and in ``G``'s current mode: callers choose both).

        ``source`` is the chain's ``x0``; a sampler with
        ``condition_on_source`` needs it and feeds ``cat(X_step, x0)``.
        ``context`` (2.5D input) is appended after them.
        """
        z = draw_latent(G, x, generator)
        return G(self.generator_input(x, source, context), self._step_indices(x, step), z)

    def encode(self, G: Generator, x: torch.Tensor, step: int, layer_ids: Sequence[int],
               generator: Optional[torch.Generator] = None,
               source: Optional[torch.Tensor] = None,
               context: Optional[torch.Tensor] = None) -> list[torch.Tensor]:
        """``G.encode(X_step, step, z, layer_ids)``, the encoder features that
        PatchNCE reads, with a fresh ``z`` and ``source`` as in :meth:`predict`."""
        z = draw_latent(G, x, generator)
        return G.encode(self.generator_input(x, source, context), self._step_indices(x, step),
                        z, layer_ids)

    def generator_input(self, x: torch.Tensor, source: Optional[torch.Tensor],
                        context: Optional[torch.Tensor] = None) -> torch.Tensor:
        """What the generator reads for state ``x`` of the chain from ``source``:
        ``x`` itself, or ``cat(x, source)`` with ``condition_on_source``; then
        the neighbour slices ``context`` where given (2.5D input)."""
        parts = [x]
        if self.condition_on_source:
            if source is None:
                raise ValueError('this sampler has condition_on_source=True: give the '
                                 "chain's source x0 (source=...) with every generator call")
            if source.shape != x.shape:
                raise ValueError(f'source has shape {tuple(source.shape)} but the bridge '
                                 f'state has shape {tuple(x.shape)}')
            parts.append(source)
        if context is not None:
            if context.shape[0] != x.shape[0] or context.shape[2:] != x.shape[2:]:
                raise ValueError(f'context has shape {tuple(context.shape)} but the bridge '
                                 f'state has shape {tuple(x.shape)}: they must share B, H, W')
            parts.append(context)
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

    @staticmethod
    def _step_indices(x: torch.Tensor, step: int) -> torch.Tensor:
        return torch.full((x.shape[0],), step, dtype=torch.long, device=x.device)

    def _step(self, x: torch.Tensor, y_hat: torch.Tensor, grid: torch.Tensor, j: int,
              generator: Optional[torch.Generator]) -> torch.Tensor:
        rho, var_over_tau = bridge_coefficients(grid, j)
        var = self.tau * var_over_tau
        noise = draw_normal(x.shape, x, generator) if self.use_noise and var > 0 else None
        return bridge_step(x, y_hat, rho, var, noise)
