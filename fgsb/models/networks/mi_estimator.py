"""E(p, k, p'): the mutual-information (energy) estimator of UNSB's SB loss."""
import torch

from fgsb.registry import MODELS
from .patch_discriminator import PatchDiscriminator


@MODELS.register_module()
class MIEstimator(PatchDiscriminator):
    """A time-conditional PatchGAN on the channel concatenation of two image
    pairs p = cat(X_k, Yhat) and p' (METHOD 5); ``in_channels`` counts both
    (4 for single-channel MR). Returns one energy per patch (B, 1, h, w)."""

    def __init__(self, in_channels: int = 4, ndf: int = 64, n_layers: int = 3,
                 num_timesteps: int = 5, norm: str = 'instance',
                 init_type: str = 'normal', init_gain: float = 0.02):
        if num_timesteps is None:
            raise ValueError("MIEstimator is time-conditional: num_timesteps must be set")
        super().__init__(in_channels=in_channels, ndf=ndf, n_layers=n_layers, norm=norm,
                         num_timesteps=num_timesteps, init_type=init_type, init_gain=init_gain)

    def forward(self, p: torch.Tensor, t_idx: torch.Tensor, p_other: torch.Tensor) -> torch.Tensor:
        if p.dim() != 4 or p.shape != p_other.shape:
            raise ValueError(f"MIEstimator: p and p_other must be (B, C, H, W) of the same shape, "
                             f"got {tuple(p.shape)} and {tuple(p_other.shape)}")
        return super().forward(torch.cat([p, p_other], dim=1), t_idx)
