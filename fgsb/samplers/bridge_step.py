"""One step of the (guided) Schrodinger bridge (docs/method.md §2, paper Eq. 7)."""
from typing import Optional

import torch


def guided_prediction(y_hat: torch.Tensor, target: torch.Tensor,
                      alpha: float) -> torch.Tensor:
    """FGSB's target-guided drift ``alpha_j * x1 + (1 - alpha_j) * Yhat_{j-1}``.

    ``alpha = 0`` gives UNSB's unguided prediction back; ``alpha = 1`` steps
    straight towards the paired target ``x1``.
    """
    if target.shape != y_hat.shape:
        raise ValueError(f'guidance target has shape {tuple(target.shape)} but the '
                         f'prediction has shape {tuple(y_hat.shape)}')
    return alpha * target + (1.0 - alpha) * y_hat


def bridge_step(x_prev: torch.Tensor, y_hat: torch.Tensor, rho: float, var: float,
                noise: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``X_j = (1 - rho) X_{j-1} + rho * Yhat_{j-1} + sqrt(var) * eps``.

    Args:
        x_prev: ``X_{j-1}``.
        y_hat: the drift target: ``Yhat_{j-1}`` (UNSB) or its guided version
            from :func:`guided_prediction` (FGSB training).
        rho, var: from :func:`~fgsb.samplers.time_grid.bridge_coefficients`,
            ``var`` already multiplied by ``tau``.
        noise: ``eps ~ N(0, I)`` of ``x_prev``'s shape; ``None`` leaves the
            step deterministic (the "w/o noise" ablation).
    """
    x_next = (1.0 - rho) * x_prev + rho * y_hat
    if noise is not None and var > 0:
        x_next = x_next + var ** 0.5 * noise
    return x_next
