"""One fixed hyperintense-lesion segmentation of FLAIR, for the lesion metric.

The paper (4.2.1) segments real and synthetic FLAIR with the same pretrained
network and scores both against the ground truth. No such network exists
here, so the toolbox uses one fixed rule instead, applied identically to the
real and to the synthetic FLAIR of a test subject. A voxel is a lesion when
all four hold:

1. it is bright: ``x > theta`` (normalised units, [-1, 1]);
2. it is deep inside the brain: in the brain mask eroded in-plane by
   ``erosion`` pixels, which drops the cortical ribbon (grey matter is bright
   in FLAIR too);
3. it stands out from its surroundings: ``x - median_k(x) > delta``, the
   median over a ``window x window`` in-plane window. A white-matter lesion
   is far brighter than the white matter around it; thick bright grey
   matter is not;
4. its 26-connected 3-D component holds at least ``min_size`` voxels
   (isolated bright specks of noise or grey matter are dropped).

Two named rules (``RULES``), both chosen on the real FLAIR of *training*
subjects at 128 px, never on a test split:

- ``'phantom_v1'`` (theta 0.95, erosion 3, delta 0.4, window 9, min_size 1),
  chosen on phantom v1's 8 training subjects: mean Dice 0.51 there. On
  phantom v2 it reaches Dice 0.13 (0.18 and 0.19 on the two training-split
  subjects with confluent lesions): inside a confluent lesion the 9x9
  median is the lesion itself.
- ``'phantom_v2'`` (the default: theta 0.8, erosion 4, delta 0.35, window
  15, min_size 40), chosen on phantom v2's 8 training subjects by the rule
  stated before the search (docs/lesions.md): the largest mean Dice over
  the training subjects with at least 1000 lesion voxels whose
  false-positive lesions per lesion-free training subject are no more than
  ``'phantom_v1'``'s (10): Dice 0.35 (0.51, 0.54; the third subject's
  lesions are small and faint), 9 false positives. It never finds a lesion
  of fewer than ``min_size`` voxels.
"""
import numpy as np
from scipy import ndimage as ndi

from .lesion_detection import lesion_components

RULES = {
    'phantom_v1': dict(theta=0.95, erosion=3, delta=0.4, window=9, min_size=1),
    'phantom_v2': dict(theta=0.8, erosion=4, delta=0.35, window=15, min_size=40),
}
DEFAULT_RULE = 'phantom_v2'


def segmentation_rule(rule=DEFAULT_RULE):
    """The parameters of ``rule``: a name of ``RULES`` or a dict of all five."""
    if isinstance(rule, str):
        if rule not in RULES:
            raise ValueError(f'unknown lesion segmentation rule {rule!r}; the rules are '
                             f'{", ".join(sorted(RULES))}, or a dict of '
                             f'{", ".join(RULES[DEFAULT_RULE])}')
        return dict(RULES[rule])
    rule = dict(rule)
    if set(rule) != set(RULES[DEFAULT_RULE]):
        raise ValueError(f'a lesion segmentation rule needs exactly the keys '
                         f'{sorted(RULES[DEFAULT_RULE])}, got {sorted(rule)}')
    return rule


def drop_small_components(mask, min_size):
    """``mask`` without its 26-connected components of fewer than ``min_size`` voxels."""
    if min_size <= 1 or not mask.any():
        return mask
    labels, sizes = lesion_components(mask)
    keep = np.concatenate([[False], sizes >= min_size])
    return keep[labels]


def segment_hyperintensities(volume, brain_mask, rule=DEFAULT_RULE):
    """Boolean lesion mask of a FLAIR ``volume`` (slices, H, W) in [-1, 1].

    ``brain_mask`` (same shape, non-zero = brain) limits the search;
    ``rule`` is a name of ``RULES`` or a dict of its parameters. Conditions
    1-3 are in-plane, condition 4 is 3-D.
    """
    theta, erosion, delta, window, min_size = (segmentation_rule(rule)[k] for k in
                                               ('theta', 'erosion', 'delta', 'window',
                                                'min_size'))
    volume = np.asarray(volume, dtype=np.float32)
    brain = np.asarray(brain_mask) != 0
    if volume.ndim != 3 or volume.shape != brain.shape:
        raise ValueError(f'segment_hyperintensities expects a (slices, H, W) volume and a '
                         f'brain mask of the same shape, got {volume.shape} and {brain.shape}')
    if erosion > 0:
        # Outside the image counts as background, so the border erodes as well.
        brain = ndi.binary_erosion(brain, structure=np.ones((1, 3, 3), bool),
                                   iterations=erosion, border_value=0)
    bright = volume > theta
    local_median = ndi.median_filter(volume, size=(1, window, window), mode='nearest')
    return drop_small_components(bright & brain & ((volume - local_median) > delta), min_size)
