"""The one slice pipeline (fgsb.datasets.slice_pipeline), with hand-computed values."""
import json

import numpy as np
import pytest

from fgsb.datasets.nifti_io import VolumeError
from fgsb.datasets.slice_pipeline import (SliceLayout, SliceSettings, network_images,
                                          network_masks, normalisation_range, plan_slices,
                                          select_slices)
from fgsb.datasets.slice_preprocessing import estimate_head_mask


def brain_with_fractions():
    """A 4 x 2 x 5 brain whose axial slices (axis 2) hold 0, 1, 4, 8 and 0 of
    their 8 voxels: fractions 0, 0.125, 0.5, 1, 0."""
    brain = np.zeros((4, 2, 5), bool)
    brain[0, 0, 1] = True
    brain[:2, :, 2] = True
    brain[:, :, 3] = True
    return brain


def test_training_and_synthesis_select_their_slices():
    brain = brain_with_fractions()
    assert select_slices(brain, 2, 0.5).tolist() == [2, 3]   # training: fraction >= 0.5
    assert select_slices(brain, 2, 0.0).tolist() == [0, 1, 2, 3, 4]
    assert select_slices(brain, 2, None).tolist() == [1, 2, 3]  # synthesis: any brain
    assert select_slices(brain, 0, None).tolist() == [0, 1, 2, 3]
    brain[:, :, 3] = False
    with pytest.raises(ValueError, match=r'subject x: no slice along axis 2 has a brain '
                                         r'fraction >= min_brain_fraction=0.9.*0\.500'):
        plan_slices(brain, SliceSettings(), 0.9, name='subject x')
    with pytest.raises(ValueError, match='no slice along axis 2 holds any brain'):
        plan_slices(np.zeros((4, 2, 5), bool), SliceSettings(), None, name='v')


def test_plan_records_geometry_and_survives_json():
    brain = brain_with_fractions()
    layout = plan_slices(brain, SliceSettings(axis=2, size=8), 0.1, name='v')
    # in-plane 4 x 2 pads by 1 column each side to a 4 x 4 square, resized to 8
    assert layout == SliceLayout(axis=2, indices=(1, 2, 3), volume_shape=(4, 2, 5),
                                 pad=((0, 0), (1, 1)), side=4, size=8)
    assert layout.in_plane_shape == (4, 2)
    assert SliceLayout.from_record(json.loads(json.dumps(layout.to_record()))) == layout
    unresized = plan_slices(brain, SliceSettings(axis=1, size=None), None, name='v')
    assert (unresized.indices, unresized.pad, unresized.side, unresized.size) == \
        ((0, 1), ((0, 1), (0, 0)), 5, 5)  # in-plane 4 x 5: the odd row goes after


def test_forward_then_inverse_gives_the_normalised_volume_back():
    volume = np.arange(40, dtype=np.float32).reshape(4, 2, 5)
    brain = brain_with_fractions()
    lo, hi = normalisation_range(volume, brain, SliceSettings(percentiles=(0, 100)), 'v')
    # volume[i, j, k] = 10 i + 5 j + k; the brain holds 1, 2, 7, 12, 17, 3, 8, ..., 38
    assert (lo, hi) == (1.0, 38.0)
    layout = plan_slices(brain, SliceSettings(size=None), None, name='v')
    slices = network_images(volume, layout, (lo, hi))
    assert slices.shape == (3, 4, 4) and slices.dtype == np.float32
    # slice 2, row 0 is voxels (0, 0, 2) = 2 and (0, 1, 2) = 7 between padding -1
    np.testing.assert_allclose(slices[1, 0], [-1, 2 * (2 - 1) / 37 - 1, 2 * (7 - 1) / 37 - 1, -1],
                               rtol=1e-6)
    restored = layout.assemble(layout.restore(slices), fill=-5.0)
    expected = np.clip(2 * (volume - lo) / (hi - lo) - 1, -1, 1)
    np.testing.assert_allclose(restored[:, :, 1:4], expected[:, :, 1:4], atol=1e-6)
    assert (restored[:, :, [0, 4]] == -5).all()
    masks = network_masks(brain, layout)
    assert masks.dtype == np.uint8 and masks[:, :, [0, 3]].sum() == 0  # padding is background
    np.testing.assert_array_equal(masks[:, :, 1:3], np.moveaxis(brain, 2, 0)[1:4])


def test_resized_inputs_and_restore_shape_check():
    volume = np.random.default_rng(0).random((6, 6, 3)).astype(np.float32) * 100
    brain = np.ones(volume.shape, bool)
    layout = plan_slices(brain, SliceSettings(size=12), 0.0, name='v')
    slices = network_images(volume, layout, (10.0, 90.0))
    assert slices.shape == (3, 12, 12) and slices.min() >= -1 and slices.max() <= 1
    assert layout.restore(slices).shape == (3, 6, 6)
    with pytest.raises(ValueError, match=r'\(12, 12\)'):
        layout.restore(slices[:, :6])


def test_normalisation_range_names_the_volume():
    volume = np.full((3, 3, 3), 4.0, np.float32)
    with pytest.raises(VolumeError, match='scan.nii.gz: .*constant'):
        normalisation_range(volume, volume > 0, SliceSettings(), 'scan.nii.gz')


def test_head_mask_threshold_scales_with_the_intensities():
    volume = np.zeros(200, np.float32)
    volume[100:] = np.arange(1, 101)  # non-zero voxels 1 ... 100; 99th percentile 99.01
    mask = estimate_head_mask(volume, threshold=0.05)  # t = 4.95
    assert mask.sum() == 96 and not mask[:104].any()
    np.testing.assert_array_equal(estimate_head_mask(volume * 1000, 0.05), mask)
    assert not estimate_head_mask(np.zeros(5), 0.05).any()
