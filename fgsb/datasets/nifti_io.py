"""Reading and writing NIfTI volumes with checks that name the file.

Every reader of MR volumes in the toolbox (dataset, preparers, synthesis)
goes through ``load_volume`` so that bad input fails the same way
everywhere, and every writer goes through ``save_volume`` so that no
half-written file is ever left behind.
"""
import gzip
import math
import os
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np

from fgsb.fileio import atomic_path

# Deflate never compresses better than 1032:1, so a .gz file of n bytes holds
# at most about 1032 n bytes of voxels: a header claiming more is a lie.
MAX_DEFLATE_RATIO = 1032
# nibabel writes .nii.gz at this level (fast; the volumes are mostly noise)
GZIP_LEVEL = 1


class VolumeError(ValueError):
    """A volume that cannot be used; the message names the file."""


def load_nifti(path):
    """Open a NIfTI image and read its voxels, or raise ``VolumeError``.

    Returns ``(image, data)`` with ``data`` as float32.
    """
    path = Path(path)
    if not path.is_file():
        raise VolumeError(f'{path}: file not found')
    unreadable = (nib.filebasedimages.ImageFileError, EOFError, OSError, zlib.error,
                  ValueError)
    try:
        image = nib.load(str(path))
    except unreadable as err:
        raise VolumeError(f'{path}: not a readable NIfTI file ({err})') from err
    _check_claimed_size(path, image)
    try:
        data = np.asarray(image.dataobj, dtype=np.float32)
    except unreadable as err:
        raise VolumeError(f'{path}: not a readable NIfTI file ({err})') from err
    except MemoryError as err:
        raise VolumeError(f'{path}: {image.shape} voxels do not fit in memory') from err
    _check_affine(path, image.affine)
    return image, data


def _check_claimed_size(path, image):
    """Refuse a header that claims more voxels than its file can hold, before
    trying to allocate them."""
    claimed = math.prod(int(n) for n in image.shape) * image.get_data_dtype().itemsize
    data_file = image.file_map['image'].filename
    stored = os.path.getsize(data_file)
    if data_file.endswith('.gz'):
        capacity = stored * MAX_DEFLATE_RATIO
    elif data_file.endswith(('.nii', '.img')):
        capacity = stored
    else:
        return
    if claimed > capacity:
        raise VolumeError(f'{path}: the header claims {image.shape} voxels '
                          f'({claimed / 2 ** 30:.1f} GiB) but the file has only '
                          f'{stored} bytes')


def _check_affine(path, affine):
    """A voxel-to-world affine must be finite and invertible: reorienting,
    resampling and registering all need it."""
    if affine is None or not np.isfinite(affine).all():
        raise VolumeError(f'{path}: the voxel-to-world affine (sform/qform) is not finite')
    if abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise VolumeError(f'{path}: the voxel-to-world affine (sform/qform) is degenerate '
                          f'(zero voxel size or collapsed axes)')


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
    """Write a single-file NIfTI atomically (``fgsb.fileio.atomic_path``),
    gzipped unless ``path`` ends in ``.nii``; returns ``path``."""
    path = Path(path)
    image = nib.Nifti1Image(np.asarray(data, dtype=dtype), affine, header=header)
    image.set_data_dtype(dtype)
    # The temporary's name does not say .nii.gz, so the stream is handed to
    # nibabel: gzip as nibabel writes it (no name, mtime 0), or plain.
    with atomic_path(path) as tmp, open(tmp, 'wb') as raw:
        if not path.name.endswith('.nii'):
            with gzip.GzipFile(filename='', mode='wb', compresslevel=GZIP_LEVEL,
                               fileobj=raw, mtime=0) as stream:
                image.to_file_map(image.make_file_map({'image': stream}))
        else:
            image.to_file_map(image.make_file_map({'image': raw}))
    return path
