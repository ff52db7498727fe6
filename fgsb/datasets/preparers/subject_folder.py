"""The preparers' writer of one subject folder (``prepared_layout.write_subject_folder``).

It writes each volume with this module's ``save_volume``, looked up when it
runs, so that a failed write can be simulated here.
"""
from fgsb.datasets import prepared_layout
from fgsb.datasets.nifti_io import save_volume


def write_subject_folder(out, subject_id, affine, volumes, record):
    """``prepared_layout.write_subject_folder`` with this module's ``save_volume``."""
    return prepared_layout.write_subject_folder(out, subject_id, affine, volumes, record,
                                                save=save_volume)
