"""Reading and writing NIfTI volumes with checks that name the file.

Every reader of MR volumes in the toolbox (dataset, preparers, synthesis)
goes through ``load_volume`` so that bad input fails the same way
everywhere, and every writer goes through ``save_volume`` so that no
half-written file is ever left behind.
"""
import os
import tempfile
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np


class VolumeError(ValueError):
    """A volume that cannot be used; the message names the file."""


def load_nifti(path):
    """Open a NIfTI image and read its voxels, or raise ``VolumeError``.

    Returns ``(image, data)`` with ``data`` as float32.
    """
    path = Path(path)
    if not path.is_file():
        raise VolumeError(f'{path}: file not found')
    try:
        image = nib.load(str(path))
        data = np.asarray(image.dataobj, dtype=np.float32)
    except (nib.filebasedimages.ImageFileError, EOFError, OSError, zlib.error,
            ValueError) as err:
        raise VolumeError(f'{path}: not a readable NIfTI file ({err})') from err
    return image, data


def check_volume(data, name, allow_empty=False):
    """Check voxels read from ``name`` (a path or a label): 3-D, finite, and
    (unless ``allow_empty``) not all zero. A single-frame 4-D volume is
    squeezed to 3-D. Returns the checked array; raises ``VolumeError``."""
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise VolumeError(f'{name}: expected a 3-D volume, got shape {data.shape}')
    bad = ~np.isfinite(data)
    if bad.any():
        raise VolumeError(f'{name}: {int(bad.sum())} NaN/Inf voxels')
    if not allow_empty and not np.any(data):
        raise VolumeError(f'{name}: the volume is empty (all voxels are zero)')
    return data


def load_volume(path, allow_empty=False):
    """Read a 3-D volume and check it (``check_volume``); returns ``(image, data)``."""
    image, data = load_nifti(path)
    return image, check_volume(data, path, allow_empty)


def check_same_shape(paths_and_arrays):
    """Raise ``VolumeError`` unless all ``(path, array)`` pairs share a shape."""
    items = list(paths_and_arrays)
    ref_path, ref = items[0]
    for path, array in items[1:]:
        if array.shape != ref.shape:
            raise VolumeError(
                f'{path}: shape {array.shape} differs from {ref_path} {ref.shape}')


def save_volume(data, affine, path, header=None, dtype=np.float32):
    """Write a NIfTI atomically: a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(np.asarray(data, dtype=dtype), affine, header=header)
    image.set_data_dtype(dtype)
    suffix = ''.join(path.suffixes) or '.nii.gz'
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        nib.save(image, tmp)
        # mkstemp makes owner-only files; give the result ordinary permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path
