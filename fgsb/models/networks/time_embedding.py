"""Embedding of the bridge step index k shared by the time-conditional networks.

As in UNSB: a sinusoidal (transformer) embedding of the integer step index,
then a two-layer MLP with LeakyReLU(0.2).
"""
import math

import torch
import torch.nn as nn


def sinusoidal_embedding(t_idx: torch.Tensor, dim: int,
                         max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding (B, dim) of step indices ``t_idx`` (B,).

    Half the channels are sin(k * w_i), half cos(k * w_i), with frequencies
    w_i from 1 down to 1/max_period; an odd ``dim`` gets a zero last channel.
    """
    if dim < 4:
        raise ValueError(f"sinusoidal embedding needs dim >= 4, got {dim}")
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) / (half - 1)
                      * torch.arange(half, dtype=torch.float32, device=t_idx.device))
    angles = t_idx.float()[:, None] * freqs[None, :]
    emb = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    if dim % 2 == 1:
        emb = nn.functional.pad(emb, (0, 1))
    return emb


def check_step_index(t_idx, num_timesteps: int, batch_size: int, owner: str) -> None:
    """Raise a clear error unless ``t_idx`` is an integer tensor (B,) in [0, T)."""
    if not isinstance(t_idx, torch.Tensor) or t_idx.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"{owner}: t_idx must be an integer (Long) tensor of step indices, "
                        f"got {type(t_idx).__name__}"
                        + (f" of dtype {t_idx.dtype}" if isinstance(t_idx, torch.Tensor) else ''))
    if t_idx.shape != (batch_size,):
        raise ValueError(f"{owner}: t_idx must have shape ({batch_size},) (one step index per "
                         f"sample), got {tuple(t_idx.shape)}")
    if len(t_idx) and (int(t_idx.min()) < 0 or int(t_idx.max()) >= num_timesteps):
        raise ValueError(f"{owner}: step indices must lie in [0, {num_timesteps - 1}], "
                         f"got {t_idx.tolist()}")


class TimeEmbedding(nn.Module):
    """Step index k -> sinusoid of size ``embedding_dim`` -> MLP -> ``out_dim``."""

    def __init__(self, num_timesteps: int, embedding_dim: int, out_dim: int):
        super().__init__()
        if num_timesteps < 1:
            raise ValueError(f"num_timesteps must be >= 1, got {num_timesteps}")
        self.num_timesteps = num_timesteps
        self.embedding_dim = embedding_dim
        self.out_dim = out_dim
        self.mlp = nn.Sequential(
            nn.Linear(embedding_dim, out_dim), nn.LeakyReLU(0.2),
            nn.Linear(out_dim, out_dim), nn.LeakyReLU(0.2))

    def forward(self, t_idx: torch.Tensor, batch_size: int,
                owner: str = 'TimeEmbedding') -> torch.Tensor:
        """(B,) step indices -> (B, out_dim); ``owner`` names the caller in errors."""
        check_step_index(t_idx, self.num_timesteps, batch_size, owner)
        return self.mlp(sinusoidal_embedding(t_idx, self.embedding_dim))
