"""The embedded default data: a physics-based brain phantom.

No real MR data set can be downloaded here, so the toolbox's default data
are generated from the MNI ICBM152 2009a anatomy that ``nilearn`` ships in
its wheel (``phantom_template``). Version 1 (``phantom_subject``): one
protocol, small per-subject deformations and tissue jitter. Version 2
(``phantom_subject_v2``, the default): subjects with their own biology
(``phantom_biology``, ``phantom_atrophy``, Fazekas lesion loads), scanned at
sites with their own protocols (``phantom_sites``), optionally with the
whole head (``phantom_head``). This module writes the result in the
prepared layout (``prepared_layout``)::

    <root>/phantom_000/{t1,t2,pd,flair,t2star}.nii.gz
                       brain_mask.nii.gz, lesion_mask.nii.gz
                       .prepared.json    (version 2: site, age, Fazekas grade, ...)
    <root>/splits.json   {"train": [...], "test": [...], "meta": {...}}

Everything is deterministic in ``(seed, subject index)``; ``meta`` records
the version. A root is only ever rewritten where the phantom wrote it.
See docs/phantom.md.
"""
import contextlib
import dataclasses
import fcntl
import numbers
import os
from pathlib import Path

from fgsb.fileio import remove_stale_temporaries

from .phantom_sites import DEFAULT_SITES, SITES, resolve_sites, site_of_subject, sites_at_field
from .phantom_subject import BIAS_STD, generate_subject
from .phantom_subject_v2 import generate_subject_v2
from .phantom_template import check_count
from .phantom_tissues import MODALITIES
from .prepared_layout import (MASKS, RECORD_FILE, read_splits, splits_path, volume_path,
                              write_splits, write_subject_folder)

GENERATOR = 'fgsb-phantom'
# A new version when the generated volumes change; every old one stays
# reproducible, and a root keeps the version it was written with.
VERSIONS = (1, 2)
LATEST_VERSION = 2
SUBJECT_ID = 'phantom_{:03d}'
SUBJECT_FILES = frozenset([volume_path('', name).name for name in MODALITIES + MASKS]
                          + [RECORD_FILE])
V1_DEFAULTS = {'field_strength': 1.5, 'max_lesions': 8}


class PhantomRootError(ValueError):
    """A root the phantom may not write: it holds data the phantom did not write."""


def phantom_meta(num_subjects=12, seed=0, field_strength=None, num_test=4, max_lesions=None,
                 downsample=1, version=LATEST_VERSION, sites=None, head=False):
    """The checked parameters of a phantom root, as ``splits.json`` records them.

    Version 1 takes ``field_strength`` (1.5) and ``max_lesions`` (8); version
    2 takes ``sites`` (default: the IXI-like sites, or those of them at
    ``field_strength`` when that is given) and ``head``. A bad value raises a
    one-line ``ValueError`` naming the option and the valid values.
    """
    if isinstance(version, bool) or version not in VERSIONS:
        raise ValueError(f'version must be one of {", ".join(map(str, VERSIONS))}, '
                         f'got {version!r}')
    check_count('num_subjects', num_subjects, minimum=1)
    check_count('num_test', num_test)
    if num_test >= num_subjects:
        raise ValueError(f'num_test ({num_test}) must be smaller than num_subjects '
                         f'({num_subjects}): the train split needs a subject')
    check_count('seed', seed)
    check_count('downsample', downsample, minimum=1)
    meta = {'generator': GENERATOR, 'version': int(version), 'seed': int(seed)}
    if version == 1:
        if sites is not None:
            raise ValueError('sites: version 1 has one protocol and no sites; sites need '
                             'version 2')
        if head:
            raise ValueError('head: version 1 has no head layers; valid versions with a '
                             'head: 2')
        field_strength = V1_DEFAULTS['field_strength'] if field_strength is None \
            else field_strength
        max_lesions = V1_DEFAULTS['max_lesions'] if max_lesions is None else max_lesions
        check_count('max_lesions', max_lesions)
        if not isinstance(field_strength, numbers.Real) or float(field_strength) not in BIAS_STD:
            raise ValueError(f'field_strength must be 1.5 or 3 (tesla), got {field_strength!r}')
        meta.update(field_strength=float(field_strength), num_subjects=int(num_subjects),
                    num_test=int(num_test), max_lesions=int(max_lesions),
                    downsample=int(downsample))
        return meta
    if max_lesions is not None:
        raise ValueError('max_lesions: version 2 draws each subject\'s Fazekas grade; '
                         'max_lesions needs version 1')
    if field_strength is not None:
        if sites is not None:
            raise ValueError('field_strength and sites cannot be combined: each site has '
                             'its own field strength')
        sites = sites_at_field(field_strength)
    names = [site.name for site in resolve_sites(DEFAULT_SITES if sites is None else sites)]
    meta.update(sites=names, head=bool(head), num_subjects=int(num_subjects),
                num_test=int(num_test), downsample=int(downsample))
    return meta


def root_subject(meta, index, noise_scale=1.0):
    """Subject ``index`` of the root described by ``meta``, and its record (or
    None). ``noise_scale`` scales a version-2 site's noise (0: the noiseless
    acquisition of ``phantom_oracle``; every other draw is unchanged)."""
    if meta['version'] == 1:
        return generate_subject(index, meta['seed'], meta['field_strength'],
                                max_lesions=meta['max_lesions'],
                                downsample=meta['downsample']), None
    site = SITES[site_of_subject(index, meta['sites'])]  # names checked by phantom_meta
    if noise_scale != 1.0:
        site = dataclasses.replace(site, noise=site.noise * float(noise_scale))
    subject = generate_subject_v2(index, meta['seed'], site, head=meta['head'],
                                  downsample=meta['downsample'])
    return subject, {'generator': GENERATOR, 'version': meta['version'],
                     'seed': meta['seed'], 'subject_index': index, **subject['record']}


def _check_is_phantom(root):
    """Refuse to overwrite a root that some other tool prepared (real data)."""
    refusal = 'refusing to overwrite it (choose another out_dir)'
    try:
        _, meta = read_splits(root)
    except (OSError, ValueError) as err:
        raise PhantomRootError(f'{err}; {refusal}') from err
    if not isinstance(meta, dict) or meta.get('generator') != GENERATOR:
        raise PhantomRootError(f'{splits_path(root)}: this root holds data that are not a '
                               f'phantom; {refusal}')


def _check_own_subjects(root, ids):
    """Refuse, before any work, a subject folder holding anything the phantom
    did not write: replacing the folder would delete it."""
    for subject_id in ids:
        folder = root / subject_id
        if not folder.exists():
            continue
        if not folder.is_dir():
            raise PhantomRootError(f'{folder} is not a folder; refusing to replace it '
                                   f'(move it away or choose another out_dir)')
        foreign = sorted(set(os.listdir(folder)) - SUBJECT_FILES)
        if foreign:
            listed = ', '.join(foreign[:3]) + (', ...' if len(foreign) > 3 else '')
            raise PhantomRootError(f'{folder} holds files the phantom did not write '
                                   f'({listed}); refusing to replace it (move them away or '
                                   f'choose another out_dir)')


def generate_phantom(out_dir, num_subjects=12, seed=0, field_strength=None, num_test=4,
                     max_lesions=None, progress=True, downsample=1, version=LATEST_VERSION,
                     sites=None, head=False, on_subject=None):
    """Generate a phantom root in the prepared layout; returns its path.

    The parameters are those of ``phantom_meta``. Version 2 gives subject
    ``i`` the site ``sites[i % len(sites)]``. ``on_subject(index, subject,
    site)`` (optional) sees each subject's arrays before they are written
    (the realism report; ``site`` is None for version 1). The last ``num_test``
    subjects form the test split. ``splits.json`` is removed first and
    written last, so a root without it is unfinished. Raises
    ``PhantomRootError`` before any work if the root holds data the phantom
    did not write.
    """
    meta = phantom_meta(num_subjects, seed, field_strength, num_test, max_lesions, downsample,
                        version, sites, head)
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(root)
    ids = [SUBJECT_ID.format(i) for i in range(num_subjects)]
    if splits_path(root).exists():
        _check_is_phantom(root)
    _check_own_subjects(root, ids)
    splits_path(root).unlink(missing_ok=True)
    indices = range(num_subjects)
    if progress:
        from tqdm import tqdm
        indices = tqdm(indices, desc=f'phantom {root.name}', unit='subject')
    for index in indices:
        subject, record = root_subject(meta, index)
        if on_subject is not None:
            on_subject(index, subject, None if record is None else record['site'])
        # atomically, replacing the phantom's older version of the folder
        write_subject_folder(root, ids[index], subject['affine'],
                             {name: subject[name] for name in MODALITIES + MASKS}, record)
    num_train = num_subjects - num_test
    write_splits(root, {'train': ids[:num_train], 'test': ids[num_train:]}, meta)
    return root


def _is_complete(root, meta):
    if not splits_path(root).is_file():
        return False
    splits, written = read_splits(root)
    if written != meta:
        return False
    ids = splits.get('train', []) + splits.get('test', [])
    return all(volume_path(root / sid, name).is_file()
               for sid in ids for name in MODALITIES + MASKS)


def root_version(root):
    """The version of the phantom at ``root``, or None (no phantom there)."""
    try:
        _, meta = read_splits(root)
    except (OSError, ValueError):
        return None
    if isinstance(meta, dict) and meta.get('generator') == GENERATOR \
            and meta.get('version') in VERSIONS:
        return meta['version']
    return None


@contextlib.contextmanager
def _exclusive_lock(path):
    with open(path, 'a') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_phantom(out_dir, num_subjects=12, seed=0, field_strength=None, num_test=4,
                   max_lesions=None, progress=True, downsample=1, version=None, sites=None,
                   head=False):
    """Return ``out_dir`` once it holds the phantom with these parameters.

    ``version=None`` keeps the version of a phantom already at ``out_dir``
    (a root written as version 1 keeps loading as version 1) and otherwise
    takes the latest. Generates the root if missing or different; an
    exclusive lock on ``<out_dir>.lock`` makes concurrent callers (DDP
    ranks, data-loader workers) wait for one generator instead of racing.
    """
    root = Path(out_dir)
    if version is None:
        version = root_version(root) or LATEST_VERSION
    meta = phantom_meta(num_subjects, seed, field_strength, num_test, max_lesions, downsample,
                        version, sites, head)
    if _is_complete(root, meta):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(root.with_name(root.name + '.lock')):
        if not _is_complete(root, meta):
            generate_phantom(root, num_subjects, seed, field_strength, num_test,
                             max_lesions, progress, downsample, version, sites, head)
    return root
