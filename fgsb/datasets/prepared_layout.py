"""The prepared layout on disk: the one contract between data writers and readers.

The preparers (``tools/prepare_data.py``) and the phantom write it, the
datasets and tools read it, and all of them name its parts through this
module (docs/method.md §9)::

    <root>/<subject>/<modality>.nii.gz       t1, t2, pd, flair, ... (one grid a subject)
                     brain_mask.nii.gz       optional, uint8
                     lesion_mask.nii.gz      optional, uint8
                     lesion_label<k>.nii.gz  optional, uint8, one a label k
                     .prepared.json          the preparer's record of how it was made
    <root>/splits.json  {"train": [ids], "test": [ids], ..., "meta": {...}}

``splits.json`` is written last, so a root without it is unfinished.
"""
import json
from pathlib import Path

import numpy as np

from fgsb.fileio import atomic_folder, write_json_atomic

from .nifti_io import save_volume

SPLITS_FILE = 'splits.json'
META_KEY = 'meta'
VOLUME_SUFFIX = '.nii.gz'
BRAIN_MASK = 'brain_mask'
LESION_MASK = 'lesion_mask'
MASKS = (BRAIN_MASK, LESION_MASK)
LESION_LABEL_PREFIX = 'lesion_label'
RECORD_FILE = '.prepared.json'


# ------------------------------------------------------------ subject folders
def volume_path(folder, name):
    """``folder/<name>.nii.gz``: where a modality or mask ``name`` of a subject lives."""
    return Path(folder) / f'{name}{VOLUME_SUFFIX}'


def lesion_label_name(label):
    """The volume name of the mask of one lesion label, e.g. ``lesion_label2``."""
    return f'{LESION_LABEL_PREFIX}{int(label)}'


def subject_modalities(folder):
    """The modality names a subject folder holds (its volumes minus the masks)."""
    names = sorted(p.name[:-len(VOLUME_SUFFIX)] for p in Path(folder).glob(f'*{VOLUME_SUFFIX}'))
    return [name for name in names
            if name not in MASKS and not name.startswith(LESION_LABEL_PREFIX)]


def read_subject_record(folder):
    """The record a preparer left in ``folder``, or None (none, or unreadable)."""
    try:
        with open(Path(folder) / RECORD_FILE) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_subject_record(folder, record):
    """Write the preparer's ``record`` (JSON) into a subject ``folder``."""
    write_json_atomic(record, Path(folder) / RECORD_FILE)


def write_subject_folder(out, subject_id, affine, volumes, record=None, save=save_volume):
    """Write ``out/subject_id/<name>.nii.gz`` for every volume, atomically; returns the folder.

    The volumes go into a hidden temporary folder next to the final one, which
    is then renamed into place (``fgsb.fileio.atomic_folder``): an existing
    folder of the same subject is replaced only once the new one is complete,
    and a killed run leaves only that temporary, removed on the next run.
    Modalities are stored as float32, masks (uint8 arrays) as uint8. The
    ``record`` (None: none) lets a rerun reuse folders that are still up to
    date. ``save`` writes one volume (``nifti_io.save_volume``).
    """
    with atomic_folder(Path(out) / subject_id) as tmp:
        for name, data in volumes.items():
            dtype = np.uint8 if data.dtype == np.uint8 else np.float32
            save(data, affine, volume_path(tmp, name), dtype=dtype)
        if record is not None:
            write_subject_record(tmp, record)
    return Path(out) / subject_id


# ------------------------------------------------------------ splits
def splits_path(root):
    return Path(root) / SPLITS_FILE


def read_splits(root):
    """``(splits, meta)`` of ``root/splits.json``: split name -> list of ids, and
    the writer's ``meta`` (None if it has none).

    Raises ``FileNotFoundError`` without the file and ``ValueError`` naming
    it when it is not an object of distinct subject-id lists.
    """
    path = splits_path(root)
    if not path.is_file():
        raise FileNotFoundError(
            f'{path} not found: a prepared root needs splits.json with the subject '
            f'ids of each split, e.g. {{"train": [...], "test": [...]}}')
    try:
        with open(path) as f:
            content = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f'{path}: not valid JSON ({err})') from err
    if not isinstance(content, dict):
        raise ValueError(f'{path}: expected an object of split name -> subject ids')
    splits = {name: ids for name, ids in content.items() if name != META_KEY}
    for name, ids in splits.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError(f'{path}: split {name!r} must be a list of subject ids')
        if len(set(ids)) != len(ids):
            raise ValueError(f'{path}: split {name!r} lists a subject twice')
    return splits, content.get(META_KEY)


def write_splits(root, splits, meta):
    """Write ``root/splits.json`` (``splits`` plus ``meta``) atomically; returns its path."""
    path = splits_path(root)
    write_json_atomic({**splits, META_KEY: meta}, path)
    return path


# ------------------------------------------------------------ choosing subjects
def choose_subjects(ids, count, seed):
    """The first ``count`` ids of the sorted ``ids`` shuffled by ``Generator(seed)``.

    Taking a prefix of one permutation makes the choice nested: with the same
    seed the 2 subjects of "FGSB (2)" are among the 5 of "FGSB (5)". The ids
    come in the permutation's order; callers that list them sort them.
    """
    order = np.random.default_rng(seed).permutation(len(ids))
    ordered = sorted(ids)
    return [ordered[i] for i in order[:count]]


def subjects_at_sites(root, ids, sites):
    """Those of ``ids`` whose record (``.prepared.json``) names one of ``sites``.

    Raises ``ValueError`` naming the subject when a record has no site, and
    naming the sites found when none of ``ids`` is at ``sites``.
    """
    wanted = set(sites)
    found = {}
    for subject in ids:
        record = read_subject_record(Path(root) / subject)
        if not isinstance(record, dict) or 'site' not in record:
            raise ValueError(f'{Path(root) / subject / RECORD_FILE}: no site recorded, so '
                             f'subjects cannot be chosen by site (sites={sorted(wanted)})')
        found[subject] = record['site']
    chosen = [subject for subject in ids if found[subject] in wanted]
    if not chosen:
        raise ValueError(f'sites={sorted(wanted)}: no subject there; the subjects are at '
                         f'{", ".join(sorted(set(found.values()))) or "no site"}')
    return chosen


def carve_validation(splits, val_subjects, seed, path):
    """``splits`` with ``val_subjects`` of 'train' (chosen by ``seed``) moved to 'val'.

    ``path`` names the splits file in errors.
    """
    if 'val' in splits:
        raise ValueError(f"{path} already has a 'val' split; use it with "
                         f'val_subjects=0 or remove it to carve one from train')
    train = splits.get('train', [])
    if val_subjects >= len(train):
        raise ValueError(f'{path}: val_subjects={val_subjects} leaves no training '
                         f'subject of the {len(train)} in split train')
    val = choose_subjects(train, val_subjects, seed)
    return {**splits, 'val': val, 'train': [s for s in train if s not in val]}


def select_subjects(data_root, split='train', num_subjects=None, subjects=None, seed=0,
                    val_subjects=0, sites=None):
    """The sorted subject ids a slice data set over ``data_root`` reads: the
    listed ``subjects``, or ``num_subjects`` of ``split`` (after carving
    ``val_subjects`` out of train and keeping ``sites``), chosen by ``seed``.
    Reads only ``splits.json`` and the subject records, no volume."""
    data_root = Path(data_root)
    if subjects is not None and sites is not None:
        raise ValueError(f'subjects={subjects!r} and sites={sites!r} cannot be combined: '
                         'sites choose among the subjects of a split')
    if subjects is not None:
        if val_subjects:
            # Listed subjects bypass the splits, so they could be the carved ones.
            raise ValueError(f'subjects={subjects!r} and val_subjects={val_subjects} '
                             'cannot be combined: listed subjects bypass the splits '
                             'that validation subjects are carved from')
        chosen, origin = sorted(subjects), 'the subjects argument'
        if not chosen or len(set(chosen)) != len(chosen):
            raise ValueError(f'subjects must be distinct ids, got {subjects!r}')
    else:
        path = splits_path(data_root)
        splits, _ = read_splits(data_root)
        if val_subjects > 0:
            splits = carve_validation(splits, val_subjects, seed, path)
        if split not in splits:
            raise ValueError(f'{path}: unknown split {split!r}; it has '
                             f'{", ".join(sorted(splits)) or "no splits"}')
        ids = splits[split]
        if not ids:
            raise ValueError(f'{path}: split {split!r} is empty')
        if sites is not None:
            ids = subjects_at_sites(data_root, ids, sites)
        count = len(ids) if num_subjects is None else num_subjects
        if count > len(ids):
            raise ValueError(f'{path}: split {split!r} has {len(ids)} subjects, '
                             f'num_subjects={num_subjects} asked for more')
        chosen = sorted(choose_subjects(ids, count, seed))
        origin = f'split {split!r} of {path}'
    for subject in chosen:
        folder = data_root / subject
        if not folder.is_dir():
            raise FileNotFoundError(
                f'subject {subject!r} of {origin} has no folder {folder}')
    return chosen
