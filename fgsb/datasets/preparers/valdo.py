"""VALDO 2021 (vascular lesions detection): T1w, T2w and T2* of one folder a subject.

Task 2 (cerebral microbleeds) ships every contrast resampled into T2* space
(``sub-###_space-T2S_desc-masked_{T1,T2,T2S}.nii.gz``) with the microbleed
mask ``sub-###_space-T2S_CMB.nii.gz``; paper 4.1.5 synthesised T2* from
T1w. The file patterns are configurable for the other tasks and releases.
"""
from fgsb.registry import PREPARERS

from .paired import PairedPreparer


@PREPARERS.register_module(name='valdo')
class ValdoPreparer(PairedPreparer):
    """VALDO ``sub-###/`` folders; ``--pattern KEY=GLOB`` overrides a default pattern."""
    name = 'valdo'
    layout = ('sub-###/ folders holding sub-###_*_T1.nii.gz and sub-###_*_T2S.nii.gz '
              '(VALDO Task 2)')
    default_patterns = {'t1': '*_T1.nii.gz', 't2': '*_T2.nii.gz', 't2star': '*_T2S.nii.gz',
                        'flair': '*_FLAIR.nii.gz'}
    default_modalities = ('t1', 't2star')
    default_lesion_pattern = '*_CMB.nii.gz'
    patterns_required = False
    default_test_subjects = 8  # paper 4.1.5: 19 training and 8 test subjects
