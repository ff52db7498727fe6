"""A phantom subject's contrast as a noiseless scanner would acquire it.

The phantom knows what every scan would show without thermal noise; real
data never do. Scoring that noise-free acquisition against the (noisy) scan
the root holds gives the floor of any error measure that compares a
synthesis with a noisy reference: what a perfect synthesis would score
(``fgsb.study.v2.noise_floor``, docs/volumes.md).

The subject is regenerated from its root's ``meta`` with the site's noise
set to 0. ``phantom_acquisition.acquire`` still draws the noise (and scales
it by 0), so every other draw, the anatomy, lesions and bias field, is the
subject's own.
"""
from pathlib import Path

import numpy as np

from .phantom import root_subject
from .prepared_layout import RECORD_FILE, read_splits, read_subject_record


def subject_index(root, subject):
    """The generator's index of ``subject`` in a phantom v2 ``root`` (from its record)."""
    root = Path(root)
    record = read_subject_record(root / subject)
    if not isinstance(record, dict) or 'subject_index' not in record:
        raise ValueError(f'{root / subject / RECORD_FILE}: no phantom record with a '
                         'subject_index; only phantom v2 subjects can be regenerated')
    return int(record['subject_index'])


def noise_free_contrast(root, subject, modality, noise_scale=0.0):
    """``modality`` of ``subject`` in the phantom v2 ``root``, acquired with
    ``noise_scale`` times its site's noise (0: noiseless; 1: the stored scan,
    up to the NIfTI writer's rounding), as a float32 array on the root's grid."""
    root = Path(root)
    _, meta = read_splits(root)
    if not meta or meta.get('version') != 2:
        raise ValueError(f'{root}: not a phantom version 2 root (splits.json meta '
                         f'{meta!r}); the noise-free contrast needs the generator')
    volumes, _ = root_subject(meta, subject_index(root, subject), noise_scale)
    return np.asarray(volumes[modality], np.float32)
