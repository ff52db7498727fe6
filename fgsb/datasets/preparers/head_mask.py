"""The head (foreground) mask of one MR volume, for subjects given no brain mask.

On a raw head scan this is the head (brain, skull and scalp), not the
brain alone; it serves to drop background-dominated slices. A true brain
mask comes from a skull-stripping tool through ``--brain-mask-pattern``.
"""
import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu

# Skull-stripped volumes (BraTS, VALDO "masked") fill the background with one
# value; above this fraction of such voxels, everything above it is tissue.
STRIPPED_BACKGROUND_FRACTION = 0.2


def otsu_head_mask(volume):
    """Otsu threshold, largest connected component, holes filled; uint8.

    Otsu splits air from tissue on a raw scan. On a skull-stripped scan it
    would split dark CSF from brain instead, so there the mask is every
    voxel above the constant background. Holes are filled in 3-D and then
    slice by slice, because ventricles and sulci can open onto the outside
    in 3-D while being enclosed in an axial slice.
    """
    volume = np.asarray(volume, dtype=np.float32)
    background = volume.min()
    if np.mean(volume == background) > STRIPPED_BACKGROUND_FRACTION:
        foreground = volume > background
    else:
        foreground = volume > threshold_otsu(volume.ravel())
    labels, count = ndimage.label(foreground)
    if count == 0:
        return np.zeros(volume.shape, dtype=np.uint8)
    sizes = ndimage.sum_labels(foreground, labels, index=np.arange(1, count + 1))
    mask = labels == (1 + int(np.argmax(sizes)))
    mask = ndimage.binary_fill_holes(mask)
    for k in range(mask.shape[2]):
        mask[:, :, k] = ndimage.binary_fill_holes(mask[:, :, k])
    return mask.astype(np.uint8)
