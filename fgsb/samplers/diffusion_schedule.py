"""The few-step diffusion schedule of SynDiff / DDGAN and its posterior
(docs/method.md §12).

States ``x_0`` (the clean target) to ``x_T``; ``alpha_bar_k`` is the signal
fraction of ``x_k``: ``q(x_k | x_0) = N(sqrt(alpha_bar_k) x_0, (1 - alpha_bar_k) I)``.
"""
import torch


def vp_alpha_bars(num_steps: int, beta_min: float = 0.1, beta_max: float = 20.0,
                  t_min: float = 1e-3) -> torch.Tensor:
    """``[alpha_bar_0 = 1, alpha_bar_1, ..., alpha_bar_T]`` (float64) of the
    variance-preserving SDE sampled at ``T`` large steps, as SynDiff's
    ``get_sigma_schedule`` (DDGAN's ``var_func_vp``) builds it.

    Times ``t_i = t_min + (1 - t_min) i / T`` (``i = 0..T``), the SDE's signal
    fraction ``a(t) = exp(-t^2 (beta_max - beta_min) / 2 - t beta_min)`` and
    ``alpha_bar_k = a(t_k) / a(t_0)``: the product of the steps'
    ``1 - beta_i = a(t_i) / a(t_{i-1})``, so that ``x_0`` is the clean image.
    (DDGAN also diffuses ``x_0`` by a ``beta_0 = 1e-8``; that noise of standard
    deviation 1e-4 is left out here.)
    """
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f'num_steps must be an integer >= 1, got {num_steps!r}')
    if not 0 <= beta_min < beta_max:
        raise ValueError(f'need 0 <= beta_min < beta_max, got beta_min={beta_min}, '
                         f'beta_max={beta_max}')
    if not 0 < t_min < 1:
        raise ValueError(f't_min must lie in (0, 1), got {t_min}')
    times = t_min + (1.0 - t_min) * torch.arange(num_steps + 1, dtype=torch.float64) / num_steps
    log_signal = -0.5 * times ** 2 * (beta_max - beta_min) - times * beta_min
    return torch.exp(log_signal - log_signal[0])


def step_betas(alpha_bars: torch.Tensor) -> torch.Tensor:
    """``[beta_1, ..., beta_T]``: the noise variance added by each step,
    ``beta_k = 1 - alpha_bar_k / alpha_bar_{k-1}``."""
    return 1.0 - alpha_bars[1:] / alpha_bars[:-1]


def posterior_coefficients(alpha_bars: torch.Tensor, k, j):
    """``(c_x0, c_xk, variance)`` of ``q(x_j | x_k, x_0)`` for ``j < k``:
    mean ``c_x0 x_0 + c_xk x_k``.

    With ``a = alpha_bar_k / alpha_bar_j`` (the signal kept from ``j`` to
    ``k``): ``c_x0 = sqrt(alpha_bar_j) (1 - a) / (1 - alpha_bar_k)``,
    ``c_xk = sqrt(a) (1 - alpha_bar_j) / (1 - alpha_bar_k)``,
    ``variance = (1 - a) (1 - alpha_bar_j) / (1 - alpha_bar_k)``. For
    ``j = k - 1`` these are DDPM's (and SynDiff's) posterior; for ``j = 0``
    the mean is ``x_0`` and the variance 0.

    ``k`` and ``j`` are ints or integer tensors of one shape; the results
    are float64 tensors of that shape.
    """
    k, j = torch.as_tensor(k), torch.as_tensor(j)
    num_steps = len(alpha_bars) - 1
    if ((k < 1) | (k > num_steps)).any() or ((j < 0) | (j >= k)).any():
        raise ValueError(f'need 0 <= j < k <= {num_steps}, got k={k.tolist()}, '
                         f'j={j.tolist()}')
    bar_k, bar_j = alpha_bars[k], alpha_bars[j]
    kept = bar_k / bar_j
    coef_x0 = bar_j.sqrt() * (1.0 - kept) / (1.0 - bar_k)
    coef_xk = kept.sqrt() * (1.0 - bar_j) / (1.0 - bar_k)
    variance = (1.0 - kept) * (1.0 - bar_j) / (1.0 - bar_k)
    return coef_x0, coef_xk, variance


def inference_states(num_steps: int, nfe: int) -> list[int]:
    """The states ``[k_1 = T, ..., k_nfe]`` whose ``x_k`` the generator reads
    in an ``nfe``-call chain: evenly spread from ``T`` down to 1, each call
    jumping to the next listed state (to 0 after the last). ``nfe = T``
    visits every state, SynDiff's chain."""
    if not 1 <= nfe <= num_steps:
        raise ValueError(f'nfe must lie in 1..{num_steps}, got {nfe}')
    if nfe == 1:
        return [num_steps]
    return [round(num_steps - i * (num_steps - 1) / (nfe - 1)) for i in range(nfe)]

