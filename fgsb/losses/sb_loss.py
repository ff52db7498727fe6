"""The Schrodinger-bridge loss of the generator and the MI estimator's loss (UNSB).

docs/method.md §5: with ``P = cat(X_k, Yhat)`` and ``P' = cat(X'_k, Yhat')`` along
channels, ``E(P, k, P)`` scores matched pairs and ``E(P, k, P')`` mismatched
ones. ``ET = mean(E(P, k, P)) - logsumexp(E(P, k, P'))`` is the (MINE-style)
estimate of the mutual information between ``X_k`` and ``Yhat``.
"""
import torch
from torch import nn

from fgsb.engine.precision import float32_island
from fgsb.registry import MODELS


def _mi_lower_bound(energy_pos: torch.Tensor, energy_neg: torch.Tensor) -> torch.Tensor:
    """``ET = mean(E(P, k, P)) - logsumexp(E(P, k, P'))`` over all entries."""
    return energy_pos.mean() - torch.logsumexp(energy_neg.flatten(), dim=0)


def _step_index(k) -> int:
    if isinstance(k, torch.Tensor):
        if k.numel() == 0 or not bool((k == k.flatten()[0]).all()):
            raise ValueError(f'step index k must be one value for the batch, got {k}')
        k = k.flatten()[0].item()
    return int(k)


@MODELS.register_module()
class SchrodingerBridgeLoss(nn.Module):
    """``L_MI = -((T - k)/T) * tau * ET + tau * mean((X_k - Yhat)^2)`` (UNSB "SB loss").

    The first term keeps the bridge's entropy (mutual information between the
    intermediate sample and the prediction), weighted less at later steps;
    the second is the transport cost. Returned times ``loss_weight``.

    Args:
        tau: bridge stochasticity, the same as the sampler's.
        num_steps: ``T``, the same as the sampler's.
        loss_weight: factor on the returned loss (``l_mi = 1``).
    """

    def __init__(self, tau: float = 0.01, num_steps: int = 5, loss_weight: float = 1.0):
        super().__init__()
        if num_steps < 1:
            raise ValueError(f'SchrodingerBridgeLoss: num_steps must be >= 1, got {num_steps}')
        self.tau = tau
        self.num_steps = num_steps
        self.loss_weight = loss_weight

    @float32_island  # logsumexp and the means of bf16 energies would stay bf16
    def forward(self, energy_pos: torch.Tensor, energy_neg: torch.Tensor, k,
                x_k: torch.Tensor, y_hat: torch.Tensor) -> torch.Tensor:
        """``energy_pos = E(P, k, P)``, ``energy_neg = E(P, k, P')``; ``k`` the step index."""
        k = _step_index(k)
        if not 0 <= k <= self.num_steps:
            raise ValueError(f'SchrodingerBridgeLoss: k must be in 0..{self.num_steps}, got {k}')
        if x_k.shape != y_hat.shape:
            raise ValueError(f'SchrodingerBridgeLoss: X_k {tuple(x_k.shape)} and Yhat '
                             f'{tuple(y_hat.shape)} differ in shape')
        entropy_weight = (self.num_steps - k) / self.num_steps
        loss = (-entropy_weight * self.tau * _mi_lower_bound(energy_pos, energy_neg)
                + self.tau * ((x_k - y_hat) ** 2).mean())
        return self.loss_weight * loss


@MODELS.register_module()
class MIEstimatorLoss(nn.Module):
    """``L_E = -mean(E(P, k, P)) + lse + lse^2`` with ``lse = logsumexp(E(P, k, P'))`` (UNSB).

    ``-ET`` maximises the estimator's mutual-information bound; the ``lse^2``
    term keeps the energies of the mismatched pairs from drifting (it pins
    ``logsumexp`` near 0). ``P`` and ``P'`` are detached by the caller.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    @float32_island  # logsumexp and the mean of bf16 energies would stay bf16
    def forward(self, energy_pos: torch.Tensor, energy_neg: torch.Tensor) -> torch.Tensor:
        lse = torch.logsumexp(energy_neg.flatten(), dim=0)
        return self.loss_weight * (-energy_pos.mean() + lse + lse ** 2)
