"""The bridge's time grid and the coefficients of one step (docs/method.md §1-2, UNSB)."""
import torch


def bridge_time_grid(num_steps: int) -> torch.Tensor:
    """Time grid ``t = [t_0, ..., t_T]`` of the discretised Schrodinger bridge.

    UNSB's harmonic schedule: ``r_0 = 0``, ``r_i = r_{i-1} + 1/i`` for
    ``i = 1..T-1``, normalised by ``r_{T-1}``; ``s_i = 0.5 + 0.5 r_i``; the grid
    is ``[0, s_0, ..., s_{T-1}]``. For ``T = 5``: ``[0, 0.5, 0.74, 0.86, 0.94, 1]``.

    For ``T = 1`` (the "no iterative process" ablation, NFE 1) the harmonic sum
    is ``r_0 = 0`` and normalising by it would divide by zero; the normalised
    last point is 1 by definition, so the grid is ``[0, 1]``: one step that
    lands on the prediction (``rho = 1``, no noise).

    Args:
        num_steps: ``T``, the number of generator evaluations (NFE), >= 1.

    Returns:
        float64 tensor of ``T + 1`` increasing times from 0 to 1.
    """
    if not isinstance(num_steps, int) or isinstance(num_steps, bool) or num_steps < 1:
        raise ValueError(f'num_steps must be an integer >= 1, got {num_steps!r}')
    if num_steps == 1:
        return torch.tensor([0.0, 1.0], dtype=torch.float64)
    harmonic = [0.0]
    for i in range(1, num_steps):
        harmonic.append(harmonic[-1] + 1.0 / i)
    last = harmonic[-1]
    shifted = [0.5 + 0.5 * (r / last) for r in harmonic]
    return torch.tensor([0.0] + shifted, dtype=torch.float64)


def bridge_coefficients(grid: torch.Tensor, j: int) -> tuple[float, float]:
    """Coefficients of bridge step ``j`` (from ``X_{j-1}`` to ``X_j``).

    ``delta = t_j - t_{j-1}``, ``rho = delta / (1 - t_{j-1})`` and
    ``var / tau = delta * (1 - rho)``, so that
    ``X_j = (1 - rho) X_{j-1} + rho Yhat_{j-1} + sqrt(tau * var/tau) eps``.

    Args:
        grid: the output of :func:`bridge_time_grid` (``T + 1`` points).
        j: step index, ``1 <= j <= T``.

    Returns:
        ``(rho, var_over_tau)`` as Python floats; multiply the second by ``tau``.
    """
    num_steps = len(grid) - 1
    if not 1 <= j <= num_steps:
        raise ValueError(f'step index j must be in 1..{num_steps}, got {j}')
    t_prev, t_now = float(grid[j - 1]), float(grid[j])
    delta = t_now - t_prev
    rho = delta / (1.0 - t_prev)  # t_{j-1} < 1 for every j <= T
    return rho, delta * (1.0 - rho)
