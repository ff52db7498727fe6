"""BraTS 2020: skull-stripped, co-registered T1w, T1ce, T2w and FLAIR of gliomas.

The tumour segmentation ``seg`` (labels 1 necrotic core, 2 oedema, 4
enhancing tumour) becomes the lesion mask (every label > 0); per-label
masks on request. Paper 4.1.3 used low-grade gliomas, which ``grade``
selects from ``name_mapping.csv``.
"""
import csv
import re

from fgsb.registry import PREPARERS

from .base import BasePreparer, PreparationError, SkipSubject, Skipped, Subject, nifti_file

SUBJECT_FOLDER = re.compile(r'^BraTS20_Training_\d+$')
GRADES = ('HGG', 'LGG')


@PREPARERS.register_module(name='brats2020')
class BraTS2020Preparer(BasePreparer):
    """BraTS2020 ``BraTS20_Training_###/BraTS20_Training_###_{t1,t2,flair,t1ce,seg}.nii[.gz]``.

    Args:
        grade: keep only 'LGG' or 'HGG' subjects (read from name_mapping.csv
            under the root). Default: all.
        **kwargs: see ``BasePreparer``.
    """
    name = 'brats2020'
    layout = ('BraTS20_Training_###/BraTS20_Training_###_{t1,t2,flair,t1ce,seg}.nii[.gz] '
              'folders (MICCAI_BraTS2020_TrainingData)')
    all_modalities = ('t1', 't2', 'flair', 't1ce')
    has_labels = True
    known_labels = (1, 2, 4)
    default_test_subjects = 9  # paper 4.1.3: 16 training and 9 test subjects

    def __init__(self, grade=None, **kwargs):
        super().__init__(**kwargs)
        if grade is not None and grade not in GRADES:
            raise PreparationError(f'grade must be one of {GRADES}, got {grade!r}')
        self.grade = grade

    @classmethod
    def add_arguments(cls, parser):
        super().add_arguments(parser)
        parser.add_argument('--grade', choices=GRADES,
                            help='keep only low- or high-grade gliomas (from '
                                 'name_mapping.csv; the paper used LGG)')

    def settings(self):
        return {**super().settings(), 'grade': self.grade}

    def find_subjects(self, root):
        folders = sorted(p for p in root.rglob('BraTS20_Training_*')
                         if p.is_dir() and SUBJECT_FOLDER.match(p.name))
        if self.grade is not None:
            grades = self._grades(root)
            folders = [f for f in folders if grades.get(f.name) == self.grade]
        subjects, skipped = [], []
        for folder in folders:
            try:
                subjects.append(self._subject(folder))
            except SkipSubject as reason:
                skipped.append(Skipped(folder.name, str(reason)))
        return subjects, skipped

    def _subject(self, folder):
        subject_id = folder.name
        modalities = {}
        for key in self.modalities:
            modalities[key] = nifti_file(folder, f'{subject_id}_{key}')
            if modalities[key] is None:
                raise SkipSubject(f'missing {key}: no {subject_id}_{key}.nii[.gz] in {folder}')
        return Subject(subject_id, folder, modalities, label_map=self._segmentation(folder),
                       brain_mask=self.brain_mask_file(folder, subject_id))

    @staticmethod
    def _segmentation(folder):
        seg = nifti_file(folder, f'{folder.name}_seg')
        if seg is not None:
            return seg
        # One training case ships its segmentation under another name
        # (BraTS20_Training_355: W39_1998.09.19_Segm.nii); accept a single
        # file whose name says "seg".
        candidates = [p for p in sorted(folder.iterdir()) if p.is_file()
                      and 'seg' in p.name.lower() and p.name.endswith(('.nii', '.nii.gz'))]
        if len(candidates) != 1:
            found = f' ({", ".join(p.name for p in candidates)})' if candidates else ''
            raise SkipSubject(f'missing seg: no single {folder.name}_seg.nii[.gz] in '
                              f'{folder}{found}')
        return candidates[0]

    @staticmethod
    def _grades(root):
        tables = sorted(root.rglob('name_mapping.csv'))
        if not tables:
            raise PreparationError(f'--grade needs name_mapping.csv under {root} (it ships '
                                   f'with MICCAI_BraTS2020_TrainingData)')
        with open(tables[0], newline='') as f:
            rows = list(csv.DictReader(f))
        if not rows or not {'Grade', 'BraTS_2020_subject_ID'} <= set(rows[0]):
            raise PreparationError(f'{tables[0]}: expected the columns Grade and '
                                   f'BraTS_2020_subject_ID')
        return {row['BraTS_2020_subject_ID']: row['Grade'] for row in rows}
