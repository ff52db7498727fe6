"""Through-plane scores: reformatted-view PSNR/SSIM and the z-gradient error.

Stacks are (slices, H, W) in [-1, 1]; the expected values are worked out on
the [0, 1] scale the scores use (unit value u is 2u - 1 on [-1, 1]).
"""
import math

import numpy as np
import pytest
import torch

from fgsb.datasets.batch_keys import BRAIN_MASK, META, SOURCE, TARGET
from fgsb.evaluation.volume_consistency import (consistency_scores, reformat_scores,
                                                through_plane_error)
from fgsb.evaluation.volume_synthesis_metric import VolumeSynthesisMetric, volume_scores

C1 = 0.01 ** 2  # skimage's (K1 * data_range) ** 2


def unit(values):
    """[0, 1] values on the model's [-1, 1] scale."""
    return 2.0 * np.asarray(values, dtype=np.float64) - 1.0


def test_through_plane_error_by_hand():
    target = unit(np.full((3, 1, 2), 0.5))
    # unit-scale slices: [.5 .5], [.6 .9], [.6 .5] -> z-steps [.1 .4] and [0 -.4]
    prediction = unit([[[0.5, 0.5]], [[0.6, 0.9]], [[0.6, 0.5]]])
    assert through_plane_error(prediction, target) == pytest.approx((0.1 + 0.4 + 0 + 0.4) / 4)
    # voxel (2, 0, 1) outside the brain drops the pair (1, 2) there, not (0, 1)
    brain = np.ones((3, 1, 2), dtype=bool)
    brain[2, 0, 1] = False
    assert through_plane_error(prediction, target, brain) == pytest.approx(0.5 / 3)


def test_through_plane_error_ignores_offsets_and_needs_two_slices():
    rng = np.random.default_rng(0)
    target = rng.uniform(-0.8, 0.6, (4, 5, 6))
    # a constant offset has the real volume's z-derivative
    assert through_plane_error(target + 0.2, target) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(through_plane_error(target[:1], target[:1]))


def test_default_brain_is_the_targets_foreground():
    target = unit(np.full((2, 1, 2), 0.5))
    target[:, 0, 1] = -1.0  # background column
    prediction = target.copy()
    prediction[1] = unit(0.7)  # the background column jumps too, and must not count
    assert through_plane_error(prediction, target) == pytest.approx(0.2)


def test_view_psnr_is_the_mean_of_per_image_psnrs():
    target = unit(np.full((3, 4, 5), 0.3))
    # slice k is off by 0.1 (k + 1): axial MSE 0.01 (k + 1)^2; every coronal
    # and sagittal image holds all three slices: MSE 0.01 (1 + 4 + 9) / 3
    prediction = target + 2 * 0.1 * np.arange(1, 4)[:, None, None]
    scores = reformat_scores(prediction, target)
    axial = np.mean([20 - 20 * math.log10(k) for k in (1, 2, 3)])
    reformat = 10 * math.log10(300 / 14)
    assert scores['PSNR_axial'] == pytest.approx(axial, abs=1e-9)
    assert scores['PSNR_coronal'] == pytest.approx(reformat, abs=1e-9)
    assert scores['PSNR_sagittal'] == pytest.approx(reformat, abs=1e-9)


def test_constant_images_have_the_closed_form_ssim():
    # constant images have no variance: SSIM = (2 a b + C1) / (a^2 + b^2 + C1)
    target, prediction = unit(np.full((7, 8, 9), 0.5)), unit(np.full((7, 8, 9), 0.7))
    expected = (2 * 0.5 * 0.7 + C1) / (0.5 ** 2 + 0.7 ** 2 + C1)
    scores = reformat_scores(prediction, target)
    for view in ('axial', 'coronal', 'sagittal'):
        assert scores[f'SSIM_{view}'] == pytest.approx(expected, abs=1e-9)
        assert scores[f'PSNR_{view}'] == pytest.approx(10 * math.log10(1 / 0.04), abs=1e-9)


def test_images_without_brain_are_not_scored():
    target = unit(np.full((3, 4, 5), 0.5))
    prediction = target.copy()
    prediction[:, :, 4] = unit(0.9)  # the last coronal image is wrong ...
    brain = np.ones(target.shape, dtype=bool)
    brain[:, :, 4] = False  # ... and holds no brain
    scores = reformat_scores(prediction, target, brain)
    assert scores['SSIM_coronal'] == pytest.approx(1.0)
    assert scores['PSNR_coronal'] == pytest.approx(100.0)  # exact images score 100 dB
    assert scores['SSIM_axial'] < 1.0  # axial images hold brain and the wrong column


def test_axial_ssim_is_volume_scores_ssim_and_flicker_shows_in_reformats():
    rng = np.random.default_rng(1)
    target = np.clip(rng.normal(0, 0.3, (10, 16, 16)).cumsum(axis=1) / 4, -0.9, 0.9)
    # every other slice brightened: each axial image is a fair copy, the
    # reformats see the stripes
    prediction = target + 0.15 * (np.arange(10) % 2)[:, None, None]
    scores = reformat_scores(prediction, target)
    assert scores['SSIM_axial'] == pytest.approx(volume_scores(prediction, target)['SSIM'])
    assert scores['SSIM_coronal'] < scores['SSIM_axial'] - 0.05
    assert scores['SSIM_sagittal'] < scores['SSIM_axial'] - 0.05


def test_thin_stack_has_no_reformat_ssim():
    target = unit(np.full((2, 8, 8), 0.5))
    scores = consistency_scores(target, target)
    assert scores['SSIM_axial'] == pytest.approx(1.0)
    assert math.isnan(scores['SSIM_coronal']) and math.isnan(scores['SSIM_sagittal'])
    assert scores['through_plane_error'] == 0.0


def test_shapes_are_checked():
    with pytest.raises(ValueError, match='stacks'):
        reformat_scores(np.zeros((3, 4, 4)), np.zeros((3, 4, 5)))
    with pytest.raises(ValueError, match='brain mask'):
        through_plane_error(np.zeros((3, 4, 4)), np.zeros((3, 4, 4)), np.ones((3, 4)))


def slice_outputs(stack, prediction, first_slice=3, brain=None, skip=()):
    """``pack_outputs``-like dicts, one a slice of the (slices, H, W) stacks."""
    outputs = []
    for k in range(len(stack)):
        if k in skip:
            continue
        sample = {'pred': torch.as_tensor(prediction[k][None], dtype=torch.float32),
                  TARGET: torch.as_tensor(stack[k][None], dtype=torch.float32),
                  SOURCE: torch.as_tensor(-stack[k][None], dtype=torch.float32),
                  META: {'subject': 's01', 'slice_index': first_slice + k}}
        if brain is not None:
            sample[BRAIN_MASK] = torch.as_tensor(brain[k][None], dtype=torch.float32)
        outputs.append(sample)
    return outputs


def test_metric_reports_the_through_plane_scores_with_the_batch_brain_mask():
    target = unit(np.full((3, 8, 8), 0.5))
    # unit-scale z-steps: +0.1 everywhere, then -0.1 in columns 4..7
    prediction = unit(np.full((3, 8, 8), 0.6))
    prediction[0] = unit(0.5)
    prediction[2, :, 4:] = unit(0.5)
    brain = np.ones((3, 8, 8))
    brain[2, :, 4:] = 0  # the second step's columns 4..7 leave the brain
    metric = VolumeSynthesisMetric(identity_baseline=False)
    metric.process(None, slice_outputs(target, prediction, brain=brain))
    scores = metric.compute_metrics(metric.results)
    assert scores['through_plane_error'] == pytest.approx(64 * 0.1 / 96, abs=1e-6)
    for name in ('PSNR_coronal', 'SSIM_coronal', 'PSNR_sagittal', 'SSIM_sagittal',
                 'through_plane_error_std'):
        assert name in scores
    assert metric.per_subject[0]['through_plane_error'] == scores['through_plane_error']

    # no mask in the outputs: the target's foreground, i.e. every voxel here
    metric = VolumeSynthesisMetric(identity_baseline=False)
    metric.process(None, slice_outputs(target, prediction))
    scores = metric.compute_metrics(metric.results)
    assert scores['through_plane_error'] == pytest.approx(96 * 0.1 / 128, abs=1e-6)


def test_metric_takes_no_derivative_across_a_missing_slice():
    target = unit(np.full((3, 8, 8), 0.5))
    prediction = target.copy()
    prediction[2] = unit(0.9)  # slice 1 is not among the results: nothing to compare with
    metric = VolumeSynthesisMetric(identity_baseline=False)
    metric.process(None, slice_outputs(target, prediction, brain=np.ones(target.shape),
                                       skip={1}))
    scores = metric.compute_metrics(metric.results)
    assert math.isnan(scores['through_plane_error'])  # no pair of neighbouring slices
    assert metric.per_subject[0]['num_slices'] == 2
