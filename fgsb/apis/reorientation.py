"""Between a volume's own orientation and the one the model was trained in.

Prepared data and the phantom are stored in RAS, so a model has only ever
seen slices of RAS volumes: synthesis reorients an input to RAS, slices it
with the training pipeline (``fgsb.datasets.slice_pipeline``) and puts the
output back into the input's orientation, voxel for voxel.
"""
from dataclasses import dataclass

import nibabel as nib
import numpy as np

TRAINING_AXCODES = ('R', 'A', 'S')


@dataclass(frozen=True)
class Reorientation:
    """Voxel-axis permutations and flips between a volume's orientation and
    the training orientation; exact (no resampling), so they invert exactly."""
    to_training: np.ndarray
    from_training: np.ndarray

    @classmethod
    def from_affine(cls, affine):
        own = nib.orientations.io_orientation(affine)
        training = nib.orientations.axcodes2ornt(TRAINING_AXCODES)
        return cls(to_training=nib.orientations.ornt_transform(own, training),
                   from_training=nib.orientations.ornt_transform(training, own))

    def forward(self, data):
        return np.ascontiguousarray(nib.orientations.apply_orientation(data, self.to_training))

    def backward(self, data):
        return np.ascontiguousarray(
            nib.orientations.apply_orientation(data, self.from_training))
