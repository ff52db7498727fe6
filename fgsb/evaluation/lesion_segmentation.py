"""One fixed hyperintense-lesion segmentation of FLAIR, for the lesion metric.

The paper (4.2.1) segments real and synthetic FLAIR with the same pretrained
network and scores both against the ground truth. No such network exists
here, so the toolbox uses one fixed rule instead, applied identically to the
real and to the synthetic FLAIR of a test subject. A voxel is a lesion when
all three hold:

1. it is bright: ``x > theta`` (normalised units, [-1, 1]);
2. it is deep inside the brain: in the brain mask eroded in-plane by
   ``erosion`` pixels, which drops the cortical ribbon (grey matter is bright
   in FLAIR too);
3. it stands out from its surroundings: ``x - median_k(x) > delta``, the
   median over a ``k x k`` in-plane window. A small white-matter lesion is far
   brighter than the white matter around it; thick bright grey matter is not.

Why these numbers (chosen on the real FLAIR of the phantom's 8 *training*
subjects at 128 px, never on the test split): the slice normalisation clips
at the 0.5/99.5 brain percentiles, so lesions (0.05 % of the brain) share
the saturated top with the brightest grey matter, and a plain threshold
reaches a Dice of only 0.03-0.36. ``theta=0.95, erosion=3, delta=0.4, k=9``
gives the real FLAIR a mean Dice of 0.51 and recall 0.55 against the
ground-truth masks on those subjects: the ceiling a synthetic FLAIR can be
compared with. Its misses are the soft lesion edges (partial volume), which
are not hyperintense enough.
"""
import numpy as np
from scipy import ndimage as ndi

THETA = 0.95
EROSION = 3
DELTA = 0.4
WINDOW = 9


def segment_hyperintensities(volume, brain_mask, theta=THETA, erosion=EROSION,
                             delta=DELTA, window=WINDOW):
    """Boolean lesion mask of a FLAIR ``volume`` (slices, H, W) in [-1, 1].

    ``brain_mask`` (same shape, non-zero = brain) limits the search; each
    slice is treated on its own (the operations are in-plane), so the result
    does not depend on how many slices the volume holds.
    """
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
    return bright & brain & ((volume - local_median) > delta)
