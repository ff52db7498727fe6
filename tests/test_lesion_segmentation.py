"""The named lesion segmentation rules: the phantom v2 rule keeps confluent
lesions the v1 rule misses and drops specks smaller than its minimum size."""
import numpy as np
import pytest

from fgsb.evaluation.lesion_segmentation import (RULES, drop_small_components,
                                                 segment_hyperintensities, segmentation_rule)


def brain_volume(slices=5, side=48):
    return np.zeros((slices, side, side), np.float32), np.ones((slices, side, side), bool)


def expected_rim(lesion_rows, window):
    """Lesion pixels of a square lesion whose window median is the 0.0 background:
    those with at most ``(window**2 - 1) / 2`` lesion pixels in their window."""
    half, lo, hi = window // 2, lesion_rows.start, lesion_rows.stop - 1
    overlap = [min(hi, r + half) - max(lo, r - half) + 1 for r in range(lo, hi + 1)]
    return sum(a * b <= (window ** 2 - 1) // 2 for a in overlap for b in overlap)


def test_confluent_lesion_is_found_by_the_v2_window_not_the_v1_window():
    volume, brain = brain_volume()
    volume[1:4, 16:28, 16:28] = 1.0  # 12 x 12 x 3 = 432 voxels on 0.0 "white matter"
    v2 = segment_hyperintensities(volume, brain)  # default rule: phantom_v2
    v1 = segment_hyperintensities(volume, brain, 'phantom_v1')
    # inside the lesion the local median is the lesion itself: only a rim is
    # found, 92 pixels a slice with the 15 x 15 window, 32 with the 9 x 9
    assert expected_rim(slice(16, 28), 15) == 92 and expected_rim(slice(16, 28), 9) == 32
    assert v2.sum() == 3 * 92 and v1.sum() == 3 * 32
    assert v2[2, 16, 16] and not v2[2, 22, 22] and not v2[0].any()


def test_min_size_drops_small_components_in_3d():
    mask = np.zeros((4, 10, 10), bool)
    mask[0, 0, 0] = True                 # 1 voxel
    mask[1:3, 4:7, 4:7] = True           # 18 voxels, one 3-D component
    mask[3, 9, 9] = mask[2, 8, 8] = True  # corner neighbours of each other: 2 voxels
    kept = drop_small_components(mask, 2)
    assert not kept[0, 0, 0] and kept[3, 9, 9] and kept[2, 8, 8] and kept[1:3, 4:7, 4:7].all()
    assert drop_small_components(mask, 18).sum() == 18
    assert not drop_small_components(mask, 19).any()
    assert (drop_small_components(mask, 1) == mask).all()


def test_v2_rule_ignores_a_speck_the_v1_rule_finds():
    volume, brain = brain_volume()
    volume[2, 20:23, 20:23] = 1.0  # 9 voxels: below min_size 40
    assert segment_hyperintensities(volume, brain, 'phantom_v1').sum() == 9
    assert not segment_hyperintensities(volume, brain).any()
    custom = dict(RULES['phantom_v2'], min_size=9)
    assert segment_hyperintensities(volume, brain, custom).sum() == 9


def test_rules_are_checked():
    assert segmentation_rule('phantom_v1')['window'] == 9
    with pytest.raises(ValueError, match='unknown lesion segmentation rule'):
        segmentation_rule('nope')
    with pytest.raises(ValueError, match='exactly the keys'):
        segmentation_rule(dict(theta=0.5))
