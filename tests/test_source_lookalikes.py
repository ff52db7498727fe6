"""source_lookalikes: hand-built slices whose look-alike measures are counted by hand."""
import numpy as np
import pytest

from fgsb.evaluation.source_lookalikes import lookalike_measures, source_bins


def centre_lesion():
    """A 5x5 slice, all brain, its centre voxel a lesion; the lesion's 2-px ring
    is the diamond |dy| + |dx| <= 2 around it (the corners lie outside)."""
    lesion = np.zeros((1, 5, 5), bool)
    lesion[0, 2, 2] = True
    return np.ones((1, 5, 5)), np.zeros((1, 5, 5)), lesion


def test_a_lesion_sharing_its_t1w_with_other_tissue_is_painted_with_their_mean():
    source, target, lesion = centre_lesion()
    source[0, 2, 2], target[0, 2, 2] = 0.0, 1.0
    for y, x in ((0, 0), (0, 4), (4, 0)):  # three look-alikes: the lesion's T1w, FLAIR 0.2
        source[0, y, x], target[0, y, x] = 0.0, 0.2
    # 2 bins split at the median (1.0): bin 0 = the lesion and its 3 look-alikes
    found = lookalike_measures(source, target, np.ones_like(lesion), lesion, bins=2)
    assert found['lesion_share'] == pytest.approx(1 / 4)
    assert found['prevalence'] == pytest.approx(1 / 25)
    assert found['contrast_real'] == pytest.approx(1.0)  # 1 against a ring of 0
    # painted with bin 0's mean (1 + 3 * 0.2) / 4 = 0.4
    assert found['contrast_lookalike'] == pytest.approx(0.4)


def test_a_target_that_is_a_function_of_the_source_keeps_its_contrast():
    source, target, lesion = centre_lesion()
    source[0, 2, 2], target[0, 2, 2] = 0.0, 1.0  # T1w 0 only in the lesion
    found = lookalike_measures(source, target, np.ones_like(lesion), lesion, bins=2)
    assert found['lesion_share'] == pytest.approx(1.0)
    assert found['contrast_lookalike'] == pytest.approx(found['contrast_real']) == 1.0


def test_lesion_voxels_in_two_bins_are_weighted_voxel_by_voxel():
    # 1x2x6 row: T1w 0 for voxels 0-1 (a lesion and a non-lesion), T1w 1 for
    # 2-5 (three lesions and one non-lesion); lesion FLAIR 1, the others 0
    source = np.array([[[0, 0, 1, 1, 1, 1], [5, 5, 5, 5, 5, 5]]], float)
    lesion = np.array([[[1, 0, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0]]], bool)
    target = lesion.astype(float)
    brain = np.zeros_like(lesion)
    brain[0, 0] = True  # the first row only
    index = source_bins(source, brain, 2)  # mid-ranks 0.5 and 3.5 of 6
    assert index[0, 0].tolist() == [0, 0, 1, 1, 1, 1] and (index[0, 1] == -1).all()
    found = lookalike_measures(source, target, brain, lesion, bins=2)
    # bin 0: share 1/2 for 1 lesion voxel; bin 1: 3/4 for 3 of them
    assert found['lesion_share'] == pytest.approx((1 * 0.5 + 3 * 0.75) / 4)
    assert found['prevalence'] == pytest.approx(4 / 6)


def test_tied_source_values_share_one_bin_of_their_mid_rank():
    source = np.array([[[0.0] * 9 + [1.0]]])
    index = source_bins(source, np.ones_like(source, bool), 4)
    # the nine zeros: mid-rank 4 of 10 -> bin floor(4 * 4 / 10) = 1; the one: 9 -> 3
    assert index[0, 0].tolist() == [1] * 9 + [3]


def test_bins_are_equal_count_inside_the_brain_and_minus_one_outside():
    source = np.arange(8, dtype=float).reshape(1, 2, 4)
    brain = np.ones_like(source, bool)
    brain[0, 1, 3] = False
    index = source_bins(source, brain, 7)
    assert index[0, 1, 3] == -1
    assert sorted(index[brain].tolist()) == list(range(7))  # 7 distinct voxels, one a bin
    with pytest.raises(ValueError, match='bins must be an integer >= 2'):
        source_bins(source, brain, 1)


def test_no_lesion_in_the_brain_gives_none():
    source = np.random.default_rng(0).random((2, 6, 6))
    lesion = np.zeros_like(source, bool)
    assert lookalike_measures(source, source, np.ones_like(lesion), lesion) is None
