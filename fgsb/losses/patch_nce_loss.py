"""PatchNCE (CUT, Park et al. 2020), docs/method.md §5 ``L_NCE``."""
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from fgsb.engine.precision import float32_island
from fgsb.registry import MODELS


@MODELS.register_module()
class PatchNCELoss(nn.Module):
    """InfoNCE over patches, averaged over layers, times ``loss_weight``.

    For each query patch (output ``Yhat``'s features) the positive is the key
    (source ``x0``'s features) at the same location; the negatives are the
    keys at the other sampled locations of the same image (CUT with
    ``nce_includes_all_negatives_from_minibatch=False``). The query's
    similarity to its own location appears only as the positive: the
    diagonal of the negatives is masked out. Keys are detached, as in CUT.

    Features are expected L2-normalised (the projector ``H`` does it), so the
    logits are cosine similarities over ``temperature``.

    Args:
        temperature: ``0.07`` (CUT, UNSB).
        loss_weight: factor on the returned loss.
    """

    def __init__(self, temperature: float = 0.07, loss_weight: float = 1.0):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'PatchNCELoss: temperature must be > 0, got {temperature}')
        self.temperature = temperature
        self.loss_weight = loss_weight

    @float32_island  # autocast would compute the logits' bmm in bf16
    def forward(self, queries: Sequence[torch.Tensor],
                keys: Sequence[torch.Tensor]) -> torch.Tensor:
        """``queries``, ``keys``: one ``(B, P, C)`` tensor a layer, same locations."""
        if len(queries) != len(keys) or len(queries) == 0:
            raise ValueError(f'PatchNCELoss: got {len(queries)} query layers and '
                             f'{len(keys)} key layers; need the same, non-zero number')
        losses = []
        for layer, (query, key) in enumerate(zip(queries, keys)):
            if query.shape != key.shape or query.dim() != 3:
                raise ValueError(f'PatchNCELoss layer {layer}: queries {tuple(query.shape)} '
                                 f'and keys {tuple(key.shape)} must both be (B, P, C)')
            losses.append(self._layer_loss(query, key.detach()))
        return self.loss_weight * torch.stack(losses).mean()

    def _layer_loss(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        batch, num_patches, _ = query.shape
        positive = (query * key).sum(dim=2, keepdim=True)            # (B, P, 1)
        negatives = torch.bmm(query, key.transpose(1, 2))            # (B, P, P)
        own_location = torch.eye(num_patches, dtype=torch.bool, device=query.device)
        negatives = negatives.masked_fill(own_location, float('-inf'))
        logits = torch.cat([positive, negatives], dim=2) / self.temperature
        # the positive sits in column 0 of every row
        labels = torch.zeros(batch * num_patches, dtype=torch.long, device=query.device)
        return F.cross_entropy(logits.flatten(0, 1), labels)
