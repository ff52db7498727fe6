"""Label selection of SegmentationPrior through the dataset (label values kept for it)."""
import hashlib
import json
from dataclasses import asdict

import nibabel as nib
import numpy as np
import pytest

import fgsb.datasets.volume_cache as volume_cache
from fgsb.datasets.paired_slice_dataset import PairedSliceDataset
from fgsb.datasets.slice_pipeline import SliceSettings

SHAPE = (16, 16, 6)


def save(array, path):
    nib.save(nib.Nifti1Image(np.asarray(array), np.eye(4)), str(path))


def label_map():
    labels = np.zeros(SHAPE, np.uint8)
    labels[3:6, 3:6, 1:4] = 1
    labels[9:12, 8:13, 2:5] = 2
    labels[6:8, 12:14, 3] = 4
    return labels


@pytest.fixture
def root(tmp_path):
    """'per_label': binary lesion mask (label 1 only, as WMH) plus one file a label;
    'label_map': the lesion mask itself holds the labels."""
    root = tmp_path / 'prepared'
    brain = np.zeros(SHAPE, np.uint8)
    brain[1:15, 1:15, :] = 1
    x = np.arange(SHAPE[0])[:, None, None] * np.ones(SHAPE)
    labels = label_map()
    for subject in ('per_label', 'label_map'):
        folder = root / subject
        folder.mkdir(parents=True)
        save((brain * (50 + x)).astype(np.float32), folder / 't1.nii.gz')
        save((brain * (90 - x) + 30 * (labels > 0)).astype(np.float32), folder / 'flair.nii.gz')
        save(brain, folder / 'brain_mask.nii.gz')
    save((labels == 1).astype(np.uint8), root / 'per_label' / 'lesion_mask.nii.gz')
    for k in (1, 2, 4):
        save((labels == k).astype(np.uint8), root / 'per_label' / f'lesion_label{k}.nii.gz')
    save(labels, root / 'label_map' / 'lesion_mask.nii.gz')
    (root / 'splits.json').write_text(json.dumps({'train': ['label_map', 'per_label']}))
    return root


def dataset(root, prior, **kwargs):
    return PairedSliceDataset(root, source='t1', target='flair', size=None,
                              min_brain_fraction=0.0, prior=prior, **kwargs)


def subject_stack(data, subject, key):
    return np.stack([data[i][key][0].numpy() for i in data.subject_slices(subject)])


def expected(labels, subject, data):
    indices = data.slice_layout(subject).indices
    return np.moveaxis(labels, 2, 0)[list(indices)]


@pytest.mark.parametrize('cached', [False, True])
def test_segmentation_prior_selects_labels_of_both_sources(root, tmp_path, cached):
    cache = str(tmp_path / 'cache') if cached else None
    labels = label_map()
    for _ in range(2 if cached else 1):  # the second pass reads the cache
        data = dataset(root, dict(type='SegmentationPrior', labels=[2, 4]), cache_dir=cache)
        for subject in ('per_label', 'label_map'):
            prior = subject_stack(data, subject, 'prior')
            np.testing.assert_array_equal(prior, expected(np.isin(labels, [2, 4]), subject, data))
        # the lesion masks the metrics see stay binary, as the files give them
        np.testing.assert_array_equal(subject_stack(data, 'per_label', 'lesion_mask'),
                                      expected(labels == 1, 'per_label', data))
        np.testing.assert_array_equal(subject_stack(data, 'label_map', 'lesion_mask'),
                                      expected(labels > 0, 'label_map', data))


def test_binary_behaviour_without_labels_is_unchanged(root, monkeypatch):
    read = []
    original = volume_cache.load_volume
    monkeypatch.setattr(volume_cache, 'load_volume',
                        lambda path, **kw: read.append(path.name) or original(path, **kw))
    data = dataset(root, dict(type='SegmentationPrior'))
    assert not any(name.startswith('lesion_label') for name in read)  # never read
    labels = label_map()
    for subject, mask in (('per_label', labels == 1), ('label_map', labels > 0)):
        np.testing.assert_array_equal(subject_stack(data, subject, 'prior'),
                                      expected(mask, subject, data))


def test_label_values_change_the_cache_key_only_when_asked(root):
    path = root / 'per_label' / 't1.nii.gz'
    files = {'source': path, 'target': path, 'lesion_mask': None}
    settings = SliceSettings()
    stat = path.stat()
    stamp = [str(path.resolve()), stat.st_size, stat.st_mtime_ns]
    # the key of an entry written before label values (and 2.5D context) existed:
    # still the same
    before = {k: v for k, v in asdict(settings).items()
              if k not in ('context_slices', 'target_context_slices')}
    description = dict(version=volume_cache.CACHE_FORMAT_VERSION, subject='s',
                       files={'lesion_mask': None, 'source': stamp, 'target': stamp},
                       settings=before)
    digest = hashlib.sha1(json.dumps(description, sort_keys=True).encode()).hexdigest()
    assert volume_cache._cache_key('s', files, settings) == f's-{digest[:16]}'
    assert volume_cache._cache_key('s', files, settings, lesion_labels=True) != \
        f's-{digest[:16]}'
