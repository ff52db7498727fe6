"""How much of a lesion's target contrast its source value explains.

The brain's voxels are grouped by source (T1w) value into at most ``bins``
quantile bins of the subject's brain (``source_bins``). Painting
every lesion voxel with the mean target (FLAIR) of its bin, lesions
included, is the best per-voxel prediction from the source value alone in
the squared-error sense: ``E[target | source bin]``. It keeps a lesion's
contrast when the target is a function of the source value, and loses it
when the lesions' source values are mostly those of other tissue. Fitted
on the subject itself, it is an optimistic bound. Measures
(docs/lesions.md, "What the T1w tells"):

- ``lesion_share``: over lesion voxels, the share of lesion among the brain
  voxels of their bin; ``prevalence``: the share of lesion in the brain,
  what the share would be if the source value told nothing.
- ``contrast_real``: ``lesion_contrast`` of the target; ``contrast_lookalike``:
  the same with each lesion voxel painted with its bin's mean.

A network also reads the neighbourhood, so this measures the cause; it does
not bound every model.
"""
import numpy as np

from .lesion_metric import lesion_contrast


def source_bins(source, brain, bins):
    """Each voxel's bin (``0..bins-1``) among ``bins`` quantile bins of the
    source inside ``brain`` (-1 outside it): the bin of its rank among the
    brain's ``n`` values, ``floor(bins * rank / n)``. Tied values take their
    mid-rank, as in Spearman's correlation, so they share one bin and a large
    tie (values clipped at -1) does not merge into the bins above or below it."""
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise ValueError(f'bins must be an integer >= 2, got {bins!r}')
    values = source[brain]
    ordered = np.sort(values)
    first = np.searchsorted(ordered, values, side='left')
    last = np.searchsorted(ordered, values, side='right') - 1
    index = np.full(source.shape, -1, dtype=np.int64)
    index[brain] = np.floor(bins * (first + last) / 2 / len(values)).astype(np.int64)
    return index


def lookalike_measures(source, target, brain, lesion, bins=32):
    """``{'lesion_share', 'prevalence', 'contrast_real', 'contrast_lookalike'}``
    of one subject's stacks (any matching shapes; lesion voxels outside the
    brain are ignored); None without a lesion voxel in the brain."""
    source, target = np.asarray(source, float), np.asarray(target, float)
    brain = np.asarray(brain, bool)
    lesion = np.asarray(lesion, bool) & brain
    if not lesion.any():
        return None
    index = source_bins(source, brain, bins)
    totals = np.bincount(index[brain], minlength=bins)
    sums = np.bincount(index[brain], weights=target[brain], minlength=bins)
    lesions = np.bincount(index[lesion], minlength=bins)
    # only bins holding a lesion voxel are read, and those are not empty
    mean = sums / np.maximum(totals, 1)
    painted = target.copy()
    painted[lesion] = mean[index[lesion]]
    share = lesions / np.maximum(totals, 1)
    return dict(lesion_share=float(share[index[lesion]].mean()),
                prevalence=float(lesion.sum() / brain.sum()),
                contrast_real=lesion_contrast(target, brain, lesion),
                contrast_lookalike=lesion_contrast(painted, brain, lesion))
