"""Writing one prepared subject folder so that it appears whole or not at all.

The volumes go into a hidden temporary folder next to the final one, which
is then renamed into place; an interrupted run leaves only hidden
``.tmp-*`` folders, removed on the next run. A small record of the settings
and source files lets a rerun reuse folders that are still up to date.
"""
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from fgsb.datasets.nifti_io import save_volume

RECORD = '.prepared.json'
TEMPORARY_PREFIXES = ('.tmp-', '.old-')


def read_record(folder):
    """The record of a prepared folder, or None if it has none (or it is unreadable)."""
    try:
        with open(Path(folder) / RECORD) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def remove_leftovers(out):
    """Remove temporary folders that an interrupted run left in ``out``."""
    for entry in Path(out).iterdir():
        if entry.is_dir() and entry.name.startswith(TEMPORARY_PREFIXES):
            shutil.rmtree(entry, ignore_errors=True)


def write_subject_folder(out, subject_id, affine, volumes, record):
    """Write ``out/subject_id/<name>.nii.gz`` for every volume, atomically.

    Modalities are stored as float32, masks (uint8 arrays) as uint8. An
    existing folder of the same subject is replaced only once the new one
    is complete.
    """
    out = Path(out)
    final, old = out / subject_id, None
    tmp = Path(tempfile.mkdtemp(prefix=f'.tmp-{subject_id}-', dir=out))
    try:
        for name, data in volumes.items():
            dtype = np.uint8 if data.dtype == np.uint8 else np.float32
            save_volume(data, affine, tmp / f'{name}.nii.gz', dtype=dtype)
        with open(tmp / RECORD, 'w') as f:
            json.dump(record, f, indent=2)
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f'.old-{subject_id}-', dir=out)) / subject_id
            os.rename(final, old)
        os.rename(tmp, final)
    except BaseException:
        if old is not None and not final.exists():
            os.rename(old, final)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old.parent, ignore_errors=True)
    return final
