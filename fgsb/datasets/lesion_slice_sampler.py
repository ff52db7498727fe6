"""Training draws with a fixed share of lesion-bearing slices.

With lesions in a few percent of the training slices, a uniform epoch shows
the generator a lesion rarely (docs/lesions.md measures the share). This
sampler makes every epoch hold exactly ``round(lesion_slice_fraction * N)``
draws of slices with lesion voxels (``N`` = the data set's length) and the
rest from the slices without, in a shuffled order.
"""
import math

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from fgsb.registry import DATA_SAMPLERS

from .batch_keys import LESION_MASK


@DATA_SAMPLERS.register_module()
class LesionSliceSampler(Sampler):
    """Indices of a training set, ``lesion_slice_fraction`` of them lesion-bearing.

    Each epoch draws ``k = round(lesion_slice_fraction * N)`` indices among
    the marked slices and ``N - k`` among the others. Within each group the
    slices are taken in a fresh random permutation, repeated as often as the
    group must be cycled, so every marked slice is drawn ``floor(k / m)`` or
    ``ceil(k / m)`` times (``m`` marked slices) and none is skipped while
    another repeats. The order is reshuffled; the draw depends only on
    ``seed`` and the epoch (``set_epoch``), as MMEngine's ``DefaultSampler``.
    In distributed runs each rank takes every ``world_size``-th draw.

    Args:
        dataset: the training set; a wrapper (``NegativePairDataset``) is
            looked through to the ``PairedSliceDataset`` inside.
        lesion_slice_fraction: share of the draws from marked slices, in [0, 1].
        marked_by: ``'lesion_mask'`` (slices with ground-truth lesion voxels)
            or ``'prior'`` (slices where the prior map is set).
        seed: shuffling seed (None: synchronised random seed).
    """

    def __init__(self, dataset, lesion_slice_fraction=0.5, marked_by=LESION_MASK, seed=None):
        if not 0.0 <= lesion_slice_fraction <= 1.0:
            raise ValueError('LesionSliceSampler: lesion_slice_fraction must lie in [0, 1], '
                             f'got {lesion_slice_fraction}')
        inner = dataset
        while not hasattr(inner, 'slices_marked_by') and hasattr(inner, 'dataset'):
            inner = inner.dataset
        if not hasattr(inner, 'slices_marked_by'):
            raise TypeError('LesionSliceSampler needs a PairedSliceDataset (or a wrapper of '
                            f'one), got {type(dataset).__name__}')
        self.dataset = dataset
        size = len(dataset)
        self.marked = inner.slices_marked_by(marked_by)
        marked_set = set(self.marked)
        self.unmarked = [i for i in range(size) if i not in marked_set]
        self.num_marked = int(round(lesion_slice_fraction * size))
        if self.num_marked and not self.marked:
            raise ValueError(f'LesionSliceSampler: no training slice has {marked_by!r} voxels, '
                             f'so lesion_slice_fraction={lesion_slice_fraction} cannot be met')
        if self.num_marked < size and not self.unmarked:
            raise ValueError('LesionSliceSampler: every training slice is marked by '
                             f'{marked_by!r}; lesion_slice_fraction must be 1')
        self.size = size
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.epoch = 0
        self.rank, self.world_size = get_dist_info()
        self.num_samples = math.ceil(size / self.world_size)

    def epoch_indices(self):
        """All ``N`` draws of the current epoch, before the split over ranks."""
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        draws = (_cycled(self.marked, self.num_marked, generator)
                 + _cycled(self.unmarked, self.size - self.num_marked, generator))
        order = torch.randperm(len(draws), generator=generator).tolist()
        return [draws[i] for i in order]

    def __iter__(self):
        indices = self.epoch_indices()
        total = self.num_samples * self.world_size
        indices = (indices * (total // len(indices) + 1))[:total]
        return iter(indices[self.rank:total:self.world_size])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        self.epoch = epoch


def _cycled(pool, count, generator):
    """``count`` items of ``pool`` from back-to-back random permutations of it."""
    drawn = []
    while len(drawn) < count:
        drawn += [pool[i] for i in torch.randperm(len(pool), generator=generator).tolist()]
    return drawn[:count]
