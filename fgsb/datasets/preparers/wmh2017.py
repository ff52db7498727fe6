"""MICCAI 2017 WMH segmentation challenge: T1w and FLAIR with WMH labels.

The challenge's ``pre/`` folder holds T1w already registered to FLAIR, and
``wmh.nii.gz`` is drawn on FLAIR: label 1 is white-matter hyperintensity,
the lesion mask; label 2 (other pathology) stays out of it.
"""
from fgsb.registry import PREPARERS

from .base import BasePreparer, SkipSubject, Skipped, Subject, nifti_file


@PREPARERS.register_module(name='wmh2017')
class WMH2017Preparer(BasePreparer):
    """WMH 2017 ``<site>/<id>/pre/{T1,FLAIR}.nii.gz`` and ``<site>/<id>/wmh.nii.gz``.

    Subject ids are ``<site>_<id>``, e.g. ``Utrecht_0``.
    """
    name = 'wmh2017'
    layout = '<site>/<id>/pre/{T1,FLAIR}.nii.gz and <site>/<id>/wmh.nii.gz'
    all_modalities = ('t1', 'flair')
    has_labels = True
    label_space = 'flair'
    lesion_labels = (1,)
    known_labels = (1, 2)
    default_test_subjects = 10  # paper 4.1.2: 10 training and 10 test subjects
    raw_names = {'t1': 'T1', 'flair': 'FLAIR'}

    def find_subjects(self, root):
        folders = sorted({p.parent for p in root.rglob('pre') if p.is_dir()})
        subjects, skipped = [], []
        for folder in folders:
            subject_id = f'{folder.parent.name}_{folder.name}'
            try:
                subjects.append(self._subject(subject_id, folder))
            except SkipSubject as reason:
                skipped.append(Skipped(subject_id, str(reason)))
        return subjects, skipped

    def _subject(self, subject_id, folder):
        modalities = {}
        for key in self.modalities:
            modalities[key] = nifti_file(folder / 'pre', self.raw_names[key])
            if modalities[key] is None:
                raise SkipSubject(f'missing {key}: no pre/{self.raw_names[key]}.nii.gz '
                                  f'in {folder}')
        label_map = nifti_file(folder, 'wmh')
        if label_map is None:
            raise SkipSubject(f'missing lesion labels: no wmh.nii.gz in {folder}')
        return Subject(subject_id, folder, modalities, label_map=label_map,
                       brain_mask=self.brain_mask_file(folder, subject_id))
