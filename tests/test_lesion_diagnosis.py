"""tools/diagnose_lesions.py on a hand-built root with known lesions."""
import json
import runpy
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHAPE = (20, 20, 6)


def save(array, path):
    nib.save(nib.Nifti1Image(np.asarray(array), np.eye(4)), str(path))


@pytest.fixture
def config(tmp_path):
    """Subject 'a' (train): one 3x3x2 lesion; 'b' (test): a voxel and a 2x2x2 block.
    T1w 100 with lesions at 60, FLAIR 100 with lesions at 200, inside a 16x16 brain."""
    data = tmp_path / 'root'
    brain = np.zeros(SHAPE, np.uint8)
    brain[2:18, 2:18, :] = 1
    lesions = {'a': [(slice(6, 9), slice(6, 9), slice(2, 4))],
               'b': [(12, 12, 1), (slice(6, 8), slice(12, 14), slice(3, 5))]}
    for subject, places in lesions.items():
        lesion = np.zeros(SHAPE, np.uint8)
        for place in places:
            lesion[place] = 1
        folder = data / subject
        folder.mkdir(parents=True)
        save(brain, folder / 'brain_mask.nii.gz')
        save(lesion, folder / 'lesion_mask.nii.gz')
        save((brain * np.where(lesion, 60.0, 100.0)).astype(np.float32), folder / 't1.nii.gz')
        save((brain * np.where(lesion, 200.0, 100.0)).astype(np.float32),
             folder / 'flair.nii.gz')
    (data / 'splits.json').write_text(json.dumps({'train': ['a'], 'test': ['b']}))
    dataset = dict(type='PairedSliceDataset', data_root=str(data), source='t1',
                   target='flair', size=None)
    path = tmp_path / 'cfg.py'
    path.write_text(
        f'train_dataloader = dict(dataset=dict(type="NegativePairDataset", dataset=dict('
        f'{dataset!r}, split="train", flip_prob=0.5, prior=dict(type="ThresholdPrior"))))\n'
        f'val_dataloader = dict(dataset=dict({dataset!r}, split="test"))\n')
    return path


def test_diagnosis_measures_known_lesions(config, tmp_path, monkeypatch, capsys):
    out = tmp_path / 'diagnosis.json'
    # specks of 1-5 voxels: the v1 rule, which has no minimum component size
    monkeypatch.setattr(sys, 'argv', ['diagnose_lesions.py', str(config), '--out', str(out),
                                      '--segmentation', 'phantom_v1'])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(ROOT / 'tools/diagnose_lesions.py'), run_name='__main__')
    assert done.value.code == 0
    report = json.loads(out.read_text())
    assert report['segmentation'] == 'phantom_v1'
    (a,), (b,) = (report['splits'][s]['subjects'] for s in ('train', 'val'))
    assert a['native'] == {'lesions': 1, 'voxels': 18, 'largest': 18,
                           'volume_ml': pytest.approx(0.018),
                           'sizes': {'small': 0, 'medium': 1, 'large': 0},
                           'contrast_source': -2.0, 'contrast_target': 2.0}
    # size=None: the network slices are the native ones (no padding, no resize)
    assert b['network']['lesions'] == 2 and b['network']['voxels'] == 9
    assert b['network']['sizes'] == {'small': 2, 'medium': 0, 'large': 0}
    assert (a['network']['slices_with_lesion'], b['network']['slices_with_lesion']) == (2, 3)
    assert a['network']['contrast_source'] == pytest.approx(-2.0)
    assert b['network']['contrast_target'] == pytest.approx(2.0)
    # the fixed segmentation finds every lesion of the real FLAIR here
    assert b['network']['segmentation_real'] == {
        'dice': 1.0, 'recall': 1.0, 'found': 2, 'false_positives': 0,
        'found_sizes': {'small': 2, 'medium': 0, 'large': 0}}
    # the training set's ThresholdPrior(0.5) marks exactly the lesions of 'a'
    assert a['network']['prior'] == pytest.approx({
        'slice_share': 2 * 9 / 400 / 6, 'slice_share_with_lesion': 9 / 400,
        'lesion_recall': 1.0, 'precision': 1.0})
    assert 'prior' not in b['network']
    # the lesions' T1w (60) is nowhere else in the brain: their bin holds lesion
    # only, and a lookup from T1w keeps the whole FLAIR contrast
    assert a['network']['lookalikes'] == pytest.approx(
        {'lesion_share': 1.0, 'prevalence': 18 / 1536, 'contrast_real': 2.0,
         'contrast_lookalike': 2.0})
    totals = report['splits']['train']['totals']
    assert totals['slices'] == 6 and totals['lesion_slice_share'] == pytest.approx(2 / 6)
    printed = capsys.readouterr().out
    assert 'total' in printed and 'T1w look-alikes' in printed


def test_diagnosis_reports_a_missing_config_in_one_line(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / 'tools'))
    try:
        from diagnose_lesions import main
    finally:
        sys.path.pop(0)
    assert main([str(tmp_path / 'missing.py'), '--out', str(tmp_path / 'x.json')]) == 1
    assert 'config file not found' in capsys.readouterr().err
    assert not (tmp_path / 'x.json').exists()
