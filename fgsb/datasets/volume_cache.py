"""Read a subject's volumes once and keep its preprocessed slices.

Reading and decompressing a NIfTI costs far more than a training step on a
slice, so ``read_subject_slices`` reads each volume of a subject exactly
once, keeps the slices that show enough brain, normalises, pads and resizes
them, and holds them as float32 arrays. With a ``cache_dir`` the arrays are
also written as ``.npy`` files and later runs open them as memory maps
instead of reading the volumes again; the cache key covers the files' paths,
sizes and modification times and every preprocessing setting, so a changed
file or setting never reads stale slices.
"""
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .nifti_io import VolumeError, check_same_shape, load_volume
from .slice_preprocessing import (estimate_brain_mask, normalise, pad_to_square,
                                  resize_slices, robust_range, square_padding)

CACHE_FORMAT_VERSION = 1


@dataclass(frozen=True)
class SliceSettings:
    """Everything that decides what a subject's preprocessed slices look like."""
    axis: int = 2
    size: Optional[int] = 256
    min_brain_fraction: float = 0.1
    percentiles: tuple = (0.5, 99.5)
    mask_threshold: float = 0.05


@dataclass
class SubjectSlices:
    """The kept slices of one subject, all ``(n_kept, side, side)``.

    ``source``/``target`` are float32 in [-1, 1]; ``brain_mask`` and
    ``lesion_mask`` (None when the subject has no lesion mask) are uint8
    {0, 1}. ``info`` holds what is needed to put a slice back: the kept
    slice indices, the volume shape, padding, and normalisation ranges.
    """
    subject: str
    source: np.ndarray
    target: np.ndarray
    brain_mask: np.ndarray
    lesion_mask: Optional[np.ndarray]
    info: dict


def read_subject_slices(subject, files, settings, cache_dir=None):
    """Return the ``SubjectSlices`` of ``subject``.

    ``files`` maps 'source', 'target', 'brain_mask', 'lesion_mask' to paths
    (the two masks may be None). Bad volumes raise ``VolumeError`` naming the
    file (via ``load_volume``).
    """
    if cache_dir is None:
        return _preprocess_subject(subject, files, settings)
    folder = Path(cache_dir) / _cache_key(subject, files, settings)
    if (folder / 'info.json').is_file():
        return _load_cached(subject, folder)
    slices = _preprocess_subject(subject, files, settings)
    _save_cached(slices, folder)
    return slices


def _preprocess_subject(subject, files, settings):
    source_path, target_path = files['source'], files['target']
    _, source = load_volume(source_path)
    _, target = load_volume(target_path)
    volumes = [(source_path, source), (target_path, target)]
    if files.get('brain_mask') is not None:
        _, brain = load_volume(files['brain_mask'])
        volumes.append((files['brain_mask'], brain))
        brain = brain > 0.5
    else:
        brain = None
    lesion = None
    if files.get('lesion_mask') is not None:
        # a subject without lesions legitimately has an all-zero lesion mask
        _, lesion = load_volume(files['lesion_mask'], allow_empty=True)
        volumes.append((files['lesion_mask'], lesion))
        lesion = lesion > 0.5
    check_same_shape(volumes)
    if brain is None:
        brain = estimate_brain_mask(source, settings.mask_threshold)

    norm_source = _checked_range(source, brain, settings, source_path)
    norm_target = _checked_range(target, brain, settings, target_path)

    axis = settings.axis
    brain_stack = np.moveaxis(brain, axis, 0)
    fractions = brain_stack.mean(axis=(1, 2))
    kept = np.flatnonzero(fractions >= settings.min_brain_fraction)
    if kept.size == 0:
        raise ValueError(
            f'subject {subject!r} ({source_path}): no slice along axis {axis} has a brain '
            f'fraction >= min_brain_fraction={settings.min_brain_fraction} (largest: '
            f'{fractions.max():.3f}); lower min_brain_fraction or check the brain mask')

    def prepare(stack, pad_value, mode):
        padded, _ = pad_to_square(stack, pad_value)
        side = padded.shape[-1] if settings.size is None else settings.size
        return resize_slices(padded, (side, side), mode=mode)

    def kept_slices(volume):
        return np.moveaxis(volume, axis, 0)[kept]

    def prepare_mask(mask):
        stack = kept_slices(mask).astype(np.float32)
        return (prepare(stack, 0.0, 'nearest') > 0.5).astype(np.uint8)

    # -1 is the normalised minimum: padding with it is padding with the
    # minimum intensity (METHOD.md section 9)
    source_slices = prepare(normalise(kept_slices(source), *norm_source), -1.0, 'bilinear')
    target_slices = prepare(normalise(kept_slices(target), *norm_target), -1.0, 'bilinear')
    in_plane_shape = tuple(int(s) for s in brain_stack.shape[1:])
    pad = square_padding(*in_plane_shape)
    side = max(in_plane_shape)
    info = dict(
        slice_indices=[int(k) for k in kept],
        num_slices=int(brain_stack.shape[0]),
        volume_shape=tuple(int(s) for s in source.shape),
        in_plane_shape=in_plane_shape,
        pad=tuple(tuple(int(p) for p in pair) for pair in pad),
        padded_shape=(side, side),
        norm_source=norm_source,
        norm_target=norm_target,
        source_path=str(source_path),
        target_path=str(target_path),
        brain_mask_estimated=files.get('brain_mask') is None,
    )
    return SubjectSlices(
        subject=subject,
        source=np.clip(source_slices, -1.0, 1.0),
        target=np.clip(target_slices, -1.0, 1.0),
        brain_mask=prepare_mask(brain),
        lesion_mask=None if lesion is None else prepare_mask(lesion),
        info=info)


def _checked_range(volume, brain, settings, path):
    try:
        return robust_range(volume, brain, settings.percentiles, name=str(path))
    except ValueError as err:
        raise VolumeError(str(err)) from err


def _cache_key(subject, files, settings):
    def stamp(path):
        if path is None:
            return None
        stat = os.stat(path)
        return [str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns]

    description = dict(version=CACHE_FORMAT_VERSION, subject=subject,
                       files={role: stamp(path) for role, path in sorted(files.items())},
                       settings=asdict(settings))
    digest = hashlib.sha1(json.dumps(description, sort_keys=True).encode()).hexdigest()
    return f'{subject}-{digest[:16]}'


def _save_cached(slices, folder):
    # Write into a temporary folder and rename it, so that an interrupted run
    # never leaves a half-written cache entry that a later run would trust.
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f'.{folder.name}.', dir=folder.parent))
    try:
        for name in ('source', 'target', 'brain_mask', 'lesion_mask'):
            array = getattr(slices, name)
            if array is not None:
                np.save(tmp / f'{name}.npy', array)
        with open(tmp / 'info.json', 'w') as f:
            json.dump(slices.info, f)
        os.rename(tmp, folder)
    except OSError:
        if not (folder / 'info.json').is_file():
            raise
        # another process wrote the same entry first; theirs is identical
        pass
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _load_cached(subject, folder):
    with open(folder / 'info.json') as f:
        info = json.load(f)
    for key in ('volume_shape', 'in_plane_shape', 'padded_shape', 'norm_source',
                'norm_target'):
        info[key] = tuple(info[key])
    info['pad'] = tuple(tuple(pair) for pair in info['pad'])

    def open_array(name):
        path = folder / f'{name}.npy'
        return np.load(path, mmap_mode='r') if path.is_file() else None

    return SubjectSlices(subject=subject, source=open_array('source'),
                         target=open_array('target'), brain_mask=open_array('brain_mask'),
                         lesion_mask=open_array('lesion_mask'), info=info)
