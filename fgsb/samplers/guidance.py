"""Guidance-weight schedules ``alpha_j`` of FGSB (docs/method.md §2, paper Eq. 7).

The paper pulls the bridge towards the paired target with a high weight in the
first steps and a lower one later, without giving numbers. A schedule is a
callable ``schedule(num_steps) -> [alpha_1, ..., alpha_T]``; ``alpha_j``
weighs the target in step ``j`` (from ``X_{j-1}`` to ``X_j``). Training draws
``k <= T-1``, so ``alpha_T`` is never used there; it is listed for a complete
``j = 1..T`` table.
"""
import math
from typing import Sequence

from fgsb.registry import GUIDANCE


def _check_weights(weights: Sequence[float], name: str) -> list[float]:
    weights = [float(w) for w in weights]
    bad = [w for w in weights if not 0.0 <= w <= 1.0]
    if bad:
        raise ValueError(f'{name}: guidance weights must lie in [0, 1], got {bad}')
    return weights


def _check_num_steps(num_steps: int) -> None:
    if not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f'num_steps must be an integer >= 1, got {num_steps!r}')


@GUIDANCE.register_module()
class LinearGuidance:
    """``alpha_j = 1 - (j-1)/(T-1)``: T=5 gives 1, 0.75, 0.5, 0.25, 0 (the default, ours).

    ``T = 1`` gives ``[1.0]``: the one step is fully guided.
    """

    def __call__(self, num_steps: int) -> list[float]:
        _check_num_steps(num_steps)
        if num_steps == 1:
            return [1.0]
        return [1.0 - (j - 1) / (num_steps - 1) for j in range(1, num_steps + 1)]


@GUIDANCE.register_module()
class CosineGuidance:
    """``alpha_j = (1 + cos(pi (j-1)/(T-1))) / 2``: 1 at the first step, 0 at the last.

    Keeps the target's weight high for longer than :class:`LinearGuidance`
    and lowers it faster in the middle. ``T = 1`` gives ``[1.0]``.
    """

    def __call__(self, num_steps: int) -> list[float]:
        _check_num_steps(num_steps)
        if num_steps == 1:
            return [1.0]
        return [0.5 * (1.0 + math.cos(math.pi * (j - 1) / (num_steps - 1)))
                for j in range(1, num_steps + 1)]


@GUIDANCE.register_module()
class ConstantGuidance:
    """The same ``alpha`` at every step (``value = 0`` is UNSB's unguided chain)."""

    def __init__(self, value: float = 0.5):
        self.value = _check_weights([value], 'ConstantGuidance')[0]

    def __call__(self, num_steps: int) -> list[float]:
        _check_num_steps(num_steps)
        return [self.value] * num_steps


@GUIDANCE.register_module()
class ListGuidance:
    """User-given weights ``[alpha_1, ..., alpha_T]``; their number must equal ``T``."""

    def __init__(self, weights: Sequence[float]):
        self.weights = _check_weights(weights, 'ListGuidance')

    def __call__(self, num_steps: int) -> list[float]:
        _check_num_steps(num_steps)
        if len(self.weights) != num_steps:
            raise ValueError(
                f'ListGuidance has {len(self.weights)} weights {self.weights} but the '
                f'sampler takes num_steps={num_steps}; give one weight per step j=1..T')
        return list(self.weights)


def annealed_guidance_scale(progress: float, start: float, end: float) -> float:
    """Factor on every ``alpha_j`` at training ``progress`` in [0, 1]: 1 until
    ``start``, then linearly down to 0 at ``end``, 0 after.

    Late in training the chain then runs on the generator's own predictions,
    as inference does (scheduled sampling, Bengio et al. 2015), while early
    training keeps the target's guidance.
    """
    if not 0.0 <= start < end <= 1.0:
        raise ValueError(f'guidance annealing needs 0 <= start < end <= 1, got '
                         f'start={start}, end={end}')
    return float(min(1.0, max(0.0, (end - progress) / (end - start))))
