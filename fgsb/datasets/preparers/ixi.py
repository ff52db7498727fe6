"""IXI: T1w, T2w and PDw of healthy subjects from three London hospitals.

The three contrasts of a subject are separate acquisitions (sagittal T1w,
axial dual-echo T2w/PDw), so they are not co-registered: T2w and PDw are
rigidly registered to T1w (paper 4.1.1: "all images were spatially
co-registered").
"""
import re
from collections import defaultdict

from fgsb.registry import PREPARERS

from .base import BasePreparer, SkipSubject, Skipped, Subject

IXI_FILE = re.compile(
    r'^(?P<id>IXI\d+-(?P<site>[A-Za-z]+)-\d+)-(?P<modality>T1|T2|PD)\.nii(\.gz)?$')


@PREPARERS.register_module(name='ixi')
class IXIPreparer(BasePreparer):
    """IXI ``IXI###-<site>-####-{T1,T2,PD}.nii.gz``, found recursively under the root.

    Args:
        sites: keep only these hospitals (Guys and IOP scan at 1.5 T, HH at
            3 T; the paper used 1.5 T data). Default: all.
        **kwargs: see ``BasePreparer``.
    """
    name = 'ixi'
    layout = ('IXI###-<site>-####-{T1,T2,PD}.nii.gz files, e.g. in IXI-T1/, IXI-T2/, '
              'IXI-PD/ or all in one folder')
    all_modalities = ('t1', 't2', 'pd')
    co_registered = False
    default_test_subjects = 10  # paper 4.1.1: 25 training and 10 test subjects
    sites = ('Guys', 'HH', 'IOP')

    def __init__(self, sites=None, **kwargs):
        super().__init__(**kwargs)
        self.keep_sites = tuple(sites) if sites else self.sites

    @classmethod
    def add_arguments(cls, parser):
        super().add_arguments(parser)
        parser.add_argument('--sites', nargs='+', choices=cls.sites,
                            help='hospitals to keep (Guys, IOP: 1.5 T; HH: 3 T; default: all)')

    def settings(self):
        return {**super().settings(), 'sites': list(self.keep_sites)}

    def find_subjects(self, root):
        files = defaultdict(lambda: defaultdict(list))
        for path in sorted(root.rglob('IXI*')):
            match = IXI_FILE.match(path.name)
            if match and path.is_file() and match['site'] in self.keep_sites:
                files[match['id']][match['modality'].lower()].append(path)
        subjects, skipped = [], []
        for subject_id, found in sorted(files.items()):
            try:
                modalities = {key: self._one_file(subject_id, key, found[key])
                              for key in self.modalities}
                brain_mask = self.brain_mask_file(root, subject_id)
            except SkipSubject as reason:
                skipped.append(Skipped(subject_id, str(reason)))
                continue
            folder = modalities[self.reference].parent
            subjects.append(Subject(subject_id, folder, modalities, brain_mask=brain_mask))
        return subjects, skipped

    @staticmethod
    def _one_file(subject_id, key, paths):
        if not paths:
            raise SkipSubject(f'missing {key.upper()} ({subject_id}-{key.upper()}.nii.gz)')
        if len(paths) > 1:
            raise SkipSubject(f'{key.upper()} found more than once: '
                              + ', '.join(str(p) for p in paths))
        return paths[0]
