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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from fgsb.fileio import atomic_folder, remove_stale_temporaries

from .batch_keys import BRAIN_MASK, LESION_MASK, SOURCE, TARGET
from .lesion_labels import label_number, labels_from_masks, labels_of_mask, network_labels
from .nifti_io import check_same_shape, load_volume
from .prepared_layout import LESION_LABEL_PREFIX
from .slice_context import neighbour_plan
from .slice_pipeline import (SliceLayout, network_images, network_masks, normalisation_range,
                             plan_slices)
from .slice_preprocessing import estimate_head_mask

CACHE_FORMAT_VERSION = 2
# the arrays of a SubjectSlices, one <name>.npy each in a cache entry
LESION_LABELS = 'lesion_labels'
SOURCE_NEIGHBOURS = 'source_neighbours'
TARGET_NEIGHBOURS = 'target_neighbours'
ARRAY_NAMES = (SOURCE, TARGET, BRAIN_MASK, LESION_MASK, LESION_LABELS, SOURCE_NEIGHBOURS,
               TARGET_NEIGHBOURS)


@dataclass
class SubjectSlices:
    """The kept slices of one subject, all ``(n_kept, side, side)``.

    ``source``/``target`` are float32 in [-1, 1]; ``brain_mask`` and
    ``lesion_mask`` (None when the subject has no lesion mask) are uint8
    {0, 1}. ``info`` is the JSON record the cache stores: the ``SliceLayout``
    of the kept slices (``'layout'``) and the normalisation ranges
    (``'norm_source'``, ``'norm_target'``). ``lesion_labels`` (uint16 label
    values, ``fgsb.datasets.lesion_labels``) is read only on request, for a
    prior that selects labels; None otherwise. ``source_neighbours`` (2.5D
    input, ``settings.context_slices > 0``; None otherwise) holds the source
    slices that are neighbours of the kept ones, in the order of
    ``slice_context.neighbour_plan(layout, context_slices)``;
    ``target_neighbours`` likewise the target slices for multi-slice output
    (``settings.target_context_slices > 0``).
    """
    subject: str
    source: np.ndarray
    target: np.ndarray
    brain_mask: np.ndarray
    lesion_mask: Optional[np.ndarray]
    info: dict
    lesion_labels: Optional[np.ndarray] = None
    source_neighbours: Optional[np.ndarray] = None
    target_neighbours: Optional[np.ndarray] = None

    @property
    def layout(self):
        """Where the kept slices come from (``SliceLayout``)."""
        return SliceLayout.from_record(self.info['layout'])


def read_subject_slices(subject, files, settings, cache_dir=None, lesion_labels=False):
    """Return the ``SubjectSlices`` of ``subject``.

    ``files`` maps 'source', 'target', 'brain_mask', 'lesion_mask' to paths
    (the two masks may be None), and any per-label masks ``lesion_label<k>``
    to theirs; ``settings`` is a ``SliceSettings``. ``lesion_labels`` also
    keeps the lesion label values (from the per-label masks, else from the
    lesion mask). Bad volumes raise ``VolumeError`` naming the file (via
    ``load_volume``).
    """
    if cache_dir is None:
        return _preprocess_subject(subject, files, settings, lesion_labels)
    folder = Path(cache_dir) / _cache_key(subject, files, settings, lesion_labels)
    if (folder / 'info.json').is_file():
        return _load_cached(subject, folder)
    slices = _preprocess_subject(subject, files, settings, lesion_labels)
    _save_cached(slices, folder)
    return slices


def _preprocess_subject(subject, files, settings, keep_labels=False):
    source_path, target_path = files[SOURCE], files[TARGET]
    _, source = load_volume(source_path)
    _, target = load_volume(target_path)
    volumes = [(source_path, source), (target_path, target)]
    if files.get(BRAIN_MASK) is not None:
        _, brain = load_volume(files[BRAIN_MASK])
        volumes.append((files[BRAIN_MASK], brain))
        brain = brain > 0.5
    else:
        brain = None
    lesion = labels = None
    if files.get(LESION_MASK) is not None:
        # a subject without lesions legitimately has an all-zero lesion mask
        _, lesion = load_volume(files[LESION_MASK], allow_empty=True)
        volumes.append((files[LESION_MASK], lesion))
        if keep_labels:
            labels = labels_of_mask(lesion)
        lesion = lesion > 0.5
    per_label = {}
    if keep_labels:
        for name in sorted(n for n in files if n.startswith(LESION_LABEL_PREFIX)):
            _, mask = load_volume(files[name], allow_empty=True)
            volumes.append((files[name], mask))
            per_label[label_number(name)] = mask
    if per_label:
        labels = labels_from_masks(per_label)
    check_same_shape(volumes)
    if brain is None:
        brain = estimate_head_mask(source, settings.mask_threshold)

    norm_source = normalisation_range(source, brain, settings, source_path)
    norm_target = normalisation_range(target, brain, settings, target_path)
    layout = plan_slices(brain, settings, settings.min_brain_fraction,
                         name=f'subject {subject!r} ({source_path})')
    neighbours = None
    if settings.context_slices:
        neighbours = network_images(source, neighbour_plan(layout, settings.context_slices)[0],
                                    norm_source)
    target_neighbours = None
    if settings.target_context_slices:
        target_neighbours = network_images(
            target, neighbour_plan(layout, settings.target_context_slices)[0], norm_target)
    return SubjectSlices(
        subject=subject,
        source=network_images(source, layout, norm_source),
        target=network_images(target, layout, norm_target),
        brain_mask=network_masks(brain, layout),
        lesion_mask=None if lesion is None else network_masks(lesion, layout),
        lesion_labels=None if labels is None else network_labels(labels, layout),
        source_neighbours=neighbours, target_neighbours=target_neighbours,
        info=dict(layout=layout.to_record(), norm_source=list(norm_source),
                  norm_target=list(norm_target)))


def _cache_key(subject, files, settings, lesion_labels=False):
    def stamp(path):
        if path is None:
            return None
        stat = os.stat(path)
        return [str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns]

    described = asdict(settings)
    for name in ('context_slices', 'target_context_slices'):
        if not described[name]:  # so that the keys of existing entries stay valid
            del described[name]
    description = dict(version=CACHE_FORMAT_VERSION, subject=subject,
                       files={role: stamp(path) for role, path in sorted(files.items())},
                       settings=described)
    if lesion_labels:  # only then, so that the keys of existing entries stay valid
        description['lesion_labels'] = True
    digest = hashlib.sha1(json.dumps(description, sort_keys=True).encode()).hexdigest()
    return f'{subject}-{digest[:16]}'


def _save_cached(slices, folder):
    # A whole folder or none, so that an interrupted run never leaves a
    # half-written cache entry that a later run would trust.
    remove_stale_temporaries(folder.parent)
    try:
        with atomic_folder(folder, replace=False) as tmp:
            for name in ARRAY_NAMES:
                array = getattr(slices, name)
                if array is not None:
                    np.save(tmp / f'{name}.npy', array)
            with open(tmp / 'info.json', 'w') as f:
                json.dump(slices.info, f)
    except OSError:
        if not (folder / 'info.json').is_file():
            raise
        # another process wrote the same entry first; theirs is identical


def _load_cached(subject, folder):
    with open(folder / 'info.json') as f:
        info = json.load(f)

    def open_array(name):
        path = folder / f'{name}.npy'
        return np.load(path, mmap_mode='r') if path.is_file() else None

    return SubjectSlices(subject=subject, info=info,
                         **{name: open_array(name) for name in ARRAY_NAMES})
