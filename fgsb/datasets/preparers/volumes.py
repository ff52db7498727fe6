"""Reading raw volumes into RAS and checking that a set is co-registered."""
from typing import NamedTuple

import nibabel as nib
import numpy as np

from fgsb.datasets.nifti_io import VolumeError, load_volume

# Headers of one co-registered set agree to float32 rounding; a real
# misalignment is a millimetre or more.
AFFINE_TOLERANCE_MM = 1e-3


class RasVolume(NamedTuple):
    """A volume reoriented to RAS, with the raw file's shape and affine.

    The raw geometry is kept so that co-registration is judged on the files
    as they are, and messages quote the shapes a user sees in the files.
    """
    data: np.ndarray
    affine: np.ndarray
    raw_shape: tuple
    raw_affine: np.ndarray


def load_ras(path, allow_empty=False):
    """Read a checked 3-D volume (``load_volume``) and reorient it to RAS."""
    image, data = load_volume(path, allow_empty=allow_empty)
    canonical = nib.as_closest_canonical(nib.Nifti1Image(data, image.affine))
    return RasVolume(np.asarray(canonical.dataobj, dtype=np.float32), canonical.affine,
                     data.shape, image.affine)


def check_co_registered(reference_path, reference, others):
    """Raise ``VolumeError`` unless every ``(path, volume)`` shares the reference grid.

    ``reference`` and each volume are ``RasVolume``s; the raw shapes and
    affines must agree, since a set that is declared co-registered is used
    voxel by voxel without resampling.
    """
    for path, other in others:
        if other.raw_shape != reference.raw_shape:
            raise VolumeError(
                f'{path}: shape {other.raw_shape} differs from {reference_path} '
                f'{reference.raw_shape}, but the set should be co-registered '
                f'(use --register if it is not)')
        if not np.allclose(other.raw_affine, reference.raw_affine, atol=AFFINE_TOLERANCE_MM):
            shift = np.abs(other.raw_affine - reference.raw_affine).max()
            raise VolumeError(
                f'{path}: its affine differs from that of {reference_path} (largest entry '
                f'difference {shift:.3g}), but the set should be co-registered (use '
                f'--register if it is not)')
