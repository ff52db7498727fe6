"""Where PatchNCE looks: patch locations, uniform or weighted by a prior (paper Eq. 14).

PatchNCE compares features at the same locations of the source and of the
output. CUT draws the locations uniformly; FGSB's weighted PatchNCE draws a
share of them inside the prior map ``M`` (lesions, hyperintensities) so that
the contrastive loss attends to the clinically critical regions.
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

REST_RULES = ('uniform', 'outside')


def sample_patch_ids(feats: Sequence[torch.Tensor], num_patches: int,
                     prior: Optional[torch.Tensor] = None, prior_fraction: float = 0.5,
                     generator: Optional[torch.Generator] = None,
                     rest: str = 'uniform') -> list[torch.Tensor]:
    """Patch locations for each feature map, as flat indices into ``H * W``.

    ``P = min(num_patches, H * W)`` distinct locations a layer and image.
    Without a prior they are uniform. With a prior ``(B, 1, H0, W0)`` the map
    is max-pooled to each layer's size (a lesion smaller than a feature cell
    still marks that cell); ``round(prior_fraction * P)`` locations are drawn
    inside it without replacement (all of them when the map has fewer cells)
    and the rest uniformly among the locations not yet drawn (``rest=
    'uniform'``, so at least that many lie inside) or among those outside
    the map (``rest='outside'``, so exactly that many lie inside while the
    outside has room; when it has too few cells the remaining inside cells
    fill up); an empty map at a layer gives uniform locations. No location
    repeats, so no negative of PatchNCE is a copy of its positive.

    Args:
        feats: feature maps ``(B, C, H, W)``, one a layer.
        num_patches: patches a layer (256 in the paper).
        prior: map ``M``, ``(B, 1, H0, W0)`` or ``(B, H0, W0)``; a cell is
            inside where the pooled map is > 0 (a soft map's margin counts).
        prior_fraction: share of the patches drawn inside the map, in [0, 1].
        generator: optional ``torch.Generator`` for reproducible draws.
        rest: where the locations beyond the map's share come from,
            ``'uniform'`` (the paper's reading, default) or ``'outside'``.

    Returns:
        one LongTensor ``(B, P)`` a layer, on that layer's device.
    """
    if num_patches < 1:
        raise ValueError(f'num_patches must be >= 1, got {num_patches}')
    if not 0.0 <= prior_fraction <= 1.0:
        raise ValueError(f'prior_fraction must lie in [0, 1], got {prior_fraction}')
    if rest not in REST_RULES:
        raise ValueError(f"rest must be one of {', '.join(REST_RULES)}, got {rest!r}")
    for i, feat in enumerate(feats):
        if feat.dim() != 4:
            raise ValueError(f'feature map {i} must be (B, C, H, W), got {tuple(feat.shape)}')
    if prior is not None:
        prior = _check_prior(prior, feats)
    device = generator.device if generator is not None else torch.device('cpu')

    ids = []
    for feat in feats:
        batch, _, height, width = feat.shape
        count = min(num_patches, height * width)
        if prior is None:
            rows = [torch.randperm(height * width, generator=generator, device=device)[:count]
                    for _ in range(batch)]
        else:
            layer_map = F.adaptive_max_pool2d(prior, (height, width)).flatten(1) > 0
            layer_map = layer_map.to(device)
            num_inside = int(round(prior_fraction * count))
            rows = [_draw_inside_first(layer_map[b], count, num_inside, generator,
                                       rest == 'outside')
                    for b in range(batch)]
        ids.append(torch.stack(rows).to(feat.device))
    return ids


def gather_patches(feat: torch.Tensor, patch_ids: torch.Tensor) -> torch.Tensor:
    """Features ``(B, C, H, W)`` at flat locations ``(B, P)`` -> ``(B, P, C)``."""
    batch, channels = feat.shape[:2]
    index = patch_ids.to(feat.device).unsqueeze(1).expand(batch, channels, -1)
    return feat.flatten(2).gather(2, index).transpose(1, 2)


def _check_prior(prior: torch.Tensor, feats: Sequence[torch.Tensor]) -> torch.Tensor:
    if prior.dim() == 3:
        prior = prior.unsqueeze(1)
    if prior.dim() != 4 or prior.shape[1] != 1:
        raise ValueError(f'prior map must be (B, 1, H, W) or (B, H, W), got {tuple(prior.shape)}')
    if feats and prior.shape[0] != feats[0].shape[0]:
        raise ValueError(f'prior map has batch size {prior.shape[0]} but the features '
                         f'have {feats[0].shape[0]}')
    return prior.float()


def _draw_inside_first(inside: torch.Tensor, count: int, num_inside: int,
                       generator: Optional[torch.Generator],
                       rest_outside: bool) -> torch.Tensor:
    """``num_inside`` distinct locations where ``inside`` holds, then the rest:
    uniformly among the others, or outside first when ``rest_outside``."""
    inside_ids = inside.nonzero().squeeze(1)
    take = min(num_inside, inside_ids.numel())
    order = torch.randperm(inside_ids.numel(), generator=generator, device=inside.device)
    chosen = inside_ids[order[:take]]
    if rest_outside:
        outside_ids = (~inside).nonzero().squeeze(1)
        outside_ids = outside_ids[torch.randperm(outside_ids.numel(), generator=generator,
                                                 device=inside.device)]
        # the unchosen inside cells come last: used only when the outside runs short
        rest = torch.cat([outside_ids, inside_ids[order[take:]]])[:count - take]
        return torch.cat([chosen, rest])
    free = torch.ones_like(inside)
    free[chosen] = False
    free_ids = free.nonzero().squeeze(1)
    rest = free_ids[torch.randperm(free_ids.numel(), generator=generator,
                                   device=inside.device)[:count - take]]
    return torch.cat([chosen, rest])
