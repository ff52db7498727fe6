"""Binary lesion masks from a label map (BraTS ``seg``, WMH ``wmh``, VALDO masks)."""
import numpy as np

from fgsb.datasets.nifti_io import VolumeError
from fgsb.datasets.prepared_layout import LESION_MASK, lesion_label_name


def as_label_map(data, path):
    """Integer labels of ``data``, or ``VolumeError`` if it holds fractions or negatives.

    An interpolated or probabilistic map is not a label map; taking ``> 0``
    of it would silently grow the lesions.
    """
    labels = np.rint(data)
    if np.abs(data - labels).max(initial=0.0) > 1e-3:
        raise VolumeError(f'{path}: not a label map (it holds non-integer values)')
    if labels.min(initial=0.0) < 0:
        raise VolumeError(f'{path}: not a label map (it holds negative values)')
    return labels.astype(np.int32)


def lesion_masks(labels, lesion_labels=None, per_label=None):
    """``{'lesion_mask': uint8, 'lesion_label<k>': uint8 ...}`` from a label map.

    Args:
        labels: integer label map.
        lesion_labels: the labels that count as lesion (None: every label > 0),
            e.g. (1,) for WMH, whose label 2 (other pathology) is no lesion.
        per_label: labels that get a mask of their own (None or empty: none);
            each one is written even where the subject has no such voxel, so
            every subject folder holds the same files.
    """
    if lesion_labels is None:
        lesion = labels > 0
    else:
        lesion = np.isin(labels, list(lesion_labels))
    masks = {LESION_MASK: lesion.astype(np.uint8)}
    for label in per_label or ():
        masks[lesion_label_name(label)] = (labels == label).astype(np.uint8)
    return masks
