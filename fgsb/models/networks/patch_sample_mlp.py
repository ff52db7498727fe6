"""H: the per-layer projection head of PatchNCE (CUT's PatchSampleF)."""
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from fgsb.registry import MODELS
from .weight_init import init_weights


@MODELS.register_module()
class PatchSampleMLP(nn.Module):
    """Gathers the feature vectors at given patch locations of each encoder
    layer and projects them with that layer's 2-layer MLP (C -> out -> out,
    ReLU between), then L2-normalises them.

    Unlike CUT, the MLPs are built in ``__init__`` from the known layer widths
    (see ``TimeConditionalResnetGenerator.encoder_channels``), so an optimiser
    built before the first forward sees their parameters.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int = 256,
                 init_type: str = 'normal', init_gain: float = 0.02):
        super().__init__()
        self.in_channels = list(in_channels)
        if not self.in_channels:
            raise ValueError("PatchSampleMLP needs the channels of at least one layer")
        self.out_channels = out_channels
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(c, out_channels), nn.ReLU(),
                          nn.Linear(out_channels, out_channels))
            for c in self.in_channels)
        init_weights(self, init_type, init_gain)

    def forward(self, feats: List[torch.Tensor],
                patch_ids: List[torch.Tensor]) -> List[torch.Tensor]:
        """feats[l] (B, C_l, H_l, W_l) and patch_ids[l] (B, P_l), indices into
        the flattened H_l * W_l grid of each sample -> [(B, P_l, out)] of unit norm."""
        if len(feats) != len(self.mlps) or len(patch_ids) != len(self.mlps):
            raise ValueError(f"PatchSampleMLP was built for {len(self.mlps)} layers, got "
                             f"{len(feats)} feature maps and {len(patch_ids)} patch-id tensors")
        projected = []
        for layer, (feat, ids, mlp) in enumerate(zip(feats, patch_ids, self.mlps)):
            b, c, h, w = feat.shape
            if c != self.in_channels[layer]:
                raise ValueError(f"PatchSampleMLP layer {layer}: expected "
                                 f"{self.in_channels[layer]} channels, got {c}")
            if ids.dtype != torch.long or ids.dim() != 2 or ids.shape[0] != b:
                raise ValueError(f"PatchSampleMLP layer {layer}: patch ids must be a LongTensor "
                                 f"(B={b}, P), got {ids.dtype} {tuple(ids.shape)}")
            if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= h * w):
                raise ValueError(f"PatchSampleMLP layer {layer}: patch ids must lie in "
                                 f"[0, {h * w - 1}] for a {h}x{w} map")
            flat = feat.flatten(2).transpose(1, 2)                        # (B, H*W, C)
            picked = torch.gather(flat, 1, ids[:, :, None].expand(-1, -1, c))  # (B, P, C)
            # float32 unit vectors: PatchNCE divides their products by 0.07
            projected.append(F.normalize(mlp(picked).float(), dim=-1))
        return projected
