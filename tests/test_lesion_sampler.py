"""LesionSliceSampler: the configured share of lesion-bearing training draws."""
from collections import Counter

import nibabel as nib
import numpy as np
import pytest

from fgsb.datasets.negative_pair_dataset import NegativePairDataset
from fgsb.datasets.paired_slice_dataset import PairedSliceDataset
from fgsb.registry import DATA_SAMPLERS


class MarkedSlices:
    """The sampler's view of a training set: its length and its marked slices."""

    def __init__(self, size, marked):
        self.size, self.marked = size, list(marked)

    def __len__(self):
        return self.size

    def slices_marked_by(self, key):
        assert key == 'lesion_mask'
        return self.marked


def build(dataset, **kwargs):
    return DATA_SAMPLERS.build(dict(type='LesionSliceSampler', **kwargs),
                               default_args=dict(dataset=dataset, seed=7))


@pytest.mark.parametrize('fraction', [0.0, 0.25, 0.5, 0.9, 1.0])
def test_every_epoch_holds_exactly_the_configured_share(fraction):
    data = MarkedSlices(40, marked=[3, 17, 29])  # 3 of 40 slices: 7.5 % uniformly
    sampler = build(data, lesion_slice_fraction=fraction)
    wanted = round(fraction * 40)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        draws = list(sampler)
        assert len(draws) == len(sampler) == 40
        marked = [i for i in draws if i in data.marked]
        assert len(marked) == wanted
        # marked slices are drawn evenly: floor or ceil of wanted / 3 times each
        counts = Counter(marked)
        if wanted:
            assert set(counts) == set(data.marked)
            assert max(counts.values()) - min(counts.values()) <= 1
        # the unmarked draws never repeat while unmarked slices are left
        unmarked = [i for i in draws if i not in data.marked]
        assert len(set(unmarked)) == min(len(unmarked), 37)


def test_draws_depend_only_on_seed_and_epoch():
    data = MarkedSlices(30, marked=range(5))
    first, again = build(data), build(data)
    assert list(first) == list(again)
    again.set_epoch(1)
    assert list(first) != list(again)
    other = DATA_SAMPLERS.build(dict(type='LesionSliceSampler'),
                                default_args=dict(dataset=data, seed=8))
    assert list(other) != list(first)


def test_impossible_shares_fail_clearly():
    with pytest.raises(ValueError, match='no training slice'):
        build(MarkedSlices(10, marked=[]), lesion_slice_fraction=0.5)
    assert len(list(build(MarkedSlices(10, marked=[]), lesion_slice_fraction=0.0))) == 10
    with pytest.raises(ValueError, match='every training slice'):
        build(MarkedSlices(4, marked=range(4)), lesion_slice_fraction=0.5)
    with pytest.raises(ValueError, match=r'in \[0, 1\]'):
        build(MarkedSlices(4, marked=[1]), lesion_slice_fraction=1.5)
    with pytest.raises(TypeError, match='PairedSliceDataset'):
        build(list(range(4)))


def test_marked_slices_of_a_wrapped_dataset(prepared_root):
    for path in prepared_root.glob('*/lesion_mask.nii.gz'):  # lesions in 2 of 8 slices only
        image = nib.load(str(path))
        mask = np.asarray(image.dataobj).copy()
        mask[..., [0, 1, 2, 5, 6, 7]] = 0
        nib.save(nib.Nifti1Image(mask, image.affine), str(path))
    data = PairedSliceDataset(prepared_root, source='t1', target='flair', size=16,
                              prior=dict(type='ThresholdPrior', theta=0.9))
    marked = data.slices_marked_by('lesion_mask')
    has_lesion = [i for i in range(len(data)) if data[i]['lesion_mask'].sum() > 0]
    assert marked == has_lesion and 0 < len(marked) < len(data)
    in_prior = [i for i in range(len(data)) if data[i]['prior'].sum() > 0]
    assert data.slices_marked_by('prior') == in_prior
    sampler = build(NegativePairDataset(data), lesion_slice_fraction=0.5)
    draws = list(sampler)
    assert sum(i in set(marked) for i in draws) == round(0.5 * len(data))
    with pytest.raises(ValueError, match='key must be'):
        data.slices_marked_by('brain_mask')
    plain = PairedSliceDataset(prepared_root, source='t1', target='flair', size=16)
    with pytest.raises(ValueError, match='no prior map'):
        plain.slices_marked_by('prior')
