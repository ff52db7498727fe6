"""Segmentation prior: ``M`` from an annotation or a segmentation tool (paper 3.3)."""
from typing import Optional, Sequence

import numpy as np

from fgsb.registry import PRIORS
from .binary_map import as_numpy, binary_map_like, check_mask_shape


@PRIORS.register_module()
class SegmentationPrior:
    """``M = 1`` where the lesion/segmentation mask is non-zero, or where it
    holds one of ``labels``.

    Args:
        labels: label values to keep (e.g. ``[1, 4]`` for a tumour's
            enhancing parts); ``None`` keeps every non-zero label.

    Call ``prior(target, brain_mask, lesion_mask)``: the subject must have a
    lesion mask; ``target`` only fixes the expected shape, ``brain_mask`` is
    not used (an annotation is taken as it is). Returns a float32 ``{0, 1}``
    map, numpy for numpy input, a tensor for tensor input. With ``labels``
    the dataset hands it the subject's label values
    (``reads_lesion_labels``, ``fgsb.datasets.lesion_labels``) instead of
    the binary lesion mask.
    """

    def __init__(self, labels: Optional[Sequence[int]] = None):
        if labels is not None and len(labels) == 0:
            raise ValueError('SegmentationPrior: labels is empty; give label values or None')
        self.labels = None if labels is None else list(labels)

    @property
    def reads_lesion_labels(self):
        """Whether the dataset must pass label values, not the binary mask."""
        return self.labels is not None

    def __call__(self, target, brain_mask, lesion_mask=None):
        if lesion_mask is None:
            raise ValueError('SegmentationPrior needs a lesion/segmentation mask, but this '
                             'sample has none (no lesion_mask.nii.gz in its subject folder?); '
                             'use ThresholdPrior or NoPrior for data without annotations')
        target_np = as_numpy(target, 'target')
        lesion_np = as_numpy(lesion_mask, 'lesion_mask')
        check_mask_shape(target_np, lesion_np, 'target', 'lesion_mask')
        if self.labels is None:
            mask = lesion_np != 0
        else:
            mask = np.isin(lesion_np, self.labels)
        return binary_map_like(mask, lesion_mask)
