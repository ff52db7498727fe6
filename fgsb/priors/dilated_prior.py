"""A prior grown around another prior's map: hard or soft (decaying) margins.

At 128 px a lesion of a few pixels, and a threshold map that misses its
partial-volume rim, give the prior losses almost nothing to hold on to.
Growing the map by a few pixels puts the lesion's edge and its immediate
surroundings (the contrast the synthesis must reproduce) under the prior.
"""
import numpy as np
import torch
from scipy import ndimage

from fgsb.registry import PRIORS
from .binary_map import as_numpy


@PRIORS.register_module()
class DilatedPrior:
    """``M = 1`` inside the wrapped prior's map, growing ``radius`` pixels outward.

    With ``d`` the Euclidean distance (in pixels, over the map's axes) to the
    nearest pixel of the wrapped map (``> 0``):
    ``soft=True`` gives ``M = (1 - d / (radius + 1)) * 1[d <= radius]`` (1
    inside, ``radius / (radius + 1)`` next to it, ..., 0 beyond ``radius``);
    ``soft=False`` gives ``M = 1[d <= radius]``. An empty map stays empty.
    The map is float32 in [0, 1]: PatchNCE draws its share where ``M > 0``,
    the context losses weigh each pixel by ``M``.

    Args:
        prior: the wrapped prior, a ``PRIORS`` config dict or a callable
            (e.g. ``dict(type='ThresholdPrior', theta=0.9)``); it must give
            a map (not ``NoPrior``).
        radius: margin in pixels, > 0.
        soft: decay linearly over the margin instead of a hard edge.
    """

    def __init__(self, prior, radius=2, soft=True):
        if not radius > 0:
            raise ValueError(f'DilatedPrior: radius must be > 0 pixels, got {radius}')
        self.prior = PRIORS.build(prior) if isinstance(prior, dict) else prior
        if not callable(self.prior):
            raise TypeError('DilatedPrior: prior must be a PRIORS config dict or a callable, '
                            f'got {type(prior).__name__}')
        self.radius = float(radius)
        self.soft = bool(soft)

    @property
    def reads_lesion_labels(self):
        return bool(getattr(self.prior, 'reads_lesion_labels', False))

    def __call__(self, target, brain_mask, lesion_mask=None):
        inner = self.prior(target=target, brain_mask=brain_mask, lesion_mask=lesion_mask)
        if inner is None:
            raise ValueError(f'DilatedPrior: the wrapped prior {self.prior!r} gave no map; '
                             'wrap a prior that returns one (not NoPrior)')
        inside = as_numpy(inner, 'the wrapped prior map') > 0
        grown = self.grow(inside)
        if isinstance(inner, torch.Tensor):
            return torch.from_numpy(grown).to(inner.device)
        return grown

    def grow(self, inside):
        """The float32 map of a boolean ``inside`` array (see the class)."""
        if not inside.any():
            return np.zeros(inside.shape, dtype=np.float32)
        distance = ndimage.distance_transform_edt(~inside)
        if self.soft:
            grown = np.where(distance <= self.radius, 1.0 - distance / (self.radius + 1.0), 0.0)
        else:
            grown = distance <= self.radius
        return grown.astype(np.float32)
