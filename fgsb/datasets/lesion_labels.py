"""Lesion label maps for priors that select labels (``SegmentationPrior(labels=)``).

The training slices keep the lesion mask binary (``lesion_mask > 0.5``):
that is what the lesion metrics score. A prior that selects label values
needs the labels themselves, so the dataset reads them only for such a prior
(``reads_lesion_labels``). They come from the per-label masks a preparer
writes with ``--per-label-masks`` (``lesion_label<k>.nii.gz``, label ``k``
where set) when the subject has any, else from the lesion mask's own values
(a prepared root whose ``lesion_mask.nii.gz`` is a label map). Either way
``labels > 0`` is the binary lesion mask the lesion mask alone would give
when it is the union of the labels.
"""
import re
from pathlib import Path

import numpy as np

from .prepared_layout import LESION_LABEL_PREFIX, VOLUME_SUFFIX
from .slice_preprocessing import pad_to_square, resize_slices

LABEL_FILE = re.compile(rf'^{LESION_LABEL_PREFIX}(\d+){re.escape(VOLUME_SUFFIX)}$')


def lesion_label_files(folder):
    """``{'lesion_label<k>': path}`` of the per-label masks in a subject ``folder``."""
    found = {}
    for path in sorted(Path(folder).glob(f'{LESION_LABEL_PREFIX}*{VOLUME_SUFFIX}')):
        match = LABEL_FILE.match(path.name)
        if match:
            found[f'{LESION_LABEL_PREFIX}{int(match.group(1))}'] = path
    return found


def label_number(name):
    """``k`` of a ``lesion_label<k>`` key."""
    return int(name[len(LESION_LABEL_PREFIX):])


def labels_from_masks(per_label):
    """One integer label map from ``{k: boolean mask}`` (a later label wins an overlap)."""
    labels = None
    for label, mask in sorted(per_label.items()):
        if labels is None:
            labels = np.zeros(mask.shape, dtype=np.uint16)
        labels[np.asarray(mask) > 0.5] = label
    return labels


def labels_of_mask(lesion):
    """Integer labels of a lesion-mask volume: its rounded values where it is
    above 0.5 (at least 1), 0 elsewhere, so ``> 0`` is the binarised mask."""
    lesion = np.asarray(lesion, dtype=np.float32)
    return np.where(lesion > 0.5, np.maximum(np.rint(lesion), 1), 0).astype(np.uint16)


def network_labels(labels, layout):
    """``layout``'s slices of an integer label volume at the network size
    (nearest neighbour, padding 0): uint16 ``(N, size, size)``."""
    kept = np.moveaxis(np.asarray(labels), layout.axis, 0)[list(layout.indices)]
    padded, _ = pad_to_square(kept.astype(np.float32), 0.0)
    resized = resize_slices(padded, (layout.size, layout.size), mode='nearest')
    return np.rint(resized).astype(np.uint16)
