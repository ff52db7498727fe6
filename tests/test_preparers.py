"""Data preparers: miniature raw trees of each layout -> the prepared layout.

The raw volumes sample one analytic anatomy (smooth blobs in a head-shaped
ellipsoid, in world millimetres) through each file's affine, so the truth of
any prepared volume is known exactly: a registered T2 must match the T2
contrast sampled on the T1 grid, a lesion mask must land on its labels.
"""
import importlib.util
import json
import os
import shlex
import stat
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from mmengine.config import Config
from scipy.spatial.transform import Rotation

from fgsb.datasets.nifti_io import VolumeError
from fgsb.datasets.preparers import subject_folder
from fgsb.datasets.preparers.base import PreparationError
from fgsb.datasets.preparers.head_mask import otsu_head_mask
from fgsb.datasets.preparers.ixi import IXIPreparer
from fgsb.datasets.preparers.lesion_masks import as_label_map, lesion_masks
from fgsb.datasets.preparers.paired import PairedPreparer
from fgsb.datasets.preparers.pipeline import prepare_dataset
from fgsb.datasets.preparers.registration import register_rigid, resample
from fgsb.datasets.preparers.splits import read_id_list, split_subjects

ROOT = Path(__file__).resolve().parents[1]
RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])

# ------------------------------------------------------------ the anatomy
_rng = np.random.default_rng(7)
BLOB_CENTRES = _rng.uniform(-1, 1, (14, 3)) * [18, 22, 11]
BLOB_SIGMAS = _rng.uniform(3, 7, 14)
BLOB_AMPLITUDES = _rng.uniform(0.3, 1.0, 14)
HEAD_RADII = np.array([28.0, 32.0, 18.0])


def _anatomy(points):
    radius = np.sqrt(((points / HEAD_RADII) ** 2).sum(-1))
    head = 1.0 / (1.0 + np.exp((radius - 1.0) * 15.0))
    distance2 = ((points[..., None, :] - BLOB_CENTRES) ** 2).sum(-1)
    blobs = (BLOB_AMPLITUDES * np.exp(-distance2 / (2 * BLOB_SIGMAS ** 2))).sum(-1)
    return head, blobs


# Different monotone-free intensity mappings of one anatomy: only mutual
# information, not correlation, can align them.
CONTRASTS = {
    't1': lambda head, blobs: 100 * head * (0.4 + blobs),
    't2': lambda head, blobs: 100 * head * (1.6 - blobs) ** 2,
    'pd': lambda head, blobs: 60 * head * (1.2 - 0.5 * blobs),
}


def world_points(shape, affine):
    index = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing='ij'), -1)
    return index.astype(float) @ affine[:3, :3].T + affine[:3, 3]


def centred_affine(shape, spacing=2.0, axes=np.eye(3)):
    """Voxel grid centred on the world origin; ``axes`` maps array axes to world."""
    affine = np.eye(4)
    affine[:3, :3] = np.asarray(axes, dtype=float) * spacing
    affine[:3, 3] = -affine[:3, :3] @ ((np.asarray(shape) - 1) / 2)
    return affine


def sample(contrast, shape, affine, rotation=np.eye(3), shift=np.zeros(3)):
    """A volume of the anatomy moved by ``p -> rotation @ p + shift`` before scanning."""
    moved_back = (world_points(shape, affine) - shift) @ rotation
    return CONTRASTS[contrast](*_anatomy(moved_back)).astype(np.float32)


def save(path, data, affine, dtype=np.float32):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(data, dtype=dtype), affine), str(path))
    return path


def correlation(a, b, mask):
    return float(np.corrcoef(a[mask], b[mask])[0, 1])


# T1 stored as LAS (first axis flipped), T2/PD as a permuted axial grid of
# another shape, so reorientation and resampling are exercised too.
T1_SHAPE, T1_AFFINE = (40, 40, 24), centred_affine((40, 40, 24), axes=np.diag([-1, 1, 1]))
T2_SHAPE = (36, 44, 22)
T2_AFFINE = centred_affine(T2_SHAPE, axes=[[0, 1, 0], [-1, 0, 0], [0, 0, 1]])
VOXEL_MM = 2.0
KNOWN_SHIFT = np.array([2.0, -1.5, 1.0]) * VOXEL_MM
KNOWN_ROTATION = Rotation.from_euler('xyz', [1.0, -1.5, 4.0], degrees=True).as_matrix()
HEAD_BOX = np.array([[x, y, z] for x in (-28, 28) for y in (-32, 32) for z in (-18, 18)]
                    + [[0, 0, 0]], dtype=float)


def registration_error_mm(transform, rotation, shift):
    """Largest distance between the found and the true motion of the head-box corners."""
    found = np.array([RAS_TO_LPS @ np.array(transform.TransformPoint(tuple(RAS_TO_LPS @ p)))
                      for p in HEAD_BOX])
    return float(np.linalg.norm(found - (HEAD_BOX @ rotation.T + shift), axis=1).max())


# -------------------------------------------------------------- registration
def test_rigid_registration_recovers_a_known_motion_within_a_voxel():
    fixed = sample('t1', T1_SHAPE, T1_AFFINE)
    moving = sample('t2', T2_SHAPE, T2_AFFINE, KNOWN_ROTATION, KNOWN_SHIFT)
    identity_error = float(np.linalg.norm(
        HEAD_BOX - (HEAD_BOX @ KNOWN_ROTATION.T + KNOWN_SHIFT), axis=1).max())
    assert identity_error > 3 * VOXEL_MM  # the motion is there to be found

    found = register_rigid((fixed, T1_AFFINE), (moving, T2_AFFINE), iterations=100)
    error = registration_error_mm(found, KNOWN_ROTATION, KNOWN_SHIFT)
    assert error < VOXEL_MM / 2, f'registration error {error:.2f} mm'

    # seeded sampling: the same transform up to the threads' summation order
    first, again = (register_rigid((fixed, T1_AFFINE), (moving, T2_AFFINE), iterations=10)
                    for _ in range(2))
    np.testing.assert_allclose(again.GetParameters(), first.GetParameters(), atol=1e-9)


# ----------------------------------------------------------------------- IXI
def write_ixi_subject(root, subject_id, motion_seed, modalities=('T1', 'T2', 'PD')):
    rng = np.random.default_rng(motion_seed)
    rotation = Rotation.from_euler('xyz', rng.uniform(-4, 4, 3), degrees=True).as_matrix()
    shift = rng.uniform(-2, 2, 3) * VOXEL_MM
    for modality in modalities:
        shape, affine = (T1_SHAPE, T1_AFFINE) if modality == 'T1' else (T2_SHAPE, T2_AFFINE)
        motion = (np.eye(3), np.zeros(3)) if modality == 'T1' else (rotation, shift)
        data = sample(modality.lower(), shape, affine, *motion)
        save(root / f'IXI-{modality}' / f'{subject_id}-{modality}.nii.gz', data, affine,
             dtype=np.int16)


def test_ixi_registers_t2_and_pd_to_t1_in_ras_and_lists_skipped(tmp_path):
    raw, out = tmp_path / 'IXI', tmp_path / 'ixi_prepared'
    write_ixi_subject(raw, 'IXI002-Guys-0828', motion_seed=1)
    write_ixi_subject(raw, 'IXI012-HH-1211', motion_seed=2)
    write_ixi_subject(raw, 'IXI013-IOP-0001', motion_seed=3, modalities=('T1', 'T2'))

    report = prepare_dataset(IXIPreparer(registration_iterations=50), raw, out,
                             test_subjects=1, progress=False)

    assert report.prepared == ['IXI002-Guys-0828', 'IXI012-HH-1211']
    assert [(s.subject, s.reason) for s in report.skipped] == [
        ('IXI013-IOP-0001', 'missing PD (IXI013-IOP-0001-PD.nii.gz)')]
    for subject in report.prepared:
        folder = out / subject
        images = {k: nib.load(str(folder / f'{k}.nii.gz')) for k in
                  ('t1', 't2', 'pd', 'brain_mask')}
        assert {im.shape for im in images.values()} == {(40, 40, 24)}
        for image in images.values():
            assert nib.aff2axcodes(image.affine) == ('R', 'A', 'S')
            np.testing.assert_allclose(image.affine, images['t1'].affine)
        assert images['brain_mask'].get_data_dtype() == np.uint8
        head = _anatomy(world_points((40, 40, 24), images['t1'].affine))[0] > 0.5
        for key in ('t2', 'pd'):
            truth = sample(key, (40, 40, 24), images['t1'].affine)
            registered = np.asarray(images[key].dataobj)
            assert correlation(registered, truth, head) > 0.99
    # without registration the same volumes would not line up
    raw_t2 = nib.load(str(raw / 'IXI-T2' / 'IXI002-Guys-0828-T2.nii.gz'))
    t1_affine = nib.load(str(out / 'IXI002-Guys-0828' / 't1.nii.gz')).affine
    unregistered = resample(np.asarray(raw_t2.dataobj, dtype=np.float32), raw_t2.affine,
                            (40, 40, 24), t1_affine)
    head = _anatomy(world_points((40, 40, 24), t1_affine))[0] > 0.5
    assert correlation(unregistered, sample('t2', (40, 40, 24), t1_affine), head) < 0.9

    splits = json.loads((out / 'splits.json').read_text())
    assert sorted(splits['train'] + splits['test']) == report.prepared
    assert len(splits['test']) == 1
    assert splits['meta']['skipped'] == [
        {'subject': 'IXI013-IOP-0001', 'reason': 'missing PD (IXI013-IOP-0001-PD.nii.gz)'}]
    assert not list(out.glob('.tmp-*')) and not (out / 'IXI013-IOP-0001').exists()


def test_ixi_finds_files_in_one_folder_and_skips_duplicates(tmp_path):
    raw = tmp_path / 'raw'
    data = sample('t1', (8, 8, 6), centred_affine((8, 8, 6)))
    for name in ('IXI002-Guys-0828-T1.nii.gz', 'IXI002-Guys-0828-T2.nii.gz',
                 'nested/IXI003-HH-0001-T1.nii.gz', 'IXI003-HH-0001-T2.nii',
                 'IXI004-IOP-0002-T1.nii.gz', 'copy/IXI004-IOP-0002-T1.nii.gz',
                 'IXI004-IOP-0002-T2.nii.gz', 'IXI005-Guys-0003-MRA.nii.gz'):
        save(raw / name, data, centred_affine((8, 8, 6)))
    (raw / 'IXI-notes.txt').write_text('not an image')
    subjects, skipped = IXIPreparer(modalities=['t1', 't2']).discover(raw)
    assert [s.id for s in subjects] == ['IXI002-Guys-0828', 'IXI003-HH-0001']
    assert subjects[1].modalities['t2'].name == 'IXI003-HH-0001-T2.nii'
    assert [s.subject for s in skipped] == ['IXI004-IOP-0002']
    assert 'T1 found more than once' in skipped[0].reason
    only_guys, _ = IXIPreparer(modalities=['t1', 't2'], sites=['Guys']).discover(raw)
    assert [s.id for s in only_guys] == ['IXI002-Guys-0828']


# --------------------------------------------------------------------- BraTS
BRATS_SHAPE = (24, 24, 16)
LPS_AFFINE = np.diag([-1.0, -1.0, 1.0, 1.0])  # BraTS files are stored LPS


def brats_volumes(seed):
    rng = np.random.default_rng(seed)
    brain = np.zeros(BRATS_SHAPE, bool)
    brain[3:21, 4:20, 2:14] = True
    volumes = {k: np.where(brain, rng.uniform(20, 100, BRATS_SHAPE), 0.0)
               for k in ('t1', 't2', 'flair', 't1ce')}
    seg = np.zeros(BRATS_SHAPE)
    seg[8:12, 8:12, 5:9], seg[12:14, 8:12, 5:9], seg[9:11, 14:16, 6:8] = 2, 1, 4
    return volumes, seg


def write_brats_subject(root, number, seg_name=None, suffix='.nii.gz'):
    subject = f'BraTS20_Training_{number:03d}'
    volumes, seg = brats_volumes(number)
    for key, data in volumes.items():
        save(root / subject / f'{subject}_{key}{suffix}', data, LPS_AFFINE)
    save(root / subject / (seg_name or f'{subject}_seg{suffix}'), seg, LPS_AFFINE, np.uint8)
    return subject


def load_tool():
    spec = importlib.util.spec_from_file_location('prepare_data', ROOT / 'tools/prepare_data.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def run_tool(argv):
    """``tools/prepare_data.py ARGV`` in this process; returns its exit code."""
    return load_tool().main(argv)


def test_brats_carries_lesion_and_per_label_masks_through_the_command(tmp_path, capsys):
    raw, out = tmp_path / 'MICCAI_BraTS2020_TrainingData', tmp_path / 'brats_prepared'
    write_brats_subject(raw, 1)
    write_brats_subject(raw, 2, suffix='.nii')
    # the one training case whose segmentation has another name
    write_brats_subject(raw, 355, seg_name='W39_1998.09.19_Segm.nii')
    code = run_tool(['brats2020', '--root', str(raw), '--out', str(out),
                        '--test-subjects', '1', '--per-label-masks', '--no-progress'])
    assert code == 0
    assert 'Prepared 3 subjects' in capsys.readouterr().out
    for number in (1, 2, 355):
        folder = out / f'BraTS20_Training_{number:03d}'
        volumes, seg = brats_volumes(number)
        ras = lambda a: a[::-1, ::-1, :]  # noqa: E731  (LPS -> RAS flips x and y)
        for key in ('t1', 't2', 'flair', 't1ce'):
            image = nib.load(str(folder / f'{key}.nii.gz'))
            np.testing.assert_allclose(np.asarray(image.dataobj), ras(volumes[key]), rtol=1e-6)
        lesion = nib.load(str(folder / 'lesion_mask.nii.gz'))
        assert lesion.get_data_dtype() == np.uint8
        np.testing.assert_array_equal(np.asarray(lesion.dataobj), ras(seg > 0))
        for label in (1, 2, 4):
            mask = np.asarray(nib.load(str(folder / f'lesion_label{label}.nii.gz')).dataobj)
            np.testing.assert_array_equal(mask, ras(seg == label))
        brain = np.asarray(nib.load(str(folder / 'brain_mask.nii.gz')).dataobj)
        np.testing.assert_array_equal(brain, ras(volumes['t1'] > 0))
    meta = json.loads((out / 'splits.json').read_text())['meta']
    assert meta['dataset'] == 'brats2020' and meta['seed'] == 0
    assert meta['command'].startswith('python tools/prepare_data.py brats2020 --root ')


def test_brats_skips_corrupt_files_and_mismatched_shapes_by_name(tmp_path):
    raw, out = tmp_path / 'raw', tmp_path / 'out'
    for number in (1, 2, 3, 4, 5):
        write_brats_subject(raw, number)
    corrupt = raw / 'BraTS20_Training_002' / 'BraTS20_Training_002_t2.nii.gz'
    corrupt.write_bytes(b'not a nifti file')
    save(raw / 'BraTS20_Training_003' / 'BraTS20_Training_003_t1ce.nii.gz',
         np.ones((24, 24, 15)), LPS_AFFINE)
    (raw / 'BraTS20_Training_004' / 'BraTS20_Training_004_flair.nii.gz').unlink()
    from fgsb.datasets.preparers.brats2020 import BraTS2020Preparer

    report = prepare_dataset(BraTS2020Preparer(), raw, out, test_subjects=1, progress=False)
    reasons = {s.subject: s.reason for s in report.skipped}
    assert set(reasons) == {'BraTS20_Training_002', 'BraTS20_Training_003',
                            'BraTS20_Training_004'}
    assert str(corrupt) in reasons['BraTS20_Training_002']
    assert 'not a readable NIfTI' in reasons['BraTS20_Training_002']
    assert 'shape (24, 24, 15) differs' in reasons['BraTS20_Training_003']
    assert 'co-registered' in reasons['BraTS20_Training_003']
    assert reasons['BraTS20_Training_004'].startswith('missing flair')
    # the failed subjects leave no folder behind
    assert sorted(p.name for p in out.iterdir()) == [
        'BraTS20_Training_001', 'BraTS20_Training_005', 'splits.json']


# ----------------------------------------------------------------------- WMH
def test_wmh_lesion_mask_is_label_1_only(tmp_path):
    raw, out = tmp_path / 'WMH', tmp_path / 'out'
    affine = centred_affine((20, 20, 8), spacing=1.0)
    labels = np.zeros((20, 20, 8))
    labels[5:8, 5:8, 2:4], labels[12:15, 12:15, 4:6] = 1, 2
    for site, number in (('Utrecht', 0), ('Singapore', 50), ('Amsterdam/GE3T', 100)):
        folder = raw / site / str(number)
        save(folder / 'pre' / 'T1.nii.gz', sample('t1', (20, 20, 8), affine), affine)
        save(folder / 'pre' / 'FLAIR.nii.gz', sample('t2', (20, 20, 8), affine), affine)
        save(folder / 'wmh.nii.gz', labels, affine)
    (raw / 'Singapore' / '50' / 'wmh.nii.gz').unlink()
    from fgsb.datasets.preparers.wmh2017 import WMH2017Preparer

    report = prepare_dataset(WMH2017Preparer(per_label_masks=True), raw, out,
                             test_subjects=1, progress=False)
    assert report.prepared == ['GE3T_100', 'Utrecht_0']
    assert [s.subject for s in report.skipped] == ['Singapore_50']
    assert 'wmh.nii.gz' in report.skipped[0].reason
    folder = out / 'Utrecht_0'
    read = lambda name: np.asarray(nib.load(str(folder / f'{name}.nii.gz')).dataobj)  # noqa: E731
    np.testing.assert_array_equal(read('lesion_mask'), labels == 1)
    np.testing.assert_array_equal(read('lesion_label1'), labels == 1)
    np.testing.assert_array_equal(read('lesion_label2'), labels == 2)
    assert set(p.name for p in folder.glob('*.nii.gz')) == {
        't1.nii.gz', 'flair.nii.gz', 'brain_mask.nii.gz', 'lesion_mask.nii.gz',
        'lesion_label1.nii.gz', 'lesion_label2.nii.gz'}


# --------------------------------------------------------------------- VALDO
def write_valdo_subject(root, subject, cmb=True):
    affine = centred_affine((20, 20, 8), spacing=1.0)
    for suffix, contrast in (('T1', 't1'), ('T2', 'pd'), ('T2S', 't2')):
        save(root / subject / f'{subject}_space-T2S_desc-masked_{suffix}.nii.gz',
             sample(contrast, (20, 20, 8), affine), affine)
    if cmb:
        labels = np.zeros((20, 20, 8))
        labels[9:11, 9:11, 3:5] = 1
        save(root / subject / f'{subject}_space-T2S_CMB.nii.gz', labels, affine)


def test_valdo_default_patterns_and_optional_masks(tmp_path):
    raw = tmp_path / 'Task2'
    for subject in ('sub-101', 'sub-102', 'sub-103'):
        write_valdo_subject(raw, subject)
    code = run_tool(['valdo', '--root', str(raw), '--out', str(tmp_path / 'a'),
                        '--test-subjects', '1', '--no-progress'])
    assert code == 0
    names = {p.name for p in (tmp_path / 'a' / 'sub-101').glob('*.nii.gz')}
    assert names == {'t1.nii.gz', 't2star.nii.gz', 'brain_mask.nii.gz', 'lesion_mask.nii.gz'}
    # a release without masks: prepared without them, nobody skipped
    no_masks = tmp_path / 'no_masks'
    for subject in ('sub-201', 'sub-202'):
        write_valdo_subject(no_masks, subject, cmb=False)
    from fgsb.datasets.preparers.valdo import ValdoPreparer

    report = prepare_dataset(ValdoPreparer(modalities=['t1', 't2', 't2star']), no_masks,
                             tmp_path / 'b', test_subjects=1, progress=False)
    assert report.skipped == [] and len(report.prepared) == 2
    assert {p.name for p in (tmp_path / 'b' / 'sub-201').glob('*.nii.gz')} == {
        't1.nii.gz', 't2.nii.gz', 't2star.nii.gz', 'brain_mask.nii.gz'}


# -------------------------------------------------------------------- paired
def test_paired_registers_flair_and_moves_its_lesion_mask_with_it(tmp_path):
    raw = tmp_path / 'hospital'
    t1_affine = centred_affine(T1_SHAPE)
    flair_affine = T2_AFFINE
    lesion_centre = BLOB_CENTRES[0]
    for subject in ('patient01', 'patient02'):
        folder = raw / subject / 'anat'
        save(folder / f'{subject}_T1w.nii.gz', sample('t1', T1_SHAPE, t1_affine), t1_affine)
        save(folder / f'{subject}_FLAIR.nii.gz',
             sample('t2', T2_SHAPE, flair_affine, KNOWN_ROTATION, KNOWN_SHIFT), flair_affine)
        # a lesion drawn on FLAIR: the voxels near the moved blob centre
        seen_at = KNOWN_ROTATION @ lesion_centre + KNOWN_SHIFT
        near = np.linalg.norm(world_points(T2_SHAPE, flair_affine) - seen_at, axis=-1) < 4.5
        save(folder / f'{subject}_lesions.nii.gz', near, flair_affine, np.uint8)
    (raw / 'notes').mkdir()
    code = run_tool(['paired', '--root', str(raw), '--out', str(tmp_path / 'out'),
                        '--pattern', 't1=anat/*_T1w.nii.gz', '--pattern', 'flair=anat/*_FLAIR*',
                        '--lesion-pattern', 'anat/*_lesions.nii.gz', '--mask-space', 'flair',
                        '--register', '--spacing', '4', '--test-ids', 'patient02',
                        '--no-progress'])
    assert code == 0
    folder = tmp_path / 'out' / 'patient01'
    flair = nib.load(str(folder / 'flair.nii.gz'))
    assert flair.shape == (20, 20, 12)  # 40x40x24 at 2 mm -> 4 mm
    np.testing.assert_allclose(nib.affines.voxel_sizes(flair.affine), [4, 4, 4])
    truth = sample('t2', flair.shape, flair.affine)
    head = _anatomy(world_points(flair.shape, flair.affine))[0] > 0.5
    assert correlation(np.asarray(flair.dataobj), truth, head) > 0.98
    lesion = np.asarray(nib.load(str(folder / 'lesion_mask.nii.gz')).dataobj)
    centroid = world_points(flair.shape, flair.affine)[lesion > 0].mean(0)
    assert np.linalg.norm(centroid - lesion_centre) < 4.0  # one output voxel
    splits = json.loads((tmp_path / 'out' / 'splits.json').read_text())
    assert (splits['train'], splits['test']) == (['patient01'], ['patient02'])


def test_paired_needs_patterns_and_a_brain_mask_file_when_asked(tmp_path):
    with pytest.raises(PreparationError, match='at least two modalities'):
        PairedPreparer(patterns={'t1': '*T1*'})
    raw = tmp_path / 'raw'
    affine = centred_affine((12, 12, 6))
    for subject in ('a', 'b', 'c'):
        save(raw / subject / 'T1.nii.gz', sample('t1', (12, 12, 6), affine), affine)
        save(raw / subject / 'T2.nii.gz', sample('t2', (12, 12, 6), affine), affine)
    mask = np.zeros((12, 12, 6))
    mask[2:10, 2:10, 1:5] = 1
    save(raw / 'a' / 'a_brain.nii.gz', mask, affine)
    save(raw / 'b' / 'b_brain.nii.gz', mask, affine)
    preparer = PairedPreparer(patterns={'t1': 'T1.nii.gz', 't2': 'T2.nii.gz'},
                              brain_mask_pattern='{id}_brain.nii.gz')
    report = prepare_dataset(preparer, raw, tmp_path / 'out', test_subjects=1, progress=False)
    assert report.prepared == ['a', 'b']
    assert report.skipped[0].subject == 'c' and 'missing brain mask' in report.skipped[0].reason
    brain = np.asarray(nib.load(str(tmp_path / 'out' / 'a' / 'brain_mask.nii.gz')).dataobj)
    np.testing.assert_array_equal(brain, mask)


# ---------------------------------------------------------- splits and runs
def test_split_by_count_is_deterministic_and_seeded():
    ids = [f's{i:02d}' for i in range(20)]
    first = split_subjects(ids, test_subjects=5, seed=3)
    assert first == split_subjects(list(reversed(ids)), test_subjects=5, seed=3)
    assert len(first['test']) == 5 and sorted(first['train'] + first['test']) == ids
    assert split_subjects(ids, test_subjects=5, seed=4) != first
    with pytest.raises(PreparationError, match='needs at least 21'):
        split_subjects(ids, test_subjects=20)


def test_split_from_id_lists_and_files(tmp_path):
    ids = ['a', 'b', 'c', 'd']
    listed = tmp_path / 'test_ids.txt'
    listed.write_text('# test subjects\nb\nd  # the second\n')
    assert read_id_list([str(listed)]) == ['b', 'd']
    assert read_id_list(['a,b', 'c']) == ['a', 'b', 'c']
    assert split_subjects(ids, test_ids=['b', 'd']) == {'train': ['a', 'c'], 'test': ['b', 'd']}
    assert split_subjects(ids, train_ids=['a']) == {'train': ['a'], 'test': ['b', 'c', 'd']}
    with pytest.raises(PreparationError, match='both --train-ids and --test-ids: a'):
        split_subjects(ids, test_ids=['a'], train_ids=['a', 'b'])
    with pytest.raises(PreparationError, match='not prepared: z'):
        split_subjects(ids, test_ids=['z'])
    with pytest.raises(PreparationError, match='listed twice: a'):
        read_id_list(['a', 'a'])


def write_small_pairs(root, subjects=('p1', 'p2', 'p3')):
    affine = centred_affine((12, 12, 6))
    for subject in subjects:
        save(root / subject / 'T1.nii.gz', sample('t1', (12, 12, 6), affine), affine)
        save(root / subject / 'T2.nii.gz', sample('t2', (12, 12, 6), affine), affine)
    return PairedPreparer(patterns={'t1': 'T1.nii.gz', 't2': 'T2.nii.gz'})


def test_rerun_refuses_overwrites_on_request_and_resumes(tmp_path):
    raw, out = tmp_path / 'raw', tmp_path / 'out'
    preparer = write_small_pairs(raw)
    first = prepare_dataset(preparer, raw, out, test_subjects=1, progress=False)
    with pytest.raises(PreparationError, match='already prepared.*--overwrite'):
        prepare_dataset(preparer, raw, out, test_subjects=1, progress=False)
    again = prepare_dataset(preparer, raw, out, test_subjects=1, overwrite=True,
                            progress=False)
    assert again.prepared == first.prepared and again.splits == first.splits
    # an interrupted run (no splits.json yet) resumes from the finished folders
    (out / 'splits.json').unlink()
    resumed = prepare_dataset(preparer, raw, out, test_subjects=1, progress=False)
    assert resumed.reused == ['p1', 'p2', 'p3'] and resumed.prepared == []
    # another setting makes the folders stale
    changed = prepare_dataset(PairedPreparer(patterns=preparer.patterns, spacing=4.0), raw,
                              out, test_subjects=1, overwrite=True, progress=False)
    assert changed.prepared == ['p1', 'p2', 'p3']
    assert nib.load(str(out / 'p1' / 't1.nii.gz')).shape == (6, 6, 3)


def test_a_failed_write_leaves_no_half_written_subject(tmp_path, monkeypatch):
    raw, out = tmp_path / 'raw', tmp_path / 'out'
    preparer = write_small_pairs(raw, subjects=('p1', 'p2'))
    prepare_dataset(preparer, raw, out, test_subjects=1, progress=False)
    before = (out / 'p1' / 't2.nii.gz').read_bytes()
    real_save, calls = subject_folder.save_volume, []

    def failing_save(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise OSError('disk full')
        return real_save(*args, **kwargs)

    monkeypatch.setattr(subject_folder, 'save_volume', failing_save)
    with pytest.raises(OSError, match='disk full'):
        prepare_dataset(PairedPreparer(patterns=preparer.patterns, spacing=3.0), raw, out,
                        test_subjects=1, overwrite=True, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ['p1', 'p2', 'splits.json']
    assert (out / 'p1' / 't2.nii.gz').read_bytes() == before  # the old folder is intact


def test_a_prepared_set_gets_the_permissions_of_the_umask(tmp_path):
    raw, out = tmp_path / 'raw', tmp_path / 'out'
    preparer = write_small_pairs(raw, subjects=('p1', 'p2'))
    saved = os.umask(0o022)
    try:
        prepare_dataset(preparer, raw, out, test_subjects=1, progress=False)
    finally:
        os.umask(saved)
    # shared data: colleagues read it, as any file the user writes
    assert stat.S_IMODE((out / 'p1').stat().st_mode) == 0o755
    for path in (out / 'splits.json', out / 'p1' / 't1.nii.gz', out / 'p1' / '.prepared.json'):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name


def test_a_killed_runs_temporaries_are_removed_by_the_next(tmp_path):
    raw, out = tmp_path / 'raw', tmp_path / 'out'
    preparer = write_small_pairs(raw, subjects=('p1', 'p2'))
    stale = out / '.p1.0badc0de.fgsb-tmp'  # the subject folder a SIGKILL interrupted
    stale.mkdir(parents=True)
    (stale / 't1.nii.gz').write_bytes(b'half')
    prepare_dataset(preparer, raw, out, test_subjects=1, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ['p1', 'p2', 'splits.json']


def test_zero_test_subjects_says_one_is_needed(tmp_path, capsys):
    raw = tmp_path / 'raw'
    write_small_pairs(raw)
    code = run_tool(['paired', '--root', str(raw), '--out', str(tmp_path / 'out'),
                     '--pattern', 't1=T1.nii.gz', '--pattern', 't2=T2.nii.gz',
                     '--test-subjects', '0', '--no-progress'])
    error = capsys.readouterr().err.strip()
    assert code == 2 and error.count('\n') == 0
    assert '--test-subjects 0' in error and 'at least 1 subject' in error
    assert 'smaller' not in error


def test_bad_roots_and_outputs_fail_with_a_clear_message(tmp_path, capsys):
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(PreparationError, match=r'no ixi subjects found under .*IXI###'):
        prepare_dataset(IXIPreparer(), empty, tmp_path / 'out', progress=False)
    (empty / 'IXI-T1.tar').write_bytes(b'')
    with pytest.raises(PreparationError, match='IXI-T1.tar.*extract them first'):
        prepare_dataset(IXIPreparer(), empty, tmp_path / 'out', progress=False)
    code = run_tool(['ixi', '--root', str(tmp_path / 'missing'), '--out',
                        str(tmp_path / 'out'), '--no-progress'])
    assert code == 2 and 'raw data folder' in capsys.readouterr().err
    # too few subjects for the paper's default test count: fails before any work
    raw = tmp_path / 'raw'
    write_small_pairs(raw)
    from fgsb.datasets.preparers.valdo import ValdoPreparer

    with pytest.raises(PreparationError, match='--test-subjects 8 needs at least 9'):
        prepare_dataset(ValdoPreparer(patterns={'t1': 'T1.nii.gz', 't2star': 'T2.nii.gz'}),
                        raw, tmp_path / 'out', progress=False)
    assert not (tmp_path / 'out').exists()
    foreign = tmp_path / 'foreign'
    foreign.mkdir()
    (foreign / 'thesis.pdf').write_bytes(b'')
    with pytest.raises(PreparationError, match='did not write.*thesis.pdf'):
        prepare_dataset(write_small_pairs(raw), raw, foreign, test_subjects=1,
                        progress=False)


# ------------------------------------------------------ masks from volumes
def test_estimated_brain_mask_is_the_largest_filled_component():
    grid = np.stack(np.meshgrid(*[np.arange(32)] * 3, indexing='ij'), -1)
    head = np.linalg.norm(grid - 15.5, axis=-1) < 11
    ventricle = np.linalg.norm(grid - 15.5, axis=-1) < 4
    speck = np.linalg.norm(grid - [2, 2, 2], axis=-1) < 2
    rng = np.random.default_rng(0)
    volume = np.abs(rng.normal(0, 3, grid.shape[:3]))  # noisy air
    volume[head] = 100
    volume[ventricle] = 5  # dark CSF inside the head
    volume[speck] = 100  # an artefact outside it
    np.testing.assert_array_equal(otsu_head_mask(volume), head)
    stripped = np.where(head & ~ventricle, volume, 0.0)  # skull-stripped, dark CSF = 0
    np.testing.assert_array_equal(otsu_head_mask(stripped), head)


def test_label_maps_must_hold_whole_non_negative_labels():
    with pytest.raises(VolumeError, match='wmh.nii.gz: not a label map'):
        as_label_map(np.array([0.0, 0.5, 1.0]), 'wmh.nii.gz')
    labels = as_label_map(np.array([0.0, 1.0, 2.0, 4.0]), 'seg.nii.gz')
    masks = lesion_masks(labels, lesion_labels=(1,), per_label=(1, 2, 3))
    np.testing.assert_array_equal(masks['lesion_mask'], [0, 1, 0, 0])
    np.testing.assert_array_equal(masks['lesion_label2'], [0, 0, 1, 0])
    np.testing.assert_array_equal(masks['lesion_label3'], [0, 0, 0, 0])


# ------------------------------------------------------------------ configs
DATASET_CONFIGS = {
    'ixi_t1_t2': ('ixi', 't2'), 'brats2020_t1_t2': ('brats2020', 't2'),
    'brats2020_t1_flair': ('brats2020', 'flair'), 'brats2020_t1_t1ce': ('brats2020', 't1ce'),
    'wmh2017_t1_flair': ('wmh2017', 'flair'), 'valdo_t1_t2star': ('valdo', 't2star')}


@pytest.mark.parametrize('name', sorted(DATASET_CONFIGS))
def test_dataset_config_gives_a_prepare_command_that_parses(name):
    dataset, target = DATASET_CONFIGS[name]
    cfg = Config.fromfile(str(ROOT / 'configs/_base_/datasets' / f'{name}.py'))
    words = shlex.split(cfg.prepare_command)
    assert words[:3] == ['python', 'tools/prepare_data.py', dataset]
    args = load_tool().build_parser().parse_args(words[2:])
    assert args.out == cfg.data_root == f'data/{dataset}_prepared'
    train = cfg.train_dataloader.dataset.dataset  # inside NegativePairDataset
    for dataset_cfg in (train, cfg.val_dataloader.dataset, cfg.test_dataloader.dataset):
        assert dataset_cfg.type == 'PairedSliceDataset'
        assert (dataset_cfg.source, dataset_cfg.target) == ('t1', target)
        assert dataset_cfg.data_root == cfg.data_root
        assert cfg.prepare_command in dataset_cfg.missing_root_hint
    assert train.split == 'train' and cfg.test_dataloader.dataset.split == 'test'
