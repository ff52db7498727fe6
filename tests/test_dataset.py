"""PairedSliceDataset and the slice pipeline it is built from."""
import json

import nibabel as nib
import numpy as np
import pytest
import torch
from scipy.ndimage import binary_erosion

import fgsb.datasets.volume_cache as volume_cache
from fgsb.datasets.nifti_io import VolumeError
from fgsb.datasets.paired_slice_dataset import PairedSliceDataset
from fgsb.datasets.prepared_layout import choose_subjects
from fgsb.datasets.slice_preprocessing import (LEFT_RIGHT_AXIS, normalise, pad_to_square,
                                               resize_slices, robust_range, square_padding,
                                               unpad)
from fgsb.registry import DATASETS, PRIORS

SHAPE = (24, 20, 12)  # axis 2 is axial; in-plane 24 x 20 pads to 24 x 24
SUBJECTS = ['s00', 's01', 's02', 's03']


def brain_blob():
    x, y, z = np.meshgrid(*[np.arange(n) for n in SHAPE], indexing='ij')
    # off-centre in x, so that a left-right flip changes the brain mask too
    return ((x - 10.5) / 9) ** 2 + ((y - 9.5) / 7) ** 2 + ((z - 5.5) / 4.5) ** 2 <= 1


def save(array, path):
    nib.save(nib.Nifti1Image(np.asarray(array), np.eye(4)), str(path))


def write_subject(root, subject, offset=0.0, lesion=False, brain_mask=True):
    folder = root / subject
    folder.mkdir(parents=True)
    brain = brain_blob()
    x, y, _ = np.meshgrid(*[np.arange(n) for n in SHAPE], indexing='ij')
    smooth = np.sin(x / 4.0) + np.cos(y / 5.0)  # smooth, so that resizing is nearly lossless
    save((brain * (100 + 20 * smooth + offset)).astype(np.float32), folder / 't1.nii.gz')
    save((brain * (300 - 40 * smooth + offset)).astype(np.float32), folder / 't2.nii.gz')
    if brain_mask:
        save(brain.astype(np.uint8), folder / 'brain_mask.nii.gz')
    if lesion:
        spot = np.zeros(SHAPE, dtype=np.uint8)
        spot[10:13, 8:11, 5:7] = 1
        save(spot, folder / 'lesion_mask.nii.gz')


def write_root(root, train=SUBJECTS[:3], test=SUBJECTS[3:], brain_mask=True, **extra):
    for i, subject in enumerate(SUBJECTS):
        write_subject(root, subject, offset=5.0 * i, lesion=subject == 's01',
                      brain_mask=brain_mask)
    with open(root / 'splits.json', 'w') as f:
        json.dump({'train': list(train), 'test': list(test), 'meta': {'note': 'x'},
                   **extra}, f)
    return root


@pytest.fixture
def root(tmp_path):
    return write_root(tmp_path / 'prepared')


def kept_axial_slices(min_fraction=0.1):
    fractions = brain_blob().mean(axis=(0, 1))
    return [int(k) for k in np.flatnonzero(fractions >= min_fraction)]


# ---------------------------------------------------------------- preprocessing
def test_normalise_maps_percentiles_to_minus_one_and_one():
    volume = np.zeros((4, 4, 4), np.float32)
    mask = np.zeros(volume.shape, bool)
    mask[1:3, 1:3, 1:3] = True
    volume[mask] = [10, 20, 30, 20, 10, 30, 20, 20]
    lo, hi = robust_range(volume, mask, (0, 100))
    assert (lo, hi) == (10.0, 30.0)
    out = normalise(np.array([0.0, 10.0, 20.0, 30.0, 50.0]), lo, hi)
    np.testing.assert_allclose(out, [-1, -1, 0, 1, 1])  # clipped outside [lo, hi]


def test_robust_range_rejects_constant_brain():
    volume = np.full((3, 3, 3), 7.0, np.float32)
    with pytest.raises(ValueError, match='my.nii.gz.*constant'):
        robust_range(volume, volume > 0, name='my.nii.gz')


def test_pad_unpad_and_resize_shapes():
    assert square_padding(24, 20) == ((0, 0), (2, 2))
    assert square_padding(5, 8) == ((1, 2), (0, 0))  # odd remainder goes after
    image = np.arange(15, dtype=np.float32).reshape(3, 5)
    padded, pad = pad_to_square(image, -1.0)
    assert padded.shape == (5, 5) and pad == ((1, 1), (0, 0))
    assert (padded[0] == -1).all() and (padded[4] == -1).all()
    np.testing.assert_array_equal(unpad(padded, pad), image)
    mask = np.zeros((4, 4), np.float32)
    mask[1:3, 1:3] = 1
    big = resize_slices(mask, (8, 8), mode='nearest')
    np.testing.assert_array_equal(big[2:6, 2:6], 1)  # nearest keeps the block centred
    assert big.sum() == 16


# ---------------------------------------------------------------- samples
def test_sample_shapes_dtypes_and_range(root):
    dataset = PairedSliceDataset(root, size=32)
    kept = kept_axial_slices()
    assert dataset.subjects == ['s00', 's01', 's02']
    assert len(dataset) == 3 * len(kept)
    sample = dataset[0]
    for key in ('source', 'target', 'brain_mask', 'lesion_mask'):
        assert sample[key].shape == (1, 32, 32) and sample[key].dtype == torch.float32
    assert 'prior' not in sample
    for key in ('source', 'target'):
        assert sample[key].min() == -1.0 and sample[key].max() <= 1.0
    assert set(sample['brain_mask'].unique().tolist()) == {0.0, 1.0}
    assert sample['lesion_mask'].sum() == 0  # s00 has no lesion mask
    assert sample['meta'] == dict(subject='s00', slice_index=kept[0], flipped=False)
    layout = dataset.slice_layout('s00')
    assert layout.indices == tuple(kept) and layout.volume_shape == SHAPE and layout.axis == 2
    assert layout.in_plane_shape == (24, 20) and layout.pad == ((0, 0), (2, 2))
    assert layout.side == 24 and layout.size == 32
    with_lesion = dataset[dataset.subject_slices('s01')[3]]
    assert with_lesion['lesion_mask'].sum() > 0
    assert dataset.metainfo['subjects'] == ['s00', 's01', 's02']
    assert dataset.metainfo['num_slices'] == len(dataset)


def test_normalisation_padding_exact_without_resize(root):
    dataset = PairedSliceDataset(root, size=None, percentiles=(0, 100))
    assert dataset.size == 24
    idx = dataset.subject_slices('s02')[2]
    sample = dataset[idx]
    meta = sample['meta']
    volume = nib.load(str(root / 's02' / 't2.nii.gz')).get_fdata().astype(np.float32)
    brain = brain_blob()
    # percentiles (0, 100): the brain's minimum and maximum map onto -1 and 1
    expected = normalise(volume[:, :, meta['slice_index']], volume[brain].min(),
                         volume[brain].max())
    target = sample['target'][0].numpy()
    np.testing.assert_array_equal(target[:, 2:22], expected)
    assert (target[:, :2] == -1).all() and (target[:, 22:] == -1).all()  # minimum padding
    np.testing.assert_array_equal(dataset.slice_layout('s02').restore(target), expected)


def test_layout_restore_inverts_resize_approximately(root):
    dataset = PairedSliceDataset(root, size=48, flip_prob=1.0, min_brain_fraction=0.3)
    sample = dataset[1]
    meta = sample['meta']
    assert meta['flipped'] is True
    volume = nib.load(str(root / 's00' / 't1.nii.gz')).get_fdata().astype(np.float32)
    expected = normalise(volume[:, :, meta['slice_index']],
                         *robust_range(volume, brain_blob(), (0.5, 99.5)))
    layout = dataset.slice_layout('s00')
    flipped = sample['source'][0].numpy()
    restored = layout.restore(np.flip(flipped, axis=LEFT_RIGHT_AXIS))
    assert restored.shape == (24, 20)
    # the brain's rim is a step edge that resizing blurs; compare inside it
    inside = binary_erosion(brain_blob()[:, :, meta['slice_index']])
    error = np.abs(restored - expected)[inside]
    assert error.mean() < 0.02 and error.max() < 0.1
    assert np.abs(layout.restore(flipped) - expected)[inside].mean() > 0.1
    with pytest.raises(ValueError, match=r'shape \(48, 48\)'):
        layout.restore(flipped[:40])


def test_background_slices_are_excluded(root):
    dataset = PairedSliceDataset(root, subjects=['s00'], size=24)
    kept = kept_axial_slices()
    assert 0 < len(kept) < 12 and 0 not in kept and 11 not in kept
    assert [dataset[i]['meta']['slice_index'] for i in range(len(dataset))] == kept
    for i in range(len(dataset)):
        assert dataset[i]['brain_mask'].mean() >= 0.1 * 20 / 24  # fraction of the unpadded slice
    everything = PairedSliceDataset(root, subjects=['s00'], size=24, min_brain_fraction=0.0)
    assert len(everything) == 12


def test_estimated_brain_mask_when_file_missing(tmp_path):
    root = write_root(tmp_path / 'nomask', brain_mask=False)
    dataset = PairedSliceDataset(root, size=None)
    assert dataset.slice_layout('s00').indices == tuple(kept_axial_slices())
    expected = np.pad(brain_blob()[:, :, dataset[0]['meta']['slice_index']], ((0, 0), (2, 2)))
    np.testing.assert_array_equal(dataset[0]['brain_mask'][0].numpy(), expected)


def test_flip_flips_every_key_together(root):
    prior = ThresholdForTests(theta=0.0)
    plain = PairedSliceDataset(root, subjects=['s01'], size=32, prior=prior)
    flipped = PairedSliceDataset(root, subjects=['s01'], size=32, prior=prior, flip_prob=1.0)
    idx = plain.subject_slices('s01')[4]
    a, b = plain[idx], flipped[idx]
    assert b['meta']['flipped'] and not a['meta']['flipped']
    for key in ('source', 'target', 'brain_mask', 'lesion_mask', 'prior'):
        assert not torch.equal(a[key], torch.flip(a[key], dims=[-2])), key
        torch.testing.assert_close(b[key], torch.flip(a[key], dims=[-2]), rtol=0, atol=0)
    half = PairedSliceDataset(root, subjects=['s01'], size=32, flip_prob=0.5)
    flags = [half[idx]['meta']['flipped'] for _ in range(40)]
    assert 5 < sum(flags) < 35
    with pytest.raises(ValueError, match='sagittal'):
        PairedSliceDataset(root, axis=0, flip_prob=0.5)


# ---------------------------------------------------------------- subjects
def test_subject_choice_is_deterministic_and_nested(tmp_path):
    ids = [f'sub{i:02d}' for i in range(8)]
    order = np.random.default_rng(3).permutation(8)
    assert choose_subjects(ids[::-1], 3, 3) == [ids[i] for i in order[:3]]
    assert choose_subjects(ids, 2, 3) == choose_subjects(ids, 5, 3)[:2]
    choices = {tuple(sorted(choose_subjects(ids, 2, seed))) for seed in range(10)}
    assert len(choices) > 1

    root = write_root(tmp_path / 'r', train=SUBJECTS, test=[])
    first = PairedSliceDataset(root, num_subjects=2, seed=0, size=24)
    again = PairedSliceDataset(root, num_subjects=2, seed=0, size=24)
    assert first.subjects == again.subjects == sorted(choose_subjects(SUBJECTS, 2, 0))
    others = [PairedSliceDataset(root, num_subjects=2, seed=s, size=24).subjects
              for s in (1, 2, 3)]
    assert any(o != first.subjects for o in others)
    explicit = PairedSliceDataset(root, subjects=['s03', 's00'], size=24)
    assert explicit.subjects == ['s00', 's03']


def test_validation_carved_from_train(tmp_path):
    root = write_root(tmp_path / 'r', train=SUBJECTS[:3], test=SUBJECTS[3:])
    train = PairedSliceDataset(root, split='train', val_subjects=1, seed=4, size=24)
    val = PairedSliceDataset(root, split='val', val_subjects=1, seed=4, size=24)
    test = PairedSliceDataset(root, split='test', val_subjects=1, seed=4, size=24)
    assert len(val.subjects) == 1 and len(train.subjects) == 2
    assert not set(val.subjects) & set(train.subjects)
    assert set(val.subjects) | set(train.subjects) == set(SUBJECTS[:3])
    assert test.subjects == ['s03']
    assert val.subjects == choose_subjects(SUBJECTS[:3], 1, 4)
    with pytest.raises(ValueError, match='leaves no training'):
        PairedSliceDataset(root, split='val', val_subjects=3)


def test_existing_val_split_conflicts_with_carving(tmp_path):
    root = write_root(tmp_path / 'r', train=SUBJECTS[:2], test=SUBJECTS[3:], val=['s02'])
    assert PairedSliceDataset(root, split='val', size=24).subjects == ['s02']
    with pytest.raises(ValueError, match="already has a 'val' split"):
        PairedSliceDataset(root, split='val', val_subjects=1)


def test_volumes_read_once(root, monkeypatch):
    calls = []
    real = volume_cache.load_volume

    def counting(path, **kwargs):
        calls.append(str(path))
        return real(path, **kwargs)

    monkeypatch.setattr(volume_cache, 'load_volume', counting)
    dataset = PairedSliceDataset(root, size=32, flip_prob=0.5)
    # t1, t2, brain mask for each of 3 subjects, plus s01's lesion mask
    assert len(calls) == 3 * 3 + 1 and len(set(calls)) == len(calls)
    for i in range(len(dataset)):
        dataset[i]
    assert len(calls) == 10


def test_cache_dir_reuses_slices(root, tmp_path, monkeypatch):
    cache = tmp_path / 'cache'
    first = PairedSliceDataset(root, size=32, cache_dir=cache)
    calls = []
    real = volume_cache.load_volume
    monkeypatch.setattr(volume_cache, 'load_volume',
                        lambda path, **kw: calls.append(path) or real(path, **kw))
    second = PairedSliceDataset(root, size=32, cache_dir=cache)
    assert calls == []
    for i in (0, len(first) - 1):
        a, b = first[i], second[i]
        for key in ('source', 'target', 'brain_mask', 'lesion_mask'):
            assert torch.equal(a[key], b[key])
        assert a['meta'] == b['meta']
    assert [first.slice_layout(s) for s in first.subjects] == \
        [second.slice_layout(s) for s in second.subjects]
    PairedSliceDataset(root, size=24, cache_dir=cache)  # another setting, another entry
    assert len(calls) == 10


def test_subject_slices_lists_a_whole_volume(root):
    dataset = PairedSliceDataset(root, size=24)
    for subject in dataset.subjects:
        indices = dataset.subject_slices(subject)
        metas = [dataset[i]['meta'] for i in indices]
        assert {m['subject'] for m in metas} == {subject}
        assert tuple(m['slice_index'] for m in metas) == dataset.slice_layout(subject).indices
    with pytest.raises(KeyError, match='s03'):
        dataset.subject_slices('s03')
    with pytest.raises(KeyError, match='s03'):
        dataset.slice_layout('s03')


# ---------------------------------------------------------------- prior hook
class ThresholdForTests:
    """``M = 1[x1 > theta]`` inside the brain; records what it was called with."""

    def __init__(self, theta):
        self.theta = theta
        self.calls = []

    def __call__(self, target, brain_mask, lesion_mask):
        self.calls.append((target.shape, brain_mask.dtype,
                           None if lesion_mask is None else lesion_mask.dtype))
        return ((target > self.theta) & brain_mask).astype(np.float32)


PRIORS.register_module(name='ThresholdForTests', module=ThresholdForTests, force=True)


def test_prior_from_config_is_applied(root):
    dataset = PairedSliceDataset(root, size=32, prior=dict(type='ThresholdForTests', theta=0.2))
    assert len(dataset.prior.calls) == len(dataset)
    shapes, dtypes, lesion_dtypes = zip(*dataset.prior.calls)
    assert set(shapes) == {(32, 32)} and set(dtypes) == {np.dtype(bool)}
    assert set(lesion_dtypes) == {None, np.dtype(bool)}  # only s01 has a lesion mask
    for i in (0, len(dataset) // 2):
        sample = dataset[i]
        expected = (sample['target'] > 0.2) & (sample['brain_mask'] > 0)
        assert sample['prior'].shape == (1, 32, 32)
        assert torch.equal(sample['prior'], expected.float())
        assert 0 < sample['prior'].sum() < sample['brain_mask'].sum()


def test_prior_with_wrong_shape_is_rejected(root):
    with pytest.raises(ValueError, match='prior .* shape \\(3, 3\\)'):
        PairedSliceDataset(root, size=32, prior=lambda **kw: np.zeros((3, 3)))
    with pytest.raises(TypeError, match='prior'):
        PairedSliceDataset(root, size=32, prior='ThresholdForTests')


def test_built_from_the_registry(root):
    dataset = DATASETS.build(dict(type='PairedSliceDataset', data_root=str(root),
                                  split='test', size=24))
    assert isinstance(dataset, PairedSliceDataset) and dataset.subjects == ['s03']


# ---------------------------------------------------------------- bad input
def test_missing_root_names_it_and_gives_the_hint(tmp_path):
    missing = tmp_path / 'nowhere'
    hint = 'run: python tools/prepare_data.py ixi --root RAW --out nowhere'
    with pytest.raises(FileNotFoundError, match='nowhere does not exist; run: python tools'):
        PairedSliceDataset(missing, missing_root_hint=hint)


def test_missing_and_invalid_splits(root):
    (root / 'splits.json').unlink()
    with pytest.raises(FileNotFoundError, match='splits.json not found'):
        PairedSliceDataset(root)
    (root / 'splits.json').write_text('{"train": [')
    with pytest.raises(ValueError, match='splits.json: not valid JSON'):
        PairedSliceDataset(root)


def test_missing_subject_folder(tmp_path):
    root = write_root(tmp_path / 'r', train=['s00', 'ghost'])
    with pytest.raises(FileNotFoundError, match="'ghost' of split 'train'.*ghost"):
        PairedSliceDataset(root)


def test_missing_modality_file_lists_what_the_subject_has(root):
    (root / 's01' / 't2.nii.gz').unlink()
    with pytest.raises(FileNotFoundError, match=r"s01/t2.nii.gz not found.*are: t1$"):
        PairedSliceDataset(root)


def test_unknown_modality_key(root):
    with pytest.raises(FileNotFoundError, match=r"s00/dwi.nii.gz.*'dwi'.*are: t1, t2$"):
        PairedSliceDataset(root, target='dwi')


def rewrite(root, name, data):
    path = root / 's00' / name
    path.unlink()
    save(data, path)
    return path


def test_truncated_nifti(root):
    path = root / 's00' / 't1.nii.gz'
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(VolumeError, match='s00/t1.nii.gz: not a readable NIfTI'):
        PairedSliceDataset(root)


def test_four_d_volume(root):
    rewrite(root, 't2.nii.gz', np.ones(SHAPE + (2,), np.float32))
    with pytest.raises(VolumeError, match='s00/t2.nii.gz: expected a 3-D volume'):
        PairedSliceDataset(root)


def test_source_and_target_shapes_differ(root):
    rewrite(root, 't2.nii.gz', np.ones((24, 20, 10), np.float32))
    with pytest.raises(VolumeError, match=r's00/t2.nii.gz: shape \(24, 20, 10\) differs'):
        PairedSliceDataset(root)


def test_mask_shape_differs(root):
    rewrite(root, 'brain_mask.nii.gz', np.ones((24, 20, 10), np.uint8))
    with pytest.raises(VolumeError, match='s00/brain_mask.nii.gz: shape'):
        PairedSliceDataset(root)


def test_nan_and_inf_voxels(root):
    data = brain_blob() * 100.0
    data[3, 3, 3], data[4, 4, 4] = np.nan, np.inf
    rewrite(root, 't1.nii.gz', data.astype(np.float32))
    with pytest.raises(VolumeError, match='s00/t1.nii.gz: 2 NaN/Inf voxels'):
        PairedSliceDataset(root)


def test_all_zero_volume(root):
    rewrite(root, 't2.nii.gz', np.zeros(SHAPE, np.float32))
    with pytest.raises(VolumeError, match='s00/t2.nii.gz: the volume is empty'):
        PairedSliceDataset(root)


def test_constant_brain_intensity(root):
    rewrite(root, 't2.nii.gz', brain_blob().astype(np.float32) * 5)
    with pytest.raises(VolumeError, match='s00/t2.nii.gz: intensities .* constant'):
        PairedSliceDataset(root)


def test_more_subjects_asked_than_the_split_has(root):
    with pytest.raises(ValueError, match="split 'train' has 3 subjects, num_subjects=5"):
        PairedSliceDataset(root, num_subjects=5)


def test_unknown_split(root):
    with pytest.raises(ValueError, match="unknown split 'valid'; it has test, train"):
        PairedSliceDataset(root, split='valid')


def test_no_slice_left_after_background_exclusion(root):
    with pytest.raises(ValueError, match="subject 's00'.*min_brain_fraction=0.9"):
        PairedSliceDataset(root, min_brain_fraction=0.9)


@pytest.mark.parametrize('kwargs, message', [
    (dict(axis=3), 'axis'), (dict(size=0), 'size'), (dict(flip_prob=2.0), 'flip_prob'),
    (dict(percentiles=(99, 1)), 'percentiles'), (dict(num_subjects=0), 'num_subjects'),
    (dict(min_brain_fraction=1.5), 'min_brain_fraction'), (dict(subjects=[]), 'subjects')])
def test_bad_arguments(root, kwargs, message):
    with pytest.raises(ValueError, match=message):
        PairedSliceDataset(root, **kwargs)


def test_listed_subjects_and_validation_carving_are_refused_together(root):
    subject = json.loads((root / 'splits.json').read_text())['train'][0]
    assert len(PairedSliceDataset(root, subjects=[subject], size=32)) > 0
    with pytest.raises(ValueError, match='cannot be combined'):
        PairedSliceDataset(root, subjects=[subject], val_subjects=1, size=32)
