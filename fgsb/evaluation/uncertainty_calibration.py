"""Does the uncertainty map point at the errors? (docs/volumes.md, calibration)

The uncertainty of a K-sample synthesis is the per-voxel standard deviation
of the samples; it is useful when it is high where the mean is wrong. Two
numbers say how far it is, over the brain voxels:

- ``uncertainty_spearman``: Spearman's rank correlation between the std
  and the absolute error of the mean (ties take their average rank);
- ``error_most_uncertain`` and ``error_rest``: the mean absolute error in
  the ``most_uncertain_fraction`` (10 %) of brain voxels with the largest
  std, and in the other voxels.
"""
import math

import numpy as np
from scipy.stats import rankdata

MOST_UNCERTAIN_FRACTION = 0.1


def spearman(a, b):
    """Spearman's rank correlation of two 1-D samples (average ranks for
    ties); NaN when either is constant."""
    ranks_a, ranks_b = rankdata(a), rankdata(b)
    ranks_a, ranks_b = ranks_a - ranks_a.mean(), ranks_b - ranks_b.mean()
    norm = math.sqrt(float((ranks_a ** 2).sum() * (ranks_b ** 2).sum()))
    return float((ranks_a * ranks_b).sum() / norm) if norm > 0 else float('nan')


def calibration_scores(uncertainty, prediction, reference, brain,
                       fraction=MOST_UNCERTAIN_FRACTION):
    """The calibration of ``uncertainty`` (per-voxel std of the samples) for
    the error ``|prediction - reference|`` inside ``brain``.

    All arrays share one shape and scale (e.g. synthesis's [0, 1] output).
    The most uncertain voxels are the ``ceil(fraction * n)`` of the ``n``
    brain voxels with the largest std (the first in voxel order among
    equal ones); ``error_rest`` is NaN when they are all of them.
    """
    arrays = [np.asarray(a) for a in (uncertainty, prediction, reference, brain)]
    if len({a.shape for a in arrays}) != 1:
        raise ValueError('uncertainty, prediction, reference and brain must share one shape, '
                         f'got {", ".join(str(a.shape) for a in arrays)}')
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f'fraction must lie in (0, 1], got {fraction}')
    brain = arrays[3].astype(bool)
    if not brain.any():
        raise ValueError('the brain mask is empty: no voxel to calibrate on')
    std = arrays[0][brain].astype(np.float64)
    error = np.abs(arrays[1][brain].astype(np.float64) - arrays[2][brain])
    count = math.ceil(fraction * std.size - 1e-9)  # 0.1 * 30 is 3.0000000000000004
    order = np.argsort(-std, kind='stable')
    top, rest = error[order[:count]], error[order[count:]]
    return {'uncertainty_spearman': spearman(std, error),
            'error_most_uncertain': float(top.mean()),
            'error_rest': float(rest.mean()) if rest.size else float('nan'),
            'most_uncertain_fraction': float(fraction)}
