"""Writing one prepared subject folder so that it appears whole or not at all.

The volumes go into a hidden temporary folder next to the final one, which
is then renamed into place (``fgsb.fileio.atomic_folder``); a killed run
leaves only that temporary, removed on the next run. The folder's record
(``prepared_layout.write_subject_record``: the settings and source files)
lets a rerun reuse folders that are still up to date.
"""
import numpy as np

from fgsb.datasets.nifti_io import save_volume
from fgsb.datasets.prepared_layout import volume_path, write_subject_record
from fgsb.fileio import atomic_folder


def write_subject_folder(out, subject_id, affine, volumes, record):
    """Write ``out/subject_id/<name>.nii.gz`` for every volume, atomically.

    Modalities are stored as float32, masks (uint8 arrays) as uint8. An
    existing folder of the same subject is replaced only once the new one
    is complete.
    """
    with atomic_folder(out / subject_id) as tmp:
        for name, data in volumes.items():
            dtype = np.uint8 if data.dtype == np.uint8 else np.float32
            save_volume(data, affine, volume_path(tmp, name), dtype=dtype)
        write_subject_record(tmp, record)
    return out / subject_id
